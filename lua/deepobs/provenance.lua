--- Where a run came from: the keys the runner appends to a result file, so that a result can be
-- traced to the command, the optimizer's source, the engine and the checkout that made it.
--
--    local provenance = require "deepobs.provenance"
--    local extra = provenance.collect { optimizer_path = "examples/my_sgd.lua", start_time = os.time() }
--    --> { { "command_line", "luajit run.lua fmnist_2c2d --optimizer examples/my_sgd.lua --lr 0.1" },
--    --    { "optimizer_file", "/home/me/deepobs-lua/examples/my_sgd.lua" },
--    --    { "optimizer_sha256", "c40b78772f43664a6af42a5666030f25dd3f0c36ddea09030488cbf7ebf9d4a8" },
--    --    { "engine_version", "0.1.0" }, { "git_commit", "b5935f33065611af79cf50a8ad8dd62f2705c4fe" },
--    --    { "host", "node17" }, { "start_time", "2026-12-07T06:09:43Z" } }
--
-- Values that do not exist are results.null (JSON null): the optimizer keys for an optimizer given
-- as a table through the API, git_commit outside a git checkout. The commit is read from the
-- .git files themselves (no git binary needed), so it is the checked-out commit; uncommitted
-- edits are not recorded, which is what optimizer_sha256 is for.
local ffi = require "ffi"
local results = require "deepobs.results"
local sha256 = require "deepobs.sha256"

pcall(ffi.cdef, "int gethostname(char *name, size_t len);")
pcall(ffi.cdef, "char *realpath(const char *path, char *resolved_path);")

local M = {}

local PATH_MAX = 4096

---------------------------------------------------------------------------------------
-- command line

-- POSIX shell quoting, as Python's shlex.quote: bare when only safe characters, else '...'
local function shell_quote(s)
   if s:match("^[%w@%%+=:,./_-]+$") then return s end
   return "'" .. s:gsub("'", "'\"'\"'") .. "'"
end

local read_file = require("deepobs.files").read

