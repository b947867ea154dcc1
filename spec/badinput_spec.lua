-- Throws invalid arguments at every function of the C API (parsed from the
-- generated cdef): NULL tensors, freed tensors, NULL arrays, negative sizes,
-- NaN scalars. Each call must come back (no crash) and, when it was given a
-- bad tensor, report failure with a message.
local ffi = require "ffi"
local dob = require "deepobs"
local C = require("deepobs.C").lib
local cdef = require "deepobs.cdef"

local functions = {}
for ret, name, args in cdef:gmatch("\n([%w_ %*]-)%s*%*?%s*(dob_[%w_]+)%(([^)]*)%);") do
   local full = cdef:match("\n([^\n]-" .. name .. "%([^)]*%);)")
   local returns_ptr = full:match("^[^(]*%*%s*" .. name) ~= nil
   local params = {}
   if args ~= "void" then
      for p in args:gmatch("[^,]+") do params[#params + 1] = p:gsub("^%s+", ""):gsub("%s+$", "") end
   end
   functions[#functions + 1] = { name = name, params = params, returns_ptr = returns_ptr, ret = ret }
end

local function has_tensor_param(f)
   for _, p in ipairs(f.params) do
      if p:match("^const dob_tensor %*[%w_]+$") or p:match("^dob_tensor %*[%w_]+$") then return true end
   end
   return false
end

-- argument for a parameter declaration; `tensor` stands in for tensor handles
local function bad_arg(p, tensor)
   if p:match("dob_tensor %*const %*") or p:match("dob_tensor %*%*") then return nil end
   if p:match("dob_tensor %*") then return tensor end
   if p:match("%*") then return nil end
   if p:match("^double") then return 0 / 0 end
   if p:match("^uint64_t") then return 0 end
   return -1
end

-- these take a handle but are defined to do nothing (or answer) for an invalid one
local MAY_IGNORE = { dob_retain = true, dob_release = true, dob_mark_modified = true, dob_all_finite = true,
   dob_grad_fn_name = true }

local function call_all(tensor_for)
   local called = 0
   for _, f in ipairs(functions) do
      local ok_sym, fn = pcall(function() return C[f.name] end)
      if ok_sym and has_tensor_param(f) then
         C.dob_clear_error()
         local args = {}
         for i, p in ipairs(f.params) do args[i] = bad_arg(p, tensor_for()) end
         local r = fn(unpack(args, 1, #f.params))
         called = called + 1
         local failed
         if f.returns_ptr then
            failed = (r == nil)
            if r ~= nil and ffi.istype("dob_tensor *", r) then C.dob_release(r) end
         elseif type(r) == "number" then
            failed = (r == -1) or r ~= r or r == 0
         else
            failed = true
         end
         -- functions that take no required tensor may legitimately succeed
         if not failed then
            local msg = ffi.string(C.dob_last_error())
            assert(msg ~= "" or MAY_IGNORE[f.name], f.name .. " accepted a bad tensor without an error")
         end
      end
   end
   return called
end

describe("invalid calls to every C entry point", function()
   it("NULL tensors and arrays come back with an error, not a crash", function()
      local n = call_all(function() return nil end)
      assert.is_true(n > 60, "only " .. n .. " functions were exercised")
   end)

   it("freed tensor handles are recognised", function()
      local t = C.dob_zeros(0, 1, ffi.new("int64_t[1]", 3))
      C.dob_release(t)
      assert.are.equal(0, C.dob_is_valid(t))
      call_all(function() return t end)
      assert.is_true(C.dob_binary(0, t, t) == nil)
      assert.matches("not a valid tensor", ffi.string(C.dob_last_error()))
   end)

   it("as_strided refuses every out-of-range geometry with an error, and the storage accessors invalid handles", function()
      local t = C.dob_zeros(0, 1, ffi.new("int64_t[1]", 12))
      local huge = { -1, -2 ^ 62, -9223372036854775807LL - 1, 13, 2 ^ 62, 9223372036854775807LL }
      local tried = 0
      local function refused(ndim, sizes, strides, offset)
         C.dob_clear_error()
         local r = C.dob_as_strided(t, ndim, sizes, strides, offset)
         if r ~= nil then C.dob_release(r) end
         assert.is_true(r == nil, ("as_strided accepted ndim %d offset %s"):format(ndim, tostring(offset)))
         assert.matches("^as_strided: ", ffi.string(C.dob_last_error()))
         tried = tried + 1
      end
      for _, ndim in ipairs { -1, 9, 100, -2 ^ 31 } do
         refused(ndim, ffi.new("int64_t[9]"), ffi.new("int64_t[9]"), 0)
      end
      refused(2, nil, ffi.new("int64_t[2]", 1, 1), 0)
      refused(2, ffi.new("int64_t[2]", 1, 1), nil, 0)
      for ndim = 1, 3 do
         for d = 0, ndim - 1 do
            for _, v in ipairs(huge) do
               for _, field in ipairs { "size", "stride" } do
                  local sizes, strides = ffi.new("int64_t[3]", 2, 2, 2), ffi.new("int64_t[3]", 1, 1, 1)
                  if field == "size" then sizes[d] = v else strides[d] = v end
                  refused(ndim, sizes, strides, 0)
               end
            end
         end
      end
      for _, offset in ipairs { -1, 12, 13, 2 ^ 62, -9223372036854775807LL - 1, 9223372036854775807LL } do
         refused(1, ffi.new("int64_t[1]", 1), ffi.new("int64_t[1]", 1), offset)
      end
      refused(2, ffi.new("int64_t[2]", 2 ^ 31, 2 ^ 31), ffi.new("int64_t[2]", 0, 0), 0)
      refused(2, ffi.new("int64_t[2]", 3, 3), ffi.new("int64_t[2]", 2 ^ 62, 2 ^ 62), 0)
      refused(2, ffi.new("int64_t[2]", 3, 3), ffi.new("int64_t[2]", 4, 2), 1)
      assert.is_true(tried > 50)
      local fine = C.dob_as_strided(t, 2, ffi.new("int64_t[2]", 3, 3), ffi.new("int64_t[2]", 4, 1), 1)
      assert.is_true(fine ~= nil)
      assert.are.equal(C.dob_storage_id(t), C.dob_storage_id(fine))
      assert.are.equal(12, tonumber(C.dob_storage_numel(fine)))
      C.dob_release(fine)
      C.dob_release(t)
      assert.is_true(C.dob_storage_id(t) == nil)
      assert.are.equal(-1, tonumber(C.dob_storage_numel(t)))
      refused(1, ffi.new("int64_t[1]", 1), ffi.new("int64_t[1]", 1), 0)
   end)

   it("every declared function exists in the library", function()
      local missing = {}
      for _, f in ipairs(functions) do
         if not pcall(function() return C[f.name] end) then missing[#missing + 1] = f.name end
      end
      assert.are.same({}, missing)
   end)

   it("the cdef is in sync with the headers", function()
      local p = io.popen("luajit scripts/gen_cdef.lua src/deepobs.h")
      local fresh = p:read("*a")
      p:close()
      assert.are.equal(fresh, "-- GENERATED by scripts/gen_cdef.lua from src/deepobs.h; do not edit.\nreturn [[\n" .. cdef .. "]]\n")
   end)
end)
