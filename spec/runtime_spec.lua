-- deepobs.runtime: DeepOBS's runtime estimation (the time of an optimizer's runs relative
-- to SGD's on the same problem), run on the fake problem of spec/fixtures/fake.lua.
-- scripts/analyze.lua --runtime is checked in spec/analyzer_spec.lua.
local runtime = require "deepobs.runtime"
local fake = require "fixtures.fake"

local function close(a, b, tol) return math.abs(a - b) <= (tol or 1e-12) * math.max(1, math.abs(b)) end

describe("runtime estimation", function()
   it("alternates SGD and the optimizer through the runner and reports the ratio", function()
      local order = {}
      local slow = fake.sgd { name = "SlowSGD" }
      local step = slow.step
      slow.step = function(...)
         order[#order + 1] = "slow"
         local t = os.clock()
         -- an overhead per step well above what a collection or a page fault adds to a run
         while os.clock() - t < 0.01 do end
         return step(...)
      end
      local sgd = fake.sgd()
      local sstep = sgd.step
      sgd.step = function(...)
         order[#order + 1] = "sgd"
         return sstep(...)
      end
      local r = runtime.estimate { problem = fake.problem(), optimizer = slow, sgd = sgd, lr = 0.1,
                                   num_epochs = 2, runs = 3, warmup = false }
      assert.are.equal(3, #r.ratios)
      assert.are.equal("SlowSGD", r.optimizer)
      assert.are.equal("fake_softmax", r.problem)
      -- 40 examples / batch 8 = 5 steps per epoch, 2 epochs, alternating per run
      assert.are.equal(60, #order)
      assert.are.same({ "sgd", "sgd" }, { order[1], order[10] })
      assert.are.same({ "slow", "slow", "sgd" }, { order[11], order[20], order[21] })
      local m, sd = runtime.mean_std(r.ratios)
      assert.are.equal(m, r.ratio_mean)
      assert.are.equal(sd, r.ratio_std)
      for i = 1, 3 do assert.is_true(close(r.ratios[i], r.times[i] / r.sgd_times[i])) end
      assert.is_true(r.ratio_mean > 1) -- 10 x 10 ms of busy waiting per run
      assert.is_true(r.train_ratio_mean > r.ratio_mean) -- the overhead is all in the steps
      for i = 1, 3 do
         assert.is_true(r.train_times[i] < r.times[i] and r.sgd_train_times[i] < r.sgd_times[i])
         assert.is_true(close(r.train_ratios[i], r.train_times[i] / r.sgd_train_times[i]))
      end
      assert.matches("training steps only", runtime.format(r))
      assert.matches("overhead: %d+%.%d%d ± %d+%.%d%d", runtime.format(r))
   end)

   it("warms up with one untimed epoch of each unless told not to", function()
      local sgd, n = fake.sgd(), 0
      local step = sgd.step
      sgd.step = function(...) n = n + 1 return step(...) end
      local r = runtime.estimate { problem = fake.problem(), optimizer = fake.sgd(), sgd = sgd, lr = 0.1,
                                   num_epochs = 1, runs = 2 }
      assert.are.equal(2, #r.sgd_times)
      assert.are.equal(5 * 3, n) -- 5 steps per epoch: warm-up + 2 timed runs
   end)
end)
