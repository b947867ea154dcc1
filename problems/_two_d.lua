--- The shared form of the 2-D problems (DeepOBS's
-- deepobs/tensorflow/testproblems/two_d_*.py): two scalar parameters u ("weight")
-- and v ("bias") at a fixed start, per-example loss f(u, v) + u x + v y with noise
-- (x, y) from datasets/two_d.lua (zero noise in the test split: the deterministic f).
-- No weight decay, no accuracy, no default batch size or epochs.
--
--    local T = require "problems._two_d"
--    return T.problem { name = "two_d_x", description = "...", start = { 1, 2 },
--                       f = function(u, v) return u * u + v * v end }
local dob = require "deepobs"
local A = require "problems._arch"
local define = require "problems._define"

local M = {}

--- cos(u) for a 0-dim u with the right value and first derivative -sin(u):
-- the engine has no cos op, and u is a scalar, so cos is evaluated in Lua and
-- linearised at the current point (value cos(u0), gradient -sin(u0); exact for
-- first-order use, which is all a backward pass needs).
function M.cos(u)
   local u0 = u:item()
   return (u - u0) * (-math.sin(u0)) + math.cos(u0)
end

--- The problem of o.name, o.description (the function; the start is added), o.start
-- ({ u, v }) and o.f(u, v); start and f are exported for the specs.
function M.problem(o)
   return define({
      name = o.name,
      dataset = "two_d",
      batch_size = nil, num_epochs = nil,
      weight_decay = nil,
      has_accuracy = false,
      description = ("%s, start (%g, %g)"):format(o.description, o.start[1], o.start[2]),
      build = function()
         local m = A.module(("%s: u (\"weight\") = %g, v (\"bias\") = %g"):format(o.name, o.start[1], o.start[2]))
         m:param("weight", dob.scalar(o.start[1]))
         m:param("bias", dob.scalar(o.start[2]))
         return m
      end,
      forward = function(model, batch, phase)
         local u, v = model.weight, model.bias
         return o.f(u, v) + u * batch.x + v * batch.y, nil, nil
      end,
   }, { start = o.start, f = o.f })
end

return M
