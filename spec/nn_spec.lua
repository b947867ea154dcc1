local dob = require "deepobs"
local nn = dob.nn
local H = require "helpers.gradcheck"

describe("nn modules", function()
   it("Linear: PyTorch layout, TF default init (Glorot-uniform, zero bias), named parameters", function()
      dob.manual_seed(1)
      local l = nn.Linear(300, 200)
      assert.are.same({ 200, 300 }, l.weight:size())
      local bound = math.sqrt(6 / 500)
      assert.is_true(l.weight:max():item() <= bound and l.weight:min():item() >= -bound)
      assert.is_true(l.weight:max():item() > 0.9 * bound)
      assert.are.equal(0, l.bias:abs():sum():item())
      local m = nn.Sequential(l, nn.ReLU(), nn.Linear(200, 10, { bias = false }))
      local names = {}
      for i, p in ipairs(m:named_parameters()) do names[i] = p.name end
      assert.are.same({ "1.weight", "1.bias", "3.weight" }, names)
      assert.are.equal(300 * 200 + 200 + 2000, m:num_parameters())
      assert.are.same({ 7, 10 }, m(dob.randn(7, 300)):size())
   end)

   it("Sequential of conv, pool, batch norm, dropout: shapes, train/eval modes", function()
      dob.manual_seed(2)
      local m = nn.Sequential(
         nn.Conv2d(3, 8, 3, { padding = "SAME" }), nn.BatchNorm2d(8), nn.ReLU(),
         nn.MaxPool2d(3, { stride = 2, padding = "SAME" }), nn.Dropout(0.5),
         nn.Conv2d(8, 4, 3, { stride = 2, padding = "VALID" }), nn.Flatten(), nn.Linear(4 * 3 * 3, 5))
      local x = dob.randn(2, 3, 16, 16)
      assert.are.same({ 2, 5 }, m(x):size())
      m:eval()
      local a, b = m(x), m(x)
      assert.are.equal(0, (a - b):abs():max():item())   -- eval: no dropout, running stats
      m:train()
      local c = m(x)
      assert.is_true((c - m(x)):abs():max():item() > 0)  -- train: dropout draws differ
      local bn = m:get(2)
      assert.is_true(bn.running_mean:abs():sum():item() > 0)
   end)

   it("LSTM, Embedding, LayerNorm, ConvTranspose2d modules run and backpropagate", function()
      dob.manual_seed(3)
      local emb, lstm, ln = nn.Embedding(11, 6), nn.LSTM(6, 5, { forget_bias = 1 }), nn.LayerNorm(5)
      local idx = dob.tensor({ { 1, 2 }, { 3, 10 }, { 0, 4 } }, "int64")   -- [T=3, B=2]
      local out, hn, cn = lstm(emb(idx))
      assert.are.same({ 3, 2, 5 }, out:size())
      assert.are.same({ 2, 5 }, hn:size())
      local y = ln(out):sum() + cn:sum()
      y:backward()
      assert.is_true(emb.weight:grad():abs():sum():item() > 0)
      assert.is_true(lstm.w_hh:grad():abs():sum():item() > 0)
      local up = nn.ConvTranspose2d(4, 2, 4, { stride = 2, padding = { 1, 1, 1, 1 } })
      assert.are.same({ 1, 2, 14, 14 }, up(dob.randn(1, 4, 7, 7)):size())
   end)

   it("a module's gradient matches finite differences", function()
      dob.manual_seed(4)
      local m = nn.Sequential(nn.Conv2d(2, 3, 3, { padding = "SAME", stride = 2 }), nn.Tanh(), nn.Flatten(), nn.Linear(12, 2))
      local ps = nn.ParamSet(m)
      local x = H.rand({ 2, 2, 4, 4 }, 9)
      for _, p in ipairs(ps.params) do
         local ok, msg = H.gradcheck(function() return m(x) end, { p.value })
         assert(ok, p.name .. ": " .. tostring(msg))
      end
   end)
end)

describe("ParamSet", function()
   it("moves parameters into one flat buffer; backward fills the flat gradient", function()
      dob.manual_seed(5)
      local m = nn.Sequential(nn.Linear(4, 3), nn.Tanh(), nn.Linear(3, 2))
      local before = m:get(1).weight:clone()
      local ps = nn.ParamSet(m)
      assert.are.equal(4 * 3 + 3 + 3 * 2 + 2, ps.flat:numel())
      assert.are.equal(0, (m:get(1).weight - before):abs():max():item())
      assert.is_true(m:get(1).weight:is_same_storage(ps.flat))
      assert.are.equal("1.weight", ps.params[1].name)
      local loss = m(dob.randn(5, 4)):sum()
      loss:backward()
      -- the flat gradient holds exactly the per-tensor gradients
      local w3 = ps.by_name["3.weight"]
      assert.is_true(w3.grad:is_same_storage(ps.grad_flat))
      assert.are.equal(0, (ps.grad_flat:narrow(1, w3.offset, w3.numel):view(2, 3) - w3.value:grad()):abs():max():item())
      ps:zero_grad()
      assert.are.equal(0, ps.grad_flat:abs():sum():item())
      -- an update of the flat buffer is what the model sees
      dob.no_grad(function() ps.flat:add_(1) end)
      assert.is_true((m:get(1).weight - before - 1):abs():max():item() < 1e-6)
   end)

   it("same seed and thread count give bit-identical training runs", function()
      local function run()
         dob.manual_seed(42)
         local m = nn.Sequential(nn.Conv2d(1, 4, 3, { padding = "SAME" }), nn.ReLU(), nn.Dropout(0.25),
            nn.MaxPool2d(2), nn.Flatten(), nn.Linear(4 * 4 * 4, 3))
         local ps = nn.ParamSet(m)
         local x, y = dob.randn(16, 1, 8, 8), dob.zeros(16, "int64"):random_(0, 3)
         local losses = {}
         for i = 1, 5 do
            ps:zero_grad()
            local loss = dob.softmax_cross_entropy(m(x), y):mean()
            loss:backward()
            dob.no_grad(function() ps.flat:add_(ps.grad_flat, -0.1) end)
            losses[i] = loss:item()
         end
         return losses, ps.flat:sum_double()
      end
      local a, sa = run()
      local b, sb = run()
      assert.are.same(a, b)
      assert.are.equal(sa, sb)
   end)
end)
