-- The DeepOBS 1.2 validation split (opts.validation = true) of every dataset,
-- on small files in the official formats (spec/fixtures/data_files.lua; real
-- Fashion-MNIST where Debian's copy is installed): the sizes of valid, train
-- and train_eval; the validation examples are never in a training or
-- train_eval batch of several epochs; the validation batches are the same for
-- every seed and unaugmented; validation off leaves every split as it was.
local dob = require "deepobs"
local files = require "fixtures.data_files"
local fs = require "helpers.fs"
local split = require "datasets.pipeline.split"
local split_rule = require "datasets.pipeline.split_rule"
local stream = require "datasets.pipeline.stream"
local imf = require "datasets.pipeline.image_folder"
local mnist = require "datasets.mnist"
local fmnist = require "datasets.fmnist"
local cifar10 = require "datasets.cifar10"
local cifar100 = require "datasets.cifar100"
local svhn = require "datasets.svhn"
local imagenet = require "datasets.imagenet"
local food101 = require "datasets.food101"
local tolstoi = require "datasets.tolstoi"
local ptb = require "datasets.ptb"
local quadratic = require "datasets.quadratic"
local two_d = require "datasets.two_d"

local TMP = "spec/tmp_validation"
local EPOCH_SEEDS = { 42000, 42001, 42002 }

local function err_of(fn, ...)
   local ok, e = pcall(fn, ...)
   assert.is_false(ok, "expected an error")
   return tostring(e)
end

local function range(first, last)
   local t = {}
   for i = first, last do t[#t + 1] = i end
   return t
end

-- the example ids of every batch of split:batches(seed, ...), in order
local function ids_of(split_, ident, seed)
   local ids = {}
   for b in split_:batches(seed) do
      for _, id in ipairs(ident(b)) do ids[#ids + 1] = id end
   end
   return ids
end

-- tensors of the same shape and values (labels and ids are small: exact as float32)
local function equal(a, b)
   return a:dim() == b:dim() and table.concat(a:size(), "x") == table.concat(b:size(), "x")
      and (a:float() - b:float()):abs():max():item() == 0
end

local function same_batches(a, b)
   local ia, ib = a:batches(), b:batches()
   local n = 0
   while true do
      local x, y = ia(), ib()
      if x == nil or y == nil then
         assert.are.equal(x == nil, y == nil)
         return n
      end
      for k, t in pairs(x) do assert.is_true(equal(t, y[k]), k) end
      n = n + 1
   end
end

local function same_batches_for_seeds(split_, seeds)
   local first = {}
   for b in split_:batches() do first[#first + 1] = b end
   for _, s in ipairs(seeds) do
      local k = 0
      for b in split_:batches(s) do
         k = k + 1
         for name, t in pairs(b) do assert.is_true(equal(t, first[k][name]), name) end
      end
      assert.are.equal(#first, k)
   end
end

--- The checks shared by the take/skip datasets (MNIST, CIFAR, SVHN): the
-- first n_valid examples in file order are the validation set, the other
-- examples the training set; `ident` gives a batch's example ids.
local function check_take_skip(ds, ident, n_valid, n_all, bs)
   assert.are.equal("valid", ds.valid.name)
   assert.are.equal(n_valid, ds.valid.size)
   assert.are.equal(math.floor(n_valid / bs), ds.valid.num_batches)
   assert.are.equal(n_all - n_valid, ds.train.size)
   assert.are.equal(math.floor((n_all - n_valid) / bs), ds.train.num_batches)
   assert.are.equal(math.min(math.floor(n_valid / bs), ds.train.num_batches), ds.train_eval.num_batches)
   -- validation: file order, unshuffled, the same for every seed
   assert.are.same(range(0, ds.valid.num_batches * bs - 1), ids_of(ds.valid, ident))
   same_batches_for_seeds(ds.valid, { 1, 7, 123456 })
   -- training and train_eval batches of several epochs hold training examples only, each once per epoch
   for _, s in ipairs(EPOCH_SEEDS) do
      local seen = {}
      for _, id in ipairs(ids_of(ds.train, ident, s)) do
         assert.is_true(id >= n_valid and id < n_all, "training example " .. tostring(id))
         assert.is_nil(seen[id])
         seen[id] = true
      end
   end
   local te = ids_of(ds.train_eval, ident)
   assert.are.equal(ds.train_eval.num_batches * bs, #te)
   for _, id in ipairs(te) do assert.is_true(id >= n_valid and id < n_all, "train_eval example " .. tostring(id)) end
   -- train_eval is the first batches of the reduced training order for the run's seed
   local tr = ids_of(ds.train, ident)
   for k, id in ipairs(te) do assert.are.equal(tr[k], id) end
end

-- validation = false / nil / absent give the same splits as each other, no valid, the whole training set
local function check_off(load, opts, n_all)
   local function with(v)
      local o = {}
      for k, x in pairs(opts) do o[k] = x end
      o.validation = v
      return load(o)
   end
   local plain, off = with(nil), with(false)
   assert.is_nil(plain.valid); assert.is_nil(off.valid)
   assert.are.equal(n_all, plain.train.size)
   for _, name in ipairs { "train", "train_eval", "test" } do
      assert.are.equal(plain[name].num_batches, same_batches(plain[name], off[name]))
   end
   -- the test set is the same with validation on
   local on = with(true)
   assert.are.equal(plain.test.num_batches, same_batches(plain.test, on.test))
end

-- every bad hold-out size is a clear error naming train_eval_size
local function check_bad_sizes(load, opts, n_all)
   for _, te in ipairs { 0, -3, 2.5, n_all, n_all + 7, "8" } do
      local o = { validation = true, train_eval_size = te }
      for k, v in pairs(opts) do o[k] = v end
      local e = err_of(load, o)
      assert.truthy(e:find("for validation", 1, true) and e:find("train_eval_size", 1, true), e)
   end
end

setup(function() fs.rmrf(TMP); fs.mkdir(TMP) end)
teardown(function() fs.rmrf(TMP) end)

describe("MNIST / Fashion-MNIST validation (1.2 mnist.py: take / skip train_eval_size)", function()
   local D = TMP .. "/idx"
   local opts = { data_dir = D, batch_size = 4, train_eval_size = 8, any_size = true }
   setup(function() files.mnist(D .. "/mnist", 40, 12); files.mnist(D .. "/fmnist", 40, 12) end)

   local function ident(b) return files.mnist_ids(b.x) end

   it("holds out the first train_eval_size images, unshuffled; train and train_eval never see them", function()
      for _, mod in ipairs { mnist, fmnist } do
         local o = { validation = true }
         for k, v in pairs(opts) do o[k] = v end
         local ds = mod.load(o)
         check_take_skip(ds, ident, 8, 40, 4)
         assert.are.same({ 8, 1, 28, 28 }, ds.valid.tensors.x:size())
         assert.are.same(range(0, 7), files.mnist_ids(ds.valid.tensors.x))
         check_off(mod.load, opts, 40)
         check_bad_sizes(mod.load, { data_dir = D, batch_size = 4, any_size = true }, 40)
      end
   end)

   it("real Fashion-MNIST: 10,000 validation images, 50,000 to train on, as 1.2", function()
      local dir = fmnist.DEBIAN_DIR
      local probe = io.open(dir .. "/train-images-idx3-ubyte.gz", "rb")
      if probe then probe:close() else
         pending("Debian's Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)")
         return
      end
      local full = fmnist.load { data_dir = TMP .. "/none" }
      local ds = fmnist.load { data_dir = TMP .. "/none", validation = true }
      assert.are.equal(10000, ds.valid.size); assert.are.equal(78, ds.valid.num_batches)
      assert.are.equal(50000, ds.train.size); assert.are.equal(390, ds.train.num_batches)
      assert.are.equal(78, ds.train_eval.num_batches)
      local fx = full.train.tensors.x
      assert.are.equal(0, (ds.valid.tensors.x - fx:narrow(1, 1, 10000)):abs():max():item())
      assert.are.equal(0, (ds.train.tensors.x - fx:narrow(1, 10001, 50000)):abs():max():item())
      assert.is_true(equal(ds.valid.tensors.y, full.train.tensors.y:narrow(1, 1, 10000)))
   end)
end)

describe("CIFAR-10 / CIFAR-100 / SVHN validation (1.2 svhn.py: take / skip on the records)", function()
   local D = TMP .. "/rec"
   setup(function()
      files.cifar10(D .. "/cifar-10", 6, 7)
      files.cifar100(D .. "/cifar-100", 30, 7)
      files.svhn(D .. "/svhn", { 3, 4, 5, 6, 7 }, 9)
   end)

   local function base(extra)
      local o = { data_dir = D, batch_size = 4, any_size = true }
      for k, v in pairs(extra or {}) do o[k] = v end
      return o
   end

   it("CIFAR-10: valid = the first 12 records, standardised only; 18 augmented training records", function()
      local ds = cifar10.load(base { validation = true, train_eval_size = 12, augment = false, seed = 5 })
      check_take_skip(ds, function(b) return files.standardised_ids(b.x, 30) end, 12, 30, 4)
      -- the validation batches are the test pipeline on the held-out images, also with augmentation on
      local aug = cifar10.load(base { validation = true, train_eval_size = 12, seed = 5 })
      assert.are.equal(3, same_batches(ds.valid, aug.valid))
      local want = files.images(0, 4):float():per_image_standardize()
      assert.are.equal(0, (aug.valid:batches()().x - want):abs():max():item())
      -- augmented training visits the same examples (the order does not depend on the augmentation)
      for _, s in ipairs(EPOCH_SEEDS) do assert.are.same(ds.train:order(s):totable(), aug.train:order(s):totable()) end
      check_off(cifar10.load, base { train_eval_size = 12 }, 30)
      check_bad_sizes(cifar10.load, base(), 30)
   end)

   it("CIFAR-100: the fine labels (here unique) show augmented training batches never hold a validation image", function()
      local ds = cifar100.load(base { validation = true, train_eval_size = 10 })
      local function labels(b) return b.y:totable() end
      check_take_skip(ds, labels, 10, 30, 4)
      check_off(cifar100.load, base { train_eval_size = 10 }, 30)
      check_bad_sizes(cifar100.load, base(), 30)
   end)

   it("SVHN: the first 9 of 25 records over uneven files; with deepobs_compat, of the first 20", function()
      local ds = svhn.load(base { validation = true, train_eval_size = 9, augment = false })
      check_take_skip(ds, function(b) return files.standardised_ids(b.x, 25) end, 9, 25, 4)
      local compat = svhn.load(base { validation = true, train_eval_size = 9, augment = false, deepobs_compat = true,
         compat_train_size = 20 })
      check_take_skip(compat, function(b) return files.standardised_ids(b.x, 20) end, 9, 20, 4)
      check_off(svhn.load, base { train_eval_size = 9 }, 25)
      check_bad_sizes(svhn.load, base(), 25)
   end)
end)

describe("ImageNet / Food-101 validation (a fixed seeded selection of training images)", function()
   local D = TMP .. "/img"
   setup(function()
      files.imagenet(D .. "/imagenet", 2, 6, 2)
      files.food101(D .. "/food-101", 2, 6, 2)
   end)

   local function set_of(list)
      local s = {}
      for _, v in ipairs(list) do s[v] = true end
      return s
   end

   -- valid and train partition the training images, both keep the original order
   local function check_partition(ds, all_paths, n_valid)
      local valid, train = ds.valid.paths, ds.train.paths
      assert.are.equal(n_valid, #valid)
      assert.are.equal(#all_paths - n_valid, #train)
      local in_valid, pos = set_of(valid), {}
      for _, p in ipairs(train) do assert.is_nil(in_valid[p], p) end
      for i, p in ipairs(all_paths) do pos[p] = i end
      for _, list in ipairs { valid, train } do
         for k = 2, #list do assert.is_true(pos[list[k - 1]] < pos[list[k]]) end
      end
   end

   -- every training batch of several epochs comes from the training images: the labels of each batch
   -- are those of train.paths in the split's order, and that order indexes train.paths
   local function check_training_batches(ds, label_of)
      for _, s in ipairs(EPOCH_SEEDS) do
         local order = ds.train:order(s):totable()
         local k = 0
         for b in ds.train:batches(s) do
            for _, y in ipairs(b.y:totable()) do
               k = k + 1
               assert.are.equal(label_of(ds.train.paths[order[k] + 1]), y)
            end
         end
         assert.are.equal(ds.train.num_batches * ds.train.batch_size, k)
      end
   end

   it("ImageNet: 4 of 12 training images held out, the same for every run seed, evaluated like the test set", function()
      local opts = { data_dir = D, batch_size = 2, any_size = true, train_eval_size = 4 }
      local full = imagenet.load(opts)
      local ds = imagenet.load { data_dir = D, batch_size = 2, any_size = true, train_eval_size = 4, validation = true,
         seed = 3 }
      check_partition(ds, full.train.paths, 4)
      assert.are.equal(2, ds.valid.num_batches); assert.are.equal(4, ds.train.num_batches)
      assert.are.equal(2, ds.train_eval.num_batches)
      assert.are.same(ds.train.paths, ds.train_eval.paths)
      local other = imagenet.load { data_dir = D, batch_size = 2, any_size = true, train_eval_size = 4, validation = true,
         seed = 99 }
      assert.are.same(ds.valid.paths, other.valid.paths)
      same_batches_for_seeds(ds.valid, { 1, 99 })
      -- a validation batch is the eval pipeline (centre crop, no flip) of its files
      local tf = imf.tf_imagenet_transform(256, 224, false)
      local b = ds.valid:batches()()
      local want = dob.standardize_images(dob.stack({ tf(dob.read_jpeg(ds.valid.paths[1])), tf(dob.read_jpeg(ds.valid.paths[2])) }, 1), false)
      assert.are.equal(0, (b.x - want):abs():max():item())
      check_training_batches(ds, function(p) return tonumber(p:match("/n(%d+)/")) end)
      check_off(imagenet.load, opts, 12)
      check_bad_sizes(imagenet.load, { data_dir = D, batch_size = 2, any_size = true }, 12)
   end)

   it("Food-101: 4 of 12 train.txt images held out; train_eval = the first images of the reduced list", function()
      local opts = { data_dir = D, batch_size = 2, any_size = true, image_size = 32, train_eval_size = 4 }
      local full = food101.load(opts)
      local o = { validation = true }
      for k, v in pairs(opts) do o[k] = v end
      local ds = food101.load(o)
      check_partition(ds, full.train.paths, 4)
      assert.are.equal(2, ds.valid.num_batches); assert.are.equal(4, ds.train.num_batches)
      assert.are.same({ ds.train.paths[1], ds.train.paths[2], ds.train.paths[3], ds.train.paths[4] }, ds.train_eval.paths)
      o.seed = 77
      assert.are.same(ds.valid.paths, food101.load(o).valid.paths)
      same_batches_for_seeds(ds.valid, { 5, 77 })
      local tf = imf.torch_transform(36, 32, false)
      local b = ds.valid:batches()()
      local want = dob.standardize_images(dob.stack({ tf(dob.read_jpeg(ds.valid.paths[1])), tf(dob.read_jpeg(ds.valid.paths[2])) }, 1), true)
      assert.are.equal(0, (b.x - want):abs():max():item())
      check_training_batches(ds, function(p) return tonumber(p:match("/c(%d+)/")) - 1 end)
      check_off(food101.load, opts, 12)
      check_bad_sizes(food101.load, { data_dir = D, batch_size = 2, any_size = true, image_size = 32 }, 12)
   end)
end)

describe("Tolstoi / PTB validation (1.2 tolstoi.py: the first train_eval_size characters)", function()
   local D = TMP .. "/text"
   local train_text
   setup(function()
      files.tolstoi(D .. "/tolstoi", 205, 51)
      train_text = files.ptb(D .. "/penn_treebank", 1000, 400)
   end)

   -- every id in a batch (x and y) is a position in train.npy
   local function positions(b)
      local t = {}
      for _, m in ipairs { b.x, b.y } do
         for _, row in ipairs(m:totable()) do for _, v in ipairs(row) do t[#t + 1] = v end end
      end
      return t
   end

   it("Tolstoi: valid = characters 0..44, train = 45..204; train_eval = 45 // (B L) batches of that train", function()
      local opts = { data_dir = D, batch_size = 2, seq_length = 10, vocab_size = 1000, train_eval_size = 45 }
      local o = { validation = true }
      for k, v in pairs(opts) do o[k] = v end
      local ds = tolstoi.load(o)
      assert.are.equal("valid", ds.valid.name)
      assert.are.equal(45, ds.valid.size); assert.are.equal(2, ds.valid.num_batches)     -- (45 - 1) // 20
      assert.are.equal(160, ds.train.size); assert.are.equal(7, ds.train.num_batches)    -- (160 - 1) // 20
      assert.are.equal(2, ds.train_eval.num_batches)                                      -- 45 // 20
      local vb = ds.valid:batches()()
      assert.are.same({ { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9 }, { 20, 21, 22, 23, 24, 25, 26, 27, 28, 29 } }, vb.x:totable())
      for _, id in ipairs(ids_of(ds.valid, positions)) do assert.is_true(id < 45) end
      same_batches_for_seeds(ds.valid, { 3, 4 })
      for _, s in ipairs(EPOCH_SEEDS) do
         for _, id in ipairs(ids_of(ds.train, positions, s)) do assert.is_true(id >= 45 and id < 205) end
      end
      assert.are.equal(45, ds.train:batches()().x:get(1, 1))
      local tr, te = ids_of(ds.train, positions), ids_of(ds.train_eval, positions)
      for k, id in ipairs(te) do assert.are.equal(tr[k], id) end
      check_off(tolstoi.load, opts, 205)
      check_bad_sizes(tolstoi.load, { data_dir = D, batch_size = 2, seq_length = 10, vocab_size = 1000 }, 205)
   end)

   it("PTB: valid = the first test-length (400) characters of ptb.train.txt, train = the other 600", function()
      local ds = ptb.load { data_dir = D, batch_size = 3, seq_length = 50, validation = true }
      assert.are.equal(400, ds.valid.size); assert.are.equal(2, ds.valid.num_batches)   -- 399 // 150
      assert.are.equal(600, ds.train.size); assert.are.equal(3, ds.train.num_batches)   -- 599 // 150
      assert.are.equal(2, ds.train_eval.num_batches)                                     -- 400 // 150
      local function decode(row)
         local s = {}
         for t, id in ipairs(row) do s[t] = string.char(ds.vocab[id + 1]) end
         return table.concat(s)
      end
      -- row 2 of a stream of nb batches starts nb L characters into its text
      assert.are.equal(train_text:sub(1, 50), decode(ds.valid:batches()().x:totable()[1]))
      assert.are.equal(train_text:sub(101, 150), decode(ds.valid:batches()().x:totable()[2]))
      assert.are.equal(train_text:sub(401, 450), decode(ds.train:batches()().x:totable()[1]))
      assert.are.equal(train_text:sub(551, 600), decode(ds.train:batches()().x:totable()[2]))
      check_off(ptb.load, { data_dir = D, batch_size = 3, seq_length = 50 }, 1000)
      check_bad_sizes(ptb.load, { data_dir = D, batch_size = 3, seq_length = 50 }, 1000)
   end)
end)

describe("quadratic / 2-D validation (1.2: fresh RandomState(44) draws, the training set unchanged)", function()
   -- no example of `b` occurs in `a`; an example is keyed by two of its float32 numbers (one alone
   -- collides by chance among 10,000 normal draws)
   local function disjoint(a, b, key)
      local seen = {}
      for i = 1, a.x:size(1) do seen[key(a, i)] = true end
      for i = 1, b.x:size(1) do assert.is_nil(seen[key(b, i)]) end
   end
   local function row_key(t, i) return t.x:get(i, 1) .. "," .. t.x:get(i, 2) end
   local function pair_key(t, i) return t.x:get(i) .. "," .. t.y:get(i) end

   it("quadratic: 1,000 points from RandomState(44), file order; train and train_eval as without validation", function()
      local ds = quadratic.load { validation = true, seed = 3 }
      local want = quadratic.draw(44, 1000, 100, 0.6)
      assert.are.equal(0, (ds.valid.tensors.x - want):abs():max():item())
      assert.are.equal(7, ds.valid.num_batches)
      assert.are.equal(0, (ds.valid:batches()().x - want:narrow(1, 1, 128)):abs():max():item())
      same_batches_for_seeds(ds.valid, { 1, 2 })
      disjoint(ds.train.tensors, ds.valid.tensors, row_key)
      local off = quadratic.load { seed = 3 }
      for _, name in ipairs { "train", "train_eval", "test" } do
         assert.are.equal(off[name].num_batches, same_batches(off[name], ds[name]))
      end
      assert.is_nil(off.valid)
   end)

   it("2-D: 10,000 pairs from RandomState(44), x then y; train and train_eval as without validation", function()
      local ds = two_d.load { validation = true }
      local rng = require("deepobs.mt19937")(44)
      for i = 1, 3 do assert.are.equal(ds.valid.tensors.x:get(i), dob.tensor({ rng:normal(0, 1) }):get(1)) end
      local rng2 = require("deepobs.mt19937")(44)
      for _ = 1, 10000 do rng2:normal(0, 1) end
      assert.are.equal(ds.valid.tensors.y:get(1), dob.tensor({ rng2:normal(0, 1) }):get(1))
      assert.are.equal(78, ds.valid.num_batches)
      same_batches_for_seeds(ds.valid, { 1, 2 })
      disjoint(ds.train.tensors, ds.valid.tensors, pair_key)
      local off = two_d.load {}
      for _, name in ipairs { "train", "train_eval", "test" } do
         assert.are.equal(off[name].num_batches, same_batches(off[name], ds[name]))
      end
      assert.is_nil(off.valid)
   end)
end)

describe("the split rule (datasets/pipeline/split_rule.lua), for every kind of examples", function()
   -- ten examples of each kind whose ids are their positions 0..9
   local function tensors(first, n) return { x = dob.tensor(range(first, first + n - 1)) } end
   local function paths(first, n)
      local ex = { paths = {}, labels = {} }
      for i = first, first + n - 1 do ex.paths[#ex.paths + 1], ex.labels[#ex.labels + 1] = ("img%d"):format(i), i end
      return ex
   end
   local function chars(first, n) return { ids = dob.tensor(range(first, first + n - 1)):long(), path = "t.npy" } end
   local kinds = {
      { "tensors", split.tensors, tensors, function(ex) return ex.x:totable() end },
      { "image lists", imf.kind {}, paths, function(ex) return ex.labels end },
      { "character streams", stream.kind(2), chars, function(ex) return ex.ids:totable() end },
   }
   local function rule(kind, make, o)
      local base = { kind = kind, train = make(0, 10), test = make(100, 5), batch_size = 1, train_eval_size = 3,
         what = "the set" }
      for k, v in pairs(o or {}) do base[k] = v end
      return base
   end

   it("hold_out: the first k in file order, or a seeded pick fixed by VALID_SEED, or a separate set", function()
      for _, c in ipairs(kinds) do
         local name, kind, make, ids = c[1], c[2], c[3], c[4]
         local valid, train = split_rule.hold_out(rule(kind, make))
         assert.are.same({ 0, 1, 2 }, ids(valid), name)
         assert.are.same(range(3, 9), ids(train), name)
         local given = make(50, 4)
         valid, train = split_rule.hold_out(rule(kind, make, { valid = given }))
         assert.are.same(range(50, 53), ids(valid), name)
         assert.are.same(range(0, 9), ids(train), name)
         for _, k in ipairs { 0, 10, 11, -1, 1.5, "3" } do
            local e = err_of(split_rule.hold_out, rule(kind, make, { train_eval_size = k }))
            assert.truthy(e:find("the set: cannot hold out", 1, true) and e:find("from 1 to 9", 1, true), e)
         end
      end
      -- the seeded pick: k of n, in file order, the same whatever the engine RNG's state, disjoint and complete
      local held = split_rule.seeded_selection(10, 4, split_rule.VALID_SEED)
      local want = {}
      for i = 1, 10 do if held[i] then want[#want + 1] = i - 1 end end
      assert.are.equal(4, #want)
      dob.manual_seed(123)
      local before = dob.rand(3):totable()
      dob.manual_seed(123)
      local valid, train = split_rule.hold_out(rule(imf.kind {}, paths, { train_eval_size = 4, hold_out = "seeded" }))
      assert.are.same(before, dob.rand(3):totable())   -- the model's random numbers are left alone
      assert.are.same(want, valid.labels)
      local all = {}
      for _, v in ipairs(valid.labels) do all[v] = "valid" end
      for _, v in ipairs(train.labels) do assert.is_nil(all[v]); all[v] = "train" end
      for i = 0, 9 do assert.truthy(all[i]) end
      for k = 2, #train.labels do assert.is_true(train.labels[k] > train.labels[k - 1]) end
   end)

   it("splits: train_eval = the first batches of train's order, test in file order, valid only with validation", function()
      for _, bs in ipairs { 1, 2, 3 } do
         for _, validation in ipairs { false, true } do
            local s = split_rule.splits(rule(split.tensors, tensors, { batch_size = bs, validation = validation,
               train_eval_size = 3, seed = 5 }))
            local n_train = validation and 7 or 10
            assert.are.equal(n_train, s.train.size)
            assert.are.equal(math.floor(n_train / bs), s.train.num_batches)
            assert.are.equal(math.floor(3 / bs), s.train_eval.num_batches)
            assert.are.equal(validation, s.valid ~= nil)
            local tr, te = {}, {}
            for b in s.train:batches() do for _, v in ipairs(b.x:totable()) do tr[#tr + 1] = v end end
            for b in s.train_eval:batches() do for _, v in ipairs(b.x:totable()) do te[#te + 1] = v end end
            for k, v in ipairs(te) do assert.are.equal(tr[k], v) end
            local test = {}
            for b in s.test:batches(99) do for _, v in ipairs(b.x:totable()) do test[#test + 1] = v end end
            assert.are.same(range(100, 100 + math.floor(5 / bs) * bs - 1), test)
         end
      end
      -- train_eval = "first_examples": the first train_eval_size training examples, unshuffled
      local s = split_rule.splits(rule(imf.kind {}, paths, { batch_size = 2, train_eval = "first_examples",
         train_eval_size = 5, transforms = { train = function() end, eval = function() end } }))
      assert.are.same({ 0, 1, 2, 3, 4 }, s.train_eval.labels)
      assert.are.equal(2, s.train_eval.num_batches)
      -- streams count train_eval in sequences of 1.1 (te // B), in characters with validation (te // (B L))
      s = split_rule.splits(rule(stream.kind(2), chars, { batch_size = 1, train_eval_size = 4 }))
      assert.are.equal(4, s.train_eval.num_batches)
      s = split_rule.splits(rule(stream.kind(2), chars, { batch_size = 1, train_eval_size = 4, validation = true }))
      assert.are.equal(2, s.train_eval.num_batches)
      for _, te in ipairs { -1, 1.5, "3" } do
         local e = err_of(split_rule.splits, rule(split.tensors, tensors, { train_eval_size = te }))
         assert.truthy(e:find("the set: train_eval_size must be a non-negative integer", 1, true), e)
      end
   end)
end)
