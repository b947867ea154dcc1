-- Elementwise ops: arithmetic with broadcasting, operators, activations,
-- comparisons, where, and the in-place forms optimizers use.
local T = require "deepobs.tensor"
local C = require("deepobs.C").lib
local Tensor, wrap, check, H, is_tensor = T.Tensor, T.wrap, T.check, T.H, T.is_tensor

local dob = {}

local BIN = { add = C.DOB_ADD, sub = C.DOB_SUB, mul = C.DOB_MUL, div = C.DOB_DIV, pow = C.DOB_POW,
   maximum = C.DOB_MAXIMUM, minimum = C.DOB_MINIMUM }

-- a OP b where either side may be a number
local function binary(op, a, b)
   if type(b) == "number" then return wrap(C.dob_binary_scalar(op, H(a, "left operand"), b, 0), 2) end
   if type(a) == "number" then return wrap(C.dob_binary_scalar(op, H(b, "right operand"), a, 1), 2) end
   return wrap(C.dob_binary(op, H(a, "left operand"), H(b, "right operand")), 2)
end

for name, op in pairs(BIN) do
   Tensor[name] = function(a, b) return binary(op, a, b) end
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
   if alpha == nil or alpha == 1 then return plain_add(a, b) end
   return plain_add(a, binary(C.DOB_MUL, b, alpha))
end
dob.add = Tensor.add
function Tensor.add_(a, b, alpha)
   if alpha ~= nil and is_tensor(b) then check(C.dob_add_scaled_(H(a), H(b, "other"), alpha)); return a end
   if alpha ~= nil then return plain_add_(a, b * alpha) end
   return plain_add_(a, b)
end
function Tensor.sub_(a, b, alpha)
   if alpha ~= nil and is_tensor(b) then check(C.dob_add_scaled_(H(a), H(b, "other"), -alpha)); return a end
   return plain_sub_(a, b)
end
function Tensor.addcmul_(a, value, b, c)
   if c == nil then value, b, c = 1, value, b end
   check(C.dob_addcmul_(H(a), value, H(b, "tensor1"), H(c, "tensor2")))
   return a
end
function Tensor.addcdiv_(a, value, b, c)
   if c == nil then value, b, c = 1, value, b end
   check(C.dob_addcdiv_(H(a), value, H(b, "tensor1"), H(c, "tensor2")))
   return a
end
-- a = a + w (b - a)
function Tensor.lerp_(a, b, w)
   -- the first step writes a, so an end that shares a's memory is read from a copy
   if is_tensor(b) and is_tensor(a) and b:is_same_storage(a) then b = b:clone() end
   check(C.dob_binary_scalar_(C.DOB_MUL, H(a), 1 - w))
   check(C.dob_add_scaled_(a.h, H(b, "end"), w))
   return a
end

local mt = T.mt
mt.__add = function(a, b) return binary(C.DOB_ADD, a, b) end
mt.__sub = function(a, b) return binary(C.DOB_SUB, a, b) end
mt.__mul = function(a, b) return binary(C.DOB_MUL, a, b) end
mt.__div = function(a, b) return binary(C.DOB_DIV, a, b) end
mt.__pow = function(a, b) return binary(C.DOB_POW, a, b) end
mt.__unm = function(a) return wrap(C.dob_unary(C.DOB_NEG, a.h)) end

local UN = { neg = C.DOB_NEG, exp = C.DOB_EXP, log = C.DOB_LOG, sqrt = C.DOB_SQRT, abs = C.DOB_ABS,
   relu = C.DOB_RELU, sigmoid = C.DOB_SIGMOID, tanh = C.DOB_TANH, softplus = C.DOB_SOFTPLUS,
   gelu = C.DOB_GELU, square = C.DOB_SQUARE, rsqrt = C.DOB_RSQRT, sign = C.DOB_SIGN }

for name, op in pairs(UN) do
   Tensor[name] = function(a) return wrap(C.dob_unary(op, H(a))) end
   Tensor[name .. "_"] = function(a) check(C.dob_unary_(op, H(a))); return a end
   dob[name] = Tensor[name]
end

function Tensor.elu(a, alpha) return wrap(C.dob_elu(H(a), alpha or 1)) end
function Tensor.leaky_relu(a, slope) return wrap(C.dob_leaky_relu(H(a), slope or 0.01)) end
function Tensor.clamp(a, lo, hi) return wrap(C.dob_clamp(H(a), lo or -math.huge, hi or math.huge)) end
function Tensor.clamp_(a, lo, hi) check(C.dob_clamp_(H(a), lo or -math.huge, hi or math.huge)); return a end
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
   local like = is_tensor(a) and a or b
   if type(a) == "number" then a = T.full(like and { 1 } or { 1 }, a) end
   if type(b) == "number" then b = T.full({ 1 }, b) end
   return wrap(C.dob_where(H(cond, "cond"), H(a, "a"), H(b, "b")))
end
function Tensor.where(cond, a, b) return dob.where(cond, a, b) end

function Tensor.sum_to_size(g, ...)
   local n, s = T.sizes_of(...)
   return wrap(C.dob_sum_to_shape(H(g), n, s))
end

function Tensor.all_finite(a) return C.dob_all_finite(H(a)) ~= 0 end

return dob
