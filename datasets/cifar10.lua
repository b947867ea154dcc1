--- CIFAR-10 (DeepOBS 1.1: deepobs/tensorflow/datasets/cifar10.py, files as
-- deepobs/scripts/deepobs_prepare_data.sh lays them out).
--
--    local ds = require("datasets.cifar10").load { data_dir = nil, batch_size = 128 }
--    batch.x: float32 [B, 3, 32, 32], per-image standardised (train: augmented first)
--    batch.y: int64 [B], class indices 0..9
--
-- Files: data_batch_1.bin .. data_batch_5.bin and test_batch.bin (10,000
-- records of 1 label byte + 3,072 image bytes, R, G, B planes of 32x32) in
-- <data_dir>/cifar-10, else $DEEPOBS_DATA_DIR/cifar-10, else
-- ./data_deepobs/cifar-10 (each folder's parent is searched too); or the
-- official cifar-10-binary.tar.gz in one of those folders, read directly.
-- Splits as 1.1 (datasets/pipeline/record_images.lua): 50,000 training images (390 batches
-- at 128), train_eval the first 10,000 // B augmented training batches, test
-- the 10,000 test images in file order. validation = true holds out the
-- first 10,000 training images (data_batch_1.bin) as ds.valid, as DeepOBS 1.2
-- does (datasets/pipeline/record_images.lua), leaving 40,000 to train on.
local records = require "datasets.pipeline.record_images"

local M = {}

M.SPEC = {
   name = "cifar10", title = "CIFAR-10", folder = "cifar-10", archive = "cifar-10-binary.tar.gz",
   train_files = { "data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin" },
   test_files = { "test_batch.bin" },
   record = 3073, label_offset = 0, image_offset = 1, classes = 10, layout = "chw",
   records_per_file = 10000, train_sizes = { [50000] = true }, test_size = 10000,
   flip = true, train_eval_size = 10000,
}

--- opts: data_dir, batch_size (128), train_eval_size (10,000), seed (default
-- shuffle and augmentation seed, 42), augment (true), validation (false), any_size (accept files
-- with other record counts: for tests).
function M.load(opts) return records.load(M.SPEC, opts) end

return M
