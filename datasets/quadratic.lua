--- The quadratic dataset (DeepOBS 1.1, deepobs/tensorflow/datasets/quadratic.py):
-- 1,000 points in R^100 drawn from N(0, 0.6^2 I).
--
--    local ds = require("datasets.quadratic").load { batch_size = 128 }
--    batch.x: float32 [B, 100]
--
-- train: numpy RandomState(42).normal(0.0, 0.6, (1000, 100)) cast to float32,
--        shuffled by seed, drop remainder (7 batches at 128);
-- train_eval: every batch of the training order (train_eval_size = the
-- training set's 1,000; datasets/pipeline/split_rule.lua);
-- test: RandomState(43), same shape, file order.
-- The draws are numpy's own (lua/deepobs/mt19937.lua), so the data are the
-- numbers TensorFlow DeepOBS trained on.
-- validation = true (DeepOBS 1.2, deepobs/tensorflow/datasets/quadratic.py):
-- valid = 1,000 fresh points from RandomState(44), file order; train and
-- train_eval stay as above (1.2 does not shrink this training set).
local dob = require "deepobs"
local RandomState = require "deepobs.mt19937"
local split = require "datasets.pipeline.split"
local split_rule = require "datasets.pipeline.split_rule"

local M = {}

M.DIM, M.SIZE, M.NOISE = 100, 1000, 0.6

--- [n, dim] float32 tensor of RandomState(seed).normal(0, noise, (n, dim))
function M.draw(seed, n, dim, noise)
   local rng = RandomState(seed)
   local t = dob.empty(n, dim)
   local p = t:data()
   for i = 0, n * dim - 1 do p[i] = rng:normal(0.0, noise) end
   t:mark_modified()
   return t
end

--- opts: batch_size (128), seed (default shuffle seed; 42), validation (add
-- ds.valid, see above). data_dir is ignored.
function M.load(opts)
   opts = opts or {}
   local ds = split_rule.splits { kind = split.tensors, train = { x = M.draw(42, M.SIZE, M.DIM, M.NOISE) },
      test = { x = M.draw(43, M.SIZE, M.DIM, M.NOISE) }, batch_size = opts.batch_size or 128,
      train_eval_size = M.SIZE, seed = opts.seed, validation = opts.validation,
      valid = opts.validation and { x = M.draw(44, M.SIZE, M.DIM, M.NOISE) } or nil, what = "the quadratic dataset" }
   ds.name = "quadratic"
   return ds
end

return M
