--- Learning-rate schedules: the learning rate of every training step of a run.
--
--    local schedule = require "deepobs.schedule"
--    local s = schedule.new{ name = "cosine", lr = 0.1, num_epochs = 10, warmup_steps = 100 }
--    s:bind(steps_per_epoch)       -- once the data are loaded: T = num_epochs * steps_per_epoch
--    for t = 0, T - 1 do optimizer_lr = s:lr_at(t) ... end
--    s:record()                    -- { {"lr_schedule", "cosine"}, {"lr", 0.1}, ... } for the result file
--    s:folder_suffix()             -- nil (DeepOBS 1.1's own folder name) or "lr_schedule__cosine__..."
--
-- new{} checks everything the epochs alone decide and bind(S) what needs the steps per
-- epoch S; both raise deepobs.errors usage errors naming the flag to fix. lr_at(t) is a
-- pure function of t (0 <= t < T, a 0-based global step): the same double, bit for bit,
-- whatever was asked before.
--
-- Schedules, with base lr, floor lr_min (default 0) and u the step counted from the end of
-- the warm-up over the T' = T - W steps after it (T' = T without warm-up):
--   constant         lr
--   step             lr * f_i from the first step of epoch e_i (the last e_i <= floor(u / S)),
--                    lr before e_1: DeepOBS 1.1's make_lr_schedule (deepobs/tensorflow/
--                    runners/runner_utils.py): factor * lr, the doubles 1.1 computed
--   cosine           lr_min + (lr - lr_min) * (1 + cos(pi * u / T')) / 2
--   cosine_restarts  SGDR (Loshchilov & Hutter, "SGDR: Stochastic Gradient Descent with Warm
--                    Restarts", ICLR 2017): the cosine above within each cycle, with u - b_k
--                    steps since the cycle began and the cycle's length b_{k+1} - b_k in place
--                    of u and T'. Cycle k lasts restart_epochs * restart_mult^k epochs
--                    (restart_epochs > 0, fractions allowed; restart_mult >= 1; defaults 10 and
--                    2, the paper's CIFAR setting). Cycle ends are rounded where they fall, not
--                    cycle by cycle, so the cycles tile the run with no gap:
--                    b_k = floor(S * restart_epochs * (1 + m + ... + m^(k-1)) + 1/2).
--                    The last cycle is cut off by the end of the run, as in the paper.
--   trapezoidal      (Schmidt, Schneider & Hennig, "Descending through a Crowded Valley",
--                    ICML 2021): A = floor(trapezoid_warmup * T' + 1/2) steps rising from 0,
--                    lr * u / A; then lr; then the last C = floor(trapezoid_cooldown * T' + 1/2)
--                    steps falling to lr_min, lr_min + (lr - lr_min) * (T' - 1 - u) / C, the
--                    mirror image of the rise (the last step trains at lr_min as the first
--                    trains at 0). Defaults 0.1 and 0.1; A is cut to T' - C in the one case
--                    where the rounding would overlap them (fractions summing to 1, both ties).
-- Warm-up (warmup_epochs, fractions allowed, or warmup_steps; one or neither): W steps, W =
-- warmup_steps or floor(warmup_epochs * S + 1/2); for t < W, lr(t) = lr * t / W, from 0. From
-- W on the chosen schedule runs over the remaining T - W steps as if the run began at step W:
-- u = t - W, and its epoch parameters (lr_sched_epochs, restart_epochs) count from there.
-- A duration asked for that rounds to no step at all is a usage error, not silently dropped.
--
-- Folder suffix: nil for constant and step without warm-up (the run keeps DeepOBS 1.1's
-- setting-folder name, "...__lr__<lr>" or "...__lr_schedule__0_<lr>_<e>_<f*lr>..."). Otherwise
-- the record written out: "lr_schedule__<name>__lr__<lr>" then "__<key>__<value>" for every
-- further record entry in order (defaults included), floats by results.float2str, integers
-- as Python writes them, lists joined by "_", e.g.
--   lr_schedule__cosine__lr__1.e-01__lr_min__0.e+00__warmup_steps__100
-- Keys come from a fixed set and values hold no "__", so the text reads back to the record:
-- different schedules or parameters never share a folder (as far as float2str's 11
-- significant digits tell numbers apart, as for every DeepOBS folder name). It always
-- begins "lr_schedule__" and a letter, where 1.1's step names have a digit.
local errors = require "deepobs.errors"
local results = require "deepobs.results"

local M = {}

local floor, cos, pi, huge = math.floor, math.cos, math.pi, math.huge
local usage = errors.usage

M.NAMES = { "constant", "step", "cosine", "cosine_restarts", "trapezoidal" }

M.HELP = {
   "  --lr_schedule NAME         constant, step, cosine, cosine_restarts or trapezoidal (default: step",
   "                             with --lr_sched_epochs, else constant):",
   "                               step: the lr changes at the start of the given epochs",
   "                               cosine: from --lr down to --lr_min over the run, half a cosine",
   "                               cosine_restarts: SGDR, cosine cycles restarting at --lr",
   "                               trapezoidal: rise from 0, hold --lr, fall to --lr_min",
   "  --lr_sched_epochs E1 E2 .. step: epochs at whose start the learning rate changes",
   "  --lr_sched_factors F1 F2 ..  step: the new learning rate is F_i * base lr (one factor per epoch)",
   "  --lr_min X                 cosine, cosine_restarts, trapezoidal: the lowest lr (default 0)",
   "  --restart_epochs X         cosine_restarts: epochs of the first cycle (SGDR's T_0; default 10)",
   "  --restart_mult X           cosine_restarts: each cycle X times the one before (T_mult; default 2)",
   "  --trapezoid_warmup F       trapezoidal: fraction of the steps rising from 0 (default 0.1)",
   "  --trapezoid_cooldown F     trapezoidal: fraction of the steps falling to --lr_min (default 0.1)",
   "  --warmup_epochs X          any schedule: a linear rise from 0 over the first X epochs (fractions",
   "                             allowed); the schedule then starts, its epochs counted from there",
   "  --warmup_steps K           the same over the first K steps (give one of the two, or neither)",
}

-- the parameters each schedule takes besides lr and warm-up, in record order, with defaults
local PARAMS = {
   constant = {},
   step = { { "lr_sched_epochs" }, { "lr_sched_factors" } },
   cosine = { { "lr_min", 0 } },
   cosine_restarts = { { "lr_min", 0 }, { "restart_epochs", 10 }, { "restart_mult", 2 } },
   trapezoidal = { { "lr_min", 0 }, { "trapezoid_warmup", 0.1 }, { "trapezoid_cooldown", 0.1 } },
}

local KNOWN_OPTIONS = { name = true, lr = true, num_epochs = true, warmup_epochs = true, warmup_steps = true }
local USED_BY = {} -- parameter -> the schedules that take it, for the error message
for _, name in ipairs(M.NAMES) do
   for _, p in ipairs(PARAMS[name]) do
      KNOWN_OPTIONS[p[1]] = true
      USED_BY[p[1]] = USED_BY[p[1]] or {}
      table.insert(USED_BY[p[1]], name)
   end
end

local INTEGER_KEYS = { lr_sched_epochs = true, warmup_steps = true }

local function isfinite(x) return x == x and x ~= huge and x ~= -huge end
local function num(x) return ("%.14g"):format(x) end

local function finite_number(flag, v)
   if type(v) ~= "number" or not isfinite(v) then
      usage(("%s needs a finite number, got %s"):format(flag, tostring(v)))
   end
   return v
end

local function number_list(flag, v)
   if type(v) ~= "table" then usage(("%s needs a list of numbers, got %s"):format(flag, tostring(v))) end
   for i = 1, #v do finite_number(("%s (value %d)"):format(flag, i), v[i]) end
   return v
end

---------------------------------------------------------------------------------------
-- checks from epochs alone

local function resolve_name(o)
   local name = o.name
   if name == nil then
      return (o.lr_sched_epochs ~= nil or o.lr_sched_factors ~= nil) and "step" or "constant"
   end
   if PARAMS[name] == nil then
      usage(("unknown --lr_schedule '%s'; the schedules are %s"):format(tostring(name), table.concat(M.NAMES, ", ")))
   end
   return name
end

local function check_params_belong(o, name)
   local takes = {}
   for _, p in ipairs(PARAMS[name]) do takes[p[1]] = true end
   for _, schedule_name in ipairs(M.NAMES) do
      for _, p in ipairs(PARAMS[schedule_name]) do
         local key = p[1]
         if o[key] ~= nil and not takes[key] then
            usage(("--%s is not a parameter of --lr_schedule %s; it is used by --lr_schedule %s")
               :format(key, name, table.concat(USED_BY[key], ", ")))
         end
      end
   end
end

local function check_step(o, num_epochs)
   local epochs, factors = o.lr_sched_epochs, o.lr_sched_factors
   if epochs == nil or factors == nil then
      usage("--lr_schedule step needs both --lr_sched_epochs and --lr_sched_factors")
   end
   number_list("--lr_sched_epochs", epochs)
   number_list("--lr_sched_factors", factors)
   if #epochs ~= #factors then
      usage(("--lr_sched_epochs has %d values and --lr_sched_factors %d; give one factor per epoch")
         :format(#epochs, #factors))
   end
   for i, e in ipairs(epochs) do
      if e ~= floor(e) or e < 0 then
         usage(("--lr_sched_epochs needs whole epochs from 0, got %s"):format(num(e)))
      end
      if e >= num_epochs then
         usage(("--lr_sched_epochs %s is beyond -N %d (the epochs are 0 to %d); give a smaller epoch or raise -N")
            :format(num(e), num_epochs, num_epochs - 1))
      end
      if i > 1 and e <= epochs[i - 1] then
         usage(("--lr_sched_epochs must increase strictly, got %s after %s; sort them and drop repeats")
            :format(num(e), num(epochs[i - 1])))
      end
   end
   for _, f in ipairs(factors) do
      if not (f > 0) then
         usage(("--lr_sched_factors must be positive, got %s"):format(num(f)))
      end
   end
end

local function check_lr_min(lr_min, lr)
   finite_number("--lr_min", lr_min)
   if lr_min < 0 then usage(("--lr_min must be 0 or more, got %s"):format(num(lr_min))) end
   if lr_min >= lr then
      usage(("--lr_min %s is not below --lr %s; the schedule falls from --lr to --lr_min")
         :format(num(lr_min), num(lr)))
   end
end

local function check_restarts(o)
   finite_number("--restart_epochs", o.restart_epochs)
   finite_number("--restart_mult", o.restart_mult)
   if not (o.restart_epochs > 0) then
      usage(("--restart_epochs must be positive, got %s"):format(num(o.restart_epochs)))
   end
   if not (o.restart_mult >= 1) then
      usage(("--restart_mult must be 1 or more (cycles never shrink), got %s"):format(num(o.restart_mult)))
   end
end

local function check_trapezoid(o)
   for _, key in ipairs { "trapezoid_warmup", "trapezoid_cooldown" } do
      local v = finite_number("--" .. key, o[key])
      if v < 0 or v > 1 then usage(("--%s is a fraction of the run, 0 to 1, got %s"):format(key, num(v))) end
   end
   if o.trapezoid_warmup + o.trapezoid_cooldown > 1 then
      usage(("--trapezoid_warmup %s and --trapezoid_cooldown %s add up to more than the whole run; "
         .. "make their sum at most 1"):format(num(o.trapezoid_warmup), num(o.trapezoid_cooldown)))
   end
end

local function check_warmup(o, num_epochs)
   if o.warmup_epochs ~= nil and o.warmup_steps ~= nil then
      usage("give --warmup_epochs or --warmup_steps, not both")
   end
   if o.warmup_epochs ~= nil then
      local x = finite_number("--warmup_epochs", o.warmup_epochs)
      if not (x > 0) then
         usage(("--warmup_epochs must be positive, got %s; leave it out for no warm-up"):format(num(x)))
      end
      if x >= num_epochs then
         usage(("--warmup_epochs %s is as long as the run or longer (-N %d); give fewer warm-up epochs")
            :format(num(x), num_epochs))
      end
   elseif o.warmup_steps ~= nil then
      local k = finite_number("--warmup_steps", o.warmup_steps)
      if k ~= floor(k) or k < 1 then
         usage(("--warmup_steps needs a positive whole number of steps, got %s; leave it out for no warm-up")
            :format(num(k)))
      end
   end
end

-- checks that need epochs and the warm-up in epochs (when it is given in epochs)
local function check_against_warmup(o, name, num_epochs)
   local warm = o.warmup_epochs or 0
   if name == "step" and o.warmup_epochs ~= nil then
      local last = o.lr_sched_epochs[#o.lr_sched_epochs]
      if last ~= nil and last + warm >= num_epochs then
         usage(("--lr_sched_epochs %s counts from the end of --warmup_epochs %s and so falls beyond -N %d; "
            .. "give a smaller epoch or a shorter warm-up"):format(num(last), num(warm), num_epochs))
      end
   end
   if name == "cosine_restarts" and o.restart_epochs >= num_epochs - warm then
      usage(("--restart_epochs %s: the first cycle covers the whole %s-epoch run%s, so nothing restarts; "
         .. "give a smaller --restart_epochs, or use --lr_schedule cosine")
         :format(num(o.restart_epochs), num(num_epochs - warm), warm > 0 and " after the warm-up" or ""))
   end
end

---------------------------------------------------------------------------------------
-- the schedule object

local Schedule = {}
Schedule.__index = Schedule

--- A schedule from the options in the header; raises usage errors.
function M.new(opts)
   if type(opts) ~= "table" then error("schedule.new: expected a table of options", 2) end
   for k in pairs(opts) do
      if not KNOWN_OPTIONS[k] then error(("schedule.new: unknown option '%s'"):format(tostring(k)), 2) end
   end
   local name = resolve_name(opts)
   local lr = finite_number("--lr", opts.lr)
   if not (lr > 0) then usage(("--lr must be positive, got %s"):format(num(lr))) end
   local num_epochs = opts.num_epochs
   if type(num_epochs) ~= "number" or num_epochs ~= floor(num_epochs) or num_epochs < 0 or num_epochs == huge then
      usage(("-N needs a whole number of epochs, 0 or more, got %s"):format(tostring(num_epochs)))
   end
   if name ~= "step" and (opts.lr_sched_epochs ~= nil or opts.lr_sched_factors ~= nil) then
      usage(("--lr_sched_epochs and --lr_sched_factors belong to --lr_schedule step, not %s; "
         .. "drop them or choose --lr_schedule step"):format(name))
   end
   check_params_belong(opts, name)

   local o = { name = name, lr = lr }
   for _, p in ipairs(PARAMS[name]) do
      local v = opts[p[1]]
      if v == nil then v = p[2] end
      o[p[1]] = v
   end
   o.warmup_epochs, o.warmup_steps = opts.warmup_epochs, opts.warmup_steps

   if name == "step" then check_step(o, num_epochs) end
   if o.lr_min ~= nil then check_lr_min(o.lr_min, lr) end
   if name == "cosine_restarts" then check_restarts(o) end
   if name == "trapezoidal" then check_trapezoid(o) end
   check_warmup(o, num_epochs)
   check_against_warmup(o, name, num_epochs)

   local self = setmetatable({ name = name, lr = lr, num_epochs = num_epochs, params = o }, Schedule)
   self.entries = { { "lr_schedule", name }, { "lr", lr } }
   for _, p in ipairs(PARAMS[name]) do self.entries[#self.entries + 1] = { p[1], o[p[1]] } end
   if o.warmup_epochs ~= nil then self.entries[#self.entries + 1] = { "warmup_epochs", o.warmup_epochs } end
   if o.warmup_steps ~= nil then self.entries[#self.entries + 1] = { "warmup_steps", o.warmup_steps } end
   if name == "step" then self.lr_by_epoch = M.step_lr_per_epoch(lr, o.lr_sched_epochs, o.lr_sched_factors, num_epochs) end
   return self
end

--- The step schedule's lr for epochs 0..num_epochs-1 (a table indexed from 0): base lr,
-- then factors[i] * lr from epochs[i] on, as DeepOBS 1.1 computed it.
function M.step_lr_per_epoch(lr, epochs, factors, num_epochs)
   local at = {}
   for i, e in ipairs(epochs) do at[e] = factors[i] * lr end
   local out, cur = {}, lr
   for n = 0, num_epochs - 1 do
      if at[n] then cur = at[n] end
      out[n] = cur
   end
   return out
end

local function round_half_up(x) return floor(x + 0.5) end

-- cycle ends b_0 = 0 < b_1 < ... < b_K, b_K >= steps (header: rounded where they fall)
local function restart_boundaries(steps_per_epoch, restart_epochs, restart_mult, steps)
   local ends, epochs_so_far, cycle_epochs = { [0] = 0 }, 0, restart_epochs
   local k = 0
   repeat
      epochs_so_far = epochs_so_far + cycle_epochs
      cycle_epochs = cycle_epochs * restart_mult
      k = k + 1
      ends[k] = round_half_up(steps_per_epoch * epochs_so_far)
      if ends[k] <= ends[k - 1] then
         usage(("--restart_epochs %s gives a cycle of no steps at %d steps per epoch; give at least %s")
            :format(num(restart_epochs), steps_per_epoch, num(1 / steps_per_epoch)))
      end
   until ends[k] >= steps
   return ends, k
end

-- W, and the warm-up as the user gave it (nil without one)
local function warmup_steps_for(p, steps_per_epoch)
   if p.warmup_steps then return p.warmup_steps, ("--warmup_steps %d"):format(p.warmup_steps) end
   if p.warmup_epochs then
      local W = round_half_up(p.warmup_epochs * steps_per_epoch)
      return W, ("--warmup_epochs %s (%d steps)"):format(num(p.warmup_epochs), W)
   end
   return 0
end

--- Fixes the steps per epoch S (T = num_epochs * S) and checks what needs it. Returns self.
function Schedule:bind(steps_per_epoch)
   local S = steps_per_epoch
   if type(S) ~= "number" or S ~= floor(S) or S < 1 or S == huge then
      error(("schedule:bind: steps per epoch must be a positive integer, got %s"):format(tostring(S)), 2)
   end
   local p = self.params
   local T = self.num_epochs * S
   local W, warm_given = warmup_steps_for(p, S)
   if warm_given and W < 1 then
      usage(("--warmup_epochs %s is less than half a step at %d steps per epoch; give at least %s epochs "
         .. "or use --warmup_steps"):format(num(p.warmup_epochs), S, num(1 / S)))
   end
   if warm_given and W >= T then
      usage(("%s is as long as the run of %d steps or longer; give a shorter warm-up"):format(warm_given, T))
   end
   local rest = T - W

   if self.name == "step" and W > 0 then
      local last = p.lr_sched_epochs[#p.lr_sched_epochs]
      if last ~= nil and W + last * S >= T then
         usage(("--lr_sched_epochs %s counts from the end of the warm-up (%s) and so falls beyond "
            .. "the run of %d steps; give a smaller epoch or a shorter warm-up"):format(num(last), warm_given, T))
      end
   elseif self.name == "cosine_restarts" then
      local ends, cycles = restart_boundaries(S, p.restart_epochs, p.restart_mult, rest)
      if cycles < 2 then
         usage(("--restart_epochs %s: the first cycle covers all %d steps after the warm-up, so nothing "
            .. "restarts; give a smaller --restart_epochs, or use --lr_schedule cosine")
            :format(num(p.restart_epochs), rest))
      end
      self.cycle_ends, self.cycles = ends, cycles
   elseif self.name == "trapezoidal" then
      local rise = round_half_up(p.trapezoid_warmup * rest)
      local fall = round_half_up(p.trapezoid_cooldown * rest)
      for _, c in ipairs { { "trapezoid_warmup", rise }, { "trapezoid_cooldown", fall } } do
         if p[c[1]] > 0 and c[2] == 0 then
            usage(("--%s %s of a %d-step run is less than half a step; give 0 for none or a larger fraction")
               :format(c[1], num(p[c[1]]), rest))
         end
      end
      self.rise, self.fall = math.min(rise, rest - fall), fall
   end
   self.steps_per_epoch, self.total_steps, self.warmup, self.rest = S, T, W, rest
   return self
end

-- the schedule proper at step u = t - W of the T' = rest steps after the warm-up
local SHAPE = {}

function SHAPE.constant(self) return self.lr end

function SHAPE.step(self, u) return self.lr_by_epoch[floor(u / self.steps_per_epoch)] end

function SHAPE.cosine(self, u)
   local lr_min = self.params.lr_min
   return lr_min + (self.lr - lr_min) * (1 + cos(pi * u / self.rest)) / 2
end

function SHAPE.cosine_restarts(self, u)
   local ends = self.cycle_ends
   local lo, hi = 0, self.cycles -- ends[lo] <= u < ends[hi]
   while hi - lo > 1 do
      local mid = floor((lo + hi) / 2)
      if ends[mid] <= u then lo = mid else hi = mid end
   end
   local lr_min = self.params.lr_min
   return lr_min + (self.lr - lr_min) * (1 + cos(pi * (u - ends[lo]) / (ends[hi] - ends[lo]))) / 2
end

function SHAPE.trapezoidal(self, u)
   if u < self.rise then return self.lr * u / self.rise end
   local rest = self.rest
   if u < rest - self.fall then return self.lr end
   local lr_min = self.params.lr_min
   return lr_min + (self.lr - lr_min) * (rest - 1 - u) / self.fall
end

--- The learning rate of global training step t (0-based, 0 <= t < T).
function Schedule:lr_at(t)
   local T = self.total_steps
   if T == nil then error("schedule:lr_at: call bind(steps_per_epoch) first", 2) end
   if type(t) ~= "number" or not (t >= 0 and t < T) or t ~= floor(t) then
      error(("schedule:lr_at: step %s is not a whole number in 0..%d"):format(tostring(t), T - 1), 2)
   end
   local W = self.warmup
   if t < W then return self.lr * t / W end
   return SHAPE[self.name](self, t - W)
end

--- The schedule for the result file: an ordered list of { key, value } (name, lr, every
-- parameter in force with defaults, the warm-up if any); integers wrapped by results.int.
function Schedule:record()
   local out = {}
   for i, kv in ipairs(self.entries) do
      local v = kv[2]
      if type(v) == "table" then v = { unpack(v) } end
      out[i] = { kv[1], INTEGER_KEYS[kv[1]] and results.int(v) or v }
   end
   return out
end

local function value_text(key, v)
   if type(v) == "string" then return v end
   local fmt = INTEGER_KEYS[key] and results.pyint or results.float2str
   if type(v) ~= "table" then return fmt(v) end
   local parts = {}
   for i, x in ipairs(v) do parts[i] = fmt(x) end
   return table.concat(parts, "_")
end

--- The setting-folder part naming the schedule (format in the header); nil where DeepOBS
-- 1.1's own name stays: constant and step without warm-up.
function Schedule:folder_suffix()
   local p = self.params
   if (self.name == "constant" or self.name == "step") and p.warmup_epochs == nil and p.warmup_steps == nil then
      return nil
   end
   local parts = {}
   for i, kv in ipairs(self.entries) do parts[i] = kv[1] .. "__" .. value_text(kv[1], kv[2]) end
   return table.concat(parts, "__")
end

return M
