--- The SLURM executor: a job array with one run per task, submitted with sbatch.
--
--    local slurm = require "deepobs.sweep.slurm"
--    local script = slurm.write_array { jobs = "sweep/jobs.txt", script = "sweep/array.sh",
--       name = "deepobs-lr", logs = "sweep/logs", throttle = 8, requeue = true,
--       sbatch_args = "--partition cpu --time 4:00:00 --mem 8G --cpus-per-task 4" }
--    local ok, why = slurm.available()          -- false, "sbatch is not on PATH" (say)
--    local id = slurm.submit(script)            -- "4711"; { wait = true } blocks until the array ends
--    for _, t in ipairs(slurm.tasks(id)) do print(t.task, t.state, t.restarts) end
--
-- Task i (SLURM_ARRAY_TASK_ID) runs line i + 1 of the jobs file with bash, with
-- DEEPOBS_THREADS = SLURM_CPUS_PER_TASK (1 when the job asks for no CPU count; a --threads
-- in the line wins). Its output goes to <logs>/<array job id>_<task>.out, opened for
-- appending so that a requeued task adds to the same file, between the lines
--    deepobs-task start <unix time> task <i> restart <n> threads <t> job <job id>
--    deepobs-task end <unix time> task <i> status <exit status>
--
-- How a SIGTERM reaches the run (what SLURM does is from the scancel, sbatch and preempt
-- pages of its documentation; each case was checked on slurm 22.05 with
-- scripts/slurm_local.sh, preemption on a cluster with partition_prio preemption):
-- - A cancel (scancel), a requeue (scontrol requeue), the time limit and a preemption all
--   end a job alike: SIGCONT and SIGTERM to every process of the job, the batch shell and
--   the run alike, then SIGKILL KillWait seconds later. The run has those seconds to finish
--   its step and write its checkpoint; it exits with 143. With a GraceTime, the SIGTERM that
--   preemption sends when the grace begins goes to srun steps only, not to the batch step:
--   the run sees the one that ends the job.
-- - `scancel --full --signal=TERM` signals the same processes without ending the job;
--   without --full it reaches srun steps only (nothing here); `scancel --batch` and
--   `--signal=B:SIG@T` reach the batch shell alone.
-- So the batch shell runs the line in the background and waits for it. It traps SIGTERM
-- only to outlive it and does not pass it on: the run has it already, and a second SIGTERM
-- stops a run at once, without a checkpoint. SIGUSR1 to the shell is passed on to the run as
-- its one SIGTERM (once: scancel may send a signal again, see below):
-- `--signal=B:USR1@300` in sbatch_args checkpoints a run about five minutes before its time
-- limit, `scancel --batch --signal=USR1 ARRAYJOB_TASK` does it by hand.
--
-- requeue = true writes #SBATCH --requeue, and a run that ends with 143 while its job still
-- runs (a SIGTERM or USR1 that did not end the job: the warning before the time limit, a
-- signal by hand) requeues its own task with `scontrol requeue ARRAYJOB_TASK` (the bare job
-- id of the task that holds the array's id names the whole array); when the task runs
-- again, the line's --resume continues from the checkpoint. A job that SLURM is ending is
-- left alone: a cancelled task stays cancelled, a task that hit its time limit ends as
-- TIMEOUT, and SLURM requeues by itself what `scontrol requeue` or a preemption with
-- PreemptMode=REQUEUE stops (with PreemptMode=CANCEL the task ends PREEMPTED); running the
-- sweep again resubmits what is not done. SLURM holds a requeued task back for AuthInfo's
-- cred_expire (120 s by default) before it may start again.
--
-- Found on slurm 22.05: while other tasks of an array still wait in its pending record,
-- `scancel --signal=... ARRAYJOB_TASK` for a running task delivers the signal but is told
-- "Job can not be altered now", and retries, sending it again seconds later.
local errors = require "deepobs.errors"
local results = require "deepobs.results"
local ffi = require "ffi"

pcall(ffi.cdef, "char *getcwd(char *buf, size_t size);")

local M = {}

local usage = errors.usage

local function quote(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

local function current_folder()
   local buf = ffi.new("char[?]", 4096)
   local cwd = ffi.C.getcwd(buf, 4096)
   if cwd == nil then error("cannot read the current folder (getcwd failed)", 0) end
   return ffi.string(cwd)
end

local function absolute(path)
   if path:sub(1, 1) == "/" then return path end
   return current_folder() .. "/" .. path:gsub("^%./", "")
end

local read_file = require("deepobs.files").read

local function count_lines(text)
   local n = 0
   for _ in text:gmatch("[^\n]*\n") do n = n + 1 end
   if #text > 0 and text:sub(-1) ~= "\n" then n = n + 1 end
   return n
end

-- runs a shell command; returns its stdout, stderr and exit status
local function capture(cmd)
   local err_file = os.tmpname()
   local p = io.popen(("%s 2>%s; echo \"exit:$?\""):format(cmd, quote(err_file)))
   local out = p:read("*a")
   p:close()
   local stderr = read_file(err_file) or ""
   os.remove(err_file)
   local status = tonumber(out:match("exit:(%d+)\n?$"))
   return out:gsub("exit:%d+\n?$", ""), stderr, status
end

-- what a command said on stderr, for an error message (fallback when it said nothing)
local function message(stderr, fallback)
   local s = stderr:gsub("%s+$", "")
   if s == "" then return fallback end
   return s
end

local function on_path(program)
   local _, _, status = capture("command -v " .. program .. " >/dev/null")
   return status == 0
end

---------------------------------------------------------------------------------------
-- the array script

local OPTIONS = { jobs = true, script = true, name = true, logs = true, throttle = true, sbatch_args = true,
   cpus_per_task = true, requeue = true, count = true }

local function positive_integer(o, key)
   local v = o[key]
   if v == nil then return nil end
   if type(v) ~= "number" or v < 1 or v ~= math.floor(v) or v == math.huge then
      usage(("slurm.write_array: %s must be a positive integer, got %s"):format(key, tostring(v)))
   end
   return v
end

local function one_line_string(o, key, default)
   local v = o[key]
   if v == nil then return default end
   if type(v) ~= "string" or v:find("[\n\r]") then
      usage(("slurm.write_array: %s must be a string on one line, got %s"):format(key, ("%q"):format(tostring(v))))
   end
   return v
end

local function check_options(o)
   if type(o) ~= "table" then usage("slurm.write_array needs a table of options { jobs = ..., script = ..., ... }") end
   for k in pairs(o) do
      if not OPTIONS[k] then
         local known = {}
         for name in pairs(OPTIONS) do known[#known + 1] = name end
         table.sort(known)
         usage(("slurm.write_array: unknown option '%s' (known: %s)"):format(tostring(k), table.concat(known, ", ")))
      end
   end
   for _, key in ipairs { "jobs", "script", "logs" } do
      if one_line_string(o, key) == nil or o[key] == "" then usage("slurm.write_array: " .. key .. " (a path) is required") end
   end
   if o.name ~= nil and (one_line_string(o, "name") == "" or o.name:find("%s")) then
      usage(("slurm.write_array: name must be a job name without spaces, got %q"):format(o.name))
   end
   one_line_string(o, "sbatch_args")
   positive_integer(o, "throttle")
   positive_integer(o, "cpus_per_task")
   positive_integer(o, "count")
   if o.requeue ~= nil and type(o.requeue) ~= "boolean" then
      usage(("slurm.write_array: requeue must be true or false, got %s"):format(tostring(o.requeue)))
   end
end

-- the body of every array script: pick the line, run it, pass on USR1, requeue on 143
local BODY = [[
set -u
# SLURM's SIGTERM reaches the run by itself: the shell only outlives it
trap ':' TERM
line=$(sed -n "$((SLURM_ARRAY_TASK_ID + 1))p" "$JOBS")
if [ -z "$line" ]; then
   echo "deepobs-task: $JOBS has no line $((SLURM_ARRAY_TASK_ID + 1)) for task $SLURM_ARRAY_TASK_ID" >&2
   exit 2
fi
export DEEPOBS_THREADS=${SLURM_CPUS_PER_TASK:-1}
echo "deepobs-task start $(date +%s.%N) task $SLURM_ARRAY_TASK_ID restart ${SLURM_RESTART_COUNT:-0} threads $DEEPOBS_THREADS job $SLURM_JOB_ID"
echo "deepobs-task line: $line"
run=
passed_on=0
# USR1 to the shell becomes the run's one SIGTERM (once: scancel may repeat a signal)
trap '[ -n "$run" ] && [ "$passed_on" = 0 ] && passed_on=1 && kill -TERM "$run" 2>/dev/null' USR1
bash -c "$line" &
run=$!
# a trapped signal interrupts wait (status > 128) while the run goes on
while :; do
   wait "$run"
   status=$?
   [ "$status" -gt 128 ] && kill -0 "$run" 2>/dev/null && continue
   if [ "$status" -gt 128 ]; then
      wait "$run"
      again=$?
      [ "$again" = 127 ] || status=$again
   fi
   break
done
echo "deepobs-task end $(date +%s.%N) task $SLURM_ARRAY_TASK_ID status $status"
if [ "$status" = 143 ] && [ "$REQUEUE" = 1 ]; then
   # only a job that SLURM is not ending already: a cancel stays a cancel, and SLURM
   # requeues by itself what it requeues (scontrol requeue, preemption in REQUEUE mode)
   task="${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}" # the bare job id of one task names the whole array
   state=$(scontrol show job -o "$task" 2>/dev/null | sed -n 's/.* JobState=\([A-Z_]*\).*/\1/p')
   if [ "$state" = RUNNING ]; then
      echo "deepobs-task requeue: the run stopped at its checkpoint; task $SLURM_ARRAY_TASK_ID goes back to the queue"
      scontrol requeue "$task" || echo "deepobs-task: requeue refused"
   else
      echo "deepobs-task: the job is ending (${state:-state unknown}): not requeued by this script"
   fi
fi
exit "$status"
]]

--- Writes the job-array script for the jobs file (one shell command line per run) and
-- returns its path. Options: jobs, script, logs (paths; logs is created), name (job name,
-- default "deepobs"), count (tasks, default: the jobs file's lines), throttle (at most
-- this many tasks at once), cpus_per_task, requeue (boolean), sbatch_args (a string of
-- sbatch options, written on an #SBATCH line after this module's, so that they win).
function M.write_array(o)
   check_options(o)
   local jobs = absolute(o.jobs)
   local text = read_file(jobs)
   if not text then usage(("slurm.write_array: cannot read the jobs file %s"):format(jobs)) end
   local lines = count_lines(text)
   if lines == 0 then usage(("slurm.write_array: the jobs file %s is empty: nothing to run"):format(jobs)) end
   local count = o.count or lines
   if count > lines then
      usage(("slurm.write_array: count = %d, but the jobs file %s has %d line(s)"):format(count, jobs, lines))
   end
   local logs = absolute(o.logs)
   results.mkdir_p(logs)
   local head = {
      "#!/bin/bash",
      "# DeepOBS job array (written by deepobs.sweep.slurm): task i runs line i+1 of the jobs file",
      "#SBATCH --job-name=" .. (o.name or "deepobs"),
      ("#SBATCH --array=0-%d%s"):format(count - 1, o.throttle and ("%" .. o.throttle) or ""),
      "#SBATCH --output=" .. logs .. "/%A_%a.out",
      "#SBATCH --open-mode=append",
      "#SBATCH --chdir=" .. current_folder(),
      o.requeue and "#SBATCH --requeue" or "#SBATCH --no-requeue",
   }
   if o.cpus_per_task then head[#head + 1] = "#SBATCH --cpus-per-task=" .. o.cpus_per_task end
   if o.sbatch_args and o.sbatch_args:find("%S") then head[#head + 1] = "#SBATCH " .. o.sbatch_args end
   head[#head + 1] = "JOBS=" .. quote(jobs)
   head[#head + 1] = "REQUEUE=" .. (o.requeue and 1 or 0)
   local script = absolute(o.script)
   results.mkdir_p(script:match("^(.*)/[^/]*$"))
   results.write_atomic(script, table.concat(head, "\n") .. "\n" .. BODY)
   os.execute("chmod +x " .. quote(script))
   return script
end

---------------------------------------------------------------------------------------
-- the cluster

-- scontrol's answer as one line: its lines without the banner of asterisks
local function one_line(text)
   local parts = {}
   for l in text:gmatch("[^\n]+") do
      if not l:match("^%s*%*") and l:find("%S") then parts[#parts + 1] = l end
   end
   return table.concat(parts, "; ")
end

--- true when jobs can be submitted here; else false and why.
function M.available()
   if not on_path("sbatch") then return false, "sbatch is not on PATH (no SLURM client here)" end
   -- the clients wait a minute for a configuration file that is not there
   local conf = os.getenv("SLURM_CONF")
   if conf and not read_file(conf) then return false, "SLURM_CONF names " .. conf .. ", which cannot be read" end
   local out, err, status = capture((on_path("timeout") and "timeout 20 " or "") .. "scontrol ping")
   if status ~= 0 or not out:find("is UP") then
      local said = one_line(err .. out)
      return false, "no SLURM controller answers (scontrol ping: "
         .. (said ~= "" and said or "exit status " .. tostring(status)) .. ")"
   end
   return true
end

--- Submits the script with sbatch; returns the job id (a string). opts.wait: block until
-- every task has ended; then also returns sbatch's exit status (the highest of the tasks').
function M.submit(script, opts)
   opts = opts or {}
   if type(script) ~= "string" or not read_file(script) then
      usage(("slurm.submit: no array script at %s"):format(tostring(script)))
   end
   local out, err, status = capture(("sbatch --parsable%s %s"):format(opts.wait and " --wait" or "", quote(script)))
   local id = out:match("^(%d+)")
   if not id then
      error(("sbatch could not submit %s: %s"):format(script, message(err, "exit status " .. tostring(status))), 0)
   end
   if opts.wait then return id, status end
   return id
end

-- "0-3", "0,2,5-7", "4-10:2%3" -> the task numbers
local function expand_tasks(spec)
   local out = {}
   spec = spec:gsub("%%%d+$", "")
   for part in spec:gmatch("[^,]+") do
      local a, b, step = part:match("^(%d+)%-(%d+):?(%d*)$")
      if a then
         for i = tonumber(a), tonumber(b), tonumber(step) or 1 do out[#out + 1] = i end
      elseif part:match("^%d+$") then
         out[#out + 1] = tonumber(part)
      end
   end
   return out
end

-- the states in which a task will still run (or run again)
local ACTIVE = { PENDING = true, RUNNING = true, CONFIGURING = true, COMPLETING = true, REQUEUED = true,
   REQUEUE_HOLD = true, REQUEUE_FED = true, RESIZING = true, SUSPENDED = true, STAGE_OUT = true, SIGNALING = true }

--- Blocks until no task of the array will run again (every task ended, or the job is no
-- longer known to slurmctld), looking every `poll` seconds (default 2). Returns the tasks
-- as tasks() last saw them (nil when the job was gone).
function M.wait(job_id, poll)
   local last
   while true do
      local list = M.tasks(job_id)
      if not list then return last end
      last = list
      local active = false
      for _, t in ipairs(list) do if ACTIVE[t.state] then active = true end end
      if not active then return list end
      os.execute(("sleep %g"):format(poll or 2))
   end
end

--- The array's tasks as slurmctld knows them (ended tasks stay known for MinJobAge, 300 s by
-- default): a list sorted by task of { task, job_id, state ("PENDING", "RUNNING",
-- "COMPLETED", "FAILED", ...), reason, exit_code ("143:0"), restarts, node }. nil and
-- scontrol's message when the job is unknown.
function M.tasks(job_id)
   local out, err, status = capture("scontrol show job -o " .. quote(tostring(job_id)))
   if status ~= 0 then return nil, message(err .. out, "scontrol exit status " .. tostring(status)) end
   local list = {}
   for line in out:gmatch("[^\n]+") do
      local f = {}
      for k, v in line:gmatch("(%w+)=(%S*)") do
         if f[k] == nil then f[k] = v end
      end
      local ids = f.ArrayTaskId and expand_tasks(f.ArrayTaskId) or {}
      for _, task in ipairs(ids) do
         list[#list + 1] = { task = task, job_id = #ids == 1 and f.JobId or nil, state = f.JobState, reason = f.Reason,
            exit_code = f.ExitCode, restarts = tonumber(f.Restarts) or 0,
            node = f.NodeList ~= "(null)" and f.NodeList or nil }
      end
   end
   table.sort(list, function(a, b) return a.task < b.task end)
   return list
end

return M
