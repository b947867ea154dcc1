--- The DeepOBS runner (TF DeepOBS 1.1 protocol and output, 1.2 divergence handling).
--
--    local runner = require "deepobs.runner"
--    local res = runner.run{ problem = "fmnist_2c2d", optimizer = "momentum", lr = 0.01,
--                            hyperparams = { momentum = 0.9 }, num_epochs = 2 }
--    res.train_losses, res.test_accuracies, res.path  -- path of the JSON file (nil with no_logs)
--
-- problem and optimizer may be names (problems/<name>.lua, deepobs/optim/<name>.lua, or a
-- path to a .lua file) or the tables themselves. runner.main(arg) is the command line
-- (run.lua). See README.md "Running DeepOBS" and the shared brief for the interfaces.
local dob = require "deepobs"
local results = require "deepobs.results"
local ffi = require "ffi"

local M = {}

local PROG = "luajit run.lua"
local isfinite = function(x) return x == x and x ~= math.huge and x ~= -math.huge end

---------------------------------------------------------------------------------------
-- errors: usage errors (exit 2) and run errors (exit 1) carry a clean message

local UsageError = {}
UsageError.__index = UsageError
UsageError.__tostring = function(e) return e.msg end

local function usage_error(msg) error(setmetatable({ msg = msg, usage = true }, UsageError), 0) end
M.usage_error = usage_error

local function is_usage_error(e) return getmetatable(e) == UsageError end
M.is_usage_error = is_usage_error

-- "path/x.lua:12: message" -> "message"
local function clean(msg)
   msg = tostring(msg)
   msg = msg:gsub("^[^\n:]*%.lua:%d+: ", "")
   return msg
end

---------------------------------------------------------------------------------------
-- clocks and terminals

pcall(ffi.cdef, [[
   typedef struct { long tv_sec; long tv_nsec; } dob_runner_timespec;
   int clock_gettime(int clk, dob_runner_timespec *ts);
   int isatty(int fd);
]])
local ts = ffi.new("dob_runner_timespec")
local function now()
   ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
   return tonumber(ts.tv_sec) + tonumber(ts.tv_nsec) * 1e-9
end
M.now = now

local function stderr_is_tty()
   local ok, r = pcall(function() return ffi.C.isatty(2) == 1 end)
   return ok and r
end

local function cpu_model()
   local f = io.open("/proc/cpuinfo", "r")
   if not f then return nil end
   for line in f:lines() do
      local m = line:match("^model name%s*:%s*(.-)%s*$")
      if m then f:close(); return m end
   end
   f:close()
   return nil
end

---------------------------------------------------------------------------------------
-- loading problems, datasets, optimizers

local function module_missing(err, name)
   return tostring(err):find("module '" .. name:gsub("%p", "%%%0") .. "' not found", 1) ~= nil
end

local function check_problem(p, where)
   local function bad(what) usage_error(("problem %s: %s"):format(where, what)) end
   if type(p) ~= "table" then bad("does not return a table") end
   if type(p.name) ~= "string" then bad("needs a string field 'name'") end
   if type(p.build) ~= "function" then bad("needs a function build(opts)") end
   if type(p.forward) ~= "function" then bad("needs a function forward(model, batch, phase)") end
   if p.dataset == nil then bad("needs a field 'dataset' (a datasets/<name>.lua module name)") end
   return p
end

--- A problem table from a name, a path to a .lua file, or a table.
function M.load_problem(p)
   if type(p) == "table" then return check_problem(p, p.name or "(table)") end
   if type(p) ~= "string" or p == "" then usage_error("no test problem given (try: " .. PROG .. " --list)") end
   if p:match("%.lua$") then
      local chunk, err = loadfile(p)
      if not chunk then usage_error("cannot load the problem file " .. p .. ": " .. clean(err)) end
      return check_problem(chunk(), p)
   end
   local ok, problems = pcall(require, "problems")
   if ok and type(problems) == "table" and type(problems.get) == "function" then
      local gok, res = pcall(problems.get, p)
      if not gok then usage_error(clean(res)) end
      return check_problem(res, p)
   elseif not ok and not module_missing(problems, "problems") then
      error(problems, 0)
   end
   -- no problems/init.lua: try the module itself
   local mok, mod = pcall(require, "problems." .. p)
   if not mok then
      if module_missing(mod, "problems." .. p) then
         usage_error(("unknown test problem '%s' (no problems/%s.lua; try: %s --list)"):format(p, p, PROG))
      end
      error(mod, 0)
   end
   return check_problem(mod, p)
end

local HP_TYPES = { number = true, integer = true, boolean = true, string = true }
M.RUNNER_FLAGS = {
   "optimizer", "bs", "batch_size", "learning_rate", "num_epochs", "lr_sched_epochs",
   "lr_sched_factors", "random_seed", "data_dir", "output_dir", "train_log_interval",
   "print_train_iter", "no_logs", "deepobs_compat", "weight_decay", "wd", "threads", "list", "info", "help",
}
local RUNNER_FLAG_SET = {}
for _, k in ipairs(M.RUNNER_FLAGS) do RUNNER_FLAG_SET[k] = true end

