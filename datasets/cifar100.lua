--- CIFAR-100 (DeepOBS 1.1: deepobs/tensorflow/datasets/cifar100.py, files as
-- deepobs/scripts/deepobs_prepare_data.sh lays them out).
--
--    local ds = require("datasets.cifar100").load { batch_size = 256, deepobs_compat = false }
--    batch.x: float32 [B, 3, 32, 32], per-image standardised (train: augmented first)
--    batch.y: int64 [B], fine labels 0..99
--
-- Files: train.bin (50,000 records) and test.bin (10,000) of 1 coarse label
-- byte + 1 fine label byte + 3,072 image bytes (R, G, B planes) in
-- <data_dir>/cifar-100 (search as for CIFAR-10), or the official
-- cifar-100-binary.tar.gz there, read directly.
--
-- DeepOBS 1.1 sliced the image bytes from offset 1 instead of 2, so its
-- images start with the fine-label byte, drop the last blue byte and shift
-- every plane by one byte (deepobs/tensorflow/datasets/cifar100.py
-- slices the image bytes from the fine label's offset). We read offset 2 (the real images) by
-- default; deepobs_compat = true reproduces 1.1's offset 1, as its baselines
-- were trained on it.
-- validation = true holds out the first 10,000 training images as ds.valid,
-- as DeepOBS 1.2 does (datasets/pipeline/record_images.lua), leaving 40,000 to train on.
local records = require "datasets.pipeline.record_images"

local M = {}

M.SPEC = {
   name = "cifar100", title = "CIFAR-100", folder = "cifar-100", archive = "cifar-100-binary.tar.gz",
   train_files = { "train.bin" }, test_files = { "test.bin" },
   record = 3074, label_offset = 1, image_offset = 2, compat_image_offset = 1,
   extra_labels = { { 0, 20, "coarse label" } }, classes = 100, layout = "chw",
   train_sizes = { [50000] = true }, test_size = 10000,
   flip = true, train_eval_size = 10000,
}

--- opts: data_dir, batch_size (128), train_eval_size (10,000), seed (42),
-- augment (true), validation (false), deepobs_compat (false: 1.1's offset-1 image bytes),
-- any_size (accept files with other record counts: for tests).
function M.load(opts) return records.load(M.SPEC, opts) end

return M
