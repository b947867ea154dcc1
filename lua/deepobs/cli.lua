--- The command line of run.lua: DeepOBS 1.1's flags plus ours, --help, --list, --info,
-- and the exit status (0 done, 1 run error, 2 usage error, 130/143 interrupted).
--
--    local cli = require "deepobs.cli"
--    os.exit(cli.main(arg))
--    local opts = cli.parse_args{ "fmnist_2c2d", "--lr", "1e-3" }   -- runner.run's options
local errors = require "deepobs.errors"
-- DEEPOBS_DEBUG=1: errors keep their whole traceback
local DEBUG = require("deepobs.env").flag("DEEPOBS_DEBUG")
local interrupt = require "deepobs.interrupt"
local optim = require "deepobs.optim"
local problem_info = require "deepobs.problem_info"
local provenance = require "deepobs.provenance"
local resolve = require "deepobs.resolve"
local results = require "deepobs.results"
local runner = require "deepobs.runner"
local schedule = require "deepobs.schedule"
local suite = require "deepobs.suite"

local M = {}

local usage, PROG = errors.usage, resolve.PROG

-- runner flags: canonical key, kind, minimum
local FLAGS = {
   ["--optimizer"] = { "optimizer_arg", "string" }, -- the loaded table goes to o.optimizer
   ["--bs"] = { "batch_size", "int", 1 }, ["--batch_size"] = { "batch_size", "int", 1 },
   ["--lr"] = { "lr", "number" }, ["--learning_rate"] = { "lr", "number" },
   ["-N"] = { "num_epochs", "int", 0 }, ["--num_epochs"] = { "num_epochs", "int", 0 },
   ["--lr_sched_epochs"] = { "lr_sched_epochs", "int_list", 0 },
   ["--lr_sched_factors"] = { "lr_sched_factors", "number_list" },
   ["--lr_schedule"] = { "lr_schedule", "string" },
   ["--lr_min"] = { "lr_min", "number" },
   ["--restart_epochs"] = { "restart_epochs", "number" },
   ["--restart_mult"] = { "restart_mult", "number" },
   ["--trapezoid_warmup"] = { "trapezoid_warmup", "number" },
   ["--trapezoid_cooldown"] = { "trapezoid_cooldown", "number" },
   ["--warmup_epochs"] = { "warmup_epochs", "number" },
   ["--warmup_steps"] = { "warmup_steps", "int", 0 },
   ["-r"] = { "random_seed", "int" }, ["--random_seed"] = { "random_seed", "int" },
   ["--data_dir"] = { "data_dir", "string" },
   ["--problems_dir"] = { "problems_dir", "string" },
   ["--output_dir"] = { "output_dir", "string" },
   ["--train_log_interval"] = { "train_log_interval", "int", 1 },
   ["--print_train_iter"] = { "print_train_iter", "flag" },
   ["--no_logs"] = { "no_logs", "flag" },
   ["--deepobs_compat"] = { "deepobs_compat", "flag" },
   ["--validation"] = { "validation", "flag" },
   ["--weight_decay"] = { "weight_decay", "number" }, ["--wd"] = { "weight_decay", "number" },
   ["--threads"] = { "threads", "int", 1 },
   ["--resume"] = { "resume", "flag" },
   ["--keep_checkpoint"] = { "keep_checkpoint", "flag" },
   ["--checkpoint_every"] = { "checkpoint_every", "int", 0 },
   ["--checkpoint_minutes"] = { "checkpoint_minutes", "number" },
   ["--list"] = { "list", "flag" },
   ["--info"] = { "info", "flag" },
   ["--help"] = { "help", "flag" }, ["-h"] = { "help", "flag" },
}

-- the names a hyperparameter cannot take as --NAME (it gets --opt.NAME)
local RUNNER_NAMES = {}
for flag in pairs(FLAGS) do RUNNER_NAMES[flag:gsub("^%-+", "")] = true end

