-- A minimal PNG reader for the specs (8-bit RGB / RGBA, non-interlaced, as Chromium's
-- screenshots are): decode(bytes) -> { width, height, channels, pixel(x, y) -> r, g, b }.
-- zlib through the FFI; the five scanline filters undone in Lua.
local ffi = require "ffi"
local bit = require "bit"

pcall(ffi.cdef, [[
int uncompress(uint8_t *dest, unsigned long *destLen, const uint8_t *source, unsigned long sourceLen);
]])
local z = ffi.load("z")

local M = {}

local function u32(s, i)
   local a, b, c, d = s:byte(i, i + 3)
   return ((a * 256 + b) * 256 + c) * 256 + d
end

function M.decode(s)
   assert(s:sub(1, 8) == "\137PNG\r\n\26\n", "not a PNG file")
   local pos, w, h, depth, ctype, interlace = 9, nil, nil, nil, nil, nil
   local idat = {}
   while pos <= #s do
      local len, typ = u32(s, pos), s:sub(pos + 4, pos + 7)
      local data = s:sub(pos + 8, pos + 7 + len)
      if typ == "IHDR" then
         w, h, depth, ctype, interlace = u32(data, 1), u32(data, 5), data:byte(9), data:byte(10), data:byte(13)
      elseif typ == "IDAT" then
         idat[#idat + 1] = data
      elseif typ == "IEND" then
         break
      end
      pos = pos + 12 + len
   end
   assert(w and depth == 8 and (ctype == 2 or ctype == 6) and interlace == 0, "unsupported PNG format")
   local ch = ctype == 6 and 4 or 3
   local stride = w * ch
   local raw_len = h * (stride + 1)
   local raw = ffi.new("uint8_t[?]", raw_len)
   local dlen = ffi.new("unsigned long[1]", raw_len)
   local src = table.concat(idat)
   assert(z.uncompress(raw, dlen, src, #src) == 0 and dlen[0] == raw_len, "corrupt PNG data")
   local img = ffi.new("uint8_t[?]", h * stride)
   for y = 0, h - 1 do
      local f = raw[y * (stride + 1)]
      local line = raw + y * (stride + 1) + 1
      local out, prev = img + y * stride, img + (y - 1) * stride
      for x = 0, stride - 1 do
         local a = x >= ch and out[x - ch] or 0
         local b = y > 0 and prev[x] or 0
         local c = (x >= ch and y > 0) and prev[x - ch] or 0
         local v = line[x]
         if f == 1 then v = v + a
         elseif f == 2 then v = v + b
         elseif f == 3 then v = v + bit.rshift(a + b, 1)
         elseif f == 4 then
            local p = a + b - c
            local pa, pb, pc = math.abs(p - a), math.abs(p - b), math.abs(p - c)
            if pa <= pb and pa <= pc then v = v + a elseif pb <= pc then v = v + b else v = v + c end
         end
         out[x] = bit.band(v, 255)
      end
   end
   return { width = w, height = h, channels = ch,
      pixel = function(x, y)
         local i = y * stride + x * ch
         return img[i], img[i + 1], img[i + 2]
      end }
end

return M
