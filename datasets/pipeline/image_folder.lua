--- Splits over folders of JPEG files (ImageNet, Food-101): the images are
-- decoded batch by batch, never held in memory as a whole.
--
--    local imf = require "datasets.pipeline.image_folder"
--    local s = imf.new_split { name = "train", paths = {...}, labels = {...}, batch_size = 128,
--       shuffle = true, default_seed = 42, num_batches = nil,
--       transform = function(img_u8, u1, u2, u3) return float_chw end,   -- uniforms in [0,1)
--       unbiased_std = false, fix = "extract it again with scripts/prepare_data.sh imagenet" }
--    for batch in s:batches(seed) do batch.x [B,3,h,w] float32, batch.y [B] int64 end
--    for batch in s:batches(seed, 10) do ... end   -- batches 10, 11, ... of batches(seed)
--
-- The same interface as datasets/pipeline/split.lua (num_batches, batch_size, size,
-- batches(seed, start), order(seed)), and the same randomness rules: the shuffle and
-- the augmentation draws (three uniforms per visited example: crop row, crop
-- column, flip) come from the engine RNG seeded with the batches() seed, with
-- its state saved and restored around the draw, so the data never shifts the
-- model's random numbers and the same seed gives the same batches. A batch's
-- files are decoded in parallel (dob.read_jpegs: one file per thread), then
-- transformed one by one and standardised per image (dob.standardize_images).
-- batches(seed, start) draws the whole epoch's order and uniforms (cheap) but
-- decodes only the batches from `start` on.
local ffi = require "ffi"
local dob = require "deepobs"
local errors = require "deepobs.errors"
local file = require "datasets.formats.file"
local split = require "datasets.pipeline.split"

local M = {}

local Split = {}
Split.__index = Split

function M.new_split(o)
   local n = #o.paths
   if #o.labels ~= n then error(("split %s: %d paths but %d labels"):format(o.name, n, #o.labels), 2) end
   local bs = o.batch_size
   local nb = split.batch_count(o.name, n, bs, o.num_batches, "images")
   return setmetatable({
      name = o.name, paths = o.paths, labels = o.labels, size = n, batch_size = bs, num_batches = nb,
      shuffle = o.shuffle and true or false, default_seed = o.default_seed or 42,
      transform = o.transform, unbiased_std = o.unbiased_std and true or false,
      fix = o.fix or "extract the data set again",
   }, Split)
end

-- the visiting order (Lua array of 1-based indices) and the augmentation
-- uniforms (float32 [visited, 3]) for `seed`
function Split:draw(seed)
   seed = seed or self.default_seed
   if type(seed) ~= "number" or seed < 0 or seed % 1 ~= 0 then
      error(("%s: shuffle seed must be a non-negative integer, got %s"):format(self.name or "split", tostring(seed)), 3)
   end
   local visited = self.num_batches * self.batch_size
   local saved = dob.get_rng_state()
   dob.manual_seed(seed)
   local ok, perm, u = pcall(function()
      local p = self.shuffle and dob.randperm(self.size) or nil
      return p, dob.rand(visited, 3)
   end)
   dob.set_rng_state(saved)
   if not ok then error(perm, 0) end
   local order = {}
   if perm then
      local pp = ffi.cast("int64_t*", perm:data())
      for i = 1, visited do order[i] = tonumber(pp[i - 1]) + 1 end
   else
      for i = 1, visited do order[i] = i end
   end
   return order, u
end

