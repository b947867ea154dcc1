local dob = require "deepobs"
local H = require "helpers.gradcheck"
local flat, errmsg = H.flat, H.errmsg

local function lse(row)
   local m = -math.huge
   for _, v in ipairs(row) do if v > m then m = v end end
   local s = 0
   for _, v in ipairs(row) do s = s + math.exp(v - m) end
   return m + math.log(s)
end

describe("softmax_cross_entropy", function()
   it("matches hand values with int64 labels, smoothing and float targets", function()
      local x = dob.tensor({ { 1, 2, 3 }, { 0, 0, 0 }, { 1000, 0, -1000 } })
      local y = dob.tensor({ 2, 1, 0 }, "int64")
      local l = dob.softmax_cross_entropy(x, y)
      assert.are.same({ 3 }, l:size())
      local want = { math.log(math.exp(1) + math.exp(2) + math.exp(3)) - 3, math.log(3), 0 }
      assert.is_true(H.max_diff(l, want) < 1e-5)
      -- smoothing s: target y (1 - s) + s / C
      local s = 0.1
      local ls = dob.softmax_cross_entropy(x, y, { label_smoothing = s })
      local rows = { { 1, 2, 3 }, { 0, 0, 0 }, { 1000, 0, -1000 } }
      local lab = { 3, 2, 1 }
      local ws = {}
      for n = 1, 3 do
         local L, acc = lse(rows[n]), 0
         for j = 1, 3 do
            local t = (j == lab[n] and 1 or 0) * (1 - s) + s / 3
            acc = acc + t * (L - rows[n][j])
         end
         ws[n] = acc
      end
      assert.is_true(H.max_diff(ls, ws) < 1e-3)
      -- float one-hot targets give the same as int64 labels
      local oh = dob.one_hot(y, 3)
      assert.is_true(H.max_diff(dob.softmax_cross_entropy(x, oh), want) < 1e-5)
      assert.is_true(H.max_diff(dob.softmax_cross_entropy(x, oh, { label_smoothing = s }), ws) < 1e-3)
   end)

   it("gradients: labels, smoothing, probabilities, non-contiguous logits", function()
      local x = H.rand({ 5, 4 }, 1, -2, 2):requires_grad_()
      local y = dob.tensor({ 0, 3, 1, 1, 2 }, "int64")
      assert(H.gradcheck(function(a) return dob.softmax_cross_entropy(a, y) end, { x }))
      assert(H.gradcheck(function(a) return dob.softmax_cross_entropy(a, y, { label_smoothing = 0.2 }) end, { x }))
      local p = H.rand({ 5, 4 }, 2, 0, 1)
      assert(H.gradcheck(function(a) return dob.softmax_cross_entropy(a, p) end, { x }))
      assert(H.gradcheck(function(a) return dob.softmax_cross_entropy(a, p, { label_smoothing = 0.1 }) end, { x }))
      local xt = H.rand({ 4, 5 }, 3, -2, 2):requires_grad_()
      assert(H.gradcheck(function(a) return dob.softmax_cross_entropy(a:t(), y) end, { xt }))
      local x1 = H.rand({ 1, 3 }, 4):requires_grad_()
      assert(H.gradcheck(function(a) return dob.softmax_cross_entropy(a, dob.tensor({ 2 }, "int64")) end, { x1 }))
   end)

   it("backward is softmax minus the target, times the upstream gradient", function()
      local x = dob.tensor({ { 1, 2, 3 } }):requires_grad_()
      dob.softmax_cross_entropy(x, dob.tensor({ 0 }, "int64")):backward(dob.tensor({ 2 }))
      local s = flat(x:softmax(2))
      assert.is_true(H.max_diff(x:grad(), { { 2 * (s[1] - 1), 2 * s[2], 2 * s[3] } }) < 1e-6)
   end)

   it("rejects bad labels and shapes", function()
      local x = dob.zeros(2, 3)
      assert.matches("softmax_cross_entropy: label 3 of example 1 is out of range %[0, 3%)",
         errmsg(function() return dob.softmax_cross_entropy(x, dob.tensor({ 0, 3 }, "int64")) end))
      assert.matches("label %-1 of example 0",
         errmsg(function() return dob.softmax_cross_entropy(x, dob.tensor({ -1, 0 }, "int64")) end))
      assert.matches("int64 labels must be %[N%] = %[2%] for logits %[2x3%], got %[3%]",
         errmsg(function() return dob.softmax_cross_entropy(x, dob.tensor({ 0, 1, 2 }, "int64")) end))
      assert.matches("float32 labels %[2x2%] must match logits %[2x3%]",
         errmsg(function() return dob.softmax_cross_entropy(x, dob.zeros(2, 2)) end))
      assert.matches("labels must be int64 class indices or float32 probabilities, got uint8",
         errmsg(function() return dob.softmax_cross_entropy(x, dob.zeros(2, "uint8")) end))
      assert.matches("logits must be %[N,C%]",
         errmsg(function() return dob.softmax_cross_entropy(dob.zeros(3), dob.tensor({ 0 }, "int64")) end))
      assert.matches("label_smoothing 2 is not in %[0, 1%]",
         errmsg(function() return dob.softmax_cross_entropy(x, dob.tensor({ 0, 0 }, "int64"), { label_smoothing = 2 }) end))
   end)
end)

