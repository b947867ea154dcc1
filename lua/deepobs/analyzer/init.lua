--- The DeepOBS analyzer's Lua API.
--
--    local an = require "deepobs.analyzer"
--    local col = an.load("results")                 -- results.load
--    local base = an.load("../shared/baselines")
--    local s = an.best(col.problems.fmnist_2c2d.optimizers.AdamOptimizer, "final")
--    local t = an.tables(col, base, { mode = "final" })
--    print(an.format(t, "md"))                      -- "text", "md", "csv", "json"
--    print(an.format(an.time_to_target(col, base), "text"))   -- per seed, share reached
--    print(an.format(an.profiles(col, base, { time = "epochs" })))
--    print(an.format(an.tuning(col, base)))         -- best after k trials, exact quartiles
--    print(an.format(an.budget(col)))               -- trials, seeds, CPU hours
--    local all = an.analysis(col, base, opts)       -- all of the above at once, as the report
--
-- Every builder takes the options of tables.build (mode, metric, targets, problems,
-- optimizers), so what it shows is chosen by the same rule as the table. Plots and the HTML
-- report are deepobs.analyzer.plots / sweep_plots / report. The analyzer reads results
-- only; the runtime estimation, which trains, is deepobs.runtime.
local results = require "deepobs.analyzer.results"
local select = require "deepobs.analyzer.select"
local tables = require "deepobs.analyzer.tables"
local target = require "deepobs.analyzer.target"
local profiles = require "deepobs.analyzer.profiles"
local tuning = require "deepobs.analyzer.tuning"
local budget = require "deepobs.analyzer.budget"

local M = {
   results = results, select = select, tables_module = tables,
   load = results.load, counts = results.counts,
   best = select.best, metric = select.metric, higher_is_better = select.higher_is_better,
   aggregate = results.aggregate,
}

--- The performance / speed / tuneability table (tables.build).
function M.tables(col, baselines, opts) return tables.build(col, baselines, opts) end

--- Time to target per problem, optimizer and seed (target.build over tables.build).
function M.time_to_target(col, baselines, opts) return target.build(tables.build(col, baselines, opts)) end

--- Performance profiles (profiles.build); opts.time = "epochs" (default) or "seconds".
function M.profiles(col, baselines, opts)
   return profiles.build(M.time_to_target(col, baselines, opts), { time = opts and opts.time })
end

--- Tuning curves per problem and optimizer (tuning.build).
function M.tuning(col, baselines, opts) return tuning.build(tables.build(col, baselines, opts)) end

--- The budget of the results: trials, seeds, runs, CPU hours (budget.build; opts.problems,
-- opts.optimizers).
function M.budget(col, opts) return budget.build(col, opts) end

--- Everything the report shows, built once (report.build): { perf, ttt, profile, tuning,
-- budget, styles }; opts also takes profile_time.
function M.analysis(col, baselines, opts) return require("deepobs.analyzer.report").build(col, baselines, opts) end

local FORMATTERS = { performance = tables.FORMATS, time_to_target = target.FORMATS, profile = profiles.FORMATS,
                     tuning = tuning.FORMATS, budget = budget.FORMATS }

--- Any built table (tables, time_to_target, profiles, tuning, budget) as text in one of
-- "text", "md", "csv", "json".
function M.format(t, fmt)
   if type(t) ~= "table" or type(t.problems or t.rows or t.entries) ~= "table" then
      error("format: give a table built by an.tables, an.time_to_target, an.profiles, an.tuning or an.budget", 2)
   end
   local formats = FORMATTERS[t.kind or "performance"]
   if not formats then error(("format: unknown kind of table %q"):format(tostring(t.kind)), 2) end
   local f = formats[fmt or "text"]
   if not f then error(("unknown table format %q: use text, md, csv or json"):format(tostring(fmt)), 2) end
   return f(t)
end

return M
