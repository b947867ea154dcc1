--- `luajit run.lua sweep FILE.lua`: many runs from one sweep file, on this machine (a pool
-- of processes), on a SLURM cluster (a job array) or as a list of commands for any other
-- scheduler. Every run is identified by its DeepOBS result path, so running a sweep again
-- skips what is done, resumes what was interrupted and retries what failed.
--
--    local sweep = require "deepobs.sweep"
--    local status = sweep.main{ "my_sweep.lua", "--jobs", "2" }
--    local s = sweep.open("my_sweep.lua", { width = 2 })   -- s.spec, s.folder, s:runs()
local errors = require "deepobs.errors"
local file = require "deepobs.sweep.file"
local plan = require "deepobs.sweep.plan"
local process = require "deepobs.sweep.process"

local M = {}

local usage = errors.usage

M.HELP = [[
usage: luajit run.lua sweep FILE.lua [--executor local|slurm|print] [--jobs N] [--retries K]
                                     [--dry-run] [--status] [--slurm "SBATCH OPTIONS"] [--wait] [--requeue]

Runs every run of a sweep file (its format: lua/deepobs/sweep/file.lua). A run's result goes
where `luajit run.lua` puts it; the sweep keeps its own files (trials, logs, jobs) in
<output_dir>/.sweeps/<name>/. Running a sweep again skips finished runs, resumes checkpointed
ones (--resume) and retries failed ones.

  --executor local     a pool of --jobs processes on this machine (default), each with
                       cores / jobs threads unless the sweep sets threads
  --executor slurm     a job array (one task per unfinished run, --jobs at once); submitted with
                       sbatch when it is on PATH; --slurm passes sbatch options through, --wait
                       blocks until the array ends, --requeue lets a preempted task requeue itself
  --executor print     one command line per unfinished run, for GNU parallel or another scheduler
  --jobs N             runs at once (default: the number of cores)
  --retries K          start a failed run again up to K times (default 1)
  --status             done / running / interrupted / failed / pending per problem and optimizer,
                       from the files alone (also while the sweep runs elsewhere)
  --dry-run            list the runs and their state; run nothing

Exit status: 0 when every run is done (or handed to SLURM / printed), else the number of runs
that failed (at most 100); 2 for a bad sweep file or flag, before anything runs; 130 / 143
when interrupted (the running runs checkpoint first).]]

--- The number of cores of this machine.
function M.cores()
   local p = io.popen("nproc 2>/dev/null")
   local n = p and tonumber(p:read("*a")) or nil
   if p then p:close() end
   return n or 1
end
local cores = M.cores

-- where run.lua is: the checkout's, or the installed copy (lua/deepobs/suite.lua)
local function run_script() return require("deepobs.suite").root() .. "/run.lua" end
M.run_script = run_script

local Sweep = {}
Sweep.__index = Sweep

--- A sweep from its file: spec (deepobs.sweep.file), folder, and its plan at `width` runs
-- at once (opts.width, the batch of Bayesian search).
function M.open(path, opts)
   opts = opts or {}
   local spec = file.load(path)
   return M.from_spec(spec, opts)
end

--- The same from a checked spec (deepobs.sweep.file.check), as `benchmark` builds one.
function M.from_spec(spec, opts)
   local out = spec.options.output_dir or "results"
   local folder = ("%s/.sweeps/%s"):format(out, spec.name)
   local self = setmetatable({ spec = spec, folder = folder }, Sweep)
   self.plan = plan.new(spec, { folder = folder, width = opts.width or 1 })
   return self
end

--- Every run (as far as Bayesian search has proposed), each with its state.
function Sweep:runs() return plan.states(self.plan:runs()) end

