--- What a data path is, asked before any reader opens it. A FIFO's open()
-- blocks until a writer appears and a device such as /dev/zero never ends,
-- so every reader calls check() first: a data file must be a regular file
-- (a symbolic link to one counts), and its size bounds every count read
-- from its header.
--
--    local file = require "datasets.formats.file"
--    local bytes = file.check(path, "download it again with scripts/prepare_data.sh")
--    file.kind(path)              -- "file", "directory", "fifo", ... or nil, reason
--    file.exists(path)            -- something (of any kind, a broken link too) is there
--    local s = file.read_all(path, "the fix")     -- a regular file's bytes, as a Lua string
--    file.write_atomic(path, s)   -- through path .. ".part" and a rename
--
-- The type comes from statx(2) (Linux 4.11, glibc 2.28), whose struct is the
-- same on every architecture, unlike struct stat.
local ffi = require "ffi"
local bit = require "bit"

ffi.cdef [[
struct dob_statx_timestamp { int64_t tv_sec; uint32_t tv_nsec; int32_t reserved; };
struct dob_statx {
   uint32_t mask, blksize; uint64_t attributes; uint32_t nlink, uid, gid; uint16_t mode, spare0;
   uint64_t ino, size, blocks, attributes_mask;
   struct dob_statx_timestamp atime, btime, ctime, mtime;
   uint32_t rdev_major, rdev_minor, dev_major, dev_minor; uint64_t spare2[14];
};
int statx(int dirfd, const char *path, int flags, unsigned int mask, struct dob_statx *buf);
char *strerror(int errnum);
]]

local M = {}

local AT_FDCWD, AT_SYMLINK_NOFOLLOW, STATX_TYPE, STATX_SIZE = -100, 0x100, 0x1, 0x200
local ENOSYS = 38

-- S_IFMT's values (sys/stat.h) -> the words errors use
local KIND = {
   [0x8000] = "file", [0x4000] = "directory", [0x1000] = "fifo", [0xC000] = "socket",
   [0x2000] = "character device", [0x6000] = "block device",
}
local DESCRIBE = {
   directory = "a directory", fifo = "a named pipe (FIFO)", socket = "a socket",
   ["character device"] = "a character device", ["block device"] = "a block device",
}

--- The largest file read_all reads: LuaJIT's strings stop just below 2 GiB.
M.MAX_STRING = 2 ^ 31 - 2 ^ 16

--- kind(path) -> "file" | "directory" | "fifo" | "socket" | "character device"
-- | "block device", and the size in bytes; nil and the reason when nothing
-- is there (or it cannot be reached). Symbolic links are followed.
function M.kind(path)
   if type(path) ~= "string" or path == "" then return nil, "no path given" end
   local st = ffi.new("struct dob_statx")
   if ffi.C.statx(AT_FDCWD, path, 0, STATX_TYPE + STATX_SIZE, st) ~= 0 then
      local errno = ffi.errno()
      if errno == ENOSYS then
         error("datasets.formats.file: this system lacks statx(2) (Linux 4.11 and glibc 2.28 are needed)", 0)
      end
      return nil, ffi.string(ffi.C.strerror(errno))
   end
   return KIND[bit.band(st.mode, 0xF000)] or "special file", tonumber(st.size)
end

--- Whether anything is at path (a FIFO, a directory, a broken or looping
-- symbolic link too: the reader that then checks it names what is wrong,
-- where "not found" would mislead, or a loader would silently move on to
-- another folder's copy of the data).
function M.exists(path)
   if M.kind(path) ~= nil then return true end
   if type(path) ~= "string" or path == "" then return false end
   return ffi.C.statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, STATX_TYPE, ffi.new("struct dob_statx")) == 0
end

function M.is_dir(path)
   return M.kind(path) == "directory"
end

--- The words errors use for a kind: "a named pipe (FIFO)", "a directory", ...
function M.describe(kind)
   return DESCRIBE[kind] or (kind == "file" and "a regular file") or "a special file"
end

--- The size of the regular file at path; raises an error naming the path,
-- what is there instead and `fix` (what to do) otherwise.
function M.check(path, fix)
   local kind, size = M.kind(path)
   local tail = fix and fix ~= "" and ("; " .. fix) or ""
   if not kind then error(("%s: cannot open (%s)%s"):format(tostring(path), size, tail), 0) end
   if kind ~= "file" then
      error(("%s: is %s, not a regular file; a data file must be a regular file%s")
         :format(path, M.describe(kind), tail), 0)
   end
   return size
end

--- The bytes of the regular file at path (checked as check() does), at most
-- max_bytes of them (default MAX_STRING).
function M.read_all(path, fix, max_bytes)
   local size = M.check(path, fix)
   local limit = math.min(max_bytes or M.MAX_STRING, M.MAX_STRING)
   if size > limit then
      error(("%s: %d bytes, more than the %d this reader takes; is it the right file?%s")
         :format(path, size, limit, fix and ("; " .. fix) or ""), 0)
   end
   local f, err = io.open(path, "rb")
   if not f then error(("%s: cannot open (%s)"):format(path, tostring(err)), 0) end
   local s = f:read(size + 1) or ""
   f:close()
   if #s ~= size then
      error(("%s: changed while being read (%d bytes expected, %d read); read it again when nothing writes it")
         :format(path, size, #s), 0)
   end
   return s
end

--- Writes s to path through path .. ".part" and a rename, so that a crash
-- never leaves a half-written file under the final name.
function M.write_atomic(path, s)
   local tmp = path .. ".part"
   local f, err = io.open(tmp, "wb")
   if not f then error(("cannot create %s (%s)"):format(tmp, tostring(err)), 0) end
   local ok, werr = f:write(s)
   local closed = f:close()
   if not ok or not closed then
      os.remove(tmp)
      error(("cannot write %s (%s)"):format(tmp, tostring(werr or "disk full?")), 0)
   end
   local rok, rerr = os.rename(tmp, path)
   if not rok then error(("cannot rename %s to %s (%s)"):format(tmp, path, tostring(rerr)), 0) end
   return path
end

return M
