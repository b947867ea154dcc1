-- Resident memory stays flat over a long training loop, even with an
-- optimizer that creates temporaries in every expression; the graph and the
-- temporaries are freed.
local dob = require "deepobs"
local nn = dob.nn

local function rss_bytes()
   local f = io.open("/proc/self/statm")
   local pages = f:read("*n")
   pages = f:read("*n")
   f:close()
   return pages * 4096
end

describe("memory", function()
   it("RSS stays flat over thousands of training steps with a naive Lua optimizer", function()
      dob.manual_seed(3)
      local model = nn.Sequential(nn.Linear(32, 128), nn.Tanh(), nn.Linear(128, 10))
      local ps = nn.ParamSet(model)
      local x = dob.randn(64, 32)
      local labels = dob.zeros(64, "int64"):random_(0, 10)
      local state = {}
      local function step()
         ps:zero_grad()
         local loss = dob.softmax_cross_entropy(model(x), labels):mean()
         loss:backward()
         dob.no_grad(function()
            -- heavy-ball momentum written the naive way: every expression allocates
            state.v = state.v and (state.v * 0.9 + ps.grad_flat) or ps.grad_flat:clone()
            ps.flat:copy_(ps.flat - state.v * 0.05)
         end)
         return loss:item()
      end
      local first = step()
      for _ = 1, 500 do step() end
      -- the first GC cycle after a full collection lets the most garbage build up (the Lua
      -- heap doubles before the next cycle); the warm-up includes one, so that the
      -- measured window starts from the steady state rather than ends at its peak
      collectgarbage(); collectgarbage()
      for _ = 1, 500 do step() end
      collectgarbage(); collectgarbage()
      local rss0, stats0 = rss_bytes(), dob.memory_stats()
      local last
      for _ = 1, 3000 do last = step() end
      collectgarbage(); collectgarbage()
      local rss1, stats1 = rss_bytes(), dob.memory_stats()
      assert.is_true(last < first, "the loss went down")
      -- AddressSanitizer's quarantine holds freed memory, so RSS means nothing there
      if not os.getenv("DEEPOBS_ASAN") then
         assert.is_true(rss1 - rss0 < 8 * 2 ^ 20, ("RSS grew by %.1f MB"):format((rss1 - rss0) / 2 ^ 20))
      end
      assert.is_true(stats1.live_bytes - stats0.live_bytes < 2 ^ 20, "live bytes grew")
      assert.are.equal(stats0.live_tensors, stats1.live_tensors)
      assert.are.equal(0, stats1.live_nodes)
   end)

   it("collect() also empties a freed block between live ones in a segment", function()
      dob.collect()
      local base = dob.memory_stats().live_bytes
      local a, b, c = dob.zeros(1024, 1024), dob.zeros(1024, 1024), dob.zeros(1024, 1024)
      b = nil   -- 4 MB between a and c (blocks of 2 MiB and more share segments)
      dob.collect()
      local s = dob.memory_stats()
      local held = s.live_bytes - base   -- a and c, in whole 64 KB grains
      assert.is_true(held >= 8 * 2 ^ 20 and held < 9 * 2 ^ 20, ("%d bytes held"):format(held))
      assert.are.equal(0, s.cached_bytes)
      assert.are.equal(0, a:sum():item() + c:sum():item())
   end)

   it("collect() returns freed blocks and live bytes come back to the baseline", function()
      dob.collect()
      local base = dob.memory_stats().live_bytes
      do
         local big = {}
         for i = 1, 8 do big[i] = dob.zeros(1024, 1024) end
         assert.is_true(dob.memory_stats().live_bytes >= base + 8 * 4 * 2 ^ 20)
      end
      dob.collect()
      local s = dob.memory_stats()
      assert.are.equal(base, s.live_bytes)
      assert.are.equal(0, s.cached_bytes)
   end)
end)
