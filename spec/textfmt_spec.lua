-- deepobs.analyzer.textfmt: what the analyzer's tables write is read back as written, for
-- names with commas, quotes, line breaks, pipes and UTF-8 (generated).
local textfmt = require "deepobs.analyzer.textfmt"
local results = require "deepobs.results"

-- RFC 4180: the cells of one CSV record
local function parse_csv(line)
   local cells, i, n = {}, 1, #line
   while true do
      if line:sub(i, i) == '"' then
         local buf = {}
         i = i + 1
         while true do
            local c = line:sub(i, i)
            assert(c ~= "", "unterminated quoted cell")
            if c == '"' then
               if line:sub(i + 1, i + 1) == '"' then buf[#buf + 1] = '"'; i = i + 2
               else i = i + 1; break end
            else buf[#buf + 1] = c; i = i + 1 end
         end
         cells[#cells + 1] = table.concat(buf)
      else
         local j = line:find(",", i, true) or n + 1
         cells[#cells + 1] = line:sub(i, j - 1)
         i = j
      end
      if i > n then break end
      assert(line:sub(i, i) == ",", "a cell must end at a comma")
      i = i + 1
   end
   return cells
end

-- the cells of a Markdown row: split at the pipes that are not escaped
local function markdown_cells(row)
   local cells = {}
   local body = row:match("^| (.*) |$")
   local cur, i = {}, 1
   while i <= #body do
      local c = body:sub(i, i)
      if c == "\\" and body:sub(i + 1, i + 1) == "|" then cur[#cur + 1] = "|"; i = i + 2
      elseif body:sub(i, i + 2) == " | " then cells[#cells + 1] = table.concat(cur); cur = {}; i = i + 3
      else cur[#cur + 1] = c; i = i + 1 end
   end
   cells[#cells + 1] = table.concat(cur)
   return cells
end

local PIECES = { "a", "b", ",", '"', "\n", "\r", "|", "±", "é", " ", "x y", "0.5" }
local function names(seed, count)
   local out, state = {}, seed
   for k = 1, count do
      local parts = {}
      for _ = 1, 1 + k % 6 do
         state = (state * 1103515245 + 12345) % 2147483648
         parts[#parts + 1] = PIECES[state % #PIECES + 1]
      end
      out[k] = table.concat(parts)
   end
   return out
end

describe("analyzer text formats", function()
   it("a CSV line reads back as its cells (RFC 4180), whatever the names hold", function()
      for _, s in ipairs(names(7, 300)) do
         local cells = parse_csv(textfmt.csv_line(s, "plain", s .. s))
         assert.are.same({ s, "plain", s .. s }, cells)
      end
      assert.are.same({ "", "true", "3", "0.5", "nan" }, parse_csv(textfmt.csv_line(nil, true, 3, 0.5, 0 / 0)))
      assert.are.equal("1e-05", textfmt.csv_number(1e-5))
      assert.are.equal("2.0", textfmt.csv_float(2))
   end)

   it("a Markdown row keeps its cells apart when a cell holds a pipe", function()
      for _, s in ipairs(names(11, 200)) do
         if not s:find("[\r\n]") then
            local t = textfmt.markdown_table({ "name", "value" }, { { s, "1" } })
            local rows = {}
            for l in t:gmatch("[^\n]+") do rows[#rows + 1] = l end
            assert.are.same({ s, "1" }, markdown_cells(rows[3]))
         end
      end
   end)

   it("aligned columns: every column starts at the same place in every line, UTF-8 counted by characters", function()
      local rows = {}
      for i, s in ipairs(names(3, 40)) do
         if not s:find("[\r\n]") then rows[#rows + 1] = { s, tostring(i), "last" } end
      end
      local text = textfmt.aligned({ "name", "n", "tail" }, rows)
      local starts
      for line in text:gmatch("[^\n]+") do
         -- the last cells ("tail", "last") have four characters: the lines' character counts
         -- are equal exactly when the last column starts at the same character everywhere
         local chars = 0
         for _ in line:gmatch("[%z\1-\127\194-\244][\128-\191]*") do chars = chars + 1 end
         local pos = chars - 3
         starts = starts or pos
         assert.are.equal(starts, pos)
      end
   end)

   it("JSON numbers: nil and NaN are null, the rest as they are", function()
      assert.are.equal(results.null, textfmt.jnum(nil))
      assert.are.equal(results.null, textfmt.jnum(0 / 0))
      assert.are.equal(1.5, textfmt.jnum(1.5))
      assert.are.equal(1 / 0, textfmt.jnum(1 / 0))
   end)
end)
