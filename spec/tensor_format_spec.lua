-- How tensors print (lua/deepobs/tensor_format.lua): Torch7's layout, summarised above
-- the threshold with the edge entries in their places, and checked print options.
local dob = require "deepobs"

local function rows(s)
   local t = {}
   for l in s:gmatch("[^\n]+") do t[#t + 1] = l end
   return t
end

describe("tensor printing", function()
   after_each(function() dob.set_printoptions { profile = "default" } end)

   it("shows every element up to the threshold and the edges beyond it, for 1 to 4 dimensions", function()
      for _, shape in ipairs { { 1001 }, { 40, 30 }, { 12, 10, 9 }, { 5, 7, 8, 4 } } do
         local n = 1
         for _, s in ipairs(shape) do n = n * s end
         local x = dob.arange(0, n):view(unpack(shape))
         local text = tostring(x)
         local lines = rows(text)
         assert.are.equal("[" .. x:type() .. " of size " .. table.concat(shape, "x") .. "]", lines[#lines])
         -- the first and the last element appear first and last
         local shown = {}
         for v in text:gsub("%[.-%]", ""):gsub("%(.-%) = ", ""):gmatch("%-?%d+") do shown[#shown + 1] = tonumber(v) end
         assert.are.equal(0, shown[1])
         assert.are.equal(n - 1, shown[#shown])
         assert.is_true(#shown <= 6 ^ #shape, #shown)   -- 3 + 3 per dimension at most
         dob.set_printoptions { threshold = n }
         local full = tostring(x)
         assert.not_matches("...", full, 1, true)
         local count = 0
         for _ in full:gsub("%[.-%]", ""):gsub("%(.-%) = ", ""):gmatch("%-?%d+") do count = count + 1 end
         assert.are.equal(n, count)
         dob.set_printoptions { profile = "default" }
      end
   end)

   it("summarises with edgeitems entries on each side and keeps precision", function()
      dob.set_printoptions { edgeitems = 2, precision = 2 }
      local x = dob.arange(0, 2000):float():view(2, 1000) / 4
      local lines = rows(tostring(x))
      assert.are.equal(3, #lines)
      assert.matches("^%s*0%.00%s+0%.25%s+%.%.%.%s+249%.50%s+249%.75$", lines[1])
      assert.matches("^%s*250%.00%s+250%.25%s+%.%.%.%s+499%.50%s+499%.75$", lines[2])
   end)

   it("prints scalars, empty tensors and non-finite values", function()
      assert.are.equal("3.5000\n[deepobs.FloatTensor of size []]", tostring(dob.scalar(3.5)))
      assert.are.equal("[deepobs.FloatTensor with no dimension]", tostring(dob.zeros(0, 3)))
      local t = tostring(dob.tensor({ 0 / 0, math.huge, -1.5 }))
      assert.matches("nan", t, 1, true)
      assert.matches("inf", t, 1, true)
      assert.matches("%-1%.5000", t)
   end)

   it("refuses bad print options with a message naming the option", function()
      local bad = {
         { "nope" }, { { threshold = -1 } }, { { threshold = 1.5 } }, { { threshold = "10" } },
         { { edgeitems = 0 } }, { { edgeitems = 2.5 } }, { { precision = -1 } }, { { precision = 18 } },
         { { precision = 0 / 0 } }, { { profile = "huge" } }, { { colour = true } }, { nil },
      }
      for _, case in ipairs(bad) do
         local ok, err = pcall(dob.set_printoptions, case[1])
         assert.is_false(ok)
         assert.matches("^[^\n]*set_printoptions: ", err)
         assert.not_matches("attempt to", err)
      end
      local now = dob.set_printoptions { threshold = math.huge, precision = 0 }
      assert.are.equal(math.huge, now.threshold)
      assert.are.equal("1\n[deepobs.FloatTensor of size []]", tostring(dob.scalar(1.25)))
   end)
end)
