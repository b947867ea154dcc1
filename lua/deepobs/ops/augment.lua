-- Image augmentation of DeepOBS 1.1's CIFAR/SVHN pipelines (src/data/augment.c) on
-- float32 batches [N,C,H,W]; data pipeline only (no autograd). Each takes the
-- per-image random parameters as tensors, so they come from the engine RNG:
--
--    x:pad_crop(2, 32, 32, offsets)     -- offsets int64 [N,2] (top, left), 0..4 here
--    x:flip_lr(mask)                    -- mask uint8 [N], nonzero: mirror
--    x:adjust_brightness(delta)         -- float32 [N], added
--    x:adjust_saturation(factor)        -- float32 [N], RGB only (TF's HSV round trip)
--    x:adjust_contrast(factor)          -- float32 [N], per channel (x - mean) f + mean
--    x:per_image_standardize()          -- (x - mean) / max(std, 1/sqrt(C*H*W))
local T = require "deepobs.tensor"
local C = require("deepobs.C").lib
local Tensor, wrap, H = T.Tensor, T.wrap, T.H

local dob = {}

local int = T.int_arg

--- x:pad_crop(pad, out_h, out_w, offsets): each image zero-padded by pad, then an out_h x out_w window at offsets
-- x float32 [N,C,H,W]; offsets int64 [N,2] (top, left) in the padded image. Not differentiable.
function Tensor.pad_crop(x, pad, out_h, out_w, offsets)
   local h = H(x, "input")
   pad, out_h, out_w = int(pad, "pad", "pad_crop"), int(out_h, "out_h", "pad_crop"), int(out_w, "out_w", "pad_crop")
   return wrap(C.dob_pad_crop(h, pad, out_h, out_w, H(offsets, "offsets")))
end

--- x:flip_lr(mask): the images of x [N,C,H,W] mirrored left-right where mask (uint8 [N]) is nonzero
function Tensor.flip_lr(x, mask)
   return wrap(C.dob_flip_lr(H(x, "input"), H(mask, "mask")))
end

--- x:adjust_brightness(delta): delta[n] (float32 [N]) added to every element of image n
function Tensor.adjust_brightness(x, delta)
   return wrap(C.dob_adjust_brightness(H(x, "input"), H(delta, "delta")))
end

--- x:adjust_saturation(factor): the saturation of RGB image n scaled by factor[n] (TF's HSV round trip)
function Tensor.adjust_saturation(x, factor)
   return wrap(C.dob_adjust_saturation(H(x, "input"), H(factor, "factor")))
end

--- x:adjust_contrast(factor): (x - mean) * factor[n] + mean per channel of image n (TF's adjust_contrast)
function Tensor.adjust_contrast(x, factor)
   return wrap(C.dob_adjust_contrast(H(x, "input"), H(factor, "factor")))
end

--- x:per_image_standardize(): each image (x - mean) / max(std, 1/sqrt(C*H*W)) (TF's per_image_standardization)
function Tensor.per_image_standardize(x)
   return wrap(C.dob_per_image_standardize(H(x, "input")))
end

for _, k in ipairs { "pad_crop", "flip_lr", "adjust_brightness", "adjust_saturation", "adjust_contrast",
   "per_image_standardize" } do
   dob[k] = Tensor[k]
end

return dob
