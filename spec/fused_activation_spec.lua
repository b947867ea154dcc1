-- Fused activations: conv2d, conv_transpose2d, linear and batch_norm with activation "relu" are relu of the
-- plain op, bit for bit: the output and every gradient (and batch norm's running statistics),
-- over generated shapes (both conv kernels, Winograd's and im2col's, one chunk and several,
-- one and two threads) and inputs with NaN, +-inf and exact zeros, also in the upstream
-- gradient. The fused op never makes the pre-activation tensor. Bad activation values are
-- usage errors, and the problems that use the fused layers compute what the unfused
-- layers compute.
local ffi = require "ffi"
local dob = require "deepobs"
local C = require("deepobs.C").lib
local H = require "helpers.gradcheck"

-- a deterministic generator of case parameters: r(n) is an integer in [1, n]
local lcg = require("helpers.api_contract").lcg
local function pick(r, list) return list[r(#list)] end

-- the same 32-bit patterns (NaN payloads and signed zeros included)
local function same_bits(a, b, what)
   assert.are.same(a:size(), b:size(), what .. ": sizes")
   local x, y = a:contiguous(), b:contiguous()
   local p, q = ffi.cast("uint32_t *", x:data()), ffi.cast("uint32_t *", y:data())
   for i = 0, x:numel() - 1 do
      if p[i] ~= q[i] then
         error(("%s: element %d differs: %.9g vs %.9g"):format(what, i + 1, x:data()[i], y:data()[i]), 2)
      end
   end
end

local SPECIALS = { 0 / 0, math.huge, -math.huge, 0, -0.0 }

-- a random [sizes] tensor with about one element in `every` replaced by a special value
local function randn_with_specials(r, sizes, every)
   local t = dob.randn(sizes)
   local p = t:data()
   for i = 0, t:numel() - 1 do
      if r(every) == 1 then p[i] = SPECIALS[r(#SPECIALS)] end
   end
   return t
end

-- fresh leaves that require grad, one set per run, with the same values
local function leaves(list)
   local out = {}
   for i, t in ipairs(list) do out[i] = t and t:clone():requires_grad_() or nil end
   return out
end

-- runs f(threads) with that many threads, restoring the setting
local function with_threads(n, f)
   local old = dob.get_threads()
   dob.set_threads(n)
   local ok, err = pcall(f)
   dob.set_threads(old)
   if not ok then error(err, 0) end
end

-- runs plain(leaves):relu() and fused(other leaves), backpropagates g through both and
-- compares the outputs and the gradients of the inputs that require grad. g is given to
-- backward (a gradient the caller holds) and, a second time, reaches the op through a
-- product (a gradient only the engine holds, which the fused backward masks in place).
local function compare(what, inputs, plain, fused, g)
   for _, through_op in ipairs { false, true } do
      local a, b = leaves(inputs), leaves(inputs)
      local ya, yb = plain(a):relu(), fused(b)
      same_bits(ya, yb, what .. ": output")
      if through_op then
         local la, lb = (ya * g):sum(), (yb * g):sum()
         la:backward()
         lb:backward()
      else
         ya:backward(g)
         yb:backward(g)
      end
      for i = 1, #inputs do
         if inputs[i] then
            same_bits(a[i]:grad(), b[i]:grad(), ("%s: gradient of input %d%s"):format(what, i,
               through_op and " (through a product)" or ""))
         end
      end
   end
end

describe("fused relu", function()
   describe("conv2d", function()
      -- shapes: random ones, plus the kernel paths random shapes may miss
      local function cases()
         local r, list = lcg(7), {}
         for _ = 1, 48 do
            local k = pick(r, { 1, 3, 5 })
            list[#list + 1] = { N = pick(r, { 1, 2, 3 }), C = pick(r, { 1, 3, 8, 12 }), OC = pick(r, { 2, 8, 16 }),
               H = k + r(14) - 1, W = k + r(14) - 1, k = k, stride = pick(r, { 1, 2 }),
               padding = pick(r, { "SAME", "VALID" }), bias = r(3) > 1, threads = pick(r, { 1, 2 }) }
         end
         -- one sample a chunk (1296 output pixels), direct 1x1, Winograd on wide planes, several chunks
         list[#list + 1] = { N = 2, C = 3, OC = 4, H = 36, W = 36, k = 3, stride = 1, padding = "SAME", bias = true, threads = 2 }
         list[#list + 1] = { N = 2, C = 5, OC = 6, H = 36, W = 36, k = 1, stride = 1, padding = "VALID", bias = true, threads = 1 }
         list[#list + 1] = { N = 3, C = 6, OC = 4, H = 6, W = 6, k = 1, stride = 1, padding = "VALID", bias = false, threads = 2 }
         list[#list + 1] = { N = 3, C = 8, OC = 8, H = 20, W = 18, k = 3, stride = 1, padding = "SAME", bias = true, threads = 2 }
         list[#list + 1] = { N = 5, C = 8, OC = 16, H = 16, W = 16, k = 5, stride = 1, padding = "SAME", bias = true, threads = 2 }
         return list
      end
      local function winograd(c) return (c.k == 3 or c.k == 5) and c.stride == 1 and c.C >= 8 and c.OC >= 8 end

      it("is relu(conv2d) bit for bit: output, dx, dw, db, over generated shapes and special values", function()
         dob.manual_seed(1)
         local r, n, wino = lcg(11), 0, 0
         for i, c in ipairs(cases()) do
            local x = randn_with_specials(r, { c.N, c.C, c.H, c.W }, 40)
            if c.N > 1 then x:narrow(1, 1, 1):zero_() end   -- a zero sample: outputs exactly the bias
            local w = dob.randn(c.OC, c.C, c.k, c.k)
            local b = c.bias and dob.randn(c.OC) or nil
            if b then b:narrow(1, 1, 1):zero_() end          -- and exactly 0 in channel 1
            local opts = { stride = c.stride, padding = c.padding }
            local fused = { stride = c.stride, padding = c.padding, activation = "relu" }
            local y = dob.conv2d(x, w, b, opts)
            local g = randn_with_specials(r, y:size(), 30)
            local what = ("conv2d case %d (%dx%dx%dx%d, %d -> %d, %dx%d/%d %s, %d threads)"):format(i, c.N, c.C,
               c.H, c.W, c.C, c.OC, c.k, c.k, c.stride, c.padding, c.threads)
            with_threads(c.threads, function()
               compare(what, { x, w, b or false },
                  function(t) return dob.conv2d(t[1], t[2], t[3], opts) end,
                  function(t) return dob.conv2d(t[1], t[2], t[3], fused) end, g)
            end)
            n, wino = n + 1, wino + (winograd(c) and 1 or 0)
         end
         assert.is_true(n >= 50 and wino >= 6, ("%d cases, %d on the Winograd path"):format(n, wino))
      end)

      it("passes gradcheck", function()
         for _, c in ipairs { { 1, 2, 5, 5, 3, 3, 1 }, { 2, 8, 6, 6, 8, 3, 1 }, { 1, 3, 6, 5, 2, 1, 2 } } do
            local x = H.rand({ c[1], c[2], c[3], c[4] }, { seed = 3 }):requires_grad_()
            local w = H.rand({ c[5], c[2], c[6], c[6] }, { seed = 4 }):requires_grad_()
            local b = H.rand({ c[5] }, { seed = 5 }):requires_grad_()
            assert(H.gradcheck(function(xx, ww, bb)
               return dob.conv2d(xx, ww, bb, { padding = "SAME", stride = c[7], activation = "relu" })
            end, { x, w, b }, { op = "conv2d", max_checks = 25, eps = 0.05 }))
         end
      end)

      it("keeps only its output: the pre-activation tensor is never made", function()
         local x = dob.randn(4, 8, 16, 16):requires_grad_()
         local w = dob.randn(8, 8, 3, 3):requires_grad_()
         -- bytes held afterwards and bytes handed out on the way
         local function held(f)
            collectgarbage(); collectgarbage()
            local before = dob.memory_stats()
            local y = f()
            collectgarbage(); collectgarbage()
            local after = dob.memory_stats()
            return after.live_bytes - before.live_bytes, after.allocated_total - before.allocated_total, y
         end
         local fused, fused_made, y = held(function() return dob.conv2d(x, w, nil, { padding = 1, activation = "relu" }) end)
         local plain, plain_made = held(function() return dob.conv2d(x, w, nil, { padding = 1 }):relu() end)
         assert.is_true(fused >= y:numel() * 4 and fused < 2 * y:numel() * 4, "fused holds " .. fused .. " bytes")
         -- relu keeps only its output too, so both hold one output; the unfused pair also
         -- made the pre-activation, the fused op never does
         assert.are.equal(fused, plain)
         assert.are.equal(y:numel() * 4, plain_made - fused_made)
      end)
   end)

   describe("conv_transpose2d", function()
      it("is relu(conv_transpose2d) bit for bit: output, dx, dw, db, over generated shapes and special values", function()
         dob.manual_seed(4)
         local r, n = lcg(19), 0
         for i = 1, 30 do
            local k, s = pick(r, { 1, 2, 3, 4 }), pick(r, { 1, 2 })
            local Cin, Cout, N = pick(r, { 1, 3, 8 }), pick(r, { 1, 4, 8 }), pick(r, { 1, 2, 3 })
            local Hh, W = r(9), r(9)
            local padding = k >= s and pick(r, { "SAME", "VALID" }) or "VALID"
            local x = randn_with_specials(r, { N, Cin, Hh, W }, 40)
            local w = dob.randn(Cin, Cout, k, k)
            local b = r(3) > 1 and dob.randn(Cout) or nil
            local opts = { stride = s, padding = padding }
            local fused = { stride = s, padding = padding, activation = "relu" }
            local y = dob.conv_transpose2d(x, w, b, opts)
            local g = randn_with_specials(r, y:size(), 30)
            with_threads(pick(r, { 1, 2 }), function()
               compare(("conv_transpose2d case %d (%dx%dx%dx%d, %d -> %d, %dx%d/%d %s)"):format(i, N, Cin, Hh, W, Cin,
                  Cout, k, k, s, padding), { x, w, b or false },
                  function(t) return dob.conv_transpose2d(t[1], t[2], t[3], opts) end,
                  function(t) return dob.conv_transpose2d(t[1], t[2], t[3], fused) end, g)
            end)
            n = n + 1
         end
         assert.are.equal(30, n)
      end)

      it("passes gradcheck", function()
         local x = H.rand({ 1, 2, 3, 3 }, { seed = 12 }):requires_grad_()
         local w = H.rand({ 2, 3, 3, 3 }, { seed = 13 }):requires_grad_()
         local b = H.rand({ 3 }, { seed = 14 }):requires_grad_()
         assert(H.gradcheck(function(xx, ww, bb)
            return dob.conv_transpose2d(xx, ww, bb, { stride = 2, padding = "SAME", activation = "relu" })
         end, { x, w, b }, { op = "conv_transpose2d", max_checks = 25, eps = 0.05 }))
      end)
   end)

   describe("linear", function()
      it("is relu(linear) bit for bit: output, dx, dw, db, over generated shapes and special values", function()
         dob.manual_seed(2)
         local r, n = lcg(13), 0
         for i = 1, 40 do
            local nin, nout, nd = r(24), r(24), r(3)
            local xs = ({ { nin }, { r(9), nin }, { r(4), r(5), nin } })[nd]
            local x = randn_with_specials(r, xs, 25)
            local w = randn_with_specials(r, { nout, nin }, 60)
            local b = r(3) > 1 and dob.randn(nout) or nil
            local y = dob.linear(x, w, b)
            local g = randn_with_specials(r, y:size(), 25)
            with_threads(pick(r, { 1, 2 }), function()
               compare(("linear case %d (x [%s], %d -> %d)"):format(i, table.concat(xs, "x"), nin, nout),
                  { x, w, b or false },
                  function(t) return dob.linear(t[1], t[2], t[3]) end,
                  function(t) return dob.linear(t[1], t[2], t[3], { activation = "relu" }) end, g)
            end)
            n = n + 1
         end
         assert.are.equal(40, n)
      end)

      it("passes gradcheck", function()
         local x = H.rand({ 3, 5 }, { seed = 6 }):requires_grad_()
         local w = H.rand({ 4, 5 }, { seed = 7 }):requires_grad_()
         local b = H.rand({ 4 }, { seed = 8 }):requires_grad_()
         assert(H.gradcheck(function(xx, ww, bb) return dob.linear(xx, ww, bb, { activation = "relu" }) end,
            { x, w, b }, { op = "linear" }))
      end)
   end)

   describe("batch_norm", function()
      it("is relu(batch_norm) bit for bit: output, gradients, running statistics; training and eval", function()
         dob.manual_seed(3)
         local r, n = lcg(17), 0
         for i = 1, 40 do
            local Cn = r(6)
            local sizes = r(2) == 1 and { r(5) + 1, Cn } or { r(3), Cn, r(7), r(7) }
            if sizes[1] * (sizes[3] or 1) * (sizes[4] or 1) < 2 then sizes[1] = 2 end
            local training = r(3) > 1
            local x = randn_with_specials(r, sizes, 50)
            -- weight 0 and bias 0 in channel 1: outputs exactly 0 there
            local weight, bias
            if r(3) > 1 then
               weight, bias = dob.randn(Cn), dob.randn(Cn)
               weight:narrow(1, 1, 1):zero_()
               bias:narrow(1, 1, 1):zero_()
            end
            local with_stats = not training or r(2) == 1
            local rm0, rv0 = dob.randn(Cn), dob.rand(Cn) + 0.5
            local y = dob.batch_norm(x, weight, bias, with_stats and rm0:clone() or nil,
               with_stats and rv0:clone() or nil, training)
            local g = randn_with_specials(r, y:size(), 30)
            local stats = {}
            local function run(t, act)
               local rm, rv = with_stats and rm0:clone() or nil, with_stats and rv0:clone() or nil
               stats[#stats + 1] = { rm, rv }
               return dob.batch_norm(t[1], t[2], t[3], rm, rv, training, 0.1, 1e-5, act)
            end
            local what = ("batch_norm case %d (x [%s], %s)"):format(i, table.concat(sizes, "x"),
               training and "training" or "eval")
            with_threads(pick(r, { 1, 2 }), function()
               compare(what, { x, weight or false, bias or false },
                  function(t) return run(t) end, function(t) return run(t, "relu") end, g)
            end)
            if with_stats then
               same_bits(stats[1][1], stats[2][1], what .. ": running_mean")
               same_bits(stats[1][2], stats[2][2], what .. ": running_var")
            end
            n = n + 1
         end
         assert.are.equal(40, n)
      end)

      it("passes gradcheck, training and eval", function()
         for _, training in ipairs { true, false } do
            local x = H.rand({ 4, 3, 2, 2 }, { seed = 9 }):requires_grad_()
            local w = H.rand({ 3 }, { seed = 10 }):requires_grad_()
            local b = H.rand({ 3 }, { seed = 11 }):requires_grad_()
            local rm, rv = dob.zeros(3), dob.ones(3)
            assert(H.gradcheck(function(xx, ww, bb)
               return dob.batch_norm(xx, ww, bb, training and nil or rm, training and nil or rv, training, 0.1, 1e-5, "relu")
            end, { x, w, b }, { op = "batch_norm" }))
         end
      end)
   end)

   describe("bad activation values", function()
      local BAD = { "gelu", "RELU", "Relu", "", " relu", 3, 0, true, {}, function() end }

      it("are usage errors naming the op and the allowed values, in the ops and the layers", function()
         local x4, w4 = dob.randn(1, 2, 3, 3), dob.randn(2, 2, 1, 1)
         local x2, w2 = dob.randn(2, 3), dob.randn(4, 3)
         local calls = {
            conv2d = function(v) return dob.conv2d(x4, w4, nil, { activation = v }) end,
            conv_transpose2d = function(v) return dob.conv_transpose2d(x4, w4, nil, { activation = v }) end,
            linear = function(v) return dob.linear(x2, w2, nil, { activation = v }) end,
            batch_norm = function(v) return x4:batch_norm(nil, nil, nil, nil, true, 0.1, 1e-5, v) end,
            Conv2d = function(v) return dob.nn.Conv2d(2, 2, 1, { activation = v }) end,
            ConvTranspose2d = function(v) return dob.nn.ConvTranspose2d(2, 2, 1, { activation = v }) end,
            Linear = function(v) return dob.nn.Linear(3, 4, { activation = v }) end,
            BatchNorm2d = function(v) return dob.nn.BatchNorm2d(2, { activation = v }) end,
         }
         local n = 0
         for op, call in pairs(calls) do
            for _, v in ipairs(BAD) do
               local msg = H.errmsg(function() return call(v) end)
               assert.matches(op .. ": argument '[%w.]*activation' must be one of 'none', 'relu'", msg, 1, false)
               n = n + 1
            end
            assert.is_true(dob.is_tensor(call("none")) or call("none").activation == nil, op .. ": 'none' accepted")
         end
         assert.are.equal(#BAD * 8, n)
      end)

      it("are errors from the C API too, for every code but NONE and RELU", function()
         local x, w = dob.randn(1, 2, 3, 3), dob.randn(2, 2, 1, 1)
         local x2, w2 = dob.randn(2, 3), dob.randn(4, 3)
         for _, code in ipairs { -1, 2, 3, 100, -2147483648 } do
            for op, call in pairs {
               conv2d = function() return C.dob_conv2d(x.h, w.h, nil, 1, 1, 0, 0, 0, 0, code) end,
               conv_transpose2d = function() return C.dob_conv_transpose2d(x.h, w.h, nil, 1, 1, 0, 0, 0, 0, code) end,
               linear = function() return C.dob_linear(x2.h, w2.h, nil, code) end,
               batch_norm = function() return C.dob_batch_norm(x.h, nil, nil, nil, nil, 1, 0.1, 1e-5, code) end,
            } do
               C.dob_clear_error()
               assert.is_true(call() == nil, op)
               local msg = ffi.string(C.dob_last_error())
               local want = op .. ": activation must be DOB_ACT_NONE (0) or DOB_ACT_RELU (1), got " .. code
               assert.are.equal(want, msg)
            end
         end
      end)
   end)
end)

-- The problems' fused layers against the same model with every fusion undone (the layer
-- computing the plain op, a relu after it), built from the same seed: the same losses, bit
-- for bit; and against spec-local copies of the unfused MLP and 2c2d as DeepOBS writes them.
describe("the problems with fused layers", function()
   local problems = require "problems"
   local steps = require "bench.steps"
   local A = require "problems._arch"
   local nn = dob.nn

   -- every module with a fused relu computes its plain op and a separate relu instead
   local function unfuse(m)
      local count = 0
      if m.activation == "relu" then
         local forward = m.forward
         m.activation = nil
         m.forward = function(self, x) return forward(self, x):relu() end
         count = 1
      end
      for _, c in ipairs(m._children) do count = count + unfuse(m[c]) end
      return count
   end

   -- the objectives of k training steps (and one eval forward's mean loss) of problem `name`
   -- at batch size bs; `change(model)` runs on the model first
   local function losses(name, bs, k, change)
      local p = problems.get(name)
      local run = steps.prepare(p, bs)
      if change then change(run.model) end
      local out = {}
      for i = 1, k do out[i] = run.step() end
      out[k + 1] = p.forward(run.model, run.batch, "test"):mean():item()
      return out, run
   end

   local function assert_same(a, b, what)
      for i = 1, #a do
         assert.is_true(a[i] == b[i] or (a[i] ~= a[i] and b[i] ~= b[i]),
            ("%s: value %d: %.17g vs %.17g"):format(what, i, a[i], b[i]))
      end
   end

   for _, c in ipairs { { "mnist_mlp", 16, 3 }, { "fmnist_2c2d", 8, 3 }, { "cifar10_3c3d", 8, 5 },
      { "cifar100_allcnnc", 4, 9 }, { "svhn_wrn164", 4, 13 }, { "mnist_vae", 8, 3 } } do
      local name, bs, fused_layers = c[1], c[2], c[3]
      it(name .. ": the same losses as with every fusion undone, bit for bit", function()
         local fused, run = losses(name, bs, 3)
         local undone = 0
         local plain = losses(name, bs, 3, function(m) undone = unfuse(m) end)
         assert.are.equal(fused_layers, undone)
         assert.is_true(run.ps.n > 0)
         assert_same(fused, plain, name)
      end)
   end

   -- DeepOBS's MLP and 2c2d with separate ReLU layers (problems/_models.lua before fusion)
   local PLAIN = {
      mnist_mlp = function()
         local k, b = A.truncated_normal(0.03), A.constant(0.0)
         return nn.Sequential(nn.Flatten(), A.dense(784, 1000, k, b), nn.ReLU(), A.dense(1000, 500, k, b), nn.ReLU(),
            A.dense(500, 100, k, b), nn.ReLU(), A.dense(100, 10, k, b))
      end,
      fmnist_2c2d = function()
         local k, b = A.truncated_normal(0.05), A.constant(0.05)
         return nn.Sequential(
            A.conv(1, 32, 5, 1, k, b), nn.ReLU(), nn.MaxPool2d(2, { stride = 2, padding = "SAME" }),
            A.conv(32, 64, 5, 1, k, b), nn.ReLU(), nn.MaxPool2d(2, { stride = 2, padding = "SAME" }),
            nn.Flatten(), A.dense(7 * 7 * 64, 1024, k, b), nn.ReLU(), A.dense(1024, 10, k, b))
      end,
   }
   for name, build in pairs(PLAIN) do
      it(name .. ": the same losses as the unfused network written out, bit for bit", function()
         local fused = losses(name, 8, 3)
         local p = problems.get(name)
         local plain_problem = setmetatable({ build = build }, { __index = p })
         local run = steps.prepare(plain_problem, 8)
         local plain = {}
         for i = 1, 3 do plain[i] = run.step() end
         plain[4] = p.forward(run.model, run.batch, "test"):mean():item()
         assert_same(fused, plain, name)
      end)
   end
end)
