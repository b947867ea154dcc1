local dob = require "deepobs"
local init = require "deepobs.init_schemes"

-- true when a and b hold the same float bits element for element
local function same_bits(a, b)
   if a:numel() ~= b:numel() then return false end
   local p, q = a:contiguous():data(), b:contiguous():data()
   for i = 0, a:numel() - 1 do
      if p[i] ~= q[i] then return false end
   end
   return true
end

local function stats(t)
   local n = t:numel()
   local mean = t:sum_double() / n
   local c = t - mean
   local var = c:dot(c) / n
   return mean, math.sqrt(var), t:min():item(), t:max():item()
end

local function frac_beyond(t, bound)
   return (t:abs():gt(bound):float():sum_double()) / t:numel()
end

local function fails(f, pat)
   local ok, err = pcall(f)
   assert.is_false(ok)
   assert.matches(pat, err)
end

local N = 1000000

describe("random numbers", function()
   it("same seed gives the same bits, different seeds and successive draws differ", function()
      for _, fill in ipairs { "uniform_", "normal_", "truncated_normal_", "bernoulli_" } do
         local function draw() local t = dob.empty(10007); return t[fill](t) end
         dob.manual_seed(123)
         local a = draw()
         local a2 = draw()
         dob.manual_seed(123)
         local b = draw()
         dob.manual_seed(124)
         local c = draw()
         assert.is_true(same_bits(a, b), fill)
         assert.is_false(same_bits(a, c), fill)
         assert.is_false(same_bits(a, a2), fill)
      end
      dob.manual_seed(9)
      local p1 = dob.randperm(500):totable()
      dob.manual_seed(9)
      assert.are.same(p1, dob.randperm(500):totable())
   end)

   it("rng state can be saved and restored", function()
      dob.manual_seed(77)
      dob.rand(10)
      local st = dob.get_rng_state()
      local a = dob.randn(100)
      dob.set_rng_state(st)
      assert.is_true(same_bits(a, dob.randn(100)))
   end)

   it("fills are bit-identical for 1 and 2 threads (large tensors)", function()
      local before = dob.get_threads()
      local function draw()
         dob.manual_seed(2024)
         local out = {}
         for _, fill in ipairs { "uniform_", "normal_", "truncated_normal_", "bernoulli_" } do
            local t = dob.empty(N)
            out[#out + 1] = t[fill](t)
         end
         out[#out + 1] = init.glorot_normal_(dob.empty(1000, 500))
         -- a non-contiguous target
         local w = dob.zeros(600, 400)
         out[#out + 1] = w:t():normal_(0, 1)
         return out
      end
      dob.set_threads(1)
      local a = draw()
      dob.set_threads(2)
      local b = draw()
      dob.set_threads(before)
      for i = 1, #a do assert.is_true(same_bits(a[i], b[i]), "fill " .. i) end
   end)

   it("uniform_ has the right range, mean and variance", function()
      dob.manual_seed(1)
      local t = dob.empty(N):uniform_(-1, 3)
      local mean, sd, lo, hi = stats(t)
      assert.is_true(lo >= -1 and hi < 3)
      assert.is_true(math.abs(mean - 1) < 0.01, mean)           -- sd of the mean 0.0012
      assert.is_true(math.abs(sd - 4 / math.sqrt(12)) < 0.005, sd)
      assert.is_true(lo < -0.999 and hi > 2.999)
   end)

   it("normal_ has the right mean, std and tails", function()
      dob.manual_seed(2)
      local t = dob.empty(N):normal_(2, 3)
      local mean, sd = stats(t)
      assert.is_true(math.abs(mean - 2) < 0.015, mean)            -- sd of the mean 0.003
      assert.is_true(math.abs(sd - 3) < 0.015, sd)
      local f = frac_beyond(t - 2, 6)                              -- P(|z| > 2) = 0.0455
      assert.is_true(math.abs(f - 0.0455) < 0.002, f)
   end)

   it("truncated_normal_ redraws beyond 2 sd (std ~ 0.8796 sd)", function()
      dob.manual_seed(3)
      local t = dob.empty(N):truncated_normal_(0, 2)
      local mean, sd, lo, hi = stats(t)
      assert.is_true(lo >= -4 and hi <= 4)
      assert.is_true(lo < -3.99 and hi > 3.99)
      assert.is_true(math.abs(mean) < 0.01, mean)
      assert.is_true(math.abs(sd - 2 * 0.87962566103423978) < 0.006, sd)
      -- shape: P(|z| < 1 | |z| < 2) = 0.6827 / 0.9545 = 0.7153
      local inner = 1 - frac_beyond(t, 2)
      assert.is_true(math.abs(inner - 0.7153) < 0.003, inner)
   end)

   it("bernoulli_ gives 0/1 with mean p", function()
      dob.manual_seed(4)
      local t = dob.empty(N):bernoulli_(0.3)
      local ones = t:eq(1):float():sum_double()
      local zeros = t:eq(0):float():sum_double()
      assert.are.equal(N, ones + zeros)
      assert.is_true(math.abs(ones / N - 0.3) < 0.003, ones / N)  -- sd 0.00046
      assert.are.equal(0, dob.empty(1000):bernoulli_(0):sum_double())
      assert.are.equal(1000, dob.empty(1000):bernoulli_(1):sum_double())
   end)

   it("randperm is a permutation and random_ stays in range", function()
      dob.manual_seed(5)
      local p = dob.randperm(10000)
      assert.are.equal("int64", p:dtype())
      local seen, moved = {}, 0
      local d = p:data()
      for i = 0, 9999 do
         local v = tonumber(d[i])
         assert.is_true(v >= 0 and v < 10000 and not seen[v])
         seen[v] = true
         if v ~= i then moved = moved + 1 end
      end
      assert.is_true(moved > 9900)
      assert.are.same({}, dob.randperm(0):totable())
      local r = dob.zeros(100000, "int64"):random_(-3, 5)
      local q = r:data()
      local count = {}
      for i = 0, 99999 do
         local v = tonumber(q[i])
         assert.is_true(v >= -3 and v < 5)
         count[v] = (count[v] or 0) + 1
      end
      for v = -3, 4 do assert.is_true(math.abs(count[v] / 100000 - 0.125) < 0.006) end
   end)

   it("rejects bad arguments", function()
      fails(function() dob.empty(3):uniform_(2, 1) end, "uniform_: need finite lo <= hi")
      fails(function() dob.empty(3):normal_(0, -1) end, "normal_: need finite mean and std >= 0")
      fails(function() dob.empty(3):truncated_normal_(0, -1) end, "truncated_normal_: need finite mean and std >= 0")
      fails(function() dob.empty(3):bernoulli_(1.5) end, "bernoulli_: probability 1.5 is not in %[0, 1%]")
      fails(function() dob.randperm(-1) end, "randperm: argument 'n' must be a non%-negative integer, got %-1")
      fails(function() dob.manual_seed(-1) end, "manual_seed: argument 'seed' must be an integer in %[0, 9007199254740992%], got %-1")
      fails(function() dob.empty(3, "int64"):normal_() end, "normal_: argument 'self' must be float32")
      fails(function() dob.empty(3):random_(0, 5) end, "randint_: needs an int64 tensor")
      fails(function() dob.zeros(3, "int64"):random_(5, 5) end, "randint_: empty range")
      local w = dob.zeros(3):requires_grad_()
      fails(function() w:normal_() end, "normal_")
   end)
end)

-- Philox4x32-10 written out from its definition (Salmon et al., "Parallel random numbers:
-- as easy as 1, 2, 3", SC 2011), one counter at a time in 64-bit FFI integers: the
-- reference for the fills' vectorised generator
local ffi = require "ffi"
local U64 = ffi.typeof("uint64_t")
local TWO32 = 4294967296

local function philox_ref(counter, key)
   local c = { counter % TWO32, math.floor(counter / TWO32), 0, 0 }
   local k0, k1 = key % TWO32, math.floor(key / TWO32)
   for _ = 1, 10 do
      local p0, p1 = U64(0xD2511F53) * c[1], U64(0xCD9E8D57) * c[3]
      local hi0, lo0 = tonumber(p0 / TWO32), tonumber(p0 % TWO32)
      local hi1, lo1 = tonumber(p1 / TWO32), tonumber(p1 % TWO32)
      c = { bit.bxor(hi1, c[2], k0) % TWO32, lo1, bit.bxor(hi0, c[4], k1) % TWO32, lo0 }
      k0, k1 = (k0 + 0x9E3779B9) % TWO32, (k1 + 0xBB67AE85) % TWO32
   end
   return c
end

-- element i of a fill from state (seed, offset): word i % 4 of counter offset + i // 4
local function ref_fill(seed, offset, n, value)
   local out, f32 = {}, ffi.new("float[1]")
   for b = 0, math.ceil(n / 4) - 1 do
      local w = philox_ref(offset + b, seed)
      for k = 1, 4 do
         local i = 4 * b + k
         if i <= n then
            f32[0] = value(bit.rshift(w[k], 8) / 16777216)
            out[i] = f32[0]
         end
      end
   end
   return out
end

describe("the generator against a reference Philox", function()
   it("the reference gives the published known answers", function()
      -- Random123's kat_vectors: counter 0, key 0
      assert.are.same({ 0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8 }, philox_ref(0, 0))
   end)

   it("uniform_ and bernoulli_ match it bit for bit at every size, seed, offset and thread count", function()
      local before = dob.get_threads()
      local sizes = { 1, 2, 3, 4, 5, 63, 64, 65, 127, 129, 255, 256, 257, 1000, 8191, 8193, 20001 }
      -- offsets include one whose low counter word wraps inside a chunk of counters
      local states = { { 0, 0 }, { 12345, 5 }, { 0x123456789AB, TWO32 - 37 }, { 7, 2 ^ 40 + 3 } }
      for _, th in ipairs { 1, 2 } do
         dob.set_threads(th)
         for _, st in ipairs(states) do
            for _, n in ipairs(sizes) do
               for _, case in ipairs {
                  { function(t) return t:uniform_(-2, 5) end, function(u) return -2 + 7 * u end },
                  { function(t) return t:bernoulli_(0.37) end, function(u) return u < 0.37 and 1 or 0 end },
               } do
                  dob.set_rng_state { seed = st[1], offset = st[2] }
                  local got = case[1](dob.empty(n)):totable()
                  assert.are.same(ref_fill(st[1], st[2], n, case[2]), got)
                  assert.are.equal(st[2] + math.ceil(n / 4), dob.get_rng_state().offset)
               end
            end
         end
      end
      dob.set_threads(before)
   end)
end)

describe("initialisers", function()
   it("fans follow the documented layouts", function()
      assert.are.same({ 300, 100 }, { init.fans({ 100, 300 }) })            -- Linear [out, in]
      assert.are.same({ 3 * 25, 32 * 25 }, { init.fans({ 32, 3, 5, 5 }) })  -- conv [OC, C, KH, KW]
      assert.are.same({ 83, 83 }, { init.fans({ 83 }) })                    -- 1-D
      assert.are.same({ 1, 1 }, { init.fans({}) })
      assert.are.same({ 8 * 3, 16 * 3 }, { init.fans({ 16, 8, 3 }) })       -- conv1d [OC, C, K]
      assert.are.same({ 256, 512 }, { init.fans({ 256, 512 }, "tf") })      -- TF LSTM kernel [in+H, 4H]
      assert.are.same({ 3 * 25, 32 * 25 }, { init.fans({ 5, 5, 3, 32 }, "tf") })  -- TF conv [KH, KW, C, OC]
      assert.are.same({ 7, 9 }, { init.fans({ 2, 2 }, { fan_in = 7, fan_out = 9 }) })
      assert.are.same({ 300, 100 }, { init.fans(dob.empty(100, 300)) })
   end)

   it("glorot_uniform_: bound sqrt(6/(fan_in+fan_out)) and variance bound^2/3", function()
      dob.manual_seed(10)
      local w = dob.empty(400, 600)
      assert.are.equal(w, init.glorot_uniform_(w))
      local a = math.sqrt(6 / 1000)
      local mean, sd, lo, hi = stats(w)
      assert.is_true(lo >= -a and hi <= a)
      assert.is_true(lo < -0.99 * a and hi > 0.99 * a)
      assert.is_true(math.abs(mean) < 2e-4)
      assert.is_true(math.abs(sd / (a / math.sqrt(3)) - 1) < 0.01, sd)
      -- conv: fan_in = 3*5*5, fan_out = 64*5*5
      local c = init.glorot_uniform_(dob.empty(64, 3, 5, 5))
      local b = math.sqrt(6 / (75 + 1600))
      local _, _, clo, chi = stats(c)
      assert.is_true(clo >= -b and chi <= b and chi > 0.95 * b)
      -- 1-D (the char-RNN softmax bias): U(+-sqrt(6/166))
      local v = init.glorot_uniform_(dob.empty(83))
      local _, _, vlo, vhi = stats(v)
      assert.is_true(vlo >= -math.sqrt(6 / 166) and vhi <= math.sqrt(6 / 166))
   end)

   it("glorot_normal_: realised std sqrt(2/(fan_in+fan_out)), nothing beyond 2 sd'", function()
      dob.manual_seed(11)
      local w = init.glorot_normal_(dob.empty(1000, 600))
      local s = math.sqrt(2 / 1600)
      local sp = s / 0.87962566103423978
      local mean, sd, lo, hi = stats(w)
      assert.is_true(math.abs(sd / s - 1) < 0.005, sd / s)
      assert.is_true(math.abs(mean) < 1e-4)
      assert.is_true(lo >= -2 * sp * (1 + 1e-6) and hi <= 2 * sp * (1 + 1e-6))
      assert.is_true(hi > 1.99 * sp)
   end)

   it("variance_scaling_ modes and distributions (He = scale 2, fan_in)", function()
      dob.manual_seed(12)
      local shape = { 256, 128, 3, 3 }          -- fan_in 1152, fan_out 2304
      local fi, fo = 1152, 2304
      local cases = {
         { 2, "fan_in", "truncated_normal", 2 / fi },
         { 2, "fan_in", "untruncated_normal", 2 / fi },
         { 1, "fan_out", "uniform", 1 / fo },
         { 3, "fan_avg", "normal", 3 / ((fi + fo) / 2) },
      }
      for _, c in ipairs(cases) do
         local w = init.variance_scaling_(dob.empty(shape), c[1], c[2], c[3])
         local _, sd, lo, hi = stats(w)
         local want = math.sqrt(c[4])
         assert.is_true(math.abs(sd / want - 1) < 0.01, c[2] .. " " .. c[3] .. " " .. sd / want)
         if c[3] == "uniform" then
            assert.is_true(hi <= math.sqrt(3) * want * (1 + 1e-6) and lo >= -math.sqrt(3) * want * (1 + 1e-6))
         elseif c[3] ~= "untruncated_normal" then
            local bound = 2 * want / 0.87962566103423978 * (1 + 1e-6)
            assert.is_true(hi <= bound and lo >= -bound)
         else
            assert.is_true(hi > 2.5 * want)   -- untruncated: tails present
         end
      end
      local h = init.he_normal_(dob.empty(shape))
      local _, sd = stats(h)
      assert.is_true(math.abs(sd / math.sqrt(2 / fi) - 1) < 0.01)
      -- layout "tf" on a TF-ordered conv kernel gives the same fans
      local t = init.variance_scaling_(dob.empty(3, 3, 128, 256), 2, "fan_in", "untruncated_normal", "tf")
      local _, sd2 = stats(t)
      assert.is_true(math.abs(sd2 / math.sqrt(2 / fi) - 1) < 0.01)
   end)

   it("constant/zeros/ones/uniform/normal/truncated_normal, also on parameters that require grad", function()
      local w = dob.empty(3, 4):requires_grad_()
      assert.are.same({ { 0.5, 0.5, 0.5, 0.5 }, { 0.5, 0.5, 0.5, 0.5 }, { 0.5, 0.5, 0.5, 0.5 } },
         init.constant_(w, 0.5):totable())
      assert.are.equal(0, init.zeros_(w):sum():item())
      assert.are.equal(12, init.ones_(w):sum():item())
      assert.is_true(w:requires_grad() and w:is_leaf())
      assert.is_true(dob.is_grad_enabled())
      dob.manual_seed(13)
      local u = init.uniform_(dob.empty(N), 2, 4)
      local m, _, lo, hi = stats(u)
      assert.is_true(lo >= 2 and hi < 4 and math.abs(m - 3) < 0.005)
      local n = init.normal_(dob.empty(N), -1, 0.5)
      local m2, s2 = stats(n)
      assert.is_true(math.abs(m2 + 1) < 0.003 and math.abs(s2 - 0.5) < 0.003)
      local t = init.truncated_normal_(dob.empty(N), 0.05)
      local m3, s3, lo3, hi3 = stats(t)
      assert.is_true(math.abs(m3) < 3e-4 and math.abs(s3 / (0.05 * 0.87962566103423978) - 1) < 0.005)
      assert.is_true(lo3 >= -0.1 * (1 + 1e-6) and hi3 <= 0.1 * (1 + 1e-6))
      local t2 = init.truncated_normal_(dob.empty(N), 0.03, 1)
      local m4, _, lo4, hi4 = stats(t2)
      assert.is_true(math.abs(m4 - 1) < 3e-4 and lo4 >= 0.94 - 1e-6 and hi4 <= 1.06 + 1e-6)
      -- a failing fill leaves grad mode on
      pcall(init.normal_, w, 0, -1)
      assert.is_true(dob.is_grad_enabled())
   end)

   it("rejects bad arguments", function()
      local w = dob.empty(4, 4)
      fails(function() init.variance_scaling_(w, 1, "fan_mid") end, "argument 'mode' must be 'fan_in', 'fan_out' or 'fan_avg'")
      fails(function() init.variance_scaling_(w, 1, "fan_in", "cauchy") end, "argument 'distribution' must be")
      fails(function() init.variance_scaling_(w, 0) end, "argument 'scale' must be a positive number")
      fails(function() init.variance_scaling_(w, -2) end, "argument 'scale' must be a positive number")
      fails(function() init.glorot_uniform_(w, "nchw") end, "layout must be 'torch', 'tf'")
      fails(function() init.glorot_uniform_({ 4, 4 }) end, "glorot_uniform_: argument 'tensor' must be a deepobs Tensor")
      fails(function() init.constant_(w) end, "constant_: argument 'value' must be a finite number, got nil")
      fails(function() init.uniform_(w, 1, 0) end, "uniform_: need finite lo <= hi")
      fails(function() init.normal_(w, 0, "x") end, "normal_: argument 'std' must be a finite number")
      fails(function() init.truncated_normal_(w, -1) end, "truncated_normal_: need finite mean and std >= 0")
      fails(function() init.fans({ 2, -1 }) end, "sizes must be non%-negative integers")
      fails(function() init.fans({ 2, 2 }, { fan_in = 0, fan_out = 1 }) end, "needs positive numbers")
      fails(function() init.glorot_normal_(dob.empty(3, "int64")) end, "must be float32")
   end)
end)
