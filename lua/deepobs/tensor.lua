-- The Tensor class: a Lua table { h = <dob_tensor* cdata> } whose metatable
-- carries the methods and operators. Dims and indices are 1-based, as in
-- Torch7; negative dims count from the end (-1 is the last); 0 is an error.
--
-- `#x` is not a tensor's length: LuaJIT (without its Lua 5.2 mode) never calls `__len` for
-- tables, so `#x` is always 0. Use x:size(1) for the length of the first dim and
-- x:numel() for the element count. Likewise x == y compares identity (Lua turns `__eq`'s
-- result into a boolean); use x:eq(y) for elementwise comparison.
--
-- Memory: the garbage collector sees only the small Lua table, never the
-- tensor bytes, so the collections are paced by the bytes C hands out (see
-- pace_gc below). Freed storage goes back to the C allocator's cache and is
-- reused, so resident memory stays flat.
local ffi = require "ffi"
local Cmod = require "deepobs.C"
local A = require "deepobs.argcheck"
local tensor_format = require "deepobs.tensor_format"
local C = Cmod.lib

local Tensor = {}          -- methods
local mt = { __name = "deepobs.Tensor" }
local Freed = {}           -- metatable of tensors after :free()

local DTYPES = { float32 = 0, int64 = 1, uint8 = 2 }
local DTYPE_NAMES = { [0] = "float32", [1] = "int64", [2] = "uint8" }
local TYPE_NAMES = { [0] = "deepobs.FloatTensor", [1] = "deepobs.LongTensor", [2] = "deepobs.ByteTensor" }

local sizes_t = ffi.typeof("int64_t[?]")
local ints_t = ffi.typeof("int[?]")
local tensors_t = ffi.typeof("dob_tensor *[?]")

---------------------------------------------------------------------------------------
-- errors and wrapping

local function last_error()
   return ffi.string(C.dob_last_error())
end

-- LuaJIT's collector sees a tensor as a small table, not as the memory behind it, so we
-- collect by the C side's bytes: a full collection once GC_BYTES (DEEPOBS_GC_MIN_MB) have
-- been handed out since the last one. That bounds the garbage at any moment by GC_BYTES,
-- whatever the size of the data that stays alive. A collection of our small Lua heap
-- costs about 0.1 ms, so even a 50 ms step that hands out 50 MB spends under 1% on it.
local GC_BYTES = require("deepobs.env").number("DEEPOBS_GC_MIN_MB", 16, 1, 2 ^ 20,
   "a size in megabytes from 1 to 1048576") * 2 ^ 20
local allocated_at_collect = 0

local function collect_now()
   collectgarbage("collect")
   allocated_at_collect = tonumber(C.dob_mem_allocated_total())
end

local function handed_out_since_collect() return tonumber(C.dob_mem_allocated_total()) - allocated_at_collect end

