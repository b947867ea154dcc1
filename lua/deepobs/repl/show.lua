--- How the REPL shows a value: tensors and layers by their own __tostring, strings
-- quoted, tables as a short literal (`{2, 3}` for x:size()), nested at most two levels and
-- cut after 20 entries so that printing a large table never floods the terminal.
--
--    show(dob.randn(2, 2):size())   -- "{2, 2}"
--    show({ lr = 0.1, name = "sgd" }) -- '{lr = 0.1, name = "sgd"}'
local pyfloat = require("deepobs.results").pyfloat

local M = {}

M.MAX_ENTRIES = 20
M.MAX_DEPTH = 2

local function is_name(k) return type(k) == "string" and k:match("^[%a_][%w_]*$") ~= nil end

local function key_order(a, b)
   local ta, tb = type(a), type(b)
   if ta ~= tb then return ta < tb end
   if ta == "number" or ta == "string" then return a < b end
   return tostring(a) < tostring(b)
end

local function show(v, depth)
   local tv = type(v)
   if tv == "string" then return ("%q"):format(v) end
   if tv == "number" then
      if v % 1 == 0 and math.abs(v) < 2 ^ 53 then return ("%d"):format(v) end
      if v ~= v or v == math.huge or v == -math.huge then return tostring(v) end
      return pyfloat(v)   -- the shortest text that reads back as v
   end
   if tv ~= "table" then return tostring(v) end
   local mt = getmetatable(v)
   if mt and mt.__tostring then return tostring(v) end
   if depth >= M.MAX_DEPTH then return "{...}" end
   local parts, n = {}, #v
   for i = 1, math.min(n, M.MAX_ENTRIES) do parts[#parts + 1] = show(v[i], depth + 1) end
   local keys = {}
   for k in pairs(v) do
      if not (type(k) == "number" and k >= 1 and k <= n and k % 1 == 0) then keys[#keys + 1] = k end
   end
   table.sort(keys, key_order)
   for _, k in ipairs(keys) do
      if #parts >= M.MAX_ENTRIES then break end
      local ks = is_name(k) and k or ("[" .. show(k, M.MAX_DEPTH) .. "]")
      parts[#parts + 1] = ks .. " = " .. show(v[k], depth + 1)
   end
   local more = n + #keys - #parts
   if more > 0 then parts[#parts + 1] = ("... (%d more)"):format(more) end
   return "{" .. table.concat(parts, ", ") .. "}"
end

--- The text of v as the REPL prints it.
function M.show(v) return show(v, 0) end

return M
