--- A data file as a byte stream: gzip-compressed (RFC 1952; inflated with
-- zlib) or plain, told apart by the gzip magic bytes 1f 8b. Shared by the IDX
-- and tar readers. Errors name the file, what was being read and the fix.
--
--    gz.with(path, { noun = "archive", fix = "download it again" }, function(s)
--       s:read_exact(buf, n, "the header")     -- raises when the stream ends first
--       local got = s:read_some(buf, n, what)  -- short only at the end
--       if n > s:bound() then ... end          -- a claimed size no stream this long can hold
--       s:expect_end("the data")               -- nothing may follow
--    end)
--
-- Before opening, the path must be a regular file (datasets/formats/file.lua:
-- a FIFO would block the open). A gzip file may hold several members, one
-- after the other, which RFC 1952 section 2.2 allows and gunzip reads as one
-- stream; anything else after a member (junk, zero padding, a truncated
-- member) is an error rather than silently ignored, as zlib's gzread would.
-- Every member's CRC-32 and length are checked when the stream is read to
-- its end, so readers finish with expect_end().
local ffi = require "ffi"
local file = require "datasets.formats.file"

ffi.cdef [[
typedef struct dob_z_stream {
   const uint8_t *next_in; unsigned avail_in; unsigned long total_in;
   uint8_t *next_out; unsigned avail_out; unsigned long total_out;
   const char *msg; void *state; void *zalloc; void *zfree; void *opaque;
   int data_type; unsigned long adler; unsigned long reserved;
} dob_z_stream;
int inflateInit2_(dob_z_stream *strm, int windowBits, const char *version, int stream_size);
int inflate(dob_z_stream *strm, int flush);
int inflateReset(dob_z_stream *strm);
int inflateEnd(dob_z_stream *strm);
const char *zlibVersion(void);
]]
local z = ffi.load("z")

local M = {}

--- Deflate's largest compression ratio (zlib's technical notes,
-- https://zlib.net/zlib_tech.html: "the limit is 1032:1"): no gzip file of
-- n bytes inflates to more than 1032 n bytes.
M.MAX_RATIO = 1032