-- the global arg table from its lowest index (the interpreter, then its options) up
local function arg_table()
   local a = rawget(_G, "arg")
   if type(a) ~= "table" then return {} end
   local lo = 0
   while a[lo - 1] ~= nil do lo = lo - 1 end
   local out = {}
   for i = lo, #a do
      if a[i] ~= nil then out[#out + 1] = tostring(a[i]) end
   end
   return out
end

--- This process's argv as one shell-quoted string: from cmdline_file (default
-- /proc/self/cmdline, NUL-separated), or from the global arg table where that cannot be read.
function M.command_line(cmdline_file)
   local raw = read_file(cmdline_file or "/proc/self/cmdline")
   local argv = {}
   if raw and #raw > 0 then
      if raw:sub(-1) ~= "\0" then raw = raw .. "\0" end
      for a in raw:gmatch("(%Z*)%z") do argv[#argv + 1] = a end
   else
      argv = arg_table()
   end
   for i, a in ipairs(argv) do argv[i] = shell_quote(a) end
   return table.concat(argv, " ")
end

---------------------------------------------------------------------------------------
-- paths

--- The absolute path of path with symlinks, "." and ".." resolved; nil when it does not exist.
local function realpath(path)
   local buf = ffi.new("char[?]", PATH_MAX)
   if ffi.C.realpath(path, buf) == nil then return nil end
   return ffi.string(buf)
end

-- the folder above path ("/" above "/x"; nil above "/" and for a bare name)
local function parent(path)
   if path == "/" then return nil end
   local p = path:match("^(.*)/[^/]*$")
   return p == "" and "/" or p
end

local function join(dir, name)
   if name:sub(1, 1) == "/" then return name end
   return (dir == "/" and "" or dir) .. "/" .. name
end

local function first_line(path)
   local f = io.open(path, "rb")
   if not f then return nil end
   local line = f:read("*l")   -- nil for a folder
   f:close()
   return line and line:match("^%s*(.-)%s*$")
end

---------------------------------------------------------------------------------------
-- git commit, read from the .git files

local MAX_SYMREF_DEPTH = 5

-- the git folder of the checkout holding dir: dir/.git (a folder), or the folder a .git file
-- names ("gitdir: <path>", as worktrees and submodules have), in dir or the nearest parent
local function find_git_dir(dir)
   while dir do
      local dotgit = join(dir, ".git")
      if first_line(dotgit .. "/HEAD") then return dotgit end
      local line = first_line(dotgit)
      local target = line and line:match("^gitdir:%s*(.-)$")
      if target then return join(dir, target) end
      dir = parent(dir)
   end
   return nil
end

local function is_object_id(s)
   return s ~= nil and (#s == 40 or #s == 64) and s:match("^%x+$") ~= nil
end

local function packed_ref(common_dir, ref)
   local f = io.open(common_dir .. "/packed-refs", "rb")
   if not f then return nil end
   for line in f:lines() do
      local id, name = line:match("^(%x+) (%S+)")
      if name == ref and is_object_id(id) then
         f:close()
         return id:lower()
      end
   end
   f:close()
   return nil
end

-- the commit a HEAD or ref file's content points to: an object id, or "ref: <name>" looked up
-- in the worktree's own folder, the common folder, then packed-refs
local function resolve(content, git_dir, common_dir, depth)
   if content == nil then return nil end
   if is_object_id(content) then return content:lower() end
   local ref = content:match("^ref:%s*(%S+)$")
   if not ref or depth > MAX_SYMREF_DEPTH then return nil end
   for _, base in ipairs { git_dir, common_dir } do
      local found = resolve(first_line(base .. "/" .. ref), git_dir, common_dir, depth + 1)
      if found then return found end
   end
   return packed_ref(common_dir, ref)
end

--- The commit checked out in the git checkout that holds dir (a folder), or nil outside a
-- checkout, on an unborn branch or where the refs cannot be read. Without dir: the commit of
-- the deepobs checkout this code runs from, i.e. only where this module is the checkout's
-- lua/deepobs/provenance.lua (an installed copy belongs to no checkout, even when it is
-- installed into some other project's git folder).
function M.git_commit(dir)
   local start
   if dir == nil then
      local src = debug.getinfo(1, "S").source
      local here = src:sub(1, 1) == "@" and realpath(parent(src:sub(2))) or nil
      local root = here and here:match("^(.*)/lua/deepobs$")
      if not root or not first_line(root .. "/run.lua") then return nil end
      start = root
   else
      start = realpath(dir)
   end
   if not start then return nil end
   local git_dir = find_git_dir(start)
   if not git_dir then return nil end
   local common = first_line(git_dir .. "/commondir")
   local common_dir = common and join(git_dir, common) or git_dir
   return resolve(first_line(git_dir .. "/HEAD"), git_dir, common_dir, 0)
end

---------------------------------------------------------------------------------------
-- host and time

--- This machine's host name (gethostname(2)), or nil when it cannot be read.
function M.host()
   local buf = ffi.new("char[?]", 256)
   if ffi.C.gethostname(buf, 255) ~= 0 then return nil end
   return ffi.string(buf)
end

--- An os.time() value as ISO 8601 UTC: "2026-12-07T06:09:43Z".
function M.iso_utc(t)
   return os.date("!%Y-%m-%dT%H:%M:%SZ", math.floor(t))
end

--- What `--version` prints: the engine's version, the git commit when running from a
-- checkout, the library file, LuaJIT's version and OpenBLAS's build and kernels.
function M.version_text()
   local dob = require "deepobs"
   local blas = dob.blas_info()
   local commit = M.git_commit()
   return ("deepobs %s%s\nlibrary %s\n%s, %s (kernels %s, %d threads)"):format(dob.version,
      commit and (" (git " .. commit:sub(1, 12) .. ")") or "", blas.library,
      jit and jit.version or _VERSION, blas.config, blas.corename, dob.get_threads())
end

---------------------------------------------------------------------------------------

local function check_opts(opts)
   if type(opts) ~= "table" then
      error(("provenance.collect: expected a table of options, got a %s"):format(type(opts)), 3)
   end
   local p = opts.optimizer_path
   if p ~= nil and (type(p) ~= "string" or p == "") then
      error(("provenance.collect: optimizer_path must be a file path or nil, got %s"):format(tostring(p)), 3)
   end
   local t = opts.start_time
   if type(t) ~= "number" or t ~= t or t == math.huge or t == -math.huge then
      error(("provenance.collect: start_time must be an os.time() value, got %s"):format(tostring(t)), 3)
   end
end

--- The provenance keys of a run, in order, as { key, value } pairs for results.result_object's
-- extra (see the module comment). opts.optimizer_path: the optimizer's source file (nil for an
-- optimizer given as a table); opts.start_time: os.time() when the run started. Raises an error
-- naming the file when optimizer_path cannot be read.
function M.collect(opts)
   check_opts(opts)
   local file, hash = results.null, results.null
   if opts.optimizer_path then
      hash = sha256.file(opts.optimizer_path)
      file = realpath(opts.optimizer_path) or opts.optimizer_path
   end
   return {
      { "command_line", M.command_line() },
      { "optimizer_file", file },
      { "optimizer_sha256", hash },
      { "engine_version", require("deepobs").version },
      { "git_commit", M.git_commit() or results.null },
      { "host", M.host() or results.null },
      { "start_time", M.iso_utc(opts.start_time) },
   }
end

return M
