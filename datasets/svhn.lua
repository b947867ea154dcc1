--- SVHN (DeepOBS 1.1: deepobs/tensorflow/datasets/svhn.py, converted by
-- deepobs/scripts/_svhn_preprocess.py, called from
-- deepobs/scripts/deepobs_prepare_data.sh; sizes: Netzer et al., "Reading
-- Digits in Natural Images with Unsupervised Feature Learning", 2011).
--
--    local ds = require("datasets.svhn").load { batch_size = 128, deepobs_compat = false }
--    batch.x: float32 [B, 3, 32, 32], per-image standardised (train: augmented first, no flip)
--    batch.y: int64 [B], digits 0..9 (the .mat files' label 10 is written as 0)
--
-- Files: 1.1's prepared format, data_batch_0.bin .. data_batch_4.bin and
-- test_batch.bin, records of 1 label byte + 3,072 image bytes stored HWC
-- (R, G, B interleaved per pixel, unlike CIFAR's planes), in <data_dir>/svhn
-- (search as for CIFAR-10). scripts/prepare_data.sh svhn downloads the .mat
-- files and converts them (scripts/svhn_convert.lua) writing all 73,257
-- training images; 1.1's own script wrote only the first 64,000.
--
-- Training set: every image the files hold (73,257 from our converter) by
-- default; deepobs_compat = true keeps the first 64,000, as 1.1 trained on.
-- Files written by 1.1's own script hold only those 64,000 and are accepted
-- as they are (same images, same order).
-- train_eval: the first 26,032 // B augmented training batches; test: 26,032
-- images in file order. Augmentation as CIFAR without the flip.
-- validation = true holds out the first 26,032 training images as ds.valid,
-- as DeepOBS 1.2 does (datasets/pipeline/record_images.lua), leaving 47,225 (deepobs_compat:
-- 37,968) to train on.
local records = require "datasets.pipeline.record_images"

local M = {}

M.TRAIN_COMPAT = 64000

M.SPEC = {
   name = "svhn", title = "SVHN", folder = "svhn",
   train_files = { "data_batch_0.bin", "data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin" },
   test_files = { "test_batch.bin" },
   record = 3073, label_offset = 0, image_offset = 1, classes = 10, layout = "hwc",
   train_sizes = { [73257] = true, [64000] = true }, test_size = 26032,
   flip = false, train_eval_size = 26032,
   limit_train = function(opts, n)
      if opts.deepobs_compat then return math.min(n, opts.compat_train_size or M.TRAIN_COMPAT) end
      return n
   end,
}

--- opts: data_dir, batch_size (128), train_eval_size (26,032), seed (42),
-- augment (true), validation (false), deepobs_compat (false: all training images; true: the
-- first 64,000), any_size (accept other record counts: for tests, with
-- compat_train_size standing in for 64,000).
function M.load(opts) return records.load(M.SPEC, opts) end

return M
