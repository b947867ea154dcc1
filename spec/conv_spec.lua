local dob = require "deepobs"
local H = require "helpers.gradcheck"

-- naive references (6+ nested loops over contiguous copies, double accumulation)
local function naive_conv2d(x, w, b, sh, sw, pt, pb, pl, pr)
   local N, C, IH, IW = unpack(x:size())
   local OC, _, KH, KW = unpack(w:size())
   local OH, OW = math.floor((IH + pt + pb - KH) / sh) + 1, math.floor((IW + pl + pr - KW) / sw) + 1
   local xc, wc = x:contiguous(), w:contiguous()
   local px, pw = xc:data(), wc:data()
   local out = dob.zeros(N, OC, OH, OW)
   local po = out:data()
   for n = 0, N - 1 do
      for o = 0, OC - 1 do
         for oh = 0, OH - 1 do
            for ow = 0, OW - 1 do
               local s = b and b:get(o + 1) or 0
               for c = 0, C - 1 do
                  for kh = 0, KH - 1 do
                     local ih = oh * sh - pt + kh
                     if ih >= 0 and ih < IH then
                        for kw = 0, KW - 1 do
                           local iw = ow * sw - pl + kw
                           if iw >= 0 and iw < IW then
                              s = s + px[((n * C + c) * IH + ih) * IW + iw] * pw[((o * C + c) * KH + kh) * KW + kw]
                           end
                        end
                     end
                  end
               end
               po[((n * OC + o) * OH + oh) * OW + ow] = s
            end
         end
      end
   end
   return out
end

local function naive_conv_transpose2d(x, w, b, sh, sw, pt, pb, pl, pr)
   local N, C, IH, IW = unpack(x:size())
   local _, OC, KH, KW = unpack(w:size())
   local OH, OW = (IH - 1) * sh + KH - pt - pb, (IW - 1) * sw + KW - pl - pr
   local xc, wc = x:contiguous(), w:contiguous()
   local px, pw = xc:data(), wc:data()
   local acc = {}
   for i = 0, N * OC * OH * OW - 1 do acc[i] = 0 end
   for n = 0, N - 1 do
      for c = 0, C - 1 do
         for ih = 0, IH - 1 do
            for iw = 0, IW - 1 do
               local v = px[((n * C + c) * IH + ih) * IW + iw]
               for o = 0, OC - 1 do
                  for kh = 0, KH - 1 do
                     local oh = ih * sh - pt + kh
                     if oh >= 0 and oh < OH then
                        for kw = 0, KW - 1 do
                           local ow = iw * sw - pl + kw
                           if ow >= 0 and ow < OW then
                              local k = ((n * OC + o) * OH + oh) * OW + ow
                              acc[k] = acc[k] + v * pw[((c * OC + o) * KH + kh) * KW + kw]
                           end
                        end
                     end
                  end
               end
            end
         end
      end
   end
   local out = dob.zeros(N, OC, OH, OW)
   local po = out:data()
   for n = 0, N - 1 do
      for o = 0, OC - 1 do
         local bv = b and b:get(o + 1) or 0
         for p = 0, OH * OW - 1 do
            local k = (n * OC + o) * OH * OW + p
            po[k] = acc[k] + bv
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

local function err(f, pat)
   local ok, e = pcall(f)
   assert.is_false(ok)
   assert.matches(pat, e)
end

