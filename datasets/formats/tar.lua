--- A small reader for (gzipped) tar archives: pulls chosen members into
-- uint8 tensors in one pass over the stream, without unpacking to disk.
--
--    local tar = require "datasets.formats.tar"
--    local got = tar.read_members("cifar-10-binary.tar.gz", { "data_batch_1.bin", "test_batch.bin" })
--    got["data_batch_1.bin"]   -- uint8 tensor [size], nil if the archive lacks it
--
-- Members are matched by their base name (the CIFAR archives put the files in
-- a top folder, which DeepOBS 1.1's deepobs/scripts/deepobs_prepare_data.sh
-- stripped with `tar --strip 1`); two members with a wanted base name are an
-- error, not a guess. The gzip layer is datasets/formats/gz.lua, which reads
-- plain .tar too.
--
-- Format (POSIX.1-2001 ustar, with GNU's extensions): 512-byte headers (name
-- 0..99, size 124..135 in octal or GNU base-256, checksum 148..155, type 156,
-- ustar prefix 345..499), each member's data padded to a multiple of 512. The
-- archive ends with a zero block, and only zeros may follow it (writers pad
-- to their record size); the stream is read to its end so that a gzip
-- file's checksum is verified. GNU long names ('L') and pax records ('x':
-- path and size) are understood; other member types are skipped. Every size
-- is checked against what the rest of the file can hold before anything is
-- allocated or skipped.
local ffi = require "ffi"
local bit = require "bit"
local dob = require "deepobs"
local gz = require "datasets.formats.gz"

local M = {}

local BLOCK = 512
--- The largest pax or long-name record read (their contents are a few names).
M.MAX_META = 2 ^ 20
--- The largest member read into memory: 64 GiB.
M.MAX_MEMBER = 2 ^ 36

local FIX = "download it again with scripts/prepare_data.sh"

local function cstring(h, from, len)
   local s = ffi.string(h + from, len)
   return (s:gsub("%z.*$", ""))
end

-- a header's number field: octal digits (space or NUL padded), or GNU
-- base-256 (top bit of the first byte set) for sizes of 8 GiB and more
local function number(s, h, from, len, at, what)
   if bit.band(h[from], 0x80) ~= 0 then
      if h[from] ~= 0x80 then
         s:fail("corrupt archive (the %s in the header at byte %d is a negative base-256 number)", what, at)
      end
      local v = 0
      for k = from + 1, from + len - 1 do v = v * 256 + h[k] end
      return v
   end
   local field = cstring(h, from, len):gsub("^%s+", ""):gsub("%s+$", "")
   if field == "" then return 0 end
   if not field:match("^[0-7]+$") then
      s:fail("corrupt archive (bad %s '%s' in the header at byte %d); is this a tar archive?", what, field, at)
   end
   return tonumber(field, 8)
end

local function basename(name) return (name:gsub("/+$", ""):match("([^/]*)$")) end

