--- Old forms of the API kept working for one more version, with a warning printed once per
-- form (on stderr, naming the caller's file and line), so that code written for an earlier
-- deepobs runs and says what to change. Each form goes in deepobs M.UNTIL.
--
--    local deprecated = require "deepobs.deprecated"
--    deprecated.warn("addcmul_(value, t1, t2)", "addcmul_(t1, t2, value)")
local A = require "deepobs.argcheck"

local M = {}

M.UNTIL = "0.2"

local warned = {}

--- Warns once that `old` is deprecated in favour of `new`.
function M.warn(old, new)
   if warned[old] then return end
   warned[old] = true
   local info = A.caller()
   local where = info and info.currentline and info.currentline > 0
      and ("%s:%d: "):format(info.short_src, info.currentline) or ""
   io.stderr:write(("%sdeepobs: %s is deprecated and goes in deepobs %s; write %s\n"):format(where, old, M.UNTIL, new))
end

--- Forgets which warnings were printed (for specs).
function M.reset() warned = {} end

return M
