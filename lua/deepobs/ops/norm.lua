-- Normalisation (src/ops/norm.c).
--
--    dob.batch_norm(x, weight, bias, running_mean, running_var, training, momentum, eps, activation)
--    dob.layer_norm(x, normalized_ndims, weight, bias, eps)
--
-- batch_norm: x [N,C] or [N,C,H,W]; weight, bias, running stats [C] or nil.
-- training (default false, as torch) normalises with the batch statistics and,
-- when running stats are given, updates them in place: running = (1 - momentum)
-- running + momentum batch (PyTorch convention, unbiased running variance;
-- DeepOBS/TF momentum m is 1 - m here). Eval mode uses the running stats.
-- Defaults: momentum 0.1, eps 1e-5. activation "relu" gives relu(batch_norm(...)) bit for
-- bit in one op ("none", the default: no activation).
-- layer_norm: normalises over the last normalized_ndims dims (default 1);
-- weight/bias of that shape or nil; eps default 1e-5.
local T = require "deepobs.tensor"
local A = require "deepobs.argcheck"
local C = require("deepobs.C").lib
local Tensor, wrap, H = T.Tensor, T.wrap, T.H

local dob = {}

local function opt(t, what)
   if t == nil or t == false then return nil end
   return H(t, what)
end

local function num(v, dflt, what, op)
   if v == nil then return dflt end
   if type(v) ~= "number" then A.raise(("%s: %s must be a number, got %s"):format(op, what, type(v))) end
   return v
end

--- x:batch_norm(weight, bias, running_mean, running_var, training, momentum, eps, activation): batch normalisation
-- x [N,C] or [N,C,H,W]; see this file's header for training, momentum (0.1), eps (1e-5) and
-- activation ("none" or "relu").
function Tensor.batch_norm(x, weight, bias, running_mean, running_var, training, momentum, eps, activation)
   local h = H(x, "input")
   local act = T.activation("batch_norm", "activation", activation)
   return wrap(C.dob_batch_norm(h, opt(weight, "weight"), opt(bias, "bias"),
      opt(running_mean, "running_mean"), opt(running_var, "running_var"),
      training and 1 or 0, num(momentum, 0.1, "momentum", "batch_norm"), num(eps, 1e-5, "eps", "batch_norm"), act))
end

--- x:layer_norm(normalized_ndims, weight, bias, eps): normalises over the last normalized_ndims dims (default 1)
-- weight/bias of that shape or nil; eps default 1e-5.
function Tensor.layer_norm(x, ndims, weight, bias, eps)
   local h = H(x, "input")
   ndims = A.cint("layer_norm", "normalized_ndims", ndims, nil, 1)
   return wrap(C.dob_layer_norm(h, ndims, opt(weight, "weight"), opt(bias, "bias"),
      num(eps, 1e-5, "eps", "layer_norm")))
end

dob.batch_norm, dob.layer_norm = Tensor.batch_norm, Tensor.layer_norm

return dob
