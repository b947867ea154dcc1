-- Size overflow: element counts are computed with overflow-checked products
-- and capped at 2^40 elements per tensor or view. Every constructor, every
-- shape-taking view op and every op whose output size is computed is thrown
-- shapes whose product is beyond the cap, wraps int64 (to 0, to a small
-- positive count, to a negative one) or has a negative factor: each is a
-- clear error, never a crash and never a tensor whose numel is wrong. A last
-- sweep calls every public function and Tensor method with huge numbers in
-- a child process (address space capped) and checks that nothing crashes,
-- hangs or returns a tensor whose numel disagrees with its sizes.
local dob = require "deepobs"
local child = require "helpers.child"

local LIMIT = 2 ^ 40

-- 2^64 / 3 rounded to a double: 3 times it is 2^64 + 512, which wraps to 512
local THIRD = 6148914691236517376

-- shape classes: name -> list of shapes that must all be refused
local function oversize_shapes()
   local shapes = {
      { "wraps to 0", { 2 ^ 32, 2 ^ 32 } }, { "wraps to 0", { 4, 2 ^ 62 } },
      { "wraps to 0", { 2 ^ 16, 2 ^ 16, 2 ^ 16, 2 ^ 16 } }, { "wraps to 0", { -2 ^ 62, -4 } },
      { "wraps to 512", { 3, THIRD } }, { "wraps to 2^33+1", { 2 ^ 32 + 1, 2 ^ 32 + 1 } },
      { "wraps negative", { 3, 2 ^ 62 } }, { "wraps to -1", { 2 ^ 32 + 1, 2 ^ 32 - 1 } },
      { "2^93", { 2 ^ 31, 2 ^ 31, 2 ^ 31 } }, { "2^62", { 2 ^ 62 } }, { "negative", { 2, -3 } },
      { "negative", { -2 } }, { "beyond int64", { 2 ^ 63 } }, { "beyond int64", { 2, 2 ^ 64 } },
   }
   -- just above the cap, split over 1..4 dims: 2^40 split into equal powers
   -- of two, the last one bumped by one
   for nd = 1, 4 do
      local s = {}
      for d = 1, nd do s[d] = 2 ^ (40 / nd) end
      if 40 % nd ~= 0 then
         s = {}
         for d = 1, nd - 1 do s[d] = 2 ^ math.floor(40 / nd) end
         s[nd] = 2 ^ (40 - math.floor(40 / nd) * (nd - 1))
      end
      s[nd] = s[nd] + 1
      shapes[#shapes + 1] = { ("2^40 + a bit over %d dims"):format(nd), s }
   end
   return shapes
end

-- an error a user can act on: not a raw Lua / FFI message, and about sizes
local function assert_size_error(what, ok, err)
   assert(not ok, what .. ": accepted (should be refused)")
   err = tostring(err)
   assert(not err:find("attempt to") and not err:find("bad argument") and not err:find("cannot convert"),
      what .. ": raw error: " .. err)
   assert(err:find("too large") or err:find("negative") or err:find("invalid") or err:find("must be")
      or err:find("out of memory") or err:find("overflow") or err:find("at most"),
      what .. ": unclear error: " .. err)
end

local function shape_str(s)
   local t = {}
   for i, v in ipairs(s) do t[i] = ("%.17g"):format(v) end
   return "{" .. table.concat(t, ", ") .. "}"
end

local function sizes_equal(t, s)
   local got = t:size()
   if #got ~= #s then return false end
   for i = 1, #s do if got[i] ~= s[i] then return false end end
   return true
end

-- functions that change process state; never probed with arbitrary arguments
local SIDE_EFFECTS = { set_threads = true, manual_seed = true, set_rng_state = true, set_grad_enabled = true,
   no_grad = true, save = true, load = true, write_jpeg = true, collect = true, check_saveable = true }

-- dob.* functions that build a tensor from a size list: probed with {2, 3}
-- (and a fill value), kept when the result is a [2x3] tensor
local function constructors()
   local found = {}
   for name, f in pairs(dob) do
      if type(f) == "function" and not SIDE_EFFECTS[name] then
         for _, extra in ipairs { {}, { 1 } } do
            local ok, t = pcall(f, { 2, 3 }, unpack(extra))
            if ok and dob.is_tensor(t) and sizes_equal(t, { 2, 3 }) then
               found[#found + 1] = { name = name, f = f, extra = extra }
               break
            end
         end
      end
   end
   table.sort(found, function(a, b) return a.name < b.name end)
   return found
end

-- Tensor methods that take a target shape: from a [1x1x1] tensor,
-- x:m({1, 1}) gives a [1x1] tensor and x:m({1, 1, 1, 1}) a [1x1x1x1] one
local function shape_methods()
   local found = {}
   local function gives(f, s)
      local ok, t = pcall(f, dob.ones(1, 1, 1), s)
      return ok and dob.is_tensor(t) and sizes_equal(t, s)
   end
   for name, f in pairs(dob.Tensor) do
      if gives(f, { 1, 1 }) or gives(f, { 1, 1, 1, 1 }) then found[#found + 1] = name end
   end
   table.sort(found)
   return found
end

describe("size overflow", function()
   local SHAPES = oversize_shapes()
   local CTORS = constructors()
   local VIEWS = shape_methods()

   it("finds the constructors and shape methods by walking the package", function()
      local names = {}
      for _, c in ipairs(CTORS) do names[c.name] = true end
      for _, n in ipairs { "empty", "zeros", "ones", "full", "rand", "randn" } do
         assert.is_true(names[n] == true, n .. " not found among constructors")
      end
      local views = table.concat(VIEWS, " ")
      for _, n in ipairs { "view", "reshape", "expand" } do
         assert.truthy((" " .. views .. " "):find(" " .. n .. " "), n .. " not found among shape methods")
      end
   end)

   for _, c in ipairs(CTORS) do
      for _, sc in ipairs(SHAPES) do
         local what = ("dob.%s(%s) [%s]"):format(c.name, shape_str(sc[2]), sc[1])
         it(what .. " is a clear error", function()
            local ok, err = pcall(c.f, sc[2], unpack(c.extra))
            assert_size_error(what, ok, err)
            -- the varargs form when the constructor has one
            if #c.extra == 0 then
               ok, err = pcall(c.f, unpack(sc[2]))
               assert_size_error(what .. " (varargs)", ok, err)
            end
         end)
      end
   end

   -- counts: arange's end and randperm's n
   for _, n in ipairs { 2 ^ 40 + 1, 2 ^ 62, 2 ^ 63, 1e300 } do
      it(("dob.arange(%.17g) and dob.randperm(%.17g) are clear errors"):format(n, n), function()
         assert_size_error(("arange(%.17g)"):format(n), pcall(dob.arange, n))
         assert_size_error(("randperm(%.17g)"):format(n), pcall(dob.randperm, n))
      end)
   end

   for _, m in ipairs(VIEWS) do
      for _, sc in ipairs(SHAPES) do
         local what = ("x:%s(%s) [%s]"):format(m, shape_str(sc[2]), sc[1])
         it(what .. " is a clear error", function()
            -- a source of as many dims (for expand) and one of 512 elements
            -- (what {3, 2^64/3} wraps to, for view and reshape)
            local ones = {}
            for d = 1, #sc[2] do ones[d] = 1 end
            for _, x in ipairs { dob.ones(ones), dob.ones(512), dob.ones(8, 64) } do
               assert_size_error(what, pcall(dob.Tensor[m], x, sc[2]))
            end
         end)
      end
   end

   it("views right at the cap have the exact numel and read their last element", function()
      for nd = 1, 4 do
         local ones, s = {}, {}
         for d = 1, nd do ones[d] = 1; s[d] = 2 ^ math.floor(40 / nd) end
         s[nd] = 2 ^ (40 - math.floor(40 / nd) * (nd - 1))
         local v = dob.ones(ones):expand(s)
         assert.are.equal(LIMIT, v:numel())
         assert.are.equal(1, v:get_flat(v:numel()))
      end
   end)

   -- as_strided views are checked against their storage: every element they
   -- reach must lie inside it, with the reach computed without overflow
   local STRIDED = {
      { { 4 }, { 2 ^ 62 } }, { { 2 ^ 32, 2 ^ 32 }, { 0, 0 } }, { { 4 }, { 4 } }, { { 2, 2 }, { 1, 2 ^ 63 } },
      { { 2 }, { -1 } }, { { 8, 8 }, { 2 ^ 61, 2 ^ 61 } }, { { 12 }, { 1 } }, { { 2, 6 }, { 6, 1 } },
      { { 1 }, { 1 }, 13 }, { { 1 }, { 1 }, 2 ^ 62 }, { { 1 }, { 1 }, 0 }, { { 1 }, { 1 }, -2 ^ 62 },
   }
   for _, c in ipairs(STRIDED) do
      local what = ("as_strided(%s, %s%s) of an 11-element storage"):format(shape_str(c[1]), shape_str(c[2]),
         c[3] and (", %.17g"):format(c[3]) or "")
      it(what .. " is a clear error", function()
         local x = dob.zeros(11)
         local ok, err = pcall(x.as_strided, x, c[1], c[2], c[3])
         assert.is_false(ok, what .. " accepted")
         assert.is_falsy(tostring(err):find("attempt to") or tostring(err):find("cannot convert"), tostring(err))
         assert.matches("as_strided", tostring(err))
      end)
   end
   it("as_strided views that fit the storage exactly are accepted and read their last element", function()
      local x = dob.arange(11):float()
      for _, c in ipairs { { { 11 }, { 1 }, 1, 10 }, { { 2, 5 }, { 5, 1 }, 2, 10 }, { { 3, 3 }, { 0, 5 }, 1, 10 } } do
         local v = x:as_strided(c[1], c[2], c[3])
         assert.are.equal(c[4], v:get_flat(v:numel()))
      end
   end)

   -- ops whose output size is computed from the inputs: inputs are expanded
   -- views (no memory behind them), outputs beyond the cap
   local function big(...)
      local ones = {}
      for i = 1, select("#", ...) do ones[i] = 1 end
      return dob.ones(ones):expand(...)
   end
   local idx1 = dob.zeros(1, "int64")
   local computed = {
      { "matmul [2^30x1]x[1x2^30]", function() return dob.matmul(big(2 ^ 30, 1), big(1, 2 ^ 30)) end },
      { "mm [2^21x1]x[1x2^21]", function() return dob.mm(big(2 ^ 21, 1), big(1, 2 ^ 21)) end },
      { "bmm [2^10,2^16,1]x[2^10,1,2^16]", function() return dob.bmm(big(2 ^ 10, 2 ^ 16, 1), big(2 ^ 10, 1, 2 ^ 16)) end },
      { "addmm", function() return dob.addmm(dob.ones(1, 1), big(2 ^ 30, 1), big(1, 2 ^ 30)) end },
      { "linear", function() return dob.linear(big(2 ^ 30, 1), big(2 ^ 30, 1)) end },
      { "conv2d padding 2^31", function() return dob.conv2d(dob.ones(1, 1, 1, 1), dob.ones(1, 1, 1, 1), nil, { padding = 2 ^ 31 }) end },
      { "conv2d padding 2^62", function() return dob.conv2d(dob.ones(1, 1, 1, 1), dob.ones(1, 1, 1, 1), nil, { padding = 2 ^ 62 }) end },
      { "conv2d batch 2^40 x 2 channels out", function() return dob.conv2d(big(2 ^ 40, 1, 1, 1), dob.ones(2, 1, 1, 1)) end },
      { "conv_transpose2d stride 2^20", function()
         return dob.conv_transpose2d(big(1, 1, 2 ^ 20, 2 ^ 20), dob.ones(1, 1, 1, 1), nil, { stride = 2 ^ 20 }) end },
      { "conv_transpose2d stride 2^62", function()
         return dob.conv_transpose2d(dob.ones(1, 1, 2, 2), dob.ones(1, 1, 1, 1), nil, { stride = 2 ^ 62 }) end },
      { "conv_transpose2d kernel 2^21", function()
         return dob.conv_transpose2d(dob.ones(1, 1, 1, 1), big(1, 1, 2 ^ 21, 2 ^ 21)) end },
      { "max_pool2d padding 2^31", function() return dob.max_pool2d(dob.ones(1, 1, 2, 2), { kernel = 1, padding = 2 ^ 31 }) end },
      { "avg_pool2d padding 2^62", function() return dob.avg_pool2d(dob.ones(1, 1, 2, 2), { kernel = 1, padding = 2 ^ 62 }) end },
      { "max_pool2d kernel 2^62", function() return dob.max_pool2d(dob.ones(1, 1, 2, 2), { kernel = 2 ^ 62, stride = 1 }) end },
      { "cat of two 2^40 views", function() return dob.cat({ big(2 ^ 20, 2 ^ 20), big(2 ^ 20, 2 ^ 20) }) end },
      { "cat of three 2^39 views", function() return dob.cat({ big(2 ^ 39), big(2 ^ 39), big(2 ^ 39) }) end },
      { "stack of two 2^40 views", function() return dob.stack({ big(2 ^ 20, 2 ^ 20), big(2 ^ 20, 2 ^ 20) }) end },
      { "one_hot depth 2^40", function() return dob.one_hot(dob.zeros(2, "int64"), 2 ^ 40) end },
      { "one_hot depth 2^62", function() return dob.one_hot(dob.zeros(4, "int64"), 2 ^ 62) end },
      { "index_select 2^21 rows of 2^20", function() return big(1, 2 ^ 20):index_select(1, idx1:expand(2 ^ 21)) end },
      { "embedding 2^21 x 2^20", function() return dob.embedding(big(2, 2 ^ 20), idx1:expand(2 ^ 21)) end },
      { "resize_bilinear to 2^32 x 2^32", function() return dob.resize_bilinear(dob.ones(1, 1, 2, 2), 2 ^ 32, 2 ^ 32) end },
      { "resize_bilinear to 2^62 x 4", function() return dob.resize_bilinear(dob.ones(1, 1, 2, 2), 2 ^ 62, 4) end },
      { "image_crop 2^32 x 2^32", function() return dob.image_crop(dob.ones(3, 2, 2), 1, 1, 2 ^ 32, 2 ^ 32) end },
      { "pad_crop to 2^32 x 2^32", function() return dob.ones(1, 3, 2, 2):pad_crop(0, 2 ^ 32, 2 ^ 32) end },
      { "where broadcast to 2^41", function() return dob.where(big(2 ^ 20, 1), big(2 ^ 20, 1), big(1, 2 ^ 21)) end },
   }
   -- every binary op: broadcasting [2^20 x 1] with [1 x 2^21] gives 2^41
   for _, name in ipairs { "add", "sub", "mul", "div", "pow", "maximum", "minimum", "eq", "ne", "lt", "le", "gt", "ge" } do
      computed[#computed + 1] = { name .. " broadcast to 2^41", function() return dob[name](big(2 ^ 20, 1), big(1, 2 ^ 21)) end }
   end
   for _, c in ipairs(computed) do
      it(c[1] .. " is a clear error", function()
         assert_size_error(c[1], pcall(c[2]))
      end)
   end

   describe("sweep: every public function and Tensor method with huge numbers (child process)", function()
      -- each call prints "name<TAB>verdict<TAB>detail"; BAD: a returned tensor
      -- whose numel disagrees with its sizes, is over the cap, or cannot be
      -- read. A child that dies is restarted after the function it died in.
      local script = [=[
io.stdout:setvbuf("line")
local dob = require "deepobs"
-- every value alone is over the cap: a number under it (2^32) could ask for
-- 16 GB that gets filled where the address space is not capped (ASan runs)
local H = { 2 ^ 62, 2 ^ 40 + 1, 2 ^ 63, -2 ^ 62, 2 ^ 64 }
local SKIP = { free = true, data = true, no_grad = true, collect = true, save = true, load = true,
   write_jpeg = true, check_saveable = true }
local function argsets()
   local sets = {}
   for _, h in ipairs(H) do
      for _, a in ipairs { { h }, { h, h }, { 1, h }, { h, 1 }, { 1, 1, h }, { 1, 1, 1, h, h }, { { h, h } }, { { h } },
                           { 1, { h, h } }, { { kernel = h, stride = h, padding = h } } } do
         sets[#sets + 1] = a
      end
   end
   return sets
end
local function check(name, ok, r)
   if not ok then print(name .. "\tok\terror"); return end
   if not dob.is_tensor(r) then print(name .. "\tok\tvalue"); return end
   local n, p = r:numel(), 1
   for _, s in ipairs(r:size()) do p = p * s end
   if n ~= p or n > 2 ^ 40 or n < 0 then print(("%s\tBAD\tnumel %.17g, sizes give %.17g"):format(name, n, p)); return end
   if n > 0 then
      local okr, e = pcall(function() return r:get_flat(1), r:get_flat(n) end)
      if not okr then print(name .. "\tBAD\tcannot read: " .. tostring(e)); return end
   end
   print(name .. "\tok\ttensor")
end
local function receivers()
   return { dob.ones(2, 3), dob.ones(1, 1, 2, 2), dob.tensor({ 0, 1 }, "int64"), dob.ones(3, 2, 2, "uint8") }
end
local names = {}
for k, v in pairs(dob.Tensor) do if type(v) == "function" and not SKIP[k] then names[#names + 1] = "Tensor." .. k end end
for k, v in pairs(dob) do if type(v) == "function" and not SKIP[k] then names[#names + 1] = "dob." .. k end end
table.sort(names)
for i = START, #names do
   local name = names[i]
   print(("BEGIN\t%d\t%s"):format(i, name))
   local f = name:find("^Tensor") and dob.Tensor[name:sub(8)] or dob[name:sub(5)]
   for _, a in ipairs(argsets()) do
      if name:find("^Tensor") then
         for _, x in ipairs(receivers()) do check(name, pcall(f, x, unpack(a))) end
      else
         check(name, pcall(f, unpack(a)))
      end
   end
   -- what succeeded may hold gigabytes of the capped address space
   dob.collect()
end
print("DONE")
]=]
      local per, order, crashed = {}, {}, {}
      local start, runs = 1, 0
      repeat
         runs = runs + 1
         local r = child.run("START = " .. start .. "\n" .. script, { timeout = 30, vmem_mb = 2048 })
         local last
         for line in r.out:gmatch("[^\n]+") do
            local i, bname = line:match("^BEGIN\t(%d+)\t(.+)$")
            if i then
               last = { i = tonumber(i), name = bname }
               per[bname] = { calls = 0, bad = {} }
               order[#order + 1] = bname
            else
               local name, verdict, detail = line:match("^([%w_%.]+)\t(%w+)\t(.*)$")
               if name and per[name] then
                  per[name].calls = per[name].calls + 1
                  if verdict ~= "ok" then per[name].bad[#per[name].bad + 1] = detail end
               end
            end
         end
         local done = r.out:find("DONE\n") ~= nil
         if not done then
            if not last then error("sweep child produced nothing: " .. r.out:sub(-2000)) end
            local tail = r.out:gsub("[^\n]*\tok\t[^\n]*\n", ""):gsub("BEGIN\t[^\n]*\n", "")
            crashed[last.name] = r.rc == 124 and "hung (killed after 30 s)"
               or ("died (exit %s): %s"):format(tostring(r.rc), tail:sub(-400))
            start = last.i + 1
         end
      until done or runs > 20

      it("swept every function (over 100) to the end", function()
         assert.is_true(#order > 100, "too few functions swept: " .. #order)
         assert.is_true(runs <= 20, "the sweep child died too often")
      end)
      for _, name in ipairs(order) do
         it(("%s: %d calls, no crash or hang, every returned tensor consistent"):format(name, per[name].calls), function()
            assert.is_nil(crashed[name], crashed[name])
            assert.are.same({}, per[name].bad)
         end)
      end
   end)
end)
