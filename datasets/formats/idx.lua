--- Reader for the IDX files of MNIST and Fashion-MNIST, gzipped as
-- distributed or plain (datasets/formats/gz.lua tells them apart).
--
--    local idx = require "datasets.formats.idx"
--    local t = idx.read("train-images-idx3-ubyte.gz")   -- uint8 tensor [60000, 28, 28]
--    local x = idx.read(path, 255)   -- float32 tensor of byte / 255
--
-- IDX (http://yann.lecun.com/exdb/mnist/): big-endian magic 0x00 0x00 <type>
-- <ndims>, then ndims uint32 sizes, then the data in C order. MNIST uses type
-- 0x08 (uint8) for both images and labels. The sizes' product is checked
-- against the file's size (plain: exactly; gzip: deflate's largest ratio)
-- before anything is allocated, and nothing may follow the data.
local ffi = require "ffi"
local dob = require "deepobs"
local gz = require "datasets.formats.gz"

local M = {}

--- The largest IDX payload read: 16 GiB, far above MNIST's 47 MB.
M.MAX_BYTES = 2 ^ 34

local FIX = "the file is corrupt or not an IDX file: download it again (scripts/prepare_data.sh)"

-- bytes read at a time when they are read as floats
local CHUNK = 2 ^ 20

-- n bytes of s into the float32 tensor t, as floats divided by scale, a chunk at a time: the
-- bytes are never held whole next to their floats (MNIST's training images: 47 MB beside 188 MB)
local function read_scaled(s, t, n, scale, what)
   local bytes, flat = dob.empty({ CHUNK }, "uint8"), t:view(n)
   for at = 0, n - 1, CHUNK do
      local len = math.min(CHUNK, n - at)
      local chunk = bytes:narrow(1, 1, len)
      s:read_exact(chunk:data(), len, what)
      flat:narrow(1, at + 1, len):copy_(chunk):div_(scale)
   end
   bytes:free()
end

--- Reads an IDX file into a uint8 tensor of its shape, or, given scale, into a float32 tensor
-- of byte / scale (a float32 division, as in TF's X.astype(float32) / scale).
function M.read(path, scale)
   return gz.with(path, { fix = FIX }, function(s)
      local head = ffi.new("uint8_t[4]")
      s:read_exact(head, 4, "the header")
      if head[0] ~= 0 or head[1] ~= 0 then
         s:fail("not an IDX file (bad magic number %02x%02x%02x%02x)", head[0], head[1], head[2], head[3])
      end
      if head[2] ~= 0x08 then
         s:fail("IDX element type 0x%02x is not supported (MNIST files use 0x08, unsigned bytes)", head[2])
      end
      local ndim = head[3]
      if ndim < 1 or ndim > 4 then s:fail("an IDX file with %d dimensions (1 to 4 are read)", ndim) end
      local dims = ffi.new("uint8_t[?]", 4 * ndim)
      s:read_exact(dims, 4 * ndim, "the sizes")
      local shape, n = {}, 1
      for d = 0, ndim - 1 do
         local size = dims[4 * d] * 2 ^ 24 + dims[4 * d + 1] * 2 ^ 16 + dims[4 * d + 2] * 2 ^ 8 + dims[4 * d + 3]
         shape[d + 1] = size
         n = n * size
      end
      local claim = table.concat(shape, "x")
      if n > M.MAX_BYTES then s:fail("the header claims %s = %.0f bytes, more than any IDX data set", claim, n) end
      if n > s:bound() then
         s:fail("truncated %s: the header claims %s = %.0f bytes of data, the %d-byte%s file cannot hold them", s.noun,
            claim, n, s.size, s.gzip and " gzip" or "")
      end
      local t = dob.empty(shape, scale and "float32" or "uint8")
      local what = ("the data (%s bytes)"):format(claim)
      if scale then read_scaled(s, t, n, scale, what)
      elseif n > 0 then s:read_exact(t:data(), n, what) end
      s:expect_end(("the %s bytes the header claims"):format(claim))
      return t
   end)
end

return M
