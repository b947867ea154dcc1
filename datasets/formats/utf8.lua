--- UTF-8 text as Unicode code points, decoded as strictly as Python 3's
-- utf-8 codec, which DeepOBS's text preprocessing ran on
-- (deepobs/scripts/_tolstoi_preprocess.py reads the text with open()):
-- overlong forms, UTF-16 surrogates, code points above U+10FFFF and cut
-- sequences are errors naming the file and the byte offset, never characters.
--
--    local utf8 = require "datasets.formats.utf8"
--    local cps = utf8.codepoints(s, "input.txt", "the fix")   -- Lua array of code points
--    utf8.char(0x00E9)                             -- "é"
local ffi = require "ffi"

local M = {}

-- the lead byte's sequence length and the range of its second byte (the
-- Unicode Standard, Table 3-7, "Well-Formed UTF-8 Byte Sequences")
local function lead(b)
   if b >= 0xC2 and b <= 0xDF then return 1, 0x80, 0xBF end
   if b == 0xE0 then return 2, 0xA0, 0xBF end
   if b == 0xED then return 2, 0x80, 0x9F end
   if b >= 0xE1 and b <= 0xEF then return 2, 0x80, 0xBF end
   if b == 0xF0 then return 3, 0x90, 0xBF end
   if b == 0xF4 then return 3, 0x80, 0x8F end
   if b >= 0xF1 and b <= 0xF3 then return 3, 0x80, 0xBF end
end

--- The code points of a UTF-8 string (what Python 3 iterates over after
-- reading the file as utf-8); `what` names the text in errors and `fix`
-- (default: save the text as UTF-8) ends them.
function M.codepoints(s, what, fix)
   what = what or "text"
   fix = fix or "save the text as UTF-8"
   local out, n = {}, 0
   local p = ffi.cast("const uint8_t *", s)
   local len, i = #s, 0
   while i < len do
      local b = p[i]
      local cp, extra, lo, hi = b, 0, nil, nil
      if b >= 0x80 then
         extra, lo, hi = lead(b)
         if not extra then
            error(("%s: not valid UTF-8 (byte 0x%02x at offset %d); %s"):format(what, b, i, fix), 0)
         end
         if i + extra > len - 1 then
            error(("%s: not valid UTF-8 (a truncated sequence at offset %d); the file may be cut short: %s")
               :format(what, i, fix), 0)
         end
         cp = b % (2 ^ (6 - extra))
         for k = 1, extra do
            local c = p[i + k]
            local min, max = 0x80, 0xBF
            if k == 1 then min, max = lo, hi end
            if c < min or c > max then
               error(("%s: not valid UTF-8 (byte 0x%02x at offset %d); %s"):format(what, c, i + k, fix), 0)
            end
            cp = cp * 64 + (c - 0x80)
         end
      end
      n = n + 1
      out[n] = cp
      i = i + extra + 1
   end
   return out
end

--- The UTF-8 bytes of code point cp.
function M.char(cp)
   if cp < 0x80 then return string.char(cp) end
   if cp < 0x800 then return string.char(0xC0 + math.floor(cp / 64), 0x80 + cp % 64) end
   if cp < 0x10000 then
      return string.char(0xE0 + math.floor(cp / 4096), 0x80 + math.floor(cp / 64) % 64, 0x80 + cp % 64)
   end
   return string.char(0xF0 + math.floor(cp / 262144), 0x80 + math.floor(cp / 4096) % 64,
      0x80 + math.floor(cp / 64) % 64, 0x80 + cp % 64)
end

return M
