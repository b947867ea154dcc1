-- deepobs.schedule: every schedule against its closed form at every step of small runs, the
-- corners, the usage errors (generated), records and folder suffixes, and lr_at's lack of state.
local schedule = require "deepobs.schedule"
local results = require "deepobs.results"
local errors = require "deepobs.errors"

local floor, cos, pi = math.floor, math.cos, math.pi
local NAN, INF = 0 / 0, 1 / 0

local EPOCHS = { 1, 2, 3, 5, 8 }
local STEPS_PER_EPOCH = { 1, 2, 3, 7, 10 }

local function round(x) return floor(x + 0.5) end

-- DeepOBS 1.1's make_lr_schedule (deepobs/tensorflow/runners/runner_utils.py) as its runner
-- used it: {0: lr, e_i: f_i * lr}, the value in force during each epoch 0..N-1
local function deepobs_lr_per_epoch(lr, epochs, factors, num_epochs)
   local sched = { [0] = lr }
   for i, e in ipairs(epochs or {}) do sched[e] = factors[i] * lr end
   local out, cur = {}, lr
   for n = 0, num_epochs - 1 do
      if sched[n] then cur = sched[n] end
      out[n + 1] = cur
   end
   return out
end

local function merged(...)
   local out = {}
   for i = 1, select("#", ...) do
      for k, v in pairs(select(i, ...) or {}) do out[k] = v end
   end
   return out
end

