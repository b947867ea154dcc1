--- Where the test problems (`problems.*`) and the dataset readers (`datasets.*`) are, put on
-- package.path when first needed: a checkout's problems/ and datasets/ (the folder above
-- lua/), or an installed copy in deepobs/suite/ beside this module (`make install` and
-- `luarocks make` put it there). Also the user's own problem folders.
--
--    local suite = require "deepobs.suite"
--    suite.use()                        -- now require "problems" and "datasets.mnist" work
--    suite.add_problem_dir("my_problems") -- also searched by name (what --problems_dir does)
--    suite.problem_dirs()               -- the user's folders: $DEEPOBS_PROBLEMS_PATH, then those added
local ffi = require "ffi"
local errors = require "deepobs.errors"
local files = require "deepobs.files"

ffi.cdef [[ int setenv(const char *name, const char *value, int overwrite); ]]

local M = {}

M.PROBLEMS_PATH_VAR = "DEEPOBS_PROBLEMS_PATH"

local function here()
   local src = debug.getinfo(1, "S").source
   return src:sub(1, 1) == "@" and src:sub(2):match("^(.*)/[^/]*$") or "."
end


--- The folder that holds problems/ and datasets/, or nil when neither place has them.
function M.root()
   local dir = here()
   for _, root in ipairs { dir .. "/suite", dir .. "/../.." } do
      if files.exists(root .. "/problems/init.lua") then return root end
   end
   return nil
end

local used = false

--- Puts the suite's folder on package.path (after what is there, so a user's own modules of
-- the same name win). Raises a clear error when the suite is not installed.
function M.use()
   if used then return end
   local root = M.root()
   if not root then
      error(("deepobs: the test problems are not installed (no problems/init.lua in %s/suite or the checkout "
         .. "above it); reinstall with `make install` or `luarocks make`"):format(here()), 0)
   end
   package.path = package.path .. (";%s/?.lua;%s/?/init.lua"):format(root, root)
   used = true
end

--- The user's problem folders, in search order: $DEEPOBS_PROBLEMS_PATH (folders separated by
-- ':'), then those given to add_problem_dir.
function M.problem_dirs()
   local dirs = {}
   for d in (os.getenv(M.PROBLEMS_PATH_VAR) or ""):gmatch("[^:]+") do dirs[#dirs + 1] = d end
   return dirs
end

--- Adds a folder of problem files (NAME.lua, each returning a problem defined with
-- problems._define) to the search, for this process and the runs it starts (the folder is
-- appended to $DEEPOBS_PROBLEMS_PATH). A folder that does not exist is a usage error.
function M.add_problem_dir(dir)
   if type(dir) ~= "string" or dir == "" then errors.usage("--problems_dir needs a folder") end
   if not files.is_dir(dir) then
      errors.usage(("--problems_dir %s: no such folder (a folder of NAME.lua problem files)"):format(dir))
   end
   if dir:find(":", 1, true) then
      errors.usage(("--problems_dir %s: a folder name with ':' cannot go on %s"):format(dir, M.PROBLEMS_PATH_VAR))
   end
   for _, d in ipairs(M.problem_dirs()) do
      if d == dir then return end
   end
   local now = os.getenv(M.PROBLEMS_PATH_VAR)
   ffi.C.setenv(M.PROBLEMS_PATH_VAR, (now and now ~= "") and (now .. ":" .. dir) or dir, 1)
end

return M
