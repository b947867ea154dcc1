-- NaN semantics, as PyTorch 1.13: a diverging run stays visibly NaN.
--
-- Forward rules
--  * every elementwise op maps NaN to NaN (found by walking the Tensor class
--    for methods that take no argument and keep the shape), except sign,
--    which gives 0 as torch.sign does; ops that normalize over the last dim
--    (softmax, log_softmax, layer_norm) make the whole row NaN;
--  * binary ops give NaN when either side is NaN (other side not 0 or 1, where
--    pow(NaN, 0) = pow(1, NaN) = 1 by IEEE 754); comparisons with NaN are
--    false, except ne, which is true;
--  * reductions (sum, mean, max, min, var, std, norm) of a slice holding a NaN
--    are NaN, other slices stay finite; argmax points at the NaN (NaN is the
--    largest value, as in torch.max); dropout keeps NaN where it drops.
-- Backward rules (upstream gradient 1 at a NaN input)
--  * smooth ops whose derivative reads x or y give NaN;
--  * ops whose branch is picked by a comparison with x take the branch the
--    false comparison picks: relu and elu pass the gradient (x <= 0 is
--    false), leaky_relu scales it by the slope (x > 0 is false), clamp gives
--    0 (lo <= x <= hi is false), abs and sign give 0 (sgn(NaN) = 0);
--  * maximum/minimum pass the gradient to both sides, max/min reductions to
--    the NaN element only, sum and mean as for any value, neg gives -1.
local dob = require "deepobs"

local NaN = 0 / 0
local function isnan(v) return v ~= v end
local function finite(v) return v == v and v ~= math.huge and v ~= -math.huge end

-- float32 [2x3] with one NaN at (r, c), positive elsewhere
local function with_nan(r, c)
   local t = { { 1, 0.5, 2 }, { 0.25, 3, 1.5 } }
   t[r][c] = NaN
   return dob.tensor(t)
end

-- elementwise: NaN stays NaN; row: the NaN's row becomes NaN; exceptions
local ZERO_AT_NAN = { sign = true, sign_ = true }
local ROW_OPS = { softmax = true, log_softmax = true, layer_norm = true }
-- methods that write random numbers or constants, or only metadata: not ops on the values
local NOT_VALUE_OPS = { bernoulli_ = true, normal_ = true, uniform_ = true, truncated_normal_ = true, zero_ = true,
   dropout = true, t = true }

