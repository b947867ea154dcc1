--- The DeepOBS analyzer's command line (scripts/analyze.lua, `deepobs analyze`): tables, HTML
-- report, runtime.
--
--   luajit scripts/analyze.lua RESULTS_DIR [--baselines DIR] [--out DIR] [--problems P ...]
--          [--optimizers O ...] [--mode final|best|most] [--format text,md,csv,json]
--          [--show performance,target,profile,tuning,budget|all] [--profile_time epochs|seconds]
--   luajit scripts/analyze.lua --runtime OPTIMIZER ... [--runtime_problem P] [--runtime_epochs N]
--
-- Exit status: 0 done, 2 usage errors (bad flag, missing folder, no results), 1 other failures.
local errors = require "deepobs.errors"

local M = {}

M.PROG = "luajit scripts/analyze.lua"

local HELP = [[
usage: PROG RESULTS_DIR [options]
       PROG --runtime OPTIMIZER ... [runtime options]

Reads every result file under RESULTS_DIR (this runner's and DeepOBS 1.1's files, DeepOBS
1.2's and the PyTorch port's), aggregates the seeds of each setting and prints DeepOBS's
table per problem: Performance (the chosen setting's final or best mean metric), Speed
(epochs, and seconds where the files have epoch_times, until the baselines' best final
performance is reached, mean over the seeds that reach it; "not reached" when none does)
and Tuneability (lr and hyperparameters). With --show it also prints the time to target per
seed, performance profiles, tuning curves and the budget (trials, seeds, CPU hours). The
HTML report shows all of them, with the settings chosen by the same rule. Unreadable files
are listed and skipped; a setting whose runs were made by different versions of the
optimizer file (their optimizer_sha256 differs) is named in a warning.

options:
  --baselines DIR        reference results drawn beside yours (e.g. ../shared/baselines)
  --out DIR              folder of the HTML report (default report/)
  --no_report            print the tables only
  --check                list what was found per problem and optimizer (settings, seeds,
                         diverged runs, warnings, skipped files) and stop
  --problems P ...       only these problems
  --optimizers O ...     only these optimizers (folder names, e.g. AdamOptimizer)
  --mode MODE            how a setting is chosen: final (default), best, most
  --format F[,F...]      text (default), md, csv, json
  --metric M             rank by M (e.g. valid_accuracies, train_losses) instead of the problem's
                         (test loss for quadratic_deep and the VAEs, else test accuracy)
  --target P=X ...       the target of problem P for speed, time to target and profiles (default:
                         the best final value among the baselines' chosen settings, or the
                         baselines' convergence_performance.json)
  --show T[,T...]        the tables to print: performance (default), target (time to target per
                         seed and the share of seeds that reach it), profile (performance
                         profiles), tuning (best result after k trials), budget (trials, seeds,
                         CPU hours), or all
  --profile_time U       time of the performance profiles: epochs (default) or seconds (training
                         time from epoch_times; optimizers without it are left out)
  --runtime OPT ...      time these optimizers against SGD (runs alternate; ratio of run times
                         and of training-step times, mean ± std over the runs)
  --runtime_problem P    problem for --runtime (default mnist_mlp)
  --runtime_epochs N     epochs per run (default 3)
  --runtime_runs N       runs of each optimizer, alternating with SGD (default 5)
  --runtime_bs N         batch size for --runtime (default 128)
  --runtime_lr X         learning rate of the timed optimizers (default 1e-3)
  --data_dir DIR         data folder for --runtime
  -h, --help             this text
]]

local usage = errors.usage

local function is_flag(a) return a ~= nil and a:sub(1, 1) == "-" and tonumber(a) == nil end

local function parse(argv)
   local o = { mode = "final", formats = { "text" }, report = true, show = { "performance" } }
   local i = 1
   local function value(flag)
      local v = argv[i + 1]
      if v == nil or is_flag(v) then usage(flag .. " needs a value") end
      i = i + 1
      return v
   end
   local function list(flag)
      local t = {}
      while argv[i + 1] ~= nil and not is_flag(argv[i + 1]) do
         i = i + 1
         for v in argv[i]:gmatch("[^,]+") do t[#t + 1] = v end
      end
      if #t == 0 then usage(flag .. " needs at least one name") end
      return t
   end
   local function number(flag, integer)
      local v = value(flag)
      local x = tonumber(v)
      if not x or (integer and (x ~= math.floor(x) or x < 1)) then
         usage(("%s needs %s, got %q"):format(flag, integer and "a positive integer" or "a number", v))
      end
      return x
   end
   while i <= #argv do
      local a = argv[i]
      if a == "-h" or a == "--help" then
         return { help = true }
      elseif a == "--baselines" then o.baselines = value(a)
      elseif a == "--out" then o.out = value(a)
      elseif a == "--no_report" then o.report = false
      elseif a == "--check" then o.check = true
      elseif a == "--problems" then o.problems = list(a)
      elseif a == "--optimizers" then o.optimizers = list(a)
      elseif a == "--mode" then
         o.mode = value(a)
         if o.mode ~= "final" and o.mode ~= "best" and o.mode ~= "most" then
            usage(("--mode must be final, best or most, not %q"):format(o.mode))
         end
      elseif a == "--format" then
         o.formats = list(a)
         for _, f in ipairs(o.formats) do
            if f ~= "text" and f ~= "md" and f ~= "csv" and f ~= "json" then
               usage(("unknown --format %q (text, md, csv, json)"):format(f))
            end
         end
      elseif a == "--metric" then
         o.metric = value(a)
         local known = { test_accuracies = 1, test_losses = 1, train_accuracies = 1, train_losses = 1,
                         valid_accuracies = 1, valid_losses = 1 }
         if not known[o.metric] then
            usage(("unknown --metric %q (test_accuracies, test_losses, train_*, valid_*)"):format(o.metric))
         end
      elseif a == "--target" then
         o.targets = o.targets or {}
         for _, kv in ipairs(list(a)) do
            local p, x = kv:match("^([^=]+)=(.+)$")
            if not p or not tonumber(x) then usage(("--target needs PROBLEM=NUMBER, got %q"):format(kv)) end
            o.targets[p] = tonumber(x)
         end
      elseif a == "--show" then
         o.show = list(a)
         local known = { performance = 1, target = 1, profile = 1, tuning = 1, budget = 1, all = 1 }
         local all = false
         for _, t in ipairs(o.show) do
            if not known[t] then
               usage(("unknown --show %q (performance, target, profile, tuning, budget, all)"):format(t))
            end
            all = all or t == "all"
         end
         if all then o.show = { "performance", "target", "profile", "tuning", "budget" } end
      elseif a == "--profile_time" then
         o.profile_time = value(a)
         if o.profile_time ~= "epochs" and o.profile_time ~= "seconds" then
            usage(("--profile_time must be epochs or seconds, not %q"):format(o.profile_time))
         end
      elseif a == "--runtime" then o.runtime = list(a)
      elseif a == "--runtime_problem" then o.runtime_problem = value(a)
      elseif a == "--runtime_epochs" then o.runtime_epochs = number(a, true)
      elseif a == "--runtime_runs" then o.runtime_runs = number(a, true)
      elseif a == "--runtime_bs" then o.runtime_bs = number(a, true)
      elseif a == "--runtime_lr" then o.runtime_lr = number(a)
      elseif a == "--data_dir" then o.data_dir = value(a)
      elseif is_flag(a) then usage(("unknown option %s"):format(a))
      elseif o.dir == nil then o.dir = a
      else usage(("one results folder only (got %s and %s)"):format(o.dir, a))
      end
      i = i + 1
   end
   if o.dir == nil and o.runtime == nil then usage("give a results folder") end
   return o
end

local function analyze(argv)
   local o = parse(argv)
   if o.help then
      io.stdout:write((HELP:gsub("PROG", M.PROG)))
      return 0
   end
   local an = require "deepobs.analyzer"
   local results = an.results

   if o.dir then
      if not results.is_dir(o.dir) then usage(("results folder %s does not exist"):format(o.dir)) end
      local col = results.load(o.dir)
      for _, s in ipairs(o.check and {} or col.skipped) do -- --check lists them on stdout
         io.stderr:write(("analyze: skipped %s: %s\n"):format(s.path, s.reason))
      end
      if next(col.problems) == nil then
         usage(("no result files under %s (expected <problem>/<optimizer>/<setting>/random_seed__N__DATE.json)")
            :format(o.dir))
      end
      if o.check then -- the summary has the warnings too
         io.stdout:write(results.summary(col), "\n")
         return 0
      end
      for _, w in ipairs(results.warnings(col, o.problems, o.optimizers)) do
         io.stderr:write("analyze: warning: " .. w .. "\n")
      end
      local base
      if o.baselines then
         if not results.is_dir(o.baselines) then usage(("baselines folder %s does not exist"):format(o.baselines)) end
         base = results.load(o.baselines)
      end
      local function check(names, what, have)
         for _, n in ipairs(names or {}) do
            if not have(n) then io.stderr:write(("analyze: warning: no results for %s %s\n"):format(what, n)) end
         end
      end
      check(o.problems, "problem", function(n) return col.problems[n] ~= nil end)
      check(o.optimizers, "optimizer", function(n)
         for _, p in pairs(col.problems) do if p.optimizers[n] then return true end end
         return false
      end)
      -- one set of options for the printed tables and the report: the same settings, targets, rule
      local opts = { mode = o.mode, problems = o.problems, optimizers = o.optimizers, targets = o.targets,
         metric = o.metric, profile_time = o.profile_time }
      local all = an.analysis(col, base, opts)
      local built = { performance = all.perf, target = all.ttt, profile = all.profile, tuning = all.tuning,
         budget = all.budget }
      local first = true
      for _, f in ipairs(o.formats) do
         for _, which in ipairs(o.show) do
            if not first then io.stdout:write("\n") end
            first = false
            local s = an.format(built[which], f)
            io.stdout:write(s, s:sub(-1) == "\n" and "" or "\n")
         end
      end
      if o.report then
         local ok, report = pcall(require, "deepobs.analyzer.report")
         if ok and type(report) == "table" and report.write then
            local path = report.write(o.out or "report", col, base, opts)
            io.stderr:write(("analyze: wrote %s\n"):format(tostring(path)))
         elseif o.out then
            io.stderr:write("analyze: warning: the HTML report module (deepobs.analyzer.report) is not installed; no report written\n")
         end
      end
   end

   if o.runtime then
      local runtime = require "deepobs.runtime"
      for _, opt in ipairs(o.runtime) do
         local r = runtime.estimate { optimizer = opt, lr = o.runtime_lr or 1e-3, problem = o.runtime_problem,
            num_epochs = o.runtime_epochs, runs = o.runtime_runs, batch_size = o.runtime_bs, data_dir = o.data_dir }
         io.stdout:write(runtime.format(r), "\n")
      end
   end
   return 0
end

--- The analyzer's command line: argv (a list of strings) -> exit status (0 done, 1 failure,
-- 2 usage error: a bad flag, a missing folder, no results), messages on stderr.
function M.main(argv)
   local ok, res = pcall(analyze, argv or {})
   io.stdout:flush()
   if ok then return res end
   local msg = errors.clean(errors.describe(res))
   if errors.is_usage(res) then
      io.stderr:write(("analyze: %s; see %s --help\n"):format(msg, M.PROG))
      return 2
   end
   io.stderr:write("analyze: " .. msg .. "\n")
   return 1
end

return M
