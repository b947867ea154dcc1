local dob = require "deepobs"
local H = require "helpers.gradcheck"
local flat = H.flat

local function err(f)
   local ok, e = pcall(f)
   assert.is_false(ok)
   return e
end

-- per-channel mean, biased and unbiased variance of x [N,C,*] in plain Lua
local function channel_stats(x)
   local s = x:size()
   local N, C = s[1], s[2]
   local HW = x:numel() / (N * C)
   local v = flat(x)
   local mean, var, uvar = {}, {}, {}
   for c = 0, C - 1 do
      local sum, M = 0, N * HW
      for n = 0, N - 1 do for j = 0, HW - 1 do sum = sum + v[(n * C + c) * HW + j + 1] end end
      local m = sum / M
      local q = 0
      for n = 0, N - 1 do for j = 0, HW - 1 do q = q + (v[(n * C + c) * HW + j + 1] - m) ^ 2 end end
      mean[c + 1], var[c + 1], uvar[c + 1] = m, q / M, q / (M - 1)
   end
   return mean, var, uvar
end

-- y = (x - mean[c]) / sqrt(var[c] + eps) * w[c] + b[c]
local function ref_affine(x, mean, var, w, b, eps)
   local s = x:size()
   local N, C = s[1], s[2]
   local HW = x:numel() / (N * C)
   local v, out = flat(x), {}
   for n = 0, N - 1 do
      for c = 0, C - 1 do
         for j = 0, HW - 1 do
            local i = (n * C + c) * HW + j + 1
            out[i] = (v[i] - mean[c + 1]) / math.sqrt(var[c + 1] + eps) * (w and w[c + 1] or 1) + (b and b[c + 1] or 0)
         end
      end
   end
   return out
end

