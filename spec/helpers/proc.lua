-- Background processes for specs: start a command, wait for a condition, signal it, and
-- read its exit status and output.
--
--    local proc = require "helpers.proc"
--    local p = proc.start("luajit run.lua ...", { cwd = dir, env = { K = "v" } })
--    proc.wait_for(function() return fs.exists(marker) end, 30)
--    p:signal("KILL"); local rc, out = p:wait(60)   -- rc as a shell reports it (137 for KILL)
local ffi = require "ffi"
local fs = require "helpers.fs"

pcall(ffi.cdef, "int usleep(unsigned int usec);")
pcall(ffi.cdef, "int getpid(void);")

local M = {}

local function q(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

local seq = 0

--- Seconds, with sub-second resolution.
function M.sleep(s) ffi.C.usleep(math.floor(s * 1e6)) end

--- Polls cond() every 5 ms until it returns a true value (returned) or timeout seconds pass
-- (an error naming what).
function M.wait_for(cond, timeout, what)
   local waited = 0
   while waited < timeout do
      local v = cond()
      if v then return v end
      M.sleep(0.005)
      waited = waited + 0.005
   end
   error(("timed out after %gs waiting for %s"):format(timeout, what or "a condition"), 2)
end

local Proc = {}
Proc.__index = Proc

--- Starts cmd in the background (through sh); opts.cwd, opts.env (name -> value).
function M.start(cmd, opts)
   opts = opts or {}
   seq = seq + 1
   local base = ("/tmp/deepobs_spec_proc_%d_%d"):format(ffi.C.getpid(), seq)
   local p = setmetatable({ pidfile = base .. ".pid", rcfile = base .. ".rc", outfile = base .. ".out" }, Proc)
   local env = {}
   for k, v in pairs(opts.env or {}) do env[#env + 1] = ("%s=%s"):format(k, q(v)) end
   -- pid and status go to a .tmp name first, so a reader never sees half a number
   -- the subshell execs the command, so $! is the command's own pid (signals reach it)
   local script = ("(%s exec env %s %s > %s 2>&1) & echo $! > %s.tmp && mv %s.tmp %s; wait $!; echo $? > %s.tmp && mv %s.tmp %s")
      :format(opts.cwd and ("cd " .. q(opts.cwd) .. " &&") or "", table.concat(env, " "), cmd, q(p.outfile),
         p.pidfile, p.pidfile, p.pidfile, p.rcfile, p.rcfile, p.rcfile)
   os.execute("sh -c " .. q(script) .. " >/dev/null 2>&1 &")
   p.pid = tonumber(M.wait_for(function()
      local f = io.open(p.pidfile)
      if not f then return nil end
      local s = f:read("*a")
      f:close()
      return s:match("%d+")
   end, 10, "the process to start"))
   return p
end

--- Sends a signal by name (TERM, INT, KILL).
function Proc:signal(name) os.execute(("kill -%s %d 2>/dev/null"):format(name, self.pid)) end

function Proc:running()
   local f = io.open(self.rcfile)
   if f then f:close(); return false end
   return true
end

--- The output so far.
function Proc:output()
   local f = io.open(self.outfile)
   if not f then return "" end
   local s = f:read("*a")
   f:close()
   return s
end

--- Waits for the exit (at most timeout seconds); returns the status as the shell reports
-- it (128 + signal for a killed process) and the output (stdout and stderr).
function Proc:wait(timeout)
   M.wait_for(function() return not self:running() end, timeout or 120, "the process to end")
   local rc = tonumber(fs.read(self.rcfile):match("%d+"))
   local out = self:output()
   for _, f in ipairs { self.pidfile, self.rcfile, self.outfile } do os.remove(f) end
   return rc, out
end

return M
