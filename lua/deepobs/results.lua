--- DeepOBS 1.1 result files: number formatting, setting-folder names, JSON text.
--
--    local results = require "deepobs.results"
--    results.float2str(0.001)                --> "1.e-03"   (DeepOBS 1.1's float2str)
--    results.setting_folder{ num_epochs = 100, batch_size = 128, lr = 0.01,
--       hyperparams = { momentum = 0.99, use_nesterov = false } }
--    --> "num_epochs__100__batch_size__128__momentum__9.9e-01__use_nesterov__False__lr__1.e-02"
--    results.encode(value)                   -- Python json.dumps text of a value
--    results.write_atomic(path, text)        -- temp file in the same folder + os.rename
--
-- The JSON text is written by hand (cjson does not keep key order): Python's
-- json.dump separators (", " and ": "), floats in Python's repr (the shortest
-- text that reads back to the same double), NaN / Infinity / -Infinity as bare
-- tokens, as DeepOBS 1.1's files have them.
local M = {}

local floor, huge = math.floor, math.huge
local ffi = require "ffi"
pcall(ffi.cdef, "int snprintf(char *str, size_t size, const char *format, ...);")
local fbuf = ffi.new("char[64]")

-- C's printf for a double: exact, ties to even (LuaJIT's own string.format rounds
-- exact ties up: 2.66056060791015625 -> ...563 where Python and glibc write ...562)
local function cfmt(fmt, x)
   local n = ffi.C.snprintf(fbuf, 64, fmt, ffi.cast("double", x))
   return ffi.string(fbuf, n)
end

---------------------------------------------------------------------------------------
-- numbers

--- DeepOBS 1.1 float2str: "{:.10e}" with the trailing zeros of the mantissa
-- stripped and the dot kept (0.001 -> "1.e-03", 0.999 -> "9.99e-01").
function M.float2str(x)
   assert(type(x) == "number", "float2str: expected a number")
   if x ~= x then return "nan" end
   if x == huge then return "inf" end
   if x == -huge then return "-inf" end
   local s = cfmt("%.10e", x)
   local mant, exp = s:match("^(.-)e(.*)$")
   mant = mant:gsub("0+$", "")
   return mant .. "e" .. exp
end

--- Python's repr() of a float (what json.dump writes): shortest round-trip
-- digits, positional notation for 1e-4 <= |x| < 1e16, else d.ddde+XX.
local PREC = {}
for p = 0, 16 do PREC[p] = "%." .. p .. "e" end

