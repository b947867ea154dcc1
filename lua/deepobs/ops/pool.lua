-- Pooling and resizing (src/ops/pool.c), NCHW.
--
--    x:max_pool2d { kernel = 3, stride = 2, padding = "SAME" }
--    x:avg_pool2d { kernel = {2, 2}, stride = 2, padding = 0, count_include_pad = false }
--    x:resize_bilinear(h, w)          -- TF1 tf.image.resize_images, bilinear
--
-- kernel and stride: a number or {h, w}; stride defaults to the kernel.
-- padding: a number (all sides), {ph, pw} (symmetric), {top, bottom, left,
-- right}, or "SAME" / "VALID" computed TF-style from the input size:
-- out = ceil(in / s), total = max((out - 1) s + k - in, 0), top/left get
-- floor(total / 2), bottom/right the rest. Default 0.
-- count_include_pad (avg only): divide by KH*KW (true) or by the number of
-- real cells (false, TF). Default: false for "SAME", true otherwise (torch).
local T = require "deepobs.tensor"
local A = require "deepobs.argcheck"
local C = require("deepobs.C").lib
local Tensor, wrap, H = T.Tensor, T.wrap, T.H

local dob = {}

local function pair(v, what, op)
   if type(v) == "number" then v = { v, v } end
   if type(v) ~= "table" or getmetatable(v) ~= nil or #v ~= 2 then
      A.wrong(op, what, "an integer or a table {h, w}", v)
   end
   return A.cint(op, what, v[1]), A.cint(op, what, v[2])
end

-- TF "SAME" padding along one axis: before, after
local function same_pad(n, k, s)
   local out = math.ceil(n / s)
   local total = math.max((out - 1) * s + k - n, 0)
   local before = math.floor(total / 2)
   return before, total - before
end

-- returns kh, kw, sh, sw, top, bottom, left, right, is_same
local function pool_args(x, o, op)
   if type(o) ~= "table" or getmetatable(o) ~= nil then
      A.wrong(op, "options", "a table {kernel=, stride=, padding=}", o)
   end
   if o.kernel == nil then A.raise(op .. ": option 'kernel' is required") end
   local kh, kw = pair(o.kernel, "kernel", op)
   local sh, sw = pair(o.stride or o.kernel, "stride", op)
   local p = o.padding or 0
   if type(p) == "string" then
      local P = p:upper()
      if P == "VALID" then return kh, kw, sh, sw, 0, 0, 0, 0, false end
      if P ~= "SAME" then A.raise(op .. ": padding must be a number, a table, 'SAME' or 'VALID', got '" .. p .. "'") end
      if x:dim() ~= 4 then
         A.raise(("%s: expected a 4-dim input [N,C,H,W], got %d dims"):format(op, x:dim()))
      end
      if sh < 1 or sw < 1 then A.raise(("%s: stride must be positive, got %dx%d"):format(op, sh, sw)) end
      local t, b = same_pad(x:size(3), kh, sh)
      local l, r = same_pad(x:size(4), kw, sw)
      return kh, kw, sh, sw, t, b, l, r, true
   end
   local function pad(v) return A.cint(op, "padding", v) end
   if type(p) == "number" then p = pad(p); return kh, kw, sh, sw, p, p, p, p, false end
   if type(p) == "table" and #p == 2 then return kh, kw, sh, sw, pad(p[1]), pad(p[1]), pad(p[2]), pad(p[2]), false end
   if type(p) == "table" and #p == 4 then return kh, kw, sh, sw, pad(p[1]), pad(p[2]), pad(p[3]), pad(p[4]), false end
   A.raise(op .. ": padding must be a number, {ph, pw}, {top, bottom, left, right}, 'SAME' or 'VALID'")
end

--- x:max_pool2d(opts): max pooling of x [N,C,H,W]; opts { kernel =, stride =, padding = }
-- see this file's header for the forms of kernel, stride and padding ("SAME" as TF).
function Tensor.max_pool2d(x, opts)
   local h = H(x, "input")
   local kh, kw, sh, sw, t, b, l, r = pool_args(x, opts, "max_pool2d")
   return wrap(C.dob_max_pool2d(h, kh, kw, sh, sw, t, b, l, r))
end

--- x:avg_pool2d(opts): average pooling of x [N,C,H,W]; opts { kernel =, stride =, padding =, count_include_pad = }
-- see this file's header; count_include_pad defaults to false for "SAME" (TF), else true.
function Tensor.avg_pool2d(x, opts)
   local h = H(x, "input")
   local kh, kw, sh, sw, t, b, l, r, same = pool_args(x, opts, "avg_pool2d")
   local cip = opts.count_include_pad
   if cip == nil then cip = not same end
   return wrap(C.dob_avg_pool2d(h, kh, kw, sh, sw, t, b, l, r, cip and 1 or 0))
end

--- x:resize_bilinear(h, w): x [..,H,W] resized to h x w, bilinear with TF1 tf.image.resize_images semantics
function Tensor.resize_bilinear(x, out_h, out_w)
   local h = H(x, "input")
   if type(out_h) ~= "number" or type(out_w) ~= "number" or out_h % 1 ~= 0 or out_w % 1 ~= 0 then
      A.raise(("resize_bilinear: output size must be two integers, got %s, %s"):format(tostring(out_h), tostring(out_w)))
   end
   return wrap(C.dob_resize_bilinear(h, out_h, out_w))
end

dob.max_pool2d, dob.avg_pool2d, dob.resize_bilinear = Tensor.max_pool2d, Tensor.avg_pool2d, Tensor.resize_bilinear
--- dob.same_padding(n, k, s): TensorFlow's SAME padding (before, after) for an axis of size n, kernel k, stride s
function dob.same_padding(n, k, s)
   return same_pad(A.int("same_padding", "n", n, 0), A.int("same_padding", "k", k, 1),
      A.int("same_padding", "s", s, 1))
end

return dob
