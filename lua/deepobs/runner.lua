--- The DeepOBS runner: one training run (DeepOBS 1.1's protocol and result files, 1.2's
-- divergence handling and validation split), resumable from checkpoints.
--
--    local runner = require "deepobs.runner"
--    local res = runner.run{ problem = "fmnist_2c2d", optimizer = "momentum", lr = 0.01,
--                            hyperparams = { momentum = 0.9 }, num_epochs = 2 }
--    res.train_losses, res.test_accuracies, res.path  -- path of the JSON file (nil with no_logs)
--
-- runner.run's options (the command line's flags, see `luajit run.lua --help`):
--   problem, optimizer     names/paths or the tables themselves (required; optimizer default sgd)
--   lr (or learning_rate)  base learning rate (required unless the optimizer has a default)
--   hyperparams            name -> value for the optimizer's other hyperparameters
--   batch_size, num_epochs default to the problem's
--   random_seed (42), weight_decay, train_log_interval (10), data_dir, output_dir ("results"),
--   no_logs, print_train_iter, deepobs_compat, threads, validation
--   lr_schedule and its parameters (lr_sched_epochs, lr_sched_factors, lr_min,
--   restart_epochs, restart_mult, trapezoid_warmup, trapezoid_cooldown, warmup_epochs,
--   warmup_steps): see deepobs/schedule.lua
--   resume, keep_checkpoint, checkpoint_every (1), checkpoint_minutes (10)
--   handle_signals         SIGINT/SIGTERM save a checkpoint and stop the run (the command
--                          line sets it); the run then raises an error that
--                          deepobs.errors.is_interrupted recognises
--   quiet, stdout, live    progress output; time: os.time() value for the file name
--   dataset                an already loaded dataset (tests), instead of problem.dataset
--   timings                a table that the run fills with seconds per phase (setup,
--                          train_steps, data_<split>, eval_<split>, logging, checkpoint,
--                          results): deepobs.progress.stopwatch, for bench/epoch.lua
-- Returns { train_losses, test_losses, minibatch_train_losses, train_accuracies,
-- test_accuracies, valid_losses, valid_accuracies, epoch_times, learning_rates, diverged,
-- path, folder, hp, object, checkpoint = { saves, seconds } }.
local dob = require "deepobs"
local checkpoint = require "deepobs.checkpoint"
local errors = require "deepobs.errors"
local progress = require "deepobs.progress"
local provenance = require "deepobs.provenance"
local resolve = require "deepobs.resolve"
local results = require "deepobs.results"
local runstate = require "deepobs.runstate"
local sets = require "deepobs.sets"
local train = require "deepobs.train"

local M = {}

M.load_problem = resolve.load_problem
M.usage_error = errors.usage
M.is_usage_error = errors.is_usage

--- An optimizer table from a built-in name, a path to a .lua file, or a table.
function M.load_optimizer(o) return (resolve.load_optimizer(o)) end

local function cpu_model()
   local f = io.open("/proc/cpuinfo", "r")
   if not f then return nil end
   for line in f:lines() do
      local m = line:match("^model name%s*:%s*(.-)%s*$")
      if m then f:close(); return m end
   end
   f:close()
   return nil
end

