--- MNIST (DeepOBS 1.1, deepobs/tensorflow/datasets/mnist.py).
--
--    local ds = require("datasets.mnist").load { data_dir = nil, batch_size = 128, train_eval_size = 10000 }
--    ds.train, ds.train_eval, ds.test   -- splits (datasets/pipeline/split.lua)
--    batch.x: float32 [B, 1, 28, 28] in [0, 1] (pixels / 255, no normalisation)
--    batch.y: int64 [B], class indices 0..9
--
-- Splits (datasets/pipeline/split_rule.lua): train = the 60,000 training
-- images, shuffled by seed, drop remainder (468 batches at 128); train_eval =
-- the first train_eval_size // B batches of the same shuffled training order
-- (TF's `train.take(n)`); test = the 10,000 test images in file order, drop
-- remainder.
-- TF used NHWC [B, 28, 28, 1]; with one channel that is the same memory as
-- our NCHW [B, 1, 28, 28].
--
-- validation = true (DeepOBS 1.2, deepobs/tensorflow/datasets/mnist.py:
-- `valid_data = data.take(train_eval_size)`, `train_data =
-- data.skip(train_eval_size)`, valid batched unshuffled): valid = the first
-- train_eval_size (10,000) training images in file order, unshuffled, the
-- same batches for every seed; train = the other 50,000, shuffled as above;
-- train_eval = the first train_eval_size // B batches of that reduced,
-- shuffled training order.
--
-- Files: the four IDX files (gzipped as distributed, or plain) in
-- <data_dir>/mnist, else $DEEPOBS_DATA_DIR/mnist, else ./data_deepobs/mnist.
local ffi = require "ffi"
local idx = require "datasets.formats.idx"
local file = require "datasets.formats.file"
local locate = require "datasets.pipeline.locate"
local split = require "datasets.pipeline.split"
local split_rule = require "datasets.pipeline.split_rule"

local M = {}

M.FILES = {
   train_images = "train-images-idx3-ubyte", train_labels = "train-labels-idx1-ubyte",
   test_images = "t10k-images-idx3-ubyte", test_labels = "t10k-labels-idx1-ubyte",
}
local ORDER = { "train_images", "train_labels", "test_images", "test_labels" }

-- the four files in dir (each gzipped or plain): a table key -> path; nil
-- and the names of the missing files when some are there but not all, nil
-- when none is
local function find_in(dir)
   local paths, missing = {}, {}
   for _, k in ipairs(ORDER) do
      local base = dir .. "/" .. M.FILES[k]
      if file.exists(base .. ".gz") then paths[k] = base .. ".gz"
      elseif file.exists(base) then paths[k] = base
      else missing[#missing + 1] = M.FILES[k] .. ".gz" end
   end
   if #missing == 0 then return paths end
   if #missing < #ORDER then return nil, missing end
end

-- checks the IDX header contents of one MNIST-style file; fix: how to get good files
local function check_images(t, path, n_expected, fix)
   local s = t:size()
   if #s ~= 3 or s[2] ~= 28 or s[3] ~= 28 then
      error(("%s: expected an IDX image file of 28x28 images (magic 2051), got a %d-dim array %s; %s")
         :format(path, #s, table.concat(s, "x"), fix), 0)
   end
   if n_expected and s[1] ~= n_expected then
      error(("%s: expected %d images, the file holds %d; %s"):format(path, n_expected, s[1], fix), 0)
   end
   if s[1] == 0 then error(("%s: the file holds no images; %s"):format(path, fix), 0) end
end

local function check_labels(t, path, n_images, ipath, fix)
   local s = t:size()
   if #s ~= 1 then
      error(("%s: expected an IDX label file (magic 2049, one dim), got a %d-dim array; %s"):format(path, #s, fix), 0)
   end
   if s[1] ~= n_images then
      error(("%s holds %d labels but %s holds %d images; %s"):format(path, s[1], ipath, n_images, fix), 0)
   end
   local p = ffi.cast("const uint8_t *", t:data())
   for i = 0, s[1] - 1 do
      if p[i] > 9 then
         error(("%s: label %d out of range 0..9 (label %d); the file may be corrupt, %s"):format(path, p[i], i, fix), 0)
      end
   end
end

local function read_pair(ipath, lpath, n_expected, fix)
   -- TF: X.astype(float32) / 255.0, read a chunk at a time (never the bytes and floats whole)
   local images = idx.read(ipath, 255)
   check_images(images, ipath, n_expected, fix)
   local labels = idx.read(lpath)
   check_labels(labels, lpath, images:size(1), ipath, fix)
   return images:view(images:size(1), 1, 28, 28), labels:long()
end

--- Generic loader for the MNIST-format datasets.
-- spec = { name = "mnist", title = "MNIST", extra_dirs = {...}, fetch_hint = "..." ,
--          train_size = 60000, test_size = 10000 }
function M.load_idx_dataset(spec, opts)
   opts = opts or {}
   local dirs = locate.search_dirs(opts.data_dir, spec.name, spec.extra_dirs)
   local paths
   for _, d in ipairs(dirs) do
      local missing
      paths, missing = find_in(d)
      if paths then break end
      -- a folder with some of the files is a damaged download, not a reason to use another folder's copy
      if missing then
         error(("%s: %s's files are incomplete, %s missing (gzipped or not); download them again with "
            .. "scripts/prepare_data.sh %s"):format(d, spec.title, table.concat(missing, ", "), spec.name), 0)
      end
   end
   if not paths then
      local names = {}
      for i, k in ipairs(ORDER) do names[i] = M.FILES[k] .. ".gz" end
      error(("%s not found: expected the files\n  %s\n(gzipped or not) in one of these folders:\n  %s\n%s")
         :format(spec.title, table.concat(names, "\n  "), table.concat(dirs, "\n  "), spec.fetch_hint), 0)
   end
   local n_train, n_test = spec.train_size, spec.test_size
   if opts.any_size then n_train, n_test = nil, nil end
   local fix = ("download it again with scripts/prepare_data.sh %s"):format(spec.name)
   local train_x, train_y = read_pair(paths.train_images, paths.train_labels, n_train, fix)
   local test_x, test_y = read_pair(paths.test_images, paths.test_labels, n_test, fix)
   local ds = split_rule.splits { kind = split.tensors, train = { x = train_x, y = train_y },
      test = { x = test_x, y = test_y }, batch_size = opts.batch_size or 128,
      train_eval_size = opts.train_eval_size or 10000, seed = opts.seed, validation = opts.validation,
      what = spec.title .. "'s training set (" .. paths.train_images .. ")" }
   ds.name, ds.dir = spec.name, paths.train_images:match("^(.*)/[^/]*$")
   return ds
end

local SPEC = {
   name = "mnist", title = "MNIST", train_size = 60000, test_size = 10000,
   fetch_hint = "Download them with: scripts/prepare_data.sh --only=mnist  (or: scripts/prepare_data.sh mnist)\n"
      .. "or pass --data_dir DIR (the folder holding mnist/).",
}

--- opts: data_dir, batch_size (128), train_eval_size (10000), seed (default
-- shuffle seed when batches() gets none; 42), validation (hold out the
-- first train_eval_size training images as ds.valid), any_size (accept files
-- with other numbers of images than 60,000 / 10,000: for tests).
function M.load(opts) return M.load_idx_dataset(SPEC, opts) end

return M