-- {N, C, H, W, OC, KH, KW, sh, sw, pt, pb, pl, pr, bias}
local cases = {
   { 2, 3, 7, 6, 4, 3, 3, 1, 1, 1, 1, 1, 1, true },      -- 3x3 same
   { 3, 2, 8, 9, 3, 3, 2, 2, 2, 0, 1, 1, 0, true },      -- stride 2, asymmetric padding
   { 1, 2, 5, 5, 3, 5, 5, 1, 1, 2, 2, 2, 2, false },     -- batch of 1, 5x5
   { 2, 4, 6, 5, 3, 1, 1, 1, 1, 0, 0, 0, 0, true },      -- 1x1 direct path (chunked)
   { 2, 3, 9, 7, 2, 4, 3, 3, 2, 1, 2, 0, 2, false },     -- stride 3x2, rectangular kernel
   { 2, 2, 46, 46, 3, 3, 3, 1, 1, 1, 1, 1, 1, true },    -- one sample per chunk (in-place NCHW path)
   { 2, 2, 46, 46, 3, 1, 1, 1, 1, 0, 0, 0, 0, false },   -- 1x1, one sample per chunk
   { 2, 3, 9, 8, 2, 3, 3, 2, 1, 1, 1, 1, 1, true },      -- stride 2 down, 1 across (row-copy path)
   { 2, 3, 8, 9, 2, 3, 3, 1, 2, 1, 0, 1, 1, false },     -- stride 1 down, 2 across
   { 1, 2, 40, 41, 2, 3, 3, 2, 1, 0, 1, 1, 1, true },    -- stride 2x1, one sample per chunk
}