-- bytes of the file read at a time, as one Lua string: LuaJIT maps a string of 128 KB or more
-- on its own and unmaps it when collected, while smaller ones fragment its heap, which then
-- stays resident (8 MB after reading Fashion-MNIST's 30 MB with 64 KB reads)
local CHUNK = 2 ^ 18
local Z_OK, Z_STREAM_END, Z_BUF_ERROR, Z_NO_FLUSH = 0, 1, -5, 0
local GZIP_WINDOW = 15 + 16   -- a gzip wrapper only (zlib.h, inflateInit2)

local Stream = {}
Stream.__index = Stream

function Stream:fail(fmt, ...)
   error(("%s: " .. fmt):format(self.path, ...) .. (self.fix ~= "" and ("; " .. self.fix) or ""), 0)
end

-- the next chunk of the file as compressed input; false at the end of the file
function Stream:refill()
   local s = self.f:read(CHUNK)
   if not s then return false end
   self.input = s   -- keeps the bytes alive while zlib points into them
   self.zs.next_in, self.zs.avail_in = s, #s
   self.read_in = self.read_in + #s
   return true
end

-- the first two bytes still to be inflated, reading on as needed; nil at the end of the file
function Stream:peek2()
   local zs = self.zs
   while zs.avail_in < 2 do
      local have = ffi.string(zs.next_in, zs.avail_in)
      local more = self.f:read(CHUNK)
      if not more then
         if have == "" then return nil end
         return have
      end
      self.read_in = self.read_in + #more
      self.input = have .. more
      zs.next_in, zs.avail_in = self.input, #self.input
   end
   return ffi.string(zs.next_in, 2)
end

-- a member ended: another one must follow, or nothing
function Stream:after_member()
   local at = self.read_in - self.zs.avail_in
   local next2 = self:peek2()
   if not next2 then self.done = true; return end
   if next2 ~= "\31\139" then
      self:fail("%d bytes of other data follow the gzip stream's end at byte %d; the file is corrupt or has "
         .. "something appended", self.size - at, at)
   end
   z.inflateReset(self.zs)
end

function Stream:inflate_some(out, n, what)
   local zs, got = self.zs, 0
   while got < n and not self.done do
      if zs.avail_in == 0 and not self:refill() then
         self:fail("truncated %s: the gzip stream ends early while reading %s (at %d bytes of data)",
            self.noun, what, self.produced + got)
      end
      zs.next_out, zs.avail_out = out + got, math.min(n - got, 2 ^ 30)
      local before = zs.avail_out
      local rc = z.inflate(zs, Z_NO_FLUSH)
      got = got + (before - zs.avail_out)
      if rc == Z_STREAM_END then
         self:after_member()
      elseif rc ~= Z_OK and rc ~= Z_BUF_ERROR then
         local msg = zs.msg ~= nil and ffi.string(zs.msg) or ("zlib error " .. rc)
         self:fail("corrupt %s: the gzip data does not inflate while reading %s (%s)", self.noun, what, msg)
      end
   end
   return got
end

function Stream:copy_some(out, n)
   local got = 0
   while got < n do
      local s = self.f:read(math.min(n - got, 2 ^ 20))
      if not s then break end
      ffi.copy(out + got, s, #s)
      got = got + #s
   end
   return got
end

--- Reads up to n bytes into buf; returns the count (short only at the end of the stream).
function Stream:read_some(buf, n, what)
   local out = ffi.cast("uint8_t *", buf)
   local got = self.gzip and self:inflate_some(out, n, what) or self:copy_some(out, n)
   self.produced = self.produced + got
   return got
end

--- Reads exactly n bytes into buf, or raises naming what was being read.
function Stream:read_exact(buf, n, what)
   local got = self:read_some(buf, n, what)
   if got < n then
      self:fail("truncated %s: %s needs %d bytes, only %d present", self.noun, what, n, got)
   end
end

--- The most bytes the rest of the stream can hold: exact for a plain file,
-- MAX_RATIO times the file's size for a gzip one.
function Stream:bound()
   if self.gzip then return M.MAX_RATIO * self.size - self.produced end
   return self.size - self.produced
end

--- Raises unless the stream ends here (after `what`), having read a gzip
-- file to its end, so that its checksums are verified.
function Stream:expect_end(what)
   local extra = self:read_some(ffi.new("uint8_t[1]"), 1, "the end")
   if extra > 0 then
      self:fail("longer than its header says: more data follows %s; the file is corrupt or has something appended", what)
   end
end

--- Opens path, runs fn(stream) and closes it, also when fn raises; returns
-- fn's result. opts.noun ("file") and opts.fix (what to do, "") word the errors.
function M.with(path, opts, fn)
   local fix = opts.fix or ""
   local size = file.check(path, fix)
   local f, err = io.open(path, "rb")
   if not f then error(("%s: cannot open (%s)"):format(path, tostring(err)), 0) end
   local s = setmetatable({ f = f, path = path, noun = opts.noun or "file", fix = fix, size = size,
      produced = 0, read_in = 0, done = false }, Stream)
   local head = f:read(2) or ""
   s.gzip = head == "\31\139"
   f:seek("set", 0)
   if s.gzip then
      s.zs = ffi.new("dob_z_stream")
      local rc = z.inflateInit2_(s.zs, GZIP_WINDOW, z.zlibVersion(), ffi.sizeof("dob_z_stream"))
      if rc ~= Z_OK then f:close(); error(("%s: zlib cannot start inflating (error %d)"):format(path, rc), 0) end
   end
   local ok, res = pcall(fn, s)
   if s.zs then z.inflateEnd(s.zs) end
   f:close()
   if not ok then error(res, 0) end
   return res
end

return M
