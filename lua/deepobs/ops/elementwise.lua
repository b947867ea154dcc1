-- Elementwise ops: arithmetic with broadcasting, operators, activations,
-- comparisons, where, and the in-place forms optimizers use.
local T = require "deepobs.tensor"
local C = require("deepobs.C").lib
local A = require "deepobs.argcheck"
local deprecated = require "deepobs.deprecated"
local doc = require "deepobs.doc"
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

-- the docs of the functions made in the loops below: name -> what x:name(y) computes
local BIN_DOCS = {
   add = "x + y", sub = "x - y", mul = "x * y", div = "x / y", pow = "x ^ y",
   maximum = "the larger of x and y", minimum = "the smaller of x and y",
}
local BIN_DETAILS = "y is a tensor broadcast with x (PyTorch's rules) or a number; float32 tensors, "
   .. "differentiable in both."

-- (the wrappers keep their frames, not tail calls, so that messages can name them)
for name, op in pairs(BIN) do
   Tensor[name] = function(a, b)
      local r = binary(op, a, b)
      return r
   end
   dob[name] = Tensor[name]
   doc.register(Tensor[name], ("x:%s(y): %s elementwise, a new tensor\n%s"):format(name, BIN_DOCS[name], BIN_DETAILS))
   -- in place: a = a OP b (b a tensor broadcast to a, or a number)
   Tensor[name .. "_"] = function(a, b)
      if type(b) == "number" then check(C.dob_binary_scalar_(op, H(a), b))
      else check(C.dob_binary_(op, H(a), H(b, "other"))) end
      return a
   end
   doc.register(Tensor[name .. "_"], ("x:%s_(y): x = %s elementwise, in place; returns x\n"
      .. "y is a tensor broadcast to x's shape or a number. Not recorded by autograd."):format(name, BIN_DOCS[name]))
end

-- Torch7's add(value, tensor): PyTorch's add(tensor, alpha) with a warning (deepobs.deprecated)
local function torch7_order(op, b, alpha)
   if type(b) == "number" and is_tensor(alpha) then
      deprecated.warn(op .. "(number, tensor) (Torch7's order)", op .. "(tensor, alpha) (PyTorch's)")
      return alpha, b
   end
   return b, alpha
end

local plain_add, plain_add_, plain_sub_ = Tensor.add, Tensor.add_, Tensor.sub_
--- x:add(y, alpha): x + alpha * y elementwise (alpha default 1), a new tensor, as PyTorch's
-- y is a tensor broadcast with x or a number; differentiable. Torch7's add(number, tensor)
-- still works, with a one-time deprecation warning (until deepobs 0.2).
function Tensor.add(a, b, alpha)
   b, alpha = torch7_order("add", b, alpha)
   local r
   if alpha == nil or alpha == 1 then r = plain_add(a, b)
   else r = plain_add(a, binary(C.DOB_MUL, b, A.number("add", "alpha", alpha))) end
   return r
end
dob.add = Tensor.add
--- x:add_(y, alpha): x = x + alpha * y in place (alpha default 1); returns x
-- y is a tensor broadcast to x's shape or a number. PyTorch's order; Torch7's
-- add_(number, tensor) still works with a one-time deprecation warning (until deepobs 0.2).
function Tensor.add_(a, b, alpha)
   b, alpha = torch7_order("add_", b, alpha)
   if alpha == nil then plain_add_(a, b); return a end
   if type(alpha) ~= "number" then A.wrong("add_", "alpha", "a number", alpha) end
   if is_tensor(b) then check(C.dob_add_scaled_(H(a), b.h, alpha)); return a end
   if type(b) ~= "number" then A.wrong("add_", "other", "a tensor or a number", b) end
   plain_add_(a, b * alpha)
   return a
end
--- x:sub_(y, alpha): x = x - alpha * y in place (alpha default 1); returns x
-- y is a tensor broadcast to x's shape or a number. PyTorch's order; Torch7's
-- sub_(number, tensor) still works with a one-time deprecation warning (until deepobs 0.2).
function Tensor.sub_(a, b, alpha)
   b, alpha = torch7_order("sub_", b, alpha)
   if alpha == nil then plain_sub_(a, b); return a end
   if type(alpha) ~= "number" then A.wrong("sub_", "alpha", "a number", alpha) end
   if is_tensor(b) then check(C.dob_add_scaled_(H(a), b.h, -alpha)); return a end
   if type(b) ~= "number" then A.wrong("sub_", "other", "a tensor or a number", b) end
   plain_sub_(a, b * alpha)
   return a
