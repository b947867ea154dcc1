--- DeepOBS's rule for a dataset's splits, in one place: which examples train,
-- train_eval, valid and test visit, in what order, with which transform.
-- Every loader in datasets/ hands its training and test examples here.
--
--    local rule = require "datasets.pipeline.split_rule"
--    local s = rule.splits { kind = split.tensors, train = { x = X, y = Y }, test = { x = Xt, y = Yt },
--       batch_size = 128, train_eval_size = 10000, seed = nil, validation = false,
--       what = "MNIST's training set", transforms = { train = augment, eval = standardise } }
--    s.train, s.train_eval, s.test, s.valid (only with validation)
--
-- The rule (DeepOBS 1.1, deepobs/tensorflow/datasets/mnist.py and the other
-- files of that folder):
--   train       the training examples, shuffled by the seed, drop remainder,
--               with the training transform (augmentation);
--   train_eval  the first train_eval_size // batch_size batches of that same
--               shuffled, transformed training order (TF's train.take(n));
--   test        the test examples in file order, with the evaluation transform.
-- validation = true adds DeepOBS 1.2's valid split (deepobs/tensorflow/
-- datasets/mnist.py: `valid_data = data.take(train_eval_size)`, `train_data
-- = data.skip(train_eval_size)`): valid = train_eval_size examples held out of
-- the training set, in file order, with the evaluation transform, the same
-- for every seed; train and train_eval use the rest. The variants a dataset
-- may ask for:
--   hold_out = "first"   (default) the first train_eval_size examples;
--            = "seeded"  train_eval_size examples drawn with VALID_SEED,
--                        kept in file order (folders of images have no
--                        shuffled shards to take from: datasets/imagenet.lua);
--   valid = examples     a separate validation set, the training set kept
--                        whole (deepobs/tensorflow/datasets/quadratic.py, two_d.py);
--   train_eval = "first_examples"   the first train_eval_size training examples
--                        in file order, unshuffled, with the training
--                        transform (the PyTorch fork's Subset(range(n)):
--                        datasets/food101.lua).
--
-- A kind says how a dataset's examples are counted, cut and batched:
--   kind.unit                          "examples", "images", "characters" (for errors)
--   kind.count(ex)                     the number of examples
--   kind.slice(ex, first, n)           examples first .. first + n - 1 (1-based)
--   kind.pick(ex, held)                (the examples i with held[i], the others), in file order
--   kind.split(name, ex, o)            a split; o = { batch_size, shuffle, default_seed,
--                                      num_batches, transform }
--   kind.train_eval_batches(te, bs, validation)   (optional) the train_eval batch count
-- (split.tensors in datasets/pipeline/split.lua, image_folder.paths, stream.ids).
local ffi = require "ffi"
local dob = require "deepobs"

local M = {}

--- The seed of seeded hold-outs: the one DeepOBS 1.2 gives its own
-- validation draws (deepobs/tensorflow/datasets/quadratic.py, two_d.py).
M.VALID_SEED = 44

-- the train_eval_size examples to hold out must leave some to train on
local function check_size(o, n)
   local k = o.train_eval_size
   if type(k) ~= "number" or k < 1 or k % 1 ~= 0 or k >= n then
      error(("%s: cannot hold out %s of its %d %s for validation; give a train_eval_size from 1 to %d")
         :format(o.what, tostring(k), n, o.kind.unit, n - 1), 0)
   end
   return k
end

--- A selection of k of n examples drawn from the engine RNG seeded with
-- `seed` (its state saved and restored, so the model's draws never shift):
-- held[i] = true for the chosen 1-based indices.
function M.seeded_selection(n, k, seed)
   local saved = dob.get_rng_state()
   dob.manual_seed(seed)
   local ok, perm = pcall(dob.randperm, n)
   dob.set_rng_state(saved)
   if not ok then error(perm, 0) end
   local held, p = {}, ffi.cast("const int64_t *", perm:data())
   for j = 0, k - 1 do held[tonumber(p[j]) + 1] = true end
   return held
end

--- (valid, train) examples: the validation examples and what is left to train on.
function M.hold_out(o)
   local kind, train = o.kind, o.train
   if o.valid then return o.valid, train end
   local n = kind.count(train)
   local k = check_size(o, n)
   if (o.hold_out or "first") == "first" then
      return kind.slice(train, 1, k), kind.slice(train, k + 1, n - k)
   elseif o.hold_out == "seeded" then
      return kind.pick(train, M.seeded_selection(n, k, M.VALID_SEED))
   end
   error(("split_rule: hold_out must be 'first' or 'seeded', got %s"):format(tostring(o.hold_out)), 2)
end

--- The splits of a dataset (see the top of this file for o's fields).
function M.splits(o)
   local kind, bs, te = o.kind, o.batch_size, o.train_eval_size
   local transforms = o.transforms or {}
   local train, valid = o.train, nil
   if o.validation then valid, train = M.hold_out(o) end
   if type(te) ~= "number" or te < 0 or te % 1 ~= 0 then
      error(("%s: train_eval_size must be a non-negative integer, got %s"):format(o.what, tostring(te)), 0)
   end
   local function split(name, examples, opts)
      opts.batch_size = bs
      return kind.split(name, examples, opts)
   end
   local out = {}
   out.train = split("train", train, { shuffle = true, default_seed = o.seed, transform = transforms.train })
   if o.train_eval == "first_examples" then
      out.train_eval = split("train_eval", kind.slice(train, 1, math.min(te, kind.count(train))),
         { shuffle = false, default_seed = o.seed, transform = transforms.train })
   else
      local nb = kind.train_eval_batches and kind.train_eval_batches(te, bs, o.validation) or math.floor(te / bs)
      out.train_eval = split("train_eval", train,
         { shuffle = true, default_seed = o.seed, num_batches = nb, transform = transforms.train })
   end
   out.valid = valid and split("valid", valid, { shuffle = false, transform = transforms.eval }) or nil
   out.test = split("test", o.test, { shuffle = false, transform = transforms.eval })
   return out
end

return M