--- The permutation (int64, 0-based) of the visiting order; nil when not shuffled.
function Split:order(seed)
   if not self.shuffle then return nil end
   local order = self:draw(seed)
   local t = dob.empty({ #order }, "int64")
   local p = ffi.cast("int64_t*", t:data())
   for i, v in ipairs(order) do p[i - 1] = v - 1 end
   return t
end

function Split:batches(seed, start)
   local i = split.check_start(self.name, start, self.num_batches)
   local order, u = self:draw(seed)
   local bs, nb = self.batch_size, self.num_batches
   return function()
      if i >= nb then return nil end
      -- cast on every call, so that the closure holds u itself: a pointer alone does not
      -- keep a tensor alive, and the collector would free u under it
      local pu = ffi.cast("float*", u:data())
      local xs, ys, paths = {}, dob.empty({ bs }, "int64"), {}
      local py = ffi.cast("int64_t*", ys:data())
      for j = 1, bs do
         local k = order[i * bs + j]
         paths[j] = self.paths[k]
         py[j - 1] = self.labels[k]
      end
      for j = 1, bs do file.check(paths[j], "the image folder is damaged: " .. self.fix) end
      local ok, imgs = pcall(dob.read_jpegs, paths)   -- decoded in parallel
      if not ok then error(("%s; %s"):format(errors.clean(imgs), self.fix), 0) end
      for j = 1, bs do
         local q = 3 * (i * bs + j - 1)
         xs[j] = self.transform(imgs[j], pu[q], pu[q + 1], pu[q + 2])
         imgs[j] = nil
      end
      i = i + 1
      local x = dob.standardize_images(dob.stack(xs, 1), self.unbiased_std)
      return { x = x, y = ys }
   end
end

--- The kind of image lists for datasets/pipeline/split_rule.lua: examples
-- are { paths = {...}, labels = {...} }; o.unbiased_std and o.fix as for new_split.
function M.kind(o)
   local function subset(ex, keep)
      local out = { paths = {}, labels = {} }
      for i = 1, #ex.paths do
         if keep(i) then
            out.paths[#out.paths + 1], out.labels[#out.labels + 1] = ex.paths[i], ex.labels[i]
         end
      end
      return out
   end
   return {
      unit = "images",
      count = function(ex) return #ex.paths end,
      slice = function(ex, first, n)
         return subset(ex, function(i) return i >= first and i < first + n end)
      end,
      pick = function(ex, held)
         return subset(ex, function(i) return held[i] end), subset(ex, function(i) return not held[i] end)
      end,
      split = function(name, ex, so)
         return M.new_split { name = name, paths = ex.paths, labels = ex.labels, batch_size = so.batch_size,
            shuffle = so.shuffle, default_seed = so.default_seed, num_batches = so.num_batches,
            transform = so.transform, unbiased_std = o.unbiased_std, fix = o.fix }
      end,
   }
end

---------------------------------------------------------------------------------------
-- the two augmentation pipelines

--- TF DeepOBS imagenet.py: aspect-preserving resize (smaller side `resize`,
-- rint of the float32 scale), then training: centre crop/pad to resize x resize
-- and a random crop x crop window inside it, random flip; eval: centre
-- crop/pad straight to crop x crop. (The two training crops compose into one
-- window: padding is zeros either way.)
function M.tf_imagenet_transform(resize, crop, train)
   return function(img, u1, u2, u3)
      local x = dob.resize_smaller_side(dob.image_to_float(img), resize, "tf")
      if train then
         local ct, cl = dob.center_offsets(x, resize, resize, "tf")
         local slack = resize - crop
         -- tf.random_crop: offsets uniform over 0..slack inclusive
         local top = ct + math.min(math.floor(u1 * (slack + 1)), slack)
         local left = cl + math.min(math.floor(u2 * (slack + 1)), slack)
         return x:image_crop(top, left, crop, crop, u3 < 0.5)
      end
      local t, l = dob.center_offsets(x, crop, crop, "tf")
      return x:image_crop(t, l, crop, crop, false)
   end
end

--- The PyTorch fork (torchvision): Resize(resize) (shorter side; our
-- bilinear is TF1's, not PIL's antialiased filter), then training:
-- RandomCrop(crop) + RandomHorizontalFlip; eval: CenterCrop(crop).
function M.torch_transform(resize, crop, train)
   return function(img, u1, u2, u3)
      local x = dob.resize_smaller_side(dob.image_to_float(img), resize, "torch")
      if train then
         local h, w = x:size(2), x:size(3)
         -- RandomCrop without padding: offsets uniform over 0..(side - crop)
         local sy, sx = math.max(h - crop, 0), math.max(w - crop, 0)
         local top = math.min(math.floor(u1 * (sy + 1)), sy)
         local left = math.min(math.floor(u2 * (sx + 1)), sx)
         return x:image_crop(top, left, crop, crop, u3 < 0.5)
      end
      local t, l = dob.center_offsets(x, crop, crop, "torch")
      return x:image_crop(t, l, crop, crop, false)
   end
end

return M