local function check_optimizer(o, where)
   local function bad(what) usage_error(("optimizer %s: %s"):format(where, what)) end
   if type(o) ~= "table" then bad("does not return a table") end
   if type(o.name) ~= "string" or o.name == "" then bad("needs a string field 'name' (the output folder name)") end
   if type(o.step) ~= "function" then bad("needs a function step(closure, params, hp, state)") end
   if o.hyperparams ~= nil and type(o.hyperparams) ~= "table" then bad("'hyperparams' must be a list") end
   for i, h in ipairs(o.hyperparams or {}) do
      if type(h) ~= "table" or type(h.name) ~= "string" or not h.name:match("^[%a_][%w_]*$") then
         bad(("hyperparameter %d needs a name made of letters, digits and _"):format(i))
      end
      if not HP_TYPES[h.type or ""] then
         bad(("hyperparameter '%s' has type '%s'; use number, integer, boolean or string"):format(h.name, tostring(h.type)))
      end
   end
   return o
end

--- An optimizer table from a built-in name, a path to a .lua file, or a table.
function M.load_optimizer(o)
   if type(o) == "table" then return check_optimizer(o, o.name or "(table)") end
   if type(o) ~= "string" or o == "" then usage_error("--optimizer needs a name or a path to a .lua file") end
   local optim = require "deepobs.optim"
   if type(optim.load) == "function" then
      local ok, res = pcall(optim.load, o)
      if not ok then
         if is_usage_error(res) then error(res, 0) end
         usage_error(clean(res))
      end
      return check_optimizer(res, o)
   end
   -- deepobs.optim without load(): a path, or the module deepobs.optim.<name>
   if o:match("%.lua$") or o:find("/", 1, true) then
      local chunk, err = loadfile(o)
      if not chunk then usage_error("cannot load the optimizer file " .. o .. ": " .. clean(err)) end
      return check_optimizer(chunk(), o)
   end
   local ok, mod = pcall(require, "deepobs.optim." .. o)
   if not ok then
      if module_missing(mod, "deepobs.optim." .. o) then
         usage_error(("unknown optimizer '%s' (give a built-in name or a path to a .lua file)"):format(o))
      end
      error(mod, 0)
   end
   return check_optimizer(mod, o)
end

local function load_dataset(problem, opts)
   if opts.dataset then return opts.dataset end
   local d = problem.dataset
   local mod
   if type(d) == "table" then
      if d.train then return d end -- already loaded
      mod = d
   else
      local ok, res = pcall(require, "datasets." .. tostring(d))
      if not ok then
         if module_missing(res, "datasets." .. tostring(d)) then
            error(("problem %s needs the dataset module datasets/%s.lua, which is missing"):format(problem.name, tostring(d)), 0)
         end
         error(res, 0)
      end
      mod = res
   end
   -- seed: the shuffle that train_eval takes its first batches from (as 1.1 took them from training)
   local lopts = { data_dir = opts.data_dir, batch_size = opts.batch_size, seed = opts.seed,
      deepobs_compat = opts.deepobs_compat }
   for k, v in pairs(problem.dataset_opts or {}) do lopts[k] = v end
   local ds = mod.load(lopts)
   for _, s in ipairs { "train", "train_eval", "test" } do
      if not ds[s] then error(("dataset %s has no '%s' split"):format(tostring(d), s), 0) end
   end
   return ds
end

---------------------------------------------------------------------------------------
-- learning-rate schedule (DeepOBS make_lr_schedule)

