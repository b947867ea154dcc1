--- Argument checks for the engine's public functions. Each check raises an error that
-- names the function, the argument and what was expected, positioned at the first
-- caller outside this package (so a message points at the user's line, never into
-- deepobs), and returns the value (or a default for nil) converted for C where that
-- applies:
--
--    local A = require "deepobs.argcheck"
--    local len = A.int("narrow", "length", len, 0)   -- narrow: argument 'length' must be a
--                                                     -- non-negative integer, got -1
--    A.cint(op, name, v, lo, default)      -- an integer that fits C's int
--    A.number(op, name, v, default)        -- any number (NaN and inf included)
--    A.finite(op, name, v, default)        -- not NaN, not +-inf
--    A.range(op, name, v, lo, hi, default) -- a number in [lo, hi]
--    A.flag / A.string(op, name, v, choices) / A.table / A.callable
--    A.dim(op, name, d, ndim, extra)       -- a 1-based dim (negative from the end) -> 0-based
--    A.wrong(op, name, expected, v)        -- "op: argument 'name' must be <expected>, got <v>"
--    A.fail(op, fmt, ...)                  -- "op: <message>"; op nil: the function the user called
--    A.raise(msg)                          -- error(msg) at the user's line
--    A.describe(v)                         -- "nan", "the string \"x\"", "a float32 tensor of size [2x3]"
--    A.name_functions(t, prefix)           -- names public functions for messages (see entry)
--
-- Numbers bound for C `int` parameters are checked against its range, and those bound for
-- int64 against +-2^53 (the integers a Lua number holds exactly), so nothing is converted
-- with a silent wrap-around.
local M = {}

M.INT_MAX = 2 ^ 31 - 1
M.EXACT = 2 ^ 53

-- the folder this package lives in: frames from files under it are the package's own
local PACKAGE_DIR = debug.getinfo(1, "S").source:match("^@(.*[/\\])[^/\\]*$") or ""

local function in_package(source)
   return source:sub(1, 1) == "@" and PACKAGE_DIR ~= "" and source:sub(2, #PACKAGE_DIR + 1) == PACKAGE_DIR
end

-- The level, counted from the caller of this function, of the first frame that is not
-- this package's code (nil when every frame is).
local function user_level()
   local level = 3
   while true do
      local info = debug.getinfo(level, "S")
      if not info then return nil end
      if not in_package(info.source) then return level - 1 end
      level = level + 1
   end
end

--- error(msg) at the user's code: the first frame outside this package.
function M.raise(msg)
   local l = user_level()
   error(msg, l or 0)
end

--- The debug info ("Sl": short_src, currentline) of the user's code that called into the
-- package, or nil when every frame is the package's.
function M.caller()
   local l = user_level()
   return l and debug.getinfo(l, "Sl")
end

-- public function -> its name in messages (see name_functions)
local names = setmetatable({}, { __mode = "k" })

--- Registers the functions in table t under prefix .. key ("" for plain names), so that
-- messages of shared helpers name them even when called through an alias or a tail call.
function M.name_functions(t, prefix)
   for k, v in pairs(t) do
      if type(k) == "string" and type(v) == "function" and names[v] == nil then names[v] = (prefix or "") .. k end
   end
end

--- Registers one function under name.
function M.name_function(fn, name) names[fn] = name end

--- The name of the public function the user's code called into ("narrow" for
-- x:narrow(...), "zeros" for dob.zeros(...)), for messages of helpers shared by many
-- functions: the registered name, else the name the call used; "deepobs" when neither
-- can be told.
function M.entry()
   local l = user_level()
   local fn = l and debug.getinfo(l - 1, "f")
   local known = fn and names[fn.func]
   if known then return known end
   local info = l and debug.getinfo(l - 1, "n")
   local name = info and info.name
   if type(name) ~= "string" or name == "?" then return "deepobs" end
   if name == "__index" or name == "__newindex" then return "index" end
   return (name:gsub("^__", ""))
end

-- describers of object types by metatable (the Tensor class registers its own)
local describers = {}

--- Registers fn(v) -> text that describes values with metatable mt in messages.
function M.describe_type(mt, fn) describers[mt] = fn end

--- A short description of any value, for "got ..." in messages.
function M.describe(v)
   local tv = type(v)
   if tv == "number" then
      if v ~= v then return "nan" end
      if v == math.huge then return "inf" end
      if v == -math.huge then return "-inf" end
      if v % 1 == 0 and math.abs(v) < 2 ^ 63 then return ("%.0f"):format(v) end
      local s = ("%.14g"):format(v)
      if tonumber(s) ~= v then s = ("%.17g"):format(v) end
      return s
   end
   if tv == "string" then
      if #v > 40 then v = v:sub(1, 37) .. "..." end
      return ("the string %q"):format(v)
   end
   if tv == "nil" or tv == "boolean" then return tostring(v) end
   local mt = getmetatable(v)
   local d = mt ~= nil and describers[mt]
   if d then return d(v) end
   if tv == "table" and type(mt) == "table" and type(rawget(mt, "__name")) == "string" then
      return "a " .. rawget(mt, "__name")
   end
   return "a " .. tv
