--- Whole files: whether one exists, whether a path is a folder, a file's bytes.
--
--    local files = require "deepobs.files"
--    if files.exists(path) then local s = files.read(path) end
--    files.is_dir("data_deepobs")
local M = {}

--- Whether path can be opened for reading.
function M.exists(path)
   local f = io.open(path, "rb")
   if f then f:close(); return true end
   return false
end

--- Whether path is a folder (or a link to one).
function M.is_dir(path)
   local ok = os.execute(("test -d '%s'"):format(path:gsub("'", "'\\''")))
   return ok == 0 or ok == true
end

--- The bytes of path, or nil and the reason when it cannot be read.
function M.read(path)
   local f, err = io.open(path, "rb")
   if not f then return nil, err end
   local s = f:read("*a")
   f:close()
   return s
end

return M
