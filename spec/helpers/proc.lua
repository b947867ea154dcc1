-- Background processes for specs (deepobs.sweep.process), with their output captured:
-- start a command, wait for a condition, signal it, read its exit status and output.
--
--    local proc = require "helpers.proc"
--    local p = proc.start("luajit run.lua ...", { cwd = dir, env = { K = "v" } })
--    proc.wait_for(function() return fs.exists(marker) end, 30)
--    p:signal("KILL"); local rc, out = p:wait(60)   -- rc as a shell reports it (137 for KILL)
local process = require "deepobs.sweep.process"
local fs = require "helpers.fs"

local M = { sleep = process.sleep }

--- Polls cond() every 5 ms until it returns a true value (returned) or timeout seconds pass
-- (an error naming what).
function M.wait_for(cond, timeout, what)
   local waited = 0
   while waited < timeout do
      local v = cond()
      if v then return v end
      process.sleep(0.005)
      waited = waited + 0.005
   end
   error(("timed out after %gs waiting for %s"):format(timeout, what or "a condition"), 2)
end

local Proc = {}
Proc.__index = Proc

local count = 0

--- Starts cmd in the background (through sh); opts.cwd, opts.env (name -> value).
function M.start(cmd, opts)
   opts = opts or {}
   count = count + 1
   local out = ("/tmp/deepobs_spec_proc_%s_%d.out"):format(tostring(os.time()), count)
   local p = process.start(cmd, { cwd = opts.cwd, env = opts.env, log = out })
   return setmetatable({ p = p, pid = p.pid, outfile = out }, Proc)
end

function Proc:signal(name) self.p:signal(name) end
function Proc:running() return self.p:running() end

--- The output so far.
function Proc:output()
   return fs.exists(self.outfile) and fs.read(self.outfile) or ""
end

--- Waits for the exit (at most timeout seconds); returns the status as the shell reports
-- it (128 + signal for a killed process) and the output (stdout and stderr).
function Proc:wait(timeout)
   local rc = self.p:wait(timeout or 120)
   if rc == nil then error(("timed out after %gs waiting for the process to end"):format(timeout or 120), 2) end
   local out = self:output()
   os.remove(self.outfile)
   return rc, out
end

return M
