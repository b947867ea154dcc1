--- Shared by CIFAR-10, CIFAR-100 and SVHN: fixed-length binary records of
-- 32x32x3 images (datasets/formats/records.lua), found as plain files or
-- inside the official tar.gz (datasets/formats/tar.lua), and DeepOBS 1.1's
-- input pipeline on top (deepobs/tensorflow/datasets/cifar10.py, cifar100.py,
-- svhn.py).
--
-- A data set is described by a table (see datasets/cifar10.lua):
--   name, title, folder          "cifar10", "CIFAR-10", "cifar-10"
--   train_files, test_files       file names of the records
--   archive                       official archive name, or nil
--   record                        bytes per record
--   label_offset, image_offset    byte offsets in a record (0-based)
--   extra_labels                  { {offset, limit, what}, ... } more label bytes to check
--   classes                       labels must be < classes
--   layout                        "chw" (CIFAR: planar) or "hwc" (SVHN: interleaved)
--   records_per_file              expected count per file (nil: any), train_sizes / test_size: totals
--   flip                          random left-right flip in training
--   train_eval_size               TF's train_eval_size
--
-- Splits (1.1, datasets/pipeline/split_rule.lua): train = shuffled, augmented (pad 2 + random crop 32, flip,
-- brightness +-63/255, saturation 0.5..1.5, contrast 0.2..1.8, per-image
-- standardisation; SVHN without the flip); train_eval = the first
-- train_eval_size // B batches of that same shuffled *augmented* pipeline;
-- test = file order, standardisation only. Drop remainder everywhere.
-- Images are kept as uint8 [N,3,32,32] and turned into float32 0..255 per
-- batch (TF casts to float before augmenting; nothing divides by 255).
--
-- validation = true (DeepOBS 1.2, deepobs/tensorflow/datasets/svhn.py:
-- `valid_data = data.take(train_eval_size)`, `train_data =
-- data.skip(train_eval_size)` on the raw records, valid unaugmented and
-- unshuffled; mnist.py and imagenet.py do the same, and CIFAR is taken to
-- follow): valid = the first train_eval_size training records in file order
-- (CIFAR: 10,000, i.e. data_batch_1.bin / the start of train.bin; SVHN:
-- 26,032), standardised only, unshuffled, the same batches for every seed;
-- train = the remaining records (40,000; SVHN 47,225, or 37,968 of
-- deepobs_compat's 64,000), shuffled and augmented as above; train_eval = the
-- first train_eval_size // B batches of that reduced pipeline. 1.2 shuffled
-- the file list before the take, drawn anew at each initialisation, so its
-- validation and training records could overlap; file order keeps ours
-- fixed and disjoint.
--
-- Augmentation randomness: batch i of batches(seed) draws its parameters from
-- the engine RNG seeded with a value made of (seed, i), with the generator's
-- state saved and restored around the draw (as the shuffle does), so
-- train_eval's batches are exactly the first batches of train:batches(seed)
-- and the model's random numbers are never shifted by the data pipeline.
local dob = require "deepobs"
local file = require "datasets.formats.file"
local records = require "datasets.formats.records"
local tar = require "datasets.formats.tar"
local locate = require "datasets.pipeline.locate"
local split = require "datasets.pipeline.split"
local split_rule = require "datasets.pipeline.split_rule"

local M = {}

local function all_files(spec)
   local files = {}
   for _, f in ipairs(spec.train_files) do files[#files + 1] = f end
   for _, f in ipairs(spec.test_files) do files[#files + 1] = f end
   return files
end

-- where the data is: { kind = "files", dir = ... } or { kind = "archive", path = ... }, or nil + the
-- folder that held some files but not all (the search stops there: a damaged
-- download is not a reason to use another folder's copy)
local function locate_data(spec, dirs)
   local files, partial = all_files(spec), {}
   for _, d in ipairs(dirs) do
      local missing = {}
      for _, f in ipairs(files) do
         if not file.exists(d .. "/" .. f) then missing[#missing + 1] = f end
      end
      if #missing == 0 then return { kind = "files", dir = d } end
      if spec.archive and file.exists(d .. "/" .. spec.archive) then
         return { kind = "archive", path = d .. "/" .. spec.archive, dir = d }
      end
      if #missing < #files then
         partial[#partial + 1] = ("%s lacks %s"):format(d, table.concat(missing, ", "))
         return nil, partial
      end
   end
   return nil, partial
end

local function not_found(spec, dirs, partial)
   local msg = ("%s not found: expected the files\n  %s\n"):format(spec.title, table.concat(all_files(spec), "\n  "))
   if spec.archive then msg = msg .. ("or the archive %s\n"):format(spec.archive) end
   msg = msg .. ("in one of these folders:\n  %s\n"):format(table.concat(dirs, "\n  "))
   if #partial > 0 then msg = msg .. "Incomplete: " .. table.concat(partial, "; ") .. "\n" end
   msg = msg .. ("Download them with: scripts/prepare_data.sh %s\nor pass --data_dir DIR (the folder holding %s/).")
      :format(spec.name, spec.folder)
   error(msg, 0)
end

-- where the records come from: `count(f)`, file f's record count from its size alone
-- (checked: whole records, the expected count), and `read(f)`, its records uint8 [n, record]
-- (checked: labels in range). The archive's members are read at once (a tar.gz is one
-- stream); plain files one at a time, when asked for.
local function record_source(spec, where, opts)
   local fix = ("the file is truncated or not %s's, download it again with scripts/prepare_data.sh %s")
      :format(spec.title, spec.name)
   local members
   if where.kind == "archive" then
      members = tar.read_members(where.path, all_files(spec))
      local missing = {}
      for _, f in ipairs(all_files(spec)) do
         if not members[f] then missing[#missing + 1] = f end
      end
      if #missing > 0 then
         error(("%s: the archive lacks %s; it is not the official %s, download it again with "
            .. "scripts/prepare_data.sh %s"):format(where.path, table.concat(missing, ", "), spec.archive, spec.name), 0)
      end
   end
   local function path_of(f) return members and where.path .. ":" .. f or where.dir .. "/" .. f end
   local src = {}
   function src.count(f)
      local n = members and records.of_bytes(members[f], spec.record, path_of(f), fix):size(1)
         or records.count_file(path_of(f), spec.record, fix)
      if spec.records_per_file and not opts.any_size and n ~= spec.records_per_file then
         error(("%s: expected %d records of %d bytes, the file holds %d; it is truncated or not the official "
            .. "file, download it again with scripts/prepare_data.sh %s")
            :format(path_of(f), spec.records_per_file, spec.record, n, spec.name), 0)
      end
      return n
   end
   function src.read(f)
      local path, recs = path_of(f), nil
      if members then
         recs = records.of_bytes(members[f], spec.record, path, fix)
         members[f] = nil
      else
         recs = records.read(path, spec.record, fix)
      end
      for _, e in ipairs(spec.extra_labels or {}) do records.check_byte(recs, e[1], e[2], path, e[3], fix) end
      records.check_byte(recs, spec.label_offset, spec.classes, path, "label", fix)
      return recs
   end
   return src
end

-- The images and labels of several files' records: images uint8 [N,3,32,32], labels int64
-- [N]. Each file is read, checked, copied into its rows of the result and freed before the
-- next is read, so loading peaks near the data set plus one file.
local function decode(spec, src, files, image_offset)
   local n, counts = 0, {}
   for i, f in ipairs(files) do
      counts[i] = src.count(f)
      n = n + counts[i]
   end
   local x, y = dob.empty({ n, 3, 32, 32 }, "uint8"), dob.empty({ n }, "int64")
   local row = 1
   for i, f in ipairs(files) do
      local recs = src.read(f)
      local k = recs:size(1)
      if k ~= counts[i] then
         error(("%s: changed while being read (%d records, then %d); read it again when nothing writes it")
            :format(f, counts[i], k), 0)
      end
      -- copied straight from views of the records (no contiguous copy in between); a view
      -- holds the records' memory as recs does, so each is freed here, not at a collection
      local views = { recs:narrow(2, image_offset + 1, 3072), recs:select(2, spec.label_offset + 1) }
      if spec.layout == "hwc" then
         views[3] = views[1]:view(k, 32, 32, 3)
         views[4] = views[3]:permute(1, 4, 2, 3)
         x:narrow(1, row, k):copy_(views[4])
      else
         x:narrow(1, row, k):view(k, 3072):copy_(views[1])
      end
      y:narrow(1, row, k):copy_(views[2])
      row = row + k
      for _, v in ipairs(views) do v:free() end
      recs:free()
   end
   return x, y
end

--- Draws the 1.1 augmentation parameters for B images and applies them to
-- x (float32 [B,3,32,32], 0..255). flip: whether to draw and apply the flip.
function M.augment(x, flip)
   local B = x:size(1)
   local offsets = dob.empty({ B, 2 }, "int64"):random_(0, 5)
   local mask = flip and dob.empty(B):bernoulli_(0.5):byte() or nil
   local bright = dob.empty(B):uniform_(-63 / 255, 63 / 255)
   local sat = dob.empty(B):uniform_(0.5, 1.5)
   local con = dob.empty(B):uniform_(0.2, 1.8)
   x = x:pad_crop(2, 32, 32, offsets)
   if mask then x = x:flip_lr(mask) end
   return x:adjust_brightness(bright):adjust_saturation(sat):adjust_contrast(con):per_image_standardize()
end

-- engine seed for batch i of the pipeline shuffled with `seed`: a stream the
-- shuffles (seeds < 2^52) never use
local function batch_seed(seed, i)
   return 2 ^ 52 + (seed % 2 ^ 32) * 2 ^ 20 + i % 2 ^ 20
end
M.batch_seed = batch_seed

local function train_transform(flip)
   return function(batch, seed, i)
      local saved = dob.get_rng_state()
      dob.manual_seed(batch_seed(seed, i))
      local ok, x = pcall(M.augment, batch.x:float(), flip)
      dob.set_rng_state(saved)
      if not ok then error(x, 0) end
      batch.x = x
      return batch
   end
end

local function test_transform(batch)
   batch.x = batch.x:float():per_image_standardize()
   return batch
end

--- Loads a record data set. opts: data_dir, batch_size (128), train_eval_size,
-- seed (default shuffle seed, 42), any_size (accept other record counts: for
-- tests), deepobs_compat (spec.compat_image_offset and spec.limit_train say
-- what it changes), augment (default true), validation (hold out ds.valid, see above).
function M.load(spec, opts)
   opts = opts or {}
   local dirs = locate.search_dirs(opts.data_dir, spec.folder, spec.extra_dirs)
   local where, partial = locate_data(spec, dirs)
   if not where then not_found(spec, dirs, partial) end
   local src = record_source(spec, where, opts)
   local image_offset = spec.image_offset
   if opts.deepobs_compat and spec.compat_image_offset then image_offset = spec.compat_image_offset end
   local train_x, train_y = decode(spec, src, spec.train_files, image_offset)
   local test_x, test_y = decode(spec, src, spec.test_files, image_offset)
   src = nil
   if not opts.any_size then
      if spec.test_size and test_x:size(1) ~= spec.test_size then
         error(("%s: expected %d test images, the files hold %d; download them again with scripts/prepare_data.sh %s")
            :format(where.path or where.dir, spec.test_size, test_x:size(1), spec.name), 0)
      end
      if spec.train_sizes and not spec.train_sizes[train_x:size(1)] then
         error(("%s: the training files hold %d images, which is not %s's training set; download them again "
            .. "with scripts/prepare_data.sh %s"):format(where.path or where.dir, train_x:size(1), spec.title, spec.name), 0)
      end
   end
   if spec.limit_train then
      local n = spec.limit_train(opts, train_x:size(1))
      if n < train_x:size(1) then
         train_x, train_y = train_x:narrow(1, 1, n):contiguous(), train_y:narrow(1, 1, n):contiguous()
      end
   end
   local train_tf = opts.augment ~= false and train_transform(spec.flip) or test_transform
   local ds = split_rule.splits { kind = split.tensors, train = { x = train_x, y = train_y },
      test = { x = test_x, y = test_y }, batch_size = opts.batch_size or 128,
      train_eval_size = opts.train_eval_size or spec.train_eval_size, seed = opts.seed,
      validation = opts.validation, what = ("%s's training set (%s)"):format(spec.title, where.path or where.dir),
      transforms = { train = train_tf, eval = test_transform } }
   collectgarbage("collect")
   ds.name, ds.dir, ds.source = spec.name, where.dir, where.kind
   return ds
end

return M