describe("conv2d", function()
   it("matches a naive convolution (padding, stride, chunk paths)", function()
      for i, c in ipairs(cases) do
         local x = H.rand({ c[1], c[2], c[3], c[4] }, i)
         local w = H.rand({ c[5], c[2], c[6], c[7] }, 100 + i)
         local b = c[14] and H.rand({ c[5] }, 200 + i) or nil
         local y = dob.conv2d(x, w, b, { stride = { c[8], c[9] }, padding = { c[10], c[11], c[12], c[13] } })
         local ok, msg = pcall(close, y, naive_conv2d(x, w, b, unpack(c, 8, 13)))
         assert(ok, ("case %d: %s"):format(i, tostring(msg)))
      end
   end)

   it("SAME and VALID padding follow TensorFlow", function()
      assert.are.same({ 2, 2 }, { dob.tf_same_padding(28, 5, 1) })
      assert.are.same({ 0, 1 }, { dob.tf_same_padding(32, 3, 2) })
      assert.are.same({ 1, 1 }, { dob.tf_same_padding(6, 3, 1) })
      assert.are.same({ 0, 0 }, { dob.tf_same_padding(7, 1, 2) })
      local x, w = H.rand({ 1, 2, 8, 8 }, 1), H.rand({ 3, 2, 3, 3 }, 2)
      local y = dob.conv2d(x, w, nil, { stride = 2, padding = "SAME" })
      assert.are.same({ 1, 3, 4, 4 }, y:size())
      close(y, naive_conv2d(x, w, nil, 2, 2, 0, 1, 0, 1))
      assert.are.same({ 1, 3, 6, 6 }, dob.conv2d(x, w, nil, { padding = "VALID" }):size())
      assert.are.same({ 1, 3, 8, 8 }, dob.conv2d(x, w, nil, { padding = 1 }):size())
   end)

   it("gradients: stride 2, asymmetric padding, bias and no bias, 1x1, batch of 1", function()
      for i, c in ipairs(cases) do
         if c[3] < 20 then
            local x = H.rand({ c[1], c[2], c[3], c[4] }, i):requires_grad_()
            local w = H.rand({ c[5], c[2], c[6], c[7] }, 100 + i):requires_grad_()
            local b = c[14] and H.rand({ c[5] }, 200 + i):requires_grad_() or nil
            local opts = { stride = { c[8], c[9] }, padding = { c[10], c[11], c[12], c[13] } }
            local ok, msg = H.gradcheck(function(xx, ww, bb) return dob.conv2d(xx, ww, bb, opts) end, { x, w, b },
               { max_checks = 25 })
            assert(ok, ("case %d: %s"):format(i, tostring(msg)))
         end
      end
   end)

   it("gradients through strided (non-contiguous) input and weight views", function()
      local x = H.rand({ 2, 3, 6, 5 }, 7):requires_grad_()          -- used as [2,3,5,6]
      local w = H.rand({ 3, 3, 2, 4 }, 8):requires_grad_()          -- used as [2,3,3,3]^T-ish permute
      local f = function(xx, ww)
         return dob.conv2d(xx:transpose(3, 4), ww:permute(3, 2, 1, 4):narrow(4, 1, 3), nil,
            { stride = { 1, 2 }, padding = { 1, 0, 2, 1 } })
      end
      local y = f(x, w)
      close(y, naive_conv2d(x:transpose(3, 4), w:permute(3, 2, 1, 4):narrow(4, 1, 3), nil, 1, 2, 1, 0, 2, 1))
      assert(H.gradcheck(f, { x, w }, { max_checks = 25 }))
   end)

   it("is deterministic across calls", function()
      local x, w = H.rand({ 4, 3, 10, 10 }, 1):requires_grad_(), H.rand({ 5, 3, 3, 3 }, 2):requires_grad_()
      local function run()
         x:set_grad(nil); w:set_grad(nil)
         dob.conv2d(x, w, nil, { padding = 1 }):backward(H.rand({ 4, 5, 10, 10 }, 3))
         return w:grad():clone(), x:grad():clone()
      end
      local w1, x1 = run()
      local w2, x2 = run()
      assert.are.equal(0, H.max_diff(w1, w2))
      assert.are.equal(0, H.max_diff(x1, x2))
   end)

   it("rejects bad inputs with clear errors", function()
      local x, w = dob.zeros(1, 3, 5, 5), dob.zeros(4, 3, 3, 3)
      err(function() return dob.conv2d(x, dob.zeros(4, 2, 3, 3)) end,
         "conv2d: input %[1x3x5x5%] has 3 channels but weight %[4x2x3x3%] expects 2")
      err(function() return dob.conv2d(x, dob.zeros(4, 3, 7, 7)) end, "kernel 7x7 is larger than the padded input 5x5")
      err(function() return dob.conv2d(dob.zeros(3, 5, 5), w) end, "conv2d: input must be 4%-D")
      err(function() return dob.conv2d(x, dob.zeros(4, 3, 3)) end, "conv2d: weight must be 4%-D")
      err(function() return dob.conv2d(dob.zeros(1, 3, 5, 5, "int64"), w) end, "must be float32")
      err(function() return dob.conv2d(x, w, dob.zeros(3)) end, "conv2d: bias must be %[4%]")
      err(function() return dob.conv2d(x, w, nil, { stride = 0 }) end, "strides must be >= 1")
      err(function() return dob.conv2d(x, w, nil, { padding = -1 }) end, "padding must be >= 0")
      err(function() return dob.conv2d(x, w, nil, { padding = "FULL" }) end, "padding must be a number")
      err(function() return dob.conv2d(x, w, nil, { padding = 1.5 }) end, "conv2d: argument 'padding' must be an integer.*, got 1.5")
      err(function() return dob.conv_transpose2d(x, dob.zeros(4, 2, 3, 3)) end,
         "conv_transpose2d: input %[1x3x5x5%] has 3 channels but weight %[4x2x3x3%] expects 4")
      err(function() return dob.conv_transpose2d(dob.zeros(1, 3, 1, 1), dob.zeros(3, 2, 2, 2), nil, { padding = 1 }) end,
         "leaves an empty output")
      err(function() return dob.conv_transpose2d(x, dob.zeros(3, 2, 1, 1), nil, { stride = 2, padding = "SAME" }) end,
         "'SAME' needs the kernel")
   end)
end)

