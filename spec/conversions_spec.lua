-- Lossy conversions and out-of-range scalars. Every way of writing a Lua
-- number into a tensor (dob.tensor, scalar, full, fill_, set, set_flat,
-- x[i] = v, a row fill, a fill through a transposed view) is tried with every
-- dtype and every class of value: values the dtype holds exactly come back
-- bit for bit; values it cannot hold (out of range, fractions into integer
-- dtypes, NaN and infinities into integer dtypes, beyond float32's range) are
-- errors naming the dtype, and nothing is written. Casts between dtypes
-- (to, copy_) truncate toward zero as C and PyTorch do, and refuse values
-- whose truncation does not fit. Also: dob.accuracy's label checks (as
-- softmax_cross_entropy's), set_threads and manual_seed bounds.
local dob = require "deepobs"

local NaN, INF = 0 / 0, math.huge

-- value classes per dtype: exact values round-trip, the others are refused
local VALUES = {
   uint8 = {
      exact = { 0, 1, 127, 128, 254, 255 },
      out_of_range = { 256, 300, -1, -7, 1e30, -1e30, 2 ^ 63 },
      fraction = { 0.5, 254.5, 1e-300, -0.25 },
      not_finite = { NaN, INF, -INF },
   },
   int64 = {
      exact = { 0, 1, -1, 2 ^ 31, -2 ^ 31 - 1, 2 ^ 53, -2 ^ 53, 2 ^ 62, -2 ^ 63, 2 ^ 63 - 1024 },
      out_of_range = { 2 ^ 63, -2 ^ 63 - 2048, 1e30, -1e30, 2 ^ 64 },
      fraction = { 0.5, -2.5, 2 ^ 51 + 0.5, 1e-300 },
      not_finite = { NaN, INF, -INF },
   },
   float32 = {
      exact = { 0, -0.5, 1.5, 2 ^ 100, -2 ^ -100, 2 ^ 24 + 2, 3.4028234663852886e38, INF, -INF },
      out_of_range = { 1e39, -1e39, 1e300, 3.4028236e38 },
      fraction = {},
      not_finite = {},
   },
}

-- writers: name -> function(v, dtype) -> tensor, flat index written, value
-- that was there before (nil: a fresh tensor)
local WRITERS = {
   ["dob.tensor"] = function(v, dt) return dob.tensor({ v }, dt), 1 end,
   ["dob.tensor (nested)"] = function(v, dt) return dob.tensor({ { 0, v } }, dt), 2 end,
   ["dob.scalar"] = function(v, dt) return dob.scalar(v, dt), 1 end,
   ["dob.full"] = function(v, dt) return dob.full({ 2, 2 }, v, dt), 4 end,
   ["fill_"] = function(v, dt, x) return x:fill_(v), 3 end,
   ["set"] = function(v, dt, x) return x:set(v, 2, 1), 3 end,
   ["set_flat"] = function(v, dt, x) return x:set_flat(3, v), 3 end,
   ["x[i] = v (row fill)"] = function(v, dt, x) x[2] = v; return x, 3 end,
   ["x[i] = v (1-D)"] = function(v, dt, x) local f = x:view(4); f[3] = v; return x, 3 end,
   ["fill_ through a transposed view"] = function(v, dt, x) x:t():fill_(v); return x, 3 end,
}
-- in-place writers get a [2x2] tensor of zeros
local IN_PLACE = { fill_ = true, set = true, set_flat = true, ["x[i] = v (row fill)"] = true,
   ["x[i] = v (1-D)"] = true, ["fill_ through a transposed view"] = true }

local function writer_names()
   local names = {}
   for k in pairs(WRITERS) do names[#names + 1] = k end
   table.sort(names)
   return names
end

local function raw(err)
   return err:find("attempt to") or err:find("bad argument") or err:find("cannot convert")
end

describe("conversions of Lua numbers into tensors", function()
   for _, dt in ipairs { "uint8", "int64", "float32" } do
      for _, wname in ipairs(writer_names()) do
         for class, list in pairs(VALUES[dt]) do
            for _, v in ipairs(list) do
               local what = ("%s of %.17g into %s"):format(wname, v, dt)
               if class == "exact" then
                  it(what .. " round-trips exactly", function()
                     local x = IN_PLACE[wname] and dob.zeros(2, 2, dt) or nil
                     local t, i = WRITERS[wname](v, dt, x)
                     assert.are.equal(dt, t:dtype())
                     local back = t:get_flat(i)
                     assert(back == v, ("%s: read back %.17g"):format(what, back))
                  end)
               else
                  it(what .. " is an error naming the dtype (" .. class .. ") and writes nothing", function()
                     local x = IN_PLACE[wname] and dob.zeros(2, 2, dt) or nil
                     local ok, err = pcall(WRITERS[wname], v, dt, x)
                     assert.is_false(ok, what .. " was accepted")
                     err = tostring(err)
                     assert.is_falsy(raw(err), err)
                     assert.matches(dt, err)
                     if x then
                        for k = 1, 4 do assert.are.equal(0, x:get_flat(k)) end
                     end
                  end)
               end
            end
         end
      end
   end
end)

describe("casts between dtypes (to, copy_)", function()
   -- source values as their own dtype can hold them
   local SOURCES = {
      float32 = { 0, 2.75, -2.75, 255, 255.9, 256, -0.5, -1, 300, 1e10, -1e10, 9.2233720368547758e18, NaN, INF, -INF },
      int64 = { 0, 1, 255, 256, -1, 300, 2 ^ 62, -2 ^ 63 },
      uint8 = { 0, 1, 255 },
   }
   local RANGE = { uint8 = { 0, 255 }, int64 = { -2 ^ 63, 2 ^ 63 - 1 } }
   local function trunc(v) return v >= 0 and math.floor(v) or math.ceil(v) end
   for src, vals in pairs(SOURCES) do
      for _, dst in ipairs { "uint8", "int64", "float32" } do
         for _, v in ipairs(vals) do
            local expect
            if dst == "float32" then expect = v
            elseif v == v and math.abs(v) ~= INF then
               local t = trunc(v)
               if t >= RANGE[dst][1] and t < RANGE[dst][2] + 1 then expect = t end
            end
            local what = ("%s %.17g -> %s"):format(src, v, dst)
            it(what .. (expect and (" gives %.17g"):format(expect) or " is an error"), function()
               for _, how in ipairs { "to", "copy_" } do
                  local s = dob.tensor({ v }, src)
                  local f = how == "to" and function() return s:to(dst) end
                     or function() return dob.zeros(1, dst):copy_(s) end
                  local ok, r = pcall(f)
                  if expect ~= nil then
                     assert.is_true(ok, tostring(r))
                     local back = r:get_flat(1)
                     -- float32 may round an int64 source: compare with the rounded value
                     local want = dst == "float32" and dob.tensor({ v }):get_flat(1) or expect
                     assert(back == want or (back ~= back and want ~= want), ("%s (%s): got %.17g"):format(what, how, back))
                  else
                     assert.is_false(ok, what .. " (" .. how .. ") was accepted")
                     assert.matches("does not fit", tostring(r))
                  end
               end
            end)
         end
      end
   end
end)

describe("dob.accuracy labels", function()
   for _, classes in ipairs { 1, 3, 10 } do
      for _, bad in ipairs { -1, classes, classes + 5, -2 ^ 62, 2 ^ 62 } do
         it(("label %.17g with %d classes is refused as softmax_cross_entropy refuses it"):format(bad, classes), function()
            local logits = dob.zeros(3, classes)
            local labels = dob.tensor({ 0, bad, 0 }, "int64")
            local ok, err = pcall(dob.accuracy, logits, labels)
            assert.is_false(ok)
            assert.matches("out of range", tostring(err))
            assert.is_false((pcall(dob.softmax_cross_entropy, logits, labels)))
         end)
      end
   end
   for _, bad in ipairs { 0.5, NaN, -1, 1.5 } do
      it(("float labels [N] (here holding %s) are refused: labels are int64 class indices"):format(tostring(bad)), function()
         local ok, err = pcall(dob.accuracy, dob.zeros(2, 3), dob.tensor({ 0, bad }))
         assert.is_false(ok)
         assert.matches("int64", tostring(err))
      end)
   end
   it("in-range labels give the fraction of rows whose argmax is the label", function()
      local logits = dob.tensor({ { 1, 0, 0 }, { 0, 2, 0 }, { 0, 0, 3 }, { 5, 0, 0 } })
      for _, case in ipairs { { { 0, 1, 2, 0 }, 1 }, { { 0, 1, 2, 1 }, 0.75 }, { { 2, 2, 0, 1 }, 0 } } do
         assert.are.equal(case[2], dob.accuracy(logits, dob.tensor(case[1], "int64")))
      end
   end)
end)

describe("set_threads and manual_seed bounds", function()
   local threads
   before_each(function() threads = dob.get_threads() end)
   after_each(function() dob.set_threads(threads) end)
   for _, n in ipairs { 0, -1, -2 ^ 31, 1e9, 2 ^ 40, 2 ^ 32 + 2, 2.5, 0.5, NaN, INF, -INF, "4" } do
      it(("set_threads(%s) is an error and keeps the thread count"):format(tostring(n)), function()
         local ok, err = pcall(dob.set_threads, n)
         assert.is_false(ok, "accepted")
         assert.matches("set_threads", tostring(err))
         assert.is_falsy(raw(tostring(err)), err)
         assert.are.equal(threads, dob.get_threads())
      end)
   end
   it("set_threads(1) and back works", function()
      dob.set_threads(1)
      assert.are.equal(1, dob.get_threads())
   end)
   for _, s in ipairs { -1, 0.5, 2 ^ 53 + 2, 2 ^ 64, NaN, INF, -INF } do
      it(("manual_seed(%.17g) is an error and leaves the generator alone"):format(s), function()
         dob.manual_seed(7)
         local ok, err = pcall(dob.manual_seed, s)
         assert.is_false(ok)
         assert.matches("manual_seed", tostring(err))
         assert.are.equal(7, dob.get_rng_state().seed)
      end)
   end
   for _, s in ipairs { 0, 1, 2 ^ 32 + 1, 2 ^ 53 } do
      it(("manual_seed(%.17g) is kept exactly and repeats the numbers"):format(s), function()
         dob.manual_seed(s)
         assert.are.equal(s, dob.get_rng_state().seed)
         local a = dob.rand(5)
         dob.manual_seed(s)
         local b = dob.rand(5)
         for i = 1, 5 do assert.are.equal(a:get_flat(i), b:get_flat(i)) end
      end)
   end
end)
