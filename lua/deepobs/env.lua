--- The DEEPOBS_* environment variables, read and checked in one place: a value that does
-- not fit is a usage error (exit status 2 from run.lua) naming the variable, what it
-- expects and how to get the default, never a value silently ignored.
--
--    local env = require "deepobs.env"
--    local mb = env.number("DEEPOBS_GC_MIN_MB", 16, 1, 2 ^ 20, "a size in megabytes from 1 to 1048576")
--    local n = env.integer("DEEPOBS_THREADS", nil, 1, 256)   -- nil when unset
--    if env.flag("DEEPOBS_DEBUG") then ... end
local M = {}

-- the value of name, nil when unset or empty
local function get(name)
   local v = os.getenv(name)
   if v == nil or v == "" then return nil end
   return v
end
M.get = get

local function refuse(name, v, expected, default)
   -- (loaded here: the library needs the errors module only for this)
   require("deepobs.errors").usage(("%s=%s: expected %s (%s)"):format(name, v, expected,
      default ~= nil and ("unset it for the default, " .. tostring(default)) or "or unset it"))
end
M.refuse = refuse

--- The number in variable name, in [lo, hi]; default when unset. `expected` describes the
-- values allowed, for the message.
function M.number(name, default, lo, hi, expected)
   local v = get(name)
   if v == nil then return default end
   local x = tonumber(v)
   if x == nil or not (x >= lo and x <= hi) then
      refuse(name, v, expected or ("a number from %s to %s"):format(tostring(lo), tostring(hi)), default)
   end
   return x
end

--- The integer in variable name, in [lo, hi]; default when unset.
function M.integer(name, default, lo, hi, expected)
   local v = get(name)
   if v == nil then return default end
   local x = tonumber(v)
   if x == nil or x % 1 ~= 0 or not (x >= lo and x <= hi) then
      refuse(name, v, expected or ("an integer from %d to %d"):format(lo, hi), default)
   end
   return x
end

local FLAG_WORDS = { ["1"] = true, ["true"] = true, ["yes"] = true, ["on"] = true,
   ["0"] = false, ["false"] = false, ["no"] = false, ["off"] = false }

--- A yes/no variable: 1, true, yes, on or 0, false, no, off (any case); false when unset.
function M.flag(name)
   local v = get(name)
   if v == nil then return false end
   local b = FLAG_WORDS[v:lower()]
   if b == nil then refuse(name, v, "1 or 0 (also true/false, yes/no, on/off)", "off") end
   return b
end

return M
