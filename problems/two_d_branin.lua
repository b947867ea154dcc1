--- two_d_branin: DeepOBS's deepobs/tensorflow/testproblems/two_d_branin.py.
local T = require "problems._two_d"

local a, b, c, r, s, t = 1.0, 5.1 / (4 * math.pi ^ 2), 5 / math.pi, 6.0, 10.0, 1 / (8 * math.pi)

return T.problem {
   name = "two_d_branin",
   description = "noisy Branin a (v - b u^2 + c u - r)^2 + s (1-t) cos(u) + s + u x + v y",
   start = { 2.5, 12.5 },
   f = function(u, v)
      local q = v - u * u * b + u * c - r
      return q * q * a + T.cos(u) * (s * (1 - t)) + s
   end,
}
