-- Images (src/data/image.c): JPEG decode / encode and the pieces of the image
-- input pipelines (ImageNet, Food-101). Data preparation only: no autograd.
--
--    local img = dob.read_jpeg(path)                 -- uint8 [3,H,W], RGB
--    local x = dob.image_to_float(img)               -- float32 [3,H,W], x / 255
--    x = dob.resize_smaller_side(x, 256, "tf")       -- aspect-preserving bilinear (TF1 semantics)
--    local top, left = dob.center_offsets(x, 224, 224, "tf")
--    x = dob.image_crop(x, top, left, 224, 224, flip) -- zero outside the image
--    x = dob.standardize_images(batch, false)        -- per image: (x - mean) / max(std, 1/sqrt(n))
local ffi = require "ffi"
local T = require "deepobs.tensor"
local A = require "deepobs.argcheck"
local C = require("deepobs.C").lib
local Tensor, wrap, H = T.Tensor, T.wrap, T.H

local dob = {}

local int = T.int_arg

--- dob.decode_jpeg(bytes, name): a JPEG decoded to uint8 [3,H,W]
-- Decodes JPEG bytes (a Lua string or a 1-dim uint8 tensor) to uint8 [3,H,W].
-- name labels error messages.
function dob.decode_jpeg(bytes, name)
   if name ~= nil and type(name) ~= "string" then A.wrong("decode_jpeg", "name", "a string", name) end
   if type(bytes) == "string" then
      return wrap(C.dob_image_decode_jpeg(bytes, #bytes, name))
   end
   local h = H(bytes, "bytes")
   if bytes:dtype() ~= "uint8" or bytes:dim() ~= 1 then
      A.raise("decode_jpeg: bytes must be a Lua string or a 1-dim uint8 tensor")
   end
   local b = bytes:contiguous()
   return wrap(C.dob_image_decode_jpeg(b:data(), b:nElement(), name))
end

--- dob.read_jpeg(path): the JPEG file at path decoded to uint8 [3,H,W]
-- Reads and decodes a JPEG file to uint8 [3,H,W]; a missing or corrupt file
-- is an error naming it.
function dob.read_jpeg(path)
   if type(path) ~= "string" then A.raise("read_jpeg: path must be a string") end
   return wrap(C.dob_image_decode_jpeg_file(path))
end

--- dob.read_jpegs(paths): a list of JPEG files decoded in parallel, a list of uint8 [3,H,W]
-- Reads and decodes a list of JPEG files in parallel (one file per thread);
-- returns a Lua array of uint8 [3,H,W] tensors. Any failure is an error
-- naming the first failing file.
function dob.read_jpegs(paths)
   if type(paths) ~= "table" then A.raise("read_jpegs: expected a table of paths") end
   local n = #paths
   for i = 1, n do
      if type(paths[i]) ~= "string" then A.raise(("read_jpegs: path %d is not a string"):format(i)) end
   end
   local cpaths = ffi.new("const char *[?]", math.max(n, 1))
   for i = 1, n do cpaths[i - 1] = paths[i] end   -- `paths` keeps the strings alive
   local out = ffi.new("dob_tensor *[?]", math.max(n, 1))
   T.check(C.dob_image_decode_jpeg_files(n, cpaths, out))
   local res = {}
   for i = 1, n do res[i] = wrap(out[i - 1]) end
   return res
end

--- dob.encode_jpeg(img, quality): img (uint8 [C,H,W]) encoded as JPEG bytes, a Lua string
-- Encodes a uint8 [3,H,W] (RGB), [1,H,W] (gray) or [4,H,W] (CMYK) image as a
-- baseline 4:4:4 JPEG; returns
-- the bytes as a Lua string.
function dob.encode_jpeg(img, quality)
   quality = A.int("encode_jpeg", "quality", quality, 1, 100, 95)
   local t = wrap(C.dob_image_encode_jpeg(H(img, "img"), quality))
   return ffi.string(t:data(), t:nElement())
end

--- dob.write_jpeg(path, img, quality): writes img as a JPEG file
-- Writes img as a JPEG file (encode_jpeg).
function dob.write_jpeg(path, img, quality)
   if type(path) ~= "string" then A.wrong("write_jpeg", "path", "a string", path) end
   local s = dob.encode_jpeg(img, quality)
   local f, err = io.open(path, "wb")
   if not f then A.raise(("write_jpeg: %s"):format(err)) end
   f:write(s)
   f:close()
end

--- dob.image_to_float(img): uint8 image -> float32 img / 255
-- uint8 image -> float32 x / 255 (TF's convert_image_dtype, torchvision's ToTensor).
function dob.image_to_float(img)
   H(img, "img")
   return img:float():mul_(1 / 255)
end

--- x:image_crop(top, left, h, w, flip): the h x w window of x [..,H,W] at (top, left), zero-padded outside
-- Window h x w at (top, left) (0-based offsets; negative or overhanging
-- windows are zero-padded) of x [..,H,W]; flip mirrors it left-right.
function Tensor.image_crop(x, top, left, h, w, flip)
   local op = "image_crop"
   return wrap(C.dob_image_crop(H(x, "x"), int(top, "top", op), int(left, "left", op),
      int(h, "h", op), int(w, "w", op), A.flag("image_crop", "flip", flip) and 1 or 0))
end
dob.image_crop = Tensor.image_crop

--- dob.rint(v): v rounded to an integer, halves to even
-- round half to even, as tf.rint and Python 3's round
local function rint(v)
   if type(v) ~= "number" then A.wrong("rint", "v", "a number", v) end
   local f = math.floor(v)
   local d = v - f
   if d > 0.5 then return f + 1 end
   if d < 0.5 then return f end
   return (f % 2 == 0) and f or f + 1
end
dob.rint = rint

--- The size (h, w) that makes the smaller side S, keeping the aspect ratio.
-- mode "tf": TF DeepOBS imagenet (scale = S / min side in float32 arithmetic,
-- then rint); "torch": torchvision Resize(S) (long side int(S * long / short)).
local MODES = { tf = true, torch = true }

--- dob.smaller_side_size(h, w, S, mode): the size (h', w') that makes the smaller side of h x w equal S
function dob.smaller_side_size(h, w, S, mode)
   h = A.int("smaller_side_size", "h", h, 1)
   w = A.int("smaller_side_size", "w", w, 1)
   S = A.int("smaller_side_size", "S", S, 1)
   mode = A.string("smaller_side_size", "mode", mode or "tf", MODES)
   if mode == "torch" then
      if h <= w then return S, math.floor(S * w / h) end
      return math.floor(S * h / w), S
   end
   local f = ffi.new("float[4]")
   f[0] = S
   f[1] = math.min(h, w)
   f[2] = f[0] / f[1]                 -- float32 like tf.to_float
   f[3] = h * f[2]
   local nh = rint(f[3])
   f[3] = w * f[2]
   return nh, rint(f[3])
end

--- dob.resize_smaller_side(x, S, mode): x resized (bilinear) so that its smaller side is S
-- Bilinear resize (TF1 semantics, dob.resize_bilinear) of x [C,H,W] or
-- [N,C,H,W] so that its smaller side is S.
function dob.resize_smaller_side(x, S, mode)
   H(x, "x")
   local d = x:dim()
   if d ~= 3 and d ~= 4 then A.fail("resize_smaller_side", "x must be [C,H,W] or [N,C,H,W], got %d dims", d) end
   local h, w = x:size(d - 1), x:size(d)
   local nh, nw = dob.smaller_side_size(h, w, S, mode)
   if nh == h and nw == w then return x end
   if d == 3 then return x:unsqueeze(1):resize_bilinear(nh, nw):squeeze(1) end
   return x:resize_bilinear(nh, nw)
end

--- dob.center_offsets(x, h, w, mode): the offsets (top, left) of a centred h x w window of x
-- Offsets (top, left) of a centred h x w window of x [..,H,W]. mode "tf":
-- tf.image.resize_image_with_crop_or_pad (crop offset (H - h) // 2, pad offset
-- -((h - H) // 2)); "torch": torchvision CenterCrop (round((H - h) / 2),
-- half to even, likewise for padding).
function dob.center_offsets(x, h, w, mode)
   H(x, "x")
   h = A.int("center_offsets", "h", h, 1)
   w = A.int("center_offsets", "w", w, 1)
   mode = A.string("center_offsets", "mode", mode or "tf", MODES)
   local d = x:dim()
   if d < 2 then A.fail("center_offsets", "x must have at least 2 dims [..,H,W], got %d", d) end
   local H_, W_ = x:size(d - 1), x:size(d)
   local function off(n, k)
      if mode == "torch" then
         if n >= k then return rint((n - k) / 2) end
         return -rint((k - n) / 2)
      end
      if n >= k then return math.floor((n - k) / 2) end
      return -math.floor((k - n) / 2)
   end
   return off(H_, h), off(W_, w)
end

--- dob.standardize_images(x, unbiased): each image of x [N,...] standardised, (x - mean) / max(std, 1/sqrt(numel))
-- Per-image standardisation of a batch x [N,...]: (x - mean) / max(std,
-- 1/sqrt(numel)) over each image. unbiased = false: TF's
-- tf.image.per_image_standardization (population std); true: the PyTorch
-- fork's version (unbiased std, same floor).
function dob.standardize_images(x, unbiased)
   H(x, "x")
   unbiased = A.flag("standardize_images", "unbiased", unbiased)
   if x:dim() < 2 or x:numel() == 0 then
      A.fail("standardize_images", "x must be a non-empty batch [N,...] with at least 2 dims, got %s", A.describe(x))
   end
   local n = x:nElement() / x:size(1)
   local dims = {}
   for i = 2, x:dim() do dims[#dims + 1] = i end
   local mean = x:mean(dims, true)
   local std = x:std(dims, { unbiased = unbiased and true or false }, true):clamp(1 / math.sqrt(n))
   return (x - mean) / std
end

return dob