local HELP = [[
usage: luajit run.lua PROBLEM [--optimizer NAME_OR_PATH] [--lr X] [options] [--<hyperparam> VALUE ...]
       luajit run.lua SET [options]          (SET = small | large: each member in turn, see --list)
       luajit run.lua --list | --info PROBLEM | [--optimizer X] --help
       luajit run.lua sweep FILE.lua [...]   (many runs: see luajit run.lua sweep --help)
       luajit run.lua benchmark --optimizer X [...]  (DeepOBS's protocol: see benchmark --help)
       luajit run.lua analyze RESULTS_DIR [...]  (tables and the HTML report: see analyze --help)
       luajit run.lua repl   (an interactive prompt with dob loaded: see repl --help)
       luajit run.lua --version   (engine version, git commit, LuaJIT and BLAS)

Trains PROBLEM (a DeepOBS test problem, see --list) with an optimizer and writes a DeepOBS 1.1
result file <output_dir>/<problem>/<optimizer>/<setting>/random_seed__<N>__<date>.json.

  --optimizer NAME_OR_PATH   built-in optimizer (sgd, momentum, adam, ...) or a .lua file (default sgd)
  --lr, --learning_rate X    base learning rate (required unless the optimizer has a default)
  --bs, --batch_size N       batch size (default: the problem's)
  -N, --num_epochs N         training epochs (default: the problem's)
  -r, --random_seed N        random seed (default 42)
  --weight_decay, --wd X     weight decay (default: the problem's; named in the folder only if given)
  --validation               hold out DeepOBS 1.2's validation set from the training data and
                             evaluate it every epoch (valid_losses, valid_accuracies)
  --data_dir DIR             data folder (default $DEEPOBS_DATA_DIR, else ./data_deepobs)
  --problems_dir DIR         also look for problems in DIR (NAME.lua files, see README "Your own
                             problem"); $DEEPOBS_PROBLEMS_PATH lists such folders too
  --output_dir DIR           results folder (default results)
  --train_log_interval N     log the minibatch loss every N steps (default 10)
  --print_train_iter         print each logged minibatch loss
  --no_logs                  write no result file (and no checkpoints)
  --deepobs_compat           read the data as DeepOBS 1.1 did, bugs included (CIFAR-100's
                             off-by-one image bytes, SVHN's first 64,000 images), as its
                             baselines were trained
  --threads N                kernel and BLAS threads

Learning-rate schedules (the rate is set before every step):
%s

Checkpoints (random_seed__<N>.checkpoint in the setting folder, removed when the run ends):
  --resume                   continue this run (same problem, optimizer, setting, seed) from its
                             checkpoint; the result equals the uninterrupted run's, number for number
  --checkpoint_every N       write one after every N-th epoch's evaluation (default 1; 0: never)
  --checkpoint_minutes M     and every M minutes inside an epoch (default 10; 0: never)
  --keep_checkpoint          keep the run's final state when it ends
  SIGINT (Ctrl-C) and SIGTERM (what SLURM sends before preemption) finish the current step,
  write a checkpoint, print the command that resumes the run and exit with 130 / 143; a
  second Ctrl-C stops at once.

  --list                     the test problems with their dataset and defaults, and the benchmark sets
  --info PROBLEM             the problem's layers, output shapes and parameter counts
  --help                     this text; with --optimizer X, the optimizer's hyperparameters

The optimizer's hyperparameters are flags too: --momentum 0.99, --use_nesterov (or
--use_nesterov false); --opt.NAME also works, and is the form for a hyperparameter named like
a runner flag (AdamW's --opt.weight_decay; --weight_decay is the problem's L2 factor).
Bad arguments exit with status 2; DEEPOBS_DEBUG=1 shows the full traceback of an error.]]

local function usage_hint() return ("; see %s --help"):format(PROG) end

local function parse_number(flag, v, integer)
   local x = tonumber(v)
   if x == nil or x ~= x or x == math.huge or x == -math.huge then
      usage(("%s needs a%s, got '%s'%s"):format(flag, integer and "n integer" or " number", tostring(v), usage_hint()))
   end
   if integer and x ~= math.floor(x) then
      usage(("%s needs an integer, got '%s'%s"):format(flag, v, usage_hint()))
   end
   return x
end

-- looks like a flag (and not a negative number)
local function is_flag(a) return a ~= nil and a:sub(1, 1) == "-" and tonumber(a) == nil and #a > 1 end

-- the --optimizer value, found before the other flags (its hyperparameters are flags too)
local function optimizer_arg(argv)
   local name
   for i = 1, #argv do
      if argv[i] == "--optimizer" then
         name = argv[i + 1]
         if name == nil or is_flag(name) then usage("--optimizer needs a value: a built-in name or a path to a .lua file") end
      elseif argv[i]:match("^%-%-optimizer=") then
         name = argv[i]:match("^%-%-optimizer=(.*)$")
      end
   end
   return name
end

local function hyperparameter_flags(optimizer)
   local flags = {}
   for _, h in ipairs(optimizer and optimizer.hyperparams or {}) do
      if h.name ~= "lr" then
         flags["--opt." .. h.name] = h
         if not RUNNER_NAMES[h.name] then flags["--" .. h.name] = h end
      end
   end
   return flags
end

local function unknown_flag(flag, optimizer, hp_flags)
   local hint = usage_hint()
   if optimizer then
      local names = {}
      for f, h in pairs(hp_flags) do
         if f == "--" .. h.name or RUNNER_NAMES[h.name] then names[#names + 1] = f end
      end
      table.sort(names)
      hint = ("; optimizer %s takes %s%s"):format(optimizer.name,
         #names > 0 and table.concat(names, ", ") or "no other flags", hint)
   end
   usage(("unknown flag %s%s"):format(flag, hint))
end

--- Parses the command line (a list of strings). Returns opts for runner.run, plus
-- opts.list / opts.info / opts.help. Raises usage errors. optimizer_loader(name) (default:
-- deepobs.resolve's) gives the --optimizer's table and source path, whose hyperparameters
-- become flags.
function M.parse_args(argv, optimizer_loader)
   optimizer_loader = optimizer_loader or resolve.load_optimizer
   argv = argv or {}
   local opt_name = optimizer_arg(argv)
   local help_only = false
   for i = 1, #argv do
      if argv[i] == "--list" or argv[i] == "--help" or argv[i] == "-h" or argv[i] == "--info" then help_only = true end
   end
   local optimizer, optimizer_path
   if opt_name or not help_only then optimizer, optimizer_path = optimizer_loader(opt_name or "sgd") end
   local hp_flags = hyperparameter_flags(optimizer)

   local o = { hyperparams = {}, optimizer = optimizer, optimizer_path = optimizer_path,
      optimizer_given = opt_name ~= nil }
   local seen = {}
   local i = 1
   while i <= #argv do
      local a = argv[i]
      local flag, inline = a:match("^(%-%-?[%w_.]+)=(.*)$")
      flag = flag or a
      local spec, h = FLAGS[flag], hp_flags[flag]
      local function value()
         if inline ~= nil then return inline end
         local v = argv[i + 1]
         if v == nil or is_flag(v) then usage(("%s needs a value%s"):format(flag, usage_hint())) end
         i = i + 1
         return v
      end
      if spec then
         local key, kind, min = spec[1], spec[2], spec[3]
         if seen[key] and kind ~= "flag" then usage(("%s is given twice"):format(flag)) end
         seen[key] = true
         if kind == "flag" then
            if inline ~= nil then usage(("%s takes no value"):format(flag)) end
            o[key] = true
         elseif kind == "string" then
            o[key] = value()
         elseif kind == "int" or kind == "number" then
            local x = parse_number(flag, value(), kind == "int")
            if min and x < min then usage(("%s must be at least %d, got %s"):format(flag, min, tostring(x))) end
            o[key] = x
         else -- lists (nargs +)
            local list = {}
            local integer = kind == "int_list"
            if inline ~= nil then
               for v in inline:gmatch("[^,%s]+") do list[#list + 1] = parse_number(flag, v, integer) end
            else
               while argv[i + 1] ~= nil and not is_flag(argv[i + 1]) and tonumber(argv[i + 1]) ~= nil do
                  list[#list + 1] = parse_number(flag, argv[i + 1], integer)
                  i = i + 1
               end
            end
            if #list == 0 then usage(("%s needs one or more numbers%s"):format(flag, usage_hint())) end
            if min then
               for _, x in ipairs(list) do
                  if x < min then usage(("%s values must be at least %d"):format(flag, min)) end
               end
            end
            o[key] = list
         end
      elseif h then
         if o.hyperparams[h.name] ~= nil then usage(("%s is given twice"):format(flag)) end
         local text
         if h.type == "boolean" and inline == nil then
            -- a bare boolean flag means true; a following true/false word is its value
            local nxt = argv[i + 1]
            if nxt and optim.BOOL_WORDS[nxt:lower()] ~= nil then text = nxt; i = i + 1 else text = "true" end
         else
            text = value()
         end
         local v, msg = optim.coerce(h, text)
         if v == nil then usage(msg:gsub("^%-%-" .. h.name, flag) .. usage_hint()) end
         o.hyperparams[h.name] = v
      elseif is_flag(a) then
         unknown_flag(flag, optimizer, hp_flags)
      else
         if o.problem then
            usage(("unexpected argument '%s' (the problem is already '%s')%s"):format(a, o.problem, usage_hint()))
         end
         o.problem = a
      end
      i = i + 1
   end
   return o
end

-- a number as the shortest text that reads back to the same double
local function number_text(x)
   if x == math.floor(x) and math.abs(x) < 2 ^ 53 then return ("%d"):format(x) end
   return results.pyfloat(x)
end

-- the flag that writes option key (the long form)
local FLAG_OF = {}
for flag, spec in pairs(FLAGS) do
   local key = spec[1] == "optimizer_arg" and "optimizer" or spec[1]
   if not FLAG_OF[key] or #flag > #FLAG_OF[key] then FLAG_OF[key] = flag end
end
FLAG_OF.lr = "--lr"

--- The arguments (a list of strings) that parse_args reads back into opts: problem first,
-- then each option by its long flag (numbers exact), hyperparameters as --opt.NAME.
-- opts.optimizer must be a name or a path here.
function M.to_argv(opts)
   local argv = { opts.problem }
   local keys = {}
   for k in pairs(opts) do
      if k ~= "problem" and k ~= "hyperparams" then
         if not FLAG_OF[k] then error("to_argv: no flag for option " .. tostring(k), 2) end
         keys[#keys + 1] = k
      end
   end
   table.sort(keys)
   for _, k in ipairs(keys) do
      local v, flag = opts[k], FLAG_OF[k]
      local kind = FLAGS[flag][2]
      if kind == "flag" then
         if v then argv[#argv + 1] = flag end
      elseif type(v) == "table" then
         argv[#argv + 1] = flag
         for _, x in ipairs(v) do argv[#argv + 1] = number_text(x) end
      else
         argv[#argv + 1] = flag
         argv[#argv + 1] = type(v) == "number" and number_text(v) or tostring(v)
      end
   end
   local names = {}
   for k in pairs(opts.hyperparams or {}) do names[#names + 1] = k end
   table.sort(names)
   for _, k in ipairs(names) do
      local v = opts.hyperparams[k]
      argv[#argv + 1] = "--opt." .. k
      argv[#argv + 1] = type(v) == "number" and number_text(v) or tostring(v)
   end
   return argv
end

local function optimizer_help(optimizer)
   return optim.describe(optimizer, function(h)
      return (h.name ~= "lr" and RUNNER_NAMES[h.name] and "--opt." or "--") .. h.name
   end)
end

-- the command that continues this run: the same command line with --resume
local function resume_command(o)
   local cmd = provenance.command_line()
   if o.resume then return cmd end
   return cmd .. " --resume"
end

local function run_command(o)
   if not o.problem then usage("no test problem given; usage: " .. PROG .. " PROBLEM --lr X (try --list)") end
   local run_opts = {}
   for k, v in pairs(o) do run_opts[k] = v end
   run_opts.handle_signals = true
   run_opts.resume_command = resume_command(o)
   local set = runner.benchmark_set(o.problem)
   if not set then
      runner.run(run_opts)
      return
   end
   local res = runner.run_set(o.problem, run_opts)
   if #res.failed > 0 then
      local names = {}
      for i, f in ipairs(res.failed) do names[i] = f[1] end
      error(("%d of the set's problems failed: %s"):format(#res.failed, table.concat(names, ", ")), 0)
   end
end

-- the subcommands: `luajit run.lua sweep ...`, `luajit run.lua benchmark ...`, `luajit run.lua repl`
local SUBCOMMANDS = { sweep = "deepobs.sweep", benchmark = "deepobs.benchmark", repl = "deepobs.repl",
   analyze = "deepobs.analyzer.cli" }

-- a subcommand's main(argv) returns the exit status, or nil and the signal that stopped it
local function subcommand(name, argv)
   local rest = {}
   for i = 2, #argv do rest[#rest + 1] = argv[i] end
   local mod = require(SUBCOMMANDS[name])
   if mod.PROG then mod.PROG = PROG .. " " .. name end   -- as the user typed it
   local status, sig = mod.main(rest)
   if sig then
      io.stdout:flush()
      interrupt.exit(sig)
   end
   return status
end

--- The command line. Returns the exit status (0 ok, 1 run error, 2 usage error); an
-- interrupted run ends the process as its signal would (130 for SIGINT, 143 for SIGTERM).
function M.main(argv)
   local out = io.stdout
   local name = PROG:match("(%S+)$")
   local function fail(code, msg)
      out:flush()
      io.stderr:write(name, ": error: ", resolve.prog_text(msg), "\n")
      return code
   end
   local ok, res = xpcall(function()
      for _, a in ipairs(argv or {}) do
         if a == "--version" then
            out:write(provenance.version_text(), "\n")
            return 0
         end
      end
      if argv and SUBCOMMANDS[argv[1]] then return subcommand(argv[1], argv) end
      -- no arguments at a terminal: the REPL, as `th` and `python` start one
      if (argv == nil or #argv == 0) and require("deepobs.repl.readline").interactive() then
         return subcommand("repl", { "repl" })
      end
      local o = M.parse_args(argv)
      if o.problems_dir then suite.add_problem_dir(o.problems_dir) end
      if o.help then
         out:write(resolve.prog_text(HELP:format(table.concat(schedule.HELP, "\n"))), "\n")
         if o.optimizer and o.optimizer_given then out:write("\n", optimizer_help(o.optimizer), "\n") end
      elseif o.list then
         problem_info.list(out)
      elseif o.info then
         if not o.problem then usage("--info needs a problem name, e.g. --info fmnist_2c2d") end
         problem_info.info(o.problem, o, out)
      else
         run_command(o)
      end
      return 0
   end, function(e)
      if errors.is_usage(e) or errors.is_interrupted(e) then return e end
      if DEBUG then return debug.traceback(errors.describe(e), 2) end
      return e
   end)
   out:flush()
   if ok then return res end
   if errors.is_usage(res) then return fail(2, res.msg) end
   if errors.is_interrupted(res) then
      io.stderr:write(name, ": ", resolve.prog_text(res.msg), "\n")
      interrupt.exit(res.signal)
   end
   if type(res) == "string" and res:match("interrupted!$") then
      -- LuaJIT's own Ctrl-C handling, outside training (loading data, writing results)
      io.stderr:write(name, ": interrupted before training started or after it ended; nothing to save\n")
      interrupt.exit(2)
   end
   return fail(1, errors.clean(errors.describe(res)))
end

return M
