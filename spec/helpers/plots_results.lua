-- A tiny loader for the plots specs producing the analyzer's documented structures
-- (analyzer_interface: Setting.stats with mean, population std, min, max, n per epoch;
-- minibatch losses aligned to the shortest run), so those specs do not depend on
-- deepobs.analyzer.results.
local cjson = require "cjson"
local fs = require "helpers.fs"

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

function M.load(dir)
   local col = { root = dir, problems = {}, skipped = {} }
   local groups, order = {}, {}
   for _, path in ipairs(fs.files_under(dir)) do
      local p, o, f, file = path:match("([^/]+)/([^/]+)/([^/]+)/([^/]+%.json)$")
      if p then
         local data = cjson.decode(fs.read(path))
         local key = p .. "/" .. o .. "/" .. f
         if not groups[key] then groups[key] = { p = p, o = o, f = f, runs = {} }; order[#order + 1] = key end
         local g = groups[key].runs
         g[#g + 1] = { seed = data.random_seed, path = path, data = data }
      end
   end
   for _, key in ipairs(order) do
      local g = groups[key]
      local prob = col.problems[g.p] or { name = g.p, optimizers = {} }
      col.problems[g.p] = prob
      local opt = prob.optimizers[g.o] or { name = g.o, settings = {} }
      prob.optimizers[g.o] = opt
      opt.settings[#opt.settings + 1] = M.make_setting(g.p, g.o, g.f, g.runs)
   end
   for _, prob in pairs(col.problems) do
      for _, opt in pairs(prob.optimizers) do
         table.sort(opt.settings, function(a, b) return (a.lr or 0) < (b.lr or 0) end)
      end
   end
   return col
end

return M
