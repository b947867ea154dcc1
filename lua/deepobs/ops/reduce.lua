-- Reductions (src/ops/reduce.c): sum, mean, var/std, p-norm, max/min (values
-- and indices), argmax, and plain-number sums and dots.
--
-- Dims are 1-based (negative from the end): a number, a table of numbers, or
-- nil for all dims (the result is then a 0-dim tensor unless keepdim).
-- Index results are int64 tensors holding 0-based positions, like labels.
local T = require "deepobs.tensor"
local A = require "deepobs.argcheck"
local doc = require "deepobs.doc"
local C = require("deepobs.C").lib
local Tensor, wrap, H, cdim, ints_t = T.Tensor, T.wrap, T.H, T.cdim, T.ints_t
local ffi = require "ffi"

local dob = {}

-- Lua dims -> n, int[n] of C dims (n = 0: all). The C side reads the
-- array during the call only, so one buffer serves every call.
local dims_buf = ints_t(8)
local function dims_of(dims, what)
   if dims == nil then return 0, nil end
   if type(dims) == "number" then
      dims_buf[0] = cdim(dims, what)
      return 1, dims_buf
   end
   if type(dims) ~= "table" then
      A.raise(("%s: dims must be a number, a table of numbers or nil, got %s"):format(what, type(dims)))
   end
   local n = #dims
   if n == 0 then A.raise(what .. ": empty table of dims (pass nil to reduce over all dims)") end
   if n > 8 then A.raise(what .. ": at most 8 dims") end
   for i = 1, n do dims_buf[i - 1] = cdim(dims[i], what) end
   return n, dims_buf
end

local function flag(b) return b and 1 or 0 end

--- x:sum(dims, keepdim): the sum over dims (a number, a table, or nil for all: a 0-dim tensor)
-- keepdim keeps the reduced dims with size 1; differentiable.
function Tensor:sum(dims, keepdim)
   local n, arr = dims_of(dims, "sum")
   return wrap(C.dob_sum(H(self), n, arr, flag(keepdim)))
end

--- x:mean(dims, keepdim): the mean over dims (a number, a table, or nil for all)
function Tensor:mean(dims, keepdim)
   local n, arr = dims_of(dims, "mean")
   return wrap(C.dob_mean(H(self), n, arr, flag(keepdim)))
end

-- var(dims, opts, keepdim): opts is {unbiased = bool} or a correction number;
-- the default is unbiased (correction 1), as in torch
local function correction_of(opts, what)
   if opts == nil then return 1 end
   if type(opts) == "number" then
      if opts < 0 or opts % 1 ~= 0 then A.raise(what .. ": correction must be a non-negative integer") end
      return opts
   end
   if type(opts) == "boolean" then return opts and 1 or 0 end
   if type(opts) == "table" then
      if opts.correction ~= nil then return correction_of(opts.correction, what) end
      if opts.unbiased == nil then return 1 end
      return opts.unbiased and 1 or 0
   end
   A.raise(what .. ": expected {unbiased = ...}, a correction number or nil, got " .. type(opts))
end

--- x:var(dims, opts, keepdim): the variance over dims (nil: all)
-- opts: {unbiased = bool}, {correction = n}, a correction number or nil (default unbiased,
-- correction 1, as in torch).
function Tensor:var(dims, opts, keepdim)
   local n, arr = dims_of(dims, "var")
   return wrap(C.dob_var(H(self), n, arr, correction_of(opts, "var"), flag(keepdim)))
end

--- x:std(dims, opts, keepdim): the standard deviation over dims, sqrt of x:var(dims, opts, keepdim)
function Tensor:std(dims, opts, keepdim)
   local n, arr = dims_of(dims, "std")
   local v = wrap(C.dob_var(H(self), n, arr, correction_of(opts, "std"), flag(keepdim)))
   -- where the variance is 0 the gradient is 0, as PyTorch's std_backward
   -- masks it; sqrt alone would send 0 * inf = NaN back. Elsewhere adding and
   -- subtracting 0 leaves value and gradient bit for bit.
   local zero = v:eq(0):float()
   return (v + zero):sqrt() - zero
end

--- x:norm(p, dims, keepdim): the p-norm over dims (p default 2; dims nil: all elements)
function Tensor:norm(p, dims, keepdim)
   local n, arr = dims_of(dims, "norm")
   return wrap(C.dob_norm(H(self), A.number("norm", "p", p, 2), n, arr, flag(keepdim)))
end

local out_t = ffi.typeof("dob_tensor *[1]")

local function select_op(all_fn, dim_fn, name)
   return function(self, dim, keepdim)
      local h = H(self)
      if dim == nil then return wrap(all_fn(h), 2) end
      local idx = out_t()
      local v = dim_fn(h, cdim(dim, name), flag(keepdim), idx)
      local values = wrap(v, 2)
      return values, wrap(idx[0], 2)
   end
end

-- (max and min are made by select_op, so each has its doc registered)
Tensor.max = select_op(C.dob_max_all, C.dob_max_dim, "max")
Tensor.min = select_op(C.dob_min_all, C.dob_min_dim, "min")
doc.register(Tensor.max, "x:max(dim, keepdim): the maxima along dim and their indices (0-based int64)\n"
   .. "x:max() with no dim: the 0-dim maximum of all elements. Differentiable in the values.")
doc.register(Tensor.min, "x:min(dim, keepdim): the minima along dim and their indices (0-based int64)\n"
   .. "x:min() with no dim: the 0-dim minimum of all elements. Differentiable in the values.")

--- x:argmax(dim, keepdim): the 0-based int64 index of the maximum along dim
-- With no dim, the flat (0-based) index of the maximum of all elements.
function Tensor:argmax(dim, keepdim)
   local h = H(self)
   if dim == nil then
      local flat = self:reshape(-1)
      return wrap(C.dob_argmax(flat.h, 0, 0))
   end
   return wrap(C.dob_argmax(h, cdim(dim, "argmax"), flag(keepdim)))
end

-- NaN with an error set means failure (a NaN result alone is a real NaN)
local function checked(fn, ...)
   C.dob_clear_error()
   local v = fn(...)
   if v ~= v and C.dob_last_error()[0] ~= 0 then A.raise(T.last_error()) end
   return v
end

--- x:sum_double(): the sum of all elements as a Lua number (double accumulation, deterministic)
function Tensor:sum_double() return checked(C.dob_sum_all_double, H(self)) end
--- x:dot(y): sum(x * y) as a Lua number (double accumulation); the shapes must match
function Tensor:dot(other) return checked(C.dob_dot_double, H(self), H(other, "other")) end

for _, k in ipairs { "sum", "mean", "var", "std", "norm", "max", "min", "argmax" } do
   dob[k] = Tensor[k]
end

return dob
