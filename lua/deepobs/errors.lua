--- The errors a command reports without a traceback.
--
--    local errors = require "deepobs.errors"
--    errors.usage("--lr must be positive, got -1")   -- raises a usage error (exit status 2)
--    errors.is_usage(e)                              -- true for such an error object
--    errors.describe(e)                              -- any error value as readable text
--
-- A usage error is a mistake in what was asked (a flag, a value, a file name) that the
-- user fixes by asking differently; an interrupted run (SIGINT, SIGTERM) exits as the
-- signal would; everything else is a run error (exit status 1).
local M = {}

local UsageError = {}
UsageError.__index = UsageError
UsageError.__tostring = function(e) return e.msg end

--- Raises a usage error carrying msg (no position prefix).
function M.usage(msg) error(setmetatable({ msg = msg, usage = true }, UsageError), 0) end

function M.is_usage(e) return getmetatable(e) == UsageError end

local Interrupted = {}
Interrupted.__index = Interrupted
Interrupted.__tostring = function(e) return e.msg end

--- Raises the error of a run stopped by a signal (SIGINT, SIGTERM) after it saved its
-- state: sig is the signal number, msg says where the state is and how to continue.
function M.interrupted(sig, msg) error(setmetatable({ msg = msg, signal = sig }, Interrupted), 0) end

function M.is_interrupted(e) return getmetatable(e) == Interrupted end

--- "path/x.lua:12: message" -> "message"
function M.clean(msg)
   return (tostring(msg):gsub("^[^\n:]*%.lua:%d+: ", ""))
end

local function is_identifier(k) return type(k) == "string" and k:match("^[%a_][%w_]*$") ~= nil end

-- a Lua-like rendering of a value, a few levels deep, keys sorted
local function render(v, depth, seen)
   local tv = type(v)
   if tv == "string" then return ("%q"):format(v) end
   if tv ~= "table" then return tostring(v) end
   local mt = getmetatable(v)
   if mt and mt.__tostring then return tostring(v) end
   if seen[v] then return "{...}" end
   if depth > 3 then return "{...}" end
   seen[v] = true
   local keys = {}
   for k in pairs(v) do keys[#keys + 1] = k end
   table.sort(keys, function(a, b)
      if type(a) == type(b) and (type(a) == "number" or type(a) == "string") then return a < b end
      return type(a) < type(b)
   end)
   local parts, n = {}, #v
   for i = 1, n do parts[#parts + 1] = render(v[i], depth + 1, seen) end
   for _, k in ipairs(keys) do
      if not (type(k) == "number" and k >= 1 and k <= n and k % 1 == 0) then
         local ks = is_identifier(k) and k or ("[" .. render(k, depth + 1, seen) .. "]")
         parts[#parts + 1] = ks .. " = " .. render(v[k], depth + 1, seen)
         if #parts >= 20 then parts[#parts + 1] = "..."; break end
      end
   end
   seen[v] = nil
   return "{" .. table.concat(parts, ", ") .. "}"
end

--- Any error value as text: strings as they are, usage errors by their message, other
-- tables as a Lua constructor ("error object {code = 7}"), nil and the rest by tostring.
function M.describe(e)
   if type(e) == "string" then return e end
   if M.is_usage(e) or M.is_interrupted(e) then return e.msg end
   if type(e) == "table" and not (getmetatable(e) and getmetatable(e).__tostring) then
      return "error object " .. render(e, 1, {})
   end
   if e == nil then return "error object nil (error() was called without a message)" end
   return tostring(e)
end

return M
