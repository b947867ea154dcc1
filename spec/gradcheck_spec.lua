-- The public gradient checker (lua/deepobs/gradcheck.lua): it must fail a
-- wrong backward (fake ops whose gradient is off by a factor, everywhere or at
-- one element, which the report must name), pass correct ops, and tell a kink
-- (relu/abs at 0, clamp at a bound, maximum at a tie) from a wrong gradient.
local dob = require "deepobs"
local gradcheck = require "deepobs.gradcheck"

-- value of op(x), gradient k * op'(x): the detached term carries the difference
local function scaled_grad(op, k)
   return function(x)
      local y = op(x)
      local yk = y * k
      return yk + (y - yk):detach()
   end
end

-- value of op(x), gradient op'(x) + extra at the elements where mask is 1
local function bumped_grad(op, mask, extra)
   return function(x)
      local b = x * mask * extra
      return op(x) + b - b:detach()
   end
end

local function one_hot_mask(shape, flat)
   local m = dob.zeros(shape)
   m:set_flat(flat, 1)
   return m
end

local SMOOTH = {
   exp = function(x) return x:exp() end, sigmoid = function(x) return x:sigmoid() end,
   tanh = function(x) return x:tanh() end, softplus = function(x) return x:softplus() end,
   square = function(x) return x:square() end, gelu = function(x) return x:gelu() end,
   matmul = function(x) return x:matmul(x:t()) end, softmax = function(x) return x:softmax(2) end,
}

