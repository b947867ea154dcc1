local dob = require "deepobs"
local H = require "helpers.gradcheck"

-- naive batched matmul on contiguous copies: a [B, n, k], b [B, k, m] (B may be 1 on either side)
local function naive_bmm(a, b)
   local as, bs = a:size(), b:size()
   local B = math.max(as[1], bs[1])
   local n, k, m = as[2], as[3], bs[3]
   local ac, bc = a:contiguous(), b:contiguous()
   local pa, pb = ac:data(), bc:data()
   local out = dob.zeros(B, n, m)
   local po = out:data()
   for t = 0, B - 1 do
      local ta, tb = as[1] == 1 and 0 or t, bs[1] == 1 and 0 or t
      for i = 0, n - 1 do
         for j = 0, m - 1 do
            local s = 0
            for l = 0, k - 1 do s = s + pa[(ta * n + i) * k + l] * pb[(tb * k + l) * m + j] end
            po[(t * n + i) * m + j] = s
         end
      end
   end
   return out
end

local function close(a, b, tol)
   assert.are.same(b:size(), a:size())
   local d = H.max_diff(a, b)
   assert(d < (tol or 1e-4), "max diff " .. d)
end

describe("matmul", function()
   it("2-D against a naive product, including transposed and strided operands", function()
      local a, b = H.rand({ 5, 7 }, 1), H.rand({ 7, 3 }, 2)
      close(dob.matmul(a, b), naive_bmm(a:view(1, 5, 7), b:view(1, 7, 3)):view(5, 3))
      local at, bt = H.rand({ 7, 5 }, 3), H.rand({ 3, 7 }, 4)
      close(at:t():matmul(bt:t()), naive_bmm(at:t():contiguous():view(1, 5, 7), bt:t():contiguous():view(1, 7, 3)):view(5, 3))
      local big = H.rand({ 10, 14 }, 5)
      local s = big:slice(1, 1, -1, 2):slice(2, 1, -1, 2)     -- [5, 7], strides (28, 2): copied
      close(s:mm(b), naive_bmm(s:contiguous():view(1, 5, 7), b:view(1, 7, 3)):view(5, 3))
   end)

   it("batched and broadcast batch dims against a naive product", function()
      local a, b = H.rand({ 4, 3, 5 }, 6), H.rand({ 4, 5, 2 }, 7)
      close(dob.bmm(a, b), naive_bmm(a, b))
      local w = H.rand({ 5, 2 }, 8)
      close(dob.matmul(a, w), naive_bmm(a, w:view(1, 5, 2)))
      local l = H.rand({ 3, 5 }, 9)
      close(dob.matmul(l, b), naive_bmm(l:view(1, 3, 5), b))
      -- 4-D with size-1 batch dims on both sides: [2,1,3,5] @ [1,4,5,2] -> [2,4,3,2]
      local a4, b4 = H.rand({ 2, 1, 3, 5 }, 10), H.rand({ 1, 4, 5, 2 }, 11)
      local r = dob.matmul(a4, b4)
      assert.are.same({ 2, 4, 3, 2 }, r:size())
      for i = 1, 2 do
         for j = 1, 4 do
            close(r:select(1, i):select(1, j), a4:select(1, i):select(1, 1):mm(b4:select(1, 1):select(1, j)))
         end
      end
   end)

   it("1-D operands follow numpy", function()
      local v, u = dob.tensor({ 1, 2, 3 }), dob.tensor({ 4, 5, 6 })
      local d = dob.matmul(v, u)
      assert.are.same(0, d:dim())
      assert.are.equal(32, d:item())
      local m = dob.tensor({ { 1, 0, 2 }, { 0, 1, 1 } })
      assert.are.same({ 7, 5 }, dob.matmul(m, v):totable())
      assert.are.same({ 1, 2, 4 }, dob.matmul(dob.tensor({ 1, 2 }), m):totable())
      local b = H.rand({ 2, 3, 4 }, 12)
      assert.are.same({ 2, 4 }, dob.matmul(v, b):size())
      assert.are.same({ 2, 3 }, dob.matmul(b, dob.tensor({ 1, 2, 3, 4 })):size())
   end)

   it("gradients: 2-D, transposed, strided (copied) operands", function()
      local a, b = H.rand({ 4, 3 }, 20):requires_grad_(), H.rand({ 3, 5 }, 21):requires_grad_()
      assert(H.gradcheck(function(x, y) return dob.matmul(x, y) end, { a, b }))
      local at, bt = H.rand({ 3, 4 }, 22):requires_grad_(), H.rand({ 5, 3 }, 23):requires_grad_()
      assert(H.gradcheck(function(x, y) return x:t():mm(y:t()) end, { at, bt }))
      local big = H.rand({ 8, 6 }, 24):requires_grad_()
      assert(H.gradcheck(function(x, y) return x:slice(1, 1, -1, 2):slice(2, 1, -1, 2):mm(y) end, { big, b }))
   end)

   it("gradients with broadcast batch dims, a batch of 1 and 1-D operands", function()
      local cases = {
         { { 2, 3, 4 }, { 4, 5 } }, { { 3, 4 }, { 2, 4, 5 } }, { { 2, 1, 3, 4 }, { 3, 4, 2 } },
         { { 1, 3, 4 }, { 1, 4, 2 } }, { { 1, 3, 4 }, { 3, 4, 2 } }, { { 4 }, { 2, 4, 3 } },
         { { 2, 3, 4 }, { 4 } }, { { 4 }, { 4 } }, { { 3, 4 }, { 4 } },
      }
      for i, c in ipairs(cases) do
         local a = H.rand(c[1], 30 + i):requires_grad_()
         local b = H.rand(c[2], 50 + i):requires_grad_()
         local ok, msg = H.gradcheck(function(x, y) return dob.matmul(x, y) end, { a, b })
         assert(ok, ("case %d: %s"):format(i, msg))
      end
      -- transposed batched operand
      local a = H.rand({ 2, 4, 3 }, 70):requires_grad_()
      local b = H.rand({ 2, 4, 5 }, 71):requires_grad_()
      assert(H.gradcheck(function(x, y) return dob.bmm(x:transpose(2, 3), y) end, { a, b }))
   end)

   it("addmm: value and gradients with broadcast c, beta and alpha", function()
      local c, a, b = H.rand({ 5 }, 80), H.rand({ 3, 4 }, 81), H.rand({ 4, 5 }, 82)
      local r = dob.addmm(c, a, b, 0.5, 2)
      local ref = dob.matmul(a, b) * 2 + c * 0.5
      close(r, ref)
      c:requires_grad_(); a:requires_grad_(); b:requires_grad_()
      assert(H.gradcheck(function(x, y, z) return dob.addmm(x, y, z, 0.5, 2) end, { c, a, b }))
      local c2 = H.rand({ 3, 1 }, 83):requires_grad_()
      assert(H.gradcheck(function(x, y, z) return dob.addmm(x, y, z) end, { c2, a, b }))
      -- beta = 0 ignores c, even NaN
      local nan = dob.full({ 3, 5 }, 0 / 0)
      assert.is_true(H.max_diff(dob.addmm(nan, a:detach(), b:detach(), 0, 1), dob.matmul(a:detach(), b:detach())) < 1e-5)
   end)

   it("linear: value and gradients, with and without bias, 1-D to 3-D inputs", function()
      local x, w, bias = H.rand({ 6, 4 }, 90), H.rand({ 3, 4 }, 91), H.rand({ 3 }, 92)
      close(dob.linear(x, w, bias), dob.matmul(x, w:t()) + bias)
      close(dob.linear(x, w), dob.matmul(x, w:t()))
      x:requires_grad_(); w:requires_grad_(); bias:requires_grad_()
      assert(H.gradcheck(function(a, b, c) return dob.linear(a, b, c) end, { x, w, bias }))
      assert(H.gradcheck(function(a, b) return dob.linear(a, b) end, { x, w }))
      local x3 = H.rand({ 2, 5, 4 }, 93):requires_grad_()
      assert(H.gradcheck(function(a, b, c) return dob.linear(a, b, c) end, { x3, w, bias }))
      local x1 = H.rand({ 4 }, 94):requires_grad_()
      assert.are.same({ 3 }, dob.linear(x1, w, bias):size())
      assert(H.gradcheck(function(a, b, c) return dob.linear(a, b, c) end, { x1, w, bias }))
      -- transposed input and weight views
      local xt, wt = H.rand({ 4, 6 }, 95):requires_grad_(), H.rand({ 4, 3 }, 96):requires_grad_()
      assert(H.gradcheck(function(a, b, c) return dob.linear(a:t(), b:t(), c) end, { xt, wt, bias }))
      -- batch of 1
      local xb = H.rand({ 1, 4 }, 97):requires_grad_()
      assert(H.gradcheck(function(a, b, c) return dob.linear(a, b, c) end, { xb, w, bias }))
   end)

   it("bias gradient of linear is deterministic column sums", function()
      local x, w = H.rand({ 300, 7 }, 100), H.rand({ 5, 7 }, 101)
      local b = dob.zeros(5):requires_grad_()
      dob.linear(x, w, b):backward(dob.ones(300, 5))
      for _, v in ipairs(b:grad():totable()) do assert.is_true(math.abs(v - 300) < 1e-4) end
   end)

   it("rejects bad inputs with clear errors", function()
      local function err(f, pat)
         local ok, e = pcall(f)
         assert.is_false(ok)
         assert.matches(pat, e)
      end
      err(function() return dob.matmul(dob.zeros(2, 3), dob.zeros(4, 2)) end,
         "matmul: inner dimensions do not match: %[2x3%] @ %[4x2%]")
      err(function() return dob.matmul(dob.zeros(2, 2, 3), dob.zeros(3, 3, 2)) end, "matmul: batch dims")
      err(function() return dob.bmm(dob.zeros(2, 2, 3), dob.zeros(3, 3, 2)) end, "bmm: expects")
      err(function() return dob.bmm(dob.zeros(2, 3), dob.zeros(3, 2)) end, "bmm: expects")
      err(function() return dob.matmul(dob.zeros(2, 3, "int64"), dob.zeros(3, 2)) end, "must be float32")
      err(function() return dob.matmul(dob.scalar(1), dob.zeros(3, 2)) end, "at least 1 dim")
      err(function() return dob.zeros(2, 3):mm(dob.zeros(3)) end, "mm: expects two 2%-D")
      err(function() return dob.linear(dob.zeros(2, 3), dob.zeros(4, 5)) end, "linear: input %[2x3%]")
      err(function() return dob.linear(dob.zeros(2, 3), dob.zeros(4, 3), dob.zeros(3)) end, "linear: bias must be %[4%]")
      err(function() return dob.addmm(dob.zeros(4), dob.zeros(2, 3), dob.zeros(3, 5)) end, "addmm: c %[4%]")
      err(function() return dob.matmul(dob.zeros(2, 3), "x") end, "must be a deepobs Tensor")
   end)
end)

