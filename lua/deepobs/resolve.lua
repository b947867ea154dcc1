--- From what was asked (runner.run's options, or the parsed command line) to a checked
-- description of one run. Every usage error is raised here, before any data are read or
-- any folder is made: a wrong flag costs a second, not an epoch.
--
--    local resolve = require "deepobs.resolve"
--    local run = resolve.run{ problem = "fmnist_2c2d", optimizer = "adam", lr = 1e-3, num_epochs = 2 }
--    run.problem, run.optimizer, run.hp, run.schedule, run.run_dir, run.file_name, ...
local errors = require "deepobs.errors"
local files = require "deepobs.files"
local optim = require "deepobs.optim"
local results = require "deepobs.results"
local schedule = require "deepobs.schedule"
local suite = require "deepobs.suite"

local M = {}

local usage, clean = errors.usage, errors.clean
-- the command as users type it: "luajit run.lua" in a checkout, "deepobs" where the
-- installed command (scripts/deepobs.in) set DEEPOBS_PROG
local prog = os.getenv("DEEPOBS_PROG")
M.PROG = (prog and prog:match("%S")) and prog or "luajit run.lua"

--- text (help, messages) with "luajit run.lua" written as this process's command (M.PROG).
function M.prog_text(text)
   return (text:gsub("luajit run%.lua", (M.PROG:gsub("%%", "%%%%"))))
end

local function module_missing(err, name)
   return tostring(err):find("module '" .. name:gsub("%p", "%%%0") .. "' not found", 1) ~= nil
end

-- a name that becomes a folder of the results tree must stay inside --output_dir
local function check_folder_name(kind, name, where)
   if not name:match("^[%w_.+-]+$") or name:match("^%.") then
      usage(("%s %s: its name %q becomes a results folder: use letters, digits and _ . + - only, "
         .. "not starting with a dot (it must stay inside --output_dir)"):format(kind, where, name))
   end
end

local function check_problem(p, where)
   local function bad(what) usage(("problem %s: %s"):format(where, what)) end
   if type(p) ~= "table" then bad("does not return a table") end
   if type(p.name) ~= "string" or p.name == "" then bad("needs a string field 'name'") end
   if type(p.build) ~= "function" then bad("needs a function build(opts)") end
   if type(p.forward) ~= "function" then bad("needs a function forward(model, batch, phase)") end
   if p.dataset == nil then bad("needs a field 'dataset' (a datasets/<name>.lua module name)") end
   if (p.get_carried == nil) ~= (p.set_carried == nil) then
      bad("defines one of get_carried/set_carried without the other")
   end
   check_folder_name("problem", p.name, where)
   return p
end

--- A problem table from a name, a path to a .lua file, or a table.
function M.load_problem(p)
   if type(p) == "table" then return check_problem(p, p.name or "(table)") end
   if type(p) ~= "string" or p == "" then usage("no test problem given (try: " .. M.PROG .. " --list)") end
   if p:match("%.lua$") then
      local chunk, err = loadfile(p)
      if not chunk then usage("cannot load the problem file " .. p .. ": " .. clean(err)) end
      return check_problem(chunk(), p)
   end
   suite.use()
   local ok, problems = pcall(require, "problems")
   if ok and type(problems) == "table" and type(problems.get) == "function" then
      local gok, res = pcall(problems.get, p)
      if not gok then usage(clean(res)) end
      return check_problem(res, p)
   elseif not ok and not module_missing(problems, "problems") then
      error(problems, 0)
   end
   -- no problems/init.lua: try the module itself
   local mok, mod = pcall(require, "problems." .. p)
   if not mok then
      if module_missing(mod, "problems." .. p) then
         usage(("unknown test problem '%s' (no problems/%s.lua; try: %s --list)"):format(p, p, M.PROG))
      end
      error(mod, 0)
   end
   return check_problem(mod, p)
end

--- An optimizer table and the path of its source file (nil for a table) from a built-in
-- name, a path to a .lua file, or a table.
function M.load_optimizer(o)
   if o ~= nil and type(o) ~= "table" and (type(o) ~= "string" or o == "") then
      usage("--optimizer needs a name or a path to a .lua file")
   end
   local ok, opt, path = pcall(optim.load, o)
   if not ok then
      if errors.is_usage(opt) then error(opt, 0) end
      usage(clean(opt))
   end
   return opt, path
end

---------------------------------------------------------------------------------------
-- values

local function is_int(x) return type(x) == "number" and x == math.floor(x) and x == x and math.abs(x) < 2 ^ 53 end

local function check_int(flag, v, lo, hi)
   if not is_int(v) then usage(("%s needs an integer, got %s"):format(flag, tostring(v))) end
   if v < lo then usage(("%s must be at least %d, got %d"):format(flag, lo, v)) end
   if hi and v > hi then usage(("%s must be at most %d, got %d"):format(flag, hi, v)) end
   return v
end

local function check_number(flag, v, lo)
   if type(v) ~= "number" or v ~= v or v == math.huge or v == -math.huge then
      usage(("%s needs a finite number, got %s"):format(flag, tostring(v)))
   end
   if lo and v < lo then usage(("%s must be at least %s, got %s"):format(flag, tostring(lo), tostring(v))) end
   return v
end

local is_dir = files.is_dir

-- --data_dir, else $DEEPOBS_DATA_DIR: a folder named but missing is a mistake, never a
-- reason to read some other copy of the data
local function check_data_dir(data_dir)
   if data_dir ~= nil then
      if type(data_dir) ~= "string" or data_dir == "" then usage("--data_dir needs a folder") end
      if not is_dir(data_dir) then
         usage(("--data_dir %s does not exist (give the folder that holds the datasets, e.g. data_deepobs)")
            :format(data_dir))
      end
      return
   end
   local env = os.getenv("DEEPOBS_DATA_DIR")
   if env and env ~= "" and not is_dir(env) then
      usage(("DEEPOBS_DATA_DIR=%s does not exist (set it to the folder that holds the datasets, or unset it)")
         :format(env))
   end
end

-- the optimizer's hyperparameters: given (name -> value) with defaults, checked by the
-- optimizer's own declarations; returns hp and the ordered list of the non-lr ones
local function hyperparameters(optimizer, opts)
   local given = {}
   for k, v in pairs(opts.hyperparams or {}) do given[k] = v end
   local lr = opts.lr or opts.learning_rate
   if lr ~= nil then given.lr = lr end
   local ok, hp = pcall(optim.hyperparams, optimizer, given)
   if not ok then
      local msg = clean(hp):gsub("^optimizer: ", "")
      if msg:find("has no hyperparameter", 1, true) then
         msg = msg .. (" (%s --optimizer ... --help lists them)"):format(M.PROG)
      end
      usage("optimizer " .. msg)
   end
   if hp.lr == nil then usage(("optimizer %s needs a learning rate: add --lr X"):format(optimizer.name)) end
   local list, types = {}, {}
   for _, h in ipairs(optimizer.hyperparams) do
      types[h.name] = h.type
      if h.name ~= "lr" then list[#list + 1] = { h.name, hp[h.name], h.type } end
   end
   return hp, list, types
end

local function make_schedule(opts, lr, num_epochs)
   return schedule.new {
      name = opts.lr_schedule, lr = lr, num_epochs = num_epochs,
      lr_sched_epochs = opts.lr_sched_epochs, lr_sched_factors = opts.lr_sched_factors,
      lr_min = opts.lr_min, restart_epochs = opts.restart_epochs, restart_mult = opts.restart_mult,
      trapezoid_warmup = opts.trapezoid_warmup, trapezoid_cooldown = opts.trapezoid_cooldown,
      warmup_epochs = opts.warmup_epochs, warmup_steps = opts.warmup_steps,
   }
end

---------------------------------------------------------------------------------------
-- the run

--- A checked run from runner.run's options (see runner.lua for the list). Raises usage
-- errors; reads no data and writes nothing.
function M.run(opts)
   opts = opts or {}
   local problem = M.load_problem(opts.problem)
   local optimizer, optimizer_path = M.load_optimizer(opts.optimizer or "sgd")
   if opts.optimizer_path ~= nil then optimizer_path = opts.optimizer_path end
   local hp, hp_list, hp_types = hyperparameters(optimizer, opts)

   local batch_size = opts.batch_size or problem.batch_size
   local num_epochs = opts.num_epochs or problem.num_epochs
   if batch_size == nil then usage(("problem %s has no default batch size: add --bs N"):format(problem.name)) end
   if num_epochs == nil then usage(("problem %s has no default number of epochs: add -N N"):format(problem.name)) end
   check_int("--bs", batch_size, 1)
   check_int("-N", num_epochs, 0)
   local seed = check_int("--random_seed", opts.random_seed or 42, 0, 2 ^ 31 - 1)
   local interval = check_int("--train_log_interval", opts.train_log_interval or 10, 1)
   if opts.threads ~= nil then check_int("--threads", opts.threads, 1, 1024) end
   if opts.weight_decay ~= nil then check_number("--weight_decay", opts.weight_decay, 0) end
   local wd_effective = opts.weight_decay
   if wd_effective == nil then wd_effective = problem.weight_decay end
   local sched = make_schedule(opts, hp.lr, num_epochs)

   local output_dir = opts.output_dir or "results"
   if type(output_dir) ~= "string" or output_dir == "" then
      usage("--output_dir needs a folder name (it is empty)")
   end
   check_folder_name("optimizer", optimizer.name, optimizer_path or optimizer.name)
   check_data_dir(opts.data_dir)
   local checkpoint_every = check_int("--checkpoint_every", opts.checkpoint_every or 1, 0)
   local checkpoint_minutes = check_number("--checkpoint_minutes", opts.checkpoint_minutes or 10, 0)
   if opts.resume and opts.no_logs then
      usage("--resume needs the run's folder: it cannot be combined with --no_logs")
   end

   local hp_other = {}
   for _, h in ipairs(hp_list) do hp_other[h[1]] = h[2] end
   local folder = results.setting_folder {
      num_epochs = num_epochs, batch_size = batch_size, weight_decay = opts.weight_decay,
      hyperparams = hp_other, hp_types = hp_types, lr = hp.lr,
      lr_sched_epochs = opts.lr_sched_epochs, lr_sched_factors = opts.lr_sched_factors,
      validation = opts.validation, schedule_suffix = sched:folder_suffix(),
   }
   local run_dir = ("%s/%s/%s/%s"):format(output_dir, problem.name, optimizer.name, folder)
   local start_time = opts.time or os.time()
   return {
      problem = problem, optimizer = optimizer, optimizer_path = optimizer_path,
      hp = hp, hp_list = hp_list, lr = hp.lr, schedule = sched,
      batch_size = batch_size, num_epochs = num_epochs, seed = seed, train_log_interval = interval,
      weight_decay = opts.weight_decay, wd_effective = wd_effective,
      lr_sched_epochs = opts.lr_sched_epochs, lr_sched_factors = opts.lr_sched_factors,
      validation = opts.validation and true or false, deepobs_compat = opts.deepobs_compat and true or false,
      threads = opts.threads, data_dir = opts.data_dir, dataset = opts.dataset,
      output_dir = output_dir, folder = folder, run_dir = run_dir,
      start_time = start_time, file_name = results.file_name(seed, start_time),
      no_logs = opts.no_logs and true or false, resume = opts.resume and true or false,
      keep_checkpoint = opts.keep_checkpoint and true or false,
      checkpoint_every = checkpoint_every, checkpoint_minutes = checkpoint_minutes,
      print_train_iter = opts.print_train_iter and true or false,
      resume_command = opts.resume_command,
   }
end

return M
