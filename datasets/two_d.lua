--- The 2-D noise dataset (DeepOBS 1.1 `datasets/two_d.py`, spec §B.8) for the
-- two_d_* problems: 10,000 pairs (x, y) of N(0, 1) noise.
--
--    local ds = require("datasets.two_d").load { batch_size = 128 }
--    batch.x, batch.y: float32 [B]
--
-- train: numpy RandomState(42): x = normal(0, 1, 10000), then y =
--        normal(0, 1, 10000) from the same generator, cast to float32;
--        shuffled by seed (split.lua), drop remainder;
-- train_eval: the first 10000 // B batches of the training order (all of them);
-- test: x = y = 0 (the deterministic function), file order.
-- validation = true (DeepOBS 1.2, deepobs/tensorflow/datasets/two_d.py):
-- valid = 10,000 fresh pairs drawn as train from RandomState(44), file order;
-- train and train_eval stay as above (1.2 does not shrink this training set).
local dob = require "deepobs"
local RandomState = require "datasets.formats.mt19937"
local split = require "datasets.pipeline.split"

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
   local bs = opts.batch_size or 128
   local train = draw_pairs(42)
   local test = { x = dob.zeros(M.SIZE), y = dob.zeros(M.SIZE) }
   return {
      name = "two_d",
      train = split.new { name = "train", tensors = train, batch_size = bs, shuffle = true, default_seed = opts.seed },
      train_eval = split.new { name = "train_eval", tensors = train, batch_size = bs, shuffle = true,
         default_seed = opts.seed, num_batches = math.floor(M.SIZE / bs) },
      valid = opts.validation and split.new { name = "valid", tensors = draw_pairs(44), batch_size = bs,
         shuffle = false } or nil,
      test = split.new { name = "test", tensors = test, batch_size = bs, shuffle = false },
   }
end

return M