-- the DeepOBS 1.1 result object of a finished run, with our extra keys
local function result_object(run, trainer, ck)
   local r = trainer.results
   local extra = {}
   local function add(k, v) extra[#extra + 1] = { k, v } end
   if r.diverged then add("diverged", true) end
   add("epoch_times", r.epoch_times)
   add("learning_rates", trainer:learning_rates())
   local schedule = run.schedule:record()
   schedule[1] = { "name", schedule[1][2] } -- the record's first pair is { "lr_schedule", name }
   add("lr_schedule", results.object(schedule))
   add("threads", results.int(dob.get_threads()))
   add("cpu", cpu_model() or results.null)
   add("blas_core", dob.blas_info().corename)
   if run.deepobs_compat then add("deepobs_compat", true) end
   for _, kv in ipairs(ck.provenance) do add(kv[1], kv[2]) end
   if #ck.resumed > 0 then add("resumed", ck.resumed) end
   return results.result_object {
      train_losses = r.train_losses, test_losses = r.test_losses, valid_losses = r.valid_losses,
      minibatch_train_losses = r.minibatch_train_losses,
      train_accuracies = r.train_accuracies, test_accuracies = r.test_accuracies,
      valid_accuracies = r.valid_accuracies,
      optimizer = run.optimizer.name, testproblem = run.problem.name, weight_decay = run.weight_decay,
      batch_size = run.batch_size, num_epochs = run.num_epochs, learning_rate = run.lr,
      lr_sched_epochs = run.lr_sched_epochs, lr_sched_factors = run.lr_sched_factors,
      random_seed = run.seed, train_log_interval = run.train_log_interval, hyperparams = run.hp_list,
      extra = extra,
   }
end

local SECOND_SIGNAL = "\nrun.lua: second interrupt: stopped at once, without a checkpoint of the step in progress\n"

-- how to continue an interrupted run
local function resume_hint(run)
   if run.resume_command then return run.resume_command end
   return "the same runner.run{...} call with resume = true"
end

-- continues from the run's checkpoint (--resume), or says that one is there
local function start_from_checkpoint(run, trainer, ck, prog)
   if not run.resume then
      if ck:exists() then
         prog:warn(("a checkpoint of this run is at %s; to continue it instead: %s. This run starts over "
            .. "and replaces it at its first checkpoint."):format(ck.path, resume_hint(run)))
      end
      return
   end
   local saved = ck:load(trainer)
   if not saved then
      prog:say(("--resume: no checkpoint of this run at %s; starting from the beginning"):format(ck.path))
      return
   end
   trainer:restore(saved.trainer)
   run.start_time, run.file_name = saved.start_time, saved.file_name
   ck:note_resume(provenance.host(), trainer.position)
   prog:say(("resuming from %s at %s"):format(ck.path, checkpoint.describe_position(trainer.position)))
end

local function interrupted(run, ck, sig)
   local name = require("deepobs.interrupt").NAMES[sig] or ("signal " .. tostring(sig))
   if not ck.stopped_at then
      local why = ck.enabled and "this problem cannot save its carried state inside an epoch" or "--no_logs"
      if ck:exists() then
         errors.interrupted(sig, ("interrupted by %s; no checkpoint of this step (%s), the earlier one stays "
            .. "at %s\nresume with: %s"):format(name, why, ck.path, resume_hint(run)))
      end
      errors.interrupted(sig, ("interrupted by %s; no checkpoint was written (%s); the run must start over")
         :format(name, why))
   end
   errors.interrupted(sig, ("interrupted by %s at %s; checkpoint written to %s\nresume with: %s"):format(
      name, checkpoint.describe_position(ck.stopped_at), ck.path, resume_hint(run)))
end

-- trains to the end (or to an interrupt) and writes the result file
local function finish(run, trainer, ck, prog)
   local t_run = progress.now()
   local ok, outcome = pcall(trainer.run_to_end, trainer, ck)
   if not ok then
      if ck.saves == 0 then error(outcome, 0) end
      error(("%s\n(its last checkpoint stays at %s)"):format(errors.describe(outcome), ck.path), 0)
   end
   if outcome.interrupted then interrupted(run, ck, outcome.interrupted) end

   local res = { folder = run.folder, hp = run.hp, learning_rates = trainer:learning_rates(),
      total_time = progress.now() - t_run, checkpoint = { saves = ck.saves, seconds = ck.seconds } }
   for k, v in pairs(trainer.results) do res[k] = v end
   res.object = result_object(run, trainer, ck)
   if not run.no_logs then
      local want = run.run_dir .. "/" .. run.file_name
      res.path = results.write_new(want, results.encode(res.object))
      if res.path ~= want then
         prog:warn(("%s already exists (another run of this setting and seed started in the same second); "
            .. "this result is %s"):format(want, res.path))
      end
      run.stopwatch:lap("results")
      if run.keep_checkpoint then ck:save(trainer) else ck:remove() end
      run.stopwatch:lap("checkpoint")
      prog:say(("wrote %s  (%.1fs)"):format(res.path, res.total_time))
   end
   run.stopwatch:lap("results")
   return res
end

-- data, model, the checkpoint to continue from, the training and the result file; a signal
-- is only recorded throughout: the run acts on it at its first evaluated batch or step (a
-- sweep's SIGTERM while the data load still checkpoints), and a run that has finished
-- training completes its result file instead of dying half-way
local function train_and_finish(run, opts, prog)
   local signals = opts.handle_signals and require "deepobs.interrupt"
   if signals then signals.install(SECOND_SIGNAL) end
   local ok, res = pcall(function()
      local ck = checkpoint.new(run, { progress = prog, interrupt = signals,
         provenance = provenance.collect { optimizer_path = run.optimizer_path, start_time = run.start_time } })
      local trainer = train.new(run, prog)
      start_from_checkpoint(run, trainer, ck, prog)
      prog:header(run, dob.get_threads(), dob.blas_info().corename)
      run.stopwatch:lap("setup")
      return finish(run, trainer, ck, prog)
   end)
   if signals then signals.restore() end
   if not ok then error(res, 0) end
   return res
end

--- Runs one DeepOBS training run (options: see the top of this file).
function M.run(opts)
   opts = opts or {}
   local clock = progress.stopwatch(opts.timings)
   local run = resolve.run(opts)
   run.stopwatch = clock
   local prog = progress.new { quiet = opts.quiet, stdout = opts.stdout, live = opts.live,
      print_train_iter = run.print_train_iter }
   if not run.no_logs then
      local ok, e = pcall(results.check_writable, run.run_dir)
      if not ok then errors.usage(errors.describe(e)) end -- before any data, not after the run
   end
   if run.no_logs then return train_and_finish(run, opts, prog) end
   runstate.started(run)
   local ok, res = pcall(train_and_finish, run, opts, prog)
   if ok then runstate.finished(run); clock:lap("results")
   elseif errors.is_interrupted(res) then runstate.stopped(run)
   else runstate.failed(run, errors.describe(res)) end
   if not ok then error(res, 0) end
   return res
end

---------------------------------------------------------------------------------------
-- benchmark sets

--- The member names of benchmark set `name` (lua/deepobs/sets.lua), or nil when no set has
-- that name.
function M.benchmark_set(name)
   if type(name) ~= "string" or name == "order" or type(sets[name]) ~= "table" then return nil end
   local names = {}
   for i, m in ipairs(sets[name]) do names[i] = m.name end
   return names
end

--- Runs each problem of a benchmark set in turn with the same opts (batch size and
-- epochs default to each problem's own). `set` is a set name or a list of problems
-- (names, paths or tables). A member that is not installed is skipped with a
-- warning on opts.stderr (default io.stderr) before anything runs. A member whose
-- run fails (its data are missing, say) is reported there and the set goes on with
-- the next one, so one missing dataset does not cost the runs after it; usage errors
-- (the same for every member) and interrupts stop the set. Returns { results = { [i] =
-- run() result }, problems = { names run }, skipped = { names }, failed = { {name, message} } }.
function M.run_set(set, opts)
   opts = opts or {}
   local members = set
   if type(set) == "string" then
      members = M.benchmark_set(set)
      if not members then errors.usage(("unknown benchmark set '%s' (try: %s --list)"):format(set, resolve.PROG)) end
   end
   local err = opts.stderr or io.stderr
   local todo, skipped = {}, {}
   for _, p in ipairs(members) do
      local ok, res = pcall(resolve.load_problem, p)
      if ok then
         todo[#todo + 1] = res
      elseif errors.is_usage(res) then
         local name = type(p) == "table" and tostring(p.name) or tostring(p)
         skipped[#skipped + 1] = name
         err:write(("run.lua: warning: benchmark set member %s is not available (%s); skipped\n"):format(name, res.msg))
      else
         error(res, 0)
      end
   end
   local out = { results = {}, problems = {}, skipped = skipped, failed = {} }
   for i, problem in ipairs(todo) do
      if not opts.quiet then
         local o = opts.stdout or io.stdout
         o:write(("== %s %d/%d: %s ==\n"):format(type(set) == "string" and set or "set", i, #todo, problem.name))
         o:flush()
      end
      local run_opts = {}
      for k, v in pairs(opts) do run_opts[k] = v end
      run_opts.problem = problem
      local ok, res = pcall(M.run, run_opts)
      if ok then
         out.results[#out.results + 1] = res
         out.problems[#out.problems + 1] = problem.name
      elseif errors.is_usage(res) or errors.is_interrupted(res) then
         error(res, 0)
      else
         out.failed[#out.failed + 1] = { problem.name, errors.clean(res) }
         err:write(("run.lua: error: %s failed: %s\n"):format(problem.name, errors.clean(res)))
         if i < #todo then err:write("run.lua: continuing with the next problem of the set\n") end
      end
   end
   return out
end

return M