--- The command line of a run: run.lua with the run's options and --resume (threads: the
-- sweep's own setting, else `threads` when given).
function Sweep:command(r, threads)
   local opts = {}
   for k, v in pairs(r.opts) do opts[k] = v end
   if threads and not opts.threads then opts.threads = threads end
   local argv = require("deepobs.cli").to_argv(opts)
   local parts = { "luajit", process.quote(run_script()) }
   for _, a in ipairs(argv) do parts[#parts + 1] = process.quote(a) end
   parts[#parts + 1] = "--resume"
   return table.concat(parts, " ")
end

function Sweep:log_path(r)
   return ("%s/logs/%s__%s__%s.log"):format(self.folder, r.problem, r.optimizer,
      require("deepobs.sha256").hex(r.key):sub(1, 12))
end

local STATES = { "done", "running", "interrupted", "failed", "pending" }

--- The status table: per problem and optimizer, how many runs are in each state.
function M.status_table(runs)
   local rows, order = {}, {}
   local total = { done = 0, running = 0, interrupted = 0, failed = 0, pending = 0, n = 0 }
   for _, r in ipairs(runs) do
      local k = r.problem .. " | " .. r.optimizer
      if not rows[k] then
         rows[k] = { done = 0, running = 0, interrupted = 0, failed = 0, pending = 0, n = 0 }
         order[#order + 1] = k
      end
      local s = r.status.state
      rows[k][s], rows[k].n = rows[k][s] + 1, rows[k].n + 1
      total[s], total.n = total[s] + 1, total.n + 1
   end
   local lines = { ("%-44s %6s %8s %12s %7s %8s %6s"):format("problem | optimizer", "done", "running",
      "interrupted", "failed", "pending", "runs") }
   local function line(name, t)
      return ("%-44s %6d %8d %12d %7d %8d %6d"):format(name, t.done, t.running, t.interrupted, t.failed, t.pending, t.n)
   end
   for _, k in ipairs(order) do lines[#lines + 1] = line(k, rows[k]) end
   lines[#lines + 1] = line("all", total)
   return table.concat(lines, "\n"), total
end

---------------------------------------------------------------------------------------
-- the command line

local FLAGS = {
   ["--executor"] = "string", ["--jobs"] = "int", ["--retries"] = "int", ["--dry-run"] = "flag",
   ["--status"] = "flag", ["--slurm"] = "string", ["--wait"] = "flag", ["--requeue"] = "flag",
   ["--help"] = "flag", ["-h"] = "flag",
}

--- Parses the sweep command's arguments: { file, executor, jobs, retries, dry_run, status,
-- slurm, wait, requeue, help }. without_file: the executor flags alone (for `benchmark`).
function M.parse_args(argv, without_file)
   local o = { executor = "local", retries = 1 }
   local i = 1
   while i <= #argv do
      local a = argv[i]
      local flag, inline = a:match("^(%-%-[%w-]+)=(.*)$")
      flag = flag or a
      local kind = FLAGS[flag]
      local key = flag:gsub("^%-+", ""):gsub("-", "_")
      if kind == "flag" then
         o[key == "h" and "help" or key] = true
      elseif kind then
         local v = inline
         if v == nil then
            v = argv[i + 1]
            if v == nil then usage(("%s needs a value; see luajit run.lua sweep --help"):format(flag)) end
            i = i + 1
         end
         if kind == "int" then
            local n = tonumber(v)
            if not n or n % 1 ~= 0 or n < (flag == "--retries" and 0 or 1) then
               usage(("%s needs a %s integer, got '%s'"):format(flag, flag == "--retries" and "non-negative" or "positive", v))
            end
            v = n
         end
         o[key] = v
      elseif a:sub(1, 1) == "-" then
         usage(("unknown flag %s for sweep; see luajit run.lua sweep --help"):format(flag))
      elseif o.file then
         usage(("unexpected argument '%s' (the sweep file is already %s)"):format(a, o.file))
      else
         o.file = a
      end
      i = i + 1
   end
   if not ({ ["local"] = true, slurm = true, print = true })[o.executor] then
      usage(("--executor %s: use local, slurm or print"):format(o.executor))
   end
   if not o.help and not o.file and not without_file then
      usage("sweep needs a sweep file: luajit run.lua sweep FILE.lua (see --help)")
   end
   return o
end

local function unfinished(runs)
   local out = {}
   for _, r in ipairs(runs) do
      local s = r.status.state
      if s ~= "done" and s ~= "running" then out[#out + 1] = r end
   end
   return out
end

-- the local pool, in rounds while Bayesian search proposes more runs
local function run_local(s, o, out)
   local pool = require "deepobs.sweep.pool"
   local threads = math.max(1, math.floor(cores() / o.jobs))
   local failed, tried = {}, {}
   while true do
      local todo = {}
      for _, r in ipairs(unfinished(s:runs())) do
         if not tried[r.key] then todo[#todo + 1] = r; tried[r.key] = true end
      end
      if #todo == 0 then break end
      os.execute(("mkdir -p '%s/logs'"):format(s.folder:gsub("'", "'\\''")))
      local outcome = pool.run(todo, { jobs = o.jobs, retries = o.retries, out = out,
         command = function(r) return s:command(r, threads) end, log = function(r) return s:log_path(r) end })
      for _, r in ipairs(outcome.failed) do failed[#failed + 1] = r end
      if outcome.signal then return failed, outcome.signal end
   end
   return failed
end

local function write_jobs(s, runs)
   os.execute(("mkdir -p '%s/logs'"):format(s.folder:gsub("'", "'\\''")))
   local path = s.folder .. "/jobs.txt"
   local lines = {}
   for i, r in ipairs(runs) do lines[i] = s:command(r) end
   require("deepobs.results").write_atomic(path, table.concat(lines, "\n") .. "\n")
   return path
end

-- job arrays; with --wait, again for what Bayesian search proposes next and for runs that
-- did not finish, each submitted at most 1 + retries times
local function run_slurm(s, o, out)
   local slurm = require "deepobs.sweep.slurm"
   local ok, why = slurm.available()
   local submitted = {}
   while true do
      local todo = {}
      for _, r in ipairs(unfinished(s:runs())) do
         if (submitted[r.key] or 0) <= o.retries then todo[#todo + 1] = r end
      end
      if #todo == 0 then break end
      for _, r in ipairs(todo) do submitted[r.key] = (submitted[r.key] or 0) + 1 end
      local jobs = write_jobs(s, todo)
      local script = slurm.write_array { jobs = jobs, script = s.folder .. "/array.sh", name = "deepobs-" .. s.spec.name,
         logs = s.folder .. "/logs", throttle = o.jobs, sbatch_args = o.slurm, requeue = o.requeue, count = #todo }
      if not ok then
         out:write(("sweep: %d run(s) in %s, array script %s; not submitted: %s\n"):format(#todo, jobs, script, why))
         return {}
      end
      local id = slurm.submit(script)
      out:write(("sweep: submitted job array %s (%d tasks, at most %d at once)%s\n"):format(tostring(id), #todo, o.jobs,
         o.wait and "; waiting until it ends" or ""))
      out:flush()
      if not o.wait then return {} end
      slurm.wait(id)
   end
   local failed = {}
   for _, r in ipairs(s:runs()) do
      if r.status.state ~= "done" then failed[#failed + 1] = r end
   end
   return failed
end

--- Runs (or lists, or hands out) the sweep s as the parsed flags o say. Returns the number
-- of runs that failed, or nil and the signal that stopped the sweep.
function M.run(s, o, out)
   out = out or io.stdout
   o.jobs = o.jobs or cores()
   local runs = s:runs() -- every run checked before anything runs
   if o.status then
      out:write(M.status_table(runs), "\n")
      return 0
   end
   if o.dry_run then
      for _, r in ipairs(runs) do out:write(("%-12s %s\n"):format(r.status.state, plan.label(r))) end
      local _, total = M.status_table(runs)
      out:write(("%d runs: %d done, %d to run\n"):format(total.n, total.done, total.n - total.done - total.running))
      return 0
   end
   if o.executor == "print" then
      for _, r in ipairs(unfinished(runs)) do out:write(s:command(r), "\n") end
      return 0
   end
   local failed, sig
   if o.executor == "local" then failed, sig = run_local(s, o, out)
   else failed = run_slurm(s, o, out) end
   out:write(M.status_table(s:runs()), "\n")
   if sig then return nil, sig end
   if #failed > 0 then
      out:write(("sweep: %d run(s) failed; their logs are in %s/logs\n"):format(#failed, s.folder))
   end
   return #failed
end

--- The sweep command. Returns the exit status, or nil and the signal that stopped it.
function M.main(argv, out)
   local o = M.parse_args(argv)
   if o.help then (out or io.stdout):write(require("deepobs.resolve").prog_text(M.HELP), "\n"); return 0 end
   o.jobs = o.jobs or cores()
   local failed, sig = M.run(M.open(o.file, { width = o.jobs }), o, out)
   if sig then return nil, sig end
   return math.min(failed, 100)
end

return M
