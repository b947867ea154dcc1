-- Random numbers (src/ops/random.c): seeding and in-place fills, plus the
-- constructors rand/randn/randperm.
local T = require "deepobs.tensor"
local C = require("deepobs.C").lib
local A = require "deepobs.argcheck"
local Tensor, wrap, check, H = T.Tensor, T.wrap, T.check, T.H

local dob = {}

-- integers in [0, 2^53]: exact in a Lua number (2^64 would silently become another seed)
function dob.manual_seed(s)
   check(C.dob_manual_seed_number(A.int("manual_seed", "seed", s, 0, A.EXACT)))
end
function dob.get_rng_state() return { seed = tonumber(C.dob_get_seed()), offset = tonumber(C.dob_get_offset()) } end
-- set_rng_state(get_rng_state()): the seed and the offset into its stream
function dob.set_rng_state(s)
   if type(s) ~= "table" then A.wrong("set_rng_state", "state", "a table { seed =, offset = }", s) end
   local seed = A.int("set_rng_state", "state.seed", s.seed, 0, A.EXACT)
   local offset = A.int("set_rng_state", "state.offset", s.offset, 0, A.EXACT)
   check(C.dob_manual_seed_number(seed))
   C.dob_set_offset(offset)
end

function Tensor:uniform_(lo, hi)
   local h = H(self)
   check(C.dob_uniform_(h, A.finite("uniform_", "lo", lo, 0), A.finite("uniform_", "hi", hi, 1)))
   return self
end
function Tensor:normal_(mean, std)
   local h = H(self)
   check(C.dob_normal_(h, A.finite("normal_", "mean", mean, 0), A.finite("normal_", "std", std, 1)))
   return self
end
function Tensor:truncated_normal_(mean, std)
   local h = H(self)
   check(C.dob_truncated_normal_(h, A.finite("truncated_normal_", "mean", mean, 0),
      A.finite("truncated_normal_", "std", std, 1)))
   return self
end
function Tensor:bernoulli_(p)
   local h = H(self)
   check(C.dob_bernoulli_(h, A.number("bernoulli_", "p", p, 0.5)))
   return self
end
-- random_(lo, hi): integers in [lo, hi)
function Tensor:random_(lo, hi)
   local h = H(self)
   check(C.dob_randint_(h, A.int("random_", "lo", lo), A.int("random_", "hi", hi)))
   return self
end

function dob.rand(...) return T.empty(...):uniform_(0, 1) end
function dob.randn(...) return T.empty(...):normal_(0, 1) end
-- a random permutation of 0..n-1 (int64; index tensors hold 0-based
-- values, like labels in the data files)
function dob.randperm(n) return wrap(C.dob_randperm(A.int("randperm", "n", n, 0)), "randperm") end

return dob
