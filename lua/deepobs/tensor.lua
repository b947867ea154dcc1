-- The Tensor class: a Lua table { h = <dob_tensor* cdata> } whose metatable
-- carries the methods and operators. Dims and indices are 1-based, as in
-- Torch7; negative dims count from the end (-1 is the last).
--
-- Memory: the garbage collector sees only the small Lua table, never the
-- tensor bytes, so every new tensor checks how many bytes C holds and runs a
-- full collection when that passed a threshold (then set to twice what
-- survived, and at least 64 MB). A full collection of a Lua heap of a few
-- thousand objects takes well under a millisecond. Freed storage goes back to the C allocator's cache and is
-- reused, so resident memory stays flat.
local ffi = require "ffi"
local Cmod = require "deepobs.C"
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

-- at least this much garbage may build up between collections (DEEPOBS_GC_MIN_MB)
local MIN_GC_BYTES = (tonumber(os.getenv("DEEPOBS_GC_MIN_MB") or "") or 64) * 2 ^ 20
local gc_threshold = MIN_GC_BYTES

local function pace_gc()
   if tonumber(C.dob_mem_live_bytes()) > gc_threshold then
      collectgarbage("collect")
      gc_threshold = math.max(MIN_GC_BYTES, 2 * tonumber(C.dob_mem_live_bytes()))
   end
end

-- Takes ownership of a new reference returned by C (NULL: raise its error).
local function wrap(p, level)
   if p == nil then error(last_error(), (level or 2) + 1) end
   pace_gc()
   return setmetatable({ h = ffi.gc(p, C.dob_release) }, mt)
end

local function check(rc, level)
   if rc ~= 0 then error(last_error(), (level or 2) + 1) end
end

-- The handle of a tensor argument, with a clear error for anything else.
local function H(t, what)
   if getmetatable(t) == mt then return t.h end
   if getmetatable(t) == Freed then error((what or "argument") .. " is a tensor that was freed", 3) end
   error(("%s must be a deepobs Tensor, got %s"):format(what or "argument", type(t)), 3)
end

local function is_tensor(x) return getmetatable(x) == mt end

local function dtype_code(d)
   if d == nil then return 0 end
   if type(d) == "number" and DTYPE_NAMES[d] then return d end
   local c = DTYPES[d]
   if not c then error(("unknown dtype %s (use 'float32', 'int64' or 'uint8')"):format(tostring(d)), 3) end
   return c
end

-- Lua dim (1-based, negative from the end) -> C dim (0-based, negative kept)
local function cdim(d, what)
   if type(d) ~= "number" or d == 0 or d % 1 ~= 0 then
      error(("%s: dim must be a nonzero integer (1-based; -1 is the last), got %s")
         :format(what or "dim", tostring(d)), 3)
   end
   return d > 0 and d - 1 or d
end

-- sizes from either varargs numbers or one table; returns n, int64_t[n]
local function sizes_of(...)
   local first = ...
   local list
   if type(first) == "table" and not is_tensor(first) then list = first else list = { ... } end
   local n = #list
   local arr = sizes_t(math.max(n, 1))
   for i = 1, n do
      local v = list[i]
      if type(v) ~= "number" or v % 1 ~= 0 then
         error(("sizes must be integers, got %s at position %d"):format(tostring(v), i), 3)
      end
      arr[i - 1] = v
   end
   return n, arr
end

-- trailing dtype string among varargs: zeros(2, 3, "int64")
local function split_dtype(...)
   local n = select("#", ...)
   local last = select(n, ...)
   if n > 0 and type(last) == "string" then
      local args = { ... }
      args[n] = nil
      return DTYPES[last] or dtype_code(last), unpack(args, 1, n - 1)
   end
   return 0, ...
end

---------------------------------------------------------------------------------------
-- construction

local M = { Tensor = Tensor, wrap = wrap, check = check, H = H, is_tensor = is_tensor,
   cdim = cdim, sizes_of = sizes_of, dtype_code = dtype_code, last_error = last_error,
   sizes_t = sizes_t, ints_t = ints_t, tensors_t = tensors_t, mt = mt }

function M.empty(...)
   local dt = split_dtype(...)
   return wrap(C.dob_empty(dt, sizes_of(select(2, split_dtype(...)))))
end

function M.zeros(...)
   local dt = split_dtype(...)
   return wrap(C.dob_zeros(dt, sizes_of(select(2, split_dtype(...)))))
end

function M.ones(...)
   local dt = split_dtype(...)
   local n, s = sizes_of(select(2, split_dtype(...)))
   return wrap(C.dob_full(dt, n, s, 1))
end

function M.full(sizes, value, dtype)
   local n, s = sizes_of(sizes)
   return wrap(C.dob_full(dtype_code(dtype), n, s, value))
end