-- a stride-1 conv2d with bias and both its gradients against the naive references (dx is the
-- transposed convolution of dy, dw a convolution of x by dy); returns dx, dw, y
local function stride1_matches_naive(N, C, IH, IW, OC, pad, KH, KW, seed)
   local x = H.rand({ N, C, IH, IW }, seed):requires_grad_()
   local w = H.rand({ OC, C, KH, KW }, seed + 1):requires_grad_()
   local b = H.rand({ OC }, seed + 2):requires_grad_()
   local y = dob.conv2d(x, w, b, { padding = pad })
   close(y, naive_conv2d(x:detach(), w:detach(), b:detach(), 1, 1, unpack(pad)))
   local dy = H.rand(y:size(), seed + 3)
   y:backward(dy)
   close(x:grad(), naive_conv_transpose2d(dy, w:detach(), nil, 1, 1, unpack(pad)))
   local dwt = naive_conv2d(x:detach():permute(2, 1, 3, 4), dy:permute(2, 1, 3, 4), nil, 1, 1, unpack(pad))
   close(w:grad(), dwt:permute(2, 1, 3, 4), 1e-3)
   return x:grad():clone(), w:grad():clone(), y:detach()
end

-- check(c, seed) for every case, naming the case that fails
local function each_matches_naive(cases, check)
   for i, c in ipairs(cases) do
      local ok, msg = pcall(check, c, 10 * i)
      assert(ok, ("case %d: %s"):format(i, tostring(msg)))
   end
end

-- check(c, seed) twice on two threads: it passes, and both runs give the same bits
local function same_bits_on_two_threads(c, check)
   local old = dob.get_threads()
   dob.set_threads(2)
   local ok, dx1, dw1, y1 = pcall(check, c, 3)
   local _, dx2, dw2, y2 = pcall(check, c, 3)
   dob.set_threads(old)
   assert(ok, dx1)
   assert.are.equal(0, H.max_diff(y1, y2))
   assert.are.equal(0, H.max_diff(dx1, dx2))
   assert.are.equal(0, H.max_diff(dw1, dw2))
end

