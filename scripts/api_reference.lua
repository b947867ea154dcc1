-- scripts/api_reference.lua — the API reference in Markdown, made from the doc blocks of
-- every public entry (lua/deepobs/doc.lua: doc.reference), the text README.md's section
-- "API reference" holds (spec/api_docs_spec.lua checks that the two are equal).
--
--   luajit scripts/api_reference.lua                   -- prints it
--   luajit scripts/api_reference.lua --update-readme   -- writes it into README.md
local root = (arg and arg[0] or ""):match("^(.*)/scripts/[^/]*$") or "."
package.path = ("%s/lua/?.lua;%s/lua/?/init.lua;"):format(root, root) .. package.path

local BEGIN, END = "<!-- api-reference:begin -->", "<!-- api-reference:end -->"

local text = require("deepobs.doc").reference(require "deepobs")

if arg[1] == nil then
   io.write(text)
elseif arg[1] == "--update-readme" then
   local path = root .. "/README.md"
   local f = assert(io.open(path, "r"))
   local readme = f:read("*a")
   f:close()
   local a = readme:find(BEGIN, 1, true)
   local b = readme:find(END, 1, true)
   if not a or not b or b < a then
      io.stderr:write(("api_reference: %s has no %s ... %s section\n"):format(path, BEGIN, END))
      os.exit(1)
   end
   readme = readme:sub(1, a + #BEGIN - 1) .. "\n" .. text .. readme:sub(b)
   f = assert(io.open(path, "w"))
   f:write(readme)
   f:close()
else
   io.stderr:write("usage: luajit scripts/api_reference.lua [--update-readme]\n")
   os.exit(2)
end
