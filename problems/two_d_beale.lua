--- two_d_beale: DeepOBS's deepobs/tensorflow/testproblems/two_d_beale.py.
local T = require "problems._two_d"

return T.problem {
   name = "two_d_beale",
   description = "noisy Beale (1.5-u+uv)^2 + (2.25-u+uv^2)^2 + (2.625-u+uv^3)^2 + u x + v y",
   start = { -4.5, 4.5 },
   f = function(u, v)
      local v2 = v * v
      local a = 1.5 - u + u * v
      local b = 2.25 - u + u * v2
      local c = 2.625 - u + u * v2 * v
      return a * a + b * b + c * c
   end,
}