-- pax extended header records: "LEN key=value\n", LEN counting the whole record
local function pax_records(s, text, at)
   local out, pos = {}, 1
   while pos <= #text do
      local len_s, key, value = text:match("^(%d+) ([^=]+)=", pos)
      local len = tonumber(len_s)
      if not len or len < 1 or pos + len - 1 > #text or text:sub(pos + len - 1, pos + len - 1) ~= "\n" then
         s:fail("corrupt archive (a malformed pax record in the member at byte %d)", at)
      end
      value = text:sub(pos + #len_s + #key + 2, pos + len - 2)
      out[key] = value
      pos = pos + len
   end
   return out
end

-- the header block's checksum: its bytes summed with the checksum field as spaces
local function checksum(h)
   local sum, zero = 0, true
   for k = 0, BLOCK - 1 do
      local b = (k >= 148 and k < 156) and 32 or h[k]
      sum = sum + b
      if h[k] ~= 0 then zero = false end
   end
   return sum, zero
end

-- after the end-of-archive block: only zeros, to the end of the stream
local function read_padding(s, buf, at)
   while true do
      local got = s:read_some(buf, BLOCK, "the end of the archive")
      for k = 0, got - 1 do
         if buf[k] ~= 0 then
            s:fail("corrupt archive: data at byte %d follows the end-of-archive block (two archives joined, or a "
               .. "damaged header)", at + k)
         end
      end
      if got < BLOCK then return end
      at = at + got
   end
end

--- Reads the members whose base names are listed in `wanted` from the tar
-- (or tar.gz) archive at path. Returns a table base name -> uint8 tensor.
function M.read_members(path, wanted)
   local want = {}
   for _, n in ipairs(wanted) do want[n] = true end
   return gz.with(path, { noun = "archive", fix = FIX }, function(s)
      local out, where = {}, {}
      local h = ffi.new("uint8_t[?]", BLOCK)
      local scratch = ffi.new("uint8_t[?]", 65536)
      local at, pending, members = 0, {}, 0
      local function skip(n, what)
         while n > 0 do
            local c = math.min(n, 65536)
            s:read_exact(scratch, c, what)
            n = n - c
         end
      end
      while true do
         local got = s:read_some(h, BLOCK, ("the header at byte %d"):format(at))
         if got == 0 then
            s:fail("truncated archive: it ends at byte %d without the end-of-archive block", at)
         end
         if got < BLOCK then s:fail("truncated archive: the header at byte %d is cut short", at) end
         local sum, zero = checksum(h)
         if zero then read_padding(s, h, at + BLOCK); break end
         local stored = number(s, h, 148, 8, at, "checksum")
         if stored ~= sum then
            s:fail("corrupt archive (header checksum at byte %d is %d, the header sums to %d)%s", at, stored, sum,
               members == 0 and "; is this a tar archive?" or "")
         end
         members = members + 1
         local name = cstring(h, 0, 100)
         if ffi.string(h + 257, 5) == "ustar" then
            local prefix = cstring(h, 345, 155)
            if prefix ~= "" then name = prefix .. "/" .. name end
         end
         name = pending.path or name
         local size = pending.size or number(s, h, 124, 12, at, "size")
         pending = {}
         local kind = string.char(h[156])
         local padded = math.ceil(size / BLOCK) * BLOCK
         if padded > s:bound() then
            s:fail("truncated archive: member %s at byte %d claims %.0f bytes, more than the rest of the file can hold",
               name, at, size)
         end
         at = at + BLOCK
         local label = ("member %s (%.0f bytes at byte %d)"):format(name, size, at)
         if kind == "L" or kind == "x" then
            if size > M.MAX_META then
               s:fail("corrupt archive: the %s record at byte %d claims %.0f bytes", kind == "L" and "long-name" or "pax",
                  at - BLOCK, size)
            end
            local meta = ffi.new("uint8_t[?]", math.max(padded, 1))
            s:read_exact(meta, padded, label)
            local text = ffi.string(meta, size)
            if kind == "L" then pending.path = text:gsub("%z.*$", "")
            else
               local rec = pax_records(s, text, at - BLOCK)
               pending.path = rec.path
               if rec.size then
                  pending.size = rec.size:match("^%d+$") and tonumber(rec.size)
                  if not pending.size then s:fail("corrupt archive (pax size '%s' at byte %d)", rec.size, at - BLOCK) end
               end
            end
         elseif (kind == "0" or kind == "\0" or kind == "7") and want[basename(name)] then
            local base = basename(name)
            if where[base] then
               s:fail("the archive holds two members named %s (%s and %s); it is not the official archive", base,
                  where[base], name)
            end
            if size > M.MAX_MEMBER then s:fail("%s is larger than any data file this reader takes", label) end
            local t = dob.empty({ size }, "uint8")
            if size > 0 then s:read_exact(t:data(), size, label) end
            skip(padded - size, label)
            out[base], where[base] = t, name
         else
            skip(padded, label)
         end
         at = at + padded
      end
      s:expect_end("the archive")
      return out
   end)
end

return M
