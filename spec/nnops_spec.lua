local dob = require "deepobs"
local H = require "helpers.gradcheck"
local flat, errmsg = H.flat, H.errmsg

describe("softmax / log_softmax", function()
   it("matches hand values and is stable for large inputs", function()
      local x = dob.tensor({ { 1, 2, 3 }, { 1000, 1000, 1000 } })
      local e1, e2, e3 = math.exp(1), math.exp(2), math.exp(3)
      local s = e1 + e2 + e3
      assert.is_true(H.max_diff(x:softmax(2), { { e1 / s, e2 / s, e3 / s }, { 1 / 3, 1 / 3, 1 / 3 } }) < 1e-6)
      assert.is_true(H.max_diff(x:log_softmax(-1),
         { { 1 - math.log(s), 2 - math.log(s), 3 - math.log(s) }, { -math.log(3), -math.log(3), -math.log(3) } }) < 1e-5)
      -- along dim 1: columns sum to one
      local y = flat(x:softmax(1))
      for j = 1, 3 do assert.is_true(math.abs(y[j] + y[j + 3] - 1) < 1e-6) end
      assert.are.equal(1, y[4])   -- exp(1 - 1000) underflows to 0 in the other row
   end)

   for _, name in ipairs { "softmax", "log_softmax" } do
      it(name .. " gradient over dim 1 and the last dim of a non-contiguous input", function()
         local a = H.rand({ 4, 3 }, 21, -2, 2):requires_grad_()
         assert(H.gradcheck(function(x) return x:t()[name](x:t(), 1) end, { a }))
         assert(H.gradcheck(function(x) return x:t()[name](x:t(), -1) end, { a }))
         local b = H.rand({ 2, 3, 5 }, 22, -2, 2):requires_grad_()
         assert(H.gradcheck(function(x) return x[name](x, 2) end, { b }))
         local c = H.rand({ 1, 7 }, 23, -3, 3):requires_grad_()
         assert(H.gradcheck(function(x) return x[name](x, 2) end, { c }))
      end)
   end

   it("rejects a bad dim", function()
      assert.matches("softmax: dim 2 out of range for %[2x3%]", errmsg(function() return dob.zeros(2, 3):softmax(3) end))
      assert.matches("must be float32", errmsg(function() return dob.zeros(2, "int64"):log_softmax(1) end))
   end)
end)

