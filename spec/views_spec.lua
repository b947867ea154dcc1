local dob = require "deepobs"
local H = require "helpers.gradcheck"

local function range(...)
   local t = dob.arange(dob.zeros(...):numel()):view(...)
   return t
end

describe("views", function()
   it("share storage and see writes", function()
      local a = range(2, 3)
      local v = a:view(3, 2)
      assert.is_true(v:is_same_storage(a))
      v:set(100, 3, 2)
      assert.are.equal(100, a:get(2, 3))
   end)

   it("view/reshape infer -1 and reject wrong sizes", function()
      local a = range(4, 6)
      assert.are.same({ 2, 12 }, a:view(2, -1):size())
      assert.has_error(function() a:view(5, -1) end)
      local ok, err = pcall(function() return a:view(7, 3) end)
      assert.is_false(ok)
      assert.matches("view: shape %[7x3%] is invalid for a tensor %[4x6%]", err)
   end)

   it("view of a transposed tensor fails where torch's does; reshape copies", function()
      local a = range(2, 3):t()
      local ok, err = pcall(function() return a:view(6) end)
      assert.is_false(ok)
      assert.matches("reshape", err)
      local r = a:reshape(6)
      assert.are.same({ 0, 3, 1, 4, 2, 5 }, r:totable())
      -- splitting a dim of a non-contiguous tensor is still a view
      local b = range(4, 6):t()       -- [6x4] strides (1, 6)
      local c = b:view(2, 3, 4)
      assert.is_true(c:is_same_storage(b))
      assert.are.equal(b:get(4, 2), c:get(2, 1, 2))
   end)

   it("transpose/permute/narrow/slice/select/expand give the right elements", function()
      local a = range(2, 3, 4)
      assert.are.same({ 4, 3, 2 }, a:permute(3, 2, 1):size())
      assert.are.equal(a:get(2, 3, 1), a:permute(3, 2, 1):get(1, 3, 2))
      assert.are.same({ { 4, 5, 6, 7 }, { 8, 9, 10, 11 } }, a[1]:narrow(1, 2, 2):totable())
      assert.are.same({ 1, 3 }, a[1][1]:slice(1, 2, 4, 2):totable())
      assert.are.same({ 3, 7, 11 }, a[1]:select(2, -1):totable())
      assert.are.same({ { 0, 1 }, { 0, 1 }, { 0, 1 } }, range(2):expand(3, 2):totable())
      assert.are.same({ 2, 1, 3 }, range(2, 3):unsqueeze(2):size())
      assert.are.same({ 2, 3 }, range(1, 2, 1, 3):squeeze():size())
      assert.are.same({ 2, 1, 3 }, range(1, 2, 1, 3):squeeze(1):size())
   end)

   it("out-of-range arguments are clear errors", function()
      local a = range(2, 3)
      assert.has_error(function() a:narrow(2, 3, 2) end)
      assert.has_error(function() a:select(1, 3) end)
      assert.has_error(function() a:transpose(1, 3) end)
      assert.has_error(function() a:permute(1, 1) end)
      assert.has_error(function() a:expand(3, 4) end)
      assert.has_error(function() a:size(0) end)
   end)

   it("cat and stack along any dim", function()
      local a, b = range(2, 2), range(2, 2) + 10
      assert.are.same({ { 0, 1 }, { 2, 3 }, { 10, 11 }, { 12, 13 } }, dob.cat({ a, b }, 1):totable())
      assert.are.same({ { 0, 1, 10, 11 }, { 2, 3, 12, 13 } }, dob.cat({ a, b }, 2):totable())
      assert.are.same({ 2, 2, 2 }, dob.stack({ a, b }, 2):size())
      assert.are.same({ { 0, 10 }, { 1, 11 } }, dob.stack({ a, b }, 3)[1]:totable())
      assert.has_error(function() dob.cat({ a, range(3, 3) }, 1) end)
   end)

   it("gradients flow through every view", function()
      local x = H.rand({ 3, 4 }, 1):requires_grad_()
      local fs = {
         function(t) return t:view(2, 6) * 2 end,
         function(t) return t:t() * t:t() end,
         function(t) return t:permute(2, 1):reshape(12) * 3 end,
         function(t) return t:narrow(2, 2, 2) * t:narrow(2, 1, 2) end,
         function(t) return t:slice(2, 1, 4, 2) * 1.5 end,
         function(t) return t:select(1, 2) * t:select(2, 3):narrow(1, 1, 3):unsqueeze(1):expand(4, 3):t():select(1, 1) end,
         function(t) return t:unsqueeze(1):expand(2, 3, 4) * 1 end,
         function(t) return dob.cat({ t, t * 2 }, 2) end,
         function(t) return dob.stack({ t, t:exp() }, 3) end,
         function(t) return t:t():contiguous() * 1 end,
      }
      for i, f in ipairs(fs) do
         local ok, msg = H.gradcheck(f, { x })
         assert(ok, ("view function %d: %s"):format(i, tostring(msg)))
      end
   end)
end)
