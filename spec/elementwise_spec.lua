local dob = require "deepobs"
local H = require "helpers.gradcheck"

describe("elementwise ops", function()
   it("broadcast add/sub/mul/div against hand values", function()
      local a = dob.tensor({ { 1, 2, 3 }, { 4, 5, 6 } })
      local b = dob.tensor({ 10, 20, 30 })
      assert.are.same({ { 11, 22, 33 }, { 14, 25, 36 } }, (a + b):totable())
      assert.are.same({ { -9, -18, -27 }, { -6, -15, -24 } }, (a - b):totable())
      assert.are.same({ { 10, 40, 90 }, { 40, 100, 180 } }, (a * b):totable())
      assert.are.same({ { 2, 4, 6 }, { 8, 10, 12 } }, (a * 2):totable())
      assert.are.same({ { 0, -1, -2 }, { -3, -4, -5 } }, (1 - a):totable())
      assert.is_true(H.max_diff(12 / a, { { 12, 6, 4 }, { 3, 2.4, 2 } }) < 1e-6)
   end)

   it("rejects shapes that do not broadcast, naming both", function()
      local ok, err = pcall(function() return dob.zeros(2, 3) + dob.zeros(4) end)
      assert.is_false(ok)
      assert.matches("add: shapes %[2x3%] and %[4%] cannot be broadcast", err)
   end)

   local binaries = { "add", "sub", "mul", "div", "pow", "maximum", "minimum" }
   for _, name in ipairs(binaries) do
      it("gradient of " .. name .. " with broadcasting", function()
         local a = H.rand({ 3, 4 }, 1, 0.5, 2):requires_grad_()
         local b = H.rand({ 4 }, 2, 0.5, 2):requires_grad_()
         assert(H.gradcheck(function(x, y) return x[name](x, y) end, { a, b }))
         local c = H.rand({ 2, 1, 3 }, 3, 0.5, 2):requires_grad_()
         local d = H.rand({ 4, 1 }, 4, 0.5, 2):requires_grad_()
         assert(H.gradcheck(function(x, y) return x[name](x, y) end, { c, d }))
      end)
      it("gradient of " .. name .. " with a scalar on either side", function()
         local a = H.rand({ 5 }, 5, 0.5, 2):requires_grad_()
         assert(H.gradcheck(function(x) return x[name](x, 1.3) end, { a }))
         assert(H.gradcheck(function(x) return dob[name](1.3, x) end, { a }))
      end)
   end

   local unaries = { neg = { -2, 2 }, exp = { -2, 2 }, log = { 0.2, 3 }, sqrt = { 0.2, 3 },
      abs = { 0.1, 2 }, relu = { 0.1, 2 }, sigmoid = { -3, 3 }, tanh = { -2, 2 }, softplus = { -3, 3 },
      gelu = { -3, 3 }, square = { -2, 2 }, rsqrt = { 0.3, 3 } }
   for name, range in pairs(unaries) do
      it("gradient of " .. name .. " on a strided view", function()
         local a = H.rand({ 4, 3 }, 11, range[1], range[2]):requires_grad_()
         assert(H.gradcheck(function(x) return x:t()[name](x:t()) end, { a }))
      end)
   end

   it("relu and leaky_relu/elu/clamp gradients away from kinks", function()
      local a = dob.tensor({ -1.5, -0.5, 0.5, 1.5 }):requires_grad_()
      assert(H.gradcheck(function(x) return x:relu() end, { a }))
      assert(H.gradcheck(function(x) return x:leaky_relu(0.3) end, { a }))
      assert(H.gradcheck(function(x) return x:elu(1.0) end, { a }))
      assert(H.gradcheck(function(x) return x:clamp(-1, 1) end, { a }))
      assert.is_true(H.max_diff(a:leaky_relu(0.3), { -0.45, -0.15, 0.5, 1.5 }) < 1e-6)
   end)

   it("fan-out accumulates gradients", function()
      local a = dob.tensor({ 1, 2, 3 }):requires_grad_()
      local y = a * a + a * 3
      y:backward(dob.ones(3))
      assert.are.same({ 5, 7, 9 }, a:grad():totable())
   end)

   it("where routes gradients by the condition", function()
      local a = H.rand({ 2, 3 }, 3):requires_grad_()
      local b = H.rand({ 3 }, 4):requires_grad_()
      local cond = dob.tensor({ { 1, 0, 1 }, { 0, 0, 1 } }, "uint8")
      assert(H.gradcheck(function(x, y) return dob.where(cond, x, y) end, { a, b }))
      local w = dob.where(cond, dob.ones(2, 3), dob.zeros(3))
      assert.are.same({ { 1, 0, 1 }, { 0, 0, 1 } }, w:totable())
   end)

   it("comparisons give uint8 masks", function()
      local a = dob.tensor({ 1, 2, 3 })
      assert.are.same({ 0, 1, 1 }, a:gt(1):totable())
      assert.are.same("uint8", a:eq(a):dtype())
   end)

   it("in-place ops refuse tensors that require grad unless under no_grad", function()
      local p = dob.ones(3):requires_grad_()
      assert.has_error(function() p:add_(1) end)
      dob.no_grad(function() p:add_(dob.ones(3), 2) end)
      assert.are.same({ 3, 3, 3 }, p:totable())
   end)

   it("addcmul_/addcdiv_ match hand values", function()
      local a, b, c = dob.ones(3), dob.tensor({ 1, 2, 3 }), dob.tensor({ 2, 4, 8 })
      a:addcmul_(b, c, 0.5)
      assert.are.same({ 2, 5, 13 }, a:totable())
      a:addcdiv_(b, c, 2)
      assert.is_true(H.max_diff(a, { 3, 6, 13.75 }) < 1e-6)
   end)
end)
