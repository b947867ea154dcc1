--- The quadratic dataset (DeepOBS 1.1 `datasets/quadratic.py`, spec §B.7):
-- 1,000 points in R^100 drawn from N(0, 0.6^2 I).
--
--    local ds = require("datasets.quadratic").load { batch_size = 128 }
--    batch.x: float32 [B, 100]
--
-- train: numpy RandomState(42).normal(0.0, 0.6, (1000, 100)) cast to float32,
--        shuffled by seed (split.lua), drop remainder (7 batches at 128);
-- train_eval: every batch of the training order (TF's `take(-1)`);
-- test: RandomState(43), same shape, file order.
-- The draws are numpy's own (datasets/formats/mt19937.lua), so the data are the
-- numbers TensorFlow DeepOBS trained on.
-- validation = true (DeepOBS 1.2, deepobs/tensorflow/datasets/quadratic.py):
-- valid = 1,000 fresh points from RandomState(44), file order; train and
-- train_eval stay as above (1.2 does not shrink this training set).
local dob = require "deepobs"
local RandomState = require "datasets.formats.mt19937"
local split = require "datasets.pipeline.split"

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
   local bs = opts.batch_size or 128
   local train = { x = M.draw(42, M.SIZE, M.DIM, M.NOISE) }
   local test = { x = M.draw(43, M.SIZE, M.DIM, M.NOISE) }
   return {
      name = "quadratic",
      train = split.new { name = "train", tensors = train, batch_size = bs, shuffle = true, default_seed = opts.seed },
      train_eval = split.new { name = "train_eval", tensors = train, batch_size = bs, shuffle = true,
         default_seed = opts.seed },
      valid = opts.validation and split.new { name = "valid", tensors = { x = M.draw(44, M.SIZE, M.DIM, M.NOISE) },
         batch_size = bs, shuffle = false } or nil,
      test = split.new { name = "test", tensors = test, batch_size = bs, shuffle = false },
   }
end

return M
