-- Elementwise ops: arithmetic with broadcasting, operators, activations,
-- comparisons, where, and the in-place forms optimizers use.
local T = require "deepobs.tensor"
local C = require("deepobs.C").lib
local A = require "deepobs.argcheck"
local Tensor, wrap, check, H, is_tensor = T.Tensor, T.wrap, T.check, T.H, T.is_tensor

local dob = {}

local BIN = { add = C.DOB_ADD, sub = C.DOB_SUB, mul = C.DOB_MUL, div = C.DOB_DIV, pow = C.DOB_POW,
   maximum = C.DOB_MAXIMUM, minimum = C.DOB_MINIMUM }

-- a OP b where either side may be a number
local function binary(op, a, b)
   if type(b) == "number" then return wrap(C.dob_binary_scalar(op, H(a, "left operand"), b, 0)) end
   if type(a) == "number" then return wrap(C.dob_binary_scalar(op, H(b, "right operand"), a, 1)) end
   return wrap(C.dob_binary(op, H(a, "left operand"), H(b, "right operand")))
end

-- (the wrappers keep their frames, not tail calls, so that messages can name them)
for name, op in pairs(BIN) do
   Tensor[name] = function(a, b)
      local r = binary(op, a, b)
      return r
   end
   dob[name] = Tensor[name]
   -- in place: a = a OP b (b a tensor broadcast to a, or a number)
   Tensor[name .. "_"] = function(a, b)
      if type(b) == "number" then check(C.dob_binary_scalar_(op, H(a), b))
      else check(C.dob_binary_(op, H(a), H(b, "other"))) end
      return a
   end
end

-- add(b, alpha) / add_(b, alpha): a + alpha * b, as in torch
local plain_add, plain_add_, plain_sub_ = Tensor.add, Tensor.add_, Tensor.sub_
function Tensor.add(a, b, alpha)
   local r
   if alpha == nil or alpha == 1 then r = plain_add(a, b)
   else r = plain_add(a, binary(C.DOB_MUL, b, A.number("add", "alpha", alpha))) end
   return r
end
dob.add = Tensor.add
function Tensor.add_(a, b, alpha)
   if alpha == nil then plain_add_(a, b); return a end
   if type(alpha) ~= "number" then A.wrong("add_", "alpha", "a number", alpha) end
   if is_tensor(b) then check(C.dob_add_scaled_(H(a), b.h, alpha)); return a end
   if type(b) ~= "number" then A.wrong("add_", "other", "a tensor or a number", b) end
   plain_add_(a, b * alpha)
   return a
end
function Tensor.sub_(a, b, alpha)
   if alpha == nil then plain_sub_(a, b); return a end
   if type(alpha) ~= "number" then A.wrong("sub_", "alpha", "a number", alpha) end
   if is_tensor(b) then check(C.dob_add_scaled_(H(a), b.h, -alpha)); return a end
   if type(b) ~= "number" then A.wrong("sub_", "other", "a tensor or a number", b) end
   plain_sub_(a, b * alpha)
   return a
end
function Tensor.addcmul_(a, value, b, c)
   if c == nil then value, b, c = 1, value, b end
   if type(value) ~= "number" then A.wrong("addcmul_", "value", "a number", value) end
   check(C.dob_addcmul_(H(a), value, H(b, "tensor1"), H(c, "tensor2")))
   return a
end
function Tensor.addcdiv_(a, value, b, c)
   if c == nil then value, b, c = 1, value, b end
   if type(value) ~= "number" then A.wrong("addcdiv_", "value", "a number", value) end
   check(C.dob_addcdiv_(H(a), value, H(b, "tensor1"), H(c, "tensor2")))
   return a
end
-- a = a + w (b - a)
function Tensor.lerp_(a, b, w)
   local h = H(a)
   H(b, "end")
   if type(w) ~= "number" then A.wrong("lerp_", "weight", "a number", w) end
   -- the first step writes a, so an end that shares a's memory is read from a copy
   if b:is_same_storage(a) then b = b:clone() end
   local hb = H(b)
   check(C.dob_binary_scalar_(C.DOB_MUL, h, 1 - w))
   check(C.dob_add_scaled_(h, hb, w))
   return a