end

--- Raises "op: message" at the user's code; message may be a format with arguments
-- (op nil: the name the user called, see entry).
function M.fail(op, fmt, ...)
   M.raise((op or M.entry()) .. ": " .. (select("#", ...) > 0 and fmt:format(...) or fmt))
end

--- Raises "op: argument 'name' must be <expected>, got <v>".
function M.wrong(op, name, expected, v)
   M.raise(("%s: argument '%s' must be %s, got %s"):format(op or M.entry(), name, expected, M.describe(v)))
end

local function is_int(v) return type(v) == "number" and v % 1 == 0 and v >= -M.EXACT and v <= M.EXACT end

-- "an integer", "an integer >= 0", "an integer in [1, 8]"
local function int_text(lo, hi)
   if lo and hi then return ("an integer in [%s, %s]"):format(M.describe(lo), M.describe(hi)) end
   if lo == 0 then return "a non-negative integer" end
   if lo == 1 then return "a positive integer" end
   if lo then return "an integer >= " .. M.describe(lo) end
   if hi then return "an integer <= " .. M.describe(hi) end
   return "an integer"
end

--- v as an integer in [lo, hi] (either bound may be nil: +-2^53); `default` when v is nil
-- and a default is given.
function M.int(op, name, v, lo, hi, default)
   if v == nil and default ~= nil then return default end
   if not is_int(v) or (lo and v < lo) or (hi and v > hi) then M.wrong(op, name, int_text(lo, hi), v) end
   return v
end

--- v as an integer that fits C's `int` (and is >= lo when given).
function M.cint(op, name, v, lo, default)
   return M.int(op, name, v, lo or -M.INT_MAX - 1, M.INT_MAX, default)
end

--- v as a number (NaN and infinities allowed); default when nil and one is given.
function M.number(op, name, v, default)
   if v == nil and default ~= nil then return default end
   if type(v) ~= "number" then M.wrong(op, name, "a number", v) end
   return v
end

--- v as a finite number (not NaN, not +-inf); default when nil and one is given.
function M.finite(op, name, v, default)
   if v == nil and default ~= nil then return default end
   if type(v) ~= "number" or v ~= v or v == math.huge or v == -math.huge then
      M.wrong(op, name, "a finite number", v)
   end
   return v
end

--- v as a number in [lo, hi] (NaN refused); default when nil and one is given.
function M.range(op, name, v, lo, hi, default)
   if v == nil and default ~= nil then return default end
   if type(v) ~= "number" or not (v >= lo and v <= hi) then
      M.wrong(op, name, ("a number in [%s, %s]"):format(M.describe(lo), M.describe(hi)), v)
   end
   return v
end

--- A boolean flag: true or false; nil gives default (false when none is given).
function M.flag(op, name, v, default)
   if v == nil then return default or false end
   if type(v) ~= "boolean" then M.wrong(op, name, "true or false", v) end
   return v
end

--- v, checked to be a string (one of the keys of `choices` when given).
function M.string(op, name, v, choices)
   if type(v) ~= "string" or (choices and not choices[v]) then
      local expected = "a string"
      if choices then
         local names = {}
         for k in pairs(choices) do names[#names + 1] = ("'%s'"):format(k) end
         table.sort(names)
         expected = "one of " .. table.concat(names, ", ")
      end
      M.wrong(op, name, expected, v)
   end
   return v
end

--- v, checked to be a plain table (no metatable); default when nil and one is given.
function M.table(op, name, v, default)
   if v == nil and default ~= nil then return default end
   if type(v) ~= "table" or getmetatable(v) ~= nil then M.wrong(op, name, "a table", v) end
   return v
end

--- v, checked to be callable (a function, or an object with __call).
function M.callable(op, name, v)
   local mt = type(v) == "table" and getmetatable(v)
   if type(v) ~= "function" and not (type(mt) == "table" and rawget(mt, "__call")) then
      M.wrong(op, name, "a function", v)
   end
   return v
end

--- A 1-based dim of a tensor with `ndim` dims (negative counts from the end: -1 is the
-- last) as C's 0-based dim. `extra` = 1 allows one past the last (a new dim: unsqueeze, stack).
function M.dim(op, name, d, ndim, extra)
   local n = ndim + (extra or 0)
   if not is_int(d) or d == 0 or d > n or d < -n then
      local expected = n == 0 and "a dim, but the tensor has none" or
         ("a dim in 1..%d or -%d..-1 (1-based)"):format(n, n)
      M.wrong(op, name, expected, d)
   end
   return d > 0 and d - 1 or d + n
end

return M
