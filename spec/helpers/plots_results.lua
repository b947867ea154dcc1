-- Settings and whole collections built in memory for the analyzer specs (the structure of
-- deepobs.analyzer.results.load: Setting.stats with mean, population std, min, max, n per
-- epoch; minibatch losses aligned to the shortest run), for hand-made curves; result folders
-- load through deepobs.analyzer.results.

local results = require "deepobs.analyzer.results"

local M = {}

local METRICS = { "train_losses", "test_losses", "train_accuracies", "test_accuracies", "minibatch_train_losses" }
M.METRICS = METRICS

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

-- a run's data from a compact description: curves (test_losses, train_losses,
-- test_accuracies, train_accuracies; `loss` fills both losses), epoch_times, threads
local function run_data(r, lr, hp)
   local d = { learning_rate = lr, hyperparams = hp or {}, batch_size = 128, epoch_times = r.epoch_times,
      threads = r.threads, train_log_interval = r.train_log_interval, minibatch_train_losses = r.mb }
   for _, k in ipairs({ "test_losses", "train_losses", "test_accuracies", "train_accuracies" }) do d[k] = r[k] end
   if r.loss then d.test_losses, d.train_losses = d.test_losses or r.loss, d.train_losses or r.loss end
   if r.acc then d.test_accuracies, d.train_accuracies = d.test_accuracies or r.acc, d.train_accuracies or r.acc end
   d.num_epochs = #(d.test_losses or d.test_accuracies) - 1
   return d
end

--- An in-memory results collection (the structure of results.load) from
-- { [problem] = { [optimizer] = { { lr, hp, runs = { { seed, loss | test_losses ..., acc,
-- epoch_times, threads }, ... } }, ... } } }; settings in the given order.
function M.collection(spec, root)
   local col = { root = root or "constructed", problems = {}, skipped = {}, warnings = {} }
   for pname, opts in pairs(spec) do
      local p = { name = pname, optimizers = {} }
      for oname, settings in pairs(opts) do
         local o = { name = oname, settings = {} }
         for i, st in ipairs(settings) do
            local runs = {}
            for k, r in ipairs(st.runs) do
               runs[k] = { seed = r.seed or (41 + k), path = ("%s/%s/%d/%d.json"):format(pname, oname, i, k),
                  data = run_data(r, st.lr, st.hp) }
            end
            local s = M.make_setting(pname, oname, st.folder or ("setting" .. i), runs)
            s.lr, s.hyperparams, s.diverged = st.lr, st.hp or {}, 0
            o.settings[i] = s
         end
         p.optimizers[oname] = o
      end
      col.problems[pname] = p
   end
   return col
end

return M
