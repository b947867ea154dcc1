-- The API reference: every public entry (deepobs.api, the walk the API contract calls)
-- has a doc block whose first line is `SIGNATURE: summary` naming it; README.md's section
-- "API reference" is exactly what scripts/api_reference.lua prints, so it cannot drift from
-- the doc blocks; help(f) in the REPL shows the whole block, registered or commented.
local dob = require "deepobs"
local doc = require "deepobs.doc"
local help = require "deepobs.repl.help"

local BEGIN, END = "<!-- api-reference:begin -->", "<!-- api-reference:end -->"

local function read(path)
   local f = assert(io.open(path, "r"))
   local s = f:read("*a")
   f:close()
   return s
end

describe("the API docs", function()
   it("document every public entry with a first line that names it", function()
      local entries = doc.entries(dob)
      assert.is_true(#entries > 250, "the walk found the API (" .. #entries .. " entries)")
      local missing = {}
      for _, e in ipairs(entries) do
         local sig, why = doc.signature(e)
         if not sig then missing[#missing + 1] = why end
      end
      assert.are.same({}, missing, table.concat(missing, "\n"))
   end)

   it("refuse a doc whose first line does not name its entry, or no doc", function()
      local f = function() end
      local e = { name = "dob.narrowish", doc = f }
      assert.is_nil((doc.signature(e)))
      for _, text in ipairs { "narrow(dim): a view", "x:narrowish(dim) a view", "summary only", "",
         "x:narrowish: no call", "narrowish is here(dim): prose", "x:narrowish(dim): ", "x:narrowish_(dim): other" } do
         doc.register(f, text)
         local sig, why = doc.signature(e)
         assert.is_nil(sig, text)
         assert.matches("dob.narrowish", why, 1, true)
      end
      doc.register(f, "x:narrowish(dim): a view\nmore")
      assert.are.equal("x:narrowish(dim)", (doc.signature(e)))
      -- an operator names its metamethod after its form
      local op = { name = "operator __add", kind = "operator", doc = f }
      doc.register(f, "x + y (__add): the sum")
      assert.are.equal("x + y (__add)", (doc.signature(op)))
      doc.register(f, "x + y: the sum")
      assert.is_nil((doc.signature(op)))
      assert.has_error(function() doc.register(f, 42) end)
      assert.has_error(function() doc.register(42, "x") end)
   end)

   it("are the API reference section of README.md, exactly", function()
      local readme = read("README.md")
      local a, b = readme:find(BEGIN, 1, true), readme:find(END, 1, true)
      assert.is_truthy(a and b and b > a, "README.md has the markers " .. BEGIN .. " ... " .. END)
      local section = readme:sub(a + #BEGIN + 1, b - 1)
      local p = io.popen("luajit scripts/api_reference.lua")
      local printed = p:read("*a")
      p:close()
      assert.are.equal(doc.reference(dob), printed)
      assert.is_true(section == printed, "README.md's API reference differs from the doc blocks: run "
         .. "`luajit scripts/api_reference.lua --update-readme`")
      -- every entry is in it, under its signature
      for _, e in ipairs(doc.entries(dob)) do
         local sig = doc.signature(e)
         assert.is_truthy(section:find("- `" .. sig .. "`", 1, true), e.name)
      end
   end)

   it("are what help(f) shows, whole, for a generated and a commented function", function()
      for _, f in ipairs { dob.exp, dob.Tensor.sigmoid_, dob.Tensor.add_, dob.narrow or dob.Tensor.narrow,
         dob.nn.Module.zero_grad } do
         local text = doc.of(f)
         assert.is_true(#text > 0)
         local shown = help.text(f)
         assert.are.equal(1, select(2, shown:gsub(text:gsub("%p", "%%%0"), "")), shown)
      end
      -- a generated op's doc is its own, not its loop's neighbour's
      assert.are_not.equal(doc.of(dob.exp), doc.of(dob.log))
      assert.matches("^x:exp%(%)", doc.of(dob.exp))
   end)
end)
