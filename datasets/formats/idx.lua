--- Reader for the IDX files of MNIST and Fashion-MNIST, gzipped (read through
-- zlib, which also reads plain files) or not.
--
-- IDX: big-endian magic 0x00 0x00 <type> <ndims>, then ndims uint32 sizes, then
-- the data. MNIST uses type 0x08 (uint8) for both images and labels.
local ffi = require "ffi"
local dob = require "deepobs"
local gz = require "datasets.formats.gz"

local M = {}

--- Reads an IDX file into a uint8 tensor of its shape.
function M.read(path)
   return gz.with(path, {}, function(s)
      local head = ffi.new("uint8_t[4]")
      gz.read_exact(s, head, 4, "the header")
      if head[0] ~= 0 or head[1] ~= 0 then
         error(("%s: not an IDX file (bad magic number %02x%02x%02x%02x)"):format(path, head[0], head[1], head[2], head[3]), 0)
      end
      if head[2] ~= 0x08 then
         error(("%s: IDX element type 0x%02x is not supported (MNIST files use 0x08, unsigned bytes)"):format(path, head[2]), 0)
      end
      local ndim = head[3]
      if ndim < 1 or ndim > 4 then error(("%s: IDX file with %d dims"):format(path, ndim), 0) end
      local dims = ffi.new("uint8_t[?]", 4 * ndim)
      gz.read_exact(s, dims, 4 * ndim, "the sizes")
      local shape, n = {}, 1
      for d = 0, ndim - 1 do
         local s = dims[4 * d] * 2 ^ 24 + dims[4 * d + 1] * 2 ^ 16 + dims[4 * d + 2] * 2 ^ 8 + dims[4 * d + 3]
         shape[d + 1] = s
         n = n * s
      end
      if n > 2 ^ 34 then error(("%s: implausible size %s"):format(path, table.concat(shape, "x")), 0) end
      local t = dob.empty(shape, "uint8")
      gz.read_exact(s, t:data(), n, "the data")
      if gz.read_some(s, ffi.new("uint8_t[1]"), 1, "the end") > 0 then
         error(("%s: longer than its header says (%s); the file may be corrupt"):format(path, table.concat(shape, "x")), 0)
      end
      return t
   end)
end

return M
