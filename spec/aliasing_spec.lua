-- In-place writes and aliasing, for every in-place Tensor method (found by
-- walking the Tensor class for names ending in "_"), set_grad and the
-- batch-norm running statistics:
--  * a destination in which several elements share one memory location (an
--    expand()ed or overlapping as_strided view) is refused before anything is
--    written, as PyTorch refuses it ("unsupported operation: more than one
--    element of the written-to tensor refers to a single memory location"),
--    with the fix (clone() it) in the message;
--  * a source that overlaps the destination (x:t(), a view shifted by one
--    element) gives the same numbers as the same op with a cloned source;
--  * a destination that is a plain non-contiguous view (x:t()) gets the same
--    numbers as a contiguous copy does.
local dob = require "deepobs"

-- Arguments for each in-place op; `src(k)` stands for the k-th tensor source,
-- which the tests replace by aliasing or independent tensors. An in-place op
-- missing here fails the coverage test, so a new one must be added.
local SRC = {}
local function src(k) return setmetatable({ k = k }, SRC) end
local ARGS = {
   abs_ = {}, exp_ = {}, log_ = {}, neg_ = {}, relu_ = {}, rsqrt_ = {}, sigmoid_ = {}, sign_ = {},
   softplus_ = {}, sqrt_ = {}, square_ = {}, tanh_ = {}, gelu_ = {}, zero_ = {},
   fill_ = { 2.5 }, clamp_ = { 1.2, 1.6 },
   add_ = { src(1), 0.5 }, sub_ = { src(1), 0.5 }, mul_ = { src(1) }, div_ = { src(1) }, pow_ = { src(1) },
   maximum_ = { src(1) }, minimum_ = { src(1) }, copy_ = { src(1) }, lerp_ = { src(1), 0.25 },
   addcmul_ = { 0.5, src(1), src(2) }, addcdiv_ = { 0.5, src(1), src(2) },
   uniform_ = { 0, 1 }, normal_ = { 0, 1 }, truncated_normal_ = { 0, 1 }, bernoulli_ = { 0.5 }, random_ = { 0, 10 },
}
-- in-place methods that write no tensor elements
local NOT_WRITES = { requires_grad_ = true }
-- random fills: their numbers depend on the element order, so only the
-- refusal of aliased destinations is checked
local RANDOM = { uniform_ = true, normal_ = true, truncated_normal_ = true, bernoulli_ = true, random_ = true }
-- ops that need another dtype than float32
local DTYPE = { random_ = "int64" }
-- binary ops that also take a number for their source
local SCALAR_FORM = { add_ = 0.5, sub_ = 0.5, mul_ = 1.5, div_ = 1.5, pow_ = 2, maximum_ = 1.3, minimum_ = 1.3 }

local function inplace_ops()
   local names = {}
   for k, v in pairs(dob.Tensor) do
      if type(v) == "function" and k:sub(-1) == "_" and not NOT_WRITES[k] then names[#names + 1] = k end
   end
   table.sort(names)
   return names
end

-- the arguments of `name` with the tensor sources given by pick(k)
local function args_for(name, pick)
   local a = {}
   for i, v in ipairs(ARGS[name]) do
      if getmetatable(v) == SRC then a[i] = pick(v.k) else a[i] = v end
   end
   return a
end

local function nsources(name)
   local n = 0
   for _, v in ipairs(ARGS[name]) do if getmetatable(v) == SRC then n = n + 1 end end
   return n
end

-- 3x3 values in [1.1, 1.9]: positive (log, sqrt, rsqrt, pow, div) and distinct
local function base3x3(dtype)
   local b = dob.arange(1, 10):float():view(3, 3) / 10 + 1
   return dtype and b:to(dtype) or b
end

local function values(t)
   local c, r = t:contiguous(), {}
   for i = 1, c:numel() do r[i] = c:get_flat(i) end
   return r
end

local function assert_close(a, b, what)
   assert.are.equal(#b, #a, what)
   for i = 1, #a do
      local ok = a[i] == b[i] or (a[i] ~= a[i] and b[i] ~= b[i]) or math.abs(a[i] - b[i]) <= 1e-6 * math.max(1, math.abs(b[i]))
      assert(ok, ("%s: element %d is %.9g, expected %.9g"):format(what, i, a[i], b[i]))
   end
end

local ALIAS_MSG = "more than one element of the written%-to tensor"

-- destinations whose elements share memory: name -> function() -> view, base
local ALIASED = {
   ["expand [1x3] -> [4x3]"] = function(dt) local b = base3x3(dt):narrow(1, 1, 1):clone(); return b:expand(4, 3), b end,
   ["expand [3x1] -> [3x5]"] = function(dt) local b = base3x3(dt):narrow(2, 1, 1):clone(); return b:expand(3, 5), b end,
   ["as_strided [3x3] strides {1, 1}"] = function(dt) local b = base3x3(dt); return b:as_strided({ 3, 3 }, { 1, 1 }), b end,
   ["as_strided [2x2] strides {0, 1}"] = function(dt) local b = base3x3(dt); return b:as_strided({ 2, 2 }, { 0, 1 }), b end,
}

describe("in-place ops and aliasing", function()
   local OPS = inplace_ops()

   it("every in-place Tensor method has test arguments", function()
      assert.is_true(#OPS >= 30, "only " .. #OPS .. " in-place methods found")
      for _, name in ipairs(OPS) do
         assert.is_not_nil(ARGS[name], name .. " is new: add its arguments to ARGS in this spec")
      end
   end)

   for _, name in ipairs(OPS) do
      if ARGS[name] then
         for what, make in pairs(ALIASED) do
            it(("x:%s on an aliased destination (%s) is refused before writing"):format(name, what), function()
               local x, base = make(DTYPE[name])
               local before = values(base)
               local ok, err = pcall(dob.Tensor[name], x, unpack(args_for(name, function() return dob.ones(x:size()) end)))
               assert.is_false(ok, name .. " wrote into an aliased tensor")
               assert.matches(ALIAS_MSG, tostring(err))
               assert.matches("clone%(%)", tostring(err))
               assert.are.same(before, values(base))
               if SCALAR_FORM[name] then
                  ok, err = pcall(dob.Tensor[name], x, SCALAR_FORM[name])
                  assert.is_false(ok, name .. " (number) wrote into an aliased tensor")
                  assert.matches(ALIAS_MSG, tostring(err))
                  assert.are.same(before, values(base))
               end
            end)
         end

         if not RANDOM[name] then
            it(("x:%s on a transposed destination matches a contiguous one"):format(name), function()
               local sources = {}
               local function pick(k)
                  sources[k] = sources[k] or base3x3():t():clone() * (1 + k / 7)
                  return sources[k]
               end
               local args = args_for(name, pick)
               local expected = dob.Tensor[name](base3x3():t():contiguous(), unpack(args))
               local got = dob.Tensor[name](base3x3():t(), unpack(args))
               assert_close(values(got), values(expected), name)
            end)
         end

         for k = 1, nsources(name) do
            it(("x:%s with source %d overlapping the destination matches a cloned source"):format(name, k), function()
               -- the whole storage transposed, and a view shifted by one element
               local cases = {
                  { "x:t()", function() local x = base3x3(); return x, x:t() end },
                  { "shifted by one", function()
                     local flat = dob.arange(1, 10):float() / 10 + 1
                     return flat:narrow(1, 2, 8), flat:narrow(1, 1, 8)
                  end },
                  { "shifted back by one", function()
                     local flat = dob.arange(1, 10):float() / 10 + 1
                     return flat:narrow(1, 1, 8), flat:narrow(1, 2, 8)
                  end },
               }
               for _, c in ipairs(cases) do
                  local x, s = c[2]()
                  local others = {}
                  local function other(j) others[j] = others[j] or dob.ones(x:size()) * (1 + j / 5); return others[j] end
                  local expected_x = x:clone()
                  dob.Tensor[name](expected_x, unpack(args_for(name, function(j) return j == k and s:clone() or other(j) end)))
                  dob.Tensor[name](x, unpack(args_for(name, function(j) return j == k and s or other(j) end)))
                  assert_close(values(x), values(expected_x), ("%s, source %d %s"):format(name, k, c[1]))
               end
            end)
         end
      end
   end

   describe("set_grad", function()
      for what, make in pairs(ALIASED) do
         it("refuses an aliased gradient (" .. what .. ")", function()
            local g = make()
            local x = dob.zeros(g:size()):requires_grad_()
            local ok, err = pcall(x.set_grad, x, g)
            assert.is_false(ok)
            assert.matches("more than one element of the gradient tensor", tostring(err))
            assert.matches("clone%(%)", tostring(err))
            assert.is_nil(x:grad())
         end)
      end
      it("accepts a cloned one and backward adds into it once per element", function()
         local g = dob.ones(1, 3):expand(4, 3):clone()
         local x = dob.zeros(4, 3):requires_grad_()
         x:set_grad(g);
         (x * 2):sum():backward()
         assert.are.same(values(dob.full({ 4, 3 }, 3)), values(x:grad()))
      end)
   end)

   describe("batch-norm running statistics", function()
      for _, which in ipairs { "running_mean", "running_var" } do
         for what, make in pairs(ALIASED) do
            it(("an aliased %s (%s) is refused before anything is updated"):format(which, what), function()
               local stat, base = make()
               local c = stat:size(stat:dim())
               local other = which == "running_mean" and dob.ones(c) or dob.zeros(c)
               local rm, rv = stat, other
               if which == "running_var" then rm, rv = other, stat end
               local before, before_other = values(base), values(other)
               local x = dob.randn(6, c)
               local ok, err = pcall(dob.batch_norm, x, nil, nil, rm, rv, true, 0.1, 1e-5)
               -- a 2-D statistic is itself a shape error; either way nothing is written
               assert.is_false(ok)
               if stat:dim() == 1 then assert.matches(ALIAS_MSG, tostring(err)) end
               assert.are.same(before, values(base))
               assert.are.same(before_other, values(other))
            end)
         end
         it(("a 1-D expanded %s is refused with the aliasing message"):format(which), function()
            local stat = dob.ones(1):expand(4)
            local rm, rv = dob.zeros(4), dob.ones(4)
            if which == "running_mean" then rm = stat else rv = stat end
            local ok, err = pcall(dob.batch_norm, dob.randn(8, 4), nil, nil, rm, rv, true, 0.1, 1e-5)
            assert.is_false(ok)
            assert.matches(which, tostring(err))
            assert.matches(ALIAS_MSG, tostring(err))
            assert.are.same({ 1 }, values(stat:narrow(1, 1, 1)))
         end)
      end
   end)
end)
