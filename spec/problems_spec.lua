-- Problems: registry, parameter counts, initialisers, hand-computed
-- losses, and one training step + one evaluation step of every problem.
local dob = require "deepobs"
local nn = dob.nn
local problems = require "problems.init"

local COUNTS = {   -- the parameters of DeepOBS's TF models (deepobs/tensorflow/testproblems/)
   quadratic_deep = 100, two_d_rosenbrock = 2, two_d_beale = 2, two_d_branin = 2,
   mnist_logreg = 7850, mnist_mlp = 1336610, mnist_2c2d = 3274634, mnist_vae = 10151489,
   fmnist_logreg = 7850, fmnist_mlp = 1336610, fmnist_2c2d = 3274634, fmnist_vae = 10151489,
}

-- one batch per dataset: Debian's Fashion-MNIST where installed, else
-- synthetic images of the right shape
local image_batch
local function images(bs)
   if not image_batch then
      local ok, ds = pcall(function() return require("datasets.fmnist").load { batch_size = bs } end)
      if ok then
         image_batch = ds.train:batches(1)()
         image_batch.real = true
      else
         dob.manual_seed(99)
         local y = dob.empty(bs, "int64")
         for i = 1, bs do y:set((i * 7) % 10, i) end
         image_batch = { x = dob.rand(bs, 1, 28, 28), y = y }
      end
   end
   return image_batch
end

local function batch_for(p)
   if p.dataset == "quadratic" then return require("datasets.quadratic").load { batch_size = 16 }.train:batches(1)() end
   if p.dataset == "two_d" then return require("datasets.two_d").load { batch_size = 16 }.train:batches(1)() end
   return images(32)
end

