--- MATLAB v5 .mat files (MathWorks, "MAT-File Format", the Level 5 format):
-- the numeric arrays of SVHN's train_32x32.mat and test_32x32.mat, for
-- scripts/svhn_convert.lua.
--
--    local mat = require "datasets.formats.mat"
--    local vars = mat.read("train_32x32.mat")
--    vars.X.dims, vars.X.class, vars.X.ptr[0]     -- { 32, 32, 3, 73257 }, "uint8", ...
--
-- Little-endian files only (what MATLAB writes on x86): a 128-byte header
-- (text, subsystem offset, version 0x0100, endian mark "IM"), then data
-- elements: an 8-byte tag (uint32 type, uint32 bytes; or the "small element"
-- form with bytes in the upper 16 bits and the data in the next 4 bytes), the
-- data padded to 8 bytes. miCOMPRESSED (15) elements hold one
-- zlib-compressed element. A variable is a miMATRIX (14) element: array flags
-- (class in the low byte), dimensions (int32), name (int8), real part (any
-- numeric type: MATLAB stores a double array in the smallest type that holds
-- its values). Arrays are column-major. Every size is checked against the
-- bytes that hold it, and an inflated size against deflate's largest ratio,
-- before anything is allocated.
local ffi = require "ffi"
local file = require "datasets.formats.file"
local gz = require "datasets.formats.gz"

ffi.cdef [[
int uncompress(uint8_t *dest, unsigned long *destLen, const uint8_t *source, unsigned long sourceLen);
]]
local z = ffi.load("z")

local M = {}

local MAX_RATIO = gz.MAX_RATIO
local FIX = "download it again (scripts/prepare_data.sh svhn)"

local MI = { INT8 = 1, UINT8 = 2, INT16 = 3, UINT16 = 4, INT32 = 5, UINT32 = 6, SINGLE = 7, DOUBLE = 9,
   INT64 = 12, UINT64 = 13, MATRIX = 14, COMPRESSED = 15, UTF8 = 16 }
local ELEM = {   -- element type -> C type, size
   [1] = { "int8_t", 1 }, [2] = { "uint8_t", 1 }, [3] = { "int16_t", 2 }, [4] = { "uint16_t", 2 },
   [5] = { "int32_t", 4 }, [6] = { "uint32_t", 4 }, [7] = { "float", 4 }, [9] = { "double", 8 },
   [12] = { "int64_t", 8 }, [13] = { "uint64_t", 8 }, [16] = { "uint8_t", 1 },
}
-- MATLAB array classes
local CLASS = { [6] = "double", [7] = "single", [8] = "int8", [9] = "uint8", [10] = "int16", [11] = "uint16",
   [12] = "int32", [13] = "uint32", [14] = "int64", [15] = "uint64", [4] = "char", [2] = "struct", [1] = "cell" }

local function u32(p, at) return ffi.cast("const uint32_t*", p + at)[0] end

local function fail(path, msg) error(("%s: %s"):format(path, msg), 0) end

-- reads one tag at p[at]: type, nbytes, data offset, offset of the next element
local function tag(p, at, limit, path)
   if at + 8 > limit then fail(path, ("truncated .mat file: an element tag at byte %d is cut short"):format(at)) end
   local w = u32(p, at)
   if w >= 65536 then   -- small data element: bytes in the upper half, data in the tag's second word
      local t, n = w % 65536, math.floor(w / 65536)
      if n > 4 then fail(path, ("corrupt .mat file: small element of %d bytes at byte %d"):format(n, at)) end
      return t, n, at + 4, at + 8
   end
   local n = u32(p, at + 4)
   local data = at + 8
   if data + n > limit then
      fail(path, ("truncated .mat file: an element at byte %d needs %d bytes, %d present; download it again")
         :format(at, n, limit - data))
   end
   local pad = (w == MI.COMPRESSED) and 0 or (8 - n % 8) % 8
   return w, n, data, math.min(data + n + pad, limit)
end

-- the numeric data of an element as { ctype =, n =, ptr = } (ptr into p, kept alive by the caller)
local function numeric(p, t, n, data, path, what)
   local e = ELEM[t]
   if not e then fail(path, ("unsupported element type %d for %s"):format(t, what)) end
   if n % e[2] ~= 0 then fail(path, ("corrupt .mat file: %s has %d bytes, not a multiple of %d"):format(what, n, e[2])) end
   return { ctype = e[1], n = n / e[2], ptr = ffi.cast("const " .. e[1] .. "*", p + data) }
end

