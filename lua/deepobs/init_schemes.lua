--- Weight initialisers with TensorFlow 1.x semantics (what DeepOBS uses).
--
--    local init = require "deepobs.init_schemes"
--    init.glorot_uniform_(linear.weight)            -- TF's default initializer
--    init.truncated_normal_(w, 0.05)                -- N(0, 0.05^2), redrawn beyond +-2 sd
--    init.variance_scaling_(w, 2.0, "fan_in", "truncated_normal")   -- He (TF)
--
-- Every function fills the tensor in place with gradient recording off (so
-- parameters that require grad can be initialised) and returns it. Random
-- draws come from the engine's Philox generator (dob.manual_seed).
--
-- Fans and layouts. Our weights are stored PyTorch-style, and that is the
-- default layout ("torch"):
--    0-D                     fan_in = fan_out = 1
--    1-D [n]                 fan_in = fan_out = n   (TF's rule for 1-D variables,
--                                                    e.g. the char-RNN softmax bias)
--    2-D [out, in]           fan_in = in, fan_out = out   (Linear weights)
--    k-D [out, in, k1, ..]   receptive = k1 * k2 * ..;
--                            fan_in = in * receptive, fan_out = out * receptive
--                            (conv [OC, C, KH, KW]: fan_in = C KH KW, fan_out = OC KH KW;
--                             3-D conv1d weights [OC, C, K] likewise)
-- layout = "tf" reads the shape the way TF's _compute_fans does, for tensors
-- kept in TF's order (an LSTM kernel [in + H, 4H], a conv kernel [KH, KW, C, OC]):
--    2-D [in, out]           fan_in = shape[1], fan_out = shape[2]
--    k-D [k1, .., in, out]   receptive = prod(shape[1..k-2]);
--                            fan_in = shape[k-1] * receptive, fan_out = shape[k] * receptive
-- layout may also be a table { fan_in = a, fan_out = b } to give the fans
-- directly (e.g. a fused LSTM weight [4H, in + H] stored torch-style is just
-- 2-D "torch": fan_in = in + H, fan_out = 4H, which matches TF's [in + H, 4H]).
local T = require "deepobs.tensor"
local A = require "deepobs.argcheck"
local C = require("deepobs.C").lib
require "deepobs.ops.random"   -- installs Tensor:uniform_/normal_/truncated_normal_

local M = {}

-- std of a standard normal truncated to [-2, 2] (TF1's correction constant)
M.TRUNCATED_STD = 0.87962566103423978

local function no_grad(fn, ...)
   local old = C.dob_set_grad_enabled(0)
   local ok, err = pcall(fn, ...)
   C.dob_set_grad_enabled(old)
   if not ok then error(err, 0) end
end

local function shape_of(shape, what)
   if T.is_tensor(shape) then return shape:size() end
   if type(shape) ~= "table" then
      A.wrong(what, "shape", "a tensor or a table of sizes", shape)
   end
   for i = 1, #shape do
      local v = shape[i]
      if type(v) ~= "number" or v < 0 or v % 1 ~= 0 then
         A.fail(what, "sizes must be non-negative integers, got %s at position %d", A.describe(v), i)
      end
   end
   return shape
end

local function compute_fans(shape, layout, what)
   if type(layout) == "table" then
      local fi, fo = layout.fan_in, layout.fan_out
      if type(fi) ~= "number" or type(fo) ~= "number" or fi <= 0 or fo <= 0 then
         A.fail(what, "layout table needs positive numbers fan_in and fan_out")
      end
      return fi, fo
   end
   layout = layout or "torch"
   if layout ~= "torch" and layout ~= "tf" then
      A.fail(what, "layout must be 'torch', 'tf' or {fan_in=, fan_out=}, got %s", A.describe(layout))
   end
   local s = shape_of(shape, what)
   local n = #s
   if n == 0 then return 1, 1 end
   if n == 1 then return s[1], s[1] end
   if layout == "torch" then
      local rf = 1
      for i = 3, n do rf = rf * s[i] end
      return s[2] * rf, s[1] * rf
   end
   local rf = 1
   for i = 1, n - 2 do rf = rf * s[i] end
   return s[n - 1] * rf, s[n] * rf
end

--- nn.init.fans(shape, layout): fan_in, fan_out of a shape (a table of sizes or a tensor); see the top
-- fan_in, fan_out of a shape (a table of sizes or a tensor); see the top.
function M.fans(shape, layout) return compute_fans(shape, layout, "fans") end

local function tensor(t, op)
   if getmetatable(t) == T.Freed then A.fail(op, "argument 'tensor' is a tensor that was freed") end
   if not T.is_tensor(t) then A.wrong(op, "tensor", "a deepobs Tensor", t) end
   return t
end

local function number(v, default, op, name) return A.finite(op, name, v, default) end

--- nn.init.constant_(t, value): fills t with value in place (grad recording off); returns t
function M.constant_(t, v)
   tensor(t, "constant_")
   v = number(v, nil, "constant_", "value")
   if v == nil then A.wrong("constant_", "value", "a finite number", v) end
   no_grad(t.fill_, t, v)
   return t
end

--- nn.init.zeros_(t): fills t with 0 in place; returns t
function M.zeros_(t) tensor(t, "zeros_"); no_grad(t.fill_, t, 0); return t end
--- nn.init.ones_(t): fills t with 1 in place; returns t
function M.ones_(t) tensor(t, "ones_"); no_grad(t.fill_, t, 1); return t end

--- nn.init.uniform_(t, lo, hi): fills t with U(lo, hi) in place (defaults 0, 1); returns t
function M.uniform_(t, lo, hi)
   tensor(t, "uniform_")
   lo, hi = number(lo, 0, "uniform_", "lo"), number(hi, 1, "uniform_", "hi")
   no_grad(t.uniform_, t, lo, hi)
   return t
end

--- nn.init.normal_(t, mean, std): fills t with N(mean, std^2) in place (defaults 0, 1); returns t
function M.normal_(t, mean, std)
   tensor(t, "normal_")
   mean, std = number(mean, 0, "normal_", "mean"), number(std, 1, "normal_", "std")
   no_grad(t.normal_, t, mean, std)
   return t
end

--- nn.init.truncated_normal_(t, stddev, mean): N(mean, stddev^2) redrawn beyond 2 stddev, in place; returns t
-- TF1 truncated_normal_initializer(mean, stddev): N(mean, stddev^2) with
-- samples beyond mean +- 2 stddev redrawn (realised std ~ 0.88 stddev).
function M.truncated_normal_(t, stddev, mean)
   tensor(t, "truncated_normal_")
   stddev, mean = number(stddev, 1, "truncated_normal_", "stddev"), number(mean, 0, "truncated_normal_", "mean")
   no_grad(t.truncated_normal_, t, mean, stddev)
   return t
end

local MODES = { fan_in = true, fan_out = true, fan_avg = true }
local DISTS = { truncated_normal = true, untruncated_normal = true, uniform = true, normal = true }

--- nn.init.variance_scaling_(t, scale, mode, distribution, layout): TF1 VarianceScaling, in place; returns t
-- TF1 VarianceScaling(scale, mode, distribution): n = fan_in, fan_out or
-- their mean (at least 1);
--   "truncated_normal" (also "normal", TF1's old name): truncated at +-2 sd with
--      sd = sqrt(scale / n) / 0.8796..., so the realised variance is scale / n;
--   "untruncated_normal": N(0, scale / n);
--   "uniform": U(-a, a) with a = sqrt(3 scale / n).
-- Defaults: scale 1, "fan_in", "truncated_normal".
function M.variance_scaling_(t, scale, mode, distribution, layout)
   tensor(t, "variance_scaling_")
   scale = number(scale, 1, "variance_scaling_", "scale")
   if not (scale > 0) then A.wrong("variance_scaling_", "scale", "a positive number", scale) end
   mode = mode or "fan_in"
   distribution = distribution or "truncated_normal"
   if not MODES[mode] then A.wrong("variance_scaling_", "mode", "'fan_in', 'fan_out' or 'fan_avg'", mode) end
   if not DISTS[distribution] then
      A.wrong("variance_scaling_", "distribution", "'truncated_normal', 'untruncated_normal' or 'uniform'", distribution)
   end
   local fi, fo = compute_fans(t, layout, "variance_scaling_")
   local n = mode == "fan_in" and fi or mode == "fan_out" and fo or (fi + fo) / 2
   n = math.max(1, n)
   if distribution == "uniform" then
      local a = math.sqrt(3 * scale / n)
      no_grad(t.uniform_, t, -a, a)
   elseif distribution == "untruncated_normal" then
      no_grad(t.normal_, t, 0, math.sqrt(scale / n))
   else
      no_grad(t.truncated_normal_, t, 0, math.sqrt(scale / n) / M.TRUNCATED_STD)
   end
   return t
end

--- nn.init.glorot_uniform_(t, layout): U(-a, a), a = sqrt(6 / (fan_in + fan_out)), in place (alias xavier_uniform_)
-- Glorot/Xavier uniform, TF's default: U(-a, a), a = sqrt(6 / (fan_in + fan_out)).
function M.glorot_uniform_(t, layout)
   tensor(t, "glorot_uniform_")
   return M.variance_scaling_(t, 1, "fan_avg", "uniform", layout)
end

--- nn.init.glorot_normal_(t, layout): TF1 glorot_normal, in place (alias xavier_normal_)
-- TF1 glorot_normal: truncated normal at +-2 sd' with
-- sd' = sqrt(2 / (fan_in + fan_out)) / 0.8796..., realised std sqrt(2 / (fan_in + fan_out)).
function M.glorot_normal_(t, layout)
   tensor(t, "glorot_normal_")
   return M.variance_scaling_(t, 1, "fan_avg", "truncated_normal", layout)
end

--- nn.init.he_normal_(t, layout): TF1 he_normal, variance_scaling_(t, 2, "fan_in", "truncated_normal")
-- He (TF1 he_normal / he_uniform): variance_scaling with scale 2, fan_in.
function M.he_normal_(t, layout) return M.variance_scaling_(tensor(t, "he_normal_"), 2, "fan_in", "truncated_normal", layout) end
--- nn.init.he_uniform_(t, layout): TF1 he_uniform, variance_scaling_(t, 2, "fan_in", "uniform"): U(-a, a), a = sqrt(6 / fan_in)
function M.he_uniform_(t, layout) return M.variance_scaling_(tensor(t, "he_uniform_"), 2, "fan_in", "uniform", layout) end

M.xavier_uniform_ = M.glorot_uniform_
M.xavier_normal_ = M.glorot_normal_

return M
