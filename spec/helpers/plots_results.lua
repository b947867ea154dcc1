-- Settings built in memory for the plots specs (the analyzer's documented structure:
-- Setting.stats with mean, population std, min, max, n per epoch; minibatch losses
-- aligned to the shortest run), for hand-made curves; result folders load through
-- deepobs.analyzer.results.

local M = {}

local METRICS = { "train_losses", "test_losses", "train_accuracies", "test_accuracies", "minibatch_train_losses" }

local function aggregate(runs, key)
   local arrays, n = {}, math.huge
   for _, r in ipairs(runs) do
      local a = r.data[key]
      if type(a) == "table" and #a > 0 then
         arrays[#arrays + 1] = a
         if #a < n then n = #a end
      end
   end
   if #arrays == 0 then return nil end
   local st = { mean = {}, std = {}, min = {}, max = {}, n = #arrays }
   for i = 1, n do
      local s, lo, hi = 0, math.huge, -math.huge
      for _, a in ipairs(arrays) do
         s = s + a[i]
         lo, hi = math.min(lo, a[i]), math.max(hi, a[i])
      end
      local m = s / #arrays
      local v = 0
      for _, a in ipairs(arrays) do v = v + (a[i] - m) ^ 2 end
      st.mean[i], st.std[i], st.min[i], st.max[i] = m, math.sqrt(v / #arrays), lo, hi
   end
   return st
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
