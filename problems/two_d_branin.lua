--- two_d_branin (DeepOBS 1.1 `two_d_branin.py`, spec §A.3): the noisy Branin
-- function a (v - b u^2 + c u - r)^2 + s (1 - t) cos(u) + s + u x + v y with
-- a = 1, b = 5.1 / (4 pi^2), c = 5 / pi, r = 6, s = 10, t = 1 / (8 pi);
-- start (u, v) = (2.5, 12.5).
local T = require "problems._two_d"

local a, b, c, r, s, t = 1.0, 5.1 / (4 * math.pi ^ 2), 5 / math.pi, 6.0, 10.0, 1 / (8 * math.pi)

return T.problem {
   name = "two_d_branin",
   description = "noisy Branin a (v - b u^2 + c u - r)^2 + s (1-t) cos(u) + s + u x + v y, start (2.5, 12.5)",
   start = { 2.5, 12.5 },
   constants = { a = a, b = b, c = c, r = r, s = s, t = t },
   f = function(u, v)
      local q = v - u * u * b + u * c - r
      return q * q * a + T.cos(u) * (s * (1 - t)) + s
   end,
}