local function names(t)
   local r = {}
   for k in pairs(t) do r[#r + 1] = k end
   table.sort(r)
   return r
end

describe("deepobs.gradcheck", function()
   describe("catches a wrong backward", function()
      for _, name in ipairs(names(SMOOTH)) do
         for _, k in ipairs { 0, -1, 0.5, 1.1, 2 } do
            it(("%s with its gradient scaled by %g"):format(name, k), function()
               local x = gradcheck.rand({ 3, 4 }, { seed = 3, lo = 0.2, hi = 1.5 }):requires_grad_()
               local ok, report = gradcheck.check(scaled_grad(SMOOTH[name], k), { x }, { op = name })
               assert.is_false(ok, report.message)
               assert.matches("FAILED", report.message)
               local w = report.worst
               -- the worst element's analytic value is k times its numeric one
               assert.is_true(math.abs(w.analytic - k * w.numeric) <= 0.05 * math.abs(w.numeric) + 1e-3,
                  report.message)
            end)
         end
      end

      for _, flat in ipairs { 1, 7, 12 } do
         it(("names the one wrong element (flat %d) with its index and both values"):format(flat), function()
            local x = gradcheck.rand({ 3, 4 }, { seed = 5 }):requires_grad_()
            local ok, report = gradcheck.check(bumped_grad(SMOOTH.tanh, one_hot_mask({ 3, 4 }, flat), 3), { x })
            assert.is_false(ok)
            local w = report.worst
            assert.are.equal(1, w.input)
            assert.are.equal(flat, w.flat)
            assert.are.same({ math.floor((flat - 1) / 4) + 1, (flat - 1) % 4 + 1 }, w.index)
            assert.is_true(w.abs_err > 0.1 and w.rel_err > 0.1)
            assert.matches(("element %%[%d,%d%%]"):format(w.index[1], w.index[2]), report.message)
            assert.matches("analytic", report.message)
            assert.matches("numeric", report.message)
         end)
      end

      it("a wrong gradient for the second input is reported against input 2", function()
         local a = gradcheck.rand({ 4 }, 1):requires_grad_()
         local b = gradcheck.rand({ 4 }, 2):requires_grad_()
         local ok, report = gradcheck.check(function(x, y)
            local yy = y * 1.5
            return x * (yy + (y - yy):detach())
         end, { a, b })
         assert.is_false(ok)
         assert.are.equal(2, report.worst.input)
      end)

      it("a NaN gradient where the numeric one is finite fails", function()
         local x = gradcheck.rand({ 5 }, { seed = 2, lo = 0.5, hi = 1 }):requires_grad_()
         local nan_grad = function(t)
            local z = (t * 0):sqrt()   -- value 0, gradient 0 * inf = NaN
            return t:exp() + z
         end
         assert.is_false((gradcheck.check(nan_grad, { x })))
      end)

      it("gradcheck.assert raises with the report's message; the old interface returns false and it", function()
         local x = gradcheck.rand({ 4 }, 1):requires_grad_()
         local bad = scaled_grad(SMOOTH.exp, 2)
         local ok, err = pcall(gradcheck.assert, bad, { x })
         assert.is_false(ok)
         assert.matches("gradcheck: FAILED; worst: input 1", tostring(err))
         local ok2, msg = gradcheck.gradcheck(bad, { x })
         assert.is_false(ok2)
         assert.matches("worst", msg)
      end)
   end)

   describe("passes correct ops", function()
      local CORRECT = {
         { "exp", SMOOTH.exp, { 3, 4 } }, { "sigmoid", SMOOTH.sigmoid, { 3, 4 } }, { "tanh", SMOOTH.tanh, { 3, 4 } },
         { "softplus", SMOOTH.softplus, { 3, 4 } }, { "square", SMOOTH.square, { 3, 4 } }, { "gelu", SMOOTH.gelu, { 3, 4 } },
         { "matmul", SMOOTH.matmul, { 3, 4 } }, { "softmax", SMOOTH.softmax, { 3, 4 } },
         { "log", function(x) return (x:abs() + 0.5):log() end, { 3, 4 } },
         { "sqrt", function(x) return (x:square() + 0.3):sqrt() end, { 3, 4 } },
         { "log_softmax", function(x) return x:log_softmax(2) end, { 3, 4 } },
         { "mean", function(x) return x:mean(1) end, { 3, 4 } }, { "var", function(x) return x:var(2) end, { 3, 4 } },
         { "std", function(x) return x:std(2) end, { 3, 4 } },
         { "layer_norm", function(x) return x:layer_norm(1) end, { 3, 4 } },
         { "conv2d", function(x) return dob.conv2d(x, gradcheck.rand({ 2, 1, 2, 2 }, 9), nil, { padding = 1 }) end, { 1, 1, 4, 4 } },
         { "avg_pool2d", function(x) return x:avg_pool2d({ kernel = 2 }) end, { 1, 1, 4, 4 } },
      }
      for _, c in ipairs(CORRECT) do
         it(c[1] .. " (tolerances from TOLERANCES)", function()
            local x = gradcheck.rand(c[3], { seed = 11 }):requires_grad_()
            local ok, report = gradcheck.check(c[2], { x }, { op = c[1] })
            assert.is_true(ok, report.message)
            assert.is_true(report.checked >= math.min(12, x:numel()))
            local tol = gradcheck.TOLERANCES[c[1]] or gradcheck.TOLERANCES.default
            assert.matches(("atol %g, rtol %g, eps %g"):format(tol.atol, tol.rtol, tol.eps), report.message)
         end)
      end
   end)

   describe("kinks", function()
      -- inputs with elements exactly on the kink; the last field says whether
      -- the central difference disagrees there (abs at 0 and a tie of two
      -- arguments give the mean of the slopes on both sides, so they agree)
      local KINKED = {
         { "relu at 0", function(x) return x:relu() end, { 0, 0.5, -0.5, 0, 1 }, true },
         { "abs at 0", function(x) return x:abs() end, { 0, 0.5, -0.5, 0, 1 }, false },
         { "leaky_relu at 0", function(x) return x:leaky_relu(0.1) end, { 0, 0.5, -0.5, 0, 1 }, true },
         { "clamp at its bounds", function(x) return x:clamp(-0.5, 0.5) end, { -0.5, 0.5, 0, 0.9, -0.9 }, true },
         { "maximum at a tie", function(x) return dob.maximum(x, dob.full({ 5 }, 0.25)) end, { 0.25, 0.5, -0.5, 0.25, 1 }, false },
         { "max reduction at a tie", function(x) return x:max() end, { 1, 0.5, 1, -1, 0 }, true },
      }
      for _, c in ipairs(KINKED) do
         it(c[1] .. ": no false failure" .. (c[4] and "; the kink elements are reported as skipped" or ""), function()
            local x = dob.tensor(c[3]):requires_grad_()
            local ok, report = gradcheck.check(c[2], { x })
            assert.is_true(ok, report.message)
            if c[4] then
               assert.is_true(#report.kinks >= 1, "no kink detected")
               for _, k in ipairs(report.kinks) do
                  local lo, hi = math.min(k.left, k.right), math.max(k.left, k.right)
                  assert.is_true(k.analytic >= lo - 1e-3 and k.analytic <= hi + 1e-3)
               end
               -- kinks = "fail" makes the same elements fail
               assert.is_false((gradcheck.check(c[2], { x }, { kinks = "fail" })))
            else
               assert.are.equal(0, #report.kinks)
            end
         end)
      end

      it("a gradient outside the two slopes at a kink still fails (relu with 5 at 0)", function()
         local x = dob.tensor({ 0.5, 0, -0.5 }):requires_grad_()
         local ok, report = gradcheck.check(bumped_grad(function(t) return t:relu() end, one_hot_mask({ 3 }, 2), 5), { x })
         assert.is_false(ok)
         assert.are.equal(2, report.worst.flat)
      end)

      it("smooth points are not mistaken for kinks (exp with large curvature)", function()
         local x = gradcheck.rand({ 10 }, { seed = 4, lo = 2, hi = 4 }):requires_grad_()
         local ok, report = gradcheck.check(SMOOTH.exp, { x }, { op = "exp" })
         assert.is_true(ok, report.message)
         assert.are.equal(0, #report.kinks)
      end)

      it("rand(shape, {avoid, margin}) keeps every value away from the kinks, deterministically", function()
         for seed = 1, 5 do
            local t = gradcheck.rand({ 200 }, { seed = seed, lo = -1, hi = 1, avoid = { 0, 0.5 }, margin = 0.1 })
            local u = gradcheck.rand({ 200 }, { seed = seed, lo = -1, hi = 1, avoid = { 0, 0.5 }, margin = 0.1 })
            for i = 1, 200 do
               local v = t:get_flat(i)
               assert.is_true(math.abs(v) >= 0.1 - 1e-6 and math.abs(v - 0.5) >= 0.1 - 1e-6, tostring(v))
               assert.is_true(v >= -1 and v < 1)
               assert.are.equal(v, u:get_flat(i))
            end
         end
         assert.has_error(function() gradcheck.rand({ 3 }, { lo = -0.01, hi = 0.01, avoid = { 0 }, margin = 0.5 }) end)
      end)
   end)

   describe("arguments", function()
      local BAD = {
         { "f not a function", function() return gradcheck.check(nil, { dob.ones(2):requires_grad_() }) end, "f must be a function" },
         { "inputs not a table", function() return gradcheck.check(SMOOTH.exp, 3) end, "inputs must be a list" },
         { "no input requires grad", function() return gradcheck.check(SMOOTH.exp, { dob.ones(2) }) end, "no input requires grad" },
         { "a non-leaf input", function()
            local x = dob.ones(2):requires_grad_()
            return gradcheck.check(SMOOTH.exp, { x * 2 })
         end, "contiguous leaf" },
         { "a non-contiguous input", function()
            local x = dob.ones(2, 3):requires_grad_()
            return gradcheck.check(SMOOTH.exp, { x:t() })
         end, "contiguous leaf" },
         { "f returning a number", function() return gradcheck.check(function() return 1 end, { dob.ones(2):requires_grad_() }) end,
            "f must return a tensor" },
         { "bad kinks option", function() return gradcheck.check(SMOOTH.exp, { dob.ones(2):requires_grad_() }, { kinks = "maybe" }) end,
            "kinks must be" },
      }
      for _, b in ipairs(BAD) do
         it(b[1] .. " is a clear error", function()
            local ok, err = pcall(b[2])
            assert.is_false(ok)
            assert.matches(b[3], tostring(err))
         end)
      end
   end)
end)
