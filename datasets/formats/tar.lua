--- A small reader for (gzipped) tar archives: pulls chosen members into
-- uint8 tensors in one pass over the stream, without unpacking to disk.
--
--    local tar = require "datasets.formats.tar"
--    local got = tar.read_members("cifar-10-binary.tar.gz", { "data_batch_1.bin", "test_batch.bin" })
--    got["data_batch_1.bin"]   -- uint8 tensor [size], nil if the archive lacks it
--
-- Members are matched by their base name (the CIFAR archives put the files in
-- a top folder, which 1.1 stripped with `tar --strip 1`). The gzip layer is
-- zlib's gz stream (datasets/formats/gz.lua), which reads plain .tar too.
-- Format: 512-byte headers (name 0..99, size 124..135 in octal or GNU
-- base-256, checksum 148..155, type 156, ustar prefix 345..499), each
-- member's data padded to a multiple of 512; the archive ends with a zero
-- block (or at the end of the stream). GNU long names ('L') and pax 'path'
-- records ('x') are understood; other member types are skipped.
local ffi = require "ffi"
local dob = require "deepobs"
local gz = require "datasets.formats.gz"

local M = {}

local BLOCK = 512
local FIX = "; download it again with scripts/prepare_data.sh"

local function cstring(h, from, len)
   local s = ffi.string(h + from, len)
   return (s:gsub("%z.*$", ""))
end

local function octal(h, from, len, path, at)
   if bit.band(h[from], 0x80) ~= 0 then   -- GNU base-256 for sizes >= 8 GiB
      local v = bit.band(h[from], 0x7f)
      for k = from + 1, from + len - 1 do v = v * 256 + h[k] end
      return v
   end
   local s = cstring(h, from, len):gsub("^%s+", ""):gsub("%s+$", "")
   if s == "" then return 0 end
   if not s:match("^[0-7]+$") then
      error(("%s: corrupt archive (bad number '%s' in the header at byte %d); is this a tar archive? "
         .. "download it again with scripts/prepare_data.sh"):format(path, s, at), 0)
   end
   return tonumber(s, 8)
end

local function basename(name) return (name:gsub("/+$", ""):match("([^/]*)$")) end

--- Reads the members whose base names are listed in `wanted` from the tar
-- (or tar.gz) archive at path. Returns a table base name -> uint8 tensor.
function M.read_members(path, wanted)
   local want = {}
   for _, n in ipairs(wanted) do want[n] = true end
   return gz.with(path, { noun = "archive", hint = FIX }, function(s)
      local out = {}
      local h = ffi.new("uint8_t[?]", BLOCK)
      local scratch = ffi.new("uint8_t[?]", 65536)
      local at, long_name, members = 0, nil, 0
      while true do
         local got = gz.read_some(s, h, BLOCK, ("the header at byte %d"):format(at))
         if got == 0 then break end   -- end of stream without the zero blocks
         if got < BLOCK then
            error(("%s: truncated archive: a header at byte %d is cut short; download it again with "
               .. "scripts/prepare_data.sh"):format(path, at), 0)
         end
         local sum, zero = 0, true
         for k = 0, BLOCK - 1 do
            local b = (k >= 148 and k < 156) and 32 or h[k]
            sum = sum + b
            if h[k] ~= 0 then zero = false end
         end
         if zero then break end
         local stored = octal(h, 148, 8, path, at)
         if stored ~= sum then
            error(("%s: corrupt archive (header checksum at byte %d is %d, the header sums to %d); "
               .. "%s"):format(path, at, stored, sum,
               members == 0 and "is this a tar archive? download it again with scripts/prepare_data.sh"
               or "download it again with scripts/prepare_data.sh"), 0)
         end
         members = members + 1
         local name = cstring(h, 0, 100)
         if ffi.string(h + 257, 5) == "ustar" then
            local prefix = cstring(h, 345, 155)
            if prefix ~= "" then name = prefix .. "/" .. name end
         end
         if long_name then name, long_name = long_name, nil end
         local size = octal(h, 124, 12, path, at)
         local kind = string.char(h[156])
         local padded = math.ceil(size / BLOCK) * BLOCK
         at = at + BLOCK
         local function skip(n)
            while n > 0 do
               local c = math.min(n, 65536)
               gz.read_exact(s, scratch, c, ("member %s"):format(name))
               n = n - c
            end
         end
         if kind == "L" or kind == "x" then
            local meta = ffi.new("uint8_t[?]", math.max(padded, 1))
            gz.read_exact(s, meta, padded, ("the header data of %s"):format(name))
            local text = ffi.string(meta, size)
            if kind == "L" then long_name = text:gsub("%z.*$", "")
            else long_name = text:match("%d+ path=([^\n]*)\n") end
         elseif (kind == "0" or kind == "\0" or kind == "7") and want[basename(name)] and not out[basename(name)] then
            local t = dob.empty({ math.max(size, 0) }, "uint8")
            if size > 0 then gz.read_exact(s, t:data(), size, ("member %s (%d bytes)"):format(name, size)) end
            skip(padded - size)
            out[basename(name)] = t
         else
            skip(padded)
         end
         at = at + padded
      end
      return out
   end)
end

return M
