-- Convolutions (src/ops/conv.c): conv2d and conv_transpose2d in NCHW with
-- explicit four-sided padding, so TensorFlow's asymmetric "SAME" is exact.
local T = require "deepobs.tensor"
local A = require "deepobs.argcheck"
local C = require("deepobs.C").lib
local Tensor, wrap, H = T.Tensor, T.wrap, T.H

local dob = {}

local function int_arg(v, what, op) return A.cint(op, what, v) end

--- dob.tf_same_padding(n, k, s): TensorFlow's SAME padding for one spatial dim: (before, after)
-- such that the output has ceil(n / s) elements; s defaults to 1.
function dob.tf_same_padding(n, k, s)
   n = A.int("tf_same_padding", "n", n, 0)
   k = A.int("tf_same_padding", "k", k, 1)
   s = A.int("tf_same_padding", "s", s, 1, nil, 1)
   local out = math.ceil(n / s)
   local total = math.max((out - 1) * s + k - n, 0)
   local before = math.floor(total / 2)
   return before, total - before
end

-- stride option -> sh, sw
local function strides_of(opts, op)
   local s = opts.stride or 1
   if type(s) == "table" then return int_arg(s[1], "stride", op), int_arg(s[2] or s[1], "stride", op) end
   s = int_arg(s, "stride", op)
   return s, s
end

-- padding option -> top, bottom, left, right; `size` gives the spatial
-- size the SAME rule is computed from (input for conv2d, output for
-- conv_transpose2d)
local function pads_of(opts, op, h, w, kh, kw, sh, sw)
   local p = opts.padding or 0
   if type(p) == "number" then p = int_arg(p, "padding", op); return p, p, p, p end
   if type(p) == "string" then
      local u = p:upper()
      if u == "VALID" then return 0, 0, 0, 0 end
      if u == "SAME" then
         local t, b = dob.tf_same_padding(h, kh, sh)
         local l, r = dob.tf_same_padding(w, kw, sw)
         return t, b, l, r
      end
      A.raise(("%s: padding must be a number, a {top, bottom, left, right} table, 'SAME' or 'VALID', got '%s'")
         :format(op, p))
   end
   if type(p) == "table" then
      if #p == 2 then
         local a, b = int_arg(p[1], "padding", op), int_arg(p[2], "padding", op)
         return a, a, b, b
      end
      if #p ~= 4 then A.raise(op .. ": a padding table needs {top, bottom, left, right} (or {h, w})") end
      return int_arg(p[1], "padding", op), int_arg(p[2], "padding", op), int_arg(p[3], "padding", op),
         int_arg(p[4], "padding", op)
   end
   A.raise(op .. ": bad padding option of type " .. type(p))
end

local function dims4(t, what, op)
   local h = H(t, what)
   if C.dob_ndim(h) ~= 4 then
      A.raise(("%s: %s must be 4-D, got %d-D"):format(op, what, C.dob_ndim(h)))
   end
   return h
end

--- x:conv2d(w, b, opts): 2-D convolution (cross-correlation) in NCHW; differentiable
-- conv2d(x, w, b, {stride = s or {sh, sw}, padding = p | {t, b, l, r} | {ph, pw} | "SAME" | "VALID",
-- activation = "relu" | "none"}); x [N,C,H,W], w [OC,C,KH,KW], b [OC] or nil. activation "relu"
-- gives relu(conv2d(x, w, b)) bit for bit, in one op that never makes the pre-activation tensor.
function dob.conv2d(x, w, b, opts)
   opts = A.table("conv2d", "options", opts, {})
   local hx, hw = dims4(x, "input", "conv2d"), dims4(w, "weight", "conv2d")
   local sh, sw = strides_of(opts, "conv2d")
   local pt, pb, pl, pr = pads_of(opts, "conv2d", tonumber(C.dob_size(hx, 2)), tonumber(C.dob_size(hx, 3)),
      tonumber(C.dob_size(hw, 2)), tonumber(C.dob_size(hw, 3)), sh, sw)
   local act = T.activation("conv2d", "options.activation", opts.activation)
   return wrap(C.dob_conv2d(hx, hw, b ~= nil and H(b, "bias") or nil, sh, sw, pt, pb, pl, pr, act))
end
Tensor.conv2d = dob.conv2d

--- x:conv_transpose2d(w, b, opts): 2-D transposed convolution (the adjoint of conv2d)
-- conv_transpose2d(x, w, b, {stride, padding, activation}): the adjoint of conv2d.
-- x [N,C,H,W], w [C,OC,KH,KW] (PyTorch layout), b [OC] or nil. The output
-- size is (H-1)*s + KH - top - bottom; padding "SAME" gives TF's
-- conv2d_transpose with output size H*s (needs KH >= s), "VALID" (H-1)*s + KH.
-- activation "relu" as conv2d's.
function dob.conv_transpose2d(x, w, b, opts)
   local op = "conv_transpose2d"
   opts = A.table(op, "options", opts, {})
   local hx, hw = dims4(x, "input", op), dims4(w, "weight", op)
   local sh, sw = strides_of(opts, op)
   local kh, kw = tonumber(C.dob_size(hw, 2)), tonumber(C.dob_size(hw, 3))
   local h, wd = tonumber(C.dob_size(hx, 2)), tonumber(C.dob_size(hx, 3))
   if type(opts.padding) == "string" and opts.padding:upper() == "SAME" and (kh < sh or kw < sw) then
      A.raise(("%s: 'SAME' needs the kernel (%dx%d) to be at least the stride (%dx%d)"):format(op, kh, kw, sh, sw))
   end
   local pt, pb, pl, pr = pads_of(opts, op, h * sh, wd * sw, kh, kw, sh, sw)
   local act = T.activation(op, "options.activation", opts.activation)
   return wrap(C.dob_conv_transpose2d(hx, hw, b ~= nil and H(b, "bias") or nil, sh, sw, pt, pb, pl, pr, act))
end
Tensor.conv_transpose2d = dob.conv_transpose2d

return dob