-- the problems this file steps generically (MNIST-style images, quadratic, 2-D);
-- the others have their own specs (problems_conv_spec, images_spec, text_spec)
local function generic_names()
   local t = {}
   for _, n in ipairs(problems.list()) do if COUNTS[n] then t[#t + 1] = n end end
   return t
end

local function finite(v) return v == v and v ~= math.huge and v ~= -math.huge end

describe("problem registry", function()
   it("lists the twelve problems sorted and rejects unknown names with the list", function()
      local all = problems.list()
      local sorted = { unpack(all) }
      table.sort(sorted)
      assert.are.same(sorted, all)
      local names = generic_names()
      assert.are.same({ "fmnist_2c2d", "fmnist_logreg", "fmnist_mlp", "fmnist_vae", "mnist_2c2d", "mnist_logreg",
         "mnist_mlp", "mnist_vae", "quadratic_deep", "two_d_beale", "two_d_branin", "two_d_rosenbrock" }, names)
      local ok, err = pcall(problems.get, "cifar10_3c3d_typo")
      assert.is_false(ok)
      assert.truthy(err:find("unknown test problem 'cifar10_3c3d_typo'", 1, true))
      assert.truthy(err:find("fmnist_2c2d, fmnist_logreg", 1, true))
      -- every problem's fields: spec/problems_define_spec.lua; these twelve have no weight decay
      for _, n in ipairs(names) do assert.is_nil(problems.get(n).weight_decay, n) end
   end)

   it("carries DeepOBS's default batch sizes and epochs (DEFAULT_TEST_PROBLEMS_SETTINGS in deepobs/config.py) and the datasets", function()
      local want = {
         quadratic_deep = { "quadratic", 128, 100 }, mnist_logreg = { "mnist", 128, 50 },
         mnist_mlp = { "mnist", 128, 100 }, mnist_2c2d = { "mnist", 128, 100 }, mnist_vae = { "mnist", 64, 50 },
         fmnist_mlp = { "fmnist", 128, 100 }, fmnist_2c2d = { "fmnist", 128, 100 }, fmnist_vae = { "fmnist", 64, 100 },
      }
      for n, w in pairs(want) do
         local p = problems.get(n)
         assert.are.same(w, { p.dataset, p.batch_size, p.num_epochs }, n)
      end
      for _, n in ipairs { "fmnist_logreg", "two_d_rosenbrock", "two_d_beale", "two_d_branin" } do
         assert.is_nil(problems.get(n).batch_size)
         assert.is_nil(problems.get(n).num_epochs)
      end
      assert.is_false(problems.get("mnist_vae").has_accuracy)
      assert.is_true(problems.get("fmnist_2c2d").has_accuracy)
   end)
end)

describe("every problem", function()
   for _, name in ipairs(generic_names()) do
      it(name .. ": parameter count, one training step, one evaluation step", function()
         local p = problems.get(name)
         dob.manual_seed(42)
         local model = p.build { batch_size = 32 }
         local ps = nn.ParamSet(model)
         assert.are.equal(COUNTS[name], ps.n)
         local batch = batch_for(p)
         -- training step: forward, backward, SGD update
         ps:zero_grad()
         local losses, reg, acc = p.forward(model, batch, "train")
         assert.are.equal(batch.x:size(1), losses:size(1))
         assert.is_nil(reg)
         local loss = losses:mean()
         local l0 = loss:item()
         assert.is_true(finite(l0))
         loss:backward()
         for _, q in ipairs(ps.params) do
            assert.is_true(q.grad:abs():sum():item() > 0, name .. ": zero gradient for " .. q.name)
         end
         assert.is_true(ps.grad_flat:all_finite())
         if p.has_accuracy then
            assert.is_true(acc >= 0 and acc <= 1)
         else
            assert.is_nil(acc)
         end
         local before = ps.flat:clone()
         local lr = 1e-3 / math.max(1, ps.grad_flat:norm():item())   -- a step of at most 1e-3
         dob.no_grad(function() ps.flat:add_(ps.grad_flat, -lr) end)
         assert.is_true((ps.flat - before):abs():max():item() > 0)
         -- evaluation step in the test phase
         local tl, treg, tacc = dob.no_grad(p.forward, model, batch, "test")
         assert.is_true(finite(tl:mean():item()))
         assert.is_nil(treg)
         if p.has_accuracy then assert.is_true(tacc >= 0 and tacc <= 1) end
         -- a small step along the negative gradient lowers the loss of the
         -- deterministic problems (no dropout, no sampling)
         if p.dataset ~= "mnist" and p.dataset ~= "fmnist" or name:find("logreg") then
            local l1 = dob.no_grad(p.forward, model, batch, "train"):mean():item()
            assert.is_true(l1 < l0, ("%s: %g -> %g"):format(name, l0, l1))
         end
      end)
   end
end)

describe("initialisers and hand-computed values", function()
   it("logreg: kernel and bias 0, so the loss is log(10) and the logits tie", function()
      local p = problems.get("mnist_logreg")
      local m = p.build {}
      local ps = nn.ParamSet(m)
      assert.are.equal(0, ps.flat:abs():sum():item())
      local b = images(32)
      local l = p.forward(m, b, "test")
      assert.is_true(math.abs(l:get(1) - math.log(10)) < 1e-6)
   end)

   it("mlp: truncated normal kernels (std 0.03, within 2 std), zero biases", function()
      dob.manual_seed(3)
      local m = problems.get("mnist_mlp").build {}
      for _, q in ipairs(m:named_parameters()) do
         local t = q.value
         if q.name:find("bias") then
            assert.are.equal(0, t:abs():sum():item())
         else
            assert.is_true(t:abs():max():item() <= 0.06 + 1e-7)
            if t:numel() > 10000 then
               local sd = t:std():item()
               assert.is_true(math.abs(sd - 0.03 * 0.8796) < 0.03 * 0.02, q.name .. " std " .. sd)
            end
         end
      end
   end)

   it("2c2d: truncated normal 0.05 kernels, all biases 0.05; SAME pooling to 7x7x64 = 3136", function()
      dob.manual_seed(4)
      local m = problems.get("fmnist_2c2d").build {}
      local nb = 0
      for _, q in ipairs(m:named_parameters()) do
         if q.name:find("bias") then
            nb = nb + 1
            assert.are.equal(0, (q.value - 0.05):abs():max():item())
         else
            assert.is_true(q.value:abs():max():item() <= 0.1 + 1e-7)
         end
      end
      assert.are.equal(4, nb)
      assert.are.same({ 1024, 3136 }, m:get(6).weight:size())
   end)

   it("VAE: encoder 28 -> 14 -> 7 -> 7 (3136), decoder 7 -> 14 -> 14 -> 14 (12,544); loss = SSE + KL", function()
      dob.manual_seed(5)
      local p = problems.get("mnist_vae")
      local m = p.build {}
      m:eval()
      local b = images(32)
      local x = b.x:narrow(1, 1, 4):clone()
      assert.are.same({ 4, 3136 }, m.encoder(x):size())
      assert.are.same({ 4, 784 }, m.decoder(dob.randn(4, 8)):size())
      assert.are.same({ 784, 12544 }, m.decoder:get(12).weight:size())
      -- the loss from the model's own outputs, summed in Lua
      dob.manual_seed(6)
      local losses = p.forward(m, { x = x }, "test")
      dob.manual_seed(6)
      local img, mean, s = m(x)
      local xf = x:reshape(4, 784)
      for i = 1, 4 do
         local sse, kl = 0, 0
         for j = 1, 784 do sse = sse + (img:get(i, j) - xf:get(i, j)) ^ 2 end
         for j = 1, 8 do
            local sj, mj = s:get(i, j), mean:get(i, j)
            kl = kl - 0.5 * (1 + 2 * sj - mj * mj - math.exp(2 * sj))
         end
         assert.is_true(math.abs(losses:get(i) - (sse + kl)) < 1e-4 * (sse + kl))
      end
      -- z is sampled in every phase, also at evaluation
      local a = p.forward(m, { x = x }, "test"):totable()
      local c = p.forward(m, { x = x }, "test"):totable()
      assert.are_not.same(a, c)
   end)

   it("quadratic_deep: theta starts at 1", function()
      local m = problems.get("quadratic_deep").build {}
      assert.are.equal(100, m.theta:sum():item())
      assert.are.equal(0, (m.theta - 1):abs():max():item())
   end)

   it("2-D problems: start points, losses and gradients at the start (test noise 0, and with noise)", function()
      local pi = math.pi
      local cases = {
         two_d_rosenbrock = { start = { -0.5, 1.5 }, f = function(u, v) return (1 - u) ^ 2 + 100 * (v - u * u) ^ 2 end,
            g = function(u, v) return -2 * (1 - u) - 400 * u * (v - u * u), 200 * (v - u * u) end },
         two_d_beale = { start = { -4.5, 4.5 },
            f = function(u, v) return (1.5 - u + u * v) ^ 2 + (2.25 - u + u * v ^ 2) ^ 2 + (2.625 - u + u * v ^ 3) ^ 2 end,
            g = function(u, v)
               local a, b, c = 1.5 - u + u * v, 2.25 - u + u * v ^ 2, 2.625 - u + u * v ^ 3
               return 2 * a * (v - 1) + 2 * b * (v ^ 2 - 1) + 2 * c * (v ^ 3 - 1),
                  2 * a * u + 2 * b * 2 * u * v + 2 * c * 3 * u * v ^ 2
            end },
         two_d_branin = { start = { 2.5, 12.5 },
            f = function(u, v)
               local b, c, t = 5.1 / (4 * pi ^ 2), 5 / pi, 1 / (8 * pi)
               return (v - b * u * u + c * u - 6) ^ 2 + 10 * (1 - t) * math.cos(u) + 10
            end,
            g = function(u, v)
               local b, c, t = 5.1 / (4 * pi ^ 2), 5 / pi, 1 / (8 * pi)
               local q = v - b * u * u + c * u - 6
               return 2 * q * (c - 2 * b * u) - 10 * (1 - t) * math.sin(u), 2 * q
            end },
      }
      for name, c in pairs(cases) do
         local p = problems.get(name)
         local m = p.build {}
         local ps = nn.ParamSet(m)
         assert.are.same(c.start, ps.flat:totable())
         assert.are.equal("weight", ps.params[1].name)
         assert.are.equal("bias", ps.params[2].name)
         local u, v = c.start[1], c.start[2]
         -- a batch of two examples: zero noise, and noise (x, y) = (1, -2)
         local batch = { x = dob.tensor({ 0, 1 }), y = dob.tensor({ 0, -2 }) }
         local l = p.forward(m, batch, "train")
         local f = c.f(u, v)
         assert.is_true(math.abs(l:get(1) - f) <= 1e-6 * math.abs(f), name)
         assert.is_true(math.abs(l:get(2) - (f + u - 2 * v)) <= 1e-6 * math.abs(f), name)
         l:mean():backward()
         local gu, gv = c.g(u, v)
         gu, gv = gu + 0.5, gv - 1   -- mean over the batch of the noise terms' gradients
         local g = ps.grad_flat:totable()
         assert.is_true(math.abs(g[1] - gu) <= 1e-5 * math.max(1, math.abs(gu)), ("%s du %g vs %g"):format(name, g[1], gu))
         assert.is_true(math.abs(g[2] - gv) <= 1e-5 * math.max(1, math.abs(gv)), ("%s dv %g vs %g"):format(name, g[2], gv))
      end
   end)
end)