describe("conv2d by Winograd F(2x2, 3x3), F(2x2, 4x4) and F(2x2, 5x5) (stride 1, 8+ channels)", function()
   -- {N, C, H, W, OC, pt, pb, pl, pr, kernel}; outputs 15+ wide take the split-plane path,
   -- 11-14 wide are transformed straight from the whole split sample (6 or 7 tile columns),
   -- narrower ones gather through index maps
   local wcases = {
      { 2, 8, 7, 5, 9, 1, 1, 1, 1, 3 },      -- SAME, odd sizes (partial tiles)
      { 1, 9, 8, 8, 8, 0, 0, 0, 0, 3 },      -- VALID, batch of 1
      { 2, 8, 6, 7, 10, 0, 1, 1, 0, 3 },     -- asymmetric padding
      { 1, 8, 4, 4, 8, 2, 2, 2, 2, 3 },      -- padding wider than the kernel's reach
      { 2, 8, 3, 9, 8, 0, 0, 1, 1, 3 },      -- a single output row
      { 2, 8, 4, 3, 8, 0, 0, 0, 0, 3 },      -- a single output column (one tile column)
      { 3, 8, 13, 11, 9, 1, 1, 1, 1, 3 },    -- 6 tile columns, 7 tile rows
      { 2, 8, 14, 14, 8, 2, 2, 2, 2, 5 },    -- 2c2d's second layer: 7 x 7 tiles
      { 2, 9, 12, 13, 8, 1, 0, 0, 3, 5 },    -- 7 tile columns, asymmetric padding
      { 2, 8, 7, 6, 9, 2, 2, 2, 2, 5 },      -- 5x5 SAME (2c2d), partial tiles
      { 1, 10, 9, 8, 8, 0, 0, 0, 0, 5 },     -- 5x5 VALID
      { 2, 8, 5, 6, 8, 1, 3, 0, 2, 5 },      -- 5x5 asymmetric padding
      { 2, 8, 7, 7, 8, 1, 2, 1, 2, 4 },      -- 4x4 SAME (1 before, 2 after), VAE's 7x7 layer
      { 2, 8, 14, 14, 9, 1, 2, 1, 2, 4 },    -- 4x4 SAME on 14x14 (7 tile columns)
      { 1, 9, 9, 6, 8, 0, 0, 0, 0, 4 },      -- 4x4 VALID
      { 2, 8, 5, 8, 8, 2, 0, 3, 1, 4 },      -- 4x4 asymmetric padding
      { 1, 8, 21, 18, 8, 1, 2, 2, 1, 4 },    -- 4x4 wide plane (split path)
      { 1, 8, 38, 35, 8, 1, 2, 1, 2, 4 },    -- 4x4 in two bands of tile rows
      { 1, 8, 20, 19, 8, 1, 2, 0, 3, 5 },    -- wide plane (split path), 5x5, asymmetric
      { 1, 8, 17, 18, 9, 0, 1, 1, 0, 3 },    -- wide plane, 3x3, asymmetric, odd height
      -- over 256 tiles a plane: chunks of tile rows, whose dx overlap the next chunk's
      { 1, 8, 40, 36, 8, 2, 2, 2, 2, 5 },    -- 5x5 SAME, two bands of 10 tile rows
      { 2, 8, 37, 33, 9, 0, 1, 1, 0, 3 },    -- 3x3 asymmetric, two bands of 9, two samples
   }
   local function data(c, seed)
      local x = H.rand({ c[1], c[2], c[3], c[4] }, seed)
      local w = H.rand({ c[5], c[2], c[10], c[10] }, seed + 1)
      return x, w, H.rand({ c[5] }, seed + 2)
   end
   local function check(c, seed)
      return stride1_matches_naive(c[1], c[2], c[3], c[4], c[5], { c[6], c[7], c[8], c[9] }, c[10], c[10], seed)
   end

   it("forward and both gradients match naive ones", function() each_matches_naive(wcases, check) end)

   it("gradients match finite differences", function()
      -- conv is linear in each input, so a large step has no truncation error and
      -- keeps F(2,5)'s float rounding (coefficients up to 5 and 1/24) out of the difference
      for _, c in ipairs({ wcases[3], wcases[12], wcases[16] }) do
         local x, w, b = data(c, 7)
         local opts = { padding = { c[6], c[7], c[8], c[9] } }
         assert(H.gradcheck(function(xx, ww, bb) return dob.conv2d(xx, ww, bb, opts) end,
            { x:requires_grad_(), w:requires_grad_(), b:requires_grad_() }, { max_checks = 25, eps = 0.05 }))
      end
   end)

   it("several chunks on two threads: matches naive, and the same bits on every run", function()
      same_bits_on_two_threads({ 8, 16, 34, 34, 16, 1, 1, 1, 1, 3 }, check)   -- wide planes
      same_bits_on_two_threads({ 20, 16, 14, 14, 16, 2, 2, 2, 2, 5 }, check)  -- transformed from the split plane
      same_bits_on_two_threads({ 56, 32, 6, 6, 32, 1, 1, 1, 1, 3 }, check)    -- index-mapped
      same_bits_on_two_threads({ 16, 16, 14, 14, 16, 1, 2, 1, 2, 4 }, check)  -- 4x4, index-mapped
   end)

   it("conv_transpose2d (stride 1, 3x3 and 4x4) matches a naive transposed convolution", function()
      local x, w, b = H.rand({ 2, 8, 6, 5 }, 1), H.rand({ 8, 9, 3, 3 }, 2), H.rand({ 9 }, 3)
      close(dob.conv_transpose2d(x, w, b, { padding = { 1, 0, 1, 1 } }), naive_conv_transpose2d(x, w, b, 1, 1, 1, 0, 1, 1))
      x, w, b = H.rand({ 2, 8, 14, 14 }, 4), H.rand({ 8, 9, 4, 4 }, 5), H.rand({ 9 }, 6)   -- the VAE decoder's
      close(dob.conv_transpose2d(x, w, b, { padding = { 1, 2, 1, 2 } }), naive_conv_transpose2d(x, w, b, 1, 1, 1, 2, 1, 2))
   end)
end)