end
-- addcmul_(t1, t2, value) / addcdiv_(t1, t2, value): a + value * t1 * t2 (or / t2), PyTorch's
-- order; Torch7's addcmul_(value, t1, t2) works with a warning (deepobs.deprecated)
local function fused_args(op, t1, t2, value)
   if type(t1) == "number" then
      deprecated.warn(op .. "(value, t1, t2) (Torch7's order)", op .. "(t1, t2, value) (PyTorch's)")
      t1, t2, value = t2, value, t1
   end
   return H(t1, "tensor1"), H(t2, "tensor2"), A.number(op, "value", value, 1)
end
--- x:addcmul_(t1, t2, value): x = x + value * t1 * t2 in place (value default 1); returns x
-- PyTorch's order; Torch7's addcmul_(value, t1, t2) still works with a one-time deprecation
-- warning (until deepobs 0.2). t1, t2 broadcast to x's shape.
function Tensor.addcmul_(a, t1, t2, value)
   local h1, h2, v = fused_args("addcmul_", t1, t2, value)
   check(C.dob_addcmul_(H(a), v, h1, h2))
   return a
end
--- x:addcdiv_(t1, t2, value): x = x + value * t1 / t2 in place (value default 1); returns x
-- PyTorch's order; Torch7's addcdiv_(value, t1, t2) still works with a one-time deprecation
-- warning (until deepobs 0.2). t1, t2 broadcast to x's shape.
function Tensor.addcdiv_(a, t1, t2, value)
   local h1, h2, v = fused_args("addcdiv_", t1, t2, value)
   check(C.dob_addcdiv_(H(a), v, h1, h2))
   return a
end
--- x:lerp_(y, weight): x = x + weight * (y - x) in place; returns x
-- weight is a number, y a tensor broadcast to x's shape (an exponential moving average).
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
--- x + y (__add): x:add(y), elementwise with broadcasting; either side may be a number
mt.__add = function(a, b) local r = binary(C.DOB_ADD, a, b); return r end
--- x - y (__sub): x:sub(y), elementwise with broadcasting; either side may be a number
mt.__sub = function(a, b) local r = binary(C.DOB_SUB, a, b); return r end
--- x * y (__mul): x:mul(y), elementwise (not a matrix product: see x:matmul(y))
mt.__mul = function(a, b) local r = binary(C.DOB_MUL, a, b); return r end
--- x / y (__div): x:div(y), elementwise with broadcasting; either side may be a number
mt.__div = function(a, b) local r = binary(C.DOB_DIV, a, b); return r end
--- x ^ y (__pow): x:pow(y), elementwise; either side may be a number
mt.__pow = function(a, b) local r = binary(C.DOB_POW, a, b); return r end
--- -x (__unm): x:neg(), a new tensor
mt.__unm = function(a) return wrap(C.dob_unary(C.DOB_NEG, H(a))) end
--- x % y (__mod): an error; tensors have no % operator
mt.__mod = function() A.fail("%", "tensors have no % operator; use x - y * (x / y):floor() style ops explicitly") end

local UN = { neg = C.DOB_NEG, exp = C.DOB_EXP, log = C.DOB_LOG, sqrt = C.DOB_SQRT, abs = C.DOB_ABS,
   relu = C.DOB_RELU, sigmoid = C.DOB_SIGMOID, tanh = C.DOB_TANH, softplus = C.DOB_SOFTPLUS,
   gelu = C.DOB_GELU, square = C.DOB_SQUARE, rsqrt = C.DOB_RSQRT, sign = C.DOB_SIGN }

-- name -> what x:name() computes, elementwise
local UN_DOCS = {
   neg = "-x", exp = "e^x", log = "the natural logarithm of x", sqrt = "the square root of x", abs = "|x|",
   relu = "max(x, 0)", sigmoid = "1 / (1 + e^-x)", tanh = "tanh(x)", softplus = "log(1 + e^x)",
   gelu = "x * Phi(x), Phi the standard normal CDF (the exact GELU, with erf)", square = "x * x",
   rsqrt = "1 / sqrt(x)", sign = "-1, 0 or 1 as x is negative, zero or positive",
}