local function unary_ops()
   local found = {}
   for name, f in pairs(dob.Tensor) do
      if not NOT_VALUE_OPS[name] then
         local ok, y = pcall(f, with_nan(1, 2))
         if ok and dob.is_tensor(y) and y:dtype() == "float32" and y:numel() == 6 and y:dim() == 2 then
            found[#found + 1] = name
         end
      end
   end
   table.sort(found)
   return found
end

describe("NaN semantics (PyTorch 1.13)", function()
   local UNARY = unary_ops()

   it("the walk finds the activations and math ops", function()
      local set = {}
      for _, n in ipairs(UNARY) do set[n] = true end
      for _, n in ipairs { "relu", "clamp", "sign", "elu", "leaky_relu", "softplus", "sigmoid", "tanh", "exp", "log",
         "sqrt", "abs", "gelu", "relu_", "softmax" } do
         assert.is_true(set[n] == true, n .. " not found by the walk")
      end
   end)

   for _, name in ipairs(UNARY) do
      for _, pos in ipairs { { 1, 1 }, { 1, 2 }, { 2, 3 } } do
         it(("%s: NaN at (%d,%d) in -> %s"):format(name, pos[1], pos[2],
            ZERO_AT_NAN[name] and "0 out" or ROW_OPS[name] and "NaN row out" or "NaN out"), function()
            local y = dob.Tensor[name](with_nan(pos[1], pos[2]))
            for r = 1, 2 do
               for c = 1, 3 do
                  local v = y:get(r, c)
                  if r == pos[1] and c == pos[2] then
                     if ZERO_AT_NAN[name] then assert.are.equal(0, v) else assert.is_true(isnan(v), name .. " lost the NaN") end
                  elseif ROW_OPS[name] and r == pos[1] then
                     assert.is_true(isnan(v), name .. ": the NaN's row should be NaN")
                  else
                     assert.is_true(finite(v), ("%s: (%d,%d) is %s, a NaN leaked"):format(name, r, c, tostring(v)))
                  end
               end
            end
         end)
      end
   end

   -- ops with parameters: every parameter set keeps NaN
   local PARAM = {
      { "clamp(-1, 1)", function(x) return x:clamp(-1, 1) end }, { "clamp(nil, 1)", function(x) return x:clamp(nil, 1) end },
      { "clamp(-1, nil)", function(x) return x:clamp(-1) end }, { "clamp(0, 0)", function(x) return x:clamp(0, 0) end },
      { "clamp(-inf, inf)", function(x) return x:clamp(-math.huge, math.huge) end },
      { "clamp_(-1, 1)", function(x) return x:clamp_(-1, 1) end }, { "clamp_(2, 3)", function(x) return x:clamp_(2, 3) end },
      { "elu(1)", function(x) return x:elu(1) end }, { "elu(0.5)", function(x) return x:elu(0.5) end },
      { "leaky_relu(0.01)", function(x) return x:leaky_relu(0.01) end }, { "leaky_relu(0.2)", function(x) return x:leaky_relu(0.2) end },
      { "dropout(0.5)", function(x) return dob.dropout(x, 0.5, true) end },
      { "dropout(0.9)", function(x) return dob.dropout(x, 0.9, true) end },
   }
   for _, p in ipairs(PARAM) do
      it(p[1] .. ": an all-NaN input stays all NaN", function()
         local y = p[2](dob.full({ 4, 8 }, NaN))
         for i = 1, y:numel() do assert.is_true(isnan(y:get_flat(i)), p[1] .. " element " .. i) end
      end)
   end

   for _, name in ipairs { "add", "sub", "mul", "div", "pow", "maximum", "minimum" } do
      for _, other in ipairs { 0.5, 2, -3 } do
         it(("%s: NaN on either side (tensor, number, in place) with %g gives NaN"):format(name, other), function()
            local nan, o = dob.full({ 3 }, NaN), dob.full({ 3 }, other)
            local results = {
               dob[name](nan, o), dob[name](o, nan), dob[name](nan, other), dob[name](other, nan),
               dob.Tensor[name .. "_"](nan:clone(), o), dob.Tensor[name .. "_"](o:clone(), nan),
               dob.Tensor[name .. "_"](nan:clone(), other),
            }
            for k, y in ipairs(results) do
               for i = 1, 3 do assert.is_true(isnan(y:get_flat(i)), ("%s form %d element %d"):format(name, k, i)) end
            end
         end)
      end
   end

   it("comparisons with NaN are false, ne is true (both sides, tensor and number)", function()
      local nan, one = dob.full({ 2 }, NaN), dob.ones(2)
      for _, name in ipairs { "eq", "ne", "lt", "le", "gt", "ge" } do
         local want = name == "ne" and 1 or 0
         for _, y in ipairs { dob[name](nan, one), dob[name](one, nan), dob[name](nan, nan), dob[name](nan, 1) } do
            assert.are.equal(want, y:get_flat(1), name)
         end
      end
   end)

   local REDUCTIONS = {
      sum = function(x, d) return x:sum(d) end, mean = function(x, d) return x:mean(d) end,
      max = function(x, d) return (x:max(d)) end, min = function(x, d) return (x:min(d)) end,
      var = function(x, d) return x:var(d) end, std = function(x, d) return x:std(d) end,
      norm = function(x, d) return x:norm(2, d) end,
   }
   for name, f in pairs(REDUCTIONS) do
      for _, pos in ipairs { { 1, 1 }, { 2, 3 } } do
         it(("%s over all and along each dim: a slice with the NaN is NaN, the others finite"):format(name), function()
            local x = with_nan(pos[1], pos[2])
            assert.is_true(isnan(f(x):item()), name .. " over all")
            -- along dim 1 (columns) and dim 2 (rows)
            local cols, rows = f(x, 1), f(x, 2)
            for c = 1, 3 do
               local v = cols:get_flat(c)
               if c == pos[2] then assert.is_true(isnan(v)) else assert.is_true(finite(v)) end
            end
            for r = 1, 2 do
               local v = rows:get_flat(r)
               if r == pos[1] then assert.is_true(isnan(v)) else assert.is_true(finite(v)) end
            end
         end)
      end
   end

   it("sum_double of a tensor with a NaN is NaN (not an error)", function()
      assert.is_true(isnan(with_nan(2, 2):sum_double()))
   end)

   it("argmax and max(dim)'s indices point at the NaN", function()
      for c = 1, 3 do
         local x = with_nan(1, c)
         assert.are.equal(c - 1, x:argmax():item())
         assert.are.equal(c - 1, x:argmax(2):get_flat(1))
         local _, idx = x:max(2)
         assert.are.equal(c - 1, idx:get_flat(1))
         local _, imin = x:min(2)
         assert.are.equal(c - 1, imin:get_flat(1))
      end
   end)

   -- gradient at the NaN element (upstream 1) and, where it matters, elsewhere
   local BACKWARD = {
      { "exp", function(x) return x:exp() end, "nan" }, { "log", function(x) return x:log() end, "nan" },
      { "sqrt", function(x) return x:sqrt() end, "nan" }, { "rsqrt", function(x) return x:rsqrt() end, "nan" },
      { "sigmoid", function(x) return x:sigmoid() end, "nan" }, { "tanh", function(x) return x:tanh() end, "nan" },
      { "softplus", function(x) return x:softplus() end, "nan" }, { "gelu", function(x) return x:gelu() end, "nan" },
      { "square", function(x) return x:square() end, "nan" },
      { "relu", function(x) return x:relu() end, 1 }, { "elu", function(x) return x:elu(1) end, 1 },
      { "elu(0.5)", function(x) return x:elu(0.5) end, 1 },
      { "leaky_relu(0.01)", function(x) return x:leaky_relu(0.01) end, 0.01 },
      { "leaky_relu(0.2)", function(x) return x:leaky_relu(0.2) end, 0.2 },
      { "clamp(-1, 1)", function(x) return x:clamp(-1, 1) end, 0 }, { "clamp(-1)", function(x) return x:clamp(-1) end, 0 },
      { "clamp(nil, 1)", function(x) return x:clamp(nil, 1) end, 0 },
      { "abs", function(x) return x:abs() end, 0 }, { "sign", function(x) return x:sign() end, 0 },
      { "neg", function(x) return x:neg() end, -1 },
      { "maximum(x, 0.5)", function(x) return dob.maximum(x, dob.full({ 3 }, 0.5)) end, 1 },
      { "maximum(0.5, x)", function(x) return dob.maximum(dob.full({ 3 }, 0.5), x) end, 1 },
      { "minimum(x, 0.5)", function(x) return dob.minimum(x, dob.full({ 3 }, 0.5)) end, 1 },
      { "sum", function(x) return x:sum() end, 1 }, { "mean", function(x) return x:mean() end, 1 / 3 },
      { "max", function(x) return x:max() end, 1, 0 }, { "min", function(x) return x:min() end, 1, 0 },
   }
   for _, b in ipairs(BACKWARD) do
      it(("backward of %s at NaN gives %s"):format(b[1], tostring(b[3])), function()
         local x = dob.tensor({ 0.5, NaN, 2 }):requires_grad_()
         b[2](x):sum():backward()
         local g = x:grad():get_flat(2)
         if b[3] == "nan" then assert.is_true(isnan(g), b[1] .. ": " .. tostring(g))
         else assert.is_true(math.abs(g - b[3]) < 1e-6, ("%s: gradient %s, expected %s"):format(b[1], tostring(g), tostring(b[3]))) end
         if b[4] then
            assert.are.equal(b[4], x:grad():get_flat(1))
            assert.are.equal(b[4], x:grad():get_flat(3))
         end
      end)
   end

   it("maximum/minimum with NaN pass the gradient to the other side too", function()
      for _, name in ipairs { "maximum", "minimum" } do
         local a = dob.full({ 2 }, NaN):requires_grad_()
         local o = dob.full({ 2 }, 0.5):requires_grad_()
         dob[name](a, o):sum():backward()
         assert.are.same({ 1, 1 }, { o:grad():get_flat(1), o:grad():get_flat(2) })
         assert.are.same({ 1, 1 }, { a:grad():get_flat(1), a:grad():get_flat(2) })
      end
   end)
end)