local function describe_opts(o)
   local keys = {}
   for k in pairs(o) do keys[#keys + 1] = k end
   table.sort(keys)
   local parts = {}
   for _, k in ipairs(keys) do
      local v = o[k]
      if type(v) == "table" then
         local items = {}
         for i, x in ipairs(v) do items[i] = tostring(x) end
         v = "{" .. table.concat(items, ",") .. "}"
      end
      parts[#parts + 1] = k .. "=" .. tostring(v)
   end
   return table.concat(parts, " ")
end

-- W as the header defines it
local function warmup_steps_of(o, S)
   if o.warmup_steps then return o.warmup_steps end
   if o.warmup_epochs then return round(o.warmup_epochs * S) end
   return 0
end

-- the warm-ups that fit a run of N epochs of S steps: none, by steps, by epochs
local function warmups(N, S)
   local T = N * S
   local out = { {} }
   for _, w in ipairs { { warmup_steps = 1 }, { warmup_steps = floor(T / 3) }, { warmup_epochs = 0.5 },
                        { warmup_epochs = N - 0.5 } } do
      local W = warmup_steps_of(w, S)
      if W >= 1 and W < T and (w.warmup_epochs == nil or w.warmup_epochs > 0) then out[#out + 1] = w end
   end
   return out
end

-- every (N, S, warm-up) of the small runs, calling f(N, S, T, W, warm)
local function each_run(f)
   for _, N in ipairs(EPOCHS) do
      for _, S in ipairs(STEPS_PER_EPOCH) do
         for _, warm in ipairs(warmups(N, S)) do f(N, S, N * S, warmup_steps_of(warm, S), warm) end
      end
   end
end

-- asserts s:lr_at(t) == ref(t) (the same double) at every step; returns the count
local function check_every_step(s, T, ref, label)
   for t = 0, T - 1 do
      local got, want = s:lr_at(t), ref(t)
      if got ~= want then
         assert.are.equal(want, got, ("%s, step %d of %d"):format(label, t, T))
      end
   end
   return T
end

-- the warm-up in front, then shape(u) for the remaining steps
local function with_warmup(lr, W, shape)
   return function(t)
      if t < W then return lr * t / W end
      return shape(t - W)
   end
end

local function usage_message(f, ...)
   local ok, e = pcall(f, ...)
   assert.is_false(ok, "expected a usage error")
   assert.is_true(errors.is_usage(e), "expected a usage error, got " .. errors.describe(e))
   return e.msg
end

-- the flag as a whole word ("--lr" does not match inside "--lr_min")
local function names_flag(msg, flag)
   return msg:find(flag:gsub("%-", "%%-") .. "%f[^%w_]") ~= nil
end

describe("closed forms at every step (N in {1,2,3,5,8}, S in {1,2,3,7,10}, with and without warm-up)", function()
   it("constant: lr, after a warm-up lr * t / W", function()
      local n = 0
      each_run(function(N, S, T, W, warm)
         local s = schedule.new(merged({ lr = 0.3, num_epochs = N }, warm)):bind(S)
         n = n + check_every_step(s, T, with_warmup(0.3, W, function() return 0.3 end),
            "constant " .. describe_opts(warm))
      end)
      assert.is_true(n > 1000)
   end)

   it("step: DeepOBS 1.1's lr of the epoch counted from the end of the warm-up", function()
      local n = 0
      each_run(function(N, S, T, W, warm)
         local rest = T - W
         local epochs, factors = {}, {}
         for e = 0, N - 1 do
            if e * S < rest and (warm.warmup_epochs == nil or e + warm.warmup_epochs < N) then
               epochs[#epochs + 1] = e
               factors[#factors + 1] = e == 0 and 2 or 0.5 ^ e * 0.3
            end
         end
         for _, lists in ipairs { { epochs, factors }, { { unpack(epochs, 2) }, { unpack(factors, 2) } } } do
            local lr = 0.3
            local s = schedule.new(merged({ lr = lr, num_epochs = N, lr_sched_epochs = lists[1],
               lr_sched_factors = lists[2] }, warm)):bind(S)
            local per_epoch = deepobs_lr_per_epoch(lr, lists[1], lists[2], N)
            n = n + check_every_step(s, T, with_warmup(lr, W, function(u) return per_epoch[floor(u / S) + 1] end),
               ("step epochs {%s} %s"):format(table.concat(lists[1], ","), describe_opts(warm)))
         end
      end)
      assert.is_true(n > 1000)
   end)

   it("cosine: lr_min + (lr - lr_min) * (1 + cos(pi * u / T')) / 2", function()
      local n = 0
      each_run(function(N, S, T, W, warm)
         for _, lr_min in ipairs { 0, 0.001, 0.05 } do
            local lr = 0.1
            local s = schedule.new(merged({ name = "cosine", lr = lr, num_epochs = N, lr_min = lr_min }, warm)):bind(S)
            local rest = T - W
            n = n + check_every_step(s, T, with_warmup(lr, W, function(u)
               return lr_min + (lr - lr_min) * (1 + cos(pi * u / rest)) / 2
            end), ("cosine lr_min %g %s"):format(lr_min, describe_opts(warm)))
         end
      end)
      assert.is_true(n > 1000)
   end)

   it("cosine_restarts: cycle k ends at round(S * T_0 * (1 + m + ... + m^(k-1))) after the warm-up", function()
      local n, runs = 0, 0
      each_run(function(N, S, T, W, warm)
         local rest = T - W
         for _, t0 in ipairs { 0.5, 1, 1.5, 2 } do
            for _, m in ipairs { 1, 1.5, 2, 3 } do
               -- the documented validity: each cycle a step or more, a restart within the run
               local fits = S * t0 >= 1 and round(S * t0) < rest
                  and t0 < N - (warm.warmup_epochs or 0)
               if fits then
                  local lr, lr_min = 0.2, 0.01
                  local s = schedule.new(merged({ name = "cosine_restarts", lr = lr, num_epochs = N, lr_min = lr_min,
                     restart_epochs = t0, restart_mult = m }, warm)):bind(S)
                  local function cycle_end(k) -- closed form of the geometric sum (exact for these values)
                     local sum = m == 1 and k or (m ^ k - 1) / (m - 1)
                     return round(S * t0 * sum)
                  end
                  n = n + check_every_step(s, T, with_warmup(lr, W, function(u)
                     local k = 0
                     while cycle_end(k + 1) <= u do k = k + 1 end
                     local start, len = cycle_end(k), cycle_end(k + 1) - cycle_end(k)
                     return lr_min + (lr - lr_min) * (1 + cos(pi * (u - start) / len)) / 2
                  end), ("restarts T_0 %g m %g %s"):format(t0, m, describe_opts(warm)))
                  runs = runs + 1
               end
            end
         end
      end)
      assert.is_true(runs > 100)
      assert.is_true(n > 5000)
   end)

   it("trapezoidal: rise over round(a T') steps from 0, hold lr, fall over round(c T') steps to lr_min", function()
      local n = 0
      each_run(function(N, S, T, W, warm)
         local rest = T - W
         for _, fr in ipairs { { 0.1, 0.1 }, { 0, 0.3 }, { 0.3, 0 }, { 0, 0 }, { 0.5, 0.5 }, { 0.25, 0.75 }, { 0.2, 0.4 } } do
            local a, c = fr[1], fr[2]
            local A, C = round(a * rest), round(c * rest)
            if (a == 0 or A > 0) and (c == 0 or C > 0) then
               if A + C > rest then A = rest - C end
               local lr, lr_min = 0.4, 0.004
               local s = schedule.new(merged({ name = "trapezoidal", lr = lr, num_epochs = N, lr_min = lr_min,
                  trapezoid_warmup = a, trapezoid_cooldown = c }, warm)):bind(S)
               n = n + check_every_step(s, T, with_warmup(lr, W, function(u)
                  if u < A then return lr * u / A end
                  if u < rest - C then return lr end
                  return lr_min + (lr - lr_min) * (rest - 1 - u) / C
               end), ("trapezoidal %g/%g %s"):format(a, c, describe_opts(warm)))
            end
         end
      end)
      assert.is_true(n > 2000)
   end)
end)

describe("boundaries", function()
   it("the warm-up edge: 0 at step 0, lr * (W-1)/W just before W, the schedule's first value at W", function()
      each_run(function(N, S, T, W, warm)
         if W == 0 then return end
         for _, name in ipairs { "constant", "cosine", "cosine_restarts" } do
            local opts = merged({ name = name, lr = 0.1, num_epochs = N }, warm)
            if name == "cosine_restarts" then opts.restart_epochs = 1 / S; opts.restart_mult = 1 end
            if name ~= "cosine_restarts" or (T - W >= 2 and 1 / S < N - (warm.warmup_epochs or 0)) then
               local s = schedule.new(opts):bind(S)
               assert.are.equal(0, s:lr_at(0))
               assert.are.equal(0.1 * (W - 1) / W, s:lr_at(W - 1))
               assert.is_true(s:lr_at(W - 1) < 0.1)
               assert.are.equal(0.1, s:lr_at(W)) -- lr_min 0: cos(0) = 1 gives lr exactly
            end
         end
      end)
   end)

   it("cosine: lr at the first step, falling every step, above lr_min at the last (within (pi/T)^2/4)", function()
      for _, T in ipairs { 2, 3, 10, 101 } do
         local lr, lr_min = 0.5, 0.1
         local s = schedule.new { name = "cosine", lr = lr, num_epochs = T, lr_min = lr_min }:bind(1)
         assert.are.near(lr, s:lr_at(0), 1e-15)
         for t = 1, T - 1 do assert.is_true(s:lr_at(t) < s:lr_at(t - 1)) end
         local last = s:lr_at(T - 1)
         assert.is_true(last > lr_min)
         assert.is_true(last - lr_min <= (lr - lr_min) * (pi / T) ^ 2 / 4 + 1e-15)
         if T % 2 == 0 then assert.are.near(lr_min + (lr - lr_min) / 2, s:lr_at(T / 2), 1e-15) end
      end
   end)

   it("cosine_restarts: back to lr at each cycle start (10, 30, 70 steps), lowest just before it", function()
      local s = schedule.new { name = "cosine_restarts", lr = 0.1, num_epochs = 10, restart_epochs = 1,
         restart_mult = 2 }:bind(10)
      local starts = { 0, 10, 30, 70 }
      for i, b in ipairs(starts) do
         assert.are.equal(0.1, s:lr_at(b))
         if b > 0 then
            assert.is_true(s:lr_at(b - 1) < 0.01)
            local len = b - starts[i - 1]
            assert.are.equal(0.1 * (1 + cos(pi * (len - 1) / len)) / 2, s:lr_at(b - 1))
         end
      end
      for t = 71, 99 do assert.is_true(s:lr_at(t) < s:lr_at(t - 1)) end
      -- the last cycle (8 epochs, 80 steps) is cut off at step 99, 29 steps in
      assert.are.equal(0.1 * (1 + cos(pi * 29 / 80)) / 2, s:lr_at(99))
      -- fractional T_0: 2.5 epochs at S = 3 -> ends round(7.5) = 8, round(22.5) = 23
      s = schedule.new { name = "cosine_restarts", lr = 1, num_epochs = 12, restart_epochs = 2.5 }:bind(3)
      assert.are.equal(1, s:lr_at(8))
      assert.are.equal(1, s:lr_at(23))
      assert.is_true(s:lr_at(7) < 0.1 and s:lr_at(22) < 0.1 and s:lr_at(9) < 1 and s:lr_at(24) < 1)
   end)

   it("trapezoidal corners: 0, lr at the end of the rise, lr until the fall, lr_min at the last step", function()
      -- 100 steps, 1/10 and 1/10 (the paper's): rise 0..9, hold 10..89, fall 90..99
      local s = schedule.new { name = "trapezoidal", lr = 1, num_epochs = 10, lr_min = 0.1 }:bind(10)
      assert.are.equal(0, s:lr_at(0))
      assert.are.equal(0.9, s:lr_at(9))
      assert.are.equal(1, s:lr_at(10))
      assert.are.equal(1, s:lr_at(89))
      assert.are.equal(0.1 + 0.9 * 9 / 10, s:lr_at(90))
      assert.are.equal(0.1, s:lr_at(99))
      for t = 1, 9 do assert.are.near(0.1, s:lr_at(t) - s:lr_at(t - 1), 1e-15) end
      for t = 91, 99 do assert.are.near(-0.09, s:lr_at(t) - s:lr_at(t - 1), 1e-15) end
      -- halves of 3 steps both round up to 2: the rise gives way (1 step), the fall keeps 2
      s = schedule.new { name = "trapezoidal", lr = 1, num_epochs = 3, trapezoid_warmup = 0.5,
         trapezoid_cooldown = 0.5 }:bind(1)
      assert.are.same({ 0, 0.5, 0 }, { s:lr_at(0), s:lr_at(1), s:lr_at(2) })
   end)

   it("step: the factor applies from the first step of its epoch, counted after a warm-up", function()
      local s = schedule.new { lr = 0.3, num_epochs = 120, lr_sched_epochs = { 50, 100 },
         lr_sched_factors = { 0.1, 0.01 } }:bind(7)
      assert.are.equal("step", s.name)
      assert.are.equal(0.3, s:lr_at(50 * 7 - 1))
      assert.are.equal(0.1 * 0.3, s:lr_at(50 * 7))
      assert.are.equal(0.1 * 0.3, s:lr_at(100 * 7 - 1))
      assert.are.equal(0.01 * 0.3, s:lr_at(100 * 7))
      assert.are.equal(0.01 * 0.3, s:lr_at(120 * 7 - 1))
      s = schedule.new { lr = 0.3, num_epochs = 4, lr_sched_epochs = { 1 }, lr_sched_factors = { 0.1 },
         warmup_steps = 3 }:bind(5)
      assert.are.equal(0.3 * 2 / 3, s:lr_at(2))
      assert.are.equal(0.3, s:lr_at(3))
      assert.are.equal(0.3, s:lr_at(7))
      assert.are.equal(0.1 * 0.3, s:lr_at(8))
   end)

   it("step equals DeepOBS 1.1's make_lr_schedule at the first step of every epoch and is constant within epochs", function()
      local lists = {
         { { 50, 100 }, { 0.1, 0.01 } }, { { 0 }, { 0.5 } }, { { 0, 1, 2 }, { 3, 0.7, 1e-3 } },
         { {}, {} }, { { 119 }, { 1 / 3 } }, { { 7, 13, 64 }, { 0.9, 0.123456789, 2.5e-7 } },
      }
      for _, l in ipairs(lists) do
         for _, lr in ipairs { 0.3, 0.1, 1e-3, 0.7 } do
            for _, S in ipairs { 1, 4 } do
               local s = schedule.new { lr = lr, num_epochs = 120, lr_sched_epochs = l[1], lr_sched_factors = l[2] }
                  :bind(S)
               local want = deepobs_lr_per_epoch(lr, l[1], l[2], 120)
               for e = 0, 119 do
                  local first = s:lr_at(e * S)
                  assert.are.equal(want[e + 1], first)
                  for t = e * S + 1, (e + 1) * S - 1 do assert.are.equal(first, s:lr_at(t)) end
               end
            end
         end
      end
   end)
end)

describe("lr_at keeps no state", function()
   local SETS = {
      { lr = 0.1, num_epochs = 6 },
      { lr = 0.1, num_epochs = 6, lr_sched_epochs = { 2, 4 }, lr_sched_factors = { 0.3, 0.07 }, warmup_steps = 5 },
      { name = "cosine", lr = 0.1, num_epochs = 6, lr_min = 1e-3, warmup_epochs = 0.5 },
      { name = "cosine_restarts", lr = 0.1, num_epochs = 6, restart_epochs = 0.7, restart_mult = 1.3 },
      { name = "trapezoidal", lr = 0.1, num_epochs = 6, trapezoid_warmup = 0.23, trapezoid_cooldown = 0.31 },
   }

   it("random order, interleaved schedules, record and folder_suffix give the in-order doubles", function()
      math.randomseed(7)
      local S, T = 9, 54
      local schedules, in_order = {}, {}
      for i, o in ipairs(SETS) do
         local fresh = schedule.new(o):bind(S)
         in_order[i] = {}
         for t = 0, T - 1 do in_order[i][t] = fresh:lr_at(t) end
         schedules[i] = schedule.new(o):bind(S)
      end
      for _ = 1, 5000 do
         local i, t = math.random(#SETS), math.random(0, T - 1)
         if math.random() < 0.02 then schedules[i]:record(); schedules[i]:folder_suffix() end
         assert.are.equal(in_order[i][t], schedules[i]:lr_at(t))
      end
      for i = 1, #SETS do -- backwards, and after binding to another S and back
         schedules[i]:bind(4):lr_at(3)
         schedules[i]:bind(S)
         for t = T - 1, 0, -1 do assert.are.equal(in_order[i][t], schedules[i]:lr_at(t)) end
      end
   end)

   it("lr_at refuses steps outside 0..T-1, fractional steps and use before bind; bind refuses bad S", function()
      for _, o in ipairs(SETS) do
         local s = schedule.new(o)
         local ok, e = pcall(s.lr_at, s, 0)
         assert.is_false(ok)
         assert.matches("bind", tostring(e))
         s:bind(3)
         for _, t in ipairs { -1, 18, 19, 1e9, 0.5, NAN, INF, -INF, "1" } do
            ok, e = pcall(s.lr_at, s, t)
            assert.is_false(ok, tostring(t))
            assert.matches("0%.%.17", tostring(e))
         end
         for _, S in ipairs { 0, -1, 1.5, NAN, INF, "3" } do
            ok, e = pcall(s.bind, s, S)
            assert.is_false(ok, tostring(S))
            assert.matches("positive integer", tostring(e))
         end
      end
   end)
end)

---------------------------------------------------------------------------------------
-- usage errors

-- a valid run per schedule (5 epochs, bound at 4 steps per epoch); each case changes one thing
local BASE = {
   constant = { lr = 0.1, num_epochs = 5 },
   step = { lr = 0.1, num_epochs = 5, lr_sched_epochs = { 1, 3 }, lr_sched_factors = { 0.1, 0.01 } },
   cosine = { name = "cosine", lr = 0.1, num_epochs = 5 },
   cosine_restarts = { name = "cosine_restarts", lr = 0.1, num_epochs = 5, restart_epochs = 1 },
   trapezoidal = { name = "trapezoidal", lr = 0.1, num_epochs = 5 },
}
local S_BASE, T_BASE = 4, 20

local SCHEDULE_PARAMS = {
   lr_min = { "cosine", "cosine_restarts", "trapezoidal" },
   restart_epochs = { "cosine_restarts" }, restart_mult = { "cosine_restarts" },
   trapezoid_warmup = { "trapezoidal" }, trapezoid_cooldown = { "trapezoidal" },
}
local PARAM_VALUE = { lr_min = 0.001, restart_epochs = 1, restart_mult = 2, trapezoid_warmup = 0.1,
   trapezoid_cooldown = 0.1 }

local function takes(name, param)
   for _, n in ipairs(SCHEDULE_PARAMS[param]) do if n == name then return true end end
   return false
end

-- { flag, opts, at_bind, also }: the message names flag (and the text also, when given)
local function usage_cases()
   local cases = {}
   local function add(flag, opts, at_bind, also) cases[#cases + 1] = { flag, opts, at_bind, also } end
   local BAD = { NAN, INF, -INF, "0.1", true, {} }

   for _, name in ipairs(schedule.NAMES) do
      local base = BASE[name]
      for _, v in ipairs { 0, -0.1, -1e-300, NAN, INF, -INF, "0.1", false } do add("--lr", merged(base, { lr = v })) end
      for _, v in ipairs { -1, 2.5, NAN, INF, "5" } do add("-N", merged(base, { num_epochs = v })) end
      -- parameters of other schedules
      for param, users in pairs(SCHEDULE_PARAMS) do
         if not takes(name, param) then
            add("--" .. param, merged(base, { [param] = PARAM_VALUE[param] }), false,
               "--lr_schedule " .. users[1])
         end
      end
      if name ~= "step" then
         add("--lr_sched_epochs", merged(base, { name = name, lr_sched_epochs = { 1 }, lr_sched_factors = { 0.1 } }))
         add("--lr_sched_epochs", merged(base, { name = name, lr_sched_epochs = { 1 } }))
         add("--lr_sched_factors", merged(base, { name = name, lr_sched_factors = { 0.1 } }))
      end
      -- warm-up
      add("--warmup_steps", merged(base, { warmup_steps = 2, warmup_epochs = 1 }))
      add("--warmup_epochs", merged(base, { warmup_steps = 2, warmup_epochs = 1 }))
      for _, v in ipairs { 0, -1, 5, 5.5, 100, NAN, INF, "1" } do
         add("--warmup_epochs", merged(base, { warmup_epochs = v }))
      end
      for _, v in ipairs { 0, -1, 1.5, NAN, INF, "2" } do add("--warmup_steps", merged(base, { warmup_steps = v })) end
      for _, v in ipairs { T_BASE, T_BASE + 1, 10 ^ 6 } do
         add("--warmup_steps", merged(base, { warmup_steps = v }), true, "as long as the run")
      end
      if name ~= "step" and name ~= "cosine_restarts" then -- (theirs fail from new: their epochs fall after it)
         add("--warmup_epochs", merged(base, { warmup_epochs = 4.9 }), true) -- round(19.6) = 20 steps = T
      end
      add("--warmup_epochs", merged(base, { warmup_epochs = 0.1 }), true) -- round(0.4) = 0 steps
      -- lr_min
      if takes(name, "lr_min") then
         for _, v in ipairs { -1, -1e-12, NAN, INF, "0" } do add("--lr_min", merged(base, { lr_min = v })) end
         for _, v in ipairs { 0.1, 0.2, 10 } do add("--lr_min", merged(base, { lr_min = v }), false, "--lr ") end
      end
   end

   -- unknown schedule names: the message lists the names
   for _, v in ipairs { "Cosine", "linear", "", "step ", "cosine-restarts", 3, true } do
      add("--lr_schedule", merged(BASE.constant, { name = v }), false, table.concat(schedule.NAMES, ", "))
   end

   -- step
   local step = BASE.step
   add("--lr_sched_factors", { name = "step", lr = 0.1, num_epochs = 5 })
   add("--lr_sched_epochs", { name = "step", lr = 0.1, num_epochs = 5 })
   add("--lr_sched_factors", merged(step, { lr_sched_factors = false }))
   add("--lr_sched_factors", { lr = 0.1, num_epochs = 5, lr_sched_epochs = { 1 } })
   add("--lr_sched_epochs", { lr = 0.1, num_epochs = 5, lr_sched_factors = { 0.1 } })
   add("--lr_sched_factors", merged(step, { lr_sched_factors = { 0.1 } }))
   add("--lr_sched_factors", merged(step, { lr_sched_factors = { 0.1, 0.2, 0.3 } }))
   add("--lr_sched_epochs", merged(step, { lr_sched_epochs = "1 3" }))
   for _, v in ipairs { 0, -0.5, -1e-300, NAN, INF, -INF, "0.1", true } do
      add("--lr_sched_factors", merged(step, { lr_sched_factors = { 0.1, v } }))
      add("--lr_sched_factors", merged(step, { lr_sched_factors = { v, 0.1 } }))
   end
   for _, e in ipairs { { 1, 5 }, { 1, 6 }, { 1000 }, { 5 } } do
      local factors = {}
      for i = 1, #e do factors[i] = 0.1 end
      add("--lr_sched_epochs", merged(step, { lr_sched_epochs = e, lr_sched_factors = factors }), false,
         "beyond -N 5")
   end
   for _, e in ipairs { { 3, 1 }, { 1, 1 }, { 2, 2 }, { 4, 0 }, { 1.5, 3 }, { 1, 2.5 }, { -1, 3 }, { NAN, 3 },
                        { 1, INF }, { 1, "3" } } do
      add("--lr_sched_epochs", merged(step, { lr_sched_epochs = e }))
   end
   add("--lr_sched_epochs", merged(step, { lr_sched_epochs = { 1, 4 }, warmup_epochs = 1.5 }))  -- 4 + 1.5 >= 5
   add("--lr_sched_epochs", merged(step, { lr_sched_epochs = { 1, 4 }, warmup_steps = 5 }), true) -- 5 + 16 >= 20

   -- cosine_restarts
   local sgdr = BASE.cosine_restarts
   for _, v in ipairs { 0, -1, NAN, INF, "1" } do add("--restart_epochs", merged(sgdr, { restart_epochs = v })) end
   for _, v in ipairs { 0.999, 0.5, 0, -2, NAN, INF, "2" } do add("--restart_mult", merged(sgdr, { restart_mult = v })) end
   for _, v in ipairs { 5, 6, 100 } do add("--restart_epochs", merged(sgdr, { restart_epochs = v }), false, "cosine") end
   add("--restart_epochs", merged(BASE.constant, { name = "cosine_restarts" }))            -- default 10 >= 5
   add("--restart_epochs", merged(sgdr, { restart_epochs = 3, warmup_epochs = 2 }))        -- 3 >= 5 - 2
   add("--restart_epochs", merged(sgdr, { restart_epochs = 4.5, warmup_steps = 4 }), true) -- 18 >= 16 steps
   add("--restart_epochs", merged(sgdr, { restart_epochs = 0.2, restart_mult = 1 }), true) -- 0.8 steps a cycle
   add("--restart_epochs", merged(sgdr, { restart_epochs = 0.1 }), true)                   -- 0.4 steps

   -- trapezoidal
   local trap = BASE.trapezoidal
   for _, key in ipairs { "trapezoid_warmup", "trapezoid_cooldown" } do
      for _, v in ipairs { -0.1, -1e-300, 1.1, 2, NAN, INF, "0.1" } do add("--" .. key, merged(trap, { [key] = v })) end
      add("--" .. key, merged(trap, { [key] = 0.01 }), true) -- 0.2 of 20 steps
   end
   for _, fr in ipairs { { 0.6, 0.5 }, { 1, 0.1 }, { 0.5, 0.5000001 }, { 0.9, 0.9 } } do
      local o = merged(trap, { trapezoid_warmup = fr[1], trapezoid_cooldown = fr[2] })
      add("--trapezoid_warmup", o)
      add("--trapezoid_cooldown", o)
   end
   for _, b in ipairs(BAD) do
      add("--lr_min", merged(BASE.cosine, { lr_min = b }))
   end
   return cases
end

describe("usage errors name their flag", function()
   it("the base runs are valid", function()
      for _, name in ipairs(schedule.NAMES) do
         local s = schedule.new(BASE[name]):bind(S_BASE)
         assert.are.equal(name, s.name)
         assert.is_number(s:lr_at(T_BASE - 1))
      end
   end)

   it("every generated bad case: from new when the epochs decide, else from bind", function()
      local cases = usage_cases()
      assert.is_true(#cases > 250)
      for _, c in ipairs(cases) do
         local flag, opts, at_bind, also = c[1], c[2], c[3], c[4]
         local label = flag .. " case " .. describe_opts(opts)
         local msg
         if at_bind then
            local ok, s = pcall(schedule.new, opts)
            assert.is_true(ok, label .. " failed before bind: " .. errors.describe(s))
            msg = usage_message(s.bind, s, S_BASE)
         else
            msg = usage_message(schedule.new, opts)
         end
         assert.is_true(names_flag(msg, flag), ("%s: message does not name %s: %s"):format(label, flag, msg))
         if also then assert.is_truthy(msg:find(also, 1, true), ("%s: message lacks '%s': %s"):format(label, also, msg)) end
      end
   end)

   it("an option the module does not know is a programming error, not a usage error", function()
      for _, k in ipairs { "lr_mn", "warmup", "restart", "epochs", "Name" } do
         local ok, e = pcall(schedule.new, merged(BASE.cosine, { [k] = 1 }))
         assert.is_false(ok)
         assert.is_false(errors.is_usage(e))
         assert.matches("unknown option '" .. k .. "'", tostring(e))
      end
      assert.is_false((pcall(schedule.new, nil)))
   end)
end)

---------------------------------------------------------------------------------------
-- record and folder suffix

describe("record", function()
   local function plain(record)
      local out = {}
      for i, kv in ipairs(record) do
         local v = kv[2]
         if type(v) == "table" and v.v ~= nil then v = v.v end -- results.int
         out[i] = { kv[1], v }
      end
      return out
   end

   it("names the schedule and every parameter in force, defaults included, in order", function()
      assert.are.same({ { "lr_schedule", "constant" }, { "lr", 0.1 } },
         plain(schedule.new { lr = 0.1, num_epochs = 3 }:record()))
      assert.are.same({ { "lr_schedule", "step" }, { "lr", 0.3 }, { "lr_sched_epochs", { 1, 2 } },
         { "lr_sched_factors", { 0.1, 0.01 } } },
         plain(schedule.new { lr = 0.3, num_epochs = 3, lr_sched_epochs = { 1, 2 }, lr_sched_factors = { 0.1, 0.01 } }
            :record()))
      assert.are.same({ { "lr_schedule", "cosine" }, { "lr", 0.1 }, { "lr_min", 0 }, { "warmup_steps", 7 } },
         plain(schedule.new { name = "cosine", lr = 0.1, num_epochs = 3, warmup_steps = 7 }:record()))
      assert.are.same({ { "lr_schedule", "cosine_restarts" }, { "lr", 0.1 }, { "lr_min", 0 },
         { "restart_epochs", 10 }, { "restart_mult", 2 }, { "warmup_epochs", 0.5 } },
         plain(schedule.new { name = "cosine_restarts", lr = 0.1, num_epochs = 30, warmup_epochs = 0.5 }:record()))
      assert.are.same({ { "lr_schedule", "trapezoidal" }, { "lr", 0.1 }, { "lr_min", 0.01 },
         { "trapezoid_warmup", 0.1 }, { "trapezoid_cooldown", 0.2 } },
         plain(schedule.new { name = "trapezoidal", lr = 0.1, num_epochs = 3, lr_min = 0.01,
            trapezoid_cooldown = 0.2 }:record()))
   end)

   it("encodes with whole numbers as JSON integers and is a copy the caller may change", function()
      local s = schedule.new { lr = 0.3, num_epochs = 3, lr_sched_epochs = { 1, 2 }, lr_sched_factors = { 0.1, 0.5 },
         warmup_steps = 2 }
      assert.are.equal('{"lr_schedule": "step", "lr": 0.3, "lr_sched_epochs": [1, 2], "lr_sched_factors": [0.1, 0.5], '
         .. '"warmup_steps": 2}', results.encode(results.object(s:record())))
      local r = s:record()
      r[3][2].v[1] = 99
      r[4][2][1] = 99
      assert.are.same({ 1, 2 }, s:record()[3][2].v)
      assert.are.same({ 0.1, 0.5 }, s:record()[4][2])
   end)
end)

describe("folder_suffix", function()
   it("is nil exactly for constant and step without warm-up (DeepOBS 1.1's folder names)", function()
      assert.is_nil(schedule.new { lr = 0.1, num_epochs = 3 }:folder_suffix())
      assert.is_nil(schedule.new { name = "constant", lr = 0.1, num_epochs = 3 }:folder_suffix())
      assert.is_nil(schedule.new { lr = 0.1, num_epochs = 3, lr_sched_epochs = { 1 }, lr_sched_factors = { 0.1 } }
         :folder_suffix())
      assert.is_nil(schedule.new { name = "step", lr = 0.1, num_epochs = 3, lr_sched_epochs = {}, lr_sched_factors = {} }
         :folder_suffix())
      for _, warm in ipairs { { warmup_steps = 1 }, { warmup_epochs = 0.5 } } do
         assert.is_string(schedule.new(merged({ lr = 0.1, num_epochs = 3 }, warm)):folder_suffix())
         assert.is_string(schedule.new(merged({ lr = 0.1, num_epochs = 3, lr_sched_epochs = { 1 },
            lr_sched_factors = { 0.1 } }, warm)):folder_suffix())
      end
      for _, name in ipairs { "cosine", "cosine_restarts", "trapezoidal" } do
         assert.is_string(schedule.new { name = name, lr = 0.1, num_epochs = 30 }:folder_suffix())
      end
   end)

   it("the documented example", function()
      assert.are.equal("lr_schedule__cosine__lr__1.e-01__lr_min__0.e+00__warmup_steps__100",
         schedule.new { name = "cosine", lr = 0.1, num_epochs = 3, warmup_steps = 100 }:folder_suffix())
      assert.are.equal("lr_schedule__step__lr__3.e-01__lr_sched_epochs__1_2__lr_sched_factors__1.e-01_1.e-02"
         .. "__warmup_epochs__5.e-01",
         schedule.new { lr = 0.3, num_epochs = 3, lr_sched_epochs = { 1, 2 }, lr_sched_factors = { 0.1, 0.01 },
            warmup_epochs = 0.5 }:folder_suffix())
   end)

   -- every parameter set of a grid, with the schedule it means (defaults filled in) as a key
   local function grid()
      local sets = {}
      local warms = { {}, { warmup_steps = 1 }, { warmup_steps = 10 }, { warmup_epochs = 0.5 }, { warmup_epochs = 1 },
                      { warmup_epochs = 10 } }
      local specific = {
         constant = { {} },
         step = { { lr_sched_epochs = { 1 }, lr_sched_factors = { 0.1 } },
                  { lr_sched_epochs = { 2 }, lr_sched_factors = { 0.1 } },
                  { lr_sched_epochs = { 1 }, lr_sched_factors = { 0.5 } },
                  { lr_sched_epochs = { 1, 2 }, lr_sched_factors = { 0.1, 0.01 } },
                  { lr_sched_epochs = { 12 }, lr_sched_factors = { 0.1 } },
                  { lr_sched_epochs = { 1, 2 }, lr_sched_factors = { 0.1, 0.1 } },
                  { lr_sched_epochs = {}, lr_sched_factors = {} } },
         cosine = {}, cosine_restarts = {}, trapezoidal = {},
      }
      for _, lr_min in ipairs { false, 0, 1e-4, 1e-3 } do
         local m = lr_min and { lr_min = lr_min } or {}
         specific.cosine[#specific.cosine + 1] = m
         for _, t0 in ipairs { false, 1, 2, 0.5, 10 } do
            for _, mult in ipairs { false, 1, 2, 1.5 } do
               specific.cosine_restarts[#specific.cosine_restarts + 1] = merged(m,
                  { restart_epochs = t0 or nil, restart_mult = mult or nil })
            end
         end
         for _, fr in ipairs { { false, false }, { 0.1, 0.1 }, { 0, 0.2 }, { 0.2, 0 }, { 0.3, 0.3 }, { 0.1, false } } do
            specific.trapezoidal[#specific.trapezoidal + 1] = merged(m,
               { trapezoid_warmup = fr[1] or nil, trapezoid_cooldown = fr[2] or nil })
         end
      end
      local DEFAULTS = { lr_min = 0, restart_epochs = 10, restart_mult = 2, trapezoid_warmup = 0.1,
         trapezoid_cooldown = 0.1 }
      for _, name in ipairs(schedule.NAMES) do
         for _, lr in ipairs { 0.1, 0.01, 1, 0.3 } do
            for _, sp in ipairs(specific[name]) do
               for _, w in ipairs(warms) do
                  local o = merged({ name = name, lr = lr, num_epochs = 40 }, sp, w)
                  local meaning = merged(o)
                  for k, d in pairs(DEFAULTS) do
                     if takes(name, k) and meaning[k] == nil then meaning[k] = d end
                  end
                  sets[#sets + 1] = { opts = o, key = describe_opts(meaning) }
               end
            end
         end
      end
      return sets
   end

   it("differs between different schedules and parameter sets and agrees for the same one (generated)", function()
      local sets = grid()
      assert.is_true(#sets > 1500)
      local by_suffix, by_key, distinct = {}, {}, 0
      for _, set in ipairs(sets) do
         local suffix = schedule.new(set.opts):folder_suffix() or ("1.1:" .. set.key)
         if by_suffix[suffix] then
            assert.are.equal(by_suffix[suffix], set.key, "two schedules share the folder " .. suffix)
         else
            distinct = distinct + 1
         end
         if by_key[set.key] then assert.are.equal(by_key[set.key], suffix, "one schedule, two folders") end
         by_suffix[suffix], by_key[set.key] = set.key, suffix
      end
      assert.is_true(distinct > 1000)
   end)

   it("reads back to the record: key__value pairs, lists joined by _, float2str / integers", function()
      for _, set in ipairs(grid()) do
         local s = schedule.new(set.opts)
         local suffix = s:folder_suffix()
         if suffix then
            assert.matches("^lr_schedule__%a", suffix)
            assert.is_nil(suffix:find("[/ ]"))
            local fields = {}
            for f in (suffix .. "__"):gmatch("(.-)__") do fields[#fields + 1] = f end
            local record = s:record()
            assert.are.equal(2 * #record, #fields, suffix)
            for i, kv in ipairs(record) do
               assert.are.equal(kv[1], fields[2 * i - 1])
               local v = kv[2]
               local int = type(v) == "table" and v.v ~= nil
               if int then v = v.v end
               local fmt = int and results.pyint or results.float2str
               local want
               if type(v) == "string" then want = v
               elseif type(v) == "number" then want = fmt(v)
               else
                  local parts = {}
                  for j, x in ipairs(v) do parts[j] = fmt(x) end
                  want = table.concat(parts, "_")
               end
               assert.are.equal(want, fields[2 * i], suffix)
            end
         end
      end
   end)
end)

describe("NAMES and HELP", function()
   it("HELP mentions every schedule and every flag new() reports", function()
      local help = table.concat(schedule.HELP, "\n")
      for _, name in ipairs(schedule.NAMES) do assert.is_truthy(help:find(name, 1, true), name) end
      for _, flag in ipairs { "--lr_schedule", "--lr_sched_epochs", "--lr_sched_factors", "--lr_min", "--restart_epochs",
                              "--restart_mult", "--trapezoid_warmup", "--trapezoid_cooldown", "--warmup_epochs",
                              "--warmup_steps" } do
         assert.is_true(names_flag(help, flag), flag)
      end
      for _, line in ipairs(schedule.HELP) do assert.is_true(#line <= 100, line) end
   end)
end)
