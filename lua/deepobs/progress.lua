--- What a run prints while it trains: a header, one line per evaluation, the logged
-- minibatch losses on request, and on a terminal a live status line with the ETA.
--
--    local progress = require "deepobs.progress"
--    local p = progress.new{ quiet = false, stdout = io.stdout, live = nil, print_train_iter = false }
--    p:say("text"); p:warn("text"); p:evaluation(n, N, metrics, seconds)
--    local sw = progress.stopwatch(timings)  -- timings: a table, or nil for a no-op watch
--    sw:lap("data")                          -- timings.data += seconds since the last lap
local ffi = require "ffi"
local results = require "deepobs.results"

local M = {}

pcall(ffi.cdef, [[
   typedef struct { long tv_sec; long tv_nsec; } dob_progress_timespec;
   int clock_gettime(int clk, dob_progress_timespec *ts);
   int isatty(int fd);
]])
local ts = ffi.new("dob_progress_timespec")

--- Seconds on the monotonic clock.
function M.now()
   ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
   return tonumber(ts.tv_sec) + tonumber(ts.tv_nsec) * 1e-9
end

local Stopwatch = {}
Stopwatch.__index = Stopwatch

--- Adds the seconds since the previous lap (or the watch's creation) to timings[key];
-- key nil: only restarts the lap.
function Stopwatch:lap(key)
   local t = M.now()
   if key then self.timings[key] = (self.timings[key] or 0) + (t - self.last) end
   self.last = t
end

local NO_WATCH = { lap = function() end }

--- Where a run's wall time goes (bench/epoch.lua): a watch whose laps add up in
-- `timings` (name -> seconds); with timings nil, laps do nothing and read no clock.
function M.stopwatch(timings)
   if timings == nil then return NO_WATCH end
   return setmetatable({ timings = timings, last = M.now() }, Stopwatch)
end

local function stderr_is_tty()
   local ok, r = pcall(function() return ffi.C.isatty(2) == 1 end)
   return ok and r
end

local function fmt_num(x)
   if x == nil then return "-" end
   return ("%.4f"):format(x)
end

function M.fmt_time(s)
   if s ~= s or s == math.huge then return "?" end
   if s >= 3600 then return ("%dh%02dm"):format(math.floor(s / 3600), math.floor(s % 3600 / 60)) end
   if s >= 60 then return ("%dm%02ds"):format(math.floor(s / 60), math.floor(s % 60)) end
   return ("%.0fs"):format(s)
end

local Progress = {}
Progress.__index = Progress

--- opts: quiet (print nothing), stdout (default io.stdout), live (the status line; default:
-- when stderr is a terminal), print_train_iter (print every logged minibatch loss).
function M.new(opts)
   opts = opts or {}
   local quiet = opts.quiet and true or false
   local live = not quiet and (opts.live == nil and stderr_is_tty() or opts.live) or false
   return setmetatable({ quiet = quiet, out = opts.stdout or io.stdout, live = live,
      print_train_iter = opts.print_train_iter and not quiet, shown_at = 0 }, Progress)
end

function Progress:say(s)
   if self.quiet then return end
   self:clear_live()
   self.out:write(s, "\n")
   self.out:flush()
end

--- A warning goes to stderr even when quiet: it says something about the results.
function Progress:warn(s)
   self:clear_live()
   io.stderr:write("run.lua: warning: ", s, "\n")
   io.stderr:flush()
end

--- The first line: what runs, with which settings, on which machine setup.
function Progress:header(run, threads, blas)
   local t = {}
   for _, h in ipairs(run.hp_list) do t[#t + 1] = (" %s %s"):format(h[1], results.hp_str(h[2], h[3])) end
   local sched = run.schedule.name ~= "constant" and (" (%s schedule)"):format(run.schedule.name) or ""
   self:say(("%s | %s lr %s%s%s | bs %d, %d epochs, seed %d%s | %d threads, OpenBLAS %s"):format(
      run.problem.name, run.optimizer.name, results.float2str(run.lr), sched, table.concat(t),
      run.batch_size, run.num_epochs, run.seed, run.validation and ", validation split" or "", threads, blas))
end

--- One evaluation: metrics = { train_loss, train_acc, valid_loss, valid_acc, test_loss, test_acc }.
function Progress:evaluation(n, num_epochs, m, seconds)
   if self.quiet then return end
   local line = ("epoch %d/%d  train loss %s"):format(n, num_epochs, fmt_num(m.train_loss))
   if m.valid_loss then line = line .. "  valid loss " .. fmt_num(m.valid_loss) end
   line = line .. "  test loss " .. fmt_num(m.test_loss)
   if m.train_acc then
      line = line .. "  train acc " .. fmt_num(m.train_acc)
      if m.valid_acc then line = line .. "  valid acc " .. fmt_num(m.valid_acc) end
      line = line .. "  test acc " .. fmt_num(m.test_acc)
   end
   if seconds then line = line .. ("  %.1fs"):format(seconds) end
   self:say(line)
end

function Progress:minibatch(epoch, step, loss)
   if self.print_train_iter then
      self:say(("epoch %d step %d  minibatch train loss %.6g"):format(epoch, step, loss))
   end
end

--- The live status line (a terminal only), at most four times a second.
function Progress:training(epoch, num_epochs, step, steps_per_epoch, loss, rate, steps_left)
   if not self.live then return end
   local t = M.now()
   if t - self.shown_at < 0.25 then return end
   self.shown_at = t
   io.stderr:write(("\r\27[Kepoch %d/%d  step %d/%d  loss %.4f  %.1f steps/s  ETA %s"):format(
      epoch, num_epochs, step, steps_per_epoch, loss or 0 / 0, rate, M.fmt_time(steps_left / rate)))
   io.stderr:flush()
   self.line_shown = true
end

function Progress:clear_live()
   if self.line_shown then
      io.stderr:write("\r\27[K")
      io.stderr:flush()
      self.line_shown = false
   end
end

return M
