--- What a run says about itself in its setting folder, so that a sweep (or a person) can
-- tell from the files alone, on any machine, whether it is done, running, interrupted,
-- failed or not started:
--
--    random_seed__<seed>__<date>.json   done (the result file)
--    random_seed__<seed>.running        running: host, pid, start; touched at every checkpoint
--    random_seed__<seed>.checkpoint     started and stopped (or running): --resume continues it
--    random_seed__<seed>.failed         the last attempt failed: attempts, exit status, message
--
--    local runstate = require "deepobs.runstate"
--    runstate.started(run); runstate.heartbeat(run); runstate.finished(run)
--    runstate.failed(run, message); runstate.stopped(run)
--    runstate.read(run_dir, seed) --> { state = "done" | "running" | "interrupted" | "failed" | "pending", ... }
local ffi = require "ffi"
local results = require "deepobs.results"

local M = {}

pcall(ffi.cdef, [[
   int getpid(void);
   int kill(int pid, int sig);
   int gethostname(char *name, size_t len);
]])

-- a run whose .running file was not touched for this long, on another host, is presumed dead
M.STALE_SECONDS = 3 * 3600

local function host()
   local buf = ffi.new("char[256]")
   if ffi.C.gethostname(buf, 256) ~= 0 then return "?" end
   return ffi.string(buf)
end

local function base(run_dir, seed) return ("%s/random_seed__%s"):format(run_dir, results.pyint(seed)) end

local function read_fields(path)
   local f = io.open(path, "rb")
   if not f then return nil end
   local t = {}
   for line in f:lines() do
      local k, v = line:match("^([%w_]+)=(.*)$")
      if k then t[k] = v end
   end
   f:close()
   return t
end

local function write_fields(path, fields)
   local lines = {}
   for _, kv in ipairs(fields) do lines[#lines + 1] = ("%s=%s"):format(kv[1], tostring(kv[2]):gsub("\n", " | ")) end
   results.write_atomic(path, table.concat(lines, "\n") .. "\n")
end

--- The run starts (or resumes) on this host.
function M.started(run)
   write_fields(base(run.run_dir, run.seed) .. ".running", {
      { "host", host() }, { "pid", ffi.C.getpid() }, { "since", os.time() },
   })
end

--- Says that the run is still alive (called at every checkpoint).
function M.heartbeat(run)
   local path = base(run.run_dir, run.seed) .. ".running"
   local t = read_fields(path)
   if t then
      write_fields(path, { { "host", t.host }, { "pid", t.pid }, { "since", t.since }, { "alive", os.time() } })
   end
end

--- The run wrote its result: nothing but the result file is left to say about it.
function M.finished(run)
   local b = base(run.run_dir, run.seed)
   os.remove(b .. ".running")
   os.remove(b .. ".failed")
end

--- The run was interrupted (its checkpoint tells where it stopped).
function M.stopped(run) os.remove(base(run.run_dir, run.seed) .. ".running") end

--- The run failed with `message`; the attempts are counted across invocations.
function M.failed(run, message)
   local b = base(run.run_dir, run.seed)
   local before = read_fields(b .. ".failed")
   local attempts = (before and tonumber(before.attempts) or 0) + 1
   os.remove(b .. ".running")
   write_fields(b .. ".failed", { { "attempts", attempts }, { "host", host() }, { "time", os.time() },
      { "message", message } })
end

local exists = require("deepobs.files").exists

-- the names in a folder (empty when it does not exist)
local function names_in(dir)
   local out = {}
   local p = io.popen(("ls -A '%s' 2>/dev/null"):format(dir:gsub("'", "'\\''")))
   if p then
      for name in p:lines() do out[#out + 1] = name end
      p:close()
   end
   return out
end

-- whether the process of a .running file still runs
local function alive(t, now)
   if t.host == host() then
      local pid = tonumber(t.pid)
      return pid ~= nil and (ffi.C.kill(pid, 0) == 0 or ffi.errno() == 1) -- EPERM: exists
   end
   local last = tonumber(t.alive) or tonumber(t.since) or 0
   return now - last < M.STALE_SECONDS
end

--- The state of the run (run_dir, seed) from its files: { state, result (path), host, pid,
-- since, attempts, message }. names (optional): the folder's file names, listed once by a
-- caller that asks about many seeds of one folder.
function M.read(run_dir, seed, names)
   names = names or names_in(run_dir)
   local stem = "random_seed__" .. results.pyint(seed)
   local out = { state = "pending" }
   for _, name in ipairs(names) do
      if name:sub(1, #stem + 2) == stem .. "__" and name:match("%.json$") then
         out.state, out.result = "done", run_dir .. "/" .. name
         return out
      end
   end
   local b = base(run_dir, seed)
   local failed = read_fields(b .. ".failed")
   if failed then
      out.attempts, out.message = tonumber(failed.attempts) or 1, failed.message
   end
   local running = read_fields(b .. ".running")
   if running and alive(running, os.time()) then
      out.state, out.host, out.pid, out.since = "running", running.host, tonumber(running.pid), tonumber(running.since)
   elseif failed then
      out.state = "failed"
   elseif exists(b .. ".checkpoint") then
      out.state = "interrupted"
   end
   return out
end

M.names_in = names_in

return M
