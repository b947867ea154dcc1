--- Finite-difference gradient checks, for anyone adding an op (in the spirit
-- of ggml's test-backend-ops): compare the gradient backward() computes with
-- central differences of the forward pass.
--
--    local gradcheck = require "deepobs.gradcheck"
--    local x = gradcheck.rand({ 4, 5 }, { seed = 1, avoid = { 0 } }):requires_grad_()
--    local ok, report = gradcheck.check(function(t) return t:relu() end, { x }, { op = "relu" })
--    assert(ok, report.message)       -- or gradcheck.assert(f, inputs, opts)
--
-- How it works. out = f(unpack(inputs)) is back-propagated with a fixed
-- pseudo-random weighting w, so the scalar checked is L = sum(w * out),
-- accumulated in double precision on the Lua side. For each checked element
-- x_i of each input that requires grad, L is evaluated at x_i + h and x_i - h
-- (h = eps * max(1, |x_i|)) and the central difference (L+ - L-) / 2h is
-- compared with the analytic gradient: the element passes when
-- |analytic - numeric| <= atol + rtol * max(|analytic|, |numeric|).
--
-- Precision. The engine computes in float32 only (there is no float64 dtype),
-- so the step cannot be made tiny: eps defaults to 1e-3 (relative), large
-- enough that float32 rounding of the outputs stays well below atol, small
-- enough that the O(h^2) error of the central difference does too. Ops whose
-- outputs sum many products (matmul, conv) get looser tolerances in
-- TOLERANCES; opts.atol / rtol / eps override them.
--
-- Kinks. At a point where the op is not differentiable (relu or abs at 0, max
-- at a tie, clamp at a bound) the central difference straddles two slopes.
-- When an element fails, its one-sided differences (L+ - L) / h and
-- (L - L-) / h are compared: if they disagree by more than the tolerance the
-- element sits on a kink, and it is skipped (counted in report.kinks) when
-- the analytic value lies between the two slopes (a valid subgradient, as
-- PyTorch picks), or fails otherwise. opts.kinks = "fail" fails kinks too.
-- To keep inputs clear of known kinks, sample them with rand(shape, {avoid = ...}).
--
-- A NaN on both sides (an op whose output is NaN there) agrees, as does the
-- same infinity; a NaN on one side only fails.
--
-- The report names the worst element: the input, its (1-based) index, the
-- analytic and numeric values and the absolute and relative error.
local dob = require "deepobs"
local A = require "deepobs.argcheck"

local M = {}

local DEFAULT = { atol = 2e-3, rtol = 2e-2, eps = 1e-3 }

--- Per-op tolerances {atol, rtol, eps}; ops not listed get DEFAULT. Loosen an
-- entry only with a reason: a tolerance that hides a wrong gradient is worse
-- than none.
M.TOLERANCES = {
   default = DEFAULT,
   -- long float32 sums of products: rounding grows with the reduction length
   matmul = { atol = 3e-3, rtol = 2e-2, eps = 1e-3 }, mm = { atol = 3e-3, rtol = 2e-2, eps = 1e-3 },
   bmm = { atol = 3e-3, rtol = 2e-2, eps = 1e-3 }, addmm = { atol = 3e-3, rtol = 2e-2, eps = 1e-3 },
   linear = { atol = 3e-3, rtol = 2e-2, eps = 1e-3 },
   conv2d = { atol = 3e-3, rtol = 3e-2, eps = 1e-2 }, conv_transpose2d = { atol = 3e-3, rtol = 3e-2, eps = 1e-2 },
   lstm = { atol = 3e-3, rtol = 3e-2, eps = 1e-3 }, attention = { atol = 3e-3, rtol = 3e-2, eps = 1e-3 },
   self_attention = { atol = 3e-3, rtol = 3e-2, eps = 1e-3 },
   -- normalizations divide by a standard deviation computed in float32
   batch_norm = { atol = 5e-3, rtol = 3e-2, eps = 1e-3 }, layer_norm = { atol = 5e-3, rtol = 3e-2, eps = 1e-3 },
   -- curvature: exp and pow change fast, so the O(h^2) term matters
   exp = { atol = 2e-3, rtol = 3e-2, eps = 1e-3 }, pow = { atol = 2e-3, rtol = 3e-2, eps = 1e-3 },
}

--- Points where common ops are not differentiable (for rand's `avoid`).
M.KINKS = { relu = { 0 }, abs = { 0 }, leaky_relu = { 0 }, elu = { 0 }, sign = { 0 } }

-- a deterministic pseudo-random sequence in (-1, 1), independent of the engine's generator
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

-- 1-based multi-index of flat (0-based) element i of a tensor of sizes sz
local function index_of(sz, i)
   local idx = {}
   for d = #sz, 1, -1 do
      idx[d] = i % sz[d] + 1
      i = math.floor(i / sz[d])
   end
   return idx
end

local function tolerances(opts)
   local t = M.TOLERANCES[opts.op or "default"] or DEFAULT
   return opts.atol or t.atol, opts.rtol or t.rtol, opts.eps or t.eps
end

local function check_args(f, inputs, opts)
   if type(f) ~= "function" then A.raise("gradcheck: f must be a function, got " .. type(f)) end
   if type(inputs) ~= "table" then A.raise("gradcheck: inputs must be a list of tensors (and other arguments)") end
   if opts ~= nil and type(opts) ~= "table" then A.raise("gradcheck: opts must be a table") end
   opts = opts or {}
   if opts.op ~= nil and type(opts.op) ~= "string" then A.raise("gradcheck: opts.op must be an op name (a string)") end
   if opts.kinks ~= nil and opts.kinks ~= "skip" and opts.kinks ~= "fail" then
      A.raise("gradcheck: opts.kinks must be 'skip' or 'fail', got " .. tostring(opts.kinks))
   end
   local checked = 0
   for k, x in ipairs(inputs) do
      if dob.is_tensor(x) and x:requires_grad() then
         if x:dtype() ~= "float32" then A.raise(("gradcheck: input %d must be float32"):format(k)) end
         if not x:is_leaf() or not x:is_contiguous() then
            A.raise(("gradcheck: input %d must be a contiguous leaf tensor (clone():requires_grad_() it)"):format(k))
         end
         checked = checked + 1
      end
   end
   if checked == 0 then A.raise("gradcheck: no input requires grad (call requires_grad_() on the ones to check)") end
   return opts
end

--- gradcheck.check(f, inputs, opts): ok and a report on f's gradient with respect to every input that requires grad
-- inputs: a list of arguments for f; tensors that require grad must be
-- contiguous float32 leaves. opts: op (a key of TOLERANCES), atol, rtol,
-- eps, max_checks (elements per input, spread evenly; default 60), seed (of
-- the output weighting), kinks ("skip", the default, or "fail").
-- Returns ok and a report {checked, kinks, worst, message}; worst is
-- {input, index, flat, analytic, numeric, abs_err, rel_err} of the element
-- with the largest error relative to its tolerance.
function M.check(f, inputs, opts)
   opts = check_args(f, inputs, opts)
   local atol, rtol, eps = tolerances(opts)
   local max_checks = opts.max_checks or 60
   local rnd = lcg(opts.seed or 7)
   for _, x in ipairs(inputs) do
      if dob.is_tensor(x) and x:requires_grad() then x:set_grad(nil) end
   end
   local out = f(unpack(inputs))
   if not dob.is_tensor(out) then A.raise("gradcheck: f must return a tensor, got " .. type(out)) end
   local w = dob.empty(out:size())
   do
      local q = w:data()
      for i = 0, w:numel() - 1 do q[i] = rnd() end
   end
   out:backward(w)
   local function L() return dob.no_grad(function() return weighted_sum(f(unpack(inputs)), w) end) end
   local base = L()

   local report = { checked = 0, kinks = {}, worst = nil, op = opts.op }
   local worst_ratio, failed = -1, false
   for k, x in ipairs(inputs) do
      if dob.is_tensor(x) and x:requires_grad() then
         local g = x:grad()
         if not g then
            report.message = ("gradcheck%s: input %d got no gradient from backward"):format(
               opts.op and "[" .. opts.op .. "]" or "", k)
            return false, report
         end
         g = g:contiguous()
         local n = x:numel()
         local step = math.max(1, math.floor(n / max_checks))
         local p, gp = x:data(), g:data()
         for i = 0, n - 1, step do
            local orig = p[i]
            local h = eps * math.max(1, math.abs(orig))
            p[i] = orig + h
            local hp = p[i] - orig         -- the step float32 actually took
            local fp = L()
            p[i] = orig - h
            local hm = orig - p[i]
            local fm = L()
            p[i] = orig
            local num = (fp - fm) / (hp + hm)
            local ana = gp[i]
            local err = math.abs(num - ana)
            local tol = atol + rtol * math.max(math.abs(num), math.abs(ana))
            local ratio = err / tol
            if ana == num or (ana ~= ana and num ~= num) then
               ratio = 0                                   -- equal infinities, or NaN on both sides
            elseif ratio ~= ratio then
               ratio = math.huge                           -- NaN on one side only fails
            end
            local skip = false
            if ratio > 1 and opts.kinks ~= "fail" then
               local right, left = (fp - base) / hp, (base - fm) / hm
               local spread = math.abs(right - left)
               if spread > atol + rtol * math.max(math.abs(left), math.abs(right)) then
                  local lo, hi = math.min(left, right), math.max(left, right)
                  if ana >= lo - tol and ana <= hi + tol then
                     skip = true
                     report.kinks[#report.kinks + 1] = { input = k, index = index_of(x:size(), i), flat = i + 1,
                        analytic = ana, left = left, right = right }
                  end
               end
            end
            report.checked = report.checked + 1
            if not skip then
               if ratio > 1 then failed = true end
               if ratio > worst_ratio then
                  worst_ratio = ratio
                  report.worst = { input = k, index = index_of(x:size(), i), flat = i + 1, analytic = ana,
                     numeric = num, abs_err = err, rel_err = err / math.max(math.abs(num), math.abs(ana), 1e-30) }
               end
            end
         end
      end
   end
   local wst = report.worst
   local where = opts.op and "gradcheck[" .. opts.op .. "]" or "gradcheck"
   if wst then
      report.message = ("%s: %s; worst: input %d element [%s]: analytic %.6g, numeric %.6g, abs err %.3g, " ..
         "rel err %.3g (atol %g, rtol %g, eps %g); %d checked, %d kinks skipped")
         :format(where, failed and "FAILED" or "ok", wst.input, table.concat(wst.index, ","), wst.analytic,
            wst.numeric, wst.abs_err, wst.rel_err, atol, rtol, eps, report.checked, #report.kinks)
   else
      report.message = ("%s: ok; all %d checked elements sit on kinks"):format(where, report.checked)
   end
   return not failed, report
end

--- gradcheck.assert(f, inputs, opts): as check, but raises an error with the report's message on failure
function M.assert(f, inputs, opts)
   local ok, report = M.check(f, inputs, opts)
   if not ok then A.raise(report.message) end
   return report
end

--- gradcheck.gradcheck(f, inputs, opts): true, or false and the message (the older interface of spec/helpers/gradcheck.lua)
function M.gradcheck(f, inputs, opts)
   local ok, report = M.check(f, inputs, opts)
   if ok then return true end
   return false, report.message
end

--- gradcheck.rand(shape, seed, lo, hi): a float32 tensor of the given shape with deterministic values in [lo, hi)
-- rand(shape, seed, lo, hi) or rand(shape, {seed, lo, hi, avoid = {points},
-- margin}): with avoid, values closer than margin (default 0.05) to any of
-- the points are drawn again, keeping inputs clear of kinks.
function M.rand(shape, seed, lo, hi)
   if type(shape) ~= "table" then A.wrong("gradcheck.rand", "shape", "a table of sizes such as { 3, 4 }", shape) end
   local o = type(seed) == "table" and seed or { seed = seed, lo = lo, hi = hi }
   lo = A.finite("gradcheck.rand", "lo", o.lo, -1)
   hi = A.finite("gradcheck.rand", "hi", o.hi, 1)
   if not (lo < hi) then A.fail("gradcheck.rand", "lo (%g) must be below hi (%g)", lo, hi) end
   local avoid, margin = A.table("gradcheck.rand", "avoid", o.avoid, {}), A.finite("gradcheck.rand", "margin", o.margin, 0.05)
   for i, k in ipairs(avoid) do A.finite("gradcheck.rand", ("avoid[%d]"):format(i), k) end
   local rnd = lcg(A.int("gradcheck.rand", "seed", o.seed, 0, 2 ^ 31, 1))
   local function near_kink(v)
      for _, k in ipairs(avoid) do if math.abs(v - k) < margin then return true end end
      return false
   end
   for i, n in ipairs(shape) do A.int("gradcheck.rand", ("shape[%d]"):format(i), n, 0, 2 ^ 24) end
   local t = dob.empty(shape)
   local p = t:data()
   for i = 0, t:numel() - 1 do
      local v
      for _ = 1, 1000 do
         v = lo + (hi - lo) * (rnd() + 1) / 2
         if not near_kink(v) then break end
      end
      if near_kink(v) then A.raise("gradcheck.rand: [lo, hi) has no room away from the points to avoid") end
      p[i] = v
   end
   return t
end

return M
