local dob = require "deepobs"
local H = require "helpers.gradcheck"
local flat = H.flat

-- plain Lua reference: groups x's elements by output (kept dims, row-major)
-- and applies f(list) to each group. dims: nil (all) or a list of 1-based dims.
local function ref_reduce(x, dims, f)
   local sz = x:size()
   local nd = #sz
   local red = {}
   if dims == nil then for d = 1, nd do red[d] = true end
   else for _, d in ipairs(type(dims) == "number" and { dims } or dims) do red[d < 0 and nd + d + 1 or d] = true end end
   local c = x:contiguous()
   local p = c:data()
   local groups, nout = {}, 1
   for d = 1, nd do if not red[d] then nout = nout * sz[d] end end
   for o = 1, nout do groups[o] = {} end
   for i = 0, c:numel() - 1 do
      local r, o, mul = i, 0, 1
      for d = nd, 1, -1 do
         local k = r % sz[d]
         r = (r - k) / sz[d]
         if not red[d] then o = o + k * mul; mul = mul * sz[d] end
      end
      local g = groups[o + 1]
      g[#g + 1] = p[i]
   end
   local out = {}
   for o = 1, nout do out[o] = f(groups[o]) end
   return out
end

local function lsum(l) local s = 0; for _, v in ipairs(l) do s = s + v end; return s end
local function lmean(l) return lsum(l) / #l end
local function lvar(corr)
   return function(l)
      local m, s = lmean(l), 0
      for _, v in ipairs(l) do s = s + (v - m) ^ 2 end
      return s / (#l - corr)
   end
end
local function lnorm(p)
   return function(l)
      local s = 0
      for _, v in ipairs(l) do s = s + math.abs(v) ^ p end
      return s ^ (1 / p)
   end
end
local function lmax(l) local m = l[1]; for _, v in ipairs(l) do if v > m then m = v end end; return m end
local function lmin(l) local m = l[1]; for _, v in ipairs(l) do if v < m then m = v end end; return m end

local function assert_close(got, want, tol, what)
   local g = flat(got)
   assert.are.equal(#want, #g, what)
   for i = 1, #want do
      local scale = math.max(1, math.abs(want[i]))
      if not (math.abs(g[i] - want[i]) <= tol * scale) then
         error(("%s: element %d got %.9g want %.9g"):format(what or "", i, g[i], want[i]), 2)
      end
   end
end

describe("reductions", function()
   local cases = {
      { { 2, 3, 4 }, nil }, { { 2, 3, 4 }, 2 }, { { 2, 3, 4 }, { 1, 3 } }, { { 2, 3, 4 }, -1 },
      { { 5, 7 }, 1 }, { { 5, 7 }, 2 }, { { 1, 6 }, 1 }, { { 3, 1, 5 }, { 2, 3 } }, { { 2, 3, 4, 5 }, { 1, 3, 4 } },
      { { 7 }, nil },
   }

   it("sum/mean/var/norm/max/min match plain Lua loops (contiguous and transposed)", function()
      for k, c in ipairs(cases) do
         for _, transposed in ipairs { false, true } do
            local x = H.rand(c[1], 10 + k, -2, 2)
            if transposed and #c[1] >= 2 then
               -- same logical values, non-contiguous memory
               local sz = x:size()
               local nd = #sz
               x = x:transpose(1, nd):contiguous():transpose(1, nd)
               assert.is_false(x:is_contiguous() and sz[1] > 1 and sz[nd] > 1)
            end
            local d = c[2]
            local what = ("shape %s dims %s%s"):format(table.concat(c[1], "x"), tostring(d),
               transposed and " (transposed)" or "")
            assert_close(x:sum(d), ref_reduce(x, d, lsum), 1e-6, "sum " .. what)
            assert_close(x:mean(d), ref_reduce(x, d, lmean), 1e-6, "mean " .. what)
            assert_close(x:var(d, { unbiased = false }), ref_reduce(x, d, lvar(0)), 1e-5, "var0 " .. what)
            local n = x:numel() / #ref_reduce(x, d, lsum)
            if n > 1 then assert_close(x:var(d), ref_reduce(x, d, lvar(1)), 1e-5, "var1 " .. what) end
            assert_close(x:std(d, 0), ref_reduce(x, d, function(l) return math.sqrt(lvar(0)(l)) end), 1e-5, "std " .. what)
            assert_close(x:norm(2, d), ref_reduce(x, d, lnorm(2)), 1e-5, "norm2 " .. what)
            assert_close(x:norm(1, d), ref_reduce(x, d, lnorm(1)), 1e-5, "norm1 " .. what)
            assert_close(x:norm(3, d), ref_reduce(x, d, lnorm(3)), 1e-5, "norm3 " .. what)
            if type(d) == "number" then
               local v, i = x:max(d)
               assert_close(v, ref_reduce(x, d, lmax), 0, "max " .. what)
               assert.are.equal("int64", i:dtype())
               local v2 = x:min(d)
               assert_close(v2, ref_reduce(x, d, lmin), 0, "min " .. what)
               -- indices point at the values
               local vals = flat(v)
               local idx = flat(i)
               local xs = x:contiguous()
               local dd = d < 0 and #c[1] + d + 1 or d
               local sz = c[1]
               local o = 0
               local function walk(pre, dim)
                  if dim > #sz then
                     o = o + 1
                     local full = {}
                     for q = 1, #sz do full[q] = pre[q] end
                     full[dd] = idx[o] + 1
                     assert.are.equal(vals[o], xs:get(unpack(full)))
                     return
                  end
                  local n2 = dim == dd and 1 or sz[dim]
                  for q = 1, n2 do pre[dim] = q; walk(pre, dim + 1) end
               end
               walk({}, 1)
               assert.are.same(idx, flat(x:argmax(d)))
            elseif d == nil then
               assert.are.equal(ref_reduce(x, nil, lmax)[1], x:max():item())
               assert.are.equal(ref_reduce(x, nil, lmin)[1], x:min():item())
            end
         end
      end
   end)

   it("gives the right shapes: all dims -> [], keepdim keeps size-1 dims", function()
      local x = dob.ones(2, 3, 4)
      assert.are.same({}, x:sum():size())
      assert.are.same({ 1, 1, 1 }, x:sum(nil, true):size())
      assert.are.same({ 2, 4 }, x:mean(2):size())
      assert.are.same({ 2, 1, 4 }, x:mean(2, true):size())
      assert.are.same({ 3 }, x:var({ 1, 3 }):size())
      assert.are.same({ 1, 3, 1 }, x:norm(2, { 1, -1 }, true):size())
      local v, i = x:max(3, true)
      assert.are.same({ 2, 3, 1 }, v:size())
      assert.are.same({ 2, 3, 1 }, i:size())
      assert.are.same({}, x:max():size())
      assert.are.same({ 3 }, dob.sum(x, { 1, 3 }):size())
      assert.are.equal(24, dob.sum(x):item())
      assert.are.equal(0, dob.zeros(0, 3):sum():item())
      assert.are.same({ 3 }, dob.zeros(0, 3):sum(1):size())
      assert.are.equal(5, dob.scalar(5):sum():item())
   end)

   it("max/min pick the first of equal values; argmax with no dim gives the flat index", function()
      local x = dob.tensor({ { 1, 3, 3 }, { 2, 2, 0 }, { 1, 5, 0 } })
      local _, i = x:max(2)
      assert.are.same({ 1, 0, 1 }, i:totable())
      local _, j = x:min(1)
      assert.are.same({ 0, 1, 1 }, j:totable())
      assert.are.equal(7, x:argmax():item())
      assert.are.equal(1, dob.tensor({ 1, 3, 3 }):argmax():item())
      assert.are.equal(5, x:max():item())
      assert.are.equal(0, x:min():item())
   end)

   it("sums across chunk boundaries match double sums (inner, column and strided kernels)", function()
      local shapes = { { { 3, 40000 }, 2 }, { { 40000, 3 }, 1 }, { { 2, 20000, 3 }, 2 }, { { 70000 }, nil },
         { { 300, 700 }, 1 }, { { 3, 300, 70 }, { 1, 3 } } }
      for k, c in ipairs(shapes) do
         local x = H.rand(c[1], 100 + k, -1, 3)
         assert_close(x:sum(c[2]), ref_reduce(x, c[2], lsum), 1e-6, "sum " .. k)
         assert_close(x:var(c[2]), ref_reduce(x, c[2], lvar(1)), 1e-5, "var " .. k)
         assert_close(x:norm(2, c[2]), ref_reduce(x, c[2], lnorm(2)), 1e-6, "norm " .. k)
         -- transposed memory order
         if #c[1] >= 2 then
            local nd = #c[1]
            local xt = x:transpose(1, nd):contiguous():transpose(1, nd)
            assert_close(xt:sum(c[2]), ref_reduce(x, c[2], lsum), 1e-6, "sum T " .. k)
         end
      end
      local x = H.rand({ 3, 50000 }, 7, -1, 1)
      x:set(9, 2, 33333)
      local v, i = x:max(2)
      assert.are.equal(9, v:totable()[2])
      assert.are.equal(33332, i:totable()[2])
      assert.are.equal(9, x:max():item())
      assert.are.equal(50000 + 33332, x:argmax():item())
   end)

   it("sum_double and dot return Lua numbers accurate to double precision", function()
      local x = H.rand({ 1000, 100 }, 3, -1, 1)
      local y = H.rand({ 1000, 100 }, 4, -1, 1)
      local px, py = x:data(), y:data()
      local s, d = 0, 0
      for i = 0, x:numel() - 1 do s = s + px[i]; d = d + px[i] * py[i] end
      assert.is_true(math.abs(x:sum_double() - s) < 1e-9)
      assert.is_true(math.abs(x:dot(y) - d) < 1e-9)
      assert.is_true(math.abs(x:t():dot(y:t()) - d) < 1e-9)
      assert.are.equal("number", type(x:sum_double()))
      local ok, err = pcall(function() return x:dot(dob.zeros(3)) end)
      assert.is_false(ok)
      assert.matches("dot_double: shapes %[1000x100%] and %[3%] differ", err)
   end)

   it("is bit-identical for 1 and 2 threads on large sums", function()
      local before = dob.get_threads()
      local x = H.rand({ 1000, 1000 }, 42, -1, 1)
      local xt = x:t()
      local function run()
         return {
            x:sum():item(), x:sum_double(), x:dot(x), x:mean():item(), x:var():item(), x:norm():item(),
            flat(x:sum(1)), flat(x:sum(2)), flat(xt:sum(1)), flat(x:view(10, 100, 1000):sum({ 1, 3 })),
            x:max():item(), flat(x:argmax(1)),
         }
      end
      dob.set_threads(1)
      local a = run()
      dob.set_threads(2)
      local b = run()
      dob.set_threads(before)
      assert.are.same(a, b)
   end)

   describe("gradients", function()
      local shapes = {
         { { 3, 4, 5 }, nil }, { { 3, 4, 5 }, 2 }, { { 3, 4, 5 }, { 1, 3 } }, { { 1, 5 }, 1 }, { { 1, 5 }, 2 },
         { { 4, 3 }, -1 },
      }
      for _, name in ipairs { "sum", "mean", "var", "std", "norm", "norm1", "norm3" } do
         it(name .. " over all dims, a middle dim, several dims, keepdim, transposed, batch 1", function()
            local function op(x, d, keep)
               if name == "norm" then return x:norm(2, d, keep) end
               if name == "norm1" then return x:norm(1, d, keep) end
               if name == "norm3" then return x:norm(3, d, keep) end
               if name == "var" then return x:var(d, nil, keep) end
               if name == "std" then return x:std(d, { unbiased = false }, keep) end
               return x[name](x, d, keep)
            end
            for k, c in ipairs(shapes) do
               local lo = name == "norm1" and 0.2 or -2
               local a = H.rand(c[1], 20 + k, lo, 2):requires_grad_()
               if name == "norm1" then
                  -- keep away from the kink at 0 with mixed signs
                  local p = a:data()
                  for i = 0, a:numel() - 1 do if i % 2 == 1 then p[i] = -p[i] end end
               end
               assert(H.gradcheck(function(x) return op(x, c[2], false) end, { a }))
               assert(H.gradcheck(function(x) return op(x, c[2], true) end, { a }))
               if #c[1] >= 2 then
                  assert(H.gradcheck(function(x) return op(x:transpose(1, #c[1]), c[2], false) end, { a }))
               end
            end
         end)
      end

      it("max/min send the gradient to the selected element", function()
         local a = dob.tensor({ { 1, 5, 2 }, { 7, 0, 3 }, { 4, 6, 8 } }):requires_grad_()
         for _, name in ipairs { "max", "min" } do
            assert(H.gradcheck(function(x) return (x[name](x, 2)) end, { a }))
            assert(H.gradcheck(function(x) return (x[name](x, 1, true)) end, { a }))
            assert(H.gradcheck(function(x) return (x:t()[name](x:t(), 2)) end, { a }))
            assert(H.gradcheck(function(x) return x[name](x) end, { a }))
         end
         a:set_grad(nil)
         a:max():backward()
         assert.are.same({ { 0, 0, 0 }, { 0, 0, 0 }, { 0, 0, 1 } }, a:grad():totable())
         a:set_grad(nil)
         a:min(1):sum():backward()
         assert.are.same({ { 1, 0, 1 }, { 0, 1, 0 }, { 0, 0, 0 } }, a:grad():totable())
         local b = H.rand({ 1, 6 }, 5):requires_grad_()
         assert(H.gradcheck(function(x) return (x:max(2)) end, { b }))
         assert(H.gradcheck(function(x) return (x:min(1)) end, { b }))
      end)

      it("norm gives a zero gradient at a zero norm", function()
         local a = dob.zeros(2, 3):requires_grad_()
         a:norm(2, 2):sum():backward()
         assert.are.same({ { 0, 0, 0 }, { 0, 0, 0 } }, a:grad():totable())
      end)

      it("sum/mean backward of large inputs spreads g (parallel path)", function()
         local a = dob.zeros(300, 400):requires_grad_()
         a:mean():backward()
         assert.is_true(math.abs(a:grad():sum():item() - 1) < 1e-4)
         a:set_grad(nil)
         a:sum(1):backward(dob.arange(400):float())
         local g = a:grad()
         assert.are.equal(399, g:get(300, 400))
         assert.are.equal(5, g:get(17, 6))
      end)
   end)

   it("rejects bad dims and arguments with clear errors", function()
      local x = dob.zeros(2, 3)
      local function fails(f, pat)
         local ok, err = pcall(f)
         assert.is_false(ok)
         assert.matches(pat, err)
      end
      fails(function() return x:sum({ 1, 1 }) end, "sum: dim 0 %(0%-based%) appears more than once")
      fails(function() return x:sum({ 1, -2 }) end, "appears more than once")
      fails(function() return x:mean(3) end, "mean: dim 2 %(0%-based%) is out of range for a tensor %[2x3%]")
      fails(function() return x:var(0) end, "dim must be a nonzero integer")
      fails(function() return x:sum("a") end, "dims must be a number")
      fails(function() return x:sum({}) end, "empty table of dims")
      fails(function() return x:norm(0) end, "norm: p must be positive and finite")
      fails(function() return x:norm(-1) end, "norm: p must be positive")
      fails(function() return x:max(5) end, "max: dim 4 %(0%-based%) is out of range")
      fails(function() return dob.zeros(0, 3):max(1) end, "max: cannot reduce over dim 0 %(0%-based%) of size 0")
      fails(function() return dob.zeros(0):max() end, "max: the tensor %[0%] has no elements")
      fails(function() return dob.zeros(2, "int64"):sum() end, "sum: argument 'self' must be float32, got int64")
      fails(function() return dob.zeros(2, "int64"):argmax(1) end, "argmax: argument 'self' must be float32")
      fails(function() return dob.zeros(2, "int64"):sum_double() end, "sum_all_double: argument 'self' must be float32")
      fails(function() return x:var(nil, -1) end, "correction must be a non%-negative integer")
      fails(function() return x:sum(nil, false, 1) and x.sum(5) end, "must be a deepobs Tensor")
   end)
end)