for name, op in pairs(UN) do
   Tensor[name] = function(a) return wrap(C.dob_unary(op, H(a))) end
   Tensor[name .. "_"] = function(a) check(C.dob_unary_(op, H(a))); return a end
   dob[name] = Tensor[name]
   doc.register(Tensor[name], ("x:%s(): %s, elementwise; a new tensor\n"
      .. "float32; differentiable (recorded by autograd when x requires grad)."):format(name, UN_DOCS[name]))
   doc.register(Tensor[name .. "_"], ("x:%s_(): x = %s, elementwise, in place; returns x\n"
      .. "Not recorded by autograd (use x:%s() on tensors that need gradients)."):format(name, UN_DOCS[name], name))
end

--- x:elu(alpha): x where x > 0, else alpha * (e^x - 1) (alpha default 1); a new tensor
-- differentiable; alpha must be finite.
function Tensor.elu(a, alpha)
   local h = H(a)
   return wrap(C.dob_elu(h, A.finite("elu", "alpha", alpha, 1)))
end
--- x:leaky_relu(slope): x where x > 0, else slope * x (slope default 0.01); a new tensor
-- differentiable; slope must be finite.
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
--- x:clamp(lo, hi): x limited to [lo, hi] elementwise (nil: unbounded on that side); a new tensor
-- lo <= hi and neither NaN; differentiable (the gradient is 0 where x was clamped).
function Tensor.clamp(a, lo, hi)
   local h = H(a)
   return wrap(C.dob_clamp(h, bounds("clamp", lo, hi)))
end
--- x:clamp_(lo, hi): x limited to [lo, hi] in place (nil: unbounded on that side); returns x
function Tensor.clamp_(a, lo, hi)
   local h = H(a)
   check(C.dob_clamp_(h, bounds("clamp_", lo, hi)))
   return a
end
dob.elu, dob.leaky_relu, dob.clamp = Tensor.elu, Tensor.leaky_relu, Tensor.clamp

local CMP = { eq = C.DOB_EQ, ne = C.DOB_NE, lt = C.DOB_LT, le = C.DOB_LE, gt = C.DOB_GT, ge = C.DOB_GE }
local CMP_DOCS = { eq = "x == y", ne = "x ~= y", lt = "x < y", le = "x <= y", gt = "x > y", ge = "x >= y" }
for name, op in pairs(CMP) do
   Tensor[name] = function(a, b)
      if type(b) == "number" then return wrap(C.dob_compare_scalar(op, H(a), b)) end
      return wrap(C.dob_compare(op, H(a), H(b, "other")))
   end
   dob[name] = Tensor[name]
   doc.register(Tensor[name], ("x:%s(y): 1 where %s, else 0, elementwise (a new uint8 tensor)\n"
      .. "y is a tensor broadcast with x or a number; not differentiable. Lua's own comparison "
      .. "operators cannot give a tensor, so this is the elementwise form."):format(name, CMP_DOCS[name]))
end

--- dob.where(cond, a, b): a where cond is nonzero, else b, elementwise with broadcasting
-- a and b are tensors or numbers; differentiable in a and b.
function dob.where(cond, a, b)
   if type(a) == "number" then a = T.full({ 1 }, a) end
   if type(b) == "number" then b = T.full({ 1 }, b) end
   return wrap(C.dob_where(H(cond, "cond"), H(a, "a"), H(b, "b")))
end
--- cond:where(a, b): dob.where(cond, a, b), a where cond is nonzero, else b
function Tensor.where(cond, a, b) return dob.where(cond, a, b) end

--- x:sum_to_size(...): x summed over broadcast dims down to the given sizes (numbers or a table)
-- the reverse of broadcasting, as a gradient of a broadcast operand needs; a new tensor.
function Tensor.sum_to_size(g, ...)
   local n, s = T.sizes_of("sum_to_size", ...)
   return wrap(C.dob_sum_to_shape(H(g), n, s))
end

--- x:all_finite(): true when no element is NaN or +-inf (a Lua boolean)
function Tensor.all_finite(a) return C.dob_all_finite(H(a)) ~= 0 end

return dob
