-- Argument checks (lua/deepobs/argcheck.lua) and the classes of bad input that issue 10
-- lists for the Lua API, each generated over many variants: calls that used to hang,
-- index 0 where indexing is 1-based, seeds beyond 2^53, fractional padding, the
-- metamethods (#x, <, .., calls, unknown fields), ParamSet over aliased memory, and an
-- optimizer's closure that returns no loss.
local dob = require "deepobs"
local A = require "deepobs.argcheck"
local contract = require "helpers.api_contract"

local THIS_FILE = "argcheck_spec.lua:"

-- the message of the error fn raises (fails the test when it raises none)
local function err(fn, ...)
   local ok, e = pcall(fn, ...)
   assert.is_false(ok, "expected an error")
   return tostring(e)
end

-- the error is clear: it names op first (after this file's position when there is one)
local function assert_names(msg, op)
   local text = msg:gsub("^[^\n]-%.lua:%d+: ", "")
   assert.are.equal(op .. ": ", text:sub(1, #op + 2), msg)
   assert.are.equal("ok", contract.classify(msg), msg)
end

describe("argcheck", function()
   it("names the function, the argument, what was expected and what came", function()
      local cases = {
         { function() A.int("narrow", "length", -1, 0) end, "narrow: argument 'length' must be a non%-negative integer, got %-1" },
         { function() A.int("split", "size", 0, 1) end, "split: argument 'size' must be a positive integer, got 0" },
         { function() A.int("f", "n", 1.5) end, "f: argument 'n' must be an integer, got 1%.5" },
         { function() A.int("f", "n", 2 ^ 60) end, "f: argument 'n' must be an integer, got 1152921504606846976" },
         { function() A.int("f", "n", 7, 1, 5) end, "f: argument 'n' must be an integer in %[1, 5%], got 7" },
         { function() A.finite("f", "x", 0 / 0) end, "f: argument 'x' must be a finite number, got nan" },
         { function() A.finite("f", "x", -math.huge) end, "f: argument 'x' must be a finite number, got %-inf" },
         { function() A.number("f", "x", "1") end, "f: argument 'x' must be a number, got the string \"1\"" },
         { function() A.range("f", "p", 1.5, 0, 1) end, "f: argument 'p' must be a number in %[0, 1%], got 1%.5" },
         { function() A.flag("f", "b", 1) end, "f: argument 'b' must be true or false, got 1" },
         { function() A.string("f", "m", "x", { tf = true, torch = true }) end,
            "f: argument 'm' must be one of 'tf', 'torch', got the string \"x\"" },
         { function() A.table("f", "o", setmetatable({}, {})) end, "f: argument 'o' must be a table, got a table" },
         { function() A.callable("f", "fn", 3) end, "f: argument 'fn' must be a function, got 3" },
         { function() A.dim("f", "d", 0, 2) end, "f: argument 'd' must be a dim in 1%.%.2 or %-2%.%.%-1 %(1%-based%), got 0" },
         { function() A.wrong("f", "x", "a tensor", dob.zeros(2, 3)) end,
            "f: argument 'x' must be a tensor, got a float32 tensor of size %[2x3%]" },
      }
      for _, c in ipairs(cases) do
         local msg = err(c[1])
         assert.matches("^[^\n]*" .. THIS_FILE .. "%d+: " .. c[2] .. "$", msg)
      end
   end)

   it("returns the value, or the default for nil, and converts dims and positions to 0-based", function()
      assert.are.equal(3, A.int("f", "n", 3, 1))
      assert.are.equal(7, A.int("f", "n", nil, 1, nil, 7))
      assert.are.equal(0.5, A.finite("f", "x", nil, 0.5))
      assert.are.equal(math.huge, A.number("f", "x", math.huge))
      for ndim = 1, 4 do
         for d = 1, ndim do
            assert.are.equal(d - 1, A.dim("f", "d", d, ndim))
            assert.are.equal(ndim - d, A.dim("f", "d", -d, ndim))
         end
         assert.are.equal(ndim, A.dim("f", "d", ndim + 1, ndim, 1))
      end
   end)

   it("puts the user's line in front, however deep inside the package the check ran", function()
      -- through a method, an operator, a metamethod and a module's forward
      -- (no tail calls: a tail call leaves no frame of the caller to point at)
      local calls = {
         function() local r = dob.zeros(3):split(0); return r end,
         function() local r = dob.zeros(3) + "x"; return r end,
         function() local r = dob.zeros(2, 2)[0]; return r end,
         function() local r = dob.nn.Linear(2, 3)("x"); return r end,
         function() local r = dob.zeros(2, 3):view(1.5); return r end,
      }
      for _, f in ipairs(calls) do assert.matches("^[^\n]*" .. THIS_FILE .. "%d+: %S", err(f)) end
   end)
end)

describe("calls that used to hang", function()
   it("end at once with an error, for every bad count, size and dim (run in a child process)", function()
      local bad = { "n_0", "n_m1", "n_m2", "n_inf", "n_minf", "n_nan", "n_half", "n_tiny", "n_2p31", "n_2p32",
         "n_2p53", "n_2p63", "n_1e30", "n_m2p53" }
      local plan = {}
      for _, method in ipairs { "Tensor:split", "Tensor:chunk", "Tensor:flatten", "Tensor:unsqueeze",
         "Tensor:select", "Tensor:narrow", "Tensor:squeeze", "Tensor:transpose", "dob.randperm", "dob.arange" } do
         for _, tok in ipairs(bad) do
            if method:sub(1, 4) == "dob." then plan[#plan + 1] = { method, tok }
            else plan[#plan + 1] = { method, "t_f23", tok } end
         end
      end
      local counts, bad_outcomes = contract.run(plan, "./.spec_tmp_argcheck_hangs")
      os.execute("rm -rf ./.spec_tmp_argcheck_hangs")
      assert.are.same({}, bad_outcomes)
      assert.is_true(counts.ok > #plan * 0.75, ("most are errors (%d of %d)"):format(counts.ok, #plan))
   end)

   it("split and chunk cover the dim exactly for every size and count", function()
      for n = 0, 9 do
         local x = dob.arange(n)
         for k = 1, 11 do
            for _, pieces in ipairs { x:split(k), x:chunk(k) } do
               local total, next_value = 0, 0
               for _, p in ipairs(pieces) do
                  for i = 1, p:numel() do
                     assert.are.equal(next_value, p:get(i))
                     next_value = next_value + 1
                  end
                  total = total + p:numel()
               end
               assert.are.equal(n, total)
            end
            assert.is_true(#x:chunk(k) <= k)
         end
      end
   end)
end)

describe("index 0 where indexing is 1-based", function()
   -- every function that takes a 1-based dim or position, on tensors of 1 to 4 dims
   local function shaped(ndim)
      local sizes = { 2, 3, 4, 5 }
      return dob.randn(unpack(sizes, 1, ndim))
   end

   it("is refused by every function that takes a dim", function()
      for ndim = 1, 4 do
         local x = shaped(ndim)
         local calls = {
            select = function() return x:select(0, 1) end,
            narrow = function() return x:narrow(0, 1, 1) end,
            slice = function() return x:slice(0, 1, 1) end,
            unsqueeze = function() return x:unsqueeze(0) end,
            squeeze = function() return x:squeeze(0) end,
            transpose = function() return x:transpose(0, 1) end,
            size = function() return x:size(0) end,
            stride = function() return x:stride(0) end,
            split = function() return x:split(1, 0) end,
            chunk = function() return x:chunk(1, 0) end,
            flatten = function() return x:flatten(0) end,
            sum = function() return x:sum(0) end,
            mean = function() return x:mean(0) end,
            var = function() return x:var(0) end,
            max = function() return x:max(0) end,
            min = function() return x:min(0) end,
            argmax = function() return x:argmax(0) end,
            softmax = function() return x:softmax(0) end,
            stack = function() return dob.stack({ x, x }, 0) end,
            cat = function() return dob.cat({ x, x }, 0) end,
            permute = function() return x:permute(0) end,
         }
         for op, f in pairs(calls) do
            local msg = err(f)
            assert_names(msg, op)
            assert.matches("1%-based", msg)
         end
      end
   end)

   it("is refused as a position: select, slice, narrow, x[0], x[0] = v, get, set, get_flat, set_flat", function()
      for ndim = 1, 4 do
         local x = shaped(ndim)
         local zeros = { 0 }
         for _ = 2, ndim do zeros[#zeros + 1] = 1 end
         local calls = {
            select = function() return x:select(1, 0) end,
            slice = function() return x:slice(1, 0, 2) end,
            narrow = function() return x:narrow(1, 0, 1) end,
            index = function() return x[0] end,
            get = function() return x:get(unpack(zeros)) end,
            set = function() return x:set(1, unpack(zeros)) end,
            get_flat = function() return x:get_flat(0) end,
            set_flat = function() return x:set_flat(0, 1) end,
         }
         for op, f in pairs(calls) do assert_names(err(f), op) end
         assert_names(err(function() x[0] = 1 end), "index")
         -- the last position, and -1 for it, still work
         assert.are.equal(x:size(1), x:select(1, -1):numel() == 0 and 0 or x:size(1))
         assert.are.equal(x:select(1, x:size(1)):sum():item(), x:select(1, -1):sum():item())
      end
   end)

   it("flatten refuses a first dim beyond the tensor's, and 2^40", function()
      local x = dob.zeros(2, 3)
      for _, d in ipairs { 3, 5, -3, 2 ^ 31, 2 ^ 40, 0.5 } do assert_names(err(x.flatten, x, d), "flatten") end
      assert.are.same({ 2, 3 }, x:flatten(2):size())
      assert.are.same({ 6 }, x:flatten():size())
   end)
end)

describe("numbers that cannot be held exactly", function()
   it("manual_seed refuses what is not an integer in [0, 2^53]", function()
      for _, s in ipairs { 2 ^ 64, 2 ^ 53 + 2, 2 ^ 63, -1, 0.5, 0 / 0, math.huge, "1", true } do
         assert_names(err(dob.manual_seed, s), "manual_seed")
      end
      dob.manual_seed(2 ^ 53)
      local a = dob.rand(3):totable()
      dob.manual_seed(2 ^ 53)
      assert.are.same(a, dob.rand(3):totable())
      assert.are.equal(2 ^ 53, dob.get_rng_state().seed)
   end)

   it("set_rng_state checks the state it is given and restores the stream", function()
      for _, s in ipairs { nil, 3, {}, { seed = -1, offset = 0 }, { seed = 1, offset = 0.5 }, { seed = 2 ^ 64, offset = 0 } } do
         assert_names(err(dob.set_rng_state, s), "set_rng_state")
      end
      dob.manual_seed(5)
      dob.rand(7)
      local st = dob.get_rng_state()
      local a = dob.rand(4):totable()
      dob.set_rng_state(st)
      assert.are.same(a, dob.rand(4):totable())
   end)

   it("fractional or non-finite padding and strides are refused by every conv and pool", function()
      local x, w = dob.randn(1, 2, 6, 6), dob.randn(3, 2, 3, 3)
      local wt = dob.randn(2, 3, 3, 3)
      for _, v in ipairs { 0.5, 1.5, -0.5, 0 / 0, math.huge, 2 ^ 53 + 0.5 } do
         for _, opts in ipairs { { padding = v }, { padding = { v, 1 } }, { padding = { 1, 1, v, 1 } }, { stride = v },
            { stride = { 1, v } } } do
            assert_names(err(dob.conv2d, x, w, nil, opts), "conv2d")
            assert_names(err(dob.conv_transpose2d, x, wt, nil, opts), "conv_transpose2d")
            local p = { kernel = 2 }
            for k, val in pairs(opts) do p[k] = val end
            assert_names(err(dob.max_pool2d, x, p), "max_pool2d")
            assert_names(err(dob.avg_pool2d, x, p), "avg_pool2d")
         end
         assert_names(err(function() return dob.nn.Conv2d(2, 3, 3, { padding = v })(x) end), "conv2d")
         assert_names(err(dob.nn.Conv2d, 2, 3, v), "Conv2d")
      end
   end)
end)

describe("metamethods", function()
   it("#x is not a length (LuaJIT ignores __len on tables): size(1) and numel() are, and no __len claims otherwise", function()
      for _, x in ipairs { dob.zeros(4), dob.zeros(3, 2), dob.scalar(1), dob.zeros(0, 5) } do
         assert.are.equal(0, #x)
         assert.is_nil(rawget(getmetatable(x), "__len"))
      end
      assert.are.equal(3, dob.zeros(3, 2):size(1))
      assert.are.equal(6, dob.zeros(3, 2):numel())
   end)

   it("operators without a tensor meaning raise an error naming the method to use", function()
      local x, y = dob.ones(2), dob.ones(2)
      local cases = {
         { function() return x < y end, "<", "x:lt%(y%)" },
         { function() return x <= y end, "<=", "x:le%(y%)" },
         { function() return x > y end, "<", "x:lt%(y%)" },
         { function() return x .. "a" end, "..", "tostring" },
         { function() return "a" .. x end, "..", "tostring" },
         { function() return x() end, "call", "x:get" },
         { function() return x % 2 end, "%", "" },
         { function() return x.no_such_method end, "index", "'no_such_method'" },
         { function() return x:no_such_method() end, "index", "'no_such_method'" },
         { function() return x[true] end, "index", "true" },
         { function() return x[1.5] end, "index", "1%.5" },
         { function() return x[3] end, "index", "out of range" },
         { function() x.field = 1 end, "index", "cannot be set" },
         { function() x[0] = 1 end, "index", "out of range" },
         { function() x[1] = "a" end, "set", "must be a number" },
         { function() return dob.scalar(1)[1] end, "index", "item" },
         { function() return x + {} end, "add", "right operand" },
         { function() return {} * x end, "mul", "left operand" },
      }
      for _, c in ipairs(cases) do
         local msg = err(c[1])
         assert_names(msg, c[2])
         assert.matches(c[3], msg)
      end
      -- == is identity; elementwise equality is x:eq(y)
      assert.is_true(x == x)
      assert.is_false(x == y)
      assert.are.same({ 1, 1 }, x:eq(y):totable())
      assert.are.same({ 2, 2 }, (-x + 3):totable())
   end)

   it("every operator and method on a freed tensor is an error naming it", function()
      local f = dob.ones(2)
      f:free()
      local live = dob.ones(2)
      local cases = { add = function() return f + 1 end, sub = function() return 1 - f end,
         unm = function() return -f end, ["<"] = function() return f < live end,
         ["<="] = function() return live <= f end, [".."] = function() return f .. "" end,
         call = function() return f() end, sum = function() return f:sum() end,
         index = function() f[1] = 2 end }
      for op, fn in pairs(cases) do
         local msg = err(fn)
         assert.are.equal("ok", contract.classify(msg), msg)
         -- (< and <= share their metamethod with live tensors: Lua calls it only then)
         if op ~= "<" and op ~= "<=" then
            assert.matches("freed", msg)
            assert_names(msg, op)
         end
      end
      f:free()   -- twice is harmless
      assert.are.equal("[freed deepobs.Tensor]", tostring(f))
   end)
end)

describe("ParamSet over aliased memory", function()
   -- views of one 1-D storage of 12 elements, with the storage offsets each covers
   local function views(base)
      local list = {}
      for first = 1, 12, 3 do
         for len = 1, 6, 2 do
            if first + len - 1 <= 12 then list[#list + 1] = base:narrow(1, first, len) end
         end
      end
      local m = base:view(3, 4)
      list[#list + 1] = m:select(1, 2)
      list[#list + 1] = m:select(2, 3)
      list[#list + 1] = m:t():select(1, 1)
      list[#list + 1] = m:slice(2, 1, 4, 2)
      return list
   end

   local function covered(t)
      local set = {}
      local sz, st, off = t:size(), t:stride(), t:storage_offset() - 1
      local n = t:numel()
      for flat = 0, n - 1 do
         local rest, at = flat, off
         for d = #sz, 1, -1 do
            at = at + (rest % sz[d]) * st[d]
            rest = math.floor(rest / sz[d])
         end
         set[at] = true
      end
      return set
   end

   it("refuses two entries whose elements overlap, accepts disjoint views (every pair of a family)", function()
      local base = dob.arange(12):float()
      local list = views(base)
      local refused, accepted = 0, 0
      for i = 1, #list do
         for j = i + 1, #list do
            local a, b = covered(list[i]), covered(list[j])
            local overlap = false
            for k in pairs(a) do if b[k] then overlap = true end end
            -- as extents: views interleaved without sharing an element are refused too
            local ok, e = pcall(dob.nn.ParamSet, { list[i], list[j] })
            if overlap then
               assert.is_false(ok, ("views %d and %d overlap"):format(i, j))
               assert_names(e, "ParamSet")
            end
            if ok then accepted = accepted + 1 else refused = refused + 1 end
         end
      end
      assert.is_true(refused > 10 and accepted > 10, ("refused %d, accepted %d"):format(refused, accepted))
   end)

   it("refuses the same tensor twice, also inside a module, and other non-parameters", function()
      local x = dob.randn(3)
      assert.matches("same tensor", err(dob.nn.ParamSet, { x, x }))
      assert.matches("overlap", err(dob.nn.ParamSet, { x, x:view(3) }))
      local m = dob.nn.Linear(2, 2)
      m:param("tied", m.weight)
      assert_names(err(dob.nn.ParamSet, m), "ParamSet")
      for _, bad in ipairs { 3, "x", x, { 1, 2 }, { dob.zeros(2, "int64") }, { setmetatable({}, {}) } } do
         assert_names(err(dob.nn.ParamSet, bad), "ParamSet")
      end
   end)
end)

describe("an optimizer's closure", function()
   it("must return the loss: nil, strings, tables and multi-element tensors are refused by every built-in", function()
      for _, name in ipairs(dob.optim.list()) do
         local ps = dob.nn.ParamSet { dob.randn(3) }
         local o = dob.optim.object(name, ps, { lr = 0.01 })
         for _, ret in ipairs { "nil", "string", "table", "boolean", "tensor3" } do
            local function closure()
               local loss = (ps.params[1].value * ps.params[1].value):sum()
               loss:backward()
               if ret == "string" then return "0.5" elseif ret == "table" then return {} elseif ret == "boolean" then return true
               elseif ret == "tensor3" then return dob.ones(3) end
            end
            local msg = err(o.step, o, closure)
            assert.matches("step", msg)
            assert.are.equal("ok", contract.classify(msg), msg)
         end
         for _, c in ipairs { nil, 3, "f", {} } do assert.matches("step", err(o.step, o, c)) end
         -- a number or a one-element tensor is a loss
         local before = ps.flat:clone()
         local loss = o:step(function()
            local l = (ps.params[1].value * ps.params[1].value):sum()
            l:backward()
            return l
         end)
         assert.are.equal("number", type(loss))
         assert.is_false(ps.flat:eq(before):all_finite() and ps.flat:sub(before):abs():sum():item() == 0, name)
      end
   end)
end)
