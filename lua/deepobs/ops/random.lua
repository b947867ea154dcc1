-- Random numbers (src/random.c): seeding and in-place fills, plus the
-- constructors rand/randn/randperm.
local T = require "deepobs.tensor"
local C = require("deepobs.C").lib
local Tensor, wrap, check, H = T.Tensor, T.wrap, T.check, T.H

local dob = {}

function dob.manual_seed(s)
   if type(s) ~= "number" then error("manual_seed: need a non-negative integer, got " .. type(s), 2) end
   check(C.dob_manual_seed_number(s))   -- integers in [0, 2^53]: exact in a Lua number
end
function dob.get_rng_state() return { seed = tonumber(C.dob_get_seed()), offset = tonumber(C.dob_get_offset()) } end
function dob.set_rng_state(s)
   C.dob_manual_seed(s.seed)
   C.dob_set_offset(s.offset)
end

function Tensor:uniform_(lo, hi) check(C.dob_uniform_(H(self), lo or 0, hi or 1)); return self end
function Tensor:normal_(mean, std) check(C.dob_normal_(H(self), mean or 0, std or 1)); return self end
function Tensor:truncated_normal_(mean, std) check(C.dob_truncated_normal_(H(self), mean or 0, std or 1)); return self end
function Tensor:bernoulli_(p) check(C.dob_bernoulli_(H(self), p or 0.5)); return self end
function Tensor:random_(lo, hi) check(C.dob_randint_(H(self), lo, hi)); return self end

function dob.rand(...) return T.empty(...):uniform_(0, 1) end
function dob.randn(...) return T.empty(...):normal_(0, 1) end
-- a random permutation of 0..n-1 (int64; index tensors hold 0-based
-- values, like labels in the data files)
function dob.randperm(n) return wrap(C.dob_randperm(n)) end

return dob
