--- Food-101 (Bossard et al., "Food-101 -- Mining Discriminative Components
-- with Random Forests", ECCV 2014; loaded as torchvision's `Food101` does, for
-- the DeepOBS PyTorch fork's problems): 101 classes, 750 training and 250
-- test images per class (75,750 / 25,250).
--
--    local ds = require("datasets.food101").load { data_dir = nil, batch_size = 128, image_size = 224 }
--    batch.x: float32 [B, 3, T, T], standardised per image; batch.y: int64 [B], 0..100
--
-- Files: the ETH Zürich tarball extracted as <data_dir>/food-101/ with
-- images/<class>/<id>.jpg, meta/classes.txt (the 101 class names), meta/train.txt
-- and meta/test.txt (lines "<class>/<id>", no extension). Labels are the
-- positions in the sorted class list (torchvision: sorted(classes)).
--
-- Pipeline (T = image_size, 224 for VGG, 96 for ViT; resize R = int(T * 256 / 224):
-- 256 or 109): train: Resize(R) (shorter side) -> RandomCrop(T) ->
-- RandomHorizontalFlip -> [0,1] -> per-image standardisation with the unbiased
-- std and the floor 1/sqrt(numel) (the fork's version); test: Resize(R) ->
-- CenterCrop(T) -> same standardisation. Our resize is TF1 bilinear
-- (dob.resize_bilinear), not PIL's antialiased bilinear.
--
-- Splits (fork semantics, datasets/pipeline/split_rule.lua with train_eval =
-- "first_examples"): train shuffled per seed, drop remainder;
-- train_eval = the first train_eval_size (25,250) images of train.txt in file
-- order (torchvision's Subset(range(n)): as the file is grouped by class,
-- that is the first ~34 classes), with the training augmentation, drawn from
-- the default seed; test = test.txt in file order, drop remainder.
--
-- validation = true: the fork has no validation set and DeepOBS 1.2 has no
-- Food-101, so we follow 1.2's ImageNet rule (datasets/imagenet.lua): valid =
-- train_eval_size (25,250, the test set's size) images of train.txt drawn
-- with split_rule.VALID_SEED, the same for every run seed, in file order,
-- with the test pipeline; train = the other 50,500, shuffled and augmented as above;
-- train_eval = the first train_eval_size images of that reduced list.
local file = require "datasets.formats.file"
local folder = require "datasets.formats.folder"
local imf = require "datasets.pipeline.image_folder"
local locate = require "datasets.pipeline.locate"
local split_rule = require "datasets.pipeline.split_rule"

local M = {}

M.NUM_CLASSES = 101
M.TRAIN_SIZE, M.TEST_SIZE = 75750, 25250

local FETCH_SHORT = "download and extract it again with scripts/prepare_data.sh food101"
local FETCH = "Download and extract it with: scripts/prepare_data.sh food101  (about 5 GB)\n"
   .. "or pass --data_dir DIR (the folder holding food-101/)."

local function is_root(d) return file.exists(d .. "/meta/train.txt") and file.is_dir(d .. "/images") end

local function find_root(dirs)
   local root = locate.first(dirs, is_root)
   if root then return root end
   -- the tarball's own top folder one level further down
   root = locate.first(dirs, function(d) return is_root(d .. "/food-101") end)
   return root and root .. "/food-101"
end

local function read_split(root, which, class_index, check_files)
   local list = root .. "/meta/" .. which .. ".txt"
   local lines = folder.read_lines(list, FETCH_SHORT)
   if #lines == 0 then error(("%s lists no images; the file may be truncated: %s"):format(list, FETCH_SHORT), 0) end
   local paths, labels = {}, {}
   local missing, first_missing = 0, nil
   for i, line in ipairs(lines) do
      local cls = line:match("^([^/]+)/[^/]+$")
      if not cls or not class_index[cls] then
         error(("%s line %d: '%s' is not '<class>/<id>' with a class of meta/classes.txt; the file may be corrupt: %s")
            :format(list, i, line, FETCH_SHORT), 0)
      end
      local path = root .. "/images/" .. line .. ".jpg"
      if check_files then
         local kind = file.kind(path)
         if not kind then
            missing = missing + 1
            first_missing = first_missing or path
         elseif kind ~= "file" then
            file.check(path, "remove it and " .. FETCH_SHORT)
         end
      end
      paths[i] = path
      labels[i] = class_index[cls]
   end
   if missing > 0 then
      error(("Food-101: %d of the %d images listed in %s are missing (first: %s); the extraction may be incomplete.\n%s")
         :format(missing, #lines, list, first_missing, FETCH), 0)
   end
   return paths, labels
end

--- opts: data_dir, batch_size (128), image_size (224 or 96), train_eval_size
-- (25,250), seed (default shuffle seed, 42), validation (hold out ds.valid,
-- see above), any_size (accept other numbers of classes and images than the
-- real data set: for tests), check_files (default true: every listed image
-- must exist).
function M.load(opts)
   opts = opts or {}
   local dirs = locate.search_dirs(opts.data_dir, "food-101")
   local root = find_root(dirs)
   if not root then
      error(("Food-101 not found: expected images/<class>/<id>.jpg, meta/classes.txt, meta/train.txt and "
         .. "meta/test.txt in one of these folders:\n  %s\n%s"):format(table.concat(dirs, "\n  "), FETCH), 0)
   end
   local classes = folder.read_lines(root .. "/meta/classes.txt", FETCH_SHORT)
   table.sort(classes)
   if not opts.any_size and #classes ~= M.NUM_CLASSES then
      error(("%s/meta/classes.txt lists %d classes, Food-101 has %d; the file may be corrupt.\n%s")
         :format(root, #classes, M.NUM_CLASSES, FETCH), 0)
   end
   local class_index = {}
   for i, c in ipairs(classes) do
      if class_index[c] then
         error(("%s/meta/classes.txt lists the class %s twice; the file may be corrupt.\n%s"):format(root, c, FETCH), 0)
      end
      class_index[c] = i - 1
   end
   local check = opts.check_files ~= false
   local train_p, train_l = read_split(root, "train", class_index, check)
   local test_p, test_l = read_split(root, "test", class_index, check)
   if not opts.any_size and (#train_p ~= M.TRAIN_SIZE or #test_p ~= M.TEST_SIZE) then
      error(("%s/meta: train.txt lists %d images and test.txt %d, Food-101 has %d and %d; the files may be corrupt.\n%s")
         :format(root, #train_p, #test_p, M.TRAIN_SIZE, M.TEST_SIZE, FETCH), 0)
   end
   local T = opts.image_size or 224
   local R = math.floor(T * 256 / 224)
   local ds = split_rule.splits { kind = imf.kind { unbiased_std = true, fix = FETCH_SHORT }, train = { paths = train_p, labels = train_l },
      test = { paths = test_p, labels = test_l }, batch_size = opts.batch_size or 128,
      train_eval_size = opts.train_eval_size or M.TEST_SIZE, seed = opts.seed, validation = opts.validation,
      hold_out = "seeded", train_eval = "first_examples", what = root .. "/meta/train.txt",
      transforms = { train = imf.torch_transform(R, T, true), eval = imf.torch_transform(R, T, false) } }
   ds.name, ds.dir, ds.classes, ds.image_size, ds.resize = "food101", root, classes, T, R
   return ds
end

return M