describe("sigmoid_cross_entropy and squared_error", function()
   it("sigmoid CE against the naive formula, stable for large logits", function()
      local x = dob.tensor({ { 0.5, -1 }, { 100, -100 } })
      local z = dob.tensor({ { 1, 0 }, { 0, 1 } })
      local l = dob.sigmoid_cross_entropy(x, z)
      local function bce(v, t)
         local p = 1 / (1 + math.exp(-v))
         return -(t * math.log(p) + (1 - t) * math.log(1 - p))
      end
      assert.is_true(H.max_diff(l, { bce(0.5, 1) + bce(-1, 0), 200 }) < 1e-4)
   end)

   it("squared error sums over non-batch dims", function()
      local p = dob.tensor({ { { 1, 2 }, { 3, 4 } }, { { 0, 0 }, { 0, 1 } } })
      local t = dob.tensor({ { { 0, 2 }, { 3, 2 } }, { { 1, 1 }, { 1, 1 } } })
      assert.are.same({ 5, 3 }, dob.squared_error(p, t):totable())
      assert.are.same({ 1, 4 }, dob.squared_error(dob.tensor({ 1, 2 }), dob.tensor({ 0, 0 })):totable())
   end)

   it("gradients to both arguments", function()
      local a = H.rand({ 2, 3, 2 }, 5, -3, 3):requires_grad_()
      local b = H.rand({ 2, 3, 2 }, 6, 0, 1):requires_grad_()
      assert(H.gradcheck(function(x, z) return dob.sigmoid_cross_entropy(x, z) end, { a, b }))
      assert(H.gradcheck(function(x, z) return dob.squared_error(x, z) end, { a, b }))
      local c = H.rand({ 3, 2 }, 7):requires_grad_()
      local d = H.rand({ 2, 3 }, 8):requires_grad_()
      assert(H.gradcheck(function(x, z) return dob.squared_error(x:t(), z) end, { c, d }))
      assert(H.gradcheck(function(x, z) return dob.sigmoid_cross_entropy(x, z:t()) end, { d, c }))
   end)

   it("reject mismatched shapes and dtypes", function()
      assert.matches("squared_error: pred %[2x3%] and target %[3x2%] must have the same shape",
         errmsg(function() return dob.squared_error(dob.zeros(2, 3), dob.zeros(3, 2)) end))
      assert.matches("sigmoid_cross_entropy: argument 'targets' must be float32, got int64",
         errmsg(function() return dob.sigmoid_cross_entropy(dob.zeros(2), dob.zeros(2, "int64")) end))
      assert.matches("must have a batch dim", errmsg(function() return dob.squared_error(dob.scalar(1), dob.scalar(1)) end))
   end)
end)

describe("accuracy", function()
   it("counts rows whose argmax matches int64 or one-hot labels", function()
      local x = dob.tensor({ { 0.1, 0.9, 0 }, { 3, 1, 2 }, { 0, 0, 5 }, { 1, 1, 0 } })
      assert.are.equal(0.75, dob.accuracy(x, dob.tensor({ 1, 0, 1, 0 }, "int64")))
      assert.are.equal(0.5, dob.accuracy(x, dob.one_hot(dob.tensor({ 1, 2, 2, 1 }, "int64"), 3)))
   end)

   it("rejects bad inputs", function()
      assert.matches("accuracy: labels must be int64 %[N%] or float32 %[N,C%] for logits %[2x3%], got int64 %[3%]",
         errmsg(function() return dob.accuracy(dob.zeros(2, 3), dob.zeros(3, "int64")) end))
      assert.matches("accuracy: logits must be float32 %[N,C%]",
         errmsg(function() return dob.accuracy(dob.zeros(3), dob.zeros(3, "int64")) end))
   end)
end)
