-- A real single-node SLURM cluster for specs (scripts/slurm_local.sh), private to this
-- process: its own folder and ports, so that specs running at once, or a cluster a user
-- started, are left alone. Clusters left behind by spec processes that died are stopped
-- first.
--
--    local cluster = require "helpers.slurm"
--    local c, why = cluster.start()   -- c = { dir, conf }; SLURM_CONF points at it
--    if not c then ... why ... end    -- e.g. "must run as root", "not found on PATH: slurmd"
--    local out, left = cluster.stop() -- left: its daemons still running ("pid command" lines)
--    cluster.required()               -- in CI a cluster that cannot start is a failure
local ffi = require "ffi"
local fs = require "helpers.fs"

pcall(ffi.cdef, "int getpid(void);")
pcall(ffi.cdef, "int setenv(const char *name, const char *value, int overwrite);")
pcall(ffi.cdef, "int unsetenv(const char *name);")
pcall(ffi.cdef, "int kill(int pid, int sig);")

local M = {}

local ROOT = fs.sh("pwd"):match("[^\n]+")
local SCRIPT = ROOT .. "/scripts/slurm_local.sh"
local PREFIX = "/tmp/deepobs-slurm-spec."

local function q(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

local current, previous_conf

--- A command prefix that drops what `make test-asan` preloads (pgrep hangs under it, and
-- the daemons should run as installed).
M.PLAIN = "env -u LD_PRELOAD -u ASAN_OPTIONS -u UBSAN_OPTIONS"

--- true where a cluster that cannot start fails the spec instead of skipping it.
function M.required()
   local ci = os.getenv("CI")
   return (ci ~= nil and ci ~= "" and ci ~= "0" and ci ~= "false") or os.getenv("DEEPOBS_REQUIRE_SLURM") == "1"
end

-- the script run for the cluster in dir; returns its output and whether it succeeded
local function script(dir, port, command)
   local p = io.popen(("%s DEEPOBS_SLURM_DIR=%s DEEPOBS_SLURM_PORT=%d bash %s %s 2>&1; echo \"exit:$?\"")
      :format(M.PLAIN, q(dir), port, q(SCRIPT), command))
   local out = p:read("*a")
   p:close()
   local status = tonumber(out:match("exit:(%d+)\n?$"))
   return (out:gsub("exit:%d+\n?$", "")), status == 0
end

local function port_of(pid) return 17000 + (pid % 7000) * 2 end

-- the daemons of the cluster in dir that still run
local function daemons(dir)
   return fs.lines(fs.sh(("%s pgrep -a -f %s 2>/dev/null"):format(M.PLAIN, q("(munged|slurmctld|slurmd) .*" .. dir .. "/"))))
end

-- clusters of spec processes that no longer exist
local function stop_orphans()
   for _, dir in ipairs(fs.lines(fs.sh("ls -d " .. PREFIX .. "* 2>/dev/null"))) do
      local pid = tonumber(dir:match("%.(%d+)$"))
      if pid and ffi.C.kill(pid, 0) ~= 0 then
         script(dir, port_of(pid), "stop")
         if #daemons(dir) == 0 then fs.rmrf(dir) end
      end
   end
end

--- true when the cluster c (from start) runs; else the calling test is pending with why,
-- or fails where a cluster is required (CI).
function M.running_or_pending(c, why)
   if c then return true end
   if M.required() then error("SLURM is required here (CI, or DEEPOBS_REQUIRE_SLURM=1) but " .. why, 0) end
   pending(why)
   return false
end

--- Starts the cluster; returns { dir, conf } (and points SLURM_CONF at it), or nil and why.
function M.start()
   if current then return current end
   stop_orphans()
   local pid = ffi.C.getpid()
   local dir, port = PREFIX .. pid, port_of(pid)
   local out, ok = script(dir, port, "start")
   if not ok then
      script(dir, port, "stop") -- whatever did start
      return nil, "the local SLURM cluster did not start: " .. out:gsub("%s+$", "")
   end
   current = { dir = dir, port = port, conf = dir .. "/etc/slurm.conf" }
   previous_conf = os.getenv("SLURM_CONF")
   ffi.C.setenv("SLURM_CONF", current.conf, 1)
   return current
end

-- the processes of the cluster in dir: those its pid files name and slurmctld's children
-- (its slurmscriptd), as { pid = command line }
local function recorded(dir)
   local pids = {}
   local function add(pid)
      local f = pid and io.open("/proc/" .. pid .. "/cmdline", "rb")
      if f then
         pids[pid] = f:read("*a"):gsub("%z", " ")
         f:close()
      end
   end
   for _, file in ipairs { "/munge/munged.pid", "/run/slurmctld.pid", "/run/slurmd.pid" } do
      local f = io.open(dir .. file)
      if f then
         add(tonumber(f:read("*a"):match("%d+")))
         f:close()
      end
   end
   local ctld = io.open(dir .. "/run/slurmctld.pid")
   if ctld then
      local pid = ctld:read("*a"):match("%d+")
      ctld:close()
      for _, child in ipairs(fs.lines(fs.sh(M.PLAIN .. " pgrep -P " .. (pid or "0") .. " 2>/dev/null"))) do
         add(tonumber(child))
      end
   end
   return pids
end

--- Stops the cluster (nothing when none runs); returns the script's output, its daemons
-- still running afterwards as "pid command" lines (none when it stopped cleanly), and those
-- it had before ({ pid = command line }). The daemons: those its pid files named before the
-- stop, slurmctld's children, and any process whose command line names the cluster's folder.
function M.stop()
   if not current then return "", {} end
   local before = recorded(current.dir)
   local out = script(current.dir, current.port, "stop")
   local left = daemons(current.dir)
   for pid, cmd in pairs(before) do
      local f = io.open("/proc/" .. pid .. "/cmdline", "rb")
      if f then
         local now = f:read("*a"):gsub("%z", " ")
         f:close()
         if now == cmd then left[#left + 1] = pid .. " " .. cmd end
      end
   end
   if #left == 0 then fs.rmrf(current.dir) end
   if previous_conf then ffi.C.setenv("SLURM_CONF", previous_conf, 1) else ffi.C.unsetenv("SLURM_CONF") end
   current = nil
   return out, left, before
end

return M