describe("dropout", function()
   it("is the identity when not training or p = 0, passing gradients through", function()
      local x = H.rand({ 3, 4 }, 1):requires_grad_()
      local y = dob.dropout(x, 0.5, false)
      assert.is_true(y:is_same_storage(x))
      assert.are.same(flat(x), flat(y))
      local z = dob.dropout(x, 0, true)
      assert.are.same(flat(x), flat(z))
      assert(H.gradcheck(function(t) return dob.dropout(t, 0.7, false) * 2 end, { x }))
   end)

   it("p = 1 gives zeros", function()
      local y = dob.dropout(dob.ones(10), 1, true)
      for _, v in ipairs(flat(y)) do assert.are.equal(0, v) end
   end)

   it("drops a fraction p and scales the rest by 1/(1-p)", function()
      dob.manual_seed(123)
      local n, p = 100000, 0.3
      local x = dob.full({ n }, 2)
      local y = dob.dropout(x, p, true)
      local q = y:data()
      local zeros = 0
      for i = 0, n - 1 do
         if q[i] == 0 then zeros = zeros + 1
         else assert(math.abs(q[i] - 2 / (1 - p)) < 1e-5, "kept value not scaled by 1/(1-p)") end
      end
      assert.is_true(math.abs(zeros / n - p) < 0.01, "dropped fraction " .. zeros / n)
   end)

   it("is deterministic for a fixed seed and differs between draws", function()
      local x = H.rand({ 50 }, 3)
      dob.manual_seed(9)
      local a = flat(dob.dropout(x, 0.5, true))
      local b = flat(dob.dropout(x, 0.5, true))
      dob.manual_seed(9)
      local c = flat(dob.dropout(x, 0.5, true))
      assert.are.same(a, c)
      assert.are_not.same(a, b)
   end)

   it("gradient equals mask / (1 - p)", function()
      local x = H.rand({ 6, 5 }, 4, 0.5, 1.5):requires_grad_()
      dob.manual_seed(77)
      local y = dob.dropout(x, 0.4, true)
      y:backward(dob.ones(6, 5))
      local g, yv, xv = flat(x:grad()), flat(y), flat(x)
      for i = 1, #g do
         local expect = yv[i] == 0 and 0 or 1 / 0.6
         assert.is_true(math.abs(g[i] - expect) < 1e-5)
         if yv[i] ~= 0 then assert.is_true(math.abs(yv[i] - xv[i] / 0.6) < 1e-5) end
      end
      -- finite differences with the mask held fixed by re-seeding
      assert(H.gradcheck(function(t) dob.manual_seed(77); return dob.dropout(t:t(), 0.4, true) end, { x }))
   end)

   it("keeps exactly where bernoulli_(1 - p) draws a one, at any size, p and thread count", function()
      local before = dob.get_threads()
      local f32 = require("ffi").new("float[1]")
      local function float(v) f32[0] = v; return f32[0] end
      for _, th in ipairs { 1, 2 } do
         dob.set_threads(th)
         for _, n in ipairs { 1, 5, 63, 64, 65, 255, 256, 257, 1000, 40001 } do
            for _, p in ipairs { 0.1, 0.5, 0.97 } do
               local x = H.rand({ n }, n, -3, 3):requires_grad_()
               dob.manual_seed(n + 17)
               local y = dob.dropout(x, p, true)
               y:backward(dob.ones(n))
               dob.manual_seed(n + 17)
               local keep = dob.empty(n):bernoulli_(1 - p):data()
               local scale = float(1 / (1 - p))
               local xv, yv, gv = x:data(), y:data(), x:grad():data()
               for i = 0, n - 1 do
                  local m = keep[i] == 1 and scale or 0
                  if yv[i] ~= float(xv[i] * m) or gv[i] ~= m then
                     error(("n %d p %g threads %d element %d: y %.9g grad %.9g, expected %.9g, %.9g"):format(
                        n, p, th, i, yv[i], gv[i], float(xv[i] * m), m))
                  end
               end
            end
         end
      end
      dob.set_threads(before)
   end)

   it("rejects a bad probability", function()
      assert.matches("dropout: probability 1.5 is not in %[0, 1%]", errmsg(function() return dob.dropout(dob.ones(2), 1.5, true) end))
   end)
end)

describe("embedding / one_hot / index_select", function()
   it("embedding gathers rows", function()
      local w = dob.tensor({ { 1, 2 }, { 3, 4 }, { 5, 6 } })
      local idx = dob.tensor({ { 2, 0 }, { 1, 2 } }, "int64")
      local e = dob.embedding(w, idx)
      assert.are.same({ 2, 2, 2 }, e:size())
      assert.are.same({ { { 5, 6 }, { 1, 2 } }, { { 3, 4 }, { 5, 6 } } }, e:totable())
   end)

   it("embedding gradient with repeated indices", function()
      local w = H.rand({ 5, 3 }, 5):requires_grad_()
      local idx = dob.tensor({ { 1, 4, 1 }, { 1, 0, 4 } }, "int64")
      assert(H.gradcheck(function(t) return dob.embedding(t, idx) end, { w }))
      w:set_grad(nil)
      dob.embedding(w, idx):backward(dob.ones(2, 3, 3))
      assert.are.same({ { 1, 1, 1 }, { 3, 3, 3 }, { 0, 0, 0 }, { 0, 0, 0 }, { 2, 2, 2 } }, w:grad():totable())
      -- a non-contiguous weight
      local w2 = H.rand({ 3, 5 }, 6):requires_grad_()
      assert(H.gradcheck(function(t) return dob.embedding(t:t(), idx) end, { w2 }))
   end)

   it("embedding rejects bad indices", function()
      local w = dob.zeros(3, 2)
      assert.matches("embedding: index 3 at flat offset 1 is out of range %[0, 3%)",
         errmsg(function() return dob.embedding(w, dob.tensor({ 0, 3 }, "int64")) end))
      assert.matches("embedding: index %-1", errmsg(function() return dob.embedding(w, dob.tensor({ -1 }, "int64")) end))
      assert.matches("embedding: indices must be int64, got float32",
         errmsg(function() return dob.embedding(w, dob.tensor({ 0 })) end))
      assert.matches("embedding: weight must be 2%-D", errmsg(function() return dob.embedding(dob.zeros(3), dob.tensor({ 0 }, "int64")) end))
   end)

   it("one_hot", function()
      local o = dob.one_hot(dob.tensor({ 2, 0, 1 }, "int64"), 3)
      assert.are.same({ { 0, 0, 1 }, { 1, 0, 0 }, { 0, 1, 0 } }, o:totable())
      assert.are.equal("float32", o:dtype())
      assert.matches("one_hot: index 3", errmsg(function() return dob.one_hot(dob.tensor({ 3 }, "int64"), 3) end))
      assert.matches("one_hot: depth must be >= 1", errmsg(function() return dob.one_hot(dob.tensor({ 0 }, "int64"), 0) end))
   end)

   it("index_select forward and gradient with repeats on a strided input", function()
      local t = dob.tensor({ { 1, 2, 3 }, { 4, 5, 6 } })
      local idx = dob.tensor({ 2, 0, 2 }, "int64")
      assert.are.same({ { 3, 1, 3 }, { 6, 4, 6 } }, t:index_select(2, idx):totable())
      assert.are.same({ { 4, 5, 6 } }, t:index_select(1, dob.tensor({ 1 }, "int64")):totable())
      local a = H.rand({ 3, 2, 4 }, 8):requires_grad_()
      assert(H.gradcheck(function(x) return x:transpose(1, 3):index_select(1, idx) end, { a }))
      assert(H.gradcheck(function(x) return x:index_select(2, dob.tensor({ 1, 1 }, "int64")) end, { a }))
      assert.matches("index_select: index 5", errmsg(function() return t:index_select(2, dob.tensor({ 5 }, "int64")) end))
      assert.matches("index_select: indices must be 1%-D", errmsg(function() return t:index_select(2, dob.zeros(1, 1, "int64")) end))
   end)
end)

