--- numpy's legacy RandomState, re-implemented so that the synthetic DeepOBS
-- datasets (quadratic, two_d) and the quadratic_deep Hessian reproduce the
-- numbers TensorFlow DeepOBS built with `np.random.RandomState(seed)`.
--
--    local RandomState = require "deepobs.mt19937"
--    local rng = RandomState(42)
--    rng:random_sample()     -- 0.3745401188473625, as numpy
--    rng:uniform(30, 60)     -- low + (high - low) * random_sample()
--    rng:normal(0, 0.6)      -- loc + scale * gauss()
--
-- What numpy does, and what this copies exactly:
--  * seeding with an integer: `_legacy_seeding` calls `mt19937_seed`, which is
--    Matsumoto-Nishimura's init_genrand(seed) (key[0] = seed,
--    key[i] = 1812433253 * (key[i-1] ^ (key[i-1] >> 30)) + i), NOT
--    init_by_array({seed}) (that is only used for array seeds);
--  * random_sample: a 53-bit double from two 32-bit outputs,
--    ((a >> 5) * 67108864 + (b >> 6)) / 9007199254740992;
--  * gauss: the polar Box-Muller method; each accepted pair (x1, x2) returns
--    f * x2 and caches f * x1 for the next call (the cache is part of the
--    state and survives uniform draws in between).
-- Lua numbers are doubles: 32-bit words are kept as non-negative doubles,
-- the bit library works on their signed 32-bit images.
local bit = require "bit"
local band, bxor, rshift, lshift, tobit = bit.band, bit.bxor, bit.rshift, bit.lshift, bit.tobit

local N, M = 624, 397
local TWO32 = 2 ^ 32

local function u32(x) return x % TWO32 end   -- signed 32-bit image -> 0 .. 2^32-1

-- (a * b) mod 2^32 for 32-bit a, b without losing bits in doubles
local function mul32(a, b)
   local ahi, alo = math.floor(a / 65536), a % 65536
   return ((ahi * b) % 65536 * 65536 + alo * b) % TWO32
end

local RandomState = {}
RandomState.__index = RandomState

local function new(seed)
   if type(seed) ~= "number" or seed < 0 or seed >= TWO32 or seed % 1 ~= 0 then
      error("RandomState: seed must be an integer in [0, 2^32 - 1], got " .. tostring(seed), 2)
   end
   local mt = {}
   mt[0] = seed
   for i = 1, N - 1 do
      local prev = mt[i - 1]
      mt[i] = (mul32(1812433253, u32(bxor(prev, rshift(prev, 30)))) + i) % TWO32
   end
   return setmetatable({ mt = mt, mti = N, has_gauss = false, gauss_cache = 0 }, RandomState)
end

local UPPER, LOWER, MATRIX_A = tobit(0x80000000), 0x7fffffff, tobit(0x9908b0df)

local function twist(mt)
   local function step(kk, other)
      local y = bit.bor(band(mt[kk], UPPER), band(mt[(kk + 1) % N], LOWER))
      local v = bxor(mt[other], rshift(y, 1))
      if band(y, 1) ~= 0 then v = bxor(v, MATRIX_A) end
      mt[kk] = u32(v)
   end
   for kk = 0, N - M - 1 do step(kk, kk + M) end
   for kk = N - M, N - 2 do step(kk, kk + M - N) end
   step(N - 1, M - 1)
end

--- the next 32-bit output (genrand_int32), as a number in 0 .. 2^32-1
function RandomState:random_uint32()
   if self.mti >= N then
      twist(self.mt)
      self.mti = 0
   end
   local y = self.mt[self.mti]
   self.mti = self.mti + 1
   y = bxor(y, rshift(y, 11))
   y = bxor(y, band(lshift(y, 7), tobit(0x9d2c5680)))
   y = bxor(y, band(lshift(y, 15), tobit(0xefc60000)))
   y = bxor(y, rshift(y, 18))
   return u32(y)
end

--- uniform double in [0, 1) with 53 random bits (numpy's random_sample)
function RandomState:random_sample()
   local a = rshift(tobit(self:random_uint32()), 5)
   local b = rshift(tobit(self:random_uint32()), 6)
   return (a * 67108864.0 + b) / 9007199254740992.0
end

--- numpy's legacy_gauss: polar Box-Muller with one cached value
function RandomState:gauss()
   if self.has_gauss then
      self.has_gauss = false
      local g = self.gauss_cache
      self.gauss_cache = 0
      return g
   end
   local x1, x2, r2
   repeat
      x1 = 2.0 * self:random_sample() - 1.0
      x2 = 2.0 * self:random_sample() - 1.0
      r2 = x1 * x1 + x2 * x2
   until r2 < 1.0 and r2 ~= 0.0
   local f = math.sqrt(-2.0 * math.log(r2) / r2)
   self.gauss_cache = f * x1
   self.has_gauss = true
   return f * x2
end

function RandomState:uniform(low, high)
   low, high = low or 0.0, high or 1.0
   return low + (high - low) * self:random_sample()
end

function RandomState:normal(loc, scale)
   return (loc or 0.0) + (scale or 1.0) * self:gauss()
end

--- n draws into a Lua array (1-based), in numpy's (row-major) order
function RandomState:uniform_array(n, low, high)
   local t = {}
   for i = 1, n do t[i] = self:uniform(low, high) end
   return t
end

function RandomState:normal_array(n, loc, scale)
   local t = {}
   for i = 1, n do t[i] = self:normal(loc, scale) end
   return t
end

return setmetatable({ new = new }, { __call = function(_, seed) return new(seed) end })
