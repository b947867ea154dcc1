--- The 2-D noise dataset (DeepOBS 1.1, deepobs/tensorflow/datasets/two_d.py) for the
-- two_d_* problems: 10,000 pairs (x, y) of N(0, 1) noise.
--
--    local ds = require("datasets.two_d").load { batch_size = 128 }
--    batch.x, batch.y: float32 [B]
--
-- train: numpy RandomState(42): x = normal(0, 1, 10000), then y =
--        normal(0, 1, 10000) from the same generator, cast to float32;
--        shuffled by seed, drop remainder (datasets/pipeline/split_rule.lua);
-- train_eval: the first 10000 // B batches of the training order (all of them);
-- test: x = y = 0 (the deterministic function), file order.
-- validation = true (DeepOBS 1.2, deepobs/tensorflow/datasets/two_d.py):
-- valid = 10,000 fresh pairs drawn as train from RandomState(44), file order;
-- train and train_eval stay as above (1.2 does not shrink this training set).
local dob = require "deepobs"
local RandomState = require "deepobs.mt19937"
local split = require "datasets.pipeline.split"
local split_rule = require "datasets.pipeline.split_rule"

local M = {}

M.SIZE, M.NOISE = 10000, 1.0

local function fill(t, rng, noise)
   local p = t:data()
   for i = 0, t:numel() - 1 do p[i] = rng:normal(0.0, noise) end
   t:mark_modified()
   return t
end

-- x then y, M.SIZE draws each, from RandomState(seed)
local function draw_pairs(seed)
   local rng = RandomState(seed)
   local x = fill(dob.empty(M.SIZE), rng, M.NOISE)
   local y = fill(dob.empty(M.SIZE), rng, M.NOISE)
   return { x = x, y = y }
end

--- opts: batch_size (128), seed (default shuffle seed; 42), validation (add
-- ds.valid, see above). data_dir is ignored.
function M.load(opts)
   opts = opts or {}
   local ds = split_rule.splits { kind = split.tensors, train = draw_pairs(42),
      test = { x = dob.zeros(M.SIZE), y = dob.zeros(M.SIZE) }, batch_size = opts.batch_size or 128,
      train_eval_size = M.SIZE, seed = opts.seed, validation = opts.validation,
      valid = opts.validation and draw_pairs(44) or nil, what = "the 2-D dataset" }
   ds.name = "two_d"
   return ds
end

return M
