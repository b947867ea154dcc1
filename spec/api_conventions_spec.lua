-- One convention per question across deepobs, deepobs.nn and deepobs.optim (README "API
-- conventions"): PyTorch's argument orders, named_parameters as PyTorch iterates it, entries
-- naming their tensor `value` everywhere, Module:zero_grad; the old forms still work for one
-- version and say so once, with the caller's file and line (lua/deepobs/deprecated.lua).
local dob = require "deepobs"

-- runs a Lua snippet in a child luajit; returns stdout, stderr
local function child(code)
   local path = os.tmpname()
   local f = io.open(path, "w")
   f:write('package.path = "./lua/?.lua;./lua/?/init.lua;./?.lua;./?/init.lua;" .. package.path\n')
   f:write('local dob = require "deepobs"\n', code)
   f:close()
   local p = io.popen(("luajit %s 2>%s.err"):format(path, path))
   local out = p:read("*a")
   p:close()
   local ef = io.open(path .. ".err")
   local err = ef:read("*a")
   ef:close()
   os.remove(path)
   os.remove(path .. ".err")
   return out, err, path
end

local function same(a, b) return (a - b):abs():max():item() == 0 end

describe("argument orders (PyTorch's)", function()
   -- the warnings themselves are checked in a child process below; here they would only
   -- clutter the test output
   local deprecated = require "deepobs.deprecated"
   local warn
   before_each(function() warn = deprecated.warn; deprecated.warn = function() end end)
   after_each(function() deprecated.warn = warn end)

   it("add_, sub_ and add take (tensor, alpha); Torch7's (number, tensor) gives the same numbers", function()
      dob.manual_seed(3)
      local x, y = dob.randn(4, 5), dob.randn(4, 5)
      assert.is_true(same(x:clone():add_(y, 0.5), x:clone():add_(0.5, y)))
      assert.is_true(same(x:clone():sub_(y, 2), x:clone():sub_(2, y)))
      assert.is_true(same(x:add(y, -3), x:add(-3, y)))
      assert.is_true(same(x:clone():add_(y, 0.5), x + y * 0.5))
   end)

   it("addcmul_ and addcdiv_ take (t1, t2, value = 1); Torch7's (value, t1, t2) gives the same numbers", function()
      dob.manual_seed(4)
      local a, b, c = dob.randn(3, 4), dob.randn(3, 4), dob.rand(3, 4) + 0.5
      for _, op in ipairs { "addcmul_", "addcdiv_" } do
         local new = a:clone()[op](a:clone(), b, c, -0.25)
         local old = a:clone()[op](a:clone(), -0.25, b, c)
         assert.is_true(same(new, old), op)
         assert.is_true(same(a:clone()[op](a:clone(), b, c), a:clone()[op](a:clone(), b, c, 1)), op)
      end
      assert.is_true(same(a:clone():addcmul_(b, c, 2), a + b * c * 2))
   end)

   it("the old orders warn once per form, naming the caller's line", function()
      local _, err, path = child([[
local x, y = dob.ones(3), dob.ones(3)
for _ = 1, 3 do x:add_(2, y) end
x:addcmul_(0.5, y, y)
x:addcmul_(0.5, y, y)
x:add_(y, 2); x:addcmul_(y, y, 0.5)    -- the current forms: silent
io.write(x:sum():item())
]])
      local lines = {}
      for l in err:gmatch("[^\n]+") do lines[#lines + 1] = l end
      assert.are.equal(2, #lines, err)
      assert.matches(":4: deepobs: add_%(number, tensor%) %(Torch7's order%) is deprecated and goes in deepobs 0%.2; "
         .. "write add_%(tensor, alpha%) %(PyTorch's%)$", lines[1])
      assert.matches(":5: deepobs: addcmul_%(value, t1, t2%) .* write addcmul_%(t1, t2, value%)", lines[2])
      assert.is_truthy(lines[1]:find(path:match("[^/]+$"), 1, true))
   end)
end)

describe("modules", function()
   local function model()
      dob.manual_seed(5)
      return dob.nn.Sequential(dob.nn.Linear(3, 4), dob.nn.ReLU(), dob.nn.BatchNorm1d(4), dob.nn.Linear(4, 2))
   end

   it("named_parameters is a list of { name, value, module, key } and iterates as (name, tensor)", function()
      local m = model()
      local entries = m:named_parameters()
      local names = {}
      for name, p in m:named_parameters() do
         names[#names + 1] = name
         assert.is_true(dob.is_tensor(p))
      end
      assert.are.equal(#entries, #names)
      for i, e in ipairs(entries) do
         assert.are.equal(names[i], e.name)
         assert.are.equal(e.module[e.key], e.value)
      end
      assert.are.same({ "1.weight", "1.bias", "3.weight", "3.bias", "4.weight", "4.bias" }, names)
      local bufs = {}
      for name, b in m:named_buffers() do bufs[#bufs + 1] = name .. ":" .. b:numel() end
      assert.are.same({ "3.running_mean:4", "3.running_var:4" }, bufs)
   end)

   it("ParamSet's entries and named_parameters' entries name the tensor alike", function()
      local m = model()
      local before = {}
      for name, p in m:named_parameters() do before[name] = p:clone() end
      local ps = dob.nn.ParamSet(m)
      for _, e in ipairs(ps.params) do assert.is_true(same(e.value, before[e.name])) end
      for name, p in m:named_parameters() do assert.are.equal(ps.by_name[name].value, p) end
   end)

   it("zero_grad zeroes every parameter's gradient and returns the module", function()
      local m = model()
      local y = m(dob.randn(6, 3)):pow(2):sum()
      y:backward()
      local nonzero = 0
      for _, p in m:named_parameters() do nonzero = nonzero + p:grad():abs():sum():item() end
      assert.is_true(nonzero > 0)
      assert.are.equal(m, m:zero_grad())
      for _, p in m:named_parameters() do assert.are.equal(0, p:grad():abs():sum():item()) end
      local fresh = model()
      assert.are.equal(fresh, fresh:zero_grad())   -- no gradients yet: nothing to do
   end)

   it("entry.tensor and ParamSet{ { tensor = } } still work, with one warning each", function()
      local out, err = child([[
local m = dob.nn.Linear(2, 3)
local e = m:named_parameters()[1]
io.write(tostring(e.tensor == e.value), " ", tostring(m:named_parameters()[2].tensor == m.bias), "\n")
local ps = dob.nn.ParamSet { { name = "w", tensor = dob.ones(2) } }
io.write(ps.params[1].name, " ", ps.params[1].value:sum():item(), "\n")
]])
      assert.are.equal("true true\nw 2\n", out)
      local n = 0
      for _ in err:gmatch("is deprecated") do n = n + 1 end
      assert.are.equal(2, n, err)
      assert.matches("entry%.tensor of named_parameters%(%)/named_buffers%(%) is deprecated .* write entry%.value", err)
      assert.matches("ParamSet{ { tensor = t } } is deprecated .* write ParamSet{ { value = t } }", err)
   end)
end)