function M.pyfloat(x)
   if x ~= x then return "NaN" end
   if x == huge then return "Infinity" end
   if x == -huge then return "-Infinity" end
   if x == 0 then return (1 / x < 0) and "-0.0" or "0.0" end
   local s
   for p = 0, 16 do
      s = cfmt(PREC[p], x)
      if tonumber(s) == x then break end
   end
   local sign, d1, rest, exp = s:match("^(%-?)(%d)%.?(%d*)e([-+]%d+)$")
   exp = tonumber(exp)
   local digits = (d1 .. rest):gsub("0+$", "")
   if digits == "" then digits = "0" end
   if exp < -4 or exp >= 16 then
      local m = digits:sub(1, 1)
      if #digits > 1 then m = m .. "." .. digits:sub(2) end
      return ("%s%se%s%02d"):format(sign, m, exp < 0 and "-" or "+", math.abs(exp))
   elseif exp < 0 then
      return sign .. "0." .. ("0"):rep(-exp - 1) .. digits
   else
      local int = digits:sub(1, exp + 1)
      int = int .. ("0"):rep(exp + 1 - #int)
      local frac = digits:sub(exp + 2)
      if frac == "" then frac = "0" end
      return sign .. int .. "." .. frac
   end
end

local function is_int(x) return type(x) == "number" and x == floor(x) and x > -2 ^ 53 and x < 2 ^ 53 end

--- An integer as Python's str(int) writes it.
function M.pyint(x)
   assert(is_int(x), "pyint: expected an integer")
   return ("%d"):format(x)
end

---------------------------------------------------------------------------------------
-- setting folder and file name

local function hp_str(v, typ)
   if type(v) == "boolean" then return v and "True" or "False" end
   if type(v) == "number" then
      if typ == "integer" then return M.pyint(v) end
      return M.float2str(v)
   end
   if v == nil then return "None" end
   return tostring(v)
end
M.hp_str = hp_str

--- The DeepOBS 1.1 setting folder name.
-- s.num_epochs, s.batch_size, s.weight_decay (only when passed explicitly),
-- s.hyperparams (name -> value, lr excluded), s.hp_types (name -> "number" |
-- "integer" | "boolean" | "string"), s.lr, s.lr_sched_epochs, s.lr_sched_factors.
-- Beyond 1.1: s.validation (a run on the reduced training set of a validation split) and
-- s.schedule_suffix (a schedule 1.1 could not name, see deepobs/schedule.lua) add their
-- parts, so that such runs never share a folder with 1.1's.
function M.setting_folder(s)
   local parts = { "num_epochs__", M.pyint(s.num_epochs), "__batch_size__", M.pyint(s.batch_size), "__" }
   if s.weight_decay ~= nil then
      parts[#parts + 1] = "weight_decay__" .. M.float2str(s.weight_decay) .. "__"
   end
   local names = {}
   for k in pairs(s.hyperparams or {}) do
      if k ~= "lr" then names[#names + 1] = k end
   end
   table.sort(names)
   for _, k in ipairs(names) do
      parts[#parts + 1] = k .. "__" .. hp_str(s.hyperparams[k], s.hp_types and s.hp_types[k]) .. "__"
   end
   if s.validation then parts[#parts + 1] = "validation__True__" end
   if s.schedule_suffix then
      parts[#parts + 1] = s.schedule_suffix -- it names the base lr too
   elseif s.lr_sched_epochs ~= nil then
      parts[#parts + 1] = "lr_schedule__0_" .. M.float2str(s.lr)
      for i, e in ipairs(s.lr_sched_epochs) do
         parts[#parts + 1] = "_" .. M.pyint(e) .. "_" .. M.float2str(s.lr_sched_factors[i] * s.lr)
      end
   else
      parts[#parts + 1] = "lr__" .. M.float2str(s.lr)
   end
   return table.concat(parts)
end

--- random_seed__<seed>__<YYYY-MM-DD-HH-MM-SS>.json for a time (os.time()).
function M.file_name(seed, time)
   return ("random_seed__%s__%s.json"):format(M.pyint(seed), os.date("%Y-%m-%d-%H-%M-%S", time))
end

---------------------------------------------------------------------------------------
-- JSON text

local escapes = { ['"'] = '\\"', ["\\"] = "\\\\", ["\b"] = "\\b", ["\f"] = "\\f",
                  ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t" }

local function encode_string(s)
   return '"' .. s:gsub('[%c"\\]', function(c)
      return escapes[c] or ("\\u%04x"):format(c:byte())
   end) .. '"'
end

-- Values: nil / M.null -> null, booleans, strings, numbers (floats unless
-- wrapped by M.int or listed as integers), arrays (Lua sequences, or
-- M.array{...} when empty), ordered objects M.object{ {k, v}, ... }.
M.null = setmetatable({}, { __tostring = function() return "null" end })
local INT, ARRAY, OBJECT = {}, {}, {}

--- Marks a number (or a list of numbers) to be written as a Python int.
function M.int(v) return setmetatable({ v = v }, INT) end
--- Marks a table as a JSON array (needed for empty lists).
function M.array(t) return setmetatable({ v = t }, ARRAY) end
--- An ordered object: a list of { key, value } pairs.
function M.object(pairs_) return setmetatable({ v = pairs_ }, OBJECT) end

local encode

local function encode_list(t, as_int, out)
   out[#out + 1] = "["
   for i = 1, #t do
      if i > 1 then out[#out + 1] = ", " end
      encode(t[i], as_int, out)
   end
   out[#out + 1] = "]"
end

encode = function(v, as_int, out)
   local tv = type(v)
   if v == nil or v == M.null then
      out[#out + 1] = "null"
   elseif tv == "boolean" then
      out[#out + 1] = v and "true" or "false"
   elseif tv == "number" then
      out[#out + 1] = as_int and M.pyint(v) or M.pyfloat(v)
   elseif tv == "string" then
      out[#out + 1] = encode_string(v)
   elseif tv == "table" then
      local mt = getmetatable(v)
      if mt == INT then
         encode(v.v, true, out)
      elseif mt == ARRAY then
         encode_list(v.v, as_int, out)
      elseif mt == OBJECT then
         out[#out + 1] = "{"
         for i, kv in ipairs(v.v) do
            if i > 1 then out[#out + 1] = ", " end
            out[#out + 1] = encode_string(kv[1])
            out[#out + 1] = ": "
            encode(kv[2], as_int, out)
         end
         out[#out + 1] = "}"
      elseif next(v) == nil or v[1] ~= nil then
         encode_list(v, as_int, out)
      else
         -- plain map: keys sorted, so the text is reproducible
         local keys = {}
         for k in pairs(v) do keys[#keys + 1] = tostring(k) end
         table.sort(keys)
         local pairs_ = {}
         for i, k in ipairs(keys) do pairs_[i] = { k, v[k] } end
         encode(M.object(pairs_), as_int, out)
      end
   else
      error("results.encode: cannot write a " .. tv .. " as JSON", 2)
   end
end

--- The JSON text of a value (Python json.dumps style, no indent).
function M.encode(v)
   local out = {}
   encode(v, false, out)
   return table.concat(out)
end

---------------------------------------------------------------------------------------
-- the DeepOBS 1.1 result object

--- Builds the ordered JSON object of a run. r has the fields of the 1.1 file
-- (train_losses, test_losses, minibatch_train_losses, train_accuracies,
-- test_accuracies (nil when the problem has no accuracy), valid_losses and
-- valid_accuracies (with a validation split, named as DeepOBS 1.2 names them), optimizer,
-- testproblem, weight_decay, batch_size, num_epochs, learning_rate,
-- lr_sched_epochs, lr_sched_factors, random_seed, train_log_interval,
-- hyperparams (ordered list of {name, value, type})) and extra keys in
-- r.extra (ordered list of {key, value}).
function M.result_object(r)
   local hp = {}
   for i, h in ipairs(r.hyperparams or {}) do
      hp[i] = { h[1], h[3] == "integer" and M.int(h[2]) or h[2] }
   end
   local o = { { "train_losses", M.array(r.train_losses) } }
   if r.valid_losses then o[#o + 1] = { "valid_losses", M.array(r.valid_losses) } end
   o[#o + 1] = { "test_losses", M.array(r.test_losses) }
   o[#o + 1] = { "minibatch_train_losses", M.array(r.minibatch_train_losses) }
   if r.train_accuracies then
      o[#o + 1] = { "train_accuracies", M.array(r.train_accuracies) }
      if r.valid_accuracies then o[#o + 1] = { "valid_accuracies", M.array(r.valid_accuracies) } end
      o[#o + 1] = { "test_accuracies", M.array(r.test_accuracies) }
   end
   local rest = {
      { "optimizer", r.optimizer },
      { "testproblem", r.testproblem },
      { "weight_decay", r.weight_decay == nil and M.null or r.weight_decay },
      { "batch_size", M.int(r.batch_size) },
      { "num_epochs", M.int(r.num_epochs) },
      { "learning_rate", r.learning_rate },
      { "lr_sched_epochs", r.lr_sched_epochs and M.int(M.array(r.lr_sched_epochs)) or M.null },
      { "lr_sched_factors", r.lr_sched_factors and M.array(r.lr_sched_factors) or M.null },
      { "random_seed", M.int(r.random_seed) },
      { "train_log_interval", M.int(r.train_log_interval) },
      { "hyperparams", M.object(hp) },
   }
   for _, kv in ipairs(rest) do o[#o + 1] = kv end
   for _, kv in ipairs(r.extra or {}) do o[#o + 1] = kv end
   return M.object(o)
end

---------------------------------------------------------------------------------------
-- files

pcall(ffi.cdef, [[
   int getpid(void);
   int link(const char *oldpath, const char *newpath);
   int unlink(const char *path);
   char *strerror(int errnum);
]])

local function errno_text() return ffi.string(ffi.C.strerror(ffi.errno())) end

--- mkdir -p (through the shell; paths are quoted).
function M.mkdir_p(dir)
   local q = "'" .. dir:gsub("'", "'\\''") .. "'"
   local ok = os.execute("mkdir -p " .. q .. " 2>/dev/null")
   if ok ~= 0 and ok ~= true then
      error("cannot create the output folder " .. dir .. " (check --output_dir and its permissions)", 0)
   end
end

--- Creates dir (and its parents) and checks that a file can be written in it, so that a
-- run learns before training, not after it, that its results would have nowhere to go.
function M.check_writable(dir)
   M.mkdir_p(dir)
   local probe = ("%s/.deepobs_write_test.%d"):format(dir, ffi.C.getpid())
   local f, err = io.open(probe, "wb")
   if not f then
      error(("cannot write in the output folder %s (%s); choose another --output_dir or fix its permissions")
         :format(dir, tostring(err)), 0)
   end
   f:close()
   os.remove(probe)
end

-- a name in the same folder that no other process uses, and that no reader takes for a
-- result (hidden, and not ending in .json)
local function temp_name(path)
   local dir = path:match("^(.*)/[^/]*$") or "."
   return ("%s/.%s.%d.tmp"):format(dir, path:match("[^/]*$"), ffi.C.getpid())
end

local function write_temp(path, text)
   local tmp = temp_name(path)
   local f, err = io.open(tmp, "wb")
   if not f then error("cannot write " .. tmp .. ": " .. tostring(err), 0) end
   local ok, werr = f:write(text)
   local cok, cerr = f:close()
   if not ok or not cok then
      os.remove(tmp)
      error("cannot write " .. tmp .. ": " .. tostring(werr or cerr), 0)
   end
   return tmp
end

--- Writes text to path atomically: a temporary file in the same folder, then
-- os.rename, so readers never see a partial file.
function M.write_atomic(path, text)
   local tmp = write_temp(path, text)
   local rok, rerr = os.rename(tmp, path)
   if not rok then
      os.remove(tmp)
      error("cannot rename " .. tmp .. " to " .. path .. ": " .. tostring(rerr), 0)
   end
   return path
end

--- Writes text to path atomically without replacing a file that is already there: when
-- path exists, to <stem>_2<ext>, <stem>_3<ext>, ... (link(2) fails instead of replacing,
-- so two processes can never take the same name). Returns the path written.
function M.write_new(path, text)
   local tmp = write_temp(path, text)
   local stem, ext = path:match("^(.*)(%.[^./]*)$")
   if not stem then stem, ext = path, "" end
   local target = path
   for k = 2, 10000 do
      if ffi.C.link(tmp, target) == 0 then
         ffi.C.unlink(tmp)
         return target
      end
      local e = ffi.errno()
      if e ~= 17 then -- EEXIST: try the next name; anything else is a real failure
         local msg = errno_text()
         os.remove(tmp)
         error(("cannot write %s: %s"):format(target, msg), 0)
      end
      target = ("%s_%d%s"):format(stem, k, ext)
   end
   os.remove(tmp)
   error("cannot write " .. path .. ": 10,000 files of that name already exist", 0)
end

return M
