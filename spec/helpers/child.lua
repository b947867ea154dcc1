-- Runs a Lua chunk in a child LuaJIT (same package path and environment), so
-- that a crash or a hang fails one test instead of the whole suite.
--
--    local child = require "helpers.child"
--    local r = child.run("local dob = require 'deepobs'; print(dob.zeros(2):numel())", { timeout = 10 })
--    -- r.rc (124: timed out, 128 + n: killed by signal n), r.out (stdout and stderr)
--
-- opts.vmem_mb caps the child's memory, so that an allocation the engine
-- should have refused fails fast instead of swapping: the address space
-- (ulimit -v) normally, and under AddressSanitizer, which reserves terabytes
-- of address space, a watchdog that kills the child (exit 137) once its
-- resident memory passes the cap (and ASan returns NULL for a refused
-- allocation instead of aborting, so the engine's own error is what is seen).
local fs = require "helpers.fs"

local M = {}

local count = 0

function M.run(code, opts)
   opts = opts or {}
   count = count + 1
   local base = ("/tmp/deepobs_child_%d_%d"):format(os.time(), count)
   local script, out, sh = base .. ".lua", base .. ".out", base .. ".sh"
   fs.write(script, "package.path = './lua/?.lua;./lua/?/init.lua;./spec/?.lua;' .. package.path\n" .. code)
   local limit = opts.timeout or 60
   local run
   local asan = (os.getenv("DEEPOBS_ASAN") or "") ~= ""
   if opts.vmem_mb and asan then
      run = table.concat({
         -- a refused allocation must come back as the engine's error, not ASan's abort
         ("ASAN_OPTIONS=\"$ASAN_OPTIONS:allocator_may_return_null=1\" luajit %s >%s 2>&1 &"):format(script, out),
         "pid=$! ticks=0",
         "while grep -q '^State:[^Z]*$' /proc/$pid/status 2>/dev/null; do",
         "  rss=$(awk '/^VmRSS/ {print $2}' /proc/$pid/status 2>/dev/null)",
         ("  if [ \"${rss:-0}\" -gt %d ]; then kill -KILL $pid; fi"):format(opts.vmem_mb * 1024),
         "  ticks=$((ticks + 1))",
         ("  if [ $ticks -gt %d ]; then kill -KILL $pid; wait $pid; echo 124; exit; fi"):format(limit * 10),
         "  sleep 0.1",
         "done",
         "wait $pid",
      }, "\n")
   else
      run = ("timeout -k 2 %d luajit %s >%s 2>&1"):format(limit, script, out)
      if opts.vmem_mb then run = ("ulimit -v %d; %s"):format(opts.vmem_mb * 1024, run) end
   end
   fs.write(sh, run .. "\necho $?\n")
   local rc = fs.sh("sh " .. sh .. " 2>/dev/null")
   local text = fs.exists(out) and fs.read(out) or ""
   os.remove(script)
   os.remove(out)
   os.remove(sh)
   return { rc = tonumber(rc:match("%d+")), out = text }
end

return M
