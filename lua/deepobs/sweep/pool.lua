--- The local executor: the runs of a sweep as a pool of N processes on this machine.
--
--    local pool = require "deepobs.sweep.pool"
--    local outcome = pool.run(runs, { jobs = 2, retries = 1, command = fn(run) -> cmd, log = fn(run) -> path,
--                                     out = io.stdout, live = nil })
--    outcome.done, outcome.failed (runs), outcome.signal (an interrupt stopped it)
--
-- Each run is a `luajit run.lua ... --resume` process in a session of its own, so a Ctrl-C
-- on the terminal reaches only the sweep, which passes one SIGTERM to every running run:
-- each finishes its step, writes its checkpoint and stops, and the sweep exits as the
-- signal would. A run that fails is started again up to `retries` times; a failure never
-- stops the others. On a terminal a table of the running runs is redrawn in place; otherwise
-- every start and end is one line.
local ffi = require "ffi"
local interrupt = require "deepobs.interrupt"
local process = require "deepobs.sweep.process"
local progress = require "deepobs.progress"
local plan = require "deepobs.sweep.plan"

local M = {}

pcall(ffi.cdef, "int isatty(int fd);")

local function fmt_time(s) return progress.fmt_time(s) end

-- the last line of a run's log: where it is (the runner prints one line per epoch)
local function last_line(path)
   local f = io.open(path, "rb")
   if not f then return "" end
   local size = f:seek("end")
   f:seek("set", math.max(0, size - 400))
   local tail = f:read("*a") or ""
   f:close()
   local line = ""
   for l in tail:gmatch("[^\r\n]+") do if l:match("%S") then line = l end end
   return line
end

local Display = {}
Display.__index = Display

local function new_display(out, live, total)
   return setmetatable({ out = out, live = live, total = total, drawn = 0 }, Display)
end

function Display:clear()
   if self.drawn > 0 then
      self.out:write(("\27[%dA\27[J"):format(self.drawn))
      self.drawn = 0
   end
end

function Display:event(s)
   self:clear()
   self.out:write(s, "\n")
   self.out:flush()
end

function Display:table(active, counts)
   if not self.live then return end
   self:clear()
   local lines = { ("sweep: %d done, %d running, %d failed, %d to go (of %d)"):format(counts.done,
      counts.running, counts.failed, counts.waiting, self.total) }
   local now = progress.now()
   for _, a in ipairs(active) do
      lines[#lines + 1] = ("  %-60s %7s  %s"):format(plan.label(a.run):sub(1, 60), fmt_time(now - a.started),
         last_line(a.log):sub(1, 60))
   end
   self.out:write(table.concat(lines, "\n"), "\n")
   self.out:flush()
   self.drawn = #lines
end

--- Runs `runs` (those not done) with opts.jobs processes at a time. Returns { done, failed,
-- signal }. opts: jobs, retries (default 1), command(run), log(run), out, live.
function M.run(runs, opts)
   local out = opts.out or io.stdout
   local live = opts.live
   if live == nil then live = ffi.C.isatty(1) == 1 end
   local queue, attempts = {}, {}
   for _, r in ipairs(runs) do queue[#queue + 1] = r end
   local total = #queue
   local display = new_display(out, live, total)
   local active, outcome = {}, { done = {}, failed = {} }
   local counts = { done = 0, running = 0, failed = 0, waiting = #queue }
   local stopping
   interrupt.install("\nsweep: second interrupt: stopped at once; the runs finish their step and checkpoint\n")
   local ok, err = pcall(function()
      while #queue > 0 or #active > 0 do
         local sig = interrupt.pending()
         if sig and not stopping then
            stopping = sig
            display:event(("sweep: %s: stopping the %d running run(s) at their next step (they checkpoint)")
               :format(interrupt.NAMES[sig], #active))
            for _, a in ipairs(active) do a.proc:signal("TERM") end
            queue = {}
         end
         while not stopping and #active < opts.jobs and #queue > 0 do
            local r = table.remove(queue, 1)
            local log = opts.log(r)
            attempts[r.key] = (attempts[r.key] or 0) + 1
            local a = { run = r, log = log, started = progress.now(),
               proc = process.start(opts.command(r), { log = log, new_session = true }) }
            active[#active + 1] = a
            counts.waiting = counts.waiting - 1
            if not live then display:event(("started  %s"):format(plan.label(r))) end
         end
         local still = {}
         for _, a in ipairs(active) do
            if a.proc:running() then
               still[#still + 1] = a
            else
               local st, r = a.proc.status, a.run
               local took = fmt_time(progress.now() - a.started)
               if st == 0 then
                  outcome.done[#outcome.done + 1] = r
                  counts.done = counts.done + 1
                  display:event(("done     %s  (%s)"):format(plan.label(r), took))
               elseif stopping and (st == 143 or st == 130) then
                  display:event(("stopped  %s  (checkpointed; run the sweep again to continue)"):format(plan.label(r)))
               elseif attempts[r.key] <= (opts.retries or 1) and not stopping then
                  display:event(("failed   %s  (exit %d; retrying; log %s)"):format(plan.label(r), st, a.log))
                  queue[#queue + 1] = r
                  counts.waiting = counts.waiting + 1
               else
                  outcome.failed[#outcome.failed + 1] = r
                  counts.failed = counts.failed + 1
                  display:event(("failed   %s  (exit %d after %d attempt(s); log %s)"):format(plan.label(r), st,
                     attempts[r.key], a.log))
               end
            end
         end
         active = still
         counts.running = #active
         display:table(active, counts)
         if #active > 0 then process.sleep(0.05) end
      end
   end)
   display:clear()
   interrupt.restore()
   if not ok then
      for _, a in ipairs(active) do a.proc:signal("TERM") end
      error(err, 0)
   end
   outcome.signal = stopping
   return outcome
end

return M
