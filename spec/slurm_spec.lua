-- The SLURM executor (deepobs.sweep.slurm) against a real single-node cluster
-- (scripts/slurm_local.sh, through helpers.slurm): a throttled job array of short runs
-- (quadratic_deep, fmnist_logreg on the real Fashion-MNIST, and a slow run of the
-- stateful fixture optimizer) in which one task gets SIGTERM mid-run as a preemption
-- delivers it; the task checkpoints, requeues itself and resumes, and every result equals
-- the same run's done here without interruption. Also: threads from SLURM_CPUS_PER_TASK,
-- never more tasks at once than the throttle, sbatch --wait and failing tasks, sbatch's own
-- errors, bad options, and no daemon left after stop. Pending with the reason where the
-- cluster cannot start (not root, packages missing); a failure in CI.
local cjson = require "cjson"
local ffi = require "ffi"
local errors = require "deepobs.errors"
local slurm = require "deepobs.sweep.slurm"
local cluster = require "helpers.slurm"
local fs = require "helpers.fs"
local proc = require "helpers.proc"

pcall(ffi.cdef, "int setenv(const char *name, const char *value, int overwrite);")
pcall(ffi.cdef, "int unsetenv(const char *name);")

local ROOT = fs.sh("pwd"):match("[^\n]+")
local TMP = ROOT .. "/.spec_tmp_slurm"
local RUN = "luajit " .. ROOT .. "/run.lua"
local FMNIST = "/usr/share/datasets/fashion-mnist"
local MARKER = TMP .. "/slow_run.step"
local THROTTLE = 1
local CPUS_PER_TASK = 1
local DECOY_THREADS = "3" -- in the submitting environment: the tasks must not take it

-- the runs of the array, task i - 1 for RUNS[i]. The slow one is the last task: while
-- other tasks of an array still wait in its pending record, slurmctld 22.05 answers
-- `scancel --signal` for a running task with "Job can not be altered now" although it
-- delivered the signal, and scancel then retries, sending it again some seconds later
local RUNS = {
   { args = "quadratic_deep --lr 0.01 -N 2" },
   { args = "fmnist_logreg --lr 0.1 --bs 1000 -N 2 --data_dir " .. FMNIST },
   { args = "quadratic_deep --optimizer momentum --lr 0.01 --momentum 0.9 -N 2 -r 43" },
   { args = "quadratic_deep --optimizer " .. ROOT .. "/spec/fixtures/stateful_sgd.lua --lr 0.01 -N 3",
      env = { DEEPOBS_SPEC_SLEEP = "0.15", DEEPOBS_SPEC_MARKER = MARKER } },
}
local SLOW = #RUNS - 1 -- its task

local TERMINAL = { COMPLETED = true, FAILED = true, CANCELLED = true, TIMEOUT = true, NODE_FAIL = true,
   OUT_OF_MEMORY = true, BOOT_FAIL = true, DEADLINE = true, PREEMPTED = true }

