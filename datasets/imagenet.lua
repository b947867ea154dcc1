--- ImageNet (ILSVRC-2012; DeepOBS 1.1, deepobs/tensorflow/datasets/imagenet.py),
-- read from the torchvision folder layout that the PyTorch fork uses:
--
--    <data_dir>/imagenet/train/<wnid>/*.JPEG     (1,281,167 images)
--    <data_dir>/imagenet/val/<wnid>/*.JPEG       (50,000 images)
--
--    local ds = require("datasets.imagenet").load { data_dir = nil, batch_size = 128 }
--    batch.x: float32 [B, 3, 224, 224], standardised per image; batch.y: int64 [B], 1..1000
--
-- Labels are TF 1.1's: classes = the sorted wnids, label = position + 1, with
-- 0 kept for "background", so the models have 1001 outputs.
--
-- Pipeline (TF 1.1): decode -> [0,1] (x * 1/255) -> aspect-preserving
-- bilinear resize, smaller side 256 (size = rint(float32 scale * side)) ->
-- train: centre crop/pad 256x256, random 224x224 crop, random left-right
-- flip; eval: centre crop/pad straight to 224x224 -> per-image
-- standardisation (TF: population std, floor 1/sqrt(numel)). Colour
-- distortion is off in 1.1 (distort_color = False), so there is none here.
--
-- Splits (datasets/pipeline/split_rule.lua): train shuffled per seed, drop remainder; train_eval = the first
-- train_eval_size // B (50,000 // B) batches of the training pipeline for the
-- run's seed (TF's train.take(n)); test = val, in folder order (sorted
-- wnid, sorted file name), drop remainder.
--
-- validation = true: DeepOBS 1.2 (deepobs/tensorflow/datasets/imagenet.py)
-- takes the first train_eval_size (50,000) records of the training shards
-- after shuffling the shard list, evaluated like the test set (centre crop,
-- unshuffled), and trains on the rest. A folder has no shards and its first
-- 50,000 files are ~39 whole classes, so valid = 50,000 training images drawn
-- with split_rule.VALID_SEED (hold_out = "seeded": the same images for every
-- run seed, about 39 of each class), in folder order, with the eval pipeline;
-- train = the other 1,231,167, shuffled and augmented as above; train_eval =
-- the first 50,000 // B batches of that reduced training pipeline.
local file = require "datasets.formats.file"
local folder = require "datasets.formats.folder"
local imf = require "datasets.pipeline.image_folder"
local locate = require "datasets.pipeline.locate"
local split_rule = require "datasets.pipeline.split_rule"

local M = {}

M.NUM_CLASSES = 1000

local FETCH = "ImageNet cannot be downloaded automatically (it needs an image-net.org account): put\n"
   .. "ILSVRC2012_img_train.tar and ILSVRC2012_img_val.tar in <data_dir>/imagenet/ and run\n"
   .. "scripts/prepare_data.sh imagenet  to lay them out as train/<wnid>/ and val/<wnid>/;\n"
   .. "or pass --data_dir DIR (the folder holding imagenet/)."

local FIX = "extract the data set again with scripts/prepare_data.sh imagenet"

local function is_jpeg_name(name)
   local ext = name:match("%.([^.]+)$")
   return ext and (ext:lower() == "jpeg" or ext:lower() == "jpg")
end

local function find_root(dirs)
   return locate.first(dirs, function(d) return file.is_dir(d .. "/train") and file.is_dir(d .. "/val") end)
end

-- the class folders (wnids) of a split folder, sorted
local function class_folders(dir)
   local names, kinds = folder.list(dir)
   if not names then error(("%s: cannot list the class folders (%s).\n%s"):format(dir, kinds, FETCH), 0) end
   local wnids = {}
   for _, n in ipairs(names) do
      if kinds[n] == "directory" then wnids[#wnids + 1] = n end
   end
   return wnids
end

-- paths and labels of one split folder; labels from `class_index` (wnid -> label).
-- An entry with a JPEG name must be a regular file (a FIFO would block the decoder).
local function scan(dir, class_index)
   local paths, labels = {}, {}
   for _, w in ipairs(class_folders(dir)) do
      local label = class_index[w]
      if not label then
         error(("%s/%s: class folder not among the training classes; the layout may be wrong.\n%s")
            :format(dir, w, FETCH), 0)
      end
      local names, kinds = folder.list(dir .. "/" .. w)
      if not names then error(("%s/%s: cannot list the images (%s)"):format(dir, w, kinds), 0) end
      for _, f in ipairs(names) do
         if is_jpeg_name(f) then
            local path = dir .. "/" .. w .. "/" .. f
            if kinds[f] ~= "file" then
               file.check(path, "remove it or replace it with the image; the extraction may be damaged: " .. FIX)
            end
            paths[#paths + 1] = path
            labels[#labels + 1] = label
         end
      end
   end
   return paths, labels
end

--- opts: data_dir, batch_size (128), train_eval_size (50,000), seed (the
-- shuffle seed train_eval is taken from; 42), validation (hold out ds.valid,
-- see above), any_size (accept other numbers of classes than 1000: for tests).
function M.load(opts)
   opts = opts or {}
   local dirs = locate.search_dirs(opts.data_dir, "imagenet")
   local root = find_root(dirs)
   if not root then
      error(("ImageNet not found: expected train/<wnid>/*.JPEG and val/<wnid>/*.JPEG in one of these folders:\n  %s\n%s")
         :format(table.concat(dirs, "\n  "), FETCH), 0)
   end
   local wnids = class_folders(root .. "/train")
   if not opts.any_size and #wnids ~= M.NUM_CLASSES then
      error(("%s/train holds %d class folders, ImageNet has %d; the extraction may be incomplete.\n%s")
         :format(root, #wnids, M.NUM_CLASSES, FETCH), 0)
   end
   local class_index = {}
   for i, w in ipairs(wnids) do class_index[w] = i end   -- 0 = background (TF 1.1)
   local train_p, train_l = scan(root .. "/train", class_index)
   local test_p, test_l = scan(root .. "/val", class_index)
   if #train_p == 0 or #test_p == 0 then
      error(("ImageNet: no JPEG files under %s/train or %s/val.\n%s"):format(root, root, FETCH), 0)
   end
   local ds = split_rule.splits { kind = imf.kind { fix = FIX }, train = { paths = train_p, labels = train_l },
      test = { paths = test_p, labels = test_l }, batch_size = opts.batch_size or 128,
      train_eval_size = opts.train_eval_size or 50000, seed = opts.seed, validation = opts.validation,
      hold_out = "seeded", what = root .. "/train",
      transforms = { train = imf.tf_imagenet_transform(256, 224, true), eval = imf.tf_imagenet_transform(256, 224, false) } }
   ds.name, ds.dir, ds.classes, ds.num_outputs = "imagenet", root, wnids, #wnids + 1
   return ds
end

return M
