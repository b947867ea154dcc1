--- Reader for the IDX files of MNIST and Fashion-MNIST, gzipped (read through
-- zlib, which also reads plain files) or not.
--
-- IDX: big-endian magic 0x00 0x00 <type> <ndims>, then ndims uint32 sizes, then
-- the data. MNIST uses type 0x08 (uint8) for both images and labels.
local ffi = require "ffi"
local dob = require "deepobs"

ffi.cdef [[
typedef struct gzFile_s *gzFile;
gzFile gzopen(const char *path, const char *mode);
int gzread(gzFile file, void *buf, unsigned int len);
int gzclose(gzFile file);
const char *gzerror(gzFile file, int *errnum);
]]
local z = ffi.load("z")

local M = {}

local function read_exact(gz, buf, n, path, what)
   local got = 0
   while got < n do
      local chunk = math.min(n - got, 2 ^ 30)
      local r = z.gzread(gz, ffi.cast("uint8_t*", buf) + got, chunk)
      if r < 0 then
         local errnum = ffi.new("int[1]")
         error(("%s: corrupt file while reading %s (%s)"):format(path, what, ffi.string(z.gzerror(gz, errnum))), 0)
      end
      if r == 0 then
         error(("%s: truncated file: %s needs %d bytes, only %d present"):format(path, what, n, got), 0)
      end
      got = got + r
   end
end

--- Reads an IDX file into a uint8 tensor of its shape.
function M.read(path)
   local f = io.open(path, "rb")
   if not f then error(("%s: file not found"):format(path), 0) end
   f:close()
   local gz = z.gzopen(path, "rb")
   if gz == nil then error(("%s: cannot open"):format(path), 0) end
   local ok, res = pcall(function()
      local head = ffi.new("uint8_t[4]")
      read_exact(gz, head, 4, path, "the header")
      if head[0] ~= 0 or head[1] ~= 0 then
         error(("%s: not an IDX file (bad magic number %02x%02x%02x%02x)"):format(path, head[0], head[1], head[2], head[3]), 0)
      end
      if head[2] ~= 0x08 then
         error(("%s: IDX element type 0x%02x is not supported (MNIST files use 0x08, unsigned bytes)"):format(path, head[2]), 0)
      end
      local ndim = head[3]
      if ndim < 1 or ndim > 4 then error(("%s: IDX file with %d dims"):format(path, ndim), 0) end
      local dims = ffi.new("uint8_t[?]", 4 * ndim)
      read_exact(gz, dims, 4 * ndim, path, "the sizes")
      local shape, n = {}, 1
      for d = 0, ndim - 1 do
         local s = dims[4 * d] * 2 ^ 24 + dims[4 * d + 1] * 2 ^ 16 + dims[4 * d + 2] * 2 ^ 8 + dims[4 * d + 3]
         shape[d + 1] = s
         n = n * s
      end
      if n > 2 ^ 34 then error(("%s: implausible size %s"):format(path, table.concat(shape, "x")), 0) end
      local t = dob.empty(shape, "uint8")
      read_exact(gz, t:data(), n, path, "the data")
      local extra = ffi.new("uint8_t[1]")
      if z.gzread(gz, extra, 1) > 0 then
         error(("%s: longer than its header says (%s); the file may be corrupt"):format(path, table.concat(shape, "x")), 0)
      end
      return t
   end)
   z.gzclose(gz)
   if not ok then error(res, 0) end
   return res
end

return M
