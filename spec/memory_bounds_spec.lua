-- What bounds memory in a training step: garbage is collected by bytes handed out, an op
-- keeps alive only what its backward reads, backward frees each node's saved tensors as
-- soon as that node ran, and the allocator's cache stays within the working set. Each
-- case measures the engine's own byte counters (dob.memory_stats), which are exact.
local dob = require "deepobs"
local gradcheck = require "deepobs.gradcheck"

local MB = 2 ^ 20
local N = 2 ^ 18                 -- elements of one test tensor: 1 MB of float32
local GC_BYTES = 16 * MB         -- DEEPOBS_GC_MIN_MB's default

local function stats() return dob.memory_stats() end
local function settle() collectgarbage(); collectgarbage() end

describe("garbage between collections", function()
   for _, elems in ipairs { 2 ^ 14, 2 ^ 18, 2 ^ 20, 2 ^ 22 } do
      it(("stays under DEEPOBS_GC_MIN_MB with %d-element temporaries"):format(elems), function()
         settle()
         local base = stats().live_bytes
         dob.reset_peak_memory_stats()
         local x = dob.ones(elems)
         for _ = 1, 300 do x = x * 1.0001 end      -- each step leaves the old x as garbage
         local over = stats().peak_live_bytes - base
         -- at most GC_BYTES handed out since the last collection, plus the tensors alive
         -- around the one whose allocation triggered it
         assert.is_true(over <= GC_BYTES + 4 * elems * 4,
            ("the garbage reached %.1f MB"):format(over / MB))
         assert.is_true(math.abs(x:sum():item() / elems - 1.0001 ^ 300) < 1e-3)
      end)
   end
end)

describe("garbage of a loop that reports its batches (the runner's)", function()
   it("stays within one batch's worth, at least 2 MB, instead of DEEPOBS_GC_MIN_MB", function()
      local batch_done = require("deepobs.tensor").batch_done
      local elems = 2 ^ 16                     -- 256 KB temporaries, 4 a batch: 1 MB of garbage each
      settle()
      local base = stats().live_bytes
      dob.reset_peak_memory_stats()
      local x = dob.ones(elems)
      for _ = 1, 200 do
         for _ = 1, 4 do x = x * 1.0001 end
         batch_done()
      end
      local over = stats().peak_live_bytes - base
      assert.is_true(over <= 2 * MB + 4 * elems * 4, ("the garbage reached %.1f MB"):format(over / MB))
      assert.is_true(math.abs(x:sum():item() / elems - 1.0001 ^ 800) < 1e-3)
   end)
end)

