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

local M = {}

local MAGIC = "\147NUMPY"
-- descr <-> engine dtype ("|u1" and "<u1" are both what numpy may write for uint8)
local DTYPE_OF = { ["<i8"] = "int64", ["<f4"] = "float32", ["|u1"] = "uint8", ["<u1"] = "uint8" }
local DESCR_OF = { int64 = "<i8", float32 = "<f4", uint8 = "|u1" }
local ITEMSIZE = { int64 = 8, float32 = 4, uint8 = 1 }

assert(ffi.abi("le"), "datasets.formats.npy assumes a little-endian machine")

local function fail(path, msg)
   error(("%s: %s"):format(path, msg), 0)
end

local CORRUPT_HINT = "the file is not a valid .npy file (corrupt or truncated); delete it and run scripts/prepare_data.sh again"

-- parses the header dict; returns dtype, shape (a table)
local function parse_header(path, h)
   local descr = h:match("['\"]descr['\"]%s*:%s*['\"]([^'\"]*)['\"]")
   local fortran = h:match("['\"]fortran_order['\"]%s*:%s*(%a+)")
   local shape_s = h:match("['\"]shape['\"]%s*:%s*(%b())")
   if not descr or not fortran or not shape_s or not h:match("^%s*{") then
      fail(path, ("malformed header %q; %s"):format(h:sub(1, 120), CORRUPT_HINT))
   end
   local dtype = DTYPE_OF[descr]
   if not dtype then
      fail(path, ("element type '%s' is not supported (int64 '<i8', float32 '<f4' and uint8 '|u1' are)"):format(descr))
   end
   local shape = {}
   for tok in shape_s:sub(2, -2):gmatch("[^,%s]+") do
      local n = tonumber(tok:match("^(%d+)L?$"))
      if not n then fail(path, ("bad size '%s' in the header's shape %s; %s"):format(tok, shape_s, CORRUPT_HINT)) end
      shape[#shape + 1] = n
   end
   if fortran ~= "False" and fortran ~= "True" then
      fail(path, ("bad fortran_order '%s'; %s"):format(fortran, CORRUPT_HINT))
   end
   local multi = 0
   for _, s in ipairs(shape) do if s > 1 then multi = multi + 1 end end
   if fortran == "True" and multi > 1 then
      fail(path, "Fortran-order arrays are not supported; save it with np.save(path, np.ascontiguousarray(a))")
   end
   return dtype, shape
end

--- read(path) -> tensor (int64, float32 or uint8) of the file's shape. Errors
-- name the file and say what is wrong: missing, not .npy, truncated, too long,
-- unsupported element type.
function M.read(path)
   local f, err = io.open(path, "rb")
   if not f then fail(path, "cannot open (" .. tostring(err) .. ")") end
   local pre = f:read(8) or ""
   if #pre < 8 or pre:sub(1, 6) ~= MAGIC then
      f:close()
      fail(path, "not a .npy file (no \\x93NUMPY magic at the start); " .. CORRUPT_HINT)
   end
   local major = pre:byte(7)
   local lenbytes = (major == 1) and 2 or ((major == 2 or major == 3) and 4 or nil)
   if not lenbytes then f:close(); fail(path, ("unsupported .npy format version %d.%d"):format(major, pre:byte(8))) end
   local lb = f:read(lenbytes) or ""
   if #lb < lenbytes then f:close(); fail(path, "truncated header; " .. CORRUPT_HINT) end
   local hlen = 0
   for i = lenbytes, 1, -1 do hlen = hlen * 256 + lb:byte(i) end
   local h = f:read(hlen) or ""
   if #h < hlen then f:close(); fail(path, ("truncated header (%d of %d bytes); %s"):format(#h, hlen, CORRUPT_HINT)) end
   local ok, dtype, shape = pcall(parse_header, path, h)
   if not ok then f:close(); error(dtype, 0) end
   local n = 1
   for _, s in ipairs(shape) do n = n * s end
   local nbytes = n * ITEMSIZE[dtype]
   local t = dob.empty(#shape > 0 and shape or { 1 }, dtype)
   if #shape == 0 then t = t:view({}) end
   local data = ""
   if nbytes > 0 then data = f:read(nbytes) or "" end
   local extra = f:read(1)
   f:close()
   if #data < nbytes then
      fail(path, ("truncated: the header says %s elements of %s (%d bytes), only %d bytes follow; %s")
         :format(table.concat(shape, "x"), dtype, nbytes, #data, CORRUPT_HINT))
   end
   if extra then
      fail(path, ("longer than its header says (%s of %s); %s"):format(table.concat(shape, "x"), dtype, CORRUPT_HINT))
   end
   if nbytes > 0 then ffi.copy(t:data(), data, nbytes) end
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
