--- The problem registry: every problems/<name>.lua whose name does not start with an
-- underscore (the shared builders) is a problem, defined with problems/_define.lua;
-- init.lua is this registry. The benchmark sets are lua/deepobs/sets.lua.
--
--    local problems = require "problems"
--    local p = problems.get("fmnist_2c2d")
--    problems.list()   -- sorted names
local M = {}

local NOT_PROBLEMS = { init = true }

-- the folder of this file: the registry lists what sits beside it
local function folder()
   local source = debug.getinfo(1, "S").source
   return source:match("^@(.*)/[^/]*$") or "."
end

local function scan()
   local dir = folder()
   local p = io.popen(("ls -A '%s' 2>/dev/null"):format(dir:gsub("'", "'\\''")))
   if not p then error("problems: cannot list the folder " .. dir, 0) end
   local names = {}
   for file in p:lines() do
      local name = file:match("^([%a][%w_]*)%.lua$")
      if name and not NOT_PROBLEMS[name] then names[#names + 1] = name end
   end
   p:close()
   if #names == 0 then error("problems: no problem files in " .. dir, 0) end
   table.sort(names)
   return names
end

local names, known

--- sorted problem names
function M.list()
   if not names then
      names, known = scan(), {}
      for _, n in ipairs(names) do known[n] = true end
   end
   local t = {}
   for i, n in ipairs(names) do t[i] = n end
   return t
end

--- the problem table of `name`; an unknown name is an error listing the known ones
function M.get(name)
   local all = M.list()
   if type(name) ~= "string" or not known[name] then
      error(("unknown test problem '%s'; known problems: %s"):format(tostring(name), table.concat(all, ", ")), 0)
   end
   local p = require("problems." .. name)
   if type(p) ~= "table" or p.name ~= name then
      error(("problems/%s.lua defines a problem named '%s'; a problem's name is its file's name")
         :format(name, type(p) == "table" and tostring(p.name) or "(not a table)"), 0)
   end
   return p
end

return M