-- OpenBLAS's OpenMP build reads and writes OpenMP's thread count, which every kernel's
-- parallel region reads too: a GEMM small enough to run on one thread must give the
-- count back, or all the kernels after it run on one thread
describe("a GEMM on one thread", function()
   local function ops(n)
      local x, w = dob.rand(n, n):requires_grad_(), dob.rand(n, n):requires_grad_()
      return {
         matmul = function() (x:matmul(w)):sum():backward() end,
         linear = function() dob.linear(x, w, nil):sum():backward() end,
         lstm = function()
            local xs = dob.rand(3, 2, n):requires_grad_()
            local out = dob.lstm(xs, dob.rand(4 * n, n):requires_grad_(), dob.rand(4 * n, n):requires_grad_())
            out:sum():backward()
         end,
         attention = function()
            local q = dob.rand(1, 2, n, 8):requires_grad_()
            dob.attention(q, q, q):sum():backward()
         end,
         conv2d = function()
            dob.conv2d(dob.rand(1, 2, n, n):requires_grad_(), dob.rand(3, 2, 1, 1):requires_grad_()):sum():backward()
         end,
      }
   end
   for _, n in ipairs { 4, 300 } do
      for name, run in pairs(ops(n)) do
         it(("leaves every thread to the kernels after it (%s, size %d)"):format(name, n), function()
            local old = dob.get_threads()
            dob.set_threads(3)
            local ok, err = pcall(run)
            local after = dob.get_threads()
            dob.set_threads(old)
            assert(ok, err)
            assert.are.equal(3, after)
         end)
      end
   end
end)