-- parses a miMATRIX element's content p[from, to)
local function parse_matrix(p, from, to, path, keep)
   local t, n, d, nxt = tag(p, from, to, path)
   if t ~= MI.UINT32 or n < 8 then fail(path, "corrupt .mat file: a matrix without array flags") end
   local class = CLASS[u32(p, d) % 256] or ("class " .. u32(p, d) % 256)
   local complex = math.floor(u32(p, d) / 2048) % 2 == 1
   t, n, d, nxt = tag(p, nxt, to, path)
   if t ~= MI.INT32 then fail(path, "corrupt .mat file: a matrix without dimensions") end
   if n % 4 ~= 0 or n < 8 then fail(path, ("corrupt .mat file: %d bytes of dimensions"):format(n)) end
   local dims, count = {}, 1
   local pd = ffi.cast("const int32_t*", p + d)
   for k = 0, n / 4 - 1 do
      if pd[k] < 0 then fail(path, ("corrupt .mat file: a negative dimension %d"):format(pd[k])) end
      dims[k + 1] = pd[k]
      count = count * pd[k]
   end
   t, n, d, nxt = tag(p, nxt, to, path)
   local name = ffi.string(p + d, n)
   local v = { class = class, dims = dims, name = name, n = count, complex = complex }
   if class == "struct" or class == "cell" or class == "char" then return v end
   t, n, d, nxt = tag(p, nxt, to, path)
   local num = numeric(p, t, n, d, path, ("the data of %s"):format(name))
   if num.n ~= count then
      fail(path, ("corrupt .mat file: %s is %s but holds %d values"):format(name, table.concat(dims, "x"), num.n))
   end
   v.ctype, v.ptr = num.ctype, num.ptr
   v.keep = keep   -- the buffer behind ptr
   return v
end

local function inflate(p, d, n, path)
   -- the inflated element's tag gives its size: inflate 8 bytes first (zlib
   -- fills a short buffer before reporting Z_BUF_ERROR), then all of it
   local head = ffi.new("uint8_t[8]")
   local len = ffi.new("unsigned long[1]", 8)
   local rc = z.uncompress(head, len, p + d, n)
   if (rc ~= 0 and rc ~= -5) or len[0] < 8 then
      fail(path, ("corrupt .mat file: a compressed element does not inflate (zlib error %d); download it again"):format(rc))
   end
   local total = 8 + ffi.cast("const uint32_t*", head)[1]
   if total > MAX_RATIO * n + 8 then
      fail(path, ("corrupt .mat file: a compressed element of %d bytes claims %d bytes inflated, more than deflate "
         .. "can hold; %s"):format(n, total, FIX))
   end
   local out = ffi.new("uint8_t[?]", total)
   len[0] = total
   rc = z.uncompress(out, len, p + d, n)
   if rc ~= 0 or len[0] ~= total then
      fail(path, ("corrupt or truncated .mat file: a compressed element gave %d of %d bytes (zlib error %d); "
         .. "download it again"):format(tonumber(len[0]), total, rc))
   end
   return out, total
end

local function add(vars, v, path)
   if vars[v.name] then fail(path, ("two variables named '%s'; %s"):format(v.name, FIX)) end
   vars[v.name] = v
end

--- Reads the numeric variables of a MATLAB v5 .mat file: a table name ->
-- { class =, dims = {..}, n =, ctype =, ptr = (into memory kept alive by .keep) };
-- struct, cell and char arrays come without ptr.
function M.read(path)
   local s = file.read_all(path, FIX)
   if #s < 128 then fail(path, ("not a MATLAB v5 .mat file (only %d bytes)"):format(#s)) end
   if s:sub(1, 6) == "\137HDF\r\n" or s:sub(513, 520) == "\137HDF\r\n\26\n" then
      fail(path, "a MATLAB v7.3 (HDF5) file; SVHN's are v5: download them again")
   end
   local mark = s:sub(127, 128)
   if mark == "MI" then fail(path, "a big-endian .mat file; only little-endian files are read") end
   if mark ~= "IM" or not s:match("^MATLAB") then fail(path, "not a MATLAB v5 .mat file (bad header)") end
   local p = ffi.cast("const uint8_t*", s)
   local vars, at, limit = {}, 128, #s
   while at < limit do
      local t, n, d, nxt = tag(p, at, limit, path)
      if t == MI.COMPRESSED then
         local buf, total = inflate(p, d, n, path)
         local t2, _, d2 = tag(buf, 0, total, path)
         if t2 == MI.MATRIX then add(vars, parse_matrix(buf, d2, total, path, buf), path) end
      elseif t == MI.MATRIX then
         add(vars, parse_matrix(p, d, d + n, path, s), path)
      end
      at = nxt
   end
   return vars
end

return M