end

local mt = T.mt
mt.__add = function(a, b) local r = binary(C.DOB_ADD, a, b); return r end
mt.__sub = function(a, b) local r = binary(C.DOB_SUB, a, b); return r end
mt.__mul = function(a, b) local r = binary(C.DOB_MUL, a, b); return r end
mt.__div = function(a, b) local r = binary(C.DOB_DIV, a, b); return r end
mt.__pow = function(a, b) local r = binary(C.DOB_POW, a, b); return r end
mt.__unm = function(a) return wrap(C.dob_unary(C.DOB_NEG, H(a))) end
mt.__mod = function() A.fail("%", "tensors have no % operator; use x - y * (x / y):floor() style ops explicitly") end

local UN = { neg = C.DOB_NEG, exp = C.DOB_EXP, log = C.DOB_LOG, sqrt = C.DOB_SQRT, abs = C.DOB_ABS,
   relu = C.DOB_RELU, sigmoid = C.DOB_SIGMOID, tanh = C.DOB_TANH, softplus = C.DOB_SOFTPLUS,
   gelu = C.DOB_GELU, square = C.DOB_SQUARE, rsqrt = C.DOB_RSQRT, sign = C.DOB_SIGN }

for name, op in pairs(UN) do
   Tensor[name] = function(a) return wrap(C.dob_unary(op, H(a))) end
   Tensor[name .. "_"] = function(a) check(C.dob_unary_(op, H(a))); return a end
   dob[name] = Tensor[name]
end

function Tensor.elu(a, alpha)
   local h = H(a)
   return wrap(C.dob_elu(h, A.finite("elu", "alpha", alpha, 1)))
end
function Tensor.leaky_relu(a, slope)
   local h = H(a)
   return wrap(C.dob_leaky_relu(h, A.finite("leaky_relu", "slope", slope, 0.01)))
end
-- the bounds of clamp: numbers (nil: unbounded), not NaN, lo <= hi
local function bounds(op, lo, hi)
   lo = A.number(op, "lo", lo, -math.huge)
   hi = A.number(op, "hi", hi, math.huge)
   if not (lo <= hi) then A.fail(op, "needs lo <= hi, got lo %s and hi %s", A.describe(lo), A.describe(hi)) end
   return lo, hi
end
function Tensor.clamp(a, lo, hi)
   local h = H(a)
   return wrap(C.dob_clamp(h, bounds("clamp", lo, hi)))
end
function Tensor.clamp_(a, lo, hi)
   local h = H(a)
   check(C.dob_clamp_(h, bounds("clamp_", lo, hi)))
   return a
end
dob.elu, dob.leaky_relu, dob.clamp = Tensor.elu, Tensor.leaky_relu, Tensor.clamp

local CMP = { eq = C.DOB_EQ, ne = C.DOB_NE, lt = C.DOB_LT, le = C.DOB_LE, gt = C.DOB_GT, ge = C.DOB_GE }
for name, op in pairs(CMP) do
   Tensor[name] = function(a, b)
      if type(b) == "number" then return wrap(C.dob_compare_scalar(op, H(a), b)) end
      return wrap(C.dob_compare(op, H(a), H(b, "other")))
   end
   dob[name] = Tensor[name]
end

-- where(cond, a, b): a where cond is nonzero, else b (numbers allowed for a, b)
function dob.where(cond, a, b)
   if type(a) == "number" then a = T.full({ 1 }, a) end
   if type(b) == "number" then b = T.full({ 1 }, b) end
   return wrap(C.dob_where(H(cond, "cond"), H(a, "a"), H(b, "b")))
end
function Tensor.where(cond, a, b) return dob.where(cond, a, b) end

function Tensor.sum_to_size(g, ...)
   local n, s = T.sizes_of("sum_to_size", ...)
   return wrap(C.dob_sum_to_shape(H(g), n, s))
end

function Tensor.all_finite(a) return C.dob_all_finite(H(a)) ~= 0 end

return dob
