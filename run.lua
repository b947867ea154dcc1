-- run.lua — the DeepOBS command line (DeepOBS 1.1's run script):
--
--   luajit run.lua PROBLEM [--optimizer NAME_OR_PATH] [--lr X] [--bs N] [-N EPOCHS] [--<hyperparam> V ...]
--   luajit run.lua --list | --info PROBLEM | [--optimizer X] --help
--
-- The command line is lua/deepobs/cli.lua, the run lua/deepobs/runner.lua; results go to results/<problem>/<optimizer>/<setting>/.
-- the checkout's own modules first, wherever run.lua is started from
local root = (arg and arg[0] or ""):match("^(.*)/[^/]*$") or "."
package.path = ("%s/lua/?.lua;%s/lua/?/init.lua;%s/?.lua;%s/?/init.lua;"):format(root, root, root, root) .. package.path
-- loading reads the DEEPOBS_* environment variables and the C library: a mistake there is
-- one line on stderr (exit 2 for a variable's value, 1 otherwise), as any other error
local loaded, cli = pcall(require, "deepobs.cli")
if not loaded then
   local errors = require "deepobs.errors"
   io.stderr:write("run.lua: error: ", errors.clean(errors.describe(cli)), "\n")
   os.exit(errors.is_usage(cli) and 2 or 1)
end
local code = cli.main(arg)
io.stdout:flush()
os.exit(code)
