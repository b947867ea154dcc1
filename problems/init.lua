--- The problem registry: every problems/<name>.lua whose name does not start with an
-- underscore (the shared builders) is a problem, defined with problems/_define.lua;
-- init.lua is this registry. So is every <name>.lua in the user's problem folders
-- ($DEEPOBS_PROBLEMS_PATH, --problems_dir: lua/deepobs/suite.lua). The benchmark sets are
-- lua/deepobs/sets.lua.
--
--    local problems = require "problems"
--    local p = problems.get("fmnist_2c2d")
--    problems.list()   -- sorted names
local suite = require "deepobs.suite"

local M = {}

local NOT_PROBLEMS = { init = true }

-- the folder of this file: the registry lists what sits beside it
local function folder()
   local source = debug.getinfo(1, "S").source
   return source:match("^@(.*)/[^/]*$") or "."
end

local function quote(path) return "'" .. path:gsub("'", "'\\''") .. "'" end

-- the problem names of the files in dir
local function problem_files(dir)
   local p = io.popen(("ls -A %s 2>/dev/null"):format(quote(dir)))
   if not p then error("problems: cannot list the folder " .. dir, 0) end
   local names = {}
   for file in p:lines() do
      local name = file:match("^([%a][%w_]*)%.lua$")
      if name and not NOT_PROBLEMS[name] then names[#names + 1] = name end
   end
   p:close()
   return names
end

-- name -> the user's file that defines it (nil for the suite's own)
local user_file = {}

local function scan()
   local names = problem_files(folder())
   if #names == 0 then error("problems: no problem files in " .. folder(), 0) end
   local where = {}
   for _, n in ipairs(names) do where[n] = "problems/" .. n .. ".lua" end
   for _, dir in ipairs(suite.problem_dirs()) do
      for _, n in ipairs(problem_files(dir)) do
         local path = dir .. "/" .. n .. ".lua"
         if where[n] then
            error(("problem '%s' is defined twice, by %s and %s; rename one (a problem's name is its file's)")
               :format(n, where[n], path), 0)
         end
         where[n], user_file[n] = path, path
         names[#names + 1] = n
      end
   end
   table.sort(names)
   return names
end

local names, known, scanned_for

--- sorted problem names
function M.list()
   local dirs = table.concat(suite.problem_dirs(), ":")
   if not names or scanned_for ~= dirs then
      user_file = {}
      names, known, scanned_for = scan(), {}, dirs
      for _, n in ipairs(names) do known[n] = true end
   end
   local t = {}
   for i, n in ipairs(names) do t[i] = n end
   return t
end

local loaded_user = {}

-- a user's problem file, run once
local function load_user(name)
   if loaded_user[name] == nil then
      local path = user_file[name]
      local chunk, err = loadfile(path)
      if not chunk then error(("cannot load the problem file %s: %s"):format(path, err), 0) end
      loaded_user[name] = chunk(name)
   end
   return loaded_user[name]
end

--- the problem table of `name`; an unknown name is an error listing the known ones
function M.get(name)
   local all = M.list()
   if type(name) ~= "string" or not known[name] then
      error(("unknown test problem '%s'; known problems: %s"):format(tostring(name), table.concat(all, ", ")), 0)
   end
   local p = user_file[name] and load_user(name) or require("problems." .. name)
   if type(p) ~= "table" or p.name ~= name then
      error(("%s defines a problem named '%s'; a problem's name is its file's name")
         :format(user_file[name] or ("problems/" .. name .. ".lua"), type(p) == "table" and tostring(p.name) or "(not a table)"), 0)
   end
   return p
end

return M
