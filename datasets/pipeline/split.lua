--- Batching shared by every dataset: a split over in-memory tensors whose
-- first dim indexes the examples.
--
--    local split = require "datasets.pipeline.split"
--    local train = split.new { name = "train", tensors = { x = X, y = Y }, batch_size = 128, shuffle = true }
--    for batch in train:batches(seed) do ... batch.x, batch.y ... end
--    for batch in train:batches(seed, 100) do ... end   -- batches 100, 101, ... of batches(seed)
--    train.num_batches, train.batch_size, train.size
--
-- DeepOBS 1.1 semantics: batches of exactly batch_size (drop remainder).
-- shuffle = true: each call of batches(seed) visits the examples in the order
-- of a permutation drawn from `seed` (nil: the split's default_seed), so
-- batches(s) always gives the same batches for the same s. The permutation
-- comes from dob.randperm on a separately seeded engine RNG whose state is
-- saved and restored around the draw: the data order never consumes or
-- shifts the random numbers of the model (initialisation, dropout, VAE noise).
-- DeepOBS TF 1.1 re-ran the same seeded shuffle every epoch (same order each
-- epoch: the datasets in deepobs/tensorflow/datasets/ shuffle with a
-- fixed seed); pass seed + epoch for a fresh order per epoch.
-- shuffle = false: file order, seed ignored.
-- num_batches (optional) truncates to the first num_batches batches of that
-- order: train_eval is TF's `train.take(n)`, i.e. the first n batches of the
-- training order for the same seed.
--
-- Batches are gathered with index_select into fresh tensors; the iterator
-- yields { x = ..., y = ... } with the split's tensor names.
-- transform (optional): transform(batch, seed, i) returns the batch to yield;
-- seed is the shuffle seed in use (nil when not shuffled), i the 0-based
-- batch number, so per-batch augmentation can be seeded from (seed, i) and the
-- first batches of batches(s) are the same whatever num_batches is.
--
-- Resuming: batches(seed, start) yields exactly the batches start, start + 1,
-- ... of batches(seed), bit for bit (same examples, same transform draws),
-- producing only those; a run restarted at step s of an epoch continues with
-- batches(epoch_seed, s). Every split kind (datasets/pipeline/stream.lua,
-- datasets/pipeline/image_folder.lua) takes the same `start`, checked by check_start.
local dob = require "deepobs"

local M = {}

local Split = {}
Split.__index = Split

--- The number of whole batches of size bs among n examples (drop remainder), at
-- most num_batches; raises for a bad or too large bs.
function M.batch_count(name, n, bs, num_batches, what)
   if type(bs) ~= "number" or bs < 1 or bs % 1 ~= 0 then
      error(("batch size must be a positive integer, got %s"):format(tostring(bs)), 0)
   end
   local full = math.floor(n / bs)
   if full < 1 then
      error(("batch size %d is larger than the %s set (%d %s)"):format(bs, name or "?", n, what), 0)
   end
   return num_batches and math.min(num_batches, full) or full
end

--- The first batch index of batches(seed, start): start (default 0) must be an
-- integer in 0..nb (nb: the split yields nothing); raises at the caller of batches().
function M.check_start(name, start, nb)
   if start == nil then return 0 end
   if type(start) ~= "number" or start % 1 ~= 0 or start < 0 or start > nb then
      error(("%s: the first batch must be an integer from 0 to %d (the split's %d batches), got %s")
         :format(name or "split", nb, nb, tostring(start)), 3)
   end
   return start
end

function M.new(o)
   local names, n = {}, nil
   for k, t in pairs(o.tensors) do
      names[#names + 1] = k
      local len = t:size(1)
      if n and len ~= n then
         error(("split %s: tensors have different lengths (%d and %d)"):format(o.name or "?", n, len), 2)
      end
      n = len
   end
   table.sort(names)
   local bs = o.batch_size
   local nb = M.batch_count(o.name, n, bs, o.num_batches, "examples")
   return setmetatable({
      name = o.name, tensors = o.tensors, names = names, size = n, batch_size = bs,
      num_batches = nb, shuffle = o.shuffle and true or false, default_seed = o.default_seed or 42,
      transform = o.transform,
   }, Split)
end

--- The permutation (int64, 0-based) that batches(seed) uses; nil when not shuffled.
function Split:order(seed)
   if not self.shuffle then return nil end
   seed = seed or self.default_seed
   if type(seed) ~= "number" or seed < 0 or seed % 1 ~= 0 then
      error(("%s: shuffle seed must be a non-negative integer, got %s"):format(self.name or "split", tostring(seed)), 2)
   end
   local saved = dob.get_rng_state()
   dob.manual_seed(seed)
   local ok, perm = pcall(dob.randperm, self.size)
   dob.set_rng_state(saved)
   if not ok then error(perm, 0) end
   return perm
end

--- Iterator over the batches: for batch in split:batches(seed) do ... end;
-- batches(seed, start) begins at batch `start` (0-based) of that sequence.
function Split:batches(seed, start)
   local i = M.check_start(self.name, start, self.num_batches)
   local perm = self:order(seed)
   local bs, nb = self.batch_size, self.num_batches
   local names, tensors, transform = self.names, self.tensors, self.transform
   local used_seed = perm and (seed or self.default_seed) or nil
   return function()
      if i >= nb then return nil end
      local batch = {}
      if perm then
         local idx = perm:narrow(1, i * bs + 1, bs)
         for _, k in ipairs(names) do batch[k] = tensors[k]:index_select(1, idx) end
      else
         for _, k in ipairs(names) do batch[k] = tensors[k]:narrow(1, i * bs + 1, bs):clone() end
      end
      if transform then batch = transform(batch, used_seed, i) end
      i = i + 1
      return batch
   end
end

--- The kind of in-memory examples for datasets/pipeline/split_rule.lua:
-- a table name -> tensor, the first dims indexing the examples.
M.tensors = {
   unit = "examples",
   count = function(t)
      local names = {}
      for name in pairs(t) do names[#names + 1] = name end
      table.sort(names)
      return t[names[1]]:size(1)
   end,
   slice = function(t, first, n)
      local out = {}
      for name, v in pairs(t) do out[name] = v:narrow(1, first, n) end
      return out
   end,
   split = function(name, t, o)
      return M.new { name = name, tensors = t, batch_size = o.batch_size, shuffle = o.shuffle,
         default_seed = o.default_seed, num_batches = o.num_batches, transform = o.transform }
   end,
}

return M
