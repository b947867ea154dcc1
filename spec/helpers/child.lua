-- Runs a Lua chunk in a child LuaJIT (same package path and environment), so
-- that a crash or a hang fails one test instead of the whole suite.
--
--    local child = require "helpers.child"
--    local r = child.run("local dob = require 'deepobs'; print(dob.zeros(2):numel())", { timeout = 10 })
--    -- r.rc (124: timed out, 128 + n: killed by signal n), r.out (stdout and stderr)
--
-- opts.vmem_mb caps the child's address space (ulimit -v), so that an
-- allocation the engine should have refused fails fast instead of swapping;
-- it is not applied under AddressSanitizer, which reserves terabytes.
local fs = require "helpers.fs"

local M = {}

local count = 0

function M.run(code, opts)
   opts = opts or {}
   count = count + 1
   local base = ("/tmp/deepobs_child_%d_%d"):format(os.time(), count)
   local script, out = base .. ".lua", base .. ".out"
   fs.write(script, "package.path = './lua/?.lua;./lua/?/init.lua;./spec/?.lua;' .. package.path\n" .. code)
   local limit = ""
   if opts.vmem_mb and not os.getenv("DEEPOBS_ASAN") then limit = ("ulimit -v %d; "):format(opts.vmem_mb * 1024) end
   local rc = fs.sh(("sh -c '%stimeout -k 2 %d luajit %s >%s 2>&1; echo $?'")
      :format(limit, opts.timeout or 60, script, out))
   local text = fs.exists(out) and fs.read(out) or ""
   os.remove(script)
   os.remove(out)
   rc = tonumber(rc:match("%d+"))
   return { rc = rc, out = text }
end

return M
