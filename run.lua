-- run.lua — the DeepOBS command line (DeepOBS 1.1's run script):
--
--   luajit run.lua PROBLEM [--optimizer NAME_OR_PATH] [--lr X] [--bs N] [-N EPOCHS] [--<hyperparam> V ...]
--   luajit run.lua --list | --info PROBLEM | [--optimizer X] --help
--
-- The command line is lua/deepobs/cli.lua, the run lua/deepobs/runner.lua; results go to results/<problem>/<optimizer>/<setting>/.
-- the checkout's own modules first, wherever run.lua is started from
local root = (arg and arg[0] or ""):match("^(.*)/[^/]*$") or "."
package.path = ("%s/lua/?.lua;%s/lua/?/init.lua;%s/?.lua;%s/?/init.lua;"):format(root, root, root, root) .. package.path
local code = require("deepobs.cli").main(arg)
io.stdout:flush()
os.exit(code)