-- A small network's batch hands out far less than GC_BYTES: a run that reports its batches
-- (batch_done) has its garbage bounded by one batch's worth instead, at least BATCH_FLOOR, so
-- it holds its data, one batch and about one batch of garbage (fmnist_mlp's batch: 2 MB).
local BATCH_FLOOR = 2 * 2 ^ 20
local allocated_at_batch, batch_bytes = nil, math.huge

local function garbage_budget() return math.min(GC_BYTES, math.max(BATCH_FLOOR, batch_bytes)) end

local function pace_gc()
   if handed_out_since_collect() > garbage_budget() then collect_now() end
end

-- called by a training loop after each batch (a step, or an evaluation's forward pass)
local function batch_done()
   local total = tonumber(C.dob_mem_allocated_total())
   if allocated_at_batch then batch_bytes = total - allocated_at_batch end
   allocated_at_batch = total
end

-- The C error as an error at the user's code, named after op (default: the function the
-- user called) when the message does not name one ("out of memory allocating ...")
local function raise_c_error(op)
   local msg = last_error()
   if not msg:match("^[%w_]+: ") then msg = (op or A.entry()) .. ": " .. msg end
   A.raise(msg)
end

-- Takes ownership of a new reference returned by C (NULL: raise its error; op names the
-- function in messages that do not name one).
local function wrap(p, op)
   if p == nil then raise_c_error(op) end
   pace_gc()
   return setmetatable({ h = ffi.gc(p, C.dob_release) }, mt)
end

local function check(rc)
   if rc ~= 0 then raise_c_error() end
end

-- The handle of tensor argument `what` (nil: self), with an error naming the function the
-- user called for anything else.
local function H(t, what)
   local m = getmetatable(t)
   if m == mt then return t.h end
   if m == Freed then
      A.fail(nil, "argument '%s' is a tensor that was freed (:free() was called on it)", what or "self")
   end
   A.wrong(nil, what or "self", "a deepobs Tensor", t)
end

--- dob.is_tensor(x): true when x is a deepobs Tensor (false for a freed one and for anything else)
local function is_tensor(x) return getmetatable(x) == mt end

local function dtype_code(d)
   if d == nil then return 0 end
   if type(d) == "number" and DTYPE_NAMES[d] then return d end
   local c = DTYPES[d]
   if not c then A.wrong(nil, "dtype", "'float32', 'int64' or 'uint8'", d) end
   return c
end

-- Lua dim (1-based, negative from the end) -> C dim (0-based, negative kept)
local function cdim(d, op)
   if type(d) ~= "number" or d == 0 or d % 1 ~= 0 or d > A.INT_MAX or d < -A.INT_MAX then
      A.fail(op, "dim must be a nonzero integer (1-based; -1 is the last), got %s", A.describe(d))
   end
   return d > 0 and d - 1 or d
end

-- Lua index (1-based, negative from the end) -> C index (0-based, negative kept)
local function cindex(i, op, name)
   if type(i) ~= "number" or i == 0 or i % 1 ~= 0 or i > A.EXACT or i < -A.EXACT then
      A.fail(op, "argument '%s' must be a nonzero integer (1-based; -1 is the last), got %s", name or "index",
         A.describe(i))
   end
   return i > 0 and i - 1 or i
end

-- sizes from either varargs numbers or one table; returns n, int64_t[n] (op: for messages)
local function sizes_of(op, ...)
   local first = ...
   local list
   if type(first) == "table" and not is_tensor(first) then list = first else list = { ... } end
   local n = #list
   if n > 64 then A.fail(op, "at most 64 sizes, got %d", n) end
   local arr = sizes_t(math.max(n, 1))
   for i = 1, n do
      local v = list[i]
      if type(v) ~= "number" or v % 1 ~= 0 or v > A.EXACT or v < -A.EXACT then
         A.fail(op, "sizes must be integers, got %s at position %d", A.describe(v), i)
      end
      arr[i - 1] = v
   end
   return n, arr
end

-- trailing dtype string among varargs: zeros(2, 3, "int64")
local function split_dtype(...)
   local n = select("#", ...)
   local last = n > 0 and select(n, ...) or nil
   if type(last) == "string" then
      local args = { ... }
      args[n] = nil
      return DTYPES[last] or dtype_code(last), unpack(args, 1, n - 1)
   end
   return 0, ...
end

---------------------------------------------------------------------------------------
-- construction

local M = { Tensor = Tensor, batch_done = batch_done, wrap = wrap, check = check, H = H, is_tensor = is_tensor,
   cdim = cdim, cindex = cindex, sizes_of = sizes_of, dtype_code = dtype_code, last_error = last_error,
   sizes_t = sizes_t, ints_t = ints_t, tensors_t = tensors_t, mt = mt }

--- dob.empty(size1, size2, ..., dtype): an uninitialised tensor of those sizes
-- sizes as numbers or one table ({2, 3}); dtype "float32" (default), "int64" or "uint8".
function M.empty(...)
   local dt = split_dtype(...)
   return wrap(C.dob_empty(dt, sizes_of("empty", select(2, split_dtype(...)))), "empty")
end

--- dob.zeros(size1, size2, ..., dtype): a tensor of zeros
-- sizes as numbers or one table; dtype "float32" (default), "int64" or "uint8".
function M.zeros(...)
   local dt = split_dtype(...)
   return wrap(C.dob_zeros(dt, sizes_of("zeros", select(2, split_dtype(...)))), "zeros")
end

--- dob.ones(size1, size2, ..., dtype): a tensor of ones
-- sizes as numbers or one table; dtype "float32" (default), "int64" or "uint8".
function M.ones(...)
   local dt = split_dtype(...)
   local n, s = sizes_of("ones", select(2, split_dtype(...)))
   return wrap(C.dob_full(dt, n, s, 1), "ones")
end

--- dob.full(sizes, value, dtype): a tensor of sizes (a table) filled with value
-- dtype "float32" (default), "int64" or "uint8"; value must fit the dtype.
function M.full(sizes, value, dtype)
   if type(sizes) ~= "table" or is_tensor(sizes) then A.wrong("full", "sizes", "a table of sizes", sizes) end
   local n, s = sizes_of("full", sizes)
   return wrap(C.dob_full(dtype_code(dtype), n, s, A.number("full", "value", value)), "full")
end

--- dob.arange(start, stop, step, dtype): start, start + step, ... while < stop (> stop for step < 0), 1-D
-- arange(stop) starts at 0; step default 1, nonzero; dtype default "float32".
function M.arange(a, b, step, dtype)
   if b == nil then a, b = 0, a end
   a = A.finite("arange", "start", a)
   b = A.finite("arange", "stop", b)
   step = A.finite("arange", "step", step, 1)
   if step == 0 then A.wrong("arange", "step", "a nonzero number", step) end
   return wrap(C.dob_arange(dtype_code(dtype), a, b, step), "arange")
end

--- dob.scalar(value, dtype): a 0-dim tensor holding value (dtype default "float32")
function M.scalar(v, dtype)
   return wrap(C.dob_full(dtype_code(dtype), 0, nil, A.number("scalar", "value", v)))
end

--- dob.tensor(data, dtype): a tensor from a nested Lua table of numbers (or a number, or a tensor: a copy)
-- The table must not be ragged; dtype default "float32"; values the dtype cannot hold
-- exactly are refused.
function M.tensor(data, dtype)
   if type(data) == "number" then return M.scalar(data, dtype) end
   if is_tensor(data) then return data:clone() end
   if type(data) ~= "table" or getmetatable(data) ~= nil then
      A.wrong("tensor", "data", "a number, a tensor or a (nested) table of numbers", data)
   end
   local shape, probe = {}, data
   while type(probe) == "table" and getmetatable(probe) == nil do
      if #shape == 64 then A.fail("tensor", "the table nests deeper than 64 levels") end
      shape[#shape + 1] = #probe
      probe = probe[1]
   end
   local flat, k = {}, 0
   local function walk(t, d)
      if #t ~= shape[d] then A.fail("tensor", "ragged table (dim %d has %d and %d entries)", d, shape[d], #t) end
      for i = 1, #t do
         local v = t[i]
         if d < #shape then
            if type(v) ~= "table" then A.fail("tensor", "ragged table (a %s where dim %d needs a table)", type(v), d + 1) end
            walk(v, d + 1)
         else
            if type(v) ~= "number" then A.fail("tensor", "entries must be numbers, got %s", A.describe(v)) end
            k = k + 1
            flat[k] = v
         end
      end
   end
   walk(data, 1)
   local dt = dtype_code(dtype)
   -- converted in C, which refuses values the dtype cannot hold exactly
   local values = ffi.new("double[?]", math.max(k, 1))
   for i = 1, k do values[i - 1] = flat[i] end
   local n, sizes = sizes_of("tensor", shape)
   return wrap(C.dob_from_doubles(dt, n, sizes, values), "tensor")
end

---------------------------------------------------------------------------------------
-- metadata

--- x:dim(), x:ndim(): the number of dims (0 for a scalar)
function Tensor:dim() return C.dob_ndim(H(self)) end
Tensor.ndim = Tensor.dim
--- x:nElement(), x:numel(): the number of elements
function Tensor:nElement() return tonumber(C.dob_numel(H(self))) end
Tensor.numel = Tensor.nElement

--- x:size(dim): the size of dim (1-based, negative from the end); with no dim, a table of all sizes
-- x.shape is a read-only alias of x:size().
function Tensor:size(d)
   local h = H(self)
   local n = C.dob_ndim(h)
   if d then
      local c = cdim(d, "size")
      local s = C.dob_size(h, c)
      if s < 0 then A.fail("size", "dim %d out of range for a %d-dim tensor", d, n) end
      return tonumber(s)
   end
   local t = {}
   for i = 1, n do t[i] = tonumber(C.dob_size(h, i - 1)) end
   return t
end

--- x:stride(dim): the stride of dim in elements; with no dim, a table of all strides
function Tensor:stride(d)
   local h = H(self)
   if d then
      local c = cdim(d, "stride")
      if c >= C.dob_ndim(h) or c < -C.dob_ndim(h) then
         A.fail("stride", "dim %d out of range for a %d-dim tensor", d, C.dob_ndim(h))
      end
      return tonumber(C.dob_stride(h, c))
   end
   local t = {}
   for i = 1, C.dob_ndim(h) do t[i] = tonumber(C.dob_stride(h, i - 1)) end
   return t
end

--- x:dtype(): "float32", "int64" or "uint8"
function Tensor:dtype() return DTYPE_NAMES[C.dob_dtype(H(self))] end
--- x:type(): the Torch7-style type name: "deepobs.FloatTensor", "deepobs.LongTensor" or "deepobs.ByteTensor"
function Tensor:type() return TYPE_NAMES[C.dob_dtype(H(self))] end
--- x:isContiguous(), x:is_contiguous(): true when the elements lie in row-major order without gaps
function Tensor:is_contiguous() return C.dob_is_contiguous(H(self)) ~= 0 end
Tensor.isContiguous = Tensor.is_contiguous
--- x:storage_offset(): the position of x's first element in its storage (1-based, as Torch7)
function Tensor:storage_offset() return tonumber(C.dob_storage_offset(H(self))) + 1 end
--- x:is_same_storage(other): true when x and other share their storage (views of one another)
function Tensor:is_same_storage(o) return C.dob_same_storage(H(self), H(o, "other")) ~= 0 end
--- x:version(): the storage's version counter, bumped by every in-place write
-- (autograd uses it to refuse gradients of values changed after they were saved).
function Tensor:version() return tonumber(C.dob_storage_version(H(self))) end
--- x:is_leaf(): true when x was not made by a recorded op (a parameter or an input)
function Tensor:is_leaf() return C.dob_is_leaf(H(self)) ~= 0 end
--- x:grad_fn(): the name of the op that made x ("" for a leaf), for debugging autograd
function Tensor:grad_fn() return ffi.string(C.dob_grad_fn_name(H(self))) end

--- x:same_size(other): true when x and other have the same sizes
function Tensor:same_size(o)
   H(self)
   H(o, "other")
   local a, b = self:size(), o:size()
   if #a ~= #b then return false end
   for i = 1, #a do if a[i] ~= b[i] then return false end end
   return true
end

--- x:data(): an FFI pointer to x's first element (0-based indexing on the pointer!)
-- float*, int64_t* or uint8_t* by dtype; valid while x lives. Call x:mark_modified() after
-- writing through it.
function Tensor:data()
   local h = H(self)
   local dt = C.dob_dtype(h)
   return ffi.cast(dt == 0 and "float*" or dt == 1 and "int64_t*" or "uint8_t*", C.dob_data(h))
end

--- x:mark_modified(): bumps x's version after a write through x:data(); returns x
function Tensor:mark_modified() C.dob_mark_modified(H(self)); return self end

--- x:item(): the value of a one-element tensor, as a Lua number (an error for other sizes)
function Tensor:item()
   local h = H(self)
   if C.dob_numel(h) ~= 1 then A.fail("item", "the tensor has %d elements, not 1", tonumber(C.dob_numel(h))) end
   return C.dob_get(h, 0)
end

-- flat 1-based element access in row-major order
-- the 1-based flat position i as a 0-based offset, checked against the element count
local function flat_offset(h, i, op)
   local n = tonumber(C.dob_numel(h))
   if type(i) ~= "number" or i % 1 ~= 0 or i < 1 or i > n then
      A.wrong(op, "index", n == 0 and "a position, but the tensor is empty" or
         ("an integer in [1, %d]"):format(n), i)
   end
   return i - 1
end

--- x:get_flat(i): the i-th element in row-major order (1-based), a Lua number
function Tensor:get_flat(i)
   local h = H(self)
   return C.dob_get(h, flat_offset(h, i, "get_flat"))
end

--- x:set_flat(i, value): sets the i-th element in row-major order (1-based); returns x
function Tensor:set_flat(i, v)
   local h = H(self)
   check(C.dob_set(h, flat_offset(h, i, "set_flat"), A.number("set_flat", "value", v)))
   return self
end

-- t:get(i, j, ...) / t:set(v, i, j, ...) with 1-based indices
local function flat_index(self, ...)
   local h = self.h
   local n = select("#", ...)
   local nd = C.dob_ndim(h)
   if n ~= nd then A.fail(nil, "expected %d indices for a %d-dim tensor, got %d", nd, nd, n) end
   local idx = 0
   for d = 1, n do
      local i = select(d, ...)
      local s = tonumber(C.dob_size(h, d - 1))
      if type(i) ~= "number" or i < 1 or i > s or i % 1 ~= 0 then
         A.fail(nil, "index %s out of range 1..%d in dim %d (indices are 1-based)", A.describe(i), s, d)
      end
      idx = idx * s + (i - 1)
   end
   return idx
end

--- x:get(i, j, ...): the element at 1-based indices (one per dim), a Lua number
function Tensor:get(...)
   H(self)
   return C.dob_get(self.h, flat_index(self, ...))
end

--- x:set(value, i, j, ...): sets the element at 1-based indices (one per dim); returns x
function Tensor:set(v, ...)
   H(self)
   check(C.dob_set(self.h, flat_index(self, ...), A.number("set", "value", v)))
   return self
end

--- x:totable(): a nested Lua table of x's values (a number for a 0-dim tensor)
function Tensor:totable()
   local h = H(self)
   local c = C.dob_contiguous(h)
   if c == nil then A.raise(last_error()) end
   local sz = self:size()
   local n = tonumber(C.dob_numel(c))
   local dt = C.dob_dtype(c)
   local p = ffi.cast(dt == 0 and "float*" or dt == 1 and "int64_t*" or "uint8_t*", C.dob_data(c))
   local vals = {}
   for i = 0, n - 1 do vals[i + 1] = tonumber(p[i]) end
   C.dob_release(c)
   if #sz == 0 then return vals[1] end
   local k = 0
   local function build(d)
      local t = {}
      for i = 1, sz[d] do
         if d == #sz then k = k + 1; t[i] = vals[k] else t[i] = build(d + 1) end
      end
      return t
   end
   return build(1)
end

---------------------------------------------------------------------------------------
-- lifetime

--- x:free(): frees the tensor's memory now rather than at the next collection
-- Any later use of x is an error naming :free(); freeing twice is allowed.
function Tensor:free()
   if getmetatable(self) == Freed then return end
   local h = H(self)
   if h then
      ffi.gc(h, nil)
      C.dob_release(h)
      self.h = nil
   end
   setmetatable(self, Freed)
end

local FREED = "use of a freed tensor (:free() was called on it)"
local function nothing() end
Freed.__index = function(_, k)
   if k == "free" then return nothing end
   A.fail(type(k) == "string" and k or "index", FREED)
end
Freed.__tostring = function() return "[freed deepobs.Tensor]" end
for _, op in ipairs { "__add", "__sub", "__mul", "__div", "__mod", "__unm", "__pow", "__call", "__concat", "__lt", "__le",
   "__newindex" } do
   local name = ({ __newindex = "index", __concat = "..", __lt = "<", __le = "<=" })[op] or op:sub(3)
   Freed[op] = function() A.fail(name, FREED) end
end

---------------------------------------------------------------------------------------
-- views and copies

--- x:view(size1, size2, ...): a view of x with other sizes (one may be -1), sharing storage
-- x's strides must allow it (a contiguous x always does); else use x:reshape(...).
function Tensor:view(...) return wrap(C.dob_view(H(self), sizes_of("view", ...))) end
--- x:reshape(size1, size2, ...): x with other sizes (one may be -1): a view when possible, else a copy
function Tensor:reshape(...) return wrap(C.dob_reshape(H(self), sizes_of("reshape", ...))) end
--- x:view_as(other): x:view(other:size())
function Tensor:view_as(o)
   H(self)
   H(o, "other")
   return self:view(o:size())
end
--- x:flatten(first): dims first..last merged into one (first default 1: a 1-D tensor)
function Tensor:flatten(first)
   H(self)
   local sz = self:size()
   if #sz == 0 and (first == nil or first == 1) then return self:reshape({ 1 }) end
   first = A.dim("flatten", "first", first == nil and 1 or first, #sz) + 1
   local shape = {}
   for i = 1, first - 1 do shape[i] = sz[i] end
   shape[first] = -1
   return self:reshape(shape)
end
--- x:transpose(dim1, dim2): a view with the two dims swapped
function Tensor:transpose(d0, d1)
   return wrap(C.dob_transpose(H(self), cdim(d0, "transpose"), cdim(d1, "transpose")))
end
--- x:t(): the transpose of a 2-D tensor, a view
function Tensor:t()
   H(self)
   if self:dim() ~= 2 then error("t: expects a 2-D tensor, got " .. self:dim() .. "-D", 2) end
   return self:transpose(1, 2)
end
--- x:permute(dim1, dim2, ...): a view with the dims reordered (numbers or one table)
function Tensor:permute(...)
   H(self)
   local dims = select("#", ...) > 0 and type(...) == "table" and ... or { ... }
   if #dims > 64 then A.fail("permute", "at most 64 dims, got %d", #dims) end
   local arr = ints_t(math.max(#dims, 1))
   for i = 1, #dims do arr[i - 1] = cdim(dims[i], "permute") end
   return wrap(C.dob_permute(H(self), #dims, arr))
end
--- x:narrow(dim, first, length): the elements first .. first+length-1 along dim (1-based), a view
function Tensor:narrow(d, first, len)
   local h = H(self)
   -- inline checks: data loaders narrow once per batch
   if type(first) ~= "number" or first % 1 ~= 0 or first < 1 or first > A.EXACT then
      A.wrong("narrow", "first", "a positive integer", first)
   end
   if type(len) ~= "number" or len % 1 ~= 0 or len < 0 or len > A.EXACT then
      A.wrong("narrow", "length", "a non-negative integer", len)
   end
   return wrap(C.dob_narrow(h, cdim(d, "narrow"), first - 1, len))
end
--- x:slice(dim, first, last, step): elements first..last (inclusive) along dim every step, a view
-- 1-based; negative first/last count from the end (-1 the last); defaults: the whole dim, step 1.
function Tensor:slice(d, first, last, step)
   local h = H(self)
   local c = cdim(d, "slice")
   local n = C.dob_size(h, c)
   if n < 0 then A.fail("slice", "dim %d out of range for a %d-dim tensor", d, C.dob_ndim(h)) end
   n = tonumber(n)
   first = first == nil and 1 or cindex(first, "slice", "first")
   last = last == nil and n or cindex(last, "slice", "last")
   step = A.int("slice", "step", step, 1, nil, 1)
   -- cindex made both 0-based (negative still from the end): now 1-based positions
   first = first < 0 and n + first + 1 or first + 1
   last = last < 0 and n + last + 1 or last + 1
   return wrap(C.dob_slice(h, c, first - 1, math.max(last, first - 1), step))
end
--- x:select(dim, index): the slice at index along dim (1-based, negative from the end), a view one dim smaller
-- x[i] is x:select(1, i) for a tensor of 2 or more dims.
function Tensor:select(d, i)
   local h = H(self)
   return wrap(C.dob_select(h, cdim(d, "select"), cindex(i, "select")))
end
--- x:expand(size1, size2, ...): a view broadcasting size-1 dims to the given sizes (stride 0, no copy)
function Tensor:expand(...) return wrap(C.dob_expand(H(self), sizes_of("expand", ...))) end
--- x:expand_as(other): x:expand(other:size())
function Tensor:expand_as(o)
   H(self)
   H(o, "other")
   return self:expand(o:size())
end
--- x:squeeze(dim): a view without dim when its size is 1; with no dim, without every size-1 dim
function Tensor:squeeze(d)
   if d == nil then return wrap(C.dob_squeeze_all(H(self))) end
   return wrap(C.dob_squeeze(H(self), cdim(d, "squeeze")))
end
--- x:unsqueeze(dim): a view with a new size-1 dim at dim (-1 appends a last dim, as in torch)
function Tensor:unsqueeze(d)
   -- unsqueeze(-1) appends a new last dim, as in torch
   local h = H(self)
   return wrap(C.dob_unsqueeze(h, cdim(d, "unsqueeze")))
end
--- x:as_strided(sizes, strides, offset): any geometry on x's storage, a view
-- strides in elements, offset 1-based like storage_offset() (default: x's). Every element
-- must lie inside the storage; not differentiable.
function Tensor:as_strided(sizes, strides, offset)
   local h = H(self)
   if type(sizes) ~= "table" or type(strides) ~= "table" or #sizes ~= #strides then
      A.fail("as_strided", "expected two lists of the same length (sizes, strides)")
   end
   local n, sz = sizes_of("as_strided", sizes)
   local _, st = sizes_of("as_strided", strides)
   offset = A.int("as_strided", "offset", offset, 1, nil, self:storage_offset())
   return wrap(C.dob_as_strided(h, n, sz, st, offset - 1))
end
--- x:contiguous(): x in row-major order: a copy when x is not contiguous
function Tensor:contiguous() return wrap(C.dob_contiguous(H(self))) end
--- x:clone(): a contiguous copy of x (differentiable)
function Tensor:clone() return wrap(C.dob_clone(H(self))) end
--- x:detach(): x outside autograd: shares storage, does not require grad
function Tensor:detach() return wrap(C.dob_detach(H(self))) end
--- x:to(dtype): x converted to dtype ("float32", "int64", "uint8"), a new tensor
function Tensor:to(dtype) return wrap(C.dob_to_dtype(H(self), dtype_code(dtype))) end
--- x:float(): x:to("float32")
function Tensor:float() return wrap(C.dob_to_dtype(H(self), 0)) end
--- x:long(): x:to("int64")
function Tensor:long() return wrap(C.dob_to_dtype(H(self), 1)) end
--- x:byte(): x:to("uint8")
function Tensor:byte() return wrap(C.dob_to_dtype(H(self), 2)) end
--- x:split(size, dim): a list of views of size elements along dim (default 1); the last may be smaller
function Tensor:split(size, d)
   local h = H(self)
   d = d or 1
   local n = C.dob_size(h, cdim(d, "split"))
   if n < 0 then A.fail("split", "dim %s out of range for a %d-dim tensor", A.describe(d), C.dob_ndim(h)) end
   n = tonumber(n)
   size = A.int("split", "size", size, 1)
   local out = {}
   local first = 1
   while first <= n do
      out[#out + 1] = self:narrow(d, first, math.min(size, n - first + 1))
      first = first + size
   end
   return out
end
--- x:chunk(count, dim): a list of count views of equal size along dim (fewer when the dim is too small)
function Tensor:chunk(k, d)
   local h = H(self)
   d = d or 1
   local n = C.dob_size(h, cdim(d, "chunk"))
   if n < 0 then A.fail("chunk", "dim %s out of range for a %d-dim tensor", A.describe(d), C.dob_ndim(h)) end
   n = tonumber(n)
   k = A.int("chunk", "count", k, 1)
   return self:split(math.max(1, math.ceil(n / k)), d)
end

local function tensor_list(list, op)
   if type(list) ~= "table" or is_tensor(list) or #list == 0 then
      A.wrong(op, "tensors", "a non-empty list of tensors", list)
   end
   local arr = tensors_t(#list)
   for i = 1, #list do arr[i - 1] = H(list[i], "tensors[" .. i .. "]") end
   return #list, arr
end

--- dob.cat(tensors, dim): the tensors joined along dim (default 1), a new tensor
-- All sizes but dim must match; differentiable.
function M.cat(list, d)
   local n, arr = tensor_list(list, "cat")
   return wrap(C.dob_cat(n, arr, cdim(d or 1, "cat")))
end

--- dob.stack(tensors, dim): the same-sized tensors stacked along a new dim (default 1; -1 appends it)
function M.stack(list, d)
   local n, arr = tensor_list(list, "stack")
   -- stack(.., -1) appends a new last dim
   return wrap(C.dob_stack(n, arr, cdim(d or 1, "stack")))
end

---------------------------------------------------------------------------------------
-- in-place fills and copies

--- x:fill_(value): sets every element to value in place; returns x
function Tensor:fill_(v)
   local h = H(self)
   if type(v) ~= "number" then A.wrong("fill_", "value", "a number", v) end
   check(C.dob_fill_(h, v))
   return self
end
--- x:zero_(): sets every element to 0 in place; returns x
function Tensor:zero_()
   check(C.dob_fill_(H(self), 0))
   return self
end
--- x:copy_(src): copies src's values into x in place (src broadcast to x's shape, converted to x's dtype); returns x
function Tensor:copy_(src) check(C.dob_copy_(H(self), H(src, "source"))); return self end

---------------------------------------------------------------------------------------
-- autograd

--- x:requires_grad_(flag): marks x as needing gradients (flag default true); returns x
function Tensor:requires_grad_(flag)
   local h = H(self)
   flag = A.flag("requires_grad_", "flag", flag, true)
   check(C.dob_set_requires_grad(h, flag and 1 or 0))
   return self
end

--- x:requires_grad(): true when autograd records ops on x
function Tensor:requires_grad() return C.dob_requires_grad(H(self)) ~= 0 end

--- x:grad(): the gradient accumulated by backward (a tensor), or nil before any
-- A method, not a field (Torch7's convention).
function Tensor:grad()
   local g = C.dob_grad(H(self))
   if g == nil then return nil end
   return wrap(g)
end

--- x:set_grad(g): sets x's gradient to tensor g (nil clears it); returns x
function Tensor:set_grad(g)
   local h = H(self)
   check(C.dob_set_grad(h, g ~= nil and H(g, "grad") or nil))
   return self
end

--- x:backward(gradient, retain_graph): accumulates d x / d leaf into every leaf's :grad()
-- gradient defaults to 1 for a one-element x; retain_graph keeps the graph for another backward.
function Tensor:backward(grad, retain_graph)
   local h = H(self)
   -- The forward's intermediates that only the graph still needs are garbage on the Lua side
   -- now; collected, the graph holds their last reference, and backward frees each one as
   -- soon as the op that saved it has run.
   if handed_out_since_collect() > GC_BYTES / 4 then collect_now() end
   check(C.dob_backward(h, grad ~= nil and H(grad, "gradient") or nil, retain_graph and 1 or 0))
end

---------------------------------------------------------------------------------------
-- printing, Torch7 style



---------------------------------------------------------------------------------------
-- metatable

local special = {
   shape = function(t) return t:size() end,
}

-- t[i] with a 1-based i: the element of a 1-D tensor, else select(1, i)
local function element_or_row(t, i)
   local nd = C.dob_ndim(t.h)
   if nd == 0 then A.fail("index", "a 0-dim tensor cannot be indexed; use x:item()") end
   if i ~= i or i % 1 ~= 0 or i < 1 or i > C.dob_size(t.h, 0) then
      A.fail("index", "x[%s] is out of range: indices are 1-based integers in 1..%d", A.describe(i),
         tonumber(C.dob_size(t.h, 0)))
   end
   if nd == 1 then return t:get(i) end
   return t:select(1, i)
end

--- x[i] (__index): x's methods by name; x[i] the element of a 1-D tensor or x:select(1, i)
-- 1-based i; x.shape is x:size(); any other key is an error.
mt.__index = function(t, k)
   local m = Tensor[k]
   if m ~= nil then return m end
   if type(k) == "number" then
      local v = element_or_row(t, k)
      return v
   end
   local s = special[k]
   if s then return s(t) end
   A.fail("index", "a Tensor has no method or field %s", type(k) == "string" and ("'" .. k .. "'") or A.describe(k))
end

--- x[i] = v (__newindex): sets element i of a 1-D tensor, or fills (number) / copies (tensor) row i
-- Other fields cannot be set.
mt.__newindex = function(t, k, v)
   if type(k) ~= "number" then
      A.fail("index", "a Tensor's fields cannot be set (x[%s] = ...); only x[i] = value or tensor", A.describe(k))
   end
   local nd = C.dob_ndim(t.h)
   if nd == 0 then A.fail("index", "a 0-dim tensor cannot be indexed; use x:fill_(v)") end
   if k ~= k or k % 1 ~= 0 or k < 1 or k > C.dob_size(t.h, 0) then
      A.fail("index", "x[%s] is out of range: indices are 1-based integers in 1..%d", A.describe(k),
         tonumber(C.dob_size(t.h, 0)))
   end
   if nd == 1 then t:set(v, k); return end
   local row = t:select(1, k)
   if is_tensor(v) then row:copy_(v) else row:fill_(v) end
end

mt.__tostring = tensor_format.format
-- the methods a tensor offers, for tab completion (__index is a function)
mt.__class = Tensor

-- operators that Lua cannot give a tensor meaning (their results become booleans or
-- strings) raise an error that names the method to use

--- x < y (__lt): an error; use x:lt(y) (Lua turns the result into a boolean)
mt.__lt = function() A.fail("<", "tensors cannot be compared with < (Lua makes the result a boolean); use x:lt(y)") end
--- x <= y (__le): an error; use x:le(y)
mt.__le = function() A.fail("<=", "tensors cannot be compared with <= (Lua makes the result a boolean); use x:le(y)") end
--- x .. y (__concat): an error; use tostring(x), or dob.cat for tensors
mt.__concat = function() A.fail("..", "tensors cannot be concatenated with ..; use tostring(x), or dob.cat for tensors") end
--- x(...) (__call): an error; a tensor is not callable (use x:get(i, j) or x[i])
mt.__call = function() A.fail("call", "a tensor is not callable; use x:get(i, j) or x[i] for elements") end
-- a freed tensor compared with a live one: Lua calls the metamethod only when both
-- operands share it
Freed.__lt, Freed.__le = mt.__lt, mt.__le

--- v, checked to be an integer: an error naming op and argument `what` at the user's code
function M.int_arg(v, what, op)
   return A.int(op, what, v)
end

-- the activations conv2d, linear and batch_norm can apply to their output in the same op
local ACTIVATIONS = { none = C.DOB_ACT_NONE, relu = C.DOB_ACT_RELU }

--- v, an activation option (nil, "none" or "relu"), as the C API's code for it
function M.activation(op, name, v)
   if v == nil then return C.DOB_ACT_NONE end
   return ACTIVATIONS[A.string(op, name, v, ACTIVATIONS)]
end

A.describe_type(mt, function(t)
   return ("a %s tensor of size [%s]"):format(DTYPE_NAMES[C.dob_dtype(t.h)], table.concat(t:size(), "x"))
end)
A.describe_type(Freed, function() return "a freed tensor" end)

M.mt = mt
M.Freed = Freed
M.DTYPE_NAMES = DTYPE_NAMES
return M
