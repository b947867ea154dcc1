--- DeepOBS's runtime estimation (1.1's deepobs_estimate_runtime, 1.2's estimate_runtime):
-- the time of an optimizer's runs relative to plain SGD on the same problem. It trains, so
-- it sits beside the runner, not in the analyzer (which reads results only);
-- `luajit scripts/analyze.lua --runtime OPTIMIZER` prints it.
--
--    local runtime = require "deepobs.runtime"
--    local r = runtime.estimate{ optimizer = "adam", lr = 1e-3 }   -- mnist_mlp, 3 epochs, 5 + 5 runs
--    print(runtime.format(r))   -- "... overhead 1.12 ± 0.03 (ratio of run times, 5 runs)"
--
-- SGD and the optimizer run alternately (so drifting machine load hits both alike) through
-- the runner with no_logs; each pair gives a ratio optimizer time / SGD time; the result is
-- the mean and population std of the ratios: ratio_* of whole runs (1.1 timed whole
-- processes) and train_ratio_* of the training epochs alone (the runs' epoch_times), which
-- leaves data loading and evaluation out and so isolates the per-step overhead. Options: optimizer (name, path or table), lr,
-- hyperparams, problem ("mnist_mlp", or a problem table), num_epochs (3), batch_size (128 or
-- the problem's), runs (5), sgd_lr (1e-5, 1.1's default), data_dir, dataset, threads, random_seed,
-- warmup (true: one untimed epoch of each first; 1.1 had none).
local progress = require "deepobs.progress"
local runner = require "deepobs.runner"

local M = {}

local function mean_std(xs)
   local s = 0
   for _, x in ipairs(xs) do s = s + x end
   local m = s / #xs
   local q = 0
   for _, x in ipairs(xs) do q = q + (x - m) ^ 2 end
   return m, math.sqrt(q / #xs)
end
M.mean_std = mean_std

function M.estimate(o)
   o = o or {}
   if o.optimizer == nil then error("runtime.estimate: give an optimizer", 2) end
   local problem = runner.load_problem(o.problem or "mnist_mlp")
   local optimizer = runner.load_optimizer(o.optimizer)
   local sgd = runner.load_optimizer(o.sgd or "sgd")
   local runs = o.runs or 5
   local epochs = o.num_epochs or 3
   local bs = o.batch_size or (type(o.problem) == "table" and problem.batch_size) or 128
   local common = { problem = problem, num_epochs = epochs, batch_size = bs, data_dir = o.data_dir,
                    dataset = o.dataset, threads = o.threads, random_seed = o.random_seed, no_logs = true,
                    quiet = true, train_log_interval = o.train_log_interval }
   local function timed(opt, lr, hp)
      local args = { optimizer = opt, lr = lr, hyperparams = hp }
      for k, v in pairs(common) do args[k] = v end
      local t0 = progress.now()
      local res = runner.run(args)
      local total = progress.now() - t0
      local train = 0
      for _, t in ipairs(res.epoch_times or {}) do train = train + t end
      return total, train
   end
   local r = { problem = problem.name, optimizer = optimizer.name, num_epochs = epochs, batch_size = bs,
               sgd_times = {}, times = {}, ratios = {}, sgd_train_times = {}, train_times = {}, train_ratios = {} }
   -- one untimed epoch of each first: JIT compilation and the first data load would otherwise
   -- land on the first SGD run only
   if o.warmup ~= false then
      common.num_epochs = 1
      timed(sgd, o.sgd_lr or 1e-5)
      timed(optimizer, o.lr, o.hyperparams)
      common.num_epochs = epochs
   end
   for i = 1, runs do
      r.sgd_times[i], r.sgd_train_times[i] = timed(sgd, o.sgd_lr or 1e-5)
      r.times[i], r.train_times[i] = timed(optimizer, o.lr, o.hyperparams)
      r.ratios[i] = r.times[i] / r.sgd_times[i]
      r.train_ratios[i] = r.train_times[i] / r.sgd_train_times[i]
   end
   r.train_ratio_mean, r.train_ratio_std = mean_std(r.train_ratios)
   r.sgd_mean = mean_std(r.sgd_times)
   r.mean = mean_std(r.times)
   r.ratio_mean, r.ratio_std = mean_std(r.ratios)
   return r
end

--- The report 1.1's script prints, as text.
function M.format(r)
   local out = {
      ("runtime of %s against SGD on %s (%d epochs, batch %d, %d runs each)")
         :format(r.optimizer, r.problem, r.num_epochs, r.batch_size, #r.ratios),
      ("  SGD:  mean %.3f s per run"):format(r.sgd_mean),
      ("  %s:  mean %.3f s per run"):format(r.optimizer, r.mean),
   }
   local per = {}
   for i, x in ipairs(r.ratios) do per[i] = ("%.2f"):format(x) end
   out[#out + 1] = "  overhead per run: " .. table.concat(per, " ")
   out[#out + 1] = ("  overhead: %.2f ± %.2f (time of %s / time of SGD)"):format(r.ratio_mean, r.ratio_std, r.optimizer)
   out[#out + 1] = ("  training steps only (epoch_times, no data loading or evaluation): %.2f ± %.2f")
      :format(r.train_ratio_mean, r.train_ratio_std)
   return table.concat(out, "\n")
end

return M