describe("conv2d by Winograd F(4, r) along 1 x r and r x 1 kernels (stride 1, 8+ channels)", function()
   -- {N, C, H, W, OC, pt, pb, pl, pr, KH, KW}
   local cases = {
      { 2, 8, 5, 17, 9, 0, 0, 3, 3, 1, 7 },     -- Inception's 1x7 SAME, partial last tile
      { 2, 9, 17, 6, 8, 3, 3, 0, 0, 7, 1 },     -- 7x1 SAME
      { 1, 8, 8, 8, 10, 0, 0, 1, 1, 1, 3 },     -- 1x3 SAME, whole tiles
      { 2, 8, 8, 5, 8, 1, 1, 0, 0, 3, 1 },      -- 3x1 SAME
      { 1, 8, 4, 11, 8, 0, 0, 0, 0, 1, 7 },     -- VALID: one tile and a part
      { 2, 8, 3, 9, 8, 1, 2, 2, 4, 1, 5 },      -- asymmetric padding, also across the kernel
      { 1, 8, 9, 2, 9, 5, 1, 1, 0, 6, 1 },      -- even kernel, padding wider than its reach
      { 3, 8, 7, 7, 8, 3, 3, 0, 0, 7, 1 },      -- a plane no longer than a tile
   }
   local function check(c, seed)
      return stride1_matches_naive(c[1], c[2], c[3], c[4], c[5], { c[6], c[7], c[8], c[9] }, c[10], c[11], seed)
   end

   it("forward and both gradients match naive ones", function() each_matches_naive(cases, check) end)

   it("F(4, 7) stays within 2e-5 of the largest output on Inception's 192-channel 7x1 layer", function()
      -- im2col + sgemm: ~5e-7 here; 3 and -3 as the last two points fail this
      local x, w = H.rand({ 1, 192, 17, 17 }, 41), H.rand({ 4, 192, 7, 1 }, 42)
      local y = dob.conv2d(x, w, nil, { padding = "SAME" })
      local exact = naive_conv2d(x, w, nil, 1, 1, 3, 3, 0, 0)
      local scale = math.max(exact:abs():max():item(), 1e-30)
      assert.is_true(H.max_diff(y, exact) / scale < 2e-5)
   end)

   it("gradients match finite differences, with the fused relu", function()
      for _, c in ipairs({ cases[1], cases[6] }) do
         local x = H.rand({ 1, c[2], c[3], c[4] }, 5)
         local w, b = H.rand({ c[5], c[2], c[10], c[11] }, 6), H.rand({ c[5] }, 7)
         local opts = { padding = { c[6], c[7], c[8], c[9] }, activation = "relu" }
         assert(H.gradcheck(function(xx, ww, bb) return dob.conv2d(xx, ww, bb, opts) end,
            { x:requires_grad_(), w:requires_grad_(), b:requires_grad_() }, { max_checks = 25, eps = 0.05 }))
      end
   end)

   it("several chunks on two threads: matches naive, and the same bits on every run", function()
      same_bits_on_two_threads({ 12, 16, 17, 17, 16, 0, 0, 3, 3, 1, 7 }, check)
   end)

   it("conv_transpose2d (stride 1, 1x7 and 3x1) matches a naive transposed convolution", function()
      local x, b = H.rand({ 2, 8, 5, 9 }, 1), H.rand({ 9 }, 3)
      for _, k in ipairs({ { 1, 7, { 0, 0, 3, 2 } }, { 3, 1, { 1, 0, 0, 0 } } }) do
         local w = H.rand({ 8, 9, k[1], k[2] }, 2)
         close(dob.conv_transpose2d(x, w, b, { padding = k[3] }), naive_conv_transpose2d(x, w, b, 1, 1, unpack(k[3])))
      end
   end)
end)