-- an op's input and output, both 1 MB; which of them the graph keeps after the Lua side
-- dropped its references (PyTorch's rules: the output for relu, tanh, sigmoid, exp, sqrt,
-- rsqrt; nothing for neg, sign, add, sub; the other factor of a product)
local UNARY = {
   { "neg", "none" }, { "exp", "output" }, { "log", "input" }, { "sqrt", "output" }, { "abs", "input" },
   { "relu", "output" }, { "sigmoid", "output" }, { "tanh", "output" }, { "softplus", "input" },
   { "gelu", "input" }, { "square", "input" }, { "rsqrt", "output" }, { "sign", "none" },
   { "elu", "both" }, { "leaky_relu", "input" }, { "clamp", "input", { -0.5, 0.5 } },
}
-- binary ops: how many of a and b the graph keeps, given which of them need a gradient
-- (mul: the other factor of each input that needs one; div: b always, a for b's gradient)
local BINARY = {
   add = function() return 0 end, sub = function() return 0 end,
   mul = function(ga, gb) return (ga and 1 or 0) + (gb and 1 or 0) end,
   div = function(_, gb) return 1 + (gb and 1 or 0) end,
   pow = function() return 2 end, maximum = function() return 2 end, minimum = function() return 2 end,
}

-- live bytes held by the graph of f(h) (h a 1 MB non-leaf) once only the result is referenced,
-- in tensors of 1 MB, beyond x and the result
local function kept_by_graph(f, leaves)
   settle()
   local base = stats().live_bytes
   local y
   do
      local hs = {}
      for i, leaf in ipairs(leaves) do hs[i] = leaf * 1 end
      y = f(table.unpack(hs))
   end
   settle()
   local kept = (stats().live_bytes - base) / (N * 4) - 1
   return kept, y
end

describe("an op keeps alive only what its backward reads", function()
   local x = dob.rand(N):add_(0.5):requires_grad_()
   for _, case in ipairs(UNARY) do
      local name, reads, args = case[1], case[2], case[3] or {}
      it(name .. " keeps its " .. reads, function()
         local kept, y = kept_by_graph(function(h) return h[name](h, table.unpack(args)) end, { x })
         local expect = ({ none = 0, input = 1, output = 0, both = 1 })[reads]
         -- the output is y itself, which the Lua side still holds
         assert.are.equal(expect, kept)
         y:sum():backward()
         assert.is_not_nil(x:grad())
         x:set_grad(nil)
         -- and the gradient is still right (small tensors, finite differences)
         local z = gradcheck.rand({ 5 }, 7, 0.3, 1.2):requires_grad_()
         gradcheck.assert(function(t) return t[name](t, table.unpack(args)) end, { z }, { op = name })
      end)
   end
   for name, kept_of in pairs(BINARY) do
      for _, grads in ipairs { { true, true }, { true, false }, { false, true } } do
         local ga, gb = grads[1], grads[2]
         it(("%s keeps %d of its inputs (gradients for a: %s, b: %s)"):format(name, kept_of(ga, gb),
            tostring(ga), tostring(gb)), function()
            local a = dob.rand(N):add_(0.5):requires_grad_(ga)
            local b = dob.rand(N):add_(0.5):requires_grad_(gb)
            local kept, y = kept_by_graph(function(ha, hb) return ha[name](ha, hb) end, { a, b })
            assert.are.equal(kept_of(ga, gb), kept)
            y:sum():backward()
            assert.are.equal(ga, a:grad() ~= nil)
            assert.are.equal(gb, b:grad() ~= nil)
         end)
      end
   end
end)

-- batch norm keeps its input and makes its output again for the backward of a consumer that
-- saved it, bit for bit, so a conv after batch norm (+ relu) does not keep bn's output alive
describe("batch norm's output saved by the next op", function()
   local C = 4                                    -- x [4, 4, 128, 128]: 1 MB
   local PAD = { padding = 1 }
   local function leaves()
      dob.manual_seed(11)
      local x = dob.randn(4, C, 128, 128):requires_grad_()
      local w = dob.randn(C, C, 3, 3):mul_(0.2):requires_grad_()
      local gamma = dob.rand(C):add_(0.5):requires_grad_()
      local beta = dob.randn(C):mul_(0.3):requires_grad_()
      return x, w, gamma, beta
   end
   local function grads(ts)
      local out = {}
      for i, t in ipairs(ts) do out[i] = t:grad():clone(); t:set_grad(nil) end
      return out
   end
   for _, act in ipairs { "relu", "none" } do
      for _, training in ipairs { true, false } do
         local what = ("activation %s, %s"):format(act, training and "training" or "eval")
         local function bn(h, gamma, beta)
            local rm, rv = dob.zeros(C), dob.ones(C)
            return dob.batch_norm(h, gamma, beta, rm, rv, training, 0.1, 1e-5, act)
         end
         it("is not kept alive by a conv after it (" .. what .. ")", function()
            local x, w, gamma, beta = leaves()
            local kept, y = kept_by_graph(function(h)
               return dob.conv2d(bn(h, gamma, beta), w, nil, PAD)
            end, { x })
            -- bn keeps its input h (1 MB); its output is made again for the conv's backward
            assert.are.equal(1, math.floor(kept + 0.01))
            y:sum():backward()
         end)
         it("gives the same gradients, bit for bit, as a kept copy (" .. what .. ")", function()
            local x, w, gamma, beta = leaves()
            local ts = { x, w, gamma, beta }
            local function loss(copy)
               local y = bn(x * 1, gamma, beta)
               if copy then y = y:clone() end
               return (dob.conv2d(y, w, nil, PAD) ^ 2):sum()
            end
            loss(true):backward()
            local kept = grads(ts)
            local l = loss(false)
            l:backward(nil, true)
            local made = grads(ts)
            l:backward()                           -- made again for a second backward
            local again = grads(ts)
            for i = 1, #ts do
               assert.are.equal(0, (made[i] - kept[i]):abs():max():item())
               assert.are.equal(0, (again[i] - kept[i]):abs():max():item())
            end
         end)
      end
   end

   local function bn_relu(h, gamma, beta)
      return dob.batch_norm(h, gamma, beta, nil, nil, true, 0.1, 1e-5, "relu")
   end
   local function backward_fails(loss, pattern)
      local ok, err = pcall(loss.backward, loss)
      assert.is_false(ok)
      assert.matches(pattern, tostring(err))
   end

   it("fails clearly when bn's input changed in place before the backward", function()
      local x, w, gamma, beta = leaves()
      local h = x * 1
      local loss = dob.conv2d(bn_relu(h, gamma, beta), w, nil, PAD):sum()
      dob.no_grad(function() h:add_(1) end)
      backward_fails(loss, "batch_norm_relu.-modified in place")
   end)

   it("fails clearly when bn's backward already ran and freed its input", function()
      local x, w, gamma, beta = leaves()
      local y = bn_relu(x * 1, gamma, beta)
      local through_conv = dob.conv2d(y, w, nil, PAD):sum()
      y:sum():backward()
      backward_fails(through_conv, "second time.-batch_norm_relu")
   end)

   it("is saved as it is once changed in place: the conv's gradient reads what its forward read", function()
      local x, w, gamma, beta = leaves()
      local y = bn_relu(x * 1, gamma, beta)
      dob.no_grad(function() y:mul_(2) end)
      ;(dob.conv2d(y, w, nil, PAD) ^ 2):sum():backward()
      local kept = w:grad():clone()
      w:set_grad(nil)
      local y2 = dob.no_grad(function() return bn_relu(x * 1, gamma, beta) * 2 end):requires_grad_()
      ;(dob.conv2d(y2, w, nil, PAD) ^ 2):sum():backward()
      assert.are.equal(0, (w:grad() - kept):abs():max():item())
   end)
end)

describe("backward", function()
   it("frees each node's saved tensors as soon as the node ran", function()
      local x = dob.rand(N):requires_grad_()
      local a, loss
      do
         a = x:tanh()                             -- saves a; modified below, so backward fails here
         local b = (a * 1):exp()                  -- saves its output
         local c = (b * 1):tanh()                 -- likewise
         loss = c:sum()
      end
      dob.no_grad(function() a:mul_(1) end)       -- bumps a's version
      settle()
      local before = stats().live_bytes
      local ok, err = pcall(loss.backward, loss)
      assert.is_false(ok)
      assert.matches("modified in place", tostring(err))
      settle()
      -- exp's and tanh's saved outputs (1 MB each) went when their nodes ran, before the failure
      assert.is_true(before - stats().live_bytes >= 2 * N * 4,
         ("freed %.2f MB"):format((before - stats().live_bytes) / MB))
   end)

   it("with retain_graph keeps them for a second backward, which gives the same gradient", function()
      local x = dob.rand(64):requires_grad_()
      local loss = (x:tanh() * 3):exp():sum()
      loss:backward(nil, true)
      local g1 = x:grad():clone()
      x:set_grad(nil)
      loss:backward()
      assert.are.equal(0, (x:grad() - g1):abs():max():item())
      assert.has_error(function() loss:backward() end)
   end)
end)

describe("the allocator's cache", function()
   after_each(function() dob.set_cache_limit(nil) end)

   -- phases of `count` tensors of `elems` elements alive together, each phase of sizes the
   -- last one's free memory cannot serve (small size classes, then large segments); the
   -- budget is peak + max(peak / 8, 256 MB), so the phases are a few hundred MB
   for _, phases in ipairs { { { 300, N }, { 40, 8 * N } }, { { 400, N / 2 }, { 30, 10 * N }, { 600, N / 4 } } } do
      it(("stays within the working set over %d phases of other sizes"):format(#phases), function()
         dob.collect()
         dob.reset_peak_memory_stats()
         local s0 = stats()
         for _, ph in ipairs(phases) do
            do
               local alive = {}
               for i = 1, ph[1] do alive[i] = dob.empty(ph[2]) end
            end
            settle()
            local s = stats()
            -- the slack doubles once when a peak's worth goes back within a few peaks of
            -- requests, as it can here (a step that cycles through more would thrash)
            local peak = s.peak_live_bytes
            local bound = peak + math.max(peak / 4, 256 * MB)
            assert.is_true(s.live_bytes + s.cached_bytes <= bound,
               ("held %.1f MB, peak live %.1f MB"):format((s.live_bytes + s.cached_bytes) / MB, peak / MB))
         end
         -- a phase repeated hits the cache: nothing new from the OS
         local last = phases[#phases]
         local before = stats().obtained_total
         do
            local alive = {}
            for i = 1, last[1] do alive[i] = dob.empty(last[2]) end
         end
         settle()
         assert.are.equal(before, stats().obtained_total)
         assert.is_true(stats().evicted_total > s0.evicted_total, "the bound made something go back")
         dob.collect()
      end)
   end

   -- large blocks are split and merged inside segments: a bug there hands one block out twice
   for _, seed in ipairs { 1, 2, 3 } do
      it(("never hands memory out twice (random sizes from 64 B to 24 MB, seed %d)"):format(seed), function()
         dob.collect()
         local base = stats().live_bytes
         local rng = require("deepobs.mt19937")(seed)
         local alive, next_id = {}, 0
         local function check(t) assert.are.equal(t.id, t.x:min():item()); assert.are.equal(t.id, t.x:max():item()) end
         for _ = 1, 600 do
            if #alive > 0 and rng:random_sample() < 0.45 then
               local k = math.floor(rng:random_sample() * #alive) + 1
               check(alive[k])
               alive[k] = alive[#alive]
               alive[#alive] = nil
            else
               local elems = math.floor(2 ^ (4 + rng:random_sample() * 18.6))   -- 64 B .. 24 MB
               next_id = next_id + 1
               alive[#alive + 1] = { id = next_id, x = dob.empty(elems):fill_(next_id) }
            end
            if #alive > 40 then
               check(alive[1])
               table.remove(alive, 1)
            end
         end
         for _, t in ipairs(alive) do check(t) end
         alive = nil
         dob.collect()
         local s = stats()
         assert.are.equal(base, s.live_bytes)
         assert.is_true(s.cached_bytes >= 0)
      end)
   end

   for _, limit in ipairs { 0, 3 * MB, 40 * MB } do
      it(("holds at most set_cache_limit(%d) bytes"):format(limit), function()
         dob.set_cache_limit(limit)
         assert.are.equal(limit, dob.cache_limit())
         do
            local alive = {}
            for i = 1, 16 do alive[i] = dob.empty(N + i * 1024) end
         end
         settle()
         assert.is_true(stats().cached_bytes <= limit)
      end)
   end

   -- a freed block between two live ones cannot go back to the OS; under a cap its
   -- pages are dropped instead, and the live neighbours keep their values
   it("holds a freed block between live ones within set_cache_limit(0)", function()
      settle()
      local before = dob.empty(3 * N):fill_(1)
      local hole = dob.empty(3 * N):fill_(2)
      local after = dob.empty(3 * N):fill_(3)
      hole = nil
      settle()
      assert.is_true(stats().cached_bytes >= 3 * 4 * N)
      dob.set_cache_limit(0)
      assert.are.equal(0, stats().cached_bytes)
      local again = dob.empty(3 * N):fill_(4)
      for value, t in pairs { [1] = before, [3] = after, [4] = again } do
         assert.are.equal(value, t:min():item())
         assert.are.equal(value, t:max():item())
      end
   end)

   it("set_cache_limit(nil) goes back to the automatic bound", function()
      dob.set_cache_limit(0)
      dob.set_cache_limit(nil)
      assert.is_nil(dob.cache_limit())
   end)

   for _, bad in ipairs { -1, 1.5, 0 / 0, math.huge, "10", true, {} } do
      it("set_cache_limit refuses " .. tostring(bad), function()
         local ok, err = pcall(dob.set_cache_limit, bad)
         assert.is_false(ok)
         assert.matches("set_cache_limit", tostring(err))
      end)
   end
end)

describe("a training step in the steady state", function()
   for _, build in ipairs {
      { "an MLP", function() return dob.nn.Sequential(dob.nn.Linear(64, 256), dob.nn.ReLU(), dob.nn.Linear(256, 10)), dob.randn(128, 64) end },
      { "a conv net", function()
         return dob.nn.Sequential(dob.nn.Conv2d(3, 16, 3, { padding = "SAME" }), dob.nn.ReLU(),
            dob.nn.Conv2d(16, 16, 3, { padding = "SAME" }), dob.nn.ReLU(), dob.nn.MaxPool2d(2, { stride = 2 }),
            dob.nn.Flatten(), dob.nn.Linear(16 * 8 * 8, 10)), dob.randn(32, 3, 16, 16)
      end },
   } do
      it(build[1] .. " takes nothing new from the OS and holds the same bytes every step", function()
         dob.manual_seed(1)
         local model, x = build[2]()
         local ps = dob.nn.ParamSet(model)
         local y = dob.zeros(x:size(1), "int64"):random_(0, 10)
         local function step()
            ps:zero_grad()
            dob.softmax_cross_entropy(model(x), y):mean():backward()
            dob.no_grad(function() ps.flat:add_(ps.grad_flat, -0.01) end)
            settle()
         end
         for _ = 1, 3 do step() end
         local s0 = stats()
         for _ = 1, 5 do step() end
         local s1 = stats()
         assert.are.equal(s0.obtained_total, s1.obtained_total)
         assert.are.equal(s0.live_bytes + s0.cached_bytes, s1.live_bytes + s1.cached_bytes)
         assert.are.equal(0, s1.live_nodes)
      end)
   end
end)
