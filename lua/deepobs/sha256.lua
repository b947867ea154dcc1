--- SHA-256 (FIPS 180-4) in LuaJIT with the bit library: the digest of a string or of a file,
-- as 64 lowercase hex digits (what sha256sum prints).
--
--    local sha256 = require "deepobs.sha256"
--    sha256.hex("abc")                  --> "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
--    sha256.file("examples/my_sgd.lua") -- read in 64 KiB chunks; errors name the path
local bit = require "bit"
local ffi = require "ffi"

local band, bor, bxor, bnot = bit.band, bit.bor, bit.bxor, bit.bnot
local rshift, lshift, ror, tobit, tohex = bit.rshift, bit.lshift, bit.ror, bit.tobit, bit.tohex
local floor = math.floor

local M = {}

-- FIPS 180-4 4.2.2: the first 32 bits of the fractional parts of the cube roots of the first 64 primes
local K = {
   0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
   0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
   0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
   0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
   0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
   0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
   0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
   0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
}
-- FIPS 180-4 5.3.3: the initial hash value
local H0 = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19 }
for i = 1, 64 do K[i] = tobit(K[i]) end
for i = 1, 8 do H0[i] = tobit(H0[i]) end

local CHUNK = 65536

-- Compresses the 64-byte blocks of bytes p[off .. off + 64 * nblocks - 1] into the state H
-- (8 words, as the bit library's signed 32-bit numbers; sums are wrapped with tobit).
local function compress(H, p, off, nblocks, W)
   for b = 0, nblocks - 1 do
      local o = off + 64 * b
      for t = 0, 15 do
         local q = o + 4 * t
         W[t] = bor(lshift(p[q], 24), lshift(p[q + 1], 16), lshift(p[q + 2], 8), p[q + 3])
      end
      for t = 16, 63 do
         local w15, w2 = W[t - 15], W[t - 2]
         local s0 = bxor(ror(w15, 7), ror(w15, 18), rshift(w15, 3))
         local s1 = bxor(ror(w2, 17), ror(w2, 19), rshift(w2, 10))
         W[t] = tobit(W[t - 16] + s0 + W[t - 7] + s1)
      end
      local a, b_, c, d, e, f, g, h = H[1], H[2], H[3], H[4], H[5], H[6], H[7], H[8]
      for t = 0, 63 do
         local S1 = bxor(ror(e, 6), ror(e, 11), ror(e, 25))
         local ch = bxor(band(e, f), band(bnot(e), g))
         local t1 = h + S1 + ch + K[t + 1] + W[t]
         local S0 = bxor(ror(a, 2), ror(a, 13), ror(a, 22))
         local maj = bxor(band(a, b_), band(a, c), band(b_, c))
         h, g, f, e = g, f, e, tobit(d + t1)
         d, c, b_, a = c, b_, a, tobit(t1 + S0 + maj)
      end
      H[1], H[2], H[3], H[4] = tobit(H[1] + a), tobit(H[2] + b_), tobit(H[3] + c), tobit(H[4] + d)
      H[5], H[6], H[7], H[8] = tobit(H[5] + e), tobit(H[6] + f), tobit(H[7] + g), tobit(H[8] + h)
   end
end

-- A streaming hasher: update(s) any number of times, then hex() once.
local function hasher()
   local H = { unpack(H0) }
   local W = {}
   local pending = ""   -- bytes of an incomplete block, fewer than 64
   local length = 0     -- bytes seen
   local self = {}

   function self.update(s)
      length = length + #s
      if #pending > 0 then
         local need = 64 - #pending
         pending = pending .. s:sub(1, need)
         s = s:sub(need + 1)
         if #pending < 64 then return end
         compress(H, ffi.cast("const uint8_t *", pending), 0, 1, W)
         pending = ""
      end
      local nblocks = floor(#s / 64)
      compress(H, ffi.cast("const uint8_t *", s), 0, nblocks, W)
      pending = s:sub(64 * nblocks + 1)
   end

   function self.hex()
      -- FIPS 180-4 5.1.1: a 1 bit, zeros to 56 mod 64 bytes, the length in bits as 64-bit big endian
      local bits = length * 8
      local hi, lo = floor(bits / 2 ^ 32), bits % 2 ^ 32
      local zeros = (55 - length) % 64
      self.update("\128" .. ("\0"):rep(zeros) .. string.char(
         floor(hi / 2 ^ 24) % 256, floor(hi / 2 ^ 16) % 256, floor(hi / 2 ^ 8) % 256, hi % 256,
         floor(lo / 2 ^ 24) % 256, floor(lo / 2 ^ 16) % 256, floor(lo / 2 ^ 8) % 256, lo % 256))
      assert(#pending == 0)
      local out = {}
      for i = 1, 8 do out[i] = tohex(H[i], 8) end
      return table.concat(out)
   end

   return self
end

--- The SHA-256 of a string, as 64 lowercase hex digits.
function M.hex(s)
   if type(s) ~= "string" then
      error(("sha256.hex: expected a string, got a %s"):format(type(s)), 2)
   end
   local h = hasher()
   h.update(s)
   return h.hex()
end

--- The SHA-256 of a file's bytes, read in chunks; raises an error naming the path when the
-- file cannot be opened or read.
function M.file(path)
   if type(path) ~= "string" then
      error(("sha256.file: expected a path, got a %s"):format(type(path)), 2)
   end
   local f, err = io.open(path, "rb")
   if not f then error(("cannot read %s to hash it: %s"):format(path, tostring(err)), 0) end
   local h = hasher()
   while true do
      local chunk, rerr = f:read(CHUNK)
      if chunk == nil then
         f:close()
         if rerr then error(("cannot read %s to hash it: %s"):format(path, tostring(rerr)), 0) end
         break
      end
      h.update(chunk)
   end
   return h.hex()
end

return M