local function close(t, ref, tol)
   local a = dob.is_tensor(t) and flat(t) or t
   assert.are.equal(#ref, #a)
   for i = 1, #a do
      if not (math.abs(a[i] - ref[i]) <= tol) then
         error(("element %d: got %.7g, expected %.7g"):format(i, a[i], ref[i]), 2)
      end
   end
end

describe("batch_norm", function()
   it("training forward normalises with batch statistics ([N,C,H,W] and [N,C])", function()
      for _, shape in ipairs { { 3, 4, 5, 3 }, { 7, 5 }, { 1, 2, 3, 3 } } do
         local x = H.rand(shape, 3, -1, 3)
         local C = shape[2]
         local w, b = H.rand({ C }, 4, 0.5, 2), H.rand({ C }, 5)
         local mean, var = channel_stats(x)
         close(dob.batch_norm(x, w, b, nil, nil, true, 0.1, 1e-5), ref_affine(x, mean, var, flat(w), flat(b), 1e-5), 2e-5)
         close(dob.batch_norm(x, nil, nil, nil, nil, true), ref_affine(x, mean, var, nil, nil, 1e-5), 2e-5)
      end
   end)

   it("updates running stats in place (unbiased var), and eval mode uses them", function()
      local C = 3
      local rm, rv = dob.zeros(C), dob.ones(C)
      local x1, x2 = H.rand({ 4, C, 3, 2 }, 11, -1, 2), H.rand({ 4, C, 3, 2 }, 12, 0, 4)
      local v0 = rm:version()
      local xr = x1:clone():requires_grad_()   -- grad mode on, input tracked: still allowed
      dob.batch_norm(xr, nil, nil, rm, rv, true, 0.1, 1e-5)
      assert.is_true(rm:version() > v0)
      dob.batch_norm(x2, nil, nil, rm, rv, true, 0.1, 1e-5)
      local m1, _, u1 = channel_stats(x1)
      local m2, _, u2 = channel_stats(x2)
      local em, ev = {}, {}
      for c = 1, C do
         em[c] = 0.9 * (0.9 * 0 + 0.1 * m1[c]) + 0.1 * m2[c]
         ev[c] = 0.9 * (0.9 * 1 + 0.1 * u1[c]) + 0.1 * u2[c]
      end
      close(rm, em, 1e-6)
      close(rv, ev, 1e-5)
      assert.is_false(rm:requires_grad())
      -- eval: y = (x - running_mean) / sqrt(running_var + eps) w + b
      local w, b = H.rand({ C }, 13, 0.5, 2), H.rand({ C }, 14)
      local y = dob.batch_norm(x1, w, b, rm, rv, false, 0.1, 1e-3)
      close(y, ref_affine(x1, em, ev, flat(w), flat(b), 1e-3), 2e-5)
      close(rm, em, 1e-6)   -- eval leaves running stats alone
   end)

   it("running stats may be strided views", function()
      local buf = dob.zeros(2, 3)
      local rm, rv = buf:select(1, 1), dob.ones(3, 2):select(2, 2)
      local x = H.rand({ 5, 3 }, 17)
      dob.batch_norm(x, nil, nil, rm, rv, true, 0.5, 1e-5)
      local m, _, u = channel_stats(x)
      close(rm, { 0.5 * m[1], 0.5 * m[2], 0.5 * m[3] }, 1e-6)
      close(rv, { 0.5 + 0.5 * u[1], 0.5 + 0.5 * u[2], 0.5 + 0.5 * u[3] }, 1e-6)
      close(buf:select(1, 2), { 0, 0, 0 }, 0)
   end)

   local cases = {
      { "train, affine, [N,C,H,W]", { 3, 2, 3, 2 }, true, true },
      { "train, no affine, [N,C,H,W]", { 2, 3, 2, 3 }, true, false },
      { "train, affine, [N,C]", { 6, 3 }, true, true },
      { "train, no affine, [N,C]", { 5, 2 }, true, false },
      { "train, affine, batch of 1", { 1, 2, 3, 3 }, true, true },
      { "eval, affine, [N,C,H,W]", { 2, 3, 2, 2 }, false, true },
      { "eval, no affine, [N,C]", { 4, 3 }, false, false },
   }
   for k, cs in ipairs(cases) do
      local name, shape, training, affine = unpack(cs)
      it("gradients: " .. name, function()
         local C = shape[2]
         local x = H.rand(shape, 40 + k, -1, 2):requires_grad_()
         local w = affine and H.rand({ C }, 50 + k, 0.5, 1.5):requires_grad_() or nil
         local b = affine and H.rand({ C }, 60 + k):requires_grad_() or nil
         local rm, rv = H.rand({ C }, 70 + k), H.rand({ C }, 80 + k, 0.5, 2)
         local f = function(a, ww, bb)
            -- running stats are copied so repeated evaluations see the same ones
            return dob.batch_norm(a, ww, bb, rm:clone(), rv:clone(), training, 0.1, 1e-5)
         end
         assert(H.gradcheck(f, { x, w or false, b or false }, { eps = 1e-2, atol = 3e-3 }))
      end)
   end

   it("gradients through a non-contiguous input", function()
      local x = H.rand({ 3, 2, 4 }, 91, -1, 2):requires_grad_()
      local w = H.rand({ 4 }, 92, 0.5, 1.5):requires_grad_()
      assert(H.gradcheck(function(a, ww)
         return dob.batch_norm(a:transpose(2, 3):contiguous():view(3, 4, 2, 1):transpose(3, 4), ww, nil, nil, nil, true)
      end, { x, w }, { eps = 1e-2, atol = 3e-3 }))
      -- a strided input gives the same result as a contiguous copy
      local t = x:detach():transpose(2, 3)
      assert.are.equal(0, H.max_diff(dob.batch_norm(t, nil, nil, nil, nil, true), dob.batch_norm(t:contiguous(), nil, nil, nil, nil, true)))
   end)

   it("does not depend on the thread count", function()
      local x = H.rand({ 16, 8, 24, 24 }, 5):requires_grad_()
      local w = dob.ones(8):requires_grad_()
      local g = H.rand({ 16, 8, 24, 24 }, 6)
      local function run(nt)
         dob.set_threads(nt)
         x:set_grad(nil)
         w:set_grad(nil)
         local y = dob.batch_norm(x, w, nil, nil, nil, true)
         y:backward(g)
         return y:detach(), x:grad():clone(), w:grad():clone()
      end
      local old = dob.get_threads()
      local y1, gx1, gw1 = run(1)
      local y2, gx2, gw2 = run(2)
      dob.set_threads(old)
      assert.are.equal(0, H.max_diff(y1, y2))
      assert.are.equal(0, H.max_diff(gx1, gx2))
      assert.are.equal(0, H.max_diff(gw1, gw2))
   end)

   it("rejects bad input with clear errors", function()
      local x = dob.zeros(4, 3, 2, 2)
      assert.matches("batch_norm: 'weight' must have shape %[3%] %(one per channel%), got %[4%]",
         err(function() return dob.batch_norm(x, dob.ones(4)) end))
      assert.matches("eval mode %(training = false%) needs running_mean",
         err(function() return dob.batch_norm(x, nil, nil, nil, nil, false) end))
      assert.matches("give both running_mean and running_var",
         err(function() return dob.batch_norm(x, nil, nil, dob.zeros(3), nil, true) end))
      assert.matches("more than one value per channel, input %[1x3%]",
         err(function() return dob.batch_norm(dob.zeros(1, 3), nil, nil, nil, nil, true) end))
      assert.matches("expected an input %[N,C%] or %[N,C,H,W%], got %[5%]",
         err(function() return dob.batch_norm(dob.zeros(5), nil, nil, nil, nil, true) end))
      assert.matches("'running_var' must be float32",
         err(function() return dob.batch_norm(x, nil, nil, dob.zeros(3), dob.zeros(3, "int64"), true) end))
      assert.matches("momentum must be in %[0, 1%]",
         err(function() return dob.batch_norm(x, nil, nil, nil, nil, true, 2) end))
      assert.matches("must be a deepobs Tensor", err(function() return dob.batch_norm(x, 3) end))
   end)
end)

describe("layer_norm", function()
   -- normalises rows of D = prod(last k dims)
   local function ref_ln(x, k, w, b, eps)
      local s = x:size()
      local D = 1
      for d = #s - k + 1, #s do D = D * s[d] end
      local v, out = flat(x), {}
      for r = 0, x:numel() / D - 1 do
         local sum = 0
         for j = 1, D do sum = sum + v[r * D + j] end
         local m, q = sum / D, 0
         for j = 1, D do q = q + (v[r * D + j] - m) ^ 2 end
         local inv = 1 / math.sqrt(q / D + eps)
         for j = 1, D do out[r * D + j] = (v[r * D + j] - m) * inv * (w and w[j] or 1) + (b and b[j] or 0) end
      end
      return out
   end

   it("forward against a Lua reference, with and without affine", function()
      local x = H.rand({ 3, 4, 5 }, 1, -2, 3)
      local w, b = H.rand({ 4, 5 }, 2, 0.5, 2), H.rand({ 4, 5 }, 3)
      close(dob.layer_norm(x, 2, w, b, 1e-5), ref_ln(x, 2, flat(w), flat(b), 1e-5), 2e-5)
      close(dob.layer_norm(x, 1), ref_ln(x, 1, nil, nil, 1e-5), 2e-5)
      close(x:layer_norm(3, nil, nil, 1e-3), ref_ln(x, 3, nil, nil, 1e-3), 2e-5)
      local w1 = H.rand({ 5 }, 4)
      close(dob.layer_norm(x, 1, w1), ref_ln(x, 1, flat(w1), nil, 1e-5), 2e-5)
   end)

   it("gradients with and without affine, over 1 and 2 dims, strided input", function()
      local x = H.rand({ 3, 2, 5 }, 7, -1, 2):requires_grad_()
      local w = H.rand({ 2, 5 }, 8, 0.5, 1.5):requires_grad_()
      local b = H.rand({ 2, 5 }, 9):requires_grad_()
      local o = { eps = 1e-2, atol = 3e-3 }
      assert(H.gradcheck(function(a, ww, bb) return dob.layer_norm(a, 2, ww, bb) end, { x, w, b }, o))
      assert(H.gradcheck(function(a) return dob.layer_norm(a, 1) end, { x }, o))
      local w1 = H.rand({ 3 }, 10, 0.5, 1.5):requires_grad_()
      assert(H.gradcheck(function(a, ww) return dob.layer_norm(a:transpose(1, 3), 1, ww) end, { x, w1 }, o))
      local b1 = H.rand({ 5 }, 11):requires_grad_()
      assert(H.gradcheck(function(a, bb) return dob.layer_norm(a, 1, nil, bb) end, { x, b1 }, o))
   end)

   it("rejects bad input with clear errors", function()
      local x = dob.zeros(2, 3, 4)
      assert.matches("layer_norm: 'weight' must have the normalised shape %[3x4%] of input %[2x3x4%], got %[4%]",
         err(function() return dob.layer_norm(x, 2, dob.ones(4)) end))
      assert.matches("cannot normalise over the last 4 dims of input %[2x3x4%]",
         err(function() return dob.layer_norm(x, 4) end))
      assert.matches("cannot normalise over the last 0 dims", err(function() return dob.layer_norm(x, 0) end))
      assert.matches("'bias' must be float32", err(function() return dob.layer_norm(x, 1, nil, dob.zeros(4, "uint8")) end))
   end)
end)