local function q(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

local function command(run, out_dir) return ("%s %s --output_dir %s --resume"):format(RUN, run.args, out_dir) end

local function line_of(run, out_dir)
   local env = {}
   for k, v in pairs(run.env or {}) do env[#env + 1] = k .. "=" .. q(v) end
   table.sort(env)
   env[#env + 1] = command(run, out_dir)
   return table.concat(env, " ")
end

-- the result text without the wall-clock fields, the resumes' record and the output folder
-- (the runs here and on the cluster write to different ones)
local function comparable(text, out_dir)
   local escaped = out_dir:gsub("%p", "%%%0")
   return (text:gsub('"epoch_times": %b[], ', ""):gsub('"start_time": "[^"]*"', ""):gsub(', "resumed": %b[]', "")
      :gsub(escaped, "OUT"))
end

-- the result files under dir by run: "<problem>/<optimizer>/<setting>/random_seed__<seed>"
local function results_by_run(dir)
   local out, n = {}, 0
   for _, f in ipairs(fs.files_under(dir)) do
      local run = f:sub(#dir + 2):match("^(.*)__[%d-]+%.json$")
      if run then
         assert.is_nil(out[run], "one result file of " .. run)
         out[run], n = f, n + 1
      end
   end
   return out, n
end

local function setenv(name, value)
   if value then ffi.C.setenv(name, value, 1) else ffi.C.unsetenv(name) end
end

-- the runs of every task from its log: { task, restart, threads, start, finish, status }
local function task_runs(logs)
   local list = {}
   for _, f in ipairs(fs.files_under(logs)) do
      local open
      for l in fs.read(f):gmatch("[^\n]+") do
         local t, task, restart, threads = l:match("^deepobs%-task start (%S+) task (%d+) restart (%d+) threads (%d+)")
         if t then
            open = { task = tonumber(task), restart = tonumber(restart), threads = tonumber(threads), start = tonumber(t) }
            list[#list + 1] = open
         end
         local te, status = l:match("^deepobs%-task end (%S+) task %d+ status (%d+)")
         if te then
            assert.is_truthy(open, "an end line after a start line in " .. f)
            open.finish, open.status, open = tonumber(te), tonumber(status), nil
         end
      end
   end
   return list
end

-- the most runs under way at one time
local function most_at_once(runs)
   local events = {}
   for _, r in ipairs(runs) do
      events[#events + 1] = { r.start, 1 }
      events[#events + 1] = { r.finish, -1 }
   end
   table.sort(events, function(a, b) return a[1] < b[1] or (a[1] == b[1] and a[2] < b[2]) end)
   local now, most = 0, 0
   for _, e in ipairs(events) do
      now = now + e[2]
      most = math.max(most, now)
   end
   return most
end

local function wait_until_ended(id, timeout)
   return proc.wait_for(function()
      local tasks = slurm.tasks(id)
      if not tasks or #tasks == 0 then return nil end
      for _, t in ipairs(tasks) do
         if not TERMINAL[t.state] then return nil end
      end
      return tasks
   end, timeout, "job array " .. id .. " to end")
end

local function read_number(path)
   local f = io.open(path)
   if not f then return nil end
   local s = f:read("*a")
   f:close()
   return tonumber(s:match("%d+"))
end

---------------------------------------------------------------------------------------

local up, why

setup(function()
   fs.rmrf(TMP)
   fs.mkdir(TMP)
   up, why = cluster.start()
   if not up and not cluster.required() then io.stderr:write("\nslurm_spec skipped: ", why, "\n") end
end)

teardown(function()
   cluster.stop()
   fs.rmrf(TMP)
end)

-- true when the cluster runs; else the test is pending (a failure in CI)
local function cluster_or_pending() return cluster.running_or_pending(up, why) end

describe("slurm.write_array", function()
   it("rejects bad options, naming the option", function()
      local jobs = TMP .. "/two_jobs.txt"
      fs.write(jobs, "true\ntrue\n")
      local good = { jobs = jobs, script = TMP .. "/bad.sh", logs = TMP .. "/bad_logs" }
      local variants = {
         { "jobs", nil, "jobs" }, { "script", nil, "script" }, { "logs", nil, "logs" },
         { "jobs", TMP .. "/no_such_jobs.txt", "cannot read the jobs file" },
         { "jobs", "", "jobs" }, { "script", 7, "script" }, { "logs", "a\nb", "logs" },
         { "name", "two words", "name" }, { "name", "", "name" }, { "name", {}, "name" },
         { "sbatch_args", "--time 1:00\n#SBATCH --mem 1G", "sbatch_args" }, { "sbatch_args", 5, "sbatch_args" },
         { "requeue", "yes", "requeue" }, { "requeue", 1, "requeue" },
         { "colour", "blue", "unknown option 'colour'" }, { "thottle", 2, "unknown option 'thottle'" },
         { "count", 3, "count = 3, but the jobs file" },
      }
      for _, key in ipairs { "throttle", "cpus_per_task", "count" } do
         for _, v in ipairs { 0, -1, 1.5, 0 / 0, math.huge, "2", true } do
            variants[#variants + 1] = { key, v, key .. " must be a positive integer" }
         end
      end
      for _, v in ipairs(variants) do
         local o = {}
         for k, x in pairs(good) do o[k] = x end
         o[v[1]] = v[2]
         local ok, e = pcall(slurm.write_array, o)
         assert.is_false(ok, ("%s = %s was accepted"):format(v[1], tostring(v[2])))
         assert.is_true(errors.is_usage(e), tostring(e))
         assert.matches(v[3], tostring(e), 1, true)
      end
      local empty = TMP .. "/empty_jobs.txt"
      fs.write(empty, "")
      local ok, e = pcall(slurm.write_array, { jobs = empty, script = TMP .. "/e.sh", logs = TMP .. "/e_logs" })
      assert.is_false(ok)
      assert.matches("is empty", tostring(e), 1, true)
      assert.is_false(pcall(slurm.write_array, "jobs.txt"))
   end)

   it("writes the array line, throttle, CPUs and the caller's sbatch options last", function()
      local jobs = TMP .. "/three_jobs.txt"
      fs.write(jobs, "true\ntrue\ntrue") -- no newline at the end: still three lines
      local script = slurm.write_array { jobs = jobs, script = TMP .. "/sub/three.sh", logs = TMP .. "/three_logs",
         name = "deepobs-three", throttle = 2, cpus_per_task = 4, requeue = true, sbatch_args = "--time 1:00 --mem 1G" }
      local text = fs.read(script)
      local sbatch = {}
      for l in text:gmatch("#SBATCH ([^\n]+)") do sbatch[#sbatch + 1] = l end
      assert.are.same({ "--job-name=deepobs-three", "--array=0-2%2", "--output=" .. TMP .. "/three_logs/%A_%a.out",
         "--open-mode=append", "--chdir=" .. ROOT, "--requeue", "--cpus-per-task=4", "--time 1:00 --mem 1G" }, sbatch)
      assert.is_true(fs.exists(TMP .. "/three_logs") and fs.sh("test -d " .. q(TMP .. "/three_logs") .. " && echo d") == "d\n")
      text = fs.read(slurm.write_array { jobs = jobs, script = TMP .. "/two.sh", logs = TMP .. "/l", count = 2 })
      assert.matches("#SBATCH --array=0-1\n", text, 1, true)
      assert.matches("#SBATCH --no-requeue\n", text, 1, true)
      assert.is_nil(text:find("cpus-per-task", 1, true))
   end)
end)

describe("slurm.available", function()
   it("says why not without sbatch on PATH or a readable SLURM_CONF", function()
      local path, conf = os.getenv("PATH"), os.getenv("SLURM_CONF")
      setenv("PATH", "/nonexistent")
      local ok, reason = slurm.available()
      setenv("PATH", path)
      assert.is_false(ok)
      assert.matches("sbatch is not on PATH", reason, 1, true)
      if not fs.sh("command -v sbatch"):find("sbatch") then return end
      setenv("SLURM_CONF", TMP .. "/no_such_slurm.conf")
      local t0 = os.time()
      ok, reason = slurm.available()
      setenv("SLURM_CONF", conf)
      assert.is_false(ok)
      assert.matches("no_such_slurm.conf, which cannot be read", reason, 1, true)
      assert.is_true(os.time() - t0 <= 2, "answers at once")
   end)
end)

describe("a job array on a real single-node SLURM cluster", function()
   it("throttles, takes threads from SLURM_CPUS_PER_TASK, and a task stopped by SIGTERM requeues and resumes to the uninterrupted numbers", function()
      if not cluster_or_pending() then return end
      if not fs.exists(FMNIST .. "/train-images-idx3-ubyte.gz") and not fs.exists(FMNIST .. "/train-images-idx3-ubyte") then
         if cluster.required() then error("Fashion-MNIST is missing from " .. FMNIST .. " (apt-get install dataset-fashion-mnist)", 0) end
         pending("Fashion-MNIST is not installed in " .. FMNIST .. " (apt-get install dataset-fashion-mnist)")
         return
      end
      local available, not_why = slurm.available()
      assert.is_true(available, not_why)
      local out_dir, local_dir, logs = TMP .. "/slurm", TMP .. "/local", TMP .. "/logs"
      local lines = {}
      for i, r in ipairs(RUNS) do lines[i] = line_of(r, out_dir) end
      fs.write(TMP .. "/jobs.txt", table.concat(lines, "\n") .. "\n")
      local script = slurm.write_array { jobs = TMP .. "/jobs.txt", script = TMP .. "/array.sh", name = "deepobs-spec",
         logs = logs, throttle = THROTTLE, cpus_per_task = CPUS_PER_TASK, requeue = true, sbatch_args = "--time 10:00" }

      local threads_before = os.getenv("DEEPOBS_THREADS")
      setenv("DEEPOBS_THREADS", DECOY_THREADS)
      local ok, id = pcall(slurm.submit, script)
      setenv("DEEPOBS_THREADS", threads_before)
      assert.is_true(ok, tostring(id))
      assert.matches("^%d+$", id)

      -- SIGTERM to the batch shell and the run, as a preemption or a cancel sends it,
      -- once the slow run is some steps in
      proc.wait_for(function() return (read_number(MARKER) or 0) >= 5 end, 60, "the slow run to reach step 5")
      local signalled = fs.sh(("scancel --full --signal=TERM %s_%d 2>&1; echo \"exit:$?\""):format(id, SLOW))
      assert.are.equal("exit:0\n", signalled)

      -- meanwhile, the same runs here, uninterrupted, at the thread count the tasks get
      for _, r in ipairs(RUNS) do
         local rc, out = proc.start(command(r, local_dir), { env = { DEEPOBS_THREADS = tostring(CPUS_PER_TASK) } }):wait(120)
         assert.are.equal(0, rc, out)
      end

      local tasks = wait_until_ended(id, 90)
      local log_text = {}
      for i = 0, #RUNS - 1 do log_text[i] = fs.read(("%s/%s_%d.out"):format(logs, id, i)) end
      assert.are.equal(#RUNS, #tasks)
      for _, t in ipairs(tasks) do
         assert.are.equal("COMPLETED", t.state, ("task %d: %s"):format(t.task, log_text[t.task]))
         assert.are.equal("0:0", t.exit_code)
         assert.are.equal(t.task == SLOW and 1 or 0, t.restarts, log_text[t.task])
      end

      -- the slow task: stopped at a checkpoint, requeued by its script, resumed from it
      local first, second = log_text[SLOW]:match("^(.-)(deepobs%-task start [^\n]* restart 1 .*)$")
      assert.is_truthy(first, "a second start after the requeue: " .. log_text[SLOW])
      local epoch, step, checkpoint = first:match("interrupted by SIGTERM at epoch (%d+), step (%d+); checkpoint written to (%S+)")
      assert.is_truthy(epoch, first)
      assert.matches("deepobs%-task end %S+ task " .. SLOW .. " status 143\ndeepobs%-task requeue", first)
      assert.matches(("resuming from %s at epoch %s, step %s\n"):format(checkpoint, epoch, step), second, 1, true)
      assert.is_nil(second:find("starting from the beginning", 1, true), second)

      -- every result equals the uninterrupted run's, threads as SLURM_CPUS_PER_TASK says
      local got, n = results_by_run(out_dir)
      local want, m = results_by_run(local_dir)
      assert.are.same({ #RUNS, #RUNS }, { n, m })
      for run, file in pairs(want) do
         assert.is_truthy(got[run], run .. " has a result from the cluster")
         local text = fs.read(got[run])
         assert.are.equal(comparable(fs.read(file), local_dir), comparable(text, out_dir), run)
         local d = cjson.decode(text)
         assert.are.equal(CPUS_PER_TASK, d.threads, run)
         if run:find("/StatefulSGD/", 1, true) then
            assert.are.equal(1, #d.resumed, text)
            assert.are.same({ tonumber(epoch), tonumber(step) }, { d.resumed[1].epoch + 1, d.resumed[1].step })
         else
            assert.is_nil(d.resumed, run)
         end
      end
      assert.are.same({}, fs.lines(fs.sh("find " .. q(out_dir) .. " -name '*.checkpoint'")))

      -- the throttle, from the task logs: five runs (one requeued), never more at once
      local runs = task_runs(logs)
      assert.are.equal(#RUNS + 1, #runs)
      for _, r in ipairs(runs) do
         assert.is_truthy(r.finish, "every run in the logs ended")
         assert.are.equal(CPUS_PER_TASK, r.threads)
      end
      assert.is_true(most_at_once(runs) <= THROTTLE, "at most " .. THROTTLE .. " task(s) at once")
   end)

   it("sbatch --wait returns when every task has ended, with the highest exit status; failed tasks are not requeued without requeue", function()
      if not cluster_or_pending() then return end
      local jobs = TMP .. "/failing_jobs.txt"
      fs.write(jobs, "exit 3\necho a line of output\nkill -TERM $$\n")
      local script = slurm.write_array { jobs = jobs, script = TMP .. "/failing.sh", logs = TMP .. "/failing_logs" }
      local id, status = slurm.submit(script, { wait = true })
      assert.matches("^%d+$", id)
      assert.are.equal(143, status)
      local tasks = slurm.tasks(id)
      local states = {}
      for _, t in ipairs(tasks) do states[#states + 1] = ("%d %s %s %d"):format(t.task, t.state, t.exit_code, t.restarts) end
      assert.are.same({ "0 FAILED 3:0 0", "1 COMPLETED 0:0 0", "2 FAILED 143:0 0" }, states)
      assert.matches("a line of output", fs.read(("%s/failing_logs/%s_1.out"):format(TMP, id)), 1, true)
   end)

   it("reports sbatch's own errors and unknown jobs", function()
      if not cluster_or_pending() then return end
      local jobs = TMP .. "/one_job.txt"
      fs.write(jobs, "true\n")
      local script = slurm.write_array { jobs = jobs, script = TMP .. "/bad_partition.sh", logs = TMP .. "/bp_logs",
         sbatch_args = "--partition no_such_partition" }
      local ok, e = pcall(slurm.submit, script)
      assert.is_false(ok)
      assert.matches("sbatch could not submit " .. script, tostring(e), 1, true)
      assert.matches("invalid partition specified: no_such_partition", tostring(e), 1, true)
      ok, e = pcall(slurm.submit, TMP .. "/no_such_script.sh")
      assert.is_false(ok)
      assert.matches("no array script at", tostring(e), 1, true)
      local tasks, msg = slurm.tasks("999999")
      assert.is_nil(tasks)
      assert.matches("Invalid job id", msg, 1, true)
   end)

   it("stops the cluster and leaves no munged, slurmctld or slurmd behind", function()
      if not cluster_or_pending() then return end
      local out, left, before = cluster.stop()
      for _, daemon in ipairs { "munged", "slurmctld", "slurmd" } do
         local seen = false
         for _, cmd in pairs(before) do seen = seen or cmd:match("^%S*" .. daemon .. " ") ~= nil end
         assert.is_true(seen, daemon .. " ran before the stop")
      end
      assert.matches("stopped", out, 1, true)
      assert.are.same({}, left)
      assert.are.same({}, fs.lines(fs.sh(("%s pgrep -a -f %s"):format(cluster.PLAIN, q("(munged|slurmctld|slurmd) .*" .. up.dir)))))
      local ok, reason = slurm.available()
      assert.is_false(ok)
      assert.matches("no SLURM controller answers", reason, 1, true)
      up, why = nil, "the cluster was stopped by the previous test"
   end)
end)