describe("conv_transpose2d", function()
   -- {N, C, H, W, OC, KH, KW, sh, sw, pt, pb, pl, pr, bias}
   local tcases = {
      { 2, 3, 4, 5, 2, 3, 3, 2, 2, 1, 1, 1, 1, true },
      { 1, 2, 3, 3, 3, 4, 4, 2, 2, 1, 1, 1, 1, false },      -- the VAE's 4x4 stride 2
      { 2, 2, 5, 4, 3, 3, 2, 1, 2, 0, 2, 1, 0, true },       -- asymmetric
      { 2, 4, 5, 5, 3, 1, 1, 1, 1, 0, 0, 0, 0, true },       -- 1x1
      { 2, 2, 24, 24, 2, 4, 4, 2, 2, 1, 1, 1, 1, false },    -- one sample per chunk
   }
   it("matches a naive transposed convolution", function()
      for i, c in ipairs(tcases) do
         local x = H.rand({ c[1], c[2], c[3], c[4] }, i)
         local w = H.rand({ c[2], c[5], c[6], c[7] }, 100 + i)
         local b = c[14] and H.rand({ c[5] }, 200 + i) or nil
         local y = dob.conv_transpose2d(x, w, b, { stride = { c[8], c[9] }, padding = { c[10], c[11], c[12], c[13] } })
         local ok, msg = pcall(close, y, naive_conv_transpose2d(x, w, b, unpack(c, 8, 13)))
         assert(ok, ("case %d: %s"):format(i, tostring(msg)))
      end
   end)

   it("is the adjoint of conv2d", function()
      local x, w = H.rand({ 2, 3, 9, 8 }, 1), H.rand({ 4, 3, 3, 3 }, 2)
      local opts = { stride = 2, padding = { 1, 1, 0, 1 } }
      local y = dob.conv2d(x, w, nil, opts)
      local r = H.rand(y:size(), 3)
      local xt = dob.conv_transpose2d(r, w, nil, opts)
      assert.are.same(x:size(), xt:size())
      local function dot(a, b)
         local p, q, s = a:contiguous():data(), b:contiguous():data(), 0
         for i = 0, a:numel() - 1 do s = s + p[i] * q[i] end
         return s
      end
      local l, rr = dot(y, r), dot(x, xt)
      assert(math.abs(l - rr) < 1e-3 * math.max(1, math.abs(l)), l .. " vs " .. rr)
   end)

   it("SAME gives TF's output size in*s", function()
      local x, w = H.rand({ 1, 2, 7, 7 }, 1), H.rand({ 2, 3, 4, 4 }, 2)
      assert.are.same({ 1, 3, 14, 14 }, dob.conv_transpose2d(x, w, nil, { stride = 2, padding = "SAME" }):size())
      assert.are.same({ 1, 3, 7, 7 }, dob.conv_transpose2d(x, H.rand({ 2, 3, 3, 3 }, 3), nil, { padding = "SAME" }):size())
      assert.are.same({ 1, 3, 16, 16 }, dob.conv_transpose2d(x, w, nil, { stride = 2, padding = "VALID" }):size())
   end)

   it("gradients for input, weight and bias", function()
      for i, c in ipairs(tcases) do
         if c[3] < 20 then
            local x = H.rand({ c[1], c[2], c[3], c[4] }, i):requires_grad_()
            local w = H.rand({ c[2], c[5], c[6], c[7] }, 100 + i):requires_grad_()
            local b = c[14] and H.rand({ c[5] }, 200 + i):requires_grad_() or nil
            local opts = { stride = { c[8], c[9] }, padding = { c[10], c[11], c[12], c[13] } }
            local ok, msg = H.gradcheck(function(xx, ww, bb) return dob.conv_transpose2d(xx, ww, bb, opts) end,
               { x, w, b }, { max_checks = 25 })
            assert(ok, ("case %d: %s"):format(i, tostring(msg)))
         end
      end
   end)
end)
