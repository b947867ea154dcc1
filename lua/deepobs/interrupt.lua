--- SIGINT and SIGTERM as a request to stop at the next safe point
-- (src/interrupt/interrupt.c).
--
--    local interrupt = require "deepobs.interrupt"
--    interrupt.install("run.lua: second interrupt: stopped at once, no checkpoint\n")
--    ... if interrupt.pending() then <save>; interrupt.exit() end ...
--    interrupt.restore()
--
-- SLURM sends SIGTERM before it preempts or cancels a job, a terminal sends SIGINT on
-- Ctrl-C; both become a flag that the runner reads after every training step. A second
-- signal ends the process at once with the message given to install.
local ffi = require "ffi"
local Cmod = require "deepobs.C"

ffi.cdef [[
int dob_interrupt_install(const char *message);
int dob_interrupt_pending(void);
void dob_interrupt_restore(void);
void dob_interrupt_exit(int sig);
]]

local M = {}

local lib = ffi.load(Cmod.find_library("libdeepobs_interrupt", "DEEPOBS_INTERRUPT_LIB"))

local SIGINT, SIGTERM = 2, 15
M.NAMES = { [SIGINT] = "SIGINT", [SIGTERM] = "SIGTERM" }

-- the message is kept referenced while the handler may write it
local message

--- Takes over SIGINT and SIGTERM. msg: what a second signal writes to stderr.
function M.install(msg)
   message = msg
   if lib.dob_interrupt_install(msg) ~= 0 then
      error("cannot install the SIGINT/SIGTERM handlers (sigaction failed)", 0)
   end
end

--- The number and name of the first signal received since install, or nil.
function M.pending()
   local sig = lib.dob_interrupt_pending()
   if sig == 0 then return nil end
   return sig, M.NAMES[sig] or ("signal " .. sig)
end

--- Gives the signals back to their previous handlers.
function M.restore() lib.dob_interrupt_restore() end

--- Ends the process as the signal would have (the shell reports 128 + sig): what a
-- program does after it has saved its state on an interrupt.
function M.exit(sig)
   io.stdout:flush()
   io.stderr:flush()
   lib.dob_interrupt_exit(sig)
end

return M