-- naive attention on [B,H,T,D] tables (with contiguous inputs)
-- keep (optional): flat 0/1 dropout mask [B,H,Tq,Tk] and its scale, applied to the probabilities
local function naive_attention(q, k, v, causal, scale, keep, keep_scale)
   local s = q:size()
   local B, NH, Tq, D = s[1], s[2], s[3], s[4]
   local Tk, Dv = k:size(3), v:size(4)
   local pq, pk, pv = flat(q), flat(k), flat(v)
   local out = {}
   for bh = 0, B * NH - 1 do
      for i = 0, Tq - 1 do
         local sc, m = {}, -math.huge
         for j = 0, Tk - 1 do
            if causal and j > i then sc[j] = -math.huge
            else
               local d = 0
               for c = 0, D - 1 do d = d + pq[bh * Tq * D + i * D + c + 1] * pk[bh * Tk * D + j * D + c + 1] end
               sc[j] = d * scale
            end
            if sc[j] > m then m = sc[j] end
         end
         local z = 0
         for j = 0, Tk - 1 do sc[j] = math.exp(sc[j] - m); z = z + sc[j] end
         for c = 0, Dv - 1 do
            local acc = 0
            for j = 0, Tk - 1 do
               local m = keep and keep[(bh * Tq + i) * Tk + j + 1] * keep_scale or 1
               acc = acc + sc[j] / z * m * pv[bh * Tk * Dv + j * Dv + c + 1]
            end
            out[#out + 1] = acc
         end
      end
   end
   return out
end

describe("attention", function()
   it("matches a naive implementation, causal and not", function()
      local q, k, v = H.rand({ 2, 2, 4, 3 }, 31), H.rand({ 2, 2, 4, 3 }, 32), H.rand({ 2, 2, 4, 5 }, 33)
      for _, causal in ipairs { false, true } do
         local o = dob.attention(q, k, v, { causal = causal })
         assert.are.same({ 2, 2, 4, 5 }, o:size())
         assert.is_true(H.max_diff(o, naive_attention(q, k, v, causal, 1 / math.sqrt(3))) < 1e-5)
      end
      local o = dob.attention(q, k, v, { scale = 0.7 })
      assert.is_true(H.max_diff(o, naive_attention(q, k, v, false, 0.7)) < 1e-5)
   end)

   it("gradients for q, k, v (causal and not, different key length)", function()
      local q = H.rand({ 1, 2, 3, 4 }, 41):requires_grad_()
      local k = H.rand({ 1, 2, 3, 4 }, 42):requires_grad_()
      local v = H.rand({ 1, 2, 3, 2 }, 43):requires_grad_()
      assert(H.gradcheck(function(a, b, c) return dob.attention(a, b, c, { causal = true }) end, { q, k, v }))
      assert(H.gradcheck(function(a, b, c) return dob.attention(a, b, c, { causal = false, scale = 0.9 }) end, { q, k, v }))
      local k2 = H.rand({ 1, 2, 5, 4 }, 44):requires_grad_()
      local v2 = H.rand({ 1, 2, 5, 3 }, 45):requires_grad_()
      assert(H.gradcheck(function(a, b, c) return dob.attention(a, b, c) end, { q, k2, v2 }))
   end)

   it("dropout on the probabilities: fixed-seed gradients, off when not training", function()
      local q = H.rand({ 2, 1, 4, 3 }, 51):requires_grad_()
      local k = H.rand({ 2, 1, 4, 3 }, 52):requires_grad_()
      local v = H.rand({ 2, 1, 4, 3 }, 53):requires_grad_()
      assert(H.gradcheck(function(a, b, c)
         dob.manual_seed(5)
         return dob.attention(a, b, c, { causal = true, dropout = 0.3, training = true })
      end, { q, k, v }))
      local o1 = dob.attention(q, k, v, { dropout = 0.3, training = false })
      assert.is_true(H.max_diff(o1, naive_attention(q, k, v, false, 1 / math.sqrt(3))) < 1e-5)
      dob.manual_seed(5)
      local a = flat(dob.attention(q, k, v, { dropout = 0.5 }))
      dob.manual_seed(5)
      local b = flat(dob.attention(q, k, v, { dropout = 0.5 }))
      assert.are.same(a, b)
   end)

   it("dropout keeps where bernoulli_(1 - p) draws a one: naive reference over shapes and threads", function()
      local before = dob.get_threads()
      for _, th in ipairs { 1, 2 } do
         dob.set_threads(th)
         for _, sh in ipairs { { 1, 1, 1, 1, 1, 1 }, { 2, 3, 5, 4, 7, 3 }, { 3, 2, 37, 8, 37, 8 }, { 1, 4, 9, 5, 2, 6 } } do
            local B, NH, Tq, D, Tk, Dv = unpack(sh)
            for _, causal in ipairs { false, true } do
               local q = H.rand({ B, NH, Tq, D }, 61, -1, 1)
               local k = H.rand({ B, NH, Tk, D }, 62, -1, 1)
               local v = H.rand({ B, NH, Tk, Dv }, 63, -1, 1)
               dob.manual_seed(8)
               local o = dob.attention(q, k, v, { causal = causal, dropout = 0.25, training = true })
               dob.manual_seed(8)
               local keep = flat(dob.empty(B * NH * Tq * Tk):bernoulli_(0.75))
               local want = naive_attention(q, k, v, causal, 1 / math.sqrt(D), keep, 1 / 0.75)
               assert.is_true(H.max_diff(o, want) < 1e-5, table.concat(sh, "x"))
            end
         end
      end
      dob.set_threads(before)
   end)

   it("rejects mismatched shapes", function()
      assert.matches("attention: q %[1x2x3x4%] and k %[1x2x3x5%] must agree",
         errmsg(function() return dob.attention(dob.zeros(1, 2, 3, 4), dob.zeros(1, 2, 3, 5), dob.zeros(1, 2, 3, 4)) end))
      assert.matches("attention: q, k, v must be 4%-D",
         errmsg(function() return dob.attention(dob.zeros(2, 3, 4), dob.zeros(2, 3, 4), dob.zeros(2, 3, 4)) end))
      assert.matches("attention: v %[1x2x4x4%] must match k",
         errmsg(function() return dob.attention(dob.zeros(1, 2, 3, 4), dob.zeros(1, 2, 3, 4), dob.zeros(1, 2, 4, 4)) end))
   end)
end)

describe("self_attention (packed q, k, v)", function()
   -- qkv [B,T,3 H D] -> the q, k, v thirds as contiguous [B,H,T,D]
   local function thirds(qkv, H)
      local B, T, C3 = qkv:size(1), qkv:size(2), qkv:size(3)
      local D = C3 / (3 * H)
      local t = qkv:view(B, T, 3, H, D):permute(3, 1, 4, 2, 5)
      return t:select(1, 1):contiguous(), t:select(1, 2):contiguous(), t:select(1, 3):contiguous()
   end
   -- attention's [B,H,T,D] as self_attention's [B,T,H D]
   local function merge(a)
      local B, H, T, D = a:size(1), a:size(2), a:size(3), a:size(4)
      return a:transpose(2, 3):reshape(B, T, H * D)
   end
   local function same_bits(a, b)
      local x, y = flat(a), flat(b)
      if #x ~= #y then return false end
      for i = 1, #x do if x[i] ~= y[i] then return false end end
      return true
   end
   -- B, T, heads, D: odd sizes, one head, several, a single token
   local SHAPES = { { 1, 1, 1, 1 }, { 2, 5, 3, 4 }, { 3, 37, 3, 8 }, { 1, 9, 4, 5 }, { 5, 2, 1, 3 } }

   it("matches a naive attention on the thirds, with and without dropout, causal or not, 1 and 2 threads", function()
      local before = dob.get_threads()
      for _, th in ipairs { 1, 2 } do
         dob.set_threads(th)
         for _, sh in ipairs(SHAPES) do
            local B, T, NH, D = unpack(sh)
            local qkv = H.rand({ B, T, 3 * NH * D }, 71 + T, -1, 1)
            local q, k, v = thirds(qkv, NH)
            for _, causal in ipairs { false, true } do
               for _, p in ipairs { 0, 0.3 } do
                  dob.manual_seed(12)
                  local o = dob.self_attention(qkv, NH, { causal = causal, dropout = p, training = true })
                  assert.are.same({ B, T, NH * D }, o:size())
                  dob.manual_seed(12)
                  local keep = p > 0 and flat(dob.empty(B * NH * T * T):bernoulli_(1 - p)) or nil
                  local want = naive_attention(q, k, v, causal, 1 / math.sqrt(D), keep, 1 / (1 - p))
                  local got = o:view(B, T, NH, D):transpose(2, 3)   -- [B,H,T,D] as the reference
                  assert.is_true(H.max_diff(got, want) < 1e-5, table.concat(sh, "x"))
               end
            end
         end
      end
      dob.set_threads(before)
   end)

   it("gives attention's bits on the permuted thirds, forward and gradient", function()
      local before = dob.get_threads()
      for _, th in ipairs { 1, 2 } do
         dob.set_threads(th)
         for _, sh in ipairs(SHAPES) do
            local B, T, NH, D = unpack(sh)
            local qkv = H.rand({ B, T, 3 * NH * D }, 91 + D, -1, 1):requires_grad_()
            local g = H.rand({ B, T, NH * D }, 92, -1, 1)
            local opts = { causal = T % 2 == 1, dropout = 0.2, training = true, scale = 0.6 }
            dob.manual_seed(3)
            local o = dob.self_attention(qkv, NH, opts)
            o:backward(g)
            local g1 = qkv:grad():clone()
            qkv:set_grad(nil)
            dob.manual_seed(3)
            local q, k, v = thirds(qkv, NH)
            local o2 = merge(dob.attention(q, k, v, opts))
            o2:backward(g)
            assert.is_true(same_bits(o, o2), "forward " .. table.concat(sh, "x"))
            assert.is_true(same_bits(g1, qkv:grad()), "gradient " .. table.concat(sh, "x"))
            qkv:set_grad(nil)
         end
      end
      dob.set_threads(before)
   end)

   it("gives the same bits at 1 and 2 threads (blocks split over threads or not)", function()
      local before = dob.get_threads()
      local function run(th)
         dob.set_threads(th)
         local qkv = H.rand({ 6, 37, 3 * 3 * 8 }, 93, -1, 1):requires_grad_()
         dob.manual_seed(21)
         local o = dob.self_attention(qkv, 3, { causal = true, dropout = 0.1, training = true })
         o:backward(H.rand(o:size(), 94, -1, 1))
         return flat(o), flat(qkv:grad())
      end
      local o1, g1 = run(1)
      local o2, g2 = run(2)
      dob.set_threads(before)
      assert.are.same(o1, o2)
      assert.are.same(g1, g2)
   end)

   it("takes a non-contiguous qkv (a transposed view) with the same numbers and gradient", function()
      local base = H.rand({ 2, 24, 5 }, 95, -1, 1):requires_grad_()   -- qkv = base^T: [2, 5, 24], 2 heads of 4
      local g = H.rand({ 2, 5, 8 }, 96, -1, 1)
      dob.manual_seed(2)
      local o = dob.self_attention(base:transpose(2, 3), 2, { dropout = 0.2 })
      o:backward(g)
      local via_view = flat(base:grad())
      local c = base:detach():transpose(2, 3):contiguous():requires_grad_()
      dob.manual_seed(2)
      local o2 = dob.self_attention(c, 2, { dropout = 0.2 })
      o2:backward(g)
      assert.are.same(flat(o2), flat(o))
      assert.are.same(flat(c:grad():transpose(2, 3)), via_view)
   end)

   it("gradient by finite differences (causal, dropout held fixed by re-seeding)", function()
      local qkv = H.rand({ 2, 4, 12 }, 81):requires_grad_()
      local op = { op = "self_attention" }
      assert(H.gradcheck(function(x) return dob.self_attention(x, 2, { causal = false }) end, { qkv }, op))
      assert(H.gradcheck(function(x)
         dob.manual_seed(6)
         return dob.self_attention(x, 2, { causal = true, dropout = 0.3, training = true, scale = 0.8 })
      end, { qkv }, op))
   end)

   it("is deterministic for a seed and off when not training", function()
      local qkv = H.rand({ 2, 6, 18 }, 82)
      dob.manual_seed(4)
      local a = flat(dob.self_attention(qkv, 3, { dropout = 0.5 }))
      dob.manual_seed(4)
      assert.are.same(a, flat(dob.self_attention(qkv, 3, { dropout = 0.5 })))
      local q, k, v = thirds(qkv, 3)
      local e = dob.self_attention(qkv, 3, { dropout = 0.5, training = false })
      assert.is_true(same_bits(e, merge(dob.attention(q, k, v, { training = false }))))
   end)

   it("rejects bad input with a message naming the fix", function()
      local ok3 = dob.zeros(2, 3, 12)
      local cases = {
         { function() return dob.self_attention(dob.zeros(2, 12), 2) end, "qkv must be 3%-D" },
         { function() return dob.self_attention(dob.zeros(1, 2, 3, 12), 2) end, "qkv must be 3%-D" },
         { function() return dob.self_attention(dob.zeros(0, 3, 12), 2) end, "must have nonzero sizes" },
         { function() return dob.self_attention(dob.zeros(2, 0, 12), 2) end, "must have nonzero sizes" },
         { function() return dob.self_attention(dob.zeros(2, 3, 0), 2) end, "must have nonzero sizes" },
         { function() return dob.self_attention(dob.zeros(2, 3, 12, "int64"), 2) end, "float32" },
         { function() return dob.self_attention(ok3, 0) end, "heads" },
         { function() return dob.self_attention(ok3, 1.5) end, "heads" },
         { function() return dob.self_attention(ok3, "2") end, "heads" },
         { function() return dob.self_attention(ok3, nil) end, "heads" },
         { function() return dob.self_attention(ok3, 2, 5) end, "options must be a table" },
         { function() return dob.self_attention(ok3, 2, { dropout = 1.5 }) end, "dropout probability 1.5" },
         { function() return dob.self_attention(ok3, 2, { dropout = -0.1 }) end, "dropout probability %-0.1" },
         { function() return dob.self_attention(ok3, 2, { dropout = "x" }) end, "dropout must be a number" },
         { function() return dob.self_attention(ok3, 2, { scale = 1 / 0 }) end, "scale must be finite" },
         { function() return dob.self_attention(ok3, 2, { scale = 0 / 0 }) end, "scale must be finite" },
      }
      for _, C3 in ipairs { 1, 2, 4, 5, 7, 8, 10, 11, 13 } do   -- not 3 x 2 heads x D
         cases[#cases + 1] = { function() return dob.self_attention(dob.zeros(2, 3, C3), 2) end,
            "must be 3 x heads x head size" }
      end
      for i, c in ipairs(cases) do assert.matches(c[2], errmsg(c[1]), nil, false, "case " .. i) end
   end)
end)
