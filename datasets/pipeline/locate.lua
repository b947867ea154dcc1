--- Where a dataset's files are looked for: the `data_dir` argument (the
-- runner's --data_dir), else $DEEPOBS_DATA_DIR, else ./data_deepobs (the
-- folder of DeepOBS's deepobs/tensorflow/config.py, DATA_DIR); the dataset's
-- folder inside it has DeepOBS's name (mnist, cifar-10, ...).
--
--    local locate = require "datasets.pipeline.locate"
--    local dirs = locate.search_dirs(opts.data_dir, "cifar-10")   -- { DIR/cifar-10, DIR }
--    local dir = locate.first(dirs, function(d) return file.is_dir(d .. "/train") end)
--    local dir = locate.with_files(dirs, { "train.npy", "test.npy" }, "Tolstoi", "the fix")
local file = require "datasets.formats.file"

local M = {}

--- The folders to search, in order: base/name and base itself, or
-- ./data_deepobs/name; then the extra folders (such as Debian's copy).
function M.search_dirs(data_dir, name, extra)
   local dirs = {}
   local base = data_dir or os.getenv("DEEPOBS_DATA_DIR")
   if base and base ~= "" then
      dirs[#dirs + 1] = base .. "/" .. name
      dirs[#dirs + 1] = base
   else
      dirs[#dirs + 1] = "./data_deepobs/" .. name
   end
   for _, d in ipairs(extra or {}) do dirs[#dirs + 1] = d end
   return dirs
end

--- The first folder of dirs holding every file in `names`, or nil. A folder
-- holding some of them is an error naming the missing ones and `fix`: a
-- damaged download is not a reason to use another folder's copy.
function M.with_files(dirs, names, title, fix)
   for _, d in ipairs(dirs) do
      local missing = {}
      for _, n in ipairs(names) do
         if not file.exists(d .. "/" .. n) then missing[#missing + 1] = n end
      end
      if #missing == 0 then return d end
      if #missing < #names then
         error(("%s: %s's files are incomplete, %s missing; %s"):format(d, title, table.concat(missing, ", "), fix), 0)
      end
   end
end

--- The first folder of dirs for which has(dir) is true, or nil.
function M.first(dirs, has)
   for _, d in ipairs(dirs) do
      if has(d) then return d end
   end
end

return M
