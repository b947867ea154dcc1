local dob = require "deepobs"
local H = require "helpers.gradcheck"
local flat = H.flat

-- a tensor whose values are distinct and at least 0.05 apart (a shuffled
-- ramp), so finite differences never flip a max pooling argmax
local function distinct(shape, seed)
   local t = dob.empty(shape)
   local n = t:numel()
   local v = {}
   for i = 1, n do v[i] = (i - n / 2) * 0.05 end
   local s = seed or 1
   for i = n, 2, -1 do
      s = (s * 1103515245 + 12345) % 2147483648
      local j = s % i + 1
      v[i], v[j] = v[j], v[i]
   end
   local p = t:data()
   for i = 1, n do p[i - 1] = v[i] end
   return t
end

-- naive pooling in plain Lua over [N,C,H,W]; mode "max" or "avg"
local function ref_pool(x, mode, kh, kw, sh, sw, pt, pb, pl, pr, cip)
   local s = x:size()
   local N, C, Hh, W = s[1], s[2], s[3], s[4]
   local OH = math.floor((Hh + pt + pb - kh) / sh) + 1
   local OW = math.floor((W + pl + pr - kw) / sw) + 1
   local v = flat(x)
   local out = {}
   for n = 0, N - 1 do
      for c = 0, C - 1 do
         for oh = 0, OH - 1 do
            for ow = 0, OW - 1 do
               local best, sum, cnt = -math.huge, 0, 0
               for i = 0, kh - 1 do
                  for j = 0, kw - 1 do
                     local ih, iw = oh * sh - pt + i, ow * sw - pl + j
                     if ih >= 0 and ih < Hh and iw >= 0 and iw < W then
                        local val = v[((n * C + c) * Hh + ih) * W + iw + 1]
                        if val > best then best = val end
                        sum = sum + val
                        cnt = cnt + 1
                     end
                  end
               end
               if mode == "max" then out[#out + 1] = best
               else out[#out + 1] = sum / (cip and kh * kw or cnt) end
            end
         end
      end
   end
   return out, { N, C, OH, OW }
end

-- naive TF1 bilinear resize (align_corners = False, no half-pixel centres)
local function ref_resize(x, oh, ow)
   local s = x:size()
   local N, C, Hh, W = s[1], s[2], s[3], s[4]
   local v = flat(x)
   local out = {}
   local function idx(n_in, n_out, d)
      local src = d * (n_in / n_out)
      local lo = math.floor(src)
      return lo, math.min(lo + 1, n_in - 1), src - lo
   end
   for n = 0, N - 1 do
      for c = 0, C - 1 do
         local base = (n * C + c) * Hh * W
         for y = 0, oh - 1 do
            local y0, y1, ly = idx(Hh, oh, y)
            for xx = 0, ow - 1 do
               local x0, x1, lx = idx(W, ow, xx)
               local function at(r, q) return v[base + r * W + q + 1] end
               local top = at(y0, x0) + (at(y0, x1) - at(y0, x0)) * lx
               local bot = at(y1, x0) + (at(y1, x1) - at(y1, x0)) * lx
               out[#out + 1] = top + (bot - top) * ly
            end
         end
      end
   end
   return out
end

local function max_abs_diff(t, ref)
   local a = flat(t)
   assert.are.equal(#ref, #a)
   local m = 0
   for i = 1, #a do
      local d = math.abs(a[i] - ref[i])
      if d ~= d then return math.huge end
      if d > m then m = d end
   end
   return m
end

describe("pooling", function()
   it("computes TF SAME padding, asymmetric where the total is odd", function()
      assert.are.same({ 0, 1 }, { dob.same_padding(28, 3, 2) })
      assert.are.same({ 1, 1 }, { dob.same_padding(7, 3, 2) })
      assert.are.same({ 0, 0 }, { dob.same_padding(8, 2, 2) })
      assert.are.same({ 0, 1 }, { dob.same_padding(7, 2, 2) })
      assert.are.same({ 1, 1 }, { dob.same_padding(5, 3, 1) })
      local y = dob.zeros(1, 1, 28, 28):max_pool2d { kernel = 3, stride = 2, padding = "SAME" }
      assert.are.same({ 1, 1, 14, 14 }, y:size())
      y = dob.zeros(2, 3, 7, 7):max_pool2d { kernel = 2, stride = 2, padding = "VALID" }
      assert.are.same({ 2, 3, 3, 3 }, y:size())
   end)

   local configs = {
      -- kh kw sh sw pt pb pl pr, input shape
      { 3, 3, 2, 2, 0, 1, 0, 1, { 2, 3, 8, 8 } },      -- SAME on 8 (asymmetric)
      { 3, 3, 2, 2, 1, 1, 0, 1, { 1, 2, 9, 8 } },      -- SAME on 9 x 8
      { 2, 2, 2, 2, 0, 0, 0, 0, { 2, 2, 7, 6 } },      -- VALID, odd size
      { 2, 2, 2, 2, 0, 0, 0, 0, { 2, 3, 28, 28 } },    -- 2c2d's pool
      { 2, 2, 2, 2, 0, 1, 0, 1, { 1, 2, 7, 9 } },      -- SAME on odd sizes
      { 3, 3, 1, 1, 1, 1, 1, 1, { 1, 1, 5, 5 } },
      { 3, 2, 2, 1, 2, 0, 1, 1, { 2, 1, 6, 5 } },      -- rectangular kernel, uneven pads
      { 3, 3, 3, 3, 0, 2, 0, 2, { 1, 2, 7, 7 } },      -- stride 3
      -- stride 1 takes separable box sums: rows wider than a chunk of 8, partial chunks
      { 3, 3, 1, 1, 1, 1, 1, 1, { 1, 2, 12, 19 } },    -- Inception's 3x3 SAME
      { 2, 3, 1, 1, 0, 1, 2, 0, { 2, 1, 9, 11 } },     -- rectangular, uneven pads
      { 5, 4, 1, 1, 2, 2, 3, 1, { 1, 1, 6, 17 } },
      { 3, 3, 1, 1, 0, 0, 0, 0, { 1, 2, 10, 8 } },     -- VALID
   }

   for k, cf in ipairs(configs) do
      local kh, kw, sh, sw, pt, pb, pl, pr, shape = unpack(cf)
      local opts = { kernel = { kh, kw }, stride = { sh, sw }, padding = { pt, pb, pl, pr } }
      it(("max/avg forward against a Lua reference, config %d"):format(k), function()
         local x = H.rand(shape, 10 + k, -2, -0.5)   -- all negative: padding must act as -inf
         local ref, oshape = ref_pool(x, "max", kh, kw, sh, sw, pt, pb, pl, pr)
         local y = x:max_pool2d(opts)
         assert.are.same(oshape, y:size())
         assert.is_true(max_abs_diff(y, ref) == 0)
         for _, cip in ipairs { false, true } do
            local o = { kernel = opts.kernel, stride = opts.stride, padding = opts.padding, count_include_pad = cip }
            local ra = ref_pool(x, "avg", kh, kw, sh, sw, pt, pb, pl, pr, cip)
            assert.is_true(max_abs_diff(x:avg_pool2d(o), ra) < 1e-6)
         end
      end)

      it(("max/avg gradients, config %d"):format(k), function()
         local x = distinct(shape, k):requires_grad_()
         assert(H.gradcheck(function(a) return a:max_pool2d(opts) end, { x }))
         for _, cip in ipairs { false, true } do
            local o = { kernel = opts.kernel, stride = opts.stride, padding = opts.padding, count_include_pad = cip }
            assert(H.gradcheck(function(a) return a:avg_pool2d(o) end, { x }))
         end
      end)
   end

   it("gradients through a non-contiguous input (batch of 1, SAME 3x3 stride 2)", function()
      local x = distinct({ 1, 3, 9, 10 }, 5):requires_grad_()
      local o = { kernel = 3, stride = 2, padding = "SAME" }
      assert(H.gradcheck(function(a) return a:transpose(3, 4):max_pool2d(o) end, { x }))
      assert(H.gradcheck(function(a) return a:transpose(3, 4):avg_pool2d(o) end, { x }))
      -- the transposed view gives the same result as a contiguous copy
      local t = x:detach():transpose(3, 4)
      assert.is_true(H.max_diff(t:max_pool2d(o), t:contiguous():max_pool2d(o)) == 0)
   end)

   it("SAME average pooling excludes padding by default, counts it when asked", function()
      local x = dob.ones(1, 1, 3, 3)
      local y = x:avg_pool2d { kernel = 2, stride = 2, padding = "SAME" }   -- pads 0 before, 1 after
      assert.are.same({ { { { 1, 1 }, { 1, 1 } } } }, y:totable())
      y = x:avg_pool2d { kernel = 2, stride = 2, padding = "SAME", count_include_pad = true }
      assert.is_true(H.max_diff(y, { { { { 1, 0.5 }, { 0.5, 0.25 } } } }) < 1e-7)
   end)

   it("max pooling: gradient goes to the argmax, ties to the first cell, NaN propagates", function()
      local x = dob.tensor({ { { { 1, 5, 2, 2 }, { 3, 4, 2, 0 } } } }):requires_grad_()
      local y = x:max_pool2d { kernel = 2, stride = 2 }
      assert.are.same({ { { { 5, 2 } } } }, y:totable())
      y:backward(dob.tensor({ { { { 10, 20 } } } }))
      assert.are.same({ { { { 0, 10, 20, 0 }, { 0, 0, 0, 0 } } } }, x:grad():totable())
      -- overlapping windows accumulate into a shared argmax
      local z = dob.tensor({ { { { 0, 9, 0 } } } }):requires_grad_()
      z:max_pool2d({ kernel = { 1, 2 }, stride = 1 }):backward(dob.ones(1, 1, 1, 2))
      assert.are.same({ { { { 0, 2, 0 } } } }, z:grad():totable())
      local n = dob.tensor({ { { { 1, 0 / 0, 3, 4 } } } }):max_pool2d { kernel = { 1, 2 } }
      local v = n:totable()[1][1][1]
      assert.is_true(v[1] ~= v[1])
      assert.are.equal(4, v[2])
      -- 2x2 windows of stride 2: a NaN wins, of two NaNs the later one
      local q = dob.tensor({ { { { 1, 0 / 0, 3, 4, -1, -2 }, { 7, 2, 0 / 0, 0 / 0, -3, -1 } } } }):requires_grad_()
      local m = q:max_pool2d { kernel = 2, stride = 2 }
      local mv = m:totable()[1][1][1]
      assert.is_true(mv[1] ~= mv[1] and mv[2] ~= mv[2])
      assert.are.equal(-1, mv[3])
      m:backward(dob.tensor({ { { { 10, 20, 30 } } } }))
      assert.are.same({ { { { 0, 10, 0, 0, 30, 0 }, { 0, 0, 0, 20, 0, 0 } } } }, q:grad():totable())
   end)

   it("backward does not depend on the thread count", function()
      local x = H.rand({ 4, 8, 31, 31 }, 3):requires_grad_()   -- above the parallel threshold
      local g = H.rand({ 4, 8, 16, 16 }, 4)
      local function run(nt)
         dob.set_threads(nt)
         x:set_grad(nil)
         x:max_pool2d({ kernel = 3, stride = 2, padding = "SAME" }):backward(g)
         local a = x:grad():clone()
         x:set_grad(nil)
         x:avg_pool2d({ kernel = 3, stride = 2, padding = "SAME" }):backward(g)
         local b = x:grad():clone()
         x:set_grad(nil)
         x:avg_pool2d({ kernel = 3, stride = 1, padding = "SAME" }):backward(x:detach())
         return a, b, x:grad():clone()
      end
      local old = dob.get_threads()
      local a1, b1, c1 = run(1)
      local a2, b2, c2 = run(2)
      dob.set_threads(old)
      assert.are.equal(0, H.max_diff(a1, a2))
      assert.are.equal(0, H.max_diff(b1, b2))
      assert.are.equal(0, H.max_diff(c1, c2))
   end)

   it("rejects bad input with clear errors", function()
      local x = dob.zeros(1, 1, 4, 4)
      local function err(f)
         local ok, e = pcall(f)
         assert.is_false(ok)
         return e
      end
      assert.matches("max_pool2d: expected a 4%-dim input %[N,C,H,W%], got %[4x4%]",
         err(function() return dob.zeros(4, 4):max_pool2d { kernel = 2 } end))
      assert.matches("must be smaller than the kernel",
         err(function() return x:max_pool2d { kernel = 2, padding = 2 } end))
      assert.matches("avg_pool2d: kernel 5x5 is larger than the padded input %[1x1x4x4%]",
         err(function() return x:avg_pool2d { kernel = 5 } end))
      assert.matches("stride must be positive",
         err(function() return x:max_pool2d { kernel = 2, stride = 0 } end))
      assert.matches("kernel size must be positive",
         err(function() return x:avg_pool2d { kernel = 0, stride = 1 } end))
      assert.matches("padding must be a number",
         err(function() return x:max_pool2d { kernel = 2, padding = "FULL" } end))
      assert.matches("option 'kernel' is required", err(function() return x:max_pool2d {} end))
      assert.matches("must be float32", err(function() return dob.zeros(1, 1, 4, 4, "int64"):max_pool2d { kernel = 2 } end))
      assert.matches("padding must be non%-negative",
         err(function() return x:avg_pool2d { kernel = 2, padding = { 0, -1, 0, 0 } } end))
      assert.matches("must be a deepobs Tensor", err(function() return dob.max_pool2d(nil, { kernel = 2 }) end))
   end)
end)

describe("resize_bilinear", function()
   it("matches hand-checked TF1 values", function()
      local x = dob.tensor({ { { { 0, 1, 2, 3 } } } })
      assert.are.same({ 0, 0.5, 1, 1.5, 2, 2.5, 3, 3 }, flat(x:resize_bilinear(1, 8)))
      assert.are.same({ 0, 2 }, flat(x:resize_bilinear(1, 2)))           -- 4 -> 2: src 0, 2
      local q = dob.tensor({ { { { 0, 1 }, { 2, 3 } } } })
      -- 2 -> 3: src 0, 2/3, 4/3 (clamped to the last row/column)
      local r = q:resize_bilinear(3, 3)
      local t = 2 / 3
      assert.is_true(H.max_diff(r, { { { { 0, t, 1 }, { 2 * t, 3 * t, 1 + 2 * t }, { 2, 2 + t, 3 } } } }) < 1e-6)
   end)

   it("matches a Lua reference up and down, odd sizes", function()
      for k, cf in ipairs { { { 2, 3, 5, 7 }, 9, 4 }, { { 1, 2, 8, 8 }, 3, 13 }, { { 1, 1, 3, 4 }, 3, 4 } } do
         local x = H.rand(cf[1], 20 + k)
         local y = x:resize_bilinear(cf[2], cf[3])
         assert.are.same({ cf[1][1], cf[1][2], cf[2], cf[3] }, y:size())
         assert.is_true(max_abs_diff(y, ref_resize(x, cf[2], cf[3])) < 1e-5)
      end
   end)

   it("gradients, up and down, on a non-contiguous input", function()
      local x = H.rand({ 2, 2, 5, 4 }, 31):requires_grad_()
      assert(H.gradcheck(function(a) return a:resize_bilinear(9, 7) end, { x }))
      assert(H.gradcheck(function(a) return a:resize_bilinear(3, 2) end, { x }))
      assert(H.gradcheck(function(a) return a:transpose(3, 4):resize_bilinear(6, 11) end, { x }))
      local one = H.rand({ 1, 1, 1, 1 }, 32):requires_grad_()
      assert(H.gradcheck(function(a) return a:resize_bilinear(2, 3) end, { one }))
   end)

   it("rejects bad sizes", function()
      local ok, e = pcall(function() return dob.zeros(1, 1, 2, 2):resize_bilinear(0, 3) end)
      assert.is_false(ok)
      assert.matches("resize_bilinear: output size must be positive, got 0x3", e)
      ok, e = pcall(function() return dob.zeros(2, 2):resize_bilinear(3, 3) end)
      assert.is_false(ok)
      assert.matches("expected a 4%-dim input", e)
      ok, e = pcall(function() return dob.zeros(1, 1, 2, 2):resize_bilinear(2.5, 3) end)
      assert.is_false(ok)
      assert.matches("output size must be two integers", e)
   end)
end)
