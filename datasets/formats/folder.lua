--- Folders of data files and the text files that list them: what the
-- image datasets (ImageNet's class folders, Food-101's meta/*.txt) are made of.
--
--    local folder = require "datasets.formats.folder"
--    local names, kinds = folder.list("imagenet/train")   -- sorted names; kinds[name] = "file", "directory", ...
--    local lines = folder.read_lines("food-101/meta/train.txt", "the fix")
--
-- Kinds are datasets/formats/file.lua's words; a symbolic link counts as
-- what it points to (a broken one as "missing").
local ffi = require "ffi"
local file = require "datasets.formats.file"

pcall(ffi.cdef, [[
typedef struct __dirstream DIR;
struct dob_dirent_linux { uint64_t d_ino; int64_t d_off; unsigned short d_reclen; unsigned char d_type; char d_name[256]; };
DIR *opendir(const char *name);
struct dob_dirent_linux *readdir(DIR *dirp);
int closedir(DIR *dirp);
]])

local M = {}

--- The largest list file read: 256 MiB (Food-101's train.txt has 1.5 MB).
M.MAX_LIST_BYTES = 2 ^ 28

-- readdir's d_type (dirent.h) -> kind; links and unknown types are asked with statx
local DT_KIND = { [8] = "file", [4] = "directory", [1] = "fifo", [12] = "socket", [2] = "character device",
   [6] = "block device" }

--- The sorted entry names of folder `path` (without . and ..) and their
-- kinds; nil and the reason when path is not a readable folder.
function M.list(path)
   local kind, why = file.kind(path)
   if kind ~= "directory" then return nil, kind and ("is %s, not a folder"):format(file.describe(kind)) or why end
   local d = ffi.C.opendir(path)
   if d == nil then return nil, "cannot be read" end
   local names, kinds = {}, {}
   while true do
      local e = ffi.C.readdir(d)
      if e == nil then break end
      local name = ffi.string(e.d_name)
      if name ~= "." and name ~= ".." then
         names[#names + 1] = name
         kinds[name] = DT_KIND[e.d_type] or file.kind(path .. "/" .. name) or "missing"
      end
   end
   ffi.C.closedir(d)
   table.sort(names)
   return names, kinds
end

--- The non-empty lines of a list file (trailing white space and \r
-- removed); the file must be a regular file of text.
function M.read_lines(path, fix)
   local s = file.read_all(path, fix, M.MAX_LIST_BYTES)
   local nul = s:find("%z")
   if nul then
      error(("%s: a NUL byte at offset %d: this is not a text list of files%s"):format(path, nul - 1,
         fix and ("; " .. fix) or ""), 0)
   end
   local lines = {}
   for line in s:gmatch("[^\n]+") do
      line = line:gsub("[%s\r]+$", "")
      if line ~= "" then lines[#lines + 1] = line end
   end
   return lines
end

return M
