--- Files read through zlib's gz stream (gzipped or not: gzread passes plain
-- files through), shared by the IDX and tar readers. Errors name the file and
-- say how to fix it.
--
--    gz.with(path, { noun = "archive", hint = "; download it again" }, function(s)
--       gz.read_exact(s, buf, n, "the header")
--    end)
local ffi = require "ffi"

ffi.cdef [[
typedef struct gzFile_s *gzFile;
gzFile gzopen(const char *path, const char *mode);
int gzread(gzFile file, void *buf, unsigned int len);
int gzclose(gzFile file);
const char *gzerror(gzFile file, int *errnum);
]]
local z = ffi.load("z")

local M = {}

--- Opens path, runs fn(stream) and closes it, also when fn raises; returns fn's
-- result. opts.noun ("file") and opts.hint ("") word the errors.
function M.with(path, opts, fn)
   local f = io.open(path, "rb")
   if not f then error(("%s: file not found"):format(path), 0) end
   f:close()
   local gz = z.gzopen(path, "rb")
   if gz == nil then error(("%s: cannot open"):format(path), 0) end
   local s = { gz = gz, path = path, noun = opts.noun or "file", hint = opts.hint or "" }
   local ok, res = pcall(fn, s)
   z.gzclose(gz)
   if not ok then error(res, 0) end
   return res
end

--- Reads up to n bytes into buf; returns the count (short only at the end of the stream).
function M.read_some(s, buf, n, what)
   local got = 0
   while got < n do
      local r = z.gzread(s.gz, ffi.cast("uint8_t*", buf) + got, math.min(n - got, 2 ^ 30))
      if r < 0 then
         local errnum = ffi.new("int[1]")
         error(("%s: corrupt %s while reading %s (%s)%s"):format(s.path, s.noun, what,
            ffi.string(z.gzerror(s.gz, errnum)), s.hint), 0)
      end
      if r == 0 then break end
      got = got + r
   end
   return got
end

--- Reads exactly n bytes into buf, or raises naming what was being read.
function M.read_exact(s, buf, n, what)
   local got = M.read_some(s, buf, n, what)
   if got < n then
      error(("%s: truncated %s: %s needs %d bytes, only %d present%s"):format(s.path, s.noun, what, n, got, s.hint), 0)
   end
end

return M
