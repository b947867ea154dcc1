-- Settings built in memory for the plots specs (the analyzer's documented structure:
-- Setting.stats with mean, population std, min, max, n per epoch; minibatch losses
-- aligned to the shortest run), for hand-made curves; result folders load through
-- deepobs.analyzer.results.

local results = require "deepobs.analyzer.results"

local M = {}

local METRICS = { "train_losses", "test_losses", "train_accuracies", "test_accuracies", "minibatch_train_losses" }

-- results.aggregate over the runs that have the metric (nil when none has)
local function aggregate(runs, key)
   local curves = {}
   for _, r in ipairs(runs) do
      local a = r.data[key]
      if type(a) == "table" and #a > 0 then curves[#curves + 1] = a end
   end
   if #curves == 0 then return nil end
   return results.aggregate(curves)
end

function M.make_setting(problem, optimizer, folder, runs)
   table.sort(runs, function(a, b) return a.seed < b.seed end)
   local d = runs[1].data
   local s = { problem = problem, optimizer = optimizer, folder = folder, lr = d.learning_rate,
      hyperparams = d.hyperparams, num_epochs = d.num_epochs, batch_size = d.batch_size, runs = runs, stats = {} }
   for _, k in ipairs(METRICS) do s.stats[k] = aggregate(runs, k) end
   return s
end

return M
