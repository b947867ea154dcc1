--- Tab completion for the REPL: globals, table fields (`dob.nn.Li` -> `dob.nn.Linear`)
-- and methods (`x:ad` -> `x:add`, `x:add_`, `x:addcmul_` ...), found by looking names up
-- in the REPL's environment. Looking up never calls a function and never runs an
-- __index function, so completing cannot change anything.
--
--    local complete = require "deepobs.repl.complete"
--    complete.candidates("dob.ze", _G)    -- { "dob.zeros", "dob.zeros_like" }
local M = {}

local KEYWORDS = { "and", "break", "do", "else", "elseif", "end", "false", "for", "function", "goto", "if", "in",
   "local", "nil", "not", "or", "repeat", "return", "then", "true", "until", "while" }

local function is_name(k) return type(k) == "string" and k:match("^[%a_][%w_]*$") ~= nil end

-- the names a value offers: its own fields, then those its metatable's __index tables offer
local function fields(v, methods_only, out, seen)
   seen = seen or {}
   if type(v) ~= "table" or seen[v] then return out end
   seen[v] = true
   for k, x in pairs(v) do
      if is_name(k) and (not methods_only or type(x) == "function") then out[k] = true end
   end
   local mt = getmetatable(v)
   if type(mt) == "table" then
      -- __class: the methods of objects whose __index is a function (tensors)
      local idx = rawget(mt, "__class") or rawget(mt, "__index")
      if type(idx) == "table" then fields(idx, methods_only, out, seen) end
   end
   return out
end

-- the value of a dotted path ("dob.nn") in env, or nil; raw lookups through __index tables only
local function lookup(path, env)
   local v = env
   for name in path:gmatch("[^%.]+") do
      if type(v) ~= "table" then return nil end
      local x = rawget(v, name)
      local t = v
      while x == nil do
         local mt = getmetatable(t)
         local idx = type(mt) == "table" and (rawget(mt, "__class") or rawget(mt, "__index"))
         if type(idx) ~= "table" then break end
         x, t = rawget(idx, name), idx
      end
      v = x
   end
   return v
end

--- The completions of word (the text before the cursor back to a space or bracket) in env,
-- sorted.
function M.candidates(word, env)
   local path, sep, partial = word:match("^([%a_][%w_%.]-)([%.:])([%w_]*)$")
   local names = {}
   if path then
      fields(lookup(path, env), sep == ":", names)
   else
      partial = word
      fields(env, false, names)
      for _, k in ipairs(KEYWORDS) do names[k] = true end
   end
   local out = {}
   for k in pairs(names) do
      if k:sub(1, #partial) == partial then out[#out + 1] = (path and (path .. sep) or "") .. k end
   end
   table.sort(out)
   return out
end

return M
