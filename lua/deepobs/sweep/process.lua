--- Commands run in the background: start one, ask whether it still runs, signal it, and
-- read its exit status as a shell reports it (128 + signal for a killed process).
--
--    local process = require "deepobs.sweep.process"
--    local p = process.start("luajit run.lua ...", { log = "run.log", cwd = dir, env = { K = "v" } })
--    p:running(); p:signal("TERM"); local status = p:wait(60)
local ffi = require "ffi"

pcall(ffi.cdef, [[
   int usleep(unsigned int usec);
   int getpid(void);
]])

local M = {}

function M.quote(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end
local q = M.quote

--- Sleeps s seconds.
function M.sleep(s) ffi.C.usleep(math.floor(s * 1e6)) end

local read = require("deepobs.files").read

local Process = {}
Process.__index = Process

local count = 0

--- Starts cmd (a shell command line) in the background. opts: log (file for its stdout
-- and stderr; default: discarded), cwd, env (name -> value), new_session (a session of its
-- own: a Ctrl-C on the terminal does not reach it). The command replaces the shell that
-- starts it, so a signal sent to p.pid reaches the command itself.
function M.start(cmd, opts)
   opts = opts or {}
   count = count + 1
   local base = ("/tmp/deepobs_process_%d_%d"):format(ffi.C.getpid(), count)
   local p = setmetatable({ pidfile = base .. ".pid", statusfile = base .. ".status" }, Process)
   local env = {}
   for k, v in pairs(opts.env or {}) do env[#env + 1] = ("%s=%s"):format(k, q(v)) end
   -- pid and status are written under a temporary name and renamed: a reader never sees half
   local script = ("(%s exec %senv %s %s > %s 2>&1) & echo $! > %s.tmp && mv %s.tmp %s; wait $!; "
      .. "echo $? > %s.tmp && mv %s.tmp %s"):format(opts.cwd and ("cd " .. q(opts.cwd) .. " &&") or "",
      opts.new_session and "setsid " or "", table.concat(env, " "), cmd, opts.log and q(opts.log) or "/dev/null",
      p.pidfile, p.pidfile, p.pidfile, p.statusfile, p.statusfile, p.statusfile)
   os.execute("sh -c " .. q(script) .. " >/dev/null 2>&1 &")
   for _ = 1, 2000 do -- the pid appears within milliseconds
      local s = read(p.pidfile)
      if s and s:match("%d+") then p.pid = tonumber(s:match("%d+")); break end
      M.sleep(0.005)
   end
   if not p.pid then error("could not start: " .. cmd, 0) end
   return p
end

--- Sends a signal by name (TERM, INT, KILL).
function Process:signal(name) os.execute(("kill -%s %d 2>/dev/null"):format(name, self.pid)) end

--- Whether it still runs (false once its exit status is known).
function Process:running()
   if self.status then return false end
   local s = read(self.statusfile)
   if s and s:match("%d+") then
      self.status = tonumber(s:match("%d+"))
      os.remove(self.pidfile)
      os.remove(self.statusfile)
      return false
   end
   return true
end

--- Waits until it ends (at most timeout seconds, default forever); returns its exit status,
-- or nil when the time ran out.
function Process:wait(timeout)
   local waited = 0
   while self:running() do
      if timeout and waited >= timeout then return nil end
      M.sleep(0.01)
      waited = waited + 0.01
   end
   return self.status
end

return M
