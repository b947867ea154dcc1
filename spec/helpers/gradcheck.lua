-- Finite-difference gradient checks for specs.
--
-- gradcheck(f, inputs, opts) evaluates out = f(unpack(inputs)), back-propagates
-- a fixed random weighting w (so the scalar checked is sum(w * out), computed
-- in double precision), and compares every input's gradient with central
-- differences (f(x + eps) - f(x - eps)) / 2 eps. Inputs that do not require
-- grad are left alone. Returns true, or false and a message naming the worst
-- element.
local dob = require "deepobs"

local M = {}

-- a deterministic pseudo-random sequence in (-1, 1), independent of the engine
local function lcg(seed)
   local s = seed
   return function()
      s = (s * 1103515245 + 12345) % 2147483648
      return s / 1073741824 - 1
   end
end

local function weighted_sum(out, w)
   local c = out:contiguous()
   local p, q = c:data(), w:data()
   local s = 0
   for i = 0, c:numel() - 1 do s = s + p[i] * q[i] end
   return s
end

function M.gradcheck(f, inputs, opts)
   opts = opts or {}
   local eps = opts.eps or 1e-3
   local atol, rtol = opts.atol or 2e-3, opts.rtol or 2e-2
   local max_checks = opts.max_checks or 60
   local rnd = lcg(opts.seed or 7)
   for _, x in ipairs(inputs) do
      if dob.is_tensor(x) and x:requires_grad() then x:set_grad(nil) end
   end
   local out = f(unpack(inputs))
   local w = dob.empty(out:size())
   do
      local q = w:data()
      for i = 0, w:numel() - 1 do q[i] = rnd() end
   end
   out:backward(w)
   for k, x in ipairs(inputs) do
      if dob.is_tensor(x) and x:requires_grad() then
         local g = x:grad()
         if not g then return false, ("input %d got no gradient"):format(k) end
         g = g:contiguous()
         local xc = x:contiguous()
         if not xc:is_same_storage(x) or not x:is_contiguous() then
            error("gradcheck: inputs that require grad must be contiguous leaves")
         end
         local n = x:numel()
         local step = math.max(1, math.floor(n / max_checks))
         local p, gp = x:data(), g:data()
         for i = 0, n - 1, step do
            local orig = p[i]
            local h = eps * math.max(1, math.abs(orig))
            p[i] = orig + h
            local fp = dob.no_grad(function() return weighted_sum(f(unpack(inputs)), w) end)
            p[i] = orig - h
            local fm = dob.no_grad(function() return weighted_sum(f(unpack(inputs)), w) end)
            p[i] = orig
            local num = (fp - fm) / (2 * h)
            local ana = gp[i]
            if math.abs(num - ana) > atol + rtol * math.max(math.abs(num), math.abs(ana)) then
               return false, ("input %d element %d: analytic %.6g, numeric %.6g"):format(k, i + 1, ana, num)
            end
         end
      end
   end
   return true
end

-- a float tensor of the given shape with values in [lo, hi), deterministic
function M.rand(shape, seed, lo, hi)
   lo, hi = lo or -1, hi or 1
   local rnd = lcg(seed or 1)
   local t = dob.empty(shape)
   local p = t:data()
   for i = 0, t:numel() - 1 do p[i] = lo + (hi - lo) * (rnd() + 1) / 2 end
   return t
end

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
