--- `luajit run.lua benchmark --optimizer X`: the DeepOBS protocol in one command.
--
-- For each problem of the set: tune with one seed (42) — the learning-rate grid of the
-- published baselines, 10^-5 ... 10^2 in steps of 10^0.2, or --budget N random trials over
-- the optimizer's declared search space — choose the best setting by DeepOBS 1.1's rule
-- (the final value of the problem's test metric, the validation metric with --validation),
-- rerun it with seeds 42 ... 42+N-1, and write the analyzer's tables and report against the
-- baselines. Both stages are sweeps (deepobs.sweep): interrupting and re-running the
-- command continues where it stopped; with the print or slurm executor each invocation
-- hands out what can run now, and the next one goes on once those runs are done.
local errors = require "deepobs.errors"
local file = require "deepobs.sweep.file"
local plan = require "deepobs.sweep.plan"
local search = require "deepobs.sweep.search"
local sweep = require "deepobs.sweep"

local M = {}

local usage = errors.usage

M.HELP = [[
usage: luajit run.lua benchmark --optimizer NAME_OR_PATH [--set small|large|PROBLEM ...] [--budget N]
                                [--seeds N] [--executor local|slurm|print] [--jobs N] [-N EPOCHS] [--bs N]
                                [--output_dir DIR] [--data_dir DIR] [--validation] [--baselines DIR]
                                [--report DIR] [--slurm "SBATCH OPTIONS"] [--wait]

The DeepOBS protocol: for each problem, tune with seed 42 (the baselines' learning-rate grid
10^-5 ... 10^2 in steps of 10^0.2, or --budget N random trials over the optimizer's declared
search space: a hyperparameter may declare `search = log_uniform(a, b)` next to its default),
choose the best setting by the final test metric (validation metric with --validation), rerun
it with --seeds seeds (default 10: 42 ... 51), then print the analyzer's tables and write its
report (--report, default <output_dir>/report) against --baselines. Re-running the command
continues where it stopped. -N and --bs shorten the runs for a first try.]]

-- the baselines' learning-rate grid: 10^-5 ... 10^2 in steps of 10^0.2 (36 values)
function M.lr_grid()
   local out = {}
   for k = 0, 35 do out[#out + 1] = 10 ^ (-5 + 0.2 * k) end
   return out
end

local FLAGS = {
   ["--optimizer"] = "string", ["--set"] = "list", ["--budget"] = "int", ["--seeds"] = "int",
   ["--executor"] = "string", ["--jobs"] = "int", ["-N"] = "int", ["--num_epochs"] = "int", ["--bs"] = "int",
   ["--batch_size"] = "int", ["--output_dir"] = "string", ["--data_dir"] = "string", ["--validation"] = "flag",
   ["--baselines"] = "string", ["--report"] = "string", ["--slurm"] = "string", ["--wait"] = "flag",
   ["--threads"] = "int", ["--help"] = "flag", ["-h"] = "flag",
}
local KEYS = { ["-N"] = "num_epochs", ["--bs"] = "batch_size", ["-h"] = "help" }

--- Parses the benchmark command's arguments.
function M.parse_args(argv)
   local o = { executor = "local", seeds = 10, set = { "small" } }
   local i, set_given = 1, false
   while i <= #argv do
      local a = argv[i]
      local kind = FLAGS[a]
      local key = KEYS[a] or a:gsub("^%-+", "")
      if not kind then
         usage(("unknown argument %s for benchmark; see luajit run.lua benchmark --help"):format(a))
      elseif kind == "flag" then
         o[key] = true
      elseif kind == "list" then
         local list = {}
         while argv[i + 1] and argv[i + 1]:sub(1, 1) ~= "-" do list[#list + 1] = argv[i + 1]; i = i + 1 end
         if #list == 0 then usage(a .. " needs a set (small, large) or problem names") end
         o[key], set_given = list, true
      else
         local v = argv[i + 1]
         if v == nil then usage(a .. " needs a value; see luajit run.lua benchmark --help") end
         i = i + 1
         if kind == "int" then
            local n = tonumber(v)
            if not n or n % 1 ~= 0 or n < 1 then usage(("%s needs a positive integer, got '%s'"):format(a, v)) end
            v = n
         end
         o[key] = v
      end
      i = i + 1
   end
   if not o.help and not o.optimizer then usage("benchmark needs --optimizer NAME_OR_PATH") end
   o.set_given = set_given
   return o
end

-- the tuning space: the learning-rate grid, or the optimizer's declared search space
local function tuning_space(opt, budget)
   if not budget then return { lr = M.lr_grid() }, "grid" end
   local space = {}
   for _, h in ipairs(opt.hyperparams) do
      if h.search ~= nil then space[h.name] = h.search end
   end
   if space.lr == nil then space.lr = search.log_uniform(1e-5, 1e2) end
   return space, "random"
end

local function runner_options(o)
   local opts = { output_dir = o.output_dir or "results" }
   opts.num_epochs, opts.batch_size, opts.data_dir = o.num_epochs, o.batch_size, o.data_dir
   opts.validation, opts.threads = o.validation or nil, o.threads
   return opts
end

-- a sweep table for the tuning stage (one seed) or the seeds stage (the chosen settings)
local function sweep_table(o, name, problems, optimizer, extra)
   local t = { name = name, problems = problems, optimizers = { [optimizer] = extra.entry }, seeds = extra.seeds }
   for k, v in pairs(runner_options(o)) do t[k] = v end
   return t
end

local function problem_list(o)
   local out = {}
   for _, p in ipairs(o.set) do out[#out + 1] = p end
   return out
end

-- runs a sweep with the chosen executor; returns failed runs' count, or nil and the signal
local function run_stage(spec, o, out)
   local s = sweep.from_spec(spec, { width = o.jobs })
   local argv = { "--executor", o.executor, "--jobs", tostring(o.jobs) }
   if o.slurm then argv[#argv + 1] = "--slurm"; argv[#argv + 1] = o.slurm end
   if o.wait then argv[#argv + 1] = "--wait" end
   local failed, sig = sweep.run(s, sweep.parse_args(argv, true), out)
   return failed, sig, s
end

-- whether every run of a stage is done (or failed for good)
local function finished(s)
   for _, r in ipairs(s:runs()) do
      if r.status.state ~= "done" and r.status.state ~= "failed" then return false end
   end
   return true
end

-- the best setting of each problem's tuning runs: the final metric, with a NaN (diverged)
-- never chosen; nil while a problem's runs are not all done
local function chosen(tune)
   local best, waiting = {}, {}
   for _, p in ipairs(tune.spec.problems) do
      local metric, higher = plan.metric(tune.spec, p)
      local top
      for _, r in ipairs(tune:runs()) do
         if r.problem == p.name then
            if r.status.state ~= "done" then
               if r.status.state ~= "failed" then waiting[p.name] = true end
            else
               local v = plan.final_value(r.status.result, metric)
               if v == v and v ~= nil and (not top or (higher and v > top.value) or (not higher and v < top.value)) then
                  top = { value = v, point = r.point, metric = metric }
               end
            end
         end
      end
      if waiting[p.name] then return nil, p.name end
      best[p.name] = top
   end
   return best
end

local function report(o, out)
   local an = require "deepobs.analyzer"
   local results = an.results
   local dir = o.output_dir or "results"
   local col = results.load(dir)
   local base = o.baselines and results.load(o.baselines) or nil
   local chosen_by = { mode = "most", problems = o.problem_names }
   out:write(an.format(an.tables(col, base, chosen_by), "text"), "\n")
   out:write(an.format(an.time_to_target(col, base, chosen_by), "text"), "\n")
   out:write(an.format(an.budget(col, { problems = o.problem_names }), "text"), "\n")
   local path = require("deepobs.analyzer.report").write(o.report or (dir .. "/report"), col, base,
      { mode = "most", problems = o.problem_names })
   out:write(("benchmark: wrote the report %s (the chosen setting of each problem is the one with the most seeds)\n")
      :format(tostring(path)))
end

--- The benchmark command. Returns the exit status, or nil and the signal that stopped it.
function M.main(argv, out)
   out = out or io.stdout
   local o = M.parse_args(argv)
   if o.help then out:write(require("deepobs.resolve").prog_text(M.HELP), "\n"); return 0 end
   o.jobs = o.jobs or sweep.cores()
   local optimizer, path = require("deepobs.resolve").load_optimizer(o.optimizer)
   local label = optimizer.name
   local space, kind = tuning_space(optimizer, o.budget)
   local entry = { search = kind, trials = o.budget }
   for k, v in pairs(space) do entry[k] = v end
   local tune = sweep.from_spec(file.check(sweep_table(o, "benchmark_" .. label .. "_tuning", problem_list(o),
      o.optimizer, { entry = entry, seeds = { file.DEFAULT_SEED } }), "benchmark"), { width = o.jobs })
   o.problem_names = {}
   for _, p in ipairs(tune.spec.problems) do o.problem_names[#o.problem_names + 1] = p.name end
   out:write(("benchmark: %s on %s: tuning (%s), then %d seeds of the best setting\n"):format(label,
      table.concat(o.problem_names, ", "), kind == "grid" and "36 learning rates, 10^-5 to 10^2"
      or (o.budget .. " random trials"), o.seeds))
   local failed, sig = run_stage(tune.spec, o, out)
   if sig then return nil, sig end
   local best, waiting = chosen(tune)
   if not best then
      out:write(("benchmark: the tuning runs of %s are not all done yet (%s executor); run the same command "
         .. "again when they are\n"):format(waiting, o.executor))
      return failed or 0
   end
   local problems = {}
   for _, p in ipairs(tune.spec.problems) do
      local b = best[p.name]
      if not b then
         out:write(("benchmark: %s: every tuning run diverged or failed; no setting to rerun\n"):format(p.name))
      else
         local t = {}
         for k, v in pairs(b.point) do t[#t + 1] = ("%s %s"):format(k, tostring(v)) end
         table.sort(t)
         out:write(("benchmark: %s: best setting %s (final %s %.6g)\n"):format(p.name, table.concat(t, ", "),
            b.metric, b.value))
         local e = {}
         for k, v in pairs(b.point) do e[k] = v end
         problems[#problems + 1] = { name = p.name, entry = e }
      end
   end
   local seeds = {}
   for i = 1, o.seeds do seeds[i] = file.DEFAULT_SEED + i - 1 end
   local seed_failed, all_done = 0, true
   for _, p in ipairs(problems) do
      local spec = file.check(sweep_table(o, "benchmark_" .. label .. "_seeds_" .. p.name, { p.name }, o.optimizer,
         { entry = p.entry, seeds = seeds }), "benchmark")
      local f, s2, stage = run_stage(spec, o, out)
      if s2 then return nil, s2 end
      seed_failed = seed_failed + (f or 0)
      all_done = all_done and finished(stage)
   end
   if not all_done then
      out:write(("benchmark: the seed runs are not all done yet (%s executor); run the same command again "
         .. "when they are, for the report\n"):format(o.executor))
      return math.min(failed + seed_failed, 100)
   end
   report(o, out)
   return math.min((failed or 0) + seed_failed, 100)
end

return M
