-- A sweep on a real single-node SLURM cluster (scripts/slurm_local.sh): the runs as a job
-- array, one task preempted mid-run and requeued, every run done and the preempted one
-- resumed from its checkpoint; running the sweep again submits only what is not done.
local cjson = require "cjson"
local cluster = require "helpers.slurm"
local fs = require "helpers.fs"
local proc = require "helpers.proc"

local ROOT = fs.sh("pwd"):match("[^\n]+")
local RUN = "luajit " .. ROOT .. "/run.lua"
local TMP = ROOT .. "/.spec_tmp_sweep_slurm"
local FMNIST = "/usr/share/datasets/fashion-mnist"

local up, why
setup(function()
   fs.rmrf(TMP)
   fs.mkdir(TMP)
   up, why = cluster.start()
end)
teardown(function()
   cluster.stop()
   fs.rmrf(TMP)
end)

local function cli(args)
   local out = fs.sh(("cd '%s' && %s %s 2>&1; echo \"rc=$?\""):format(TMP, RUN, args))
   return tonumber(out:match("rc=(%d+)%s*$")), out
end

local function results()
   local out = {}
   for _, f in ipairs(fs.files_under(TMP .. "/res")) do
      if f:match("/random_seed__%d+__[^/]*%.json$") then out[#out + 1] = f end
   end
   return out
end

describe("sweep --executor slurm", function()
   it("a job array with a preempted task, resumed; a second invocation submits only what is missing", function()
      if not cluster.running_or_pending(up, why) then return end
      local fmnist = fs.exists(FMNIST .. "/train-images-idx3-ubyte.gz")
      -- the StatefulSGD runs sleep 0.1 s a step: 200 steps on quadratic_deep, time to preempt one
      fs.write(TMP .. "/s.lua", ([[
return {
   problems = { quadratic_deep = { batch_size = 10 }%s },
   optimizers = { sgd = { lr = { 0.01, 0.1 } }, ["%s/spec/fixtures/stateful_sgd.lua"] = { lr = { 0.02 } } },
   num_epochs = 2, checkpoint_minutes = 0.0005, output_dir = "res",
}
]]):format(fmnist and ", fmnist_logreg = { batch_size = 1000 }" or "", ROOT))
      local p = proc.start(RUN .. " sweep s.lua --executor slurm --jobs 2 --wait --requeue",
         { cwd = TMP, env = { DEEPOBS_SPEC_SLEEP = "0.1" } })
      local job = proc.wait_for(function() return p:output():match("submitted job array (%d+)") end, 60, "the submission")
      -- the slow run's task: its line in the jobs file
      local task
      for i, line in ipairs(fs.lines(fs.read(TMP .. "/res/.sweeps/s/jobs.txt"))) do
         if line:find("stateful_sgd", 1, true) and line:find("quadratic_deep", 1, true) then task = i - 1 end
      end
      assert.is_number(task)
      local ok, folder = pcall(proc.wait_for, function()
         return fs.sh("find " .. TMP .. "/res/quadratic_deep/StatefulSGD -name random_seed__42.checkpoint 2>/dev/null")
            :match("[^\n]+")
      end, 120, "the slow run's first checkpoint")
      assert.is_true(ok, tostring(folder) .. "\n" .. p:output() .. fs.sh("squeue; tail -n 3 " .. TMP .. "/res/.sweeps/s/logs/*"))
      -- --status from the files while the array runs
      local _, st = cli("sweep s.lua --status")
      assert.matches("running", st)
      assert.is_truthy(st:match("all%s+%d+%s+[1-9]"), st)
      -- preemption with requeue: SIGTERM to the task, which SLURM runs again
      fs.sh(("scontrol requeue %s_%d 2>&1"):format(job, task))
      local rc, out = p:wait(300)
      assert.are.equal(0, rc, out)
      local n_runs = fmnist and 6 or 3
      assert.matches("all%s+" .. n_runs .. "%s+0%s+0%s+0%s+0%s+" .. n_runs, out)
      local files = results()
      assert.are.equal(n_runs, #files)
      local resumed = 0
      for _, f in ipairs(files) do
         local d = cjson.decode(fs.read(f))
         if d.resumed then
            assert.are.equal("quadratic_deep", d.testproblem)
            assert.are.equal("StatefulSGD", d.optimizer)
            assert.is_true(d.resumed[1].epoch > 0 or d.resumed[1].step > 0) -- from its checkpoint, not from scratch
            resumed = resumed + 1
         end
         assert.are.equal(1, d.threads) -- SLURM_CPUS_PER_TASK unset: one thread per task
      end
      assert.are.equal(1, resumed)
      assert.is_false(fs.exists(folder)) -- the finished run removed its checkpoint
      -- one result lost: the next invocation submits one task
      os.remove(files[1])
      rc, out = cli("sweep s.lua --executor slurm --jobs 2 --wait")
      assert.are.equal(0, rc, out)
      assert.matches("submitted job array %d+ %(1 tasks", out)
      assert.are.equal(n_runs, #results())
   end)
end)
