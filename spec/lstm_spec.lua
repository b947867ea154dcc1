local dob = require "deepobs"
local H = require "helpers.gradcheck"
local flat, errmsg = H.flat, H.errmsg

local function sigmoid(v) return 1 / (1 + math.exp(-v)) end

-- a naive LSTM in plain Lua (doubles); gates [i, f, g, o]
local function naive_lstm(x, wih, whh, bias, h0, c0, fb)
   local T, B, I = x:size(1), x:size(2), x:size(3)
   local Hd = whh:size(2)
   local px, pi, ph = flat(x), flat(wih), flat(whh)
   local pb = bias and flat(bias)
   local h, c = {}, {}
   for b = 0, B - 1 do
      h[b], c[b] = {}, {}
      for j = 0, Hd - 1 do
         h[b][j] = h0 and flat(h0)[b * Hd + j + 1] or 0
         c[b][j] = c0 and flat(c0)[b * Hd + j + 1] or 0
      end
   end
   local outs = {}
   for t = 0, T - 1 do
      local nh, nc = {}, {}
      for b = 0, B - 1 do
         local a = {}
         for r = 0, 4 * Hd - 1 do
            local s = pb and pb[r + 1] or 0
            for k = 0, I - 1 do s = s + px[(t * B + b) * I + k + 1] * pi[r * I + k + 1] end
            for k = 0, Hd - 1 do s = s + h[b][k] * ph[r * Hd + k + 1] end
            a[r] = s
         end
         nh[b], nc[b] = {}, {}
         for j = 0, Hd - 1 do
            local ig, fg = sigmoid(a[j]), sigmoid(a[Hd + j] + fb)
            local gg, og = math.tanh(a[2 * Hd + j]), sigmoid(a[3 * Hd + j])
            nc[b][j] = fg * c[b][j] + ig * gg
            nh[b][j] = og * math.tanh(nc[b][j])
         end
      end
      h, c = nh, nc
      for b = 0, B - 1 do for j = 0, Hd - 1 do outs[#outs + 1] = h[b][j] end end
   end
   local hn, cn = {}, {}
   for b = 0, B - 1 do for j = 0, Hd - 1 do hn[#hn + 1] = h[b][j]; cn[#cn + 1] = c[b][j] end end
   return outs, hn, cn
end

local T, B, I, HD = 3, 2, 3, 4

local function inputs()
   return H.rand({ T, B, I }, 1):requires_grad_(), H.rand({ 4 * HD, I }, 2, -0.6, 0.6):requires_grad_(),
      H.rand({ 4 * HD, HD }, 3, -0.6, 0.6):requires_grad_(), H.rand({ 4 * HD }, 4, -0.5, 0.5):requires_grad_(),
      H.rand({ B, HD }, 5):requires_grad_(), H.rand({ B, HD }, 6):requires_grad_()
end

describe("lstm", function()
   it("matches a naive Lua LSTM (forget_bias 1 with all inputs, 0 without optional ones)", function()
      local x, wih, whh, b, h0, c0 = inputs()
      local out, hn, cn = dob.lstm(x, wih, whh, b, h0, c0, 1.0)
      assert.are.same({ T, B, HD }, out:size())
      assert.are.same({ B, HD }, hn:size())
      assert.are.same({ B, HD }, cn:size())
      local eo, eh, ec = naive_lstm(x, wih, whh, b, h0, c0, 1.0)
      assert.is_true(H.max_diff(out, eo) < 1e-5)
      assert.is_true(H.max_diff(hn, eh) < 1e-5)
      assert.is_true(H.max_diff(cn, ec) < 1e-5)
      local out2, hn2, cn2 = dob.lstm(x, wih, whh, nil, nil, nil, 0)
      local eo2, eh2, ec2 = naive_lstm(x, wih, whh, nil, nil, nil, 0)
      assert.is_true(H.max_diff(out2, eo2) < 1e-5)
      assert.is_true(H.max_diff(hn2, eh2) < 1e-5)
      assert.is_true(H.max_diff(cn2, ec2) < 1e-5)
      -- a longer, wider run: B = 1, T = 7, H = 5, I = 2
      local x3 = H.rand({ 7, 1, 2 }, 11)
      local w3, u3 = H.rand({ 20, 2 }, 12), H.rand({ 20, 5 }, 13)
      local o3 = dob.lstm(x3, w3, u3, nil, nil, nil, 1.0)
      assert.is_true(H.max_diff(o3, (naive_lstm(x3, w3, u3, nil, nil, nil, 1.0))) < 1e-5)
   end)

   it("gradients of every input through the outputs", function()
      local x, wih, whh, b, h0, c0 = inputs()
      assert(H.gradcheck(function(...)
         local out = dob.lstm(...)
         return out
      end, { x, wih, whh, b, h0, c0, 1.0 }))
   end)

   it("gradients through hn and cn", function()
      local x, wih, whh, b, h0, c0 = inputs()
      assert(H.gradcheck(function(...)
         local _, hn = dob.lstm(...)
         return hn
      end, { x, wih, whh, b, h0, c0, 0.0 }))
      assert(H.gradcheck(function(...)
         local _, _, cn = dob.lstm(...)
         return cn
      end, { x, wih, whh, b, h0, c0, 1.0 }))
      -- all three outputs at once
      assert(H.gradcheck(function(...)
         local out, hn, cn = dob.lstm(...)
         return dob.cat({ out:view(-1), hn:view(-1), cn:view(-1) }, 1)
      end, { x, wih, whh, b, h0, c0, 1.0 }))
   end)

   it("gradients with a non-contiguous x and no bias / initial state", function()
      local xb = H.rand({ B, T, I }, 21):requires_grad_()
      local _, wih, whh = inputs()
      assert(H.gradcheck(function(x, w, u)
         local out = dob.lstm(x:transpose(1, 2), w, u, nil, nil, nil, 1.0)
         return out
      end, { xb, wih, whh }))
   end)

   it("saturates cleanly for huge pre-activations", function()
      local x = dob.tensor({ { { 100, -100, 50 } }, { { -300, 300, 0.001 } } })
      local w = H.rand({ 8, 3 }, 31, -5, 5)
      local u = H.rand({ 8, 2 }, 32, -5, 5)
      local out, hn, cn = dob.lstm(x, w, u, nil, nil, nil, 1.0)
      assert.is_true(out:all_finite() and hn:all_finite() and cn:all_finite())
      local eo, _, ec = naive_lstm(x, w, u, nil, nil, nil, 1.0)
      assert.is_true(H.max_diff(out, eo) < 1e-5)
      assert.is_true(H.max_diff(cn, ec) < 1e-5)
      -- tiny pre-activations (the tanh series branch)
      local xs = H.rand({ 2, 2, 3 }, 33, -1e-3, 1e-3)
      local os = dob.lstm(xs, w, u, nil, nil, nil, 0)
      assert.is_true(H.max_diff(os, (naive_lstm(xs, w, u, nil, nil, nil, 0))) < 1e-6)
   end)

   it("rejects bad shapes and dtypes", function()
      local x, wih, whh, b, h0, c0 = inputs()
      assert.matches("lstm: x must be %[T,B,I%], got %[3x2%]",
         errmsg(function() return dob.lstm(dob.zeros(3, 2), wih, whh) end))
      assert.matches("lstm: w_hh must be %[4H,H%], got %[16x3%]",
         errmsg(function() return dob.lstm(x, wih, dob.zeros(16, 3)) end))
      assert.matches("lstm: w_ih must be %[4H,I%]",
         errmsg(function() return dob.lstm(x, dob.zeros(16, 2), whh) end))
      assert.matches("lstm: bias must be %[4H%] = %[16%], got %[12%]",
         errmsg(function() return dob.lstm(x, wih, whh, dob.zeros(12)) end))
      assert.matches("lstm: h0 must be %[B,H%]",
         errmsg(function() return dob.lstm(x, wih, whh, b, dob.zeros(3, 4), c0) end))
      assert.matches("lstm: c0 must be %[B,H%]",
         errmsg(function() return dob.lstm(x, wih, whh, b, h0, dob.zeros(2, 5)) end))
      assert.matches("lstm: argument 'x' must be float32, got int64",
         errmsg(function() return dob.lstm(dob.zeros(3, 2, 3, "int64"), wih, whh) end))
   end)
end)
