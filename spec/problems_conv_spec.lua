-- The image-classification problems: registry entries, parameter counts and
-- initialisers of DeepOBS's TensorFlow models (deepobs/tensorflow/testproblems/ in the
-- DeepOBS repository), weight-decay coverage and value (the kernels given
-- tf.contrib.layers.l2_regularizer there, see problems/_convnets.lua), TF SAME padding of
-- the stride-2 layers, BatchNorm conventions, the Inception-v3 loss, one training step
-- and one evaluation step of every problem, the regularizer in the runner's logged
-- losses, and the benchmark sets (lua/deepobs/sets.lua).
local dob = require "deepobs"
local nn = dob.nn
local problems = require "problems"
local convnets = require "problems._convnets"
local runner = require "deepobs.runner"
local fake = require "fixtures.fake"
local fs = require "helpers.fs"

local TMP = "./.spec_tmp_problems_conv"

-- name = { dataset, batch size, epochs, default weight decay, parameters (of DeepOBS's TF model), decayed kernels }
local TABLE = {
   cifar10_3c3d = { "cifar10", 128, 100, 0.002, 895210, 6 },
   cifar100_3c3d = { "cifar100", nil, nil, 0.002, 918340, 6 },
   svhn_3c3d = { "svhn", nil, nil, 0.002, 895210, 6 },
   cifar100_allcnnc = { "cifar100", 256, 350, 5e-4, 1387108, 9 },
   cifar100_wrn164 = { "cifar100", 128, 200, 5e-4, 2772020, 17 },
   cifar100_wrn404 = { "cifar100", 128, 200, 5e-4, 8972340, 41 },
   svhn_wrn164 = { "svhn", 128, 160, 5e-4, 2748890, 17 },
   cifar10_vgg16 = { "cifar10", nil, nil, 5e-4, 134301514, 13 },
   cifar10_vgg19 = { "cifar10", nil, nil, 5e-4, 139611210, 16 },
   cifar100_vgg16 = { "cifar100", nil, nil, 5e-4, 134670244, 13 },
   cifar100_vgg19 = { "cifar100", nil, nil, 5e-4, 139979940, 16 },
   imagenet_vgg16 = { "imagenet", nil, nil, 5e-4, 138361641, 13 },
   imagenet_vgg19 = { "imagenet", nil, nil, 5e-4, 143671337, 16 },
   food101_vgg16 = { "food101", nil, nil, 5e-4, 134678565, 13 },
   food101_vgg19 = { "food101", nil, nil, 5e-4, 139989541, 16 },
   imagenet_inception_v3 = { "imagenet", nil, nil, 5e-4, 27164082, 96 },
}
local NAMES = {}
for n in pairs(TABLE) do NAMES[#NAMES + 1] = n end
table.sort(NAMES)

-- input [C, H, W] and classes of each dataset, as the loaders deliver them
local INPUT = {
   cifar10 = { 3, 32, 32, 10 }, cifar100 = { 3, 32, 32, 100 }, svhn = { 3, 32, 32, 10 },
   imagenet = { 3, 224, 224, 1001 }, food101 = { 3, 224, 224, 101 },
}

local function batch_of(dataset, bs)
   local s = INPUT[dataset]
   local y = dob.empty(bs, "int64")
   for i = 1, bs do y:set((i * 37) % s[4], i) end
   return { x = dob.randn(bs, s[1], s[2], s[3]), y = y }
end

local function finite(v) return v == v and v ~= math.huge and v ~= -math.huge end

-- The weight-decay coverage of DeepOBS's models (the kernels given an l2_regularizer in
-- deepobs/tensorflow/testproblems/_3c3d.py, _allcnnc.py, _wrn.py, _vgg.py and
-- _inception_v3.py), stated on parameter names and shapes independently of the
-- builders: 3c3d every kernel (convs and dense); All-CNN-C every conv; WRN every conv
-- and the final dense; VGG (also the fork's VGG-BN) and Inception the convs only.
-- Never biases, never BatchNorm.
local function covered(problem, p)
   if p.key ~= "weight" then return false end
   local dims = p.value:dim()
   if problem:find("3c3d") or problem:find("allcnnc") then return dims == 4 or dims == 2 end
   if problem:find("wrn") then return dims == 4 or p.name == "fc.weight" end
   return dims == 4
end

-- sum of squares in double precision, element by element in Lua
local function sum_squares(t)
   local s = 0
   for _, v in ipairs(t:contiguous():reshape(t:numel()):totable()) do s = s + v * v end
   return s
end

local function free_model() collectgarbage(); collectgarbage(); dob.collect() end

describe("image-classification problems: registry", function()
   it("registers the 16 problems with their dataset, defaults and weight decay", function()
      local listed = {}
      for _, n in ipairs(problems.list()) do listed[n] = true end
      for _, n in ipairs(NAMES) do
         assert.is_true(listed[n], n .. " missing from problems.list()")
         local p, t = problems.get(n), TABLE[n]
         assert.are.equal(n, p.name)
         assert.are.same({ t[1], t[2], t[3], t[4] }, { p.dataset, p.batch_size, p.num_epochs, p.weight_decay }, n)
         assert.is_true(p.has_accuracy)
         assert.is_string(p.description)
      end
   end)
end)

describe("image-classification problems: every problem", function()
   for _, name in ipairs(NAMES) do
      it(name .. ": parameter count, decay coverage, one training step and one evaluation step", function()
         local p, t = problems.get(name), TABLE[name]
         dob.manual_seed(7)
         local model = p.build { batch_size = 2 }
         local ps = nn.ParamSet(model)
         assert.are.equal(t[5], ps.n)
         -- the decayed kernels are exactly the ones `covered` names
         local want = {}
         for _, q in ipairs(model:named_parameters()) do
            if covered(name, q) then want[#want + 1] = q.value end
         end
         local got = convnets.decayed_kernels(model)
         assert.are.equal(t[6], #got)
         assert.are.equal(#want, #got)
         local is_want = {}
         for _, w in ipairs(want) do is_want[w] = true end
         for _, w in ipairs(got) do assert.is_true(is_want[w], name .. ": a decayed tensor outside the coverage") end

         -- training step: VGG at its real input size runs at batch 1; Inception needs
         -- batch 2 (its auxiliary head batch-normalises a 1x1 map)
         local big = t[5] > 1e8
         local batch = batch_of(p.dataset, big and 1 or 2)
         ps:zero_grad()
         local losses, reg, acc = p.forward(model, batch, "train")
         assert.are.same({ batch.x:size(1) }, losses:size())
         local obj = losses:mean() + reg
         local l0 = obj:item()
         assert.is_true(finite(l0))
         assert.is_true(reg:item() > 0)
         assert.is_true(acc >= 0 and acc <= 1)
         obj:backward()
         assert.is_true(ps.grad_flat:all_finite())
         -- the regularizer's gradient reaches the flat buffer: every decayed kernel has one
         for _, q in ipairs(ps.params) do
            if q.name:match("weight$") and #q.shape >= 2 then
               assert.is_true(q.grad:abs():sum():item() > 0, name .. ": zero gradient for " .. q.name)
            end
         end
         -- SGD update (the first and the last parameter tensors are compared: the
         -- big models would need a second copy of 140 M parameters otherwise)
         local first, last = ps.params[1].value, ps.params[#ps.params].value
         local first0, last0 = first:clone(), last:clone()
         local lr = 1e-3 / math.max(1, ps.grad_flat:norm():item())
         dob.no_grad(function() ps.flat:add_(ps.grad_flat, -lr) end)
         assert.is_true((first - first0):abs():max():item() > 0)
         assert.is_true((last - last0):abs():max():item() > 0)
         -- evaluation step: same regularizer term, accuracy in [0, 1]
         local tl, treg, tacc = dob.no_grad(p.forward, model, batch, "test")
         assert.is_true(finite(tl:mean():item()))
         assert.is_true(math.abs(treg:item() - reg:item()) < 1e-3 * reg:item() + 1e-6)
         assert.is_true(tacc >= 0 and tacc <= 1)
         model, ps, first, last = nil, nil, nil, nil
         free_model()
      end)
   end
end)

describe("weight decay", function()
   it("3c3d: (wd/2) sum W^2 over the six kernels, computed by hand; biases never count", function()
      dob.manual_seed(11)
      local p = problems.get("cifar10_3c3d")
      local m = p.build {}
      local ps = nn.ParamSet(m)
      -- biases start at 0: make them large so that counting them would show
      dob.no_grad(function()
         for _, q in ipairs(ps.params) do if q.name:match("bias$") then q.value:fill_(3) end end
      end)
      local hand, nk = 0, 0
      for _, q in ipairs(ps.params) do
         if q.name:match("weight$") then hand, nk = hand + sum_squares(q.value), nk + 1 end
      end
      assert.are.equal(6, nk)
      hand = hand * 0.002 / 2
      local reg = convnets.regularizer(m)
      assert.is_true(math.abs(reg:item() - hand) < 1e-5 * hand, ("%g vs %g"):format(reg:item(), hand))
      -- d reg / d W = wd W on the kernels, 0 on the biases
      ps:zero_grad()
      reg:backward()
      for _, q in ipairs(ps.params) do
         if q.name:match("bias$") then
            assert.are.equal(0, q.grad:abs():max():item())
         else
            assert.is_true((q.grad - q.value * 0.002):abs():max():item() < 1e-7, q.name)
         end
      end
      -- --weight_decay overrides the default; 0 means no regularizer
      assert.is_nil(convnets.regularizer(p.build { weight_decay = 0 }))
      dob.manual_seed(11)
      local a = p.build { weight_decay = 0.01 }
      dob.manual_seed(11)
      local b = p.build {}
      assert.is_true(math.abs(convnets.regularizer(a):item() / convnets.regularizer(b):item() - 5) < 1e-5)
   end)

   it("WRN: BatchNorm gamma/beta never decay (gamma = 1 would add to the sum); the dense kernel does", function()
      dob.manual_seed(12)
      local m = problems.get("svhn_wrn164").build {}
      local hand, bn = 0, 0
      for _, q in ipairs(m:named_parameters()) do
         if q.key == "weight" and (q.value:dim() == 4 or q.name == "fc.weight") then
            hand = hand + q.value:dot(q.value)
         elseif q.name:find("bn") then
            bn = bn + q.value:dot(q.value)
         end
      end
      assert.is_true(bn > 0)
      hand = hand * 5e-4 / 2
      local reg = convnets.regularizer(m):item()
      assert.is_true(math.abs(reg - hand) < 1e-5 * hand)
      local fc = m.fc.weight
      assert.is_true(math.abs(reg - (hand - fc:dot(fc) * 5e-4 / 2)) > 1e-4 * hand)
   end)

   it("the runner optimises and logs mean(losses) + regularizer, as TF did", function()
      -- a fake CIFAR-10 dataset: 8 training images, 4 for train_eval and test, batch 2
      local function split(n, seed)
         dob.manual_seed(seed)
         local x = dob.randn(n, 3, 32, 32)
         local y = dob.empty(n, "int64")
         for i = 1, n do y:set(i % 10, i) end
         return {
            num_batches = n / 2,
            batches = function()
               local b = 0
               return function()
                  if b * 2 >= n then return nil end
                  b = b + 1
                  return { x = x:narrow(1, 2 * b - 1, 2), y = y:narrow(1, 2 * b - 1, 2) }
               end
            end,
         }
      end
      local ds = { train = split(8, 1), train_eval = split(4, 2), test = split(4, 3) }
      local opt = fake.sgd()
      local function go(wd)
         return runner.run { problem = "cifar10_3c3d", optimizer = opt, lr = 0.01, batch_size = 2, num_epochs = 1,
            dataset = ds, weight_decay = wd, quiet = true, no_logs = true, random_seed = 5 }
      end
      local with, without = go(nil), go(0)
      -- the same initial weights (same seed): the epoch-0 losses differ by the initial regularizer
      dob.manual_seed(5)
      local reg0 = convnets.regularizer(problems.get("cifar10_3c3d").build {}):item()
      assert.is_true(reg0 > 0)
      assert.is_true(math.abs((with.test_losses[1] - without.test_losses[1]) - reg0) < 1e-4 * reg0)
      assert.is_true(math.abs((with.train_losses[1] - without.train_losses[1]) - reg0) < 1e-4 * reg0)
      assert.is_true(math.abs((with.minibatch_train_losses[1] - without.minibatch_train_losses[1]) - reg0) < 1e-4 * reg0)
   end)
end)

-- realised std of a glorot_normal kernel is sqrt(2 / (fan_in + fan_out)), values within 2 sd'
local function assert_glorot_normal(w, what)
   local s = w:size()
   local rf = s[3] * s[4]
   local sd = math.sqrt(2 / ((s[1] + s[2]) * rf))
   local got = w:std():item()
   assert.is_true(math.abs(got / sd - 1) < 0.03, ("%s: std %g, want %g"):format(what, got, sd))
   assert.is_true(w:abs():max():item() <= 2 * sd / 0.87962566103423978 * (1 + 1e-6), what)
end

-- Glorot-uniform: U(-a, a), a = sqrt(6 / (fan_in + fan_out)); std a / sqrt(3)
local function assert_glorot_uniform(w, fan_in, fan_out, what)
   local a = math.sqrt(6 / (fan_in + fan_out))
   assert.is_true(w:abs():max():item() <= a * (1 + 1e-6), what)
   assert.is_true(math.abs(w:std():item() / (a / math.sqrt(3)) - 1) < 0.03, what)
end

describe("initialisers", function()
   it("3c3d: glorot-normal convs, Glorot-uniform dense layers, zero biases", function()
      dob.manual_seed(21)
      local m = problems.get("cifar10_3c3d").build {}
      assert_glorot_normal(m.net:get(3).weight, "3c3d conv2")
      assert_glorot_normal(m.net:get(5).weight, "3c3d conv3")
      assert_glorot_uniform(m.net:get(8).weight, 1152, 512, "3c3d dense1")
      for _, i in ipairs { 1, 3, 5, 8, 9, 10 } do assert.are.equal(0, m.net:get(i).bias:abs():max():item()) end
   end)

   it("All-CNN-C glorot-normal with biases 0.1; WRN Glorot-uniform convs without bias", function()
      dob.manual_seed(22)
      local a = problems.get("cifar100_allcnnc").build {}
      assert_glorot_normal(a.net:get(7).weight, "allcnnc conv5")
      assert.are.equal(0, (a.net:get(12).bias - 0.1):abs():max():item())
      local w = problems.get("cifar100_wrn164").build {}
      assert_glorot_uniform(w.unit3_2.conv1.weight, 256 * 9, 256 * 9, "wrn conv")
      assert_glorot_uniform(w.fc.weight, 256, 100, "wrn fc")
      assert.are.equal(0, w.fc.bias:abs():max():item())
   end)
end)

describe("TF conventions in the image networks", function()
   it("3c3d: VALID convs and asymmetric SAME pools give 28 -> 14, 12 -> 6, 6 -> 3", function()
      dob.manual_seed(13)
      local m = problems.get("cifar10_3c3d").build {}
      local x = dob.randn(1, 3, 32, 32)
      local sizes = {}
      dob.no_grad(function()
         for i = 1, m.net.n do
            x = m.net:get(i)(x)
            sizes[#sizes + 1] = x:dim() == 4 and x:size(3) or nil
         end
      end)
      assert.are.same({ 28, 14, 12, 6, 6, 3 }, sizes)   -- conv (with its ReLU), pool, ...
      -- the 3x3/2 pool on 28 pads 0 before and 1 after (-inf padding)
      local a = dob.randn(1, 2, 28, 28)
      local pooled = dob.no_grad(m.net:get(2), a)
      local ref = dob.max_pool2d(a, { kernel = 3, stride = 2, padding = { 0, 1, 0, 1 } })
      assert.are.equal(0, (pooled - ref):abs():max():item())
      local sym = dob.max_pool2d(a, { kernel = 3, stride = 2, padding = { 1, 0, 1, 0 } })
      assert.is_true((pooled - sym):abs():max():item() > 0)
   end)

   it("All-CNN-C and WRN stride-2 3x3 convs pad 0 before / 1 after (32 -> 16)", function()
      dob.manual_seed(14)
      local a = problems.get("cifar100_allcnnc").build {}
      local conv = a.net:get(4)   -- with its ReLU
      assert.are.equal(2, conv.stride)
      local x = dob.randn(1, 96, 32, 32)
      local y = dob.no_grad(conv, x)
      assert.are.same({ 1, 96, 16, 16 }, y:size())
      local ref = dob.conv2d(x, conv.weight, conv.bias, { stride = 2, padding = { 0, 1, 0, 1 } }):relu()
      assert.is_true((y - ref):abs():max():item() < 1e-5)
      local sym = dob.conv2d(x, conv.weight, conv.bias, { stride = 2, padding = { 1, 0, 1, 0 } }):relu()
      assert.is_true((y - sym):abs():max():item() > 1e-3)
      -- biases 0.1, global mean of the last ReLU conv: logits [B, 100]
      assert.are.equal(0, (conv.bias - 0.1):abs():max():item())
      assert.are.same({ 2, 100 }, dob.no_grad(a, dob.randn(2, 3, 32, 32)):size())

      local w = problems.get("svhn_wrn164").build {}
      local c2 = w.unit2_1.conv1
      local h = dob.randn(1, 64, 32, 32)
      local out = dob.no_grad(c2, h)
      assert.are.same({ 1, 128, 16, 16 }, out:size())
      local wref = dob.conv2d(h, c2.weight, nil, { stride = 2, padding = { 0, 1, 0, 1 } })
      assert.is_true((out - wref):abs():max():item() < 1e-5)
      assert.is_nil(c2.bias)
      assert.are.same({ 128, 64, 1, 1 }, w.unit2_1.shortcut.weight:size())
   end)

   it("BatchNorm: TF momentum m is 1 - m in the engine (moving = m moving + (1 - m) batch), eps as TF", function()
      local w = problems.get("svhn_wrn164").build {}
      local bn = w.unit1_1.bn1
      assert.are.same({ 0.1, 1e-5 }, { bn.momentum, bn.eps })   -- TF momentum 0.9
      local inc = problems.get("imagenet_inception_v3").build {}
      local ib = inc.stem:get(1).bn
      assert.is_true(math.abs(ib.momentum - 0.0003) < 1e-12)   -- TF momentum 0.9997
      assert.are.equal(1e-3, ib.eps)
      -- one training-mode pass from moving mean 0: moving = (1 - 0.9997) * batch mean
      dob.manual_seed(15)
      local x = dob.randn(4, 32, 3, 3) + 2
      ib:train(true)
      dob.no_grad(ib, x)
      local bm = x:mean({ 1, 3, 4 })
      assert.is_true((ib.running_mean - bm * 0.0003):abs():max():item() < 1e-7)
      assert.are.equal(0.8, inc.head:get(2).p)   -- dropout rate 0.8 (drop probability)
      local vb = problems.get("food101_vgg16").build {}
      local vbn = vb.net:get(2)
      assert.are.same({ 0.1, 1e-5 }, { vbn.momentum, vbn.eps })   -- the fork's PyTorch BN
      assert.is_nil(vb.net:get(1).bias)
      assert.are.equal(0.2, vb.net:get(vb.net.n - 1).p)
      inc, vb = nil, nil
      free_model()
   end)

   it("Inception-v3: stem 299 -> 35, blocks to 17 and 8; loss = smoothed CE (+ 0.4 aux in training)", function()
      dob.manual_seed(16)
      local p = problems.get("imagenet_inception_v3")
      local m = p.build {}
      m:eval()
      local x = dob.randn(2, 3, 224, 224)
      local h = dob.no_grad(function()
         local s = m.stem(x:resize_bilinear(299, 299))
         assert.are.same({ 2, 192, 35, 35 }, s:size())
         s = m.mixed_5b_1(m.mixed_5b_0(m.mixed_5a(s)))
         assert.are.same({ 2, 288, 35, 35 }, s:size())
         s = m.mixed_10(s)
         assert.are.same({ 2, 768, 17, 17 }, s:size())
         return s
      end)
      local d = dob.no_grad(m.mixed_d, h)
      assert.are.same({ 2, 1280, 8, 8 }, d:size())

      -- the loss from the logits, by hand: targets 0.9 one-hot + 0.1 / 1001
      local function smoothed_ce(logits, i, label)
         local v = logits[i]:contiguous():reshape(1001):totable()
         local mx = -math.huge
         for _, z in ipairs(v) do if z > mx then mx = z end end
         local se = 0
         for _, z in ipairs(v) do se = se + math.exp(z - mx) end
         local lse = mx + math.log(se)
         local ce = 0
         for c, z in ipairs(v) do
            local target = (c - 1 == label and 0.9 or 0) + 0.1 / 1001
            ce = ce - target * (z - lse)
         end
         return ce
      end
      local labels = { 417, 3 }
      local batch = { x = x, y = dob.tensor(labels, "int64") }
      local tl = dob.no_grad(p.forward, m, batch, "test")
      local logits, aux = dob.no_grad(m, x)
      assert.is_nil(aux)   -- evaluation: no auxiliary head
      for i = 1, 2 do
         assert.is_true(math.abs(tl:get(i) - smoothed_ce(logits, i, labels[i])) < 1e-4)
      end
      dob.manual_seed(17)
      local trl = dob.no_grad(p.forward, m, batch, "train")
      dob.manual_seed(17)
      m:train(true)
      local lg, ax = dob.no_grad(m, x)
      assert.are.same({ 2, 1001 }, ax:size())
      for i = 1, 2 do
         local want = smoothed_ce(lg, i, labels[i]) + 0.4 * smoothed_ce(ax, i, labels[i])
         assert.is_true(math.abs(trl:get(i) - want) < 1e-4 * want, ("%g vs %g"):format(trl:get(i), want))
      end
      m = nil
      free_model()
   end)

   it("VGG: CIFAR inputs are resized to 224 (7x7x512 = 25,088 into the first dense layer)", function()
      dob.manual_seed(18)
      local m = problems.get("cifar10_vgg16").build {}
      assert.are.same({ 4096, 25088 }, m.net:get(20).weight:size())   -- 13 convs (with their ReLU), 5 pools, flatten
      assert_glorot_normal(m.net:get(2).weight, "vgg conv1_2")
      assert.are.equal(0, m.net:get(2).bias:abs():max():item())
      -- the dense layers keep TF's default init (Glorot-uniform), not the convs' glorot_normal
      local d = m.net:get(22).weight
      assert.is_true(d:abs():max():item() <= math.sqrt(6 / (4096 + 4096)) * (1 + 1e-6))
      local y = dob.no_grad(function() m:eval(); return m(dob.randn(1, 3, 32, 32)) end)
      assert.are.same({ 1, 10 }, y:size())
      m = nil
      free_model()
   end)
end)

describe("benchmark sets (lua/deepobs/sets.lua)", function()
   it("small and large hold the paper's P1-P8 problems", function()
      assert.are.same({ "quadratic_deep", "mnist_vae", "fmnist_2c2d", "cifar10_3c3d" }, runner.benchmark_set("small"))
      assert.are.same({ "fmnist_vae", "cifar100_allcnnc", "svhn_wrn164", "tolstoi_char_rnn" },
         runner.benchmark_set("large"))
      assert.is_nil(runner.benchmark_set("fmnist_2c2d"))
      assert.is_nil(runner.benchmark_set("order"))
   end)

   it("run_set runs each member with its own defaults and skips a missing one with a warning", function()
      local a = fake.problem { name = "fake_a", batch_size = 4, num_epochs = 1 }
      local b = fake.problem { name = "fake_b", batch_size = 8, num_epochs = 2 }
      local warn = {}
      local err = { write = function(_, ...) for _, s in ipairs { ... } do warn[#warn + 1] = s end end }
      local res = runner.run_set({ a, "no_such_problem_xyz", b },
         { optimizer = fake.sgd(), lr = 0.05, quiet = true, output_dir = TMP, stderr = err })
      assert.are.same({ "fake_a", "fake_b" }, res.problems)
      assert.are.same({ "no_such_problem_xyz" }, res.skipped)
      assert.truthy(table.concat(warn):find("no_such_problem_xyz is not available", 1, true))
      assert.are.equal(2, #res.results[1].test_losses)   -- 1 epoch -> 2 evaluations
      assert.are.equal(3, #res.results[2].test_losses)
      assert.are.equal(4, a.built_with.batch_size)
      assert.are.equal(8, b.built_with.batch_size)
      assert.truthy(res.results[1].path:find(TMP .. "/fake_a/FakeSGD/num_epochs__1__batch_size__4", 1, true))
      assert.truthy(res.results[2].path:find(TMP .. "/fake_b/FakeSGD/num_epochs__2__batch_size__8", 1, true))
      -- a member that fails to run is reported and the set goes on
      warn = {}
      local broken = fake.problem { name = "fake_broken", batch_size = 4, num_epochs = 1, fail_at_forward = 1 }
      local c = fake.problem { name = "fake_c", batch_size = 4, num_epochs = 1 }
      res = runner.run_set({ broken, c }, { optimizer = fake.sgd(), lr = 0.05, quiet = true, no_logs = true, stderr = err })
      assert.are.same({ "fake_c" }, res.problems)
      assert.are.equal("fake_broken", res.failed[1][1])
      assert.truthy(res.failed[1][2]:find("forward failed on purpose", 1, true))
      assert.truthy(table.concat(warn):find("fake_broken failed", 1, true))
      -- usage errors stop the set
      local ok, e = pcall(runner.run_set, { c }, { optimizer = fake.sgd(), lr = "x", quiet = true, no_logs = true })
      assert.is_false(ok)
      assert.is_true(runner.is_usage_error(e))
      ok, e = pcall(runner.run_set, "no_such_set", {})
      assert.is_false(ok)
      assert.truthy(e.msg:find("unknown benchmark set 'no_such_set'", 1, true))
      fs.sh("rm -rf " .. TMP)
   end)

   it("the command line runs a set by name and --list shows the sets", function()
      local sets = require "deepobs.sets"
      local out = fs.sh("luajit run.lua --list 2>&1")
      assert.matches("benchmark sets", out)
      assert.matches("small%s+quadratic_deep, mnist_vae, fmnist_2c2d, cifar10_3c3d", out)
      assert.matches("large%s+fmnist_vae, cifar100_allcnnc, svhn_wrn164, tolstoi_char_rnn", out)
      -- a set of two fake problem files, through the command line (cli.main)
      fs.sh("mkdir -p " .. TMP)
      local f = assert(io.open(TMP .. "/fake_b.lua", "w"))
      f:write('return dofile("spec/fixtures/fake.lua").problem { name = "fake_b", batch_size = 4 }\n')
      f:close()
      sets.tiny = { { name = "spec/fixtures/fake_problem.lua" }, { name = TMP .. "/fake_b.lua" } }
      local real_stdout, captured = io.stdout, io.tmpfile()
      io.stdout = captured
      local ok, rc = pcall(require("deepobs.cli").main, { "tiny", "--optimizer", "spec/fixtures/fake_sgd.lua", "--lr", "0.1", "-N", "1",
         "--output_dir", TMP .. "/results" })
      io.stdout = real_stdout
      sets.tiny = nil
      assert.is_true(ok, tostring(rc))
      assert.are.equal(0, rc)
      captured:seek("set")
      local text = captured:read("*a")
      assert.matches("== tiny 1/2: fake_softmax ==", text)
      assert.matches("== tiny 2/2: fake_b ==", text)
      local files = fs.files_under(TMP .. "/results")
      assert.are.equal(2, #files)
      assert.matches("/fake_softmax/FakeSGD/num_epochs__1__batch_size__8__", files[2])
      assert.matches("/fake_b/FakeSGD/num_epochs__1__batch_size__4__", files[1])
      fs.sh("rm -rf " .. TMP)
   end)
end)
