-- Spec helpers around the public gradient checker (lua/deepobs/gradcheck.lua):
-- gradcheck and rand are re-exported from it; max_diff, flat and errmsg are
-- small comparisons the specs share.
local dob = require "deepobs"
local public = require "deepobs.gradcheck"

local M = { gradcheck = public.gradcheck, rand = public.rand }

-- max |a - b| over all elements (tensors, or tensor and nested table)
function M.max_diff(a, b)
   if not dob.is_tensor(b) then b = dob.tensor(b) end
   local x, y = a:contiguous(), b:contiguous()
   assert(x:numel() == y:numel(), ("max_diff: %d vs %d elements"):format(x:numel(), y:numel()))
   local p, q = x:data(), y:data()
   local m = 0
   for i = 0, x:numel() - 1 do
      local d = math.abs(p[i] - q[i])
      if d ~= d then return math.huge end
      if d > m then m = d end
   end
   return m
end

-- the values of a tensor as a flat Lua array (row-major)
function M.flat(t)
   local c = t:contiguous()
   local p, r = c:data(), {}
   for i = 0, c:numel() - 1 do r[i + 1] = tonumber(p[i]) end
   return r
end

-- runs f, asserts that it raised, and returns the message
function M.errmsg(f)
   local ok, err = pcall(f)
   assert(not ok, "expected an error")
   return tostring(err)
end

return M