--- {[0] = lr, [e_i] = f_i * lr}; factors multiply the base lr.
function M.make_lr_schedule(lr, epochs, factors)
   if epochs == nil and factors == nil then return { [0] = lr } end
   if type(epochs) ~= "table" or type(factors) ~= "table" then
      usage_error("give both --lr_sched_epochs and --lr_sched_factors, or neither")
   end
   if #epochs ~= #factors then
      usage_error(("--lr_sched_epochs has %d values and --lr_sched_factors %d; give one factor per epoch")
         :format(#epochs, #factors))
   end
   local s = { [0] = lr }
   for i, e in ipairs(epochs) do s[e] = factors[i] * lr end
   return s
end

--- The learning rate in force during each training epoch 0..num_epochs-1.
function M.lr_per_epoch(lr, epochs, factors, num_epochs)
   local s = M.make_lr_schedule(lr, epochs, factors)
   local out, cur = {}, lr
   for n = 0, num_epochs - 1 do
      if s[n] then cur = s[n] end
      out[n + 1] = cur
   end
   return out
end

---------------------------------------------------------------------------------------
-- hyperparameters

local function check_value(h, v, flag)
   local t = h.type
   local ok
   if t == "number" then ok = type(v) == "number"
   elseif t == "integer" then ok = type(v) == "number" and v == math.floor(v)
   elseif t == "boolean" then ok = type(v) == "boolean"
   else ok = type(v) == "string" end
   if not ok then
      usage_error(("%s needs a%s %s, got %s"):format(flag, t == "integer" and "n" or "", t, tostring(v)))
   end
end

--- Fills hyperparameters: given values, then defaults; errors for missing
-- required ones and unknown names. Returns hp (name -> value).
function M.resolve_hyperparams(optimizer, given)
   local hp, known = {}, {}
   for _, h in ipairs(optimizer.hyperparams or {}) do
      known[h.name] = true
      local v = given[h.name]
      if v == nil then v = h.default end
      if v == nil then
         if h.name == "lr" then
            usage_error(("optimizer %s needs a learning rate: add --lr X"):format(optimizer.name))
         end
         usage_error(("optimizer %s needs --%s (%s%s)"):format(optimizer.name, h.name, h.type,
            h.help and (": " .. h.help) or ""))
      end
      check_value(h, v, "--" .. h.name)
      hp[h.name] = v
   end
   for k, v in pairs(given) do
      if not known[k] then
         if k == "lr" then hp.lr = v -- an optimizer without a declared lr still gets the runner's lr
         else
            usage_error(("optimizer %s has no hyperparameter '%s' (%s --optimizer ... --help lists them)")
               :format(optimizer.name, k, PROG))
         end
      end
   end
   if hp.lr == nil then
      usage_error(("optimizer %s needs a learning rate: add --lr X"):format(optimizer.name))
   end
   return hp
end

---------------------------------------------------------------------------------------
-- progress output

local function fmt_num(x)
   if x == nil then return "-" end
   return ("%.4f"):format(x)
end

local function fmt_time(s)
   if s ~= s or s == math.huge then return "?" end
   if s >= 3600 then return ("%dh%02dm"):format(math.floor(s / 3600), math.floor(s % 3600 / 60)) end
   if s >= 60 then return ("%dm%02ds"):format(math.floor(s / 60), math.floor(s % 60)) end
   return ("%.0fs"):format(s)
end

---------------------------------------------------------------------------------------
-- the run

--- Runs one DeepOBS training run. opts:
--   problem, optimizer     names/paths or tables (required)
--   lr (or learning_rate)  base learning rate (required unless the optimizer has a default)
--   hyperparams            name -> value for the optimizer's other hyperparameters
--   batch_size, num_epochs default to the problem's
--   lr_sched_epochs, lr_sched_factors, random_seed (42), data_dir, output_dir ("results"),
--   train_log_interval (10), print_train_iter, no_logs, weight_decay, threads
--   dataset                an already loaded dataset (tests), instead of problem.dataset
--   quiet                  no progress output
--   time                   os.time() value for the file name (default: now)
-- Returns { train_losses, test_losses, minibatch_train_losses, train_accuracies,
-- test_accuracies, epoch_times, diverged, path, folder, hp, object }.
function M.run(opts)
   opts = opts or {}
   local problem = M.load_problem(opts.problem)
   local optimizer = M.load_optimizer(opts.optimizer or "sgd")

   local given = {}
   for k, v in pairs(opts.hyperparams or {}) do given[k] = v end
   local lr = opts.lr or opts.learning_rate
   if lr ~= nil then given.lr = lr end
   local hp = M.resolve_hyperparams(optimizer, given)
   lr = hp.lr
   if type(lr) ~= "number" then usage_error("the learning rate must be a number") end

   local batch_size = opts.batch_size or problem.batch_size
   local num_epochs = opts.num_epochs or problem.num_epochs
   if batch_size == nil then usage_error(("problem %s has no default batch size: add --bs N"):format(problem.name)) end
   if num_epochs == nil then usage_error(("problem %s has no default number of epochs: add -N N"):format(problem.name)) end
   local seed = opts.random_seed or 42
   local interval = opts.train_log_interval or 10
   if interval < 1 or interval ~= math.floor(interval) then usage_error("--train_log_interval needs a positive integer") end
   local schedule = M.make_lr_schedule(lr, opts.lr_sched_epochs, opts.lr_sched_factors)
   local wd_effective = opts.weight_decay
   if wd_effective == nil then wd_effective = problem.weight_decay end
   local output_dir = opts.output_dir or "results"
   local quiet = opts.quiet
   local out = opts.stdout or io.stdout
   local live = not quiet and (opts.live == nil and stderr_is_tty() or opts.live)

   if opts.threads then dob.set_threads(opts.threads) end

   -- names of the output (the start time goes into the file name)
   local start_time = opts.time or os.time()
   local hp_other, hp_types, hp_list = {}, {}, {}
   for _, h in ipairs(optimizer.hyperparams or {}) do
      hp_types[h.name] = h.type
      if h.name ~= "lr" then
         hp_other[h.name] = hp[h.name]
         hp_list[#hp_list + 1] = { h.name, hp[h.name], h.type }
      end
   end
   local folder = results.setting_folder {
      num_epochs = num_epochs, batch_size = batch_size, weight_decay = opts.weight_decay,
      hyperparams = hp_other, hp_types = hp_types, lr = lr,
      lr_sched_epochs = opts.lr_sched_epochs, lr_sched_factors = opts.lr_sched_factors,
   }
   local run_dir = ("%s/%s/%s/%s"):format(output_dir, problem.name, optimizer.name, folder)
   local file = results.file_name(seed, start_time)

   -- set up: seed, data, model (re-seeded so the initial weights do not depend on the data loader)
   dob.manual_seed(seed)
   local ds = load_dataset(problem, { data_dir = opts.data_dir, batch_size = batch_size, dataset = opts.dataset,
      seed = seed, deepobs_compat = opts.deepobs_compat })
   dob.manual_seed(seed)
   local model = problem.build { weight_decay = wd_effective, batch_size = batch_size, vocab_size = ds.vocab_size }
   local params = dob.nn.ParamSet(model)
   local state = {}

   local has_accuracy = problem.has_accuracy
   local res = {
      train_losses = {}, test_losses = {}, minibatch_train_losses = {},
      train_accuracies = has_accuracy and {} or nil, test_accuracies = has_accuracy and {} or nil,
      epoch_times = {}, diverged = false, folder = folder, hp = hp,
   }

   local function objective(losses, reg)
      local obj = losses:mean()
      if reg ~= nil then obj = obj + reg end
      return obj
   end

   local function evaluate(split, phase)
      local sl, sa, nb = 0, 0, 0
      if problem.start_phase then problem.start_phase(model, phase) end -- stateful problems (char-RNN) reset here
      dob.no_grad(function()
         for batch in split:batches() do
            local losses, reg, acc = problem.forward(model, batch, phase)
            local o = objective(losses, reg)
            sl = sl + (type(o) == "number" and o or o:item())
            sa = sa + (acc or 0)
            nb = nb + 1
         end
      end)
      if nb == 0 then error(("the %s split has no batches (batch size %d larger than the split?)"):format(phase, batch_size), 0) end
      return sl / nb, sa / nb
   end

   -- the closure an optimizer calls: forward + backward on the current batch
   local cur_batch, first_loss
   local want_grad = true
   local function fb()
      local losses, reg, acc = problem.forward(model, cur_batch, "train")
      local obj = objective(losses, reg)
      if want_grad then obj:backward() end
      return obj:item(), losses, acc
   end
   local function closure(o)
      want_grad = not (type(o) == "table" and o.grad == false)
      if want_grad then params.grad_flat:zero_() end
      local prev = dob.set_grad_enabled(want_grad)
      local ok, loss, losses, acc = pcall(fb)
      dob.set_grad_enabled(prev)
      if not ok then error(loss, 0) end
      if first_loss == nil then first_loss = loss end
      return loss, { losses = losses:detach(), accuracy = acc }
   end

   local function say(s) if not quiet then out:write(s, "\n"); out:flush() end end
   say(("%s | %s lr %s%s | bs %d, %d epochs, seed %d | %d threads, OpenBLAS %s"):format(
      problem.name, optimizer.name, results.float2str(lr),
      (function()
         local t = {}
         for _, h in ipairs(hp_list) do t[#t + 1] = (" %s %s"):format(h[1], results.hp_str(h[2], h[3])) end
         return table.concat(t)
      end)(), batch_size, num_epochs, seed, dob.get_threads(), dob.blas_info().corename))

   local steps_per_epoch = ds.train.num_batches
   local t_run = now()
   for n = 0, num_epochs do
      local trl, tra = evaluate(ds.train_eval, "train_eval")
      local tel, tea = evaluate(ds.test, "test")
      res.train_losses[n + 1], res.test_losses[n + 1] = trl, tel
      if has_accuracy then res.train_accuracies[n + 1], res.test_accuracies[n + 1] = tra, tea end
      if not quiet then
         local line = ("epoch %d/%d  train loss %s  test loss %s"):format(n, num_epochs, fmt_num(trl), fmt_num(tel))
         if has_accuracy then line = line .. ("  train acc %s  test acc %s"):format(fmt_num(tra), fmt_num(tea)) end
         if n > 0 then line = line .. ("  %.1fs"):format(res.epoch_times[n]) end
         say(line)
      end
      if n == num_epochs then break end

      if schedule[n] then hp.lr = schedule[n] end
      if type(model.train) == "function" then model:train() end -- forward(phase) decides too
      if problem.start_phase then problem.start_phase(model, "train") end
      local s, last_logged = 0, nil
      local t0 = now()
      local t_shown = t0
      for batch in ds.train:batches(seed * 1000 + n) do
         cur_batch, first_loss = batch, nil
         local ret = dob.no_grad(optimizer.step, closure, params, hp, state)
         local loss = first_loss or ret
         if s % interval == 0 then
            if type(loss) ~= "number" then
               error(("optimizer %s: step did not call closure() nor return the loss"):format(optimizer.name), 0)
            end
            local mb = res.minibatch_train_losses
            mb[#mb + 1] = loss
            last_logged = loss
            if opts.print_train_iter and not quiet then
               say(("epoch %d step %d  minibatch train loss %.6g"):format(n + 1, s, loss))
            end
         end
         s = s + 1
         if live then
            local t = now()
            if t - t_shown > 0.25 then
               t_shown = t
               local rate = s / (t - t0)
               local left = ((steps_per_epoch or s) - s) + (num_epochs - n - 1) * (steps_per_epoch or s)
               io.stderr:write(("\r\27[Kepoch %d/%d  step %d/%s  loss %.4f  %.1f steps/s  ETA %s")
                  :format(n + 1, num_epochs, s, tostring(steps_per_epoch or "?"), last_logged or 0 / 0,
                     rate, fmt_time(left / rate)))
               io.stderr:flush()
            end
         end
      end
      res.epoch_times[n + 1] = now() - t0
      if live then io.stderr:write("\r\27[K"); io.stderr:flush() end

      if last_logged ~= nil and not isfinite(last_logged) then
         -- DeepOBS 1.2 abort routine: fill the remaining epochs with the epoch-0 values
         if not quiet then
            io.stderr:write(("run.lua: warning: loss is %s after epoch %d; the run diverged, the remaining epochs are filled with the epoch-0 values\n")
               :format(tostring(last_logged), n + 1))
         end
         for _ = n + 1, num_epochs do
            local k = #res.train_losses + 1
            res.train_losses[k], res.test_losses[k] = res.train_losses[1], res.test_losses[1]
            if has_accuracy then
               res.train_accuracies[k], res.test_accuracies[k] = res.train_accuracies[1], res.test_accuracies[1]
            end
            local mb = res.minibatch_train_losses
            mb[#mb + 1] = mb[1]
         end
         res.diverged = true
         break
      end
   end
   res.total_time = now() - t_run

   local extra = {}
   if res.diverged then extra[#extra + 1] = { "diverged", true } end
   extra[#extra + 1] = { "epoch_times", res.epoch_times }
   extra[#extra + 1] = { "threads", results.int(dob.get_threads()) }
   extra[#extra + 1] = { "engine_version", dob.version }
   extra[#extra + 1] = { "cpu", cpu_model() or results.null }
   extra[#extra + 1] = { "blas_core", dob.blas_info().corename }
   if opts.deepobs_compat then extra[#extra + 1] = { "deepobs_compat", true } end
   res.object = results.result_object {
      train_losses = res.train_losses, test_losses = res.test_losses,
      minibatch_train_losses = res.minibatch_train_losses,
      train_accuracies = res.train_accuracies, test_accuracies = res.test_accuracies,
      optimizer = optimizer.name, testproblem = problem.name, weight_decay = opts.weight_decay,
      batch_size = batch_size, num_epochs = num_epochs, learning_rate = lr,
      lr_sched_epochs = opts.lr_sched_epochs, lr_sched_factors = opts.lr_sched_factors,
      random_seed = seed, train_log_interval = interval, hyperparams = hp_list, extra = extra,
   }
   if not opts.no_logs then
      results.mkdir_p(run_dir)
      res.path = results.write_atomic(run_dir .. "/" .. file, results.encode(res.object))
      say(("wrote %s  (%.1fs)"):format(res.path, res.total_time))
   end
   return res
end

---------------------------------------------------------------------------------------
-- benchmark sets (spec §A.2)

--- The benchmark sets (problems/sets.lua): { order = {...}, <set> = { {name, title, metric}, ... } },
-- or nil where that file is not installed.
function M.benchmark_sets()
   local ok, sets = pcall(require, "problems.sets")
   if ok and type(sets) == "table" then return sets end
   if not ok and not module_missing(sets, "problems.sets") then error(sets, 0) end
   return nil
end

--- The member names of benchmark set `name`, or nil when no set has that name.
function M.benchmark_set(name)
   local sets = M.benchmark_sets()
   if type(name) ~= "string" or not sets or name == "order" or type(sets[name]) ~= "table" then return nil end
   local names = {}
   for i, m in ipairs(sets[name]) do names[i] = type(m) == "table" and m.name or m end
   return names
end

--- Runs each problem of a benchmark set in turn with the same opts (batch size and
-- epochs default to each problem's own). `set` is a set name or a list of problems
-- (names, paths or tables). A member that is not installed is skipped with a
-- warning on opts.stderr (default io.stderr) before anything runs. A member whose
-- run fails (its data are missing, say) is reported there and the set goes on with
-- the next one, so one missing dataset does not cost the runs after it; usage errors
-- (the same for every member) stop the set. Returns { results = { [i] = run()
-- result }, problems = { names run }, skipped = { names }, failed = { {name, message} } }.
function M.run_set(set, opts)
   opts = opts or {}
   local members = set
   if type(set) == "string" then
      members = M.benchmark_set(set)
      if not members then usage_error(("unknown benchmark set '%s' (try: %s --list)"):format(set, PROG)) end
   end
   local err = opts.stderr or io.stderr
   local todo, skipped = {}, {}
   for _, p in ipairs(members) do
      local ok, res = pcall(M.load_problem, p)
      if ok then
         todo[#todo + 1] = res
      elseif is_usage_error(res) then
         local name = type(p) == "table" and tostring(p.name) or tostring(p)
         skipped[#skipped + 1] = name
         err:write(("run.lua: warning: benchmark set member %s is not available (%s); skipped\n"):format(name, res.msg))
      else
         error(res, 0)
      end
   end
   local out = { results = {}, problems = {}, skipped = skipped, failed = {} }
   for i, problem in ipairs(todo) do
      if not opts.quiet then
         local o = opts.stdout or io.stdout
         o:write(("== %s %d/%d: %s ==\n"):format(type(set) == "string" and set or "set", i, #todo, problem.name))
         o:flush()
      end
      local run_opts = {}
      for k, v in pairs(opts) do run_opts[k] = v end
      run_opts.problem = problem
      local ok, res = pcall(M.run, run_opts)
      if ok then
         out.results[#out.results + 1] = res
         out.problems[#out.problems + 1] = problem.name
      elseif is_usage_error(res) then
         error(res, 0)
      else
         out.failed[#out.failed + 1] = { problem.name, clean(res) }
         err:write(("run.lua: error: %s failed: %s\n"):format(problem.name, clean(res)))
         if i < #todo then err:write("run.lua: continuing with the next problem of the set\n") end
      end
   end
   return out
end

---------------------------------------------------------------------------------------
-- command line

local RUNNER_HELP = [[
usage: luajit run.lua PROBLEM [--optimizer NAME_OR_PATH] [--lr X] [options] [--<hyperparam> VALUE ...]
       luajit run.lua SET [options]          (SET = small | large: each member in turn, see --list)
       luajit run.lua --list | --info PROBLEM | [--optimizer X] --help

Trains PROBLEM (a DeepOBS test problem, see --list) with an optimizer and writes a DeepOBS 1.1
result file <output_dir>/<problem>/<optimizer>/<setting>/random_seed__<N>__<date>.json.

  --optimizer NAME_OR_PATH   built-in optimizer (sgd, momentum, adam, ...) or a .lua file (default sgd)
  --lr, --learning_rate X    base learning rate (required unless the optimizer has a default)
  --bs, --batch_size N       batch size (default: the problem's)
  -N, --num_epochs N         training epochs (default: the problem's)
  --lr_sched_epochs E1 E2 .. epochs at whose start the learning rate changes
  --lr_sched_factors F1 F2 ..  the new learning rate is F_i * base lr (one factor per epoch)
  -r, --random_seed N        random seed (default 42)
  --weight_decay, --wd X     weight decay (default: the problem's; named in the folder only if given)
  --data_dir DIR             data folder (default $DEEPOBS_DATA_DIR, else ./data_deepobs)
  --output_dir DIR           results folder (default results)
  --train_log_interval N     log the minibatch loss every N steps (default 10)
  --print_train_iter         print each logged minibatch loss
  --no_logs                  write no result file
  --deepobs_compat           read the data as DeepOBS 1.1 did, bugs included (CIFAR-100's
                             off-by-one image bytes, SVHN's first 64,000 images), as its
                             baselines were trained
  --threads N                kernel and BLAS threads
  --list                     the test problems with their dataset and defaults, and the benchmark sets
  --info PROBLEM             the problem's layers, output shapes and parameter counts
  --help                     this text; with --optimizer X, the optimizer's hyperparameters

The optimizer's hyperparameters are flags too: --momentum 0.99, --use_nesterov (or
--use_nesterov false); --opt.NAME also works, and is the form for a hyperparameter named like
a runner flag (AdamW's --opt.weight_decay; --weight_decay is the problem's L2 factor).
Bad arguments exit with status 2.]]

local function usage_hint() return ("; see %s --help"):format(PROG) end

local function parse_number(flag, v, integer)
   local x = tonumber(v)
   if x == nil or x ~= x or x == math.huge or x == -math.huge then
      usage_error(("%s needs a%s, got '%s'%s"):format(flag, integer and "n integer" or " number", tostring(v), usage_hint()))
   end
   if integer and x ~= math.floor(x) then
      usage_error(("%s needs an integer, got '%s'%s"):format(flag, v, usage_hint()))
   end
   return x
end

local BOOL_WORDS = { ["true"] = true, ["false"] = false, ["1"] = true, ["0"] = false,
                     yes = true, no = false, on = true, off = false }
local function parse_bool(flag, v)
   local b = BOOL_WORDS[v:lower()]
   if b == nil then usage_error(("%s takes true or false, got '%s'"):format(flag, v)) end
   return b
end

-- looks like a flag (and not a negative number)
local function is_flag(a) return a ~= nil and a:sub(1, 1) == "-" and tonumber(a) == nil and #a > 1 end

-- runner flags: canonical key, kind
local FLAGS = {
   ["--optimizer"] = { "optimizer_arg", "string" }, -- the loaded table goes to o.optimizer
   ["--bs"] = { "batch_size", "int", 1 }, ["--batch_size"] = { "batch_size", "int", 1 },
   ["--lr"] = { "lr", "number" }, ["--learning_rate"] = { "lr", "number" },
   ["-N"] = { "num_epochs", "int", 0 }, ["--num_epochs"] = { "num_epochs", "int", 0 },
   ["--lr_sched_epochs"] = { "lr_sched_epochs", "int_list", 0 },
   ["--lr_sched_factors"] = { "lr_sched_factors", "number_list" },
   ["-r"] = { "random_seed", "int" }, ["--random_seed"] = { "random_seed", "int" },
   ["--data_dir"] = { "data_dir", "string" },
   ["--output_dir"] = { "output_dir", "string" },
   ["--train_log_interval"] = { "train_log_interval", "int", 1 },
   ["--print_train_iter"] = { "print_train_iter", "flag" },
   ["--no_logs"] = { "no_logs", "flag" },
   ["--deepobs_compat"] = { "deepobs_compat", "flag" },
   ["--weight_decay"] = { "weight_decay", "number" }, ["--wd"] = { "weight_decay", "number" },
   ["--threads"] = { "threads", "int", 1 },
   ["--list"] = { "list", "flag" },
   ["--info"] = { "info", "flag" },
   ["--help"] = { "help", "flag" }, ["-h"] = { "help", "flag" },
}

--- Parses the command line (a list of strings). Returns opts for runner.run,
-- plus opts.list / opts.info / opts.help. Raises usage errors.
-- optimizer_loader(name) is called with the --optimizer value to learn the hyperparameter flags.
function M.parse_args(argv, optimizer_loader)
   optimizer_loader = optimizer_loader or M.load_optimizer
   argv = argv or {}
   -- pass 1: the optimizer, whose hyperparameters are flags too
   local opt_name
   for i = 1, #argv do
      if argv[i] == "--optimizer" then
         opt_name = argv[i + 1]
         if opt_name == nil or is_flag(opt_name) then usage_error("--optimizer needs a value: a built-in name or a path to a .lua file") end
      elseif argv[i]:match("^%-%-optimizer=") then
         opt_name = argv[i]:match("^%-%-optimizer=(.*)$")
      end
   end
   local help_only = false
   for i = 1, #argv do
      if argv[i] == "--list" or argv[i] == "--help" or argv[i] == "-h" or argv[i] == "--info" then help_only = true end
   end
   local optimizer
   if opt_name or not help_only then
      optimizer = optimizer_loader(opt_name or "sgd")
   end
   -- each hyperparameter (but lr, which is --lr) is --NAME, and also --opt.NAME: the only
   -- form for a name the runner uses itself (AdamW's weight_decay: --weight_decay is the problem's)
   local hp_flags = {}
   for _, h in ipairs(optimizer and optimizer.hyperparams or {}) do
      if h.name ~= "lr" then
         hp_flags["--opt." .. h.name] = h
         if not RUNNER_FLAG_SET[h.name] then hp_flags["--" .. h.name] = h end
      end
   end

   local o = { hyperparams = {}, optimizer = optimizer, optimizer_given = opt_name ~= nil }
   local seen = {}
   local i = 1
   while i <= #argv do
      local a = argv[i]
      local flag, inline = a:match("^(%-%-?[%w_.]+)=(.*)$")
      flag = flag or a
      local spec = FLAGS[flag]
      local h = hp_flags[flag]
      local function value()
         if inline ~= nil then return inline end
         local v = argv[i + 1]
         if v == nil or is_flag(v) then usage_error(("%s needs a value%s"):format(flag, usage_hint())) end
         i = i + 1
         return v
      end
      if spec then
         local key, kind, min = spec[1], spec[2], spec[3]
         if seen[key] and kind ~= "flag" then usage_error(("%s is given twice"):format(flag)) end
         seen[key] = true
         if kind == "flag" then
            if inline ~= nil then usage_error(("%s takes no value"):format(flag)) end
            o[key] = true
         elseif kind == "string" then
            o[key] = value()
         elseif kind == "int" or kind == "number" then
            local x = parse_number(flag, value(), kind == "int")
            if min and x < min then usage_error(("%s must be at least %d, got %s"):format(flag, min, tostring(x))) end
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
            if #list == 0 then usage_error(("%s needs one or more numbers%s"):format(flag, usage_hint())) end
            if min then
               for _, x in ipairs(list) do
                  if x < min then usage_error(("%s values must be at least %d"):format(flag, min)) end
               end
            end
            o[key] = list
         end
      elseif h then
         if o.hyperparams[h.name] ~= nil then usage_error(("%s is given twice"):format(flag)) end
         if h.type == "boolean" then
            if inline ~= nil then
               o.hyperparams[h.name] = parse_bool(flag, inline)
            elseif argv[i + 1] and BOOL_WORDS[argv[i + 1]:lower()] ~= nil then
               o.hyperparams[h.name] = BOOL_WORDS[argv[i + 1]:lower()]
               i = i + 1
            else
               o.hyperparams[h.name] = true
            end
         elseif h.type == "number" or h.type == "integer" then
            o.hyperparams[h.name] = parse_number(flag, value(), h.type == "integer")
         else
            o.hyperparams[h.name] = value()
         end
      elseif is_flag(a) then
         local hint = usage_hint()
         if optimizer then
            local names = {}
            for f, h in pairs(hp_flags) do
               if f == "--" .. h.name or RUNNER_FLAG_SET[h.name] then names[#names + 1] = f end
            end
            table.sort(names)
            hint = ("; optimizer %s takes %s%s"):format(optimizer.name,
               #names > 0 and table.concat(names, ", ") or "no other flags", hint)
         end
         usage_error(("unknown flag %s%s"):format(flag, hint))
      else
         if o.problem then
            usage_error(("unexpected argument '%s' (the problem is already '%s')%s"):format(a, o.problem, usage_hint()))
         end
         o.problem = a
      end
      i = i + 1
   end
   if (o.lr_sched_epochs == nil) ~= (o.lr_sched_factors == nil) then
      usage_error("give both --lr_sched_epochs and --lr_sched_factors, or neither")
   end
   if o.lr_sched_epochs and #o.lr_sched_epochs ~= #o.lr_sched_factors then
      usage_error(("--lr_sched_epochs has %d values and --lr_sched_factors %d; give one factor per epoch")
         :format(#o.lr_sched_epochs, #o.lr_sched_factors))
   end
   return o
end

local function optimizer_help(optimizer)
   local lines = { ("optimizer %s%s"):format(optimizer.name,
      optimizer.description and (": " .. optimizer.description) or "") }
   lines[#lines + 1] = "hyperparameters (flags):"
   for _, h in ipairs(optimizer.hyperparams or {}) do
      local flag = (h.name ~= "lr" and RUNNER_FLAG_SET[h.name] and "--opt." or "--") .. h.name
      local def = h.default == nil and "required" or ("default " .. (type(h.default) == "boolean" and tostring(h.default) or tostring(h.default)))
      lines[#lines + 1] = ("  %-22s %-8s %-16s %s"):format(flag, h.type, def, h.help or "")
   end
   return table.concat(lines, "\n")
end

local function list_problems(out)
   local ok, problems = pcall(require, "problems")
   if not ok or type(problems) ~= "table" or type(problems.list) ~= "function" then
      error(("no test problems are installed (problems/init.lua is missing or broken%s)")
         :format(ok and "" or (": " .. clean(problems):match("^[^\n]*"))), 0)
   end
   out:write(("%-24s %-10s %6s %7s %9s  %s\n"):format("problem", "dataset", "bs", "epochs", "wd", "description"))
   for _, name in ipairs(problems.list()) do
      local pok, p = pcall(problems.get, name)
      if pok and type(p) == "table" then
         out:write(("%-24s %-10s %6s %7s %9s  %s\n"):format(name, tostring(p.dataset),
            tostring(p.batch_size or "-"), tostring(p.num_epochs or "-"),
            p.weight_decay and ("%g"):format(p.weight_decay) or "-", p.description or ""))
      else
         out:write(("%-24s (cannot load: %s)\n"):format(name, clean(p):match("^[^\n]*")))
      end
   end
   local sets = M.benchmark_sets()
   if sets then
      out:write("\nbenchmark sets (luajit run.lua SET --optimizer X --lr Y runs each member with its defaults):\n")
      for _, set in ipairs(sets.order or {}) do
         local t = {}
         for _, m in ipairs(sets[set]) do
            local name = type(m) == "table" and m.name or m
            local pok = pcall(problems.get, name)
            t[#t + 1] = name .. (pok and "" or " (not installed)")
         end
         out:write(("%-24s %s\n"):format(set, table.concat(t, ", ")))
      end
   end
end

local function shape_str(s) return "[" .. table.concat(s, ", ") .. "]" end

--- Prints a problem's model, output shapes (when its data can be loaded) and parameters.
function M.info(problem, opts, out)
   opts = opts or {}
   out = out or io.stdout
   problem = M.load_problem(problem)
   local wd = opts.weight_decay
   if wd == nil then wd = problem.weight_decay end
   local bs = opts.batch_size or problem.batch_size
   dob.manual_seed(opts.random_seed or 42)
   local model = problem.build { weight_decay = wd, batch_size = bs }
   out:write(("%s: %s\n"):format(problem.name, problem.description or ""))
   local dsname = type(problem.dataset) == "table" and (problem.dataset.name or "(custom)") or tostring(problem.dataset)
   out:write(("dataset %s, batch size %s, %s epochs, weight decay %s\n\n"):format(dsname,
      tostring(bs or "-"), tostring(problem.num_epochs or "-"), wd and ("%g"):format(wd) or "none"))
   out:write(model.describe and model:describe() or tostring(model), "\n\n")

   -- output shapes: one forward pass on a test batch, recording each module's output
   local rows = {}
   local sok, serr = pcall(function()
      local ds = load_dataset(problem, { data_dir = opts.data_dir, batch_size = bs, dataset = opts.dataset })
      local batch = ds.test:batches()()
      local wrapped = {}
      local function wrap(m, name)
         if type(m) ~= "table" or type(m.forward) ~= "function" then return end
         local orig = m.forward
         wrapped[#wrapped + 1] = m
         m.forward = function(self, ...)
            local y = orig(self, ...)
            if dob.is_tensor(y) then
               rows[#rows + 1] = { name, (m.describe and m:describe() or "?"):match("^[^\n]*"), y:size() }
            end
            return y
         end
         for _, c in ipairs(m._children or {}) do wrap(m[c], name == "" and c or (name .. "." .. c)) end
      end
      wrap(model, "")
      local ok, err = pcall(dob.no_grad, problem.forward, model, batch, "test")
      for _, m in ipairs(wrapped) do m.forward = nil end
      if not ok then error(err, 0) end
      if rows[#rows] and rows[#rows][1] == "" then rows[#rows][1] = "(model)" end
   end)
   if sok and #rows > 0 then
      out:write("output shapes (one test batch, in call order):\n")
      -- calls complete inner-first; show them in completion order
      for _, r in ipairs(rows) do
         out:write(("  %-24s %-40s %s\n"):format(r[1], r[2], shape_str(r[3])))
      end
      out:write("\n")
   elseif not sok then
      out:write(("output shapes: not available (%s)\n\n"):format(clean(serr):match("^[^\n]*")))
   end

   local total = 0
   out:write("parameters:\n")
   for _, p in ipairs(model:named_parameters()) do
      local n = p.tensor:numel()
      total = total + n
      out:write(("  %-32s %-20s %d\n"):format(p.name, shape_str(p.tensor:size()), n))
   end
   out:write(("total parameters: %d\n"):format(total))
   return total
end

--- The command line. Returns the exit status (0 ok, 1 run error, 2 usage error).
function M.main(argv)
   local out = io.stdout
   local function fail(code, msg)
      out:flush()
      io.stderr:write("run.lua: error: ", msg, "\n")
      return code
   end
   local ok, res = xpcall(function()
      local o = M.parse_args(argv)
      if o.help then
         out:write(RUNNER_HELP, "\n")
         if o.optimizer and o.optimizer_given then
            out:write("\n", optimizer_help(o.optimizer), "\n")
         end
         return 0
      end
      if o.list then list_problems(out); return 0 end
      if o.info then
         if not o.problem then usage_error("--info needs a problem name, e.g. --info fmnist_2c2d") end
         M.info(o.problem, o, out)
         return 0
      end
      if not o.problem then usage_error("no test problem given; usage: " .. PROG .. " PROBLEM --lr X (try --list)") end
      local run_opts = {}
      for k, v in pairs(o) do run_opts[k] = v end
      run_opts.optimizer = o.optimizer
      local set = M.benchmark_set(o.problem)
      if set then
         local res = M.run_set(o.problem, run_opts)
         if #res.failed > 0 then
            local names = {}
            for i, f in ipairs(res.failed) do names[i] = f[1] end
            error(("%d of the set's problems failed: %s"):format(#res.failed, table.concat(names, ", ")), 0)
         end
      else
         M.run(run_opts)
      end
      return 0
   end, function(e)
      if is_usage_error(e) then return e end
      if os.getenv("DEEPOBS_DEBUG") then return debug.traceback(tostring(e), 2) end
      return e
   end)
   if ok then out:flush(); return res end
   if is_usage_error(res) then return fail(2, res.msg) end
   return fail(1, clean(res))
end

return M