function M.arange(a, b, step, dtype)
   if b == nil then a, b = 0, a end
   return wrap(C.dob_arange(dtype_code(dtype), a, b, step or 1))
end

function M.scalar(v, dtype)
   return wrap(C.dob_full(dtype_code(dtype), 0, nil, v))
end

-- nested Lua table (or a number) -> tensor
function M.tensor(data, dtype)
   if type(data) == "number" then return M.scalar(data, dtype) end
   if is_tensor(data) then return data:clone() end
   if type(data) ~= "table" then error("tensor: expected a (nested) table of numbers, got " .. type(data), 2) end
   local shape, probe = {}, data
   while type(probe) == "table" do
      shape[#shape + 1] = #probe
      probe = probe[1]
   end
   local flat, k = {}, 0
   local function walk(t, d)
      if #t ~= shape[d] then error(("tensor: ragged table (dim %d has %d and %d entries)"):format(d, shape[d], #t), 4) end
      for i = 1, #t do
         local v = t[i]
         if d < #shape then
            if type(v) ~= "table" then error("tensor: ragged table", 4) end
            walk(v, d + 1)
         else
            if type(v) ~= "number" then error("tensor: non-number entry " .. tostring(v), 4) end
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
   local n, sizes = sizes_of(shape)
   return wrap(C.dob_from_doubles(dt, n, sizes, values))
end

---------------------------------------------------------------------------------------
-- metadata

function Tensor:dim() return C.dob_ndim(H(self)) end
Tensor.ndim = Tensor.dim
function Tensor:nElement() return tonumber(C.dob_numel(H(self))) end
Tensor.numel = Tensor.nElement

function Tensor:size(d)
   local h = H(self)
   local n = C.dob_ndim(h)
   if d then
      local c = cdim(d, "size")
      local s = C.dob_size(h, c)
      if s < 0 then error(("size: dim %d out of range for a %d-dim tensor"):format(d, n), 2) end
      return tonumber(s)
   end
   local t = {}
   for i = 1, n do t[i] = tonumber(C.dob_size(h, i - 1)) end
   return t
end

function Tensor:stride(d)
   local h = H(self)
   if d then return tonumber(C.dob_stride(h, cdim(d, "stride"))) end
   local t = {}
   for i = 1, C.dob_ndim(h) do t[i] = tonumber(C.dob_stride(h, i - 1)) end
   return t
end

function Tensor:dtype() return DTYPE_NAMES[C.dob_dtype(H(self))] end
function Tensor:type() return TYPE_NAMES[C.dob_dtype(H(self))] end
function Tensor:is_contiguous() return C.dob_is_contiguous(H(self)) ~= 0 end
Tensor.isContiguous = Tensor.is_contiguous
function Tensor:storage_offset() return tonumber(C.dob_storage_offset(H(self))) + 1 end
function Tensor:is_same_storage(o) return C.dob_same_storage(H(self), H(o, "other")) ~= 0 end
function Tensor:version() return tonumber(C.dob_storage_version(H(self))) end
function Tensor:is_leaf() return C.dob_is_leaf(H(self)) ~= 0 end
function Tensor:grad_fn() return ffi.string(C.dob_grad_fn_name(H(self))) end

function Tensor:same_size(o)
   local a, b = self:size(), o:size()
   if #a ~= #b then return false end
   for i = 1, #a do if a[i] ~= b[i] then return false end end
   return true
end

-- raw pointer to element 1 (0-based indexing on the pointer!); valid while
-- the tensor lives. Call :mark_modified() after writing through it.
function Tensor:data()
   local h = H(self)
   local dt = C.dob_dtype(h)
   return ffi.cast(dt == 0 and "float*" or dt == 1 and "int64_t*" or "uint8_t*", C.dob_data(h))
end

function Tensor:mark_modified() C.dob_mark_modified(H(self)); return self end

-- value of a one-element tensor
function Tensor:item()
   local h = H(self)
   if C.dob_numel(h) ~= 1 then
      error(("item: the tensor has %d elements, not 1"):format(tonumber(C.dob_numel(h))), 2)
   end
   return C.dob_get(h, 0)
end

-- flat 1-based element access in row-major order
function Tensor:get_flat(i)
   local v = C.dob_get(H(self), i - 1)
   if v ~= v and C.dob_last_error()[0] ~= 0 then
      local msg = last_error()
      if msg:find("^get:") then C.dob_clear_error(); error(msg, 2) end
   end
   return v
end

function Tensor:set_flat(i, v)
   check(C.dob_set(H(self), i - 1, v))
   return self
end

-- t:get(i, j, ...) / t:set(v, i, j, ...) with 1-based indices
local function flat_index(self, ...)
   local h = self.h
   local n = select("#", ...)
   local nd = C.dob_ndim(h)
   if n ~= nd then error(("expected %d indices for a %d-dim tensor, got %d"):format(nd, nd, n), 3) end
   local idx = 0
   for d = 1, n do
      local i = select(d, ...)
      local s = tonumber(C.dob_size(h, d - 1))
      if type(i) ~= "number" or i < 1 or i > s or i % 1 ~= 0 then
         error(("index %s out of range 1..%d in dim %d"):format(tostring(i), s, d), 3)
      end
      idx = idx * s + (i - 1)
   end
   return idx
end

function Tensor:get(...)
   H(self)
   return C.dob_get(self.h, flat_index(self, ...))
end

function Tensor:set(v, ...)
   H(self)
   check(C.dob_set(self.h, flat_index(self, ...), v))
   return self
end

-- nested Lua table (numbers for a 0-dim tensor)
function Tensor:totable()
   local h = H(self)
   local c = C.dob_contiguous(h)
   if c == nil then error(last_error(), 2) end
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

-- Frees the tensor now rather than at the next collection. Any later use of
-- this Lua object is an error.
function Tensor:free()
   local h = self.h
   if h then
      ffi.gc(h, nil)
      C.dob_release(h)
      self.h = nil
   end
   setmetatable(self, Freed)
end

Freed.__index = function(_, k)
   if k == "free" then return function() end end
   error("use of a freed tensor (:free() was called on it)", 2)
end
Freed.__tostring = function() return "[freed deepobs.Tensor]" end
for _, op in ipairs { "__add", "__sub", "__mul", "__div", "__unm", "__pow", "__len", "__call", "__concat", "__eq", "__lt", "__le" } do
   Freed[op] = function() error("use of a freed tensor (:free() was called on it)", 2) end
end
Freed.__newindex = Freed[ "__add" ]

---------------------------------------------------------------------------------------
-- views and copies

function Tensor:view(...) return wrap(C.dob_view(H(self), sizes_of(...))) end
function Tensor:reshape(...) return wrap(C.dob_reshape(H(self), sizes_of(...))) end
function Tensor:view_as(o) return self:view(o:size()) end
function Tensor:flatten(first)
   first = first or 1
   local sz = self:size()
   if #sz == 0 then return self:reshape({ 1 }) end
   local shape = {}
   for i = 1, first - 1 do shape[i] = sz[i] end
   shape[first] = -1
   return self:reshape(shape)
end
function Tensor:transpose(d0, d1)
   return wrap(C.dob_transpose(H(self), cdim(d0, "transpose"), cdim(d1, "transpose")))
end
function Tensor:t()
   if self:dim() ~= 2 then error("t: expects a 2-D tensor, got " .. self:dim() .. "-D", 2) end
   return self:transpose(1, 2)
end
function Tensor:permute(...)
   local dims = type(...) == "table" and ... or { ... }
   local arr = ints_t(math.max(#dims, 1))
   for i = 1, #dims do arr[i - 1] = cdim(dims[i], "permute") end
   return wrap(C.dob_permute(H(self), #dims, arr))
end
-- narrow(dim, first, length): elements first .. first+length-1 (1-based)
function Tensor:narrow(d, first, len)
   return wrap(C.dob_narrow(H(self), cdim(d, "narrow"), first - 1, len))
end
-- slice(dim, first, last, step): first..last inclusive (1-based; negative
-- counts from the end, -1 the last)
function Tensor:slice(d, first, last, step)
   local h = H(self)
   local c = cdim(d, "slice")
   local n = C.dob_size(h, c)
   if n < 0 then error(("slice: dim %d out of range"):format(d), 2) end
   n = tonumber(n)
   first = first or 1
   last = last or n
   if first < 0 then first = n + first + 1 end
   if last < 0 then last = n + last + 1 end
   return wrap(C.dob_slice(h, c, first - 1, math.max(last, first - 1), step or 1))
end
function Tensor:select(d, i)
   return wrap(C.dob_select(H(self), cdim(d, "select"), i > 0 and i - 1 or i))
end
function Tensor:expand(...) return wrap(C.dob_expand(H(self), sizes_of(...))) end
function Tensor:expand_as(o) return self:expand(o:size()) end
function Tensor:squeeze(d)
   if d == nil then return wrap(C.dob_squeeze_all(H(self))) end
   return wrap(C.dob_squeeze(H(self), cdim(d, "squeeze")))
end
function Tensor:unsqueeze(d)
   -- unsqueeze(-1) appends a new last dim, as in torch
   local c = d > 0 and d - 1 or d
   return wrap(C.dob_unsqueeze(H(self), c))
end
-- as_strided(sizes, strides[, offset]): any geometry on this tensor's storage,
-- strides in elements, offset 1-based like storage_offset() (default: this
-- tensor's). Every element must lie inside the storage; not differentiable.
function Tensor:as_strided(sizes, strides, offset)
   local h = H(self)
   if type(sizes) ~= "table" or type(strides) ~= "table" or #sizes ~= #strides then
      error("as_strided: expected two lists of the same length (sizes, strides)", 2)
   end
   local n, sz = sizes_of(sizes)
   local _, st = sizes_of(strides)
   offset = offset or self:storage_offset()
   M.int_arg(offset, "offset", "as_strided")
   return wrap(C.dob_as_strided(h, n, sz, st, offset - 1))
end
function Tensor:contiguous() return wrap(C.dob_contiguous(H(self))) end
function Tensor:clone() return wrap(C.dob_clone(H(self))) end
function Tensor:detach() return wrap(C.dob_detach(H(self))) end
function Tensor:to(dtype) return wrap(C.dob_to_dtype(H(self), dtype_code(dtype))) end
function Tensor:float() return self:to("float32") end
function Tensor:long() return self:to("int64") end
function Tensor:byte() return self:to("uint8") end
-- split into pieces of `size` along dim (the last may be smaller)
function Tensor:split(size, d)
   d = d or 1
   local n = self:size(d)
   local out = {}
   local first = 1
   while first <= n do
      out[#out + 1] = self:narrow(d, first, math.min(size, n - first + 1))
      first = first + size
   end
   return out
end
function Tensor:chunk(k, d)
   d = d or 1
   return self:split(math.ceil(self:size(d) / k), d)
end

local function tensor_list(list, what)
   if type(list) ~= "table" or #list == 0 then error(what .. ": expected a non-empty list of tensors", 3) end
   local arr = tensors_t(#list)
   for i = 1, #list do arr[i - 1] = H(list[i], what .. " tensor " .. i) end
   return #list, arr
end

function M.cat(list, d)
   local n, arr = tensor_list(list, "cat")
   return wrap(C.dob_cat(n, arr, cdim(d or 1, "cat")))
end

function M.stack(list, d)
   local n, arr = tensor_list(list, "stack")
   -- stack(.., -1) appends a new last dim
   d = d or 1
   return wrap(C.dob_stack(n, arr, d > 0 and d - 1 or d))
end

---------------------------------------------------------------------------------------
-- in-place fills and copies

function Tensor:fill_(v) check(C.dob_fill_(H(self), v)); return self end
function Tensor:zero_() return self:fill_(0) end
function Tensor:copy_(src) check(C.dob_copy_(H(self), H(src, "source"))); return self end

---------------------------------------------------------------------------------------
-- autograd

function Tensor:requires_grad_(flag)
   if flag == nil then flag = true end
   check(C.dob_set_requires_grad(H(self), flag and 1 or 0))
   return self
end

function Tensor:requires_grad() return C.dob_requires_grad(H(self)) ~= 0 end

-- the accumulated gradient (a tensor), or nil
function Tensor:grad()
   local g = C.dob_grad(H(self))
   if g == nil then return nil end
   return wrap(g)
end

function Tensor:set_grad(g)
   check(C.dob_set_grad(H(self), g and H(g, "grad") or nil))
   return self
end

function Tensor:backward(grad, retain_graph)
   check(C.dob_backward(H(self), grad and H(grad, "gradient") or nil, retain_graph and 1 or 0))
end

---------------------------------------------------------------------------------------
-- printing, Torch7 style



---------------------------------------------------------------------------------------
-- metatable

local special = {
   shape = function(t) return t:size() end,
}

mt.__index = function(t, k)
   local m = Tensor[k]
   if m ~= nil then return m end
   if type(k) == "number" then
      -- t[i]: select along dim 1 (a number for a 1-D tensor)
      if C.dob_ndim(t.h) == 1 then return t:get(k) end
      return t:select(1, k)
   end
   local s = special[k]
   if s then return s(t) end
   return nil
end

mt.__newindex = function(t, k, v)
   if type(k) == "number" then
      if C.dob_ndim(t.h) == 1 then t:set(v, k); return end
      local row = t:select(1, k)
      if is_tensor(v) then row:copy_(v) else row:fill_(v) end
      return
   end
   rawset(t, k, v)
end

mt.__tostring = tensor_format.format
-- the methods a tensor offers, for tab completion (__index is a function)
mt.__class = Tensor
mt.__len = function(t) return C.dob_ndim(t.h) > 0 and tonumber(C.dob_size(t.h, 0)) or 0 end

--- v, checked to be an integer: an error naming the op and the argument, raised
-- `level` frames up (default 3: the caller of the op that called this)
function M.int_arg(v, what, op, level)
   if type(v) ~= "number" or v % 1 ~= 0 then
      error(("%s: %s must be an integer, got %s"):format(op, what, tostring(v)), level or 3)
   end
   return v
end

M.mt = mt
M.Freed = Freed
M.DTYPE_NAMES = DTYPE_NAMES
return M
