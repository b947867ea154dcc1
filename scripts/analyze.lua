-- scripts/analyze.lua — the DeepOBS analyzer's command line in a checkout (installed:
-- `deepobs analyze`); the code and its --help are lua/deepobs/analyzer/cli.lua.
--
--   luajit scripts/analyze.lua RESULTS_DIR [--baselines DIR] [--out DIR] [options]
--   luajit scripts/analyze.lua --version
local root = (arg and arg[0] or ""):match("^(.*)/scripts/[^/]*$") or "."
package.path = ("%s/lua/?.lua;%s/lua/?/init.lua;%s/?.lua;%s/?/init.lua;"):format(root, root, root, root) .. package.path
for _, a in ipairs(arg) do
   if a == "--version" then   -- the engine's, as every deepobs command prints it
      io.stdout:write(require("deepobs.provenance").version_text(), "\n")
      os.exit(0)
   end
end
os.exit(require("deepobs.analyzer.cli").main(arg))
