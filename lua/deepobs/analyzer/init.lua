--- The DeepOBS analyzer's Lua API.
--
--    local an = require "deepobs.analyzer"
--    local col = an.load("results")                 -- results.load
--    local base = an.load("../shared/baselines")
--    local s = an.best(col.problems.fmnist_2c2d.optimizers.AdamOptimizer, "final")
--    local t = an.tables(col, base, { mode = "final" })
--    print(an.format(t, "md"))                      -- "text", "md", "csv", "json"
--    an.runtime{ optimizer = "adam", lr = 1e-3 }    -- runtime.estimate (overhead vs SGD)
--
-- Plots and the HTML report are deepobs.analyzer.plots / deepobs.analyzer.report.
local results = require "deepobs.analyzer.results"
local select = require "deepobs.analyzer.select"
local tables = require "deepobs.analyzer.tables"

local M = {
   results = results, select = select, tables_module = tables,
   load = results.load, counts = results.counts,
   best = select.best, metric = select.metric, higher_is_better = select.higher_is_better,
   aggregate = results.aggregate,
}

--- The performance / speed / tuneability table (tables.build).
function M.tables(col, baselines, opts) return tables.build(col, baselines, opts) end

--- A built table as text in one of tables.FORMATS ("text", "md", "csv", "json").
function M.format(t, fmt)
   local f = tables.FORMATS[fmt or "text"]
   if not f then error(("unknown table format %q: use text, md, csv or json"):format(tostring(fmt)), 2) end
   return f(t)
end

--- DeepOBS's runtime estimation (deepobs.analyzer.runtime, loaded on first use: it needs the engine).
function M.runtime(opts) return require("deepobs.analyzer.runtime").estimate(opts) end

return M
