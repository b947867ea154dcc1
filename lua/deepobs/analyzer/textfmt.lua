--- How the analyzer's tables (tables, target, tuning, profiles, budget) write text: aligned
-- columns, Markdown pipe tables, CSV cells and JSON numbers, each in one place so that every
-- table prints them alike.
--
--    local textfmt = require "deepobs.analyzer.textfmt"
--    print(textfmt.aligned({ "optimizer", "lr" }, { { "adam", "1e-3" } }))
--    --   optimizer  lr
--    --   adam       1e-3
--    textfmt.markdown_table({ "a", "b" }, { { "1", "x|y" } })  --> "| a | b |\n|---|---|\n| 1 | x\|y |"
--    textfmt.csv_line("a,b", 2, 0.5, true, nil)                --> '"a,b",2,0.5,true,'
--    textfmt.jnum(0 / 0)                                        --> null (deepobs.results.null)
local jsonw = require "deepobs.results"

local M = {}

--- Display width in characters: UTF-8 continuation bytes do not count (so "±" and "–" are one).
function M.width(s) return #s:gsub("[\128-\191]", "") end

--- The head and the rows as column-aligned lines, each indented by two spaces, the columns two
-- spaces apart, the last column unpadded; one string, lines joined by "\n".
function M.aligned(head, rows)
   local all = { head }
   for _, row in ipairs(rows) do all[#all + 1] = row end
   local w = {}
   for _, row in ipairs(all) do
      for j, c in ipairs(row) do w[j] = math.max(w[j] or 0, M.width(c)) end
   end
   local lines = {}
   for i, row in ipairs(all) do
      local line = {}
      for j, c in ipairs(row) do line[j] = j == #row and c or (c .. (" "):rep(w[j] - M.width(c))) end
      lines[i] = "  " .. table.concat(line, "  ")
   end
   return table.concat(lines, "\n")
end

-- a "|" inside a cell would end it
local function markdown_row(cells)
   local escaped = {}
   for j, c in ipairs(cells) do escaped[j] = c:gsub("|", "\\|") end
   return "| " .. table.concat(escaped, " | ") .. " |"
end

--- A Markdown pipe table of the head and the rows ("|" in a cell escaped); one string, lines
-- joined by "\n".
function M.markdown_table(head, rows)
   local lines = { markdown_row(head), "|" .. ("---|"):rep(#head) }
   for _, row in ipairs(rows) do lines[#lines + 1] = markdown_row(row) end
   return table.concat(lines, "\n")
end

--- A table's cells: { head = head, rows = { cells(item) for each item } }.
function M.grid(head, items, cells)
   local rows = {}
   for i, item in ipairs(items) do rows[i] = cells(item) end
   return { head = head, rows = rows }
end

--- Plain text with a block per problem: its caption lines (captions(p): the first heads the
-- block, the others stand under it indented), its grid (grid(p)) as aligned columns and an
-- empty line.
function M.problems_text(problems, captions, grid)
   local out = {}
   for _, p in ipairs(problems) do
      local lines, g = captions(p), grid(p)
      out[#out + 1] = lines[1]
      for i = 2, #lines do out[#out + 1] = "  " .. lines[i] end
      out[#out + 1] = M.aligned(g.head, g.rows)
      out[#out + 1] = ""
   end
   return table.concat(out, "\n")
end

--- Markdown with a section per problem: the first caption line as a heading, the others as
-- paragraphs, then the grid as a pipe table.
function M.problems_markdown(problems, captions, grid)
   local out = {}
   for _, p in ipairs(problems) do
      local lines, g = captions(p), grid(p)
      out[#out + 1] = "### " .. lines[1]
      out[#out + 1] = ""
      for i = 2, #lines do
         out[#out + 1] = lines[i]
         out[#out + 1] = ""
      end
      out[#out + 1] = M.markdown_table(g.head, g.rows)
      out[#out + 1] = ""
   end
   return table.concat(out, "\n")
end

--- A measured value as a CSV cell, always as a float: "" for nil, "nan", else Python's repr
-- (deepobs.results.pyfloat: "2.0", "1e-05", "Infinity").
function M.csv_float(x)
   if x == nil then return "" end
   if x ~= x then return "nan" end
   return jsonw.pyfloat(x)
end

--- A number as a CSV cell: whole numbers without a decimal point ("3"), others as csv_float.
function M.csv_number(x)
   if x ~= nil and x == math.floor(x) and math.abs(x) < 2 ^ 53 then return ("%d"):format(x) end
   return M.csv_float(x)
end

--- One CSV cell: "" for nil, true / false, csv_number for numbers, text quoted (RFC 4180)
-- where it holds a comma, a quote or a line break.
function M.csv_field(v)
   if v == nil then return "" end
   if type(v) == "boolean" then return v and "true" or "false" end
   if type(v) == "number" then return M.csv_number(v) end
   v = tostring(v)
   if v:find('[,"\r\n]') then v = '"' .. v:gsub('"', '""') .. '"' end
   return v
end

--- One CSV line of the arguments (nil ones give empty cells), without the line break.
function M.csv_line(...)
   local f = {}
   for i = 1, select("#", ...) do f[i] = M.csv_field((select(i, ...))) end
   return table.concat(f, ",")
end

--- A number for deepobs.results' JSON writer: nil and NaN become null.
function M.jnum(x)
   if x == nil or x ~= x then return jsonw.null end
   return x
end

--- "adam (baseline)" / "adam": an optimizer row's name as the tables print it.
function M.optimizer_label(r) return r.optimizer .. (r.baseline and " (baseline)" or "") end

--- "quadratic_deep (P1 Quadratic Deep)" / "two_d_rosenbrock": a problem as captions name it.
function M.problem_label(p) return p.name .. (p.title and (" (" .. p.title .. ")") or "") end

return M
