--- numpy's .npy files (format 1.0, also read: 2.0 and 3.0), for int64,
-- float32 and uint8 arrays: what DeepOBS's Tolstoi preprocessing writes
-- (np.save of an int64 array) and what numpy reads back.
--
--    local npy = require "datasets.formats.npy"
--    local t = npy.read("train.npy")           -- a deepobs tensor
--    npy.write("x.npy", t)                     -- int64 / float32 / uint8, any shape
--
-- Layout: "\x93NUMPY", major, minor, header length (uint16 LE in 1.0, uint32
-- LE in 2.0/3.0), an ASCII Python dict literal
-- {'descr': '<i8', 'fortran_order': False, 'shape': (N,), } padded with
-- spaces and a final newline so that the data starts at a multiple of 64,
-- then the raw little-endian elements in C order.
local ffi = require "ffi"
local dob = require "deepobs"
local file = require "datasets.formats.file"

local M = {}

local MAGIC = "\147NUMPY"
-- descr <-> engine dtype ("|u1" and "<u1" are both what numpy may write for uint8)
local DTYPE_OF = { ["<i8"] = "int64", ["<f4"] = "float32", ["|u1"] = "uint8", ["<u1"] = "uint8" }
local DESCR_OF = { int64 = "<i8", float32 = "<f4", uint8 = "|u1" }
local ITEMSIZE = { int64 = 8, float32 = 4, uint8 = 1 }
local KEYS = { descr = true, fortran_order = true, shape = true }

assert(ffi.abi("le"), "datasets.formats.npy assumes a little-endian machine")

local FIX = "delete it and run scripts/prepare_data.sh again"
local CORRUPT = "the file is not a valid .npy file (corrupt or truncated); " .. FIX

local function fail(path, msg)
   error(("%s: %s"):format(path, msg), 0)
end

