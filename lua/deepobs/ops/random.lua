-- Random numbers (src/ops/random.c): seeding and in-place fills, plus the
-- constructors rand/randn/randperm.
local T = require "deepobs.tensor"
local C = require("deepobs.C").lib
local A = require "deepobs.argcheck"
local Tensor, wrap, check, H = T.Tensor, T.wrap, T.check, T.H

local dob = {}

--- dob.manual_seed(seed): seeds the engine's random stream (an integer in [0, 2^53])
-- The same seed and thread count give the same numbers, bit for bit (counter-based).
function dob.manual_seed(s)
   check(C.dob_manual_seed_number(A.int("manual_seed", "seed", s, 0, A.EXACT)))
end
--- dob.get_rng_state(): the random state { seed =, offset = } (restore it with dob.set_rng_state)
function dob.get_rng_state() return { seed = tonumber(C.dob_get_seed()), offset = tonumber(C.dob_get_offset()) } end
--- dob.set_rng_state(state): restores { seed =, offset = } from dob.get_rng_state()
function dob.set_rng_state(s)
   if type(s) ~= "table" then A.wrong("set_rng_state", "state", "a table { seed =, offset = }", s) end
   local seed = A.int("set_rng_state", "state.seed", s.seed, 0, A.EXACT)
   local offset = A.int("set_rng_state", "state.offset", s.offset, 0, A.EXACT)
   check(C.dob_manual_seed_number(seed))
   C.dob_set_offset(offset)
end

--- x:uniform_(lo, hi): fills x with uniform numbers in [lo, hi) in place (defaults 0, 1); returns x
function Tensor:uniform_(lo, hi)
   local h = H(self)
   check(C.dob_uniform_(h, A.finite("uniform_", "lo", lo, 0), A.finite("uniform_", "hi", hi, 1)))
   return self
end
--- x:normal_(mean, std): fills x with normal numbers in place (defaults 0, 1); returns x
function Tensor:normal_(mean, std)
   local h = H(self)
   check(C.dob_normal_(h, A.finite("normal_", "mean", mean, 0), A.finite("normal_", "std", std, 1)))
   return self
end
--- x:truncated_normal_(mean, std): fills x in place with normal numbers redrawn beyond 2 std (TF's truncated_normal); returns x
function Tensor:truncated_normal_(mean, std)
   local h = H(self)
   check(C.dob_truncated_normal_(h, A.finite("truncated_normal_", "mean", mean, 0),
      A.finite("truncated_normal_", "std", std, 1)))
   return self
end
--- x:bernoulli_(p): fills x in place with 1 with probability p, else 0 (p default 0.5); returns x
function Tensor:bernoulli_(p)
   local h = H(self)
   check(C.dob_bernoulli_(h, A.number("bernoulli_", "p", p, 0.5)))
   return self
end
--- x:random_(lo, hi): fills x in place with random integers in [lo, hi); returns x
function Tensor:random_(lo, hi)
   local h = H(self)
   check(C.dob_randint_(h, A.int("random_", "lo", lo), A.int("random_", "hi", hi)))
   return self
end

--- dob.rand(size1, size2, ..., dtype): a new tensor of uniform numbers in [0, 1)
function dob.rand(...) return T.empty(...):uniform_(0, 1) end
--- dob.randn(size1, size2, ..., dtype): a new tensor of standard normal numbers
function dob.randn(...) return T.empty(...):normal_(0, 1) end
--- dob.randperm(n): a random permutation of 0..n-1 (int64, 0-based like labels and index tensors)
function dob.randperm(n) return wrap(C.dob_randperm(A.int("randperm", "n", n, 0)), "randperm") end

return dob
