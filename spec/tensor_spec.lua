local dob = require "deepobs"

describe("tensors", function()
   it("are created with shapes and dtypes", function()
      assert.are.same({ 2, 3 }, dob.zeros(2, 3):size())
      assert.are.same({ 2, 3 }, dob.ones({ 2, 3 }):size())
      assert.are.equal("int64", dob.zeros(4, "int64"):dtype())
      assert.are.equal("uint8", dob.ones(4, "uint8"):dtype())
      assert.are.same({ 0, 2, 4 }, dob.arange(0, 6, 2):totable())
      assert.are.same({ { 1, 2 }, { 3, 4 } }, dob.tensor({ { 1, 2 }, { 3, 4 } }):totable())
      assert.are.equal(7, dob.scalar(7):item())
      assert.are.same({}, dob.scalar(7):size())
   end)

   it("convert between dtypes", function()
      local t = dob.tensor({ 1.7, -2.2, 300 })
      assert.are.same({ 1, -2, 300 }, t:long():totable())
      assert.are.same({ 1, 2 }, dob.tensor({ 1, 2 }, "int64"):float():totable())
   end)

   it("index with 1-based get/set and t[i]", function()
      local t = dob.zeros(2, 3)
      t:set(5, 2, 3)
      assert.are.equal(5, t:get(2, 3))
      assert.are.equal(5, t[2][3])
      t[1] = 4
      assert.are.same({ 4, 4, 4 }, t[1]:totable())
      assert.has_error(function() t:get(3, 1) end)
      assert.has_error(function() t:get(1) end)
   end)

   it("print in Torch7 style", function()
      local s = tostring(dob.tensor({ { 1, 2, 3 }, { 4, 5, 6 } }))
      assert.matches("%[deepobs.FloatTensor of size 2x3%]", s)
      assert.matches("1%s+2%s+3", s)
      assert.matches("%[deepobs.LongTensor of size 2%]", tostring(dob.zeros(2, "int64")))
      assert.matches("0.5000", tostring(dob.tensor({ 0.5, 1 })))
      assert.matches("%(2,1,.,.%)", tostring(dob.zeros(2, 2, 2, 2)))
   end)

   it("fill, copy with broadcasting and dtype conversion", function()
      local t = dob.zeros(2, 3)
      t:copy_(dob.tensor({ 1, 2, 3 }))
      assert.are.same({ { 1, 2, 3 }, { 1, 2, 3 } }, t:totable())
      t:copy_(dob.tensor({ 7, 8, 9 }, "int64"))
      assert.are.same({ 7, 8, 9 }, t[2]:totable())
      assert.has_error(function() t:copy_(dob.zeros(4)) end)
   end)

   it("a freed tensor is an error on any use, never a crash", function()
      local t = dob.ones(3)
      local v = t:view(3)
      t:free()
      assert.has_error(function() return t:size() end)
      assert.has_error(function() return t + 1 end)
      assert.has_error(function() return v + t end)
      assert.are.same({ 1, 1, 1 }, v:totable())   -- views keep the storage alive
      t:free()                                    -- twice is harmless
   end)

   it("non-tensor arguments give clear errors", function()
      local ok, err = pcall(function() return dob.ones(2) + "x" end)
      assert.is_false(ok)
      assert.matches("must be a deepobs Tensor", err)
      assert.has_error(function() dob.zeros(-1) end)
      assert.has_error(function() dob.zeros(2, "float64") end)
      assert.has_error(function() dob.tensor({ { 1, 2 }, { 3 } }) end)
   end)

   it("report the OpenBLAS kernel in use, autodetected rather than the inherited one", function()
      local info = dob.blas_info()
      assert.matches("USE_OPENMP", info.config)
      local f = io.open("/proc/cpuinfo")
      local cpu = f and f:read("*a") or ""
      if f then f:close() end
      if os.getenv("DEEPOBS_BLAS_CORETYPE") == nil and cpu:find(" avx512f ") then
         assert.are_not.equal("Haswell", info.corename)
      end
   end)

   it("LuaJIT runs in GC64 mode (no 2 GB Lua heap limit)", function()
      assert.is_true(require("ffi").abi("gc64"))
   end)
end)
