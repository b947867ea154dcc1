local dob = require "deepobs"
local H = require "helpers.gradcheck"

describe("autograd", function()
   it("accumulates leaf gradients across backward calls and fan-out", function()
      local x = dob.tensor({ 1, 2 }):requires_grad_()
      local y = x * x * x       -- 3x^2
      y:backward(dob.ones(2))
      assert.are.same({ 3, 12 }, x:grad():totable())
      local z = x * 2 + x       -- 3 more
      z:backward(dob.ones(2))
      assert.are.same({ 6, 15 }, x:grad():totable())
      x:set_grad(nil)
      assert.is_nil(x:grad())
   end)

   it("a leaf's first gradient is its own: never the seed, another leaf's or an upstream buffer", function()
      local a, b = dob.tensor({ 1, 2 }):requires_grad_(), dob.tensor({ 3, 4 }):requires_grad_()
      local seed = dob.tensor({ 1, 1 })
      ;(a + b):backward(seed)            -- add passes the same gradient to both inputs
      a:grad():mul_(10)
      assert.are.same({ 1, 1 }, b:grad():totable())
      assert.are.same({ 1, 1 }, seed:totable())
      local x = dob.tensor({ 1, 2 }):requires_grad_()
      x:backward(seed)                   -- the root itself
      seed:fill_(5)
      assert.are.same({ 1, 1 }, x:grad():totable())
      local m = H.rand({ 1, 1, 4, 4 }, 1):requires_grad_()
      dob.max_pool2d(m, { kernel = 2, stride = 2 }):sum():backward()   -- a fresh buffer: taken as is
      assert.are.equal(4, m:grad():sum():item())
   end)

   it("accumulates into a given gradient buffer (a view into a flat buffer)", function()
      local flat = dob.zeros(5)
      local x = dob.tensor({ 1, 2 }):requires_grad_()
      x:set_grad(flat:narrow(1, 2, 2))
      ;(x * 4):backward(dob.ones(2))
      assert.are.same({ 0, 4, 4, 0, 0 }, flat:totable())
   end)

   it("no_grad records nothing and restores the mode after errors", function()
      local x = dob.ones(2):requires_grad_()
      local y = dob.no_grad(function() return x * 2 end)
      assert.is_false(y:requires_grad())
      assert.has_error(function() dob.no_grad(function() error("boom") end) end)
      assert.is_true(dob.is_grad_enabled())
   end)

   it("detach cuts the graph but shares storage", function()
      local x = dob.ones(2):requires_grad_()
      local y = (x * 3):detach()
      assert.is_false(y:requires_grad())
      local z = x * y
      z:backward(dob.ones(2))
      assert.are.same({ 3, 3 }, x:grad():totable())
   end)

   it("detects an in-place change to a tensor saved for backward", function()
      local x = dob.tensor({ 1, 2 }):requires_grad_()
      local w = dob.tensor({ 3, 4 })
      local y = x * w
      w:mul_(2)
      local ok, err = pcall(function() y:backward(dob.ones(2)) end)
      assert.is_false(ok)
      assert.matches("modified in place", err)
   end)

   it("refuses a second backward through freed saved tensors, unless retained", function()
      local x = dob.tensor({ 1, 2 }):requires_grad_()
      local y = x * x
      y:backward(dob.ones(2), true)
      y:backward(dob.ones(2))
      assert.are.same({ 4, 8 }, x:grad():totable())
      local ok, err = pcall(function() y:backward(dob.ones(2)) end)
      assert.is_false(ok)
      assert.matches("second time", err)
   end)

   it("needs a scalar root or an explicit gradient", function()
      local x = dob.ones(2):requires_grad_()
      assert.has_error(function() (x * 2):backward() end)
      assert.has_error(function() dob.ones(2):backward(dob.ones(2)) end)
      assert.has_error(function() (x * 2):backward(dob.ones(3)) end)
   end)

   it("only leaves change requires_grad; integer tensors cannot require grad", function()
      local x = dob.ones(2):requires_grad_()
      assert.has_error(function() (x * 2):requires_grad_(false) end)
      assert.has_error(function() dob.zeros(2, "int64"):requires_grad_() end)
   end)

   it("frees the graph when outputs die", function()
      collectgarbage(); collectgarbage()
      local before = dob.memory_stats().live_nodes
      do
         local x = dob.ones(10):requires_grad_()
         local y = x
         for _ = 1, 200 do y = (y * 1.001):tanh() end
         assert.is_true(dob.memory_stats().live_nodes >= before + 400)
         y:backward(dob.ones(10))
      end
      collectgarbage(); collectgarbage()
      assert.are.equal(before, dob.memory_stats().live_nodes)
   end)

   it("a long chain (10000 ops) backpropagates without deep recursion", function()
      local x = dob.ones(1):requires_grad_()
      local y = x
      for _ = 1, 10000 do y = y * 1.0001 end
      y:backward(dob.ones(1))
      assert.is_true(math.abs(x:grad():item() - 1.0001 ^ 10000) < 1e-2)
   end)

   it("gradcheck catches a wrong gradient (the checker itself can fail)", function()
      local x = H.rand({ 4 }, 3):requires_grad_()
      -- relu' is 0/1; compare against a function whose value is not relu
      local ok = H.gradcheck(function(t)
         return dob.no_grad(function() return t:exp() end):detach() + t:relu() * 0
      end, { x })
      assert.is_false(ok)
   end)
end)