-- A parser for the header numpy writes: a Python dict literal with the keys
-- descr (a string), fortran_order (True / False) and shape (a tuple of
-- non-negative ints), in any order, each once, then white space. numpy reads
-- it with ast.literal_eval (numpy/lib/format.py, _read_array_header); what
-- that would refuse is refused here, so a damaged header is never guessed at.
local function parse_header(path, h)
   local pos = 1
   local function bad(what)
      fail(path, ("malformed header %q: %s at byte %d of the header; %s"):format(h:sub(1, 120), what, pos, CORRUPT))
   end
   local function skip() pos = h:match("^[ \t\n]*()", pos) end
   local function take(lit)
      skip()
      if h:sub(pos, pos + #lit - 1) ~= lit then return false end
      pos = pos + #lit
      return true
   end
   local function expect(lit, what) if not take(lit) then bad("expected " .. what) end end
   local function string_lit()
      skip()
      local q = h:sub(pos, pos)
      if q ~= "'" and q ~= '"' then bad("expected a quoted string") end
      local body, after = h:match("^([^'\"\\\n]*)" .. q .. "()", pos + 1)
      if not body then bad("an unterminated string") end
      pos = after
      return body
   end
   local function int_lit()
      skip()
      local tok = h:match("^[^,%s)]*", pos)
      local digits = tok:match("^(%d+)L?$")
      if not digits or (#digits > 1 and digits:sub(1, 1) == "0") then
         fail(path, ("bad size '%s' in the header's shape; %s"):format(tok, CORRUPT))
      end
      if #digits > 16 then
         fail(path, ("the header's shape holds a size of %d digits, more than any file holds; %s"):format(#digits, CORRUPT))
      end
      pos = pos + #tok
      return tonumber(digits)
   end
   local function tuple_lit()
      expect("(", "a shape tuple '(...)'")
      local shape = {}
      if take(")") then return shape end
      while true do
         shape[#shape + 1] = int_lit()
         if take(")") then
            if #shape == 1 then bad("a one-element shape without its comma, '(n,)'") end
            return shape
         end
         expect(",", "',' or ')' in the shape")
         if take(")") then return shape end
      end
   end
   local fields = {}
   expect("{", "'{'")
   while not take("}") do
      local key = string_lit()
      if not KEYS[key] then bad(("an unknown key '%s' (only descr, fortran_order and shape)"):format(key)) end
      if fields[key] ~= nil then bad(("the key '%s' twice"):format(key)) end
      expect(":", "':'")
      if key == "descr" then fields.descr = string_lit()
      elseif key == "shape" then fields.shape = tuple_lit()
      elseif take("True") then fields.fortran_order = true
      elseif take("False") then fields.fortran_order = false
      else bad("fortran_order must be True or False") end
      if not take(",") then expect("}", "',' or '}'"); break end
   end
   skip()
   if pos <= #h then bad("something other than white space after the dict") end
   for key in pairs(KEYS) do
      if fields[key] == nil then bad(("no '%s' key"):format(key)) end
   end
   local dtype = DTYPE_OF[fields.descr]
   if not dtype then
      fail(path, ("element type '%s' is not supported (int64 '<i8', float32 '<f4' and uint8 '|u1' are); %s")
         :format(fields.descr, CORRUPT))
   end
   local multi = 0
   for _, n in ipairs(fields.shape) do if n > 1 then multi = multi + 1 end end
   if fields.fortran_order and multi > 1 then
      fail(path, "Fortran-order arrays are not supported; save it with np.save(path, np.ascontiguousarray(a))")
   end
   return dtype, fields.shape
end

-- reads n bytes from f into ptr, in pieces (no Lua string of the whole); returns the count
local function read_into(f, ptr, n)
   local got = 0
   while got < n do
      local s = f:read(math.min(n - got, 2 ^ 20))
      if not s then break end
      ffi.copy(ptr + got, s, #s)
      got = got + #s
   end
   return got
end

-- the array of an open .npy file of `size` bytes
local function read_open(path, f, size)
   local pre = f:read(8) or ""
   if #pre < 8 or pre:sub(1, 6) ~= MAGIC then
      fail(path, "not a .npy file (no \\x93NUMPY magic at the start); " .. CORRUPT)
   end
   local major = pre:byte(7)
   local lenbytes = (major == 1) and 2 or ((major == 2 or major == 3) and 4 or nil)
   if not lenbytes then fail(path, ("unsupported .npy format version %d.%d; %s"):format(major, pre:byte(8), CORRUPT)) end
   local lb = f:read(lenbytes) or ""
   if #lb < lenbytes then fail(path, "truncated header; " .. CORRUPT) end
   local hlen = 0
   for i = lenbytes, 1, -1 do hlen = hlen * 256 + lb:byte(i) end
   local start = 8 + lenbytes + hlen
   if start > size then
      fail(path, ("truncated header: it claims %d bytes, the file has %d after the length field; %s")
         :format(hlen, size - 8 - lenbytes, CORRUPT))
   end
   local dtype, shape = parse_header(path, f:read(hlen) or "")
   local n = 1
   for _, s in ipairs(shape) do n = n * s end
   local nbytes = n * ITEMSIZE[dtype]
   local dims = {}
   for i, s in ipairs(shape) do dims[i] = ("%.0f"):format(s) end
   local claim = ("%s of %s (%.0f bytes)"):format(#shape > 0 and table.concat(dims, "x") or "a scalar", dtype, nbytes)
   if start + nbytes > size then
      fail(path, ("truncated: the header says %s, only %d bytes follow; %s"):format(claim, size - start, CORRUPT))
   end
   if start + nbytes < size then
      fail(path, ("longer than its header says (%s): %d more bytes follow; %s"):format(claim, size - start - nbytes, CORRUPT))
   end
   local t = dob.empty(#shape > 0 and shape or { 1 }, dtype)
   if #shape == 0 then t = t:view({}) end
   if read_into(f, ffi.cast("uint8_t *", t:data()), nbytes) ~= nbytes or f:read(1) then
      fail(path, "changed while being read; read it again when nothing writes it")
   end
   return t
end

--- read(path) -> tensor (int64, float32 or uint8) of the file's shape. Errors
-- name the file and say what is wrong: missing, not a regular file, not
-- .npy, a malformed header, truncated, too long, unsupported element type.
-- The header's shape is checked against the file's size before anything is
-- allocated.
function M.read(path)
   local size = file.check(path, FIX)
   local f, err = io.open(path, "rb")
   if not f then fail(path, "cannot open (" .. tostring(err) .. ")") end
   local ok, t = pcall(read_open, path, f, size)
   f:close()
   if not ok then error(t, 0) end
   return t
end

--- write(path, tensor): a format 1.0 .npy file that np.load reads. Written to
-- path .. ".part" and renamed, so a crash leaves no half-written file.
function M.write(path, t)
   local dtype = t:dtype()
   local descr = DESCR_OF[dtype]
   if not descr then error(("npy.write: element type %s is not supported (int64, float32, uint8)"):format(tostring(dtype)), 2) end
   local shape = t:size()
   local shape_s
   if #shape == 0 then shape_s = "()"
   elseif #shape == 1 then shape_s = ("(%d,)"):format(shape[1])
   else shape_s = "(" .. table.concat(shape, ", ") .. ")" end
   local dict = ("{'descr': '%s', 'fortran_order': False, 'shape': %s, }"):format(descr, shape_s)
   -- pad with spaces so that magic(6) + version(2) + length(2) + header ends at a multiple of 64
   local total = 10 + #dict + 1
   local pad = (64 - total % 64) % 64
   local header = dict .. string.rep(" ", pad) .. "\n"
   if #header > 65535 then error("npy.write: header too long", 2) end
   local c = t:contiguous()
   local nbytes = c:numel() * ITEMSIZE[dtype]
   local tmp = path .. ".part"
   local f, err = io.open(tmp, "wb")
   if not f then error(("npy.write: cannot create %s (%s)"):format(tmp, tostring(err)), 2) end
   f:write(MAGIC, "\1\0", string.char(#header % 256, math.floor(#header / 256)), header)
   if nbytes > 0 then f:write(ffi.string(c:data(), nbytes)) end
   local ok = f:close()
   if not ok then os.remove(tmp); error("npy.write: cannot write " .. tmp, 2) end
   local rok, rerr = os.rename(tmp, path)
   if not rok then error(("npy.write: cannot rename %s to %s (%s)"):format(tmp, path, tostring(rerr)), 2) end
   return path
end

return M
