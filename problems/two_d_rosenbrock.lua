--- two_d_rosenbrock: DeepOBS's deepobs/tensorflow/testproblems/two_d_rosenbrock.py.
local T = require "problems._two_d"

return T.problem {
   name = "two_d_rosenbrock",
   description = "noisy Rosenbrock (1-u)^2 + 100 (v-u^2)^2 + u x + v y",
   start = { -0.5, 1.5 },
   f = function(u, v)
      local a, b = 1 - u, v - u * u
      return a * a + b * b * 100
   end,
}
