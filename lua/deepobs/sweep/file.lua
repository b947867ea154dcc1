--- Sweep files: what a sweep runs, read and checked before anything runs.
--
--    local file = require "deepobs.sweep.file"
--    local spec = file.load("my_sweep.lua")   -- usage errors name the offending key
--
-- A sweep file is Lua returning a table (the distributions log_uniform, uniform, int and
-- choice are in scope):
--
--    return {
--       problems = { "quadratic_deep", "small", fmnist_2c2d = { num_epochs = 2 } },
--       optimizers = {
--          sgd = { lr = { 0.01, 0.1 } },                               -- a grid axis
--          momentum = { lr = log_uniform(1e-4, 1), momentum = 0.9,      -- a fixed value
--                       search = "random", trials = 8 },
--          ["examples/my_sgd.lua"] = { lr = { 0.01 }, options = { batch_size = 64 } },
--       },
--       seeds = { 42, 43 },            -- or a count: 3 means 42, 43, 44
--       num_epochs = 3, output_dir = "sweep_results",   -- any runner option
--    }
--
-- Top level: problems, optimizers (both required), seeds (default { 42 }), hyperparams (a
-- space shared by every optimizer), search ("grid" default, "random", "quasirandom",
-- "bayes"), trials (random, quasirandom, bayes), search_seed (0), metric (what bayes
-- optimises and `benchmark` selects by; default the problem's DeepOBS metric), name (the
-- sweep's folder, <output_dir>/.sweeps/<name>; default the file's name), and runner
-- options. A problem entry is a name, a benchmark set, a path, or name = { runner options };
-- an optimizer entry is a name or a path, or name = { hyperparameters, search, trials,
-- runner options }; `options = { ... }` holds runner options whose name is also a
-- hyperparameter's (AdamW's weight_decay).
local errors = require "deepobs.errors"
local resolve = require "deepobs.resolve"
local search = require "deepobs.sweep.search"

local M = {}

local usage = errors.usage

--- The runner options a sweep may set (runner.run's names).
M.OPTIONS = {}
for _, k in ipairs { "batch_size", "num_epochs", "weight_decay", "lr_schedule", "lr_sched_epochs",
   "lr_sched_factors", "lr_min", "restart_epochs", "restart_mult", "trapezoid_warmup", "trapezoid_cooldown",
   "warmup_epochs", "warmup_steps", "data_dir", "output_dir", "train_log_interval", "deepobs_compat",
   "validation", "threads", "checkpoint_every", "checkpoint_minutes", "keep_checkpoint" } do
   M.OPTIONS[k] = true
end

local TOP = { name = true, problems = true, optimizers = true, seeds = true, hyperparams = true, search = true,
   trials = true, search_seed = true, metric = true }
local SEARCHES = { grid = true, random = true, quasirandom = true, bayes = true }
M.DEFAULT_SEED = 42

-- edit distance, for "did you mean"
local function distance(a, b)
   local prev = {}
   for j = 0, #b do prev[j] = j end
   for i = 1, #a do
      local cur = { [0] = i }
      for j = 1, #b do
         cur[j] = math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a:sub(i, i) == b:sub(j, j) and 0 or 1))
      end
      prev = cur
   end
   return prev[#b]
end

local function unknown_key(where, key, known)
   local best, bd = nil, 3
   for k in pairs(known) do
      local d = distance(tostring(key), k)
      if d < bd then best, bd = k, d end
   end
   usage(("%s: unknown key '%s'%s"):format(where, tostring(key), best and (" (did you mean " .. best .. "?)") or ""))
end

local function is_list(t)
   if type(t) ~= "table" or search.is_distribution(t) then return false end
   local n = 0
   for _ in pairs(t) do n = n + 1 end
   return n == #t
end

local function check_option(where, k, v)
   local tv = type(v)
   if tv == "table" then
      if not is_list(v) or #v == 0 then usage(("%s.%s: a list of numbers, or a single value"):format(where, k)) end
      for _, x in ipairs(v) do
         if type(x) ~= "number" then usage(("%s.%s: a list of numbers, got a %s"):format(where, k, type(x))) end
      end
   elseif tv ~= "number" and tv ~= "string" and tv ~= "boolean" then
      usage(("%s.%s: a number, string or boolean, got a %s"):format(where, k, tv))
   end
   return v
end

-- runner options of an entry: its direct keys that are options, plus its options table;
-- known: the names a misspelt key is compared with (default: the runner options)
local function options_of(where, t, skip, known)
   local out = {}
   for k, v in pairs(t) do
      if not skip[k] then
         if not M.OPTIONS[k] then unknown_key(where, k, known or M.OPTIONS) end
         out[k] = check_option(where, k, v)
      end
   end
   if t.options ~= nil then
      if type(t.options) ~= "table" or is_list(t.options) and #t.options > 0 then
         usage(where .. ".options: a table of runner options")
      end
      for k, v in pairs(t.options) do
         if not M.OPTIONS[k] then unknown_key(where .. ".options", k, M.OPTIONS) end
         out[k] = check_option(where .. ".options", k, v)
      end
   end
   return out
end

local function problem_entries(list, where)
   if type(list) ~= "table" then usage(where .. ": a list of problem names (or name = { options })") end
   local out, seen = {}, {}
   local function add(name, options, at)
      local p = resolve.load_problem(name) -- a usage error for an unknown problem
      if seen[p.name] then usage(("%s: problem %s is listed twice"):format(at, p.name)) end
      seen[p.name] = true
      out[#out + 1] = { what = name, name = p.name, options = options }
   end
   local set_names = require("deepobs.runner").benchmark_set
   for i, v in ipairs(list) do
      local at = ("%s[%d]"):format(where, i)
      if type(v) ~= "string" then usage(at .. ": a problem name, a set (small, large) or a path") end
      local members = set_names(v)
      if members then
         for _, m in ipairs(members) do add(m, {}, at) end
      else
         local ok, e = pcall(add, v, {}, at)
         if not ok then usage(("%s: %s"):format(at, errors.describe(e))) end
      end
   end
   local keys = {} -- name = { options } entries, in name order
   for k in pairs(list) do if type(k) ~= "number" then keys[#keys + 1] = k end end
   table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
   for _, k in ipairs(keys) do
      local at = ("%s.%s"):format(where, tostring(k))
      if type(list[k]) ~= "table" then usage(at .. ": a table of runner options for this problem") end
      local ok, e = pcall(add, k, options_of(at, list[k], {}), at)
      if not ok then usage(("%s: %s"):format(at, errors.describe(e))) end
   end
   return out
end

-- an optimizer entry: its hyperparameter space, search, trials and runner options
local function optimizer_entry(what, t, where, top)
   local ok, opt, path = pcall(resolve.load_optimizer, what)
   if not ok then usage(("%s: %s"):format(where, errors.describe(opt))) end
   local declared = { lr = true }
   for _, h in ipairs(opt.hyperparams) do declared[h.name] = h end
   local space, skip = {}, { search = true, trials = true, options = true }
   for k, v in pairs(top.hyperparams or {}) do space[k] = v end
   for k, v in pairs(t) do
      if declared[k] then space[k] = v; skip[k] = true end
   end
   for k in pairs(space) do
      if not declared[k] then
         usage(("%s: optimizer %s has no hyperparameter '%s' (it has: %s)"):format(where, opt.name, k,
            table.concat((function()
               local n = { "lr" }
               for _, h in ipairs(opt.hyperparams) do if h.name ~= "lr" then n[#n + 1] = h.name end end
               return n
            end)(), ", ")))
      end
   end
   search.check(space, where)
   local kind = t.search or top.search or "grid"
   if not SEARCHES[kind] then
      usage(("%s.search: '%s' is not grid, random, quasirandom or bayes"):format(where, tostring(kind)))
   end
   local trials = t.trials or top.trials
   if kind ~= "grid" then
      if type(trials) ~= "number" or trials < 1 or trials % 1 ~= 0 then
         usage(("%s.trials: %s search needs a positive number of trials"):format(where, kind))
      end
   else
      if t.trials ~= nil then
         usage(("%s.trials: a grid runs every combination; trials is for random, quasirandom and bayes search")
            :format(where))
      end
      search.grid(space, where) -- a distribution needs another search
   end
   local known = { search = true, trials = true, options = true }
   for k in pairs(M.OPTIONS) do known[k] = true end
   for k in pairs(declared) do known[k] = true end
   return { what = what, name = opt.name, optimizer = opt, path = path, space = space, search = kind,
      trials = trials, options = options_of(where, t, skip, known) }
end

local function optimizer_entries(list, where, top)
   if type(list) ~= "table" then usage(where .. ": a list of optimizer names or paths (or name = { ... })") end
   local out = {}
   for i, v in ipairs(list) do
      if type(v) ~= "string" then usage(("%s[%d]: an optimizer name or a path"):format(where, i)) end
      out[#out + 1] = optimizer_entry(v, {}, ("%s[%d]"):format(where, i), top)
   end
   local keys = {}
   for k in pairs(list) do if type(k) ~= "number" then keys[#keys + 1] = k end end
   table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
   for _, k in ipairs(keys) do
      local at = ("%s.%s"):format(where, tostring(k))
      if type(list[k]) ~= "table" then usage(at .. ": a table of hyperparameters and options") end
      out[#out + 1] = optimizer_entry(k, list[k], at, top)
   end
   local seen = {}
   for _, o in ipairs(out) do
      if seen[o.name] then usage(("%s: two entries are optimizer %s (one results folder)"):format(where, o.name)) end
      seen[o.name] = true
   end
   return out
end

local function seeds_of(v, where)
   if v == nil then return { M.DEFAULT_SEED } end
   if type(v) == "number" then
      if v < 1 or v % 1 ~= 0 or v > 1000 then usage(where .. ": a count of seeds from 1 to 1000, or a list") end
      local out = {}
      for i = 1, v do out[i] = M.DEFAULT_SEED + i - 1 end
      return out
   end
   if not is_list(v) or #v == 0 then usage(where .. ": a list of seeds, or a count") end
   local seen = {}
   for i, s in ipairs(v) do
      if type(s) ~= "number" or s < 0 or s % 1 ~= 0 or s >= 2 ^ 31 then
         usage(("%s[%d]: a seed is an integer from 0 to 2^31-1, got %s"):format(where, i, tostring(s)))
      end
      if seen[s] then usage(("%s[%d]: seed %d is listed twice"):format(where, i, s)) end
      seen[s] = true
   end
   return v
end

--- Checks a sweep table (what a sweep file returns); where names it in messages. Returns
-- the normalised sweep: { name, problems = { {name, what, options} }, optimizers = { {name,
-- what, optimizer, path, space, search, trials, options} }, seeds, search_seed, metric, options }.
function M.check(t, where, name)
   if type(t) ~= "table" then usage(where .. ": must return a table (see `luajit run.lua sweep --help`)") end
   for k in pairs(t) do
      if not TOP[k] and not M.OPTIONS[k] then
         local known = {}
         for x in pairs(TOP) do known[x] = true end
         for x in pairs(M.OPTIONS) do known[x] = true end
         unknown_key(where, k, known)
      end
   end
   if t.problems == nil then usage(where .. ": needs 'problems'") end
   if t.optimizers == nil then usage(where .. ": needs 'optimizers'") end
   if t.hyperparams ~= nil and type(t.hyperparams) ~= "table" then usage(where .. ".hyperparams: a table") end
   if t.name ~= nil and (type(t.name) ~= "string" or not t.name:match("^[%w_.-]+$")) then
      usage(where .. ".name: letters, digits, _ . - only (it names the sweep's folder)")
   end
   if t.search_seed ~= nil and (type(t.search_seed) ~= "number" or t.search_seed % 1 ~= 0) then
      usage(where .. ".search_seed: an integer")
   end
   if t.metric ~= nil and (type(t.metric) ~= "string" or not t.metric:match("^%a+_%a+$")) then
      usage(where .. ".metric: a metric name such as test_accuracies or valid_losses")
   end
   local options = {}
   for k, v in pairs(t) do if M.OPTIONS[k] then options[k] = check_option(where, k, v) end end
   return {
      name = t.name or name, problems = problem_entries(t.problems, where .. ".problems"),
      optimizers = optimizer_entries(t.optimizers, where .. ".optimizers", t),
      seeds = seeds_of(t.seeds, where .. ".seeds"), search_seed = t.search_seed or 0, metric = t.metric,
      options = options,
   }
end

--- Reads and checks a sweep file.
function M.load(path)
   local f = io.open(path, "rb")
   if not f then usage(("no sweep file %s"):format(tostring(path))) end
   f:close()
   local env = setmetatable({ log_uniform = search.log_uniform, uniform = search.uniform, int = search.int,
      choice = search.choice }, { __index = _G })
   local chunk, err = loadfile(path, "t", env)
   if not chunk then usage(("cannot read the sweep file %s: %s"):format(path, err)) end
   if setfenv then setfenv(chunk, env) end
   local ok, t = pcall(chunk)
   if not ok then usage(("the sweep file %s raised an error: %s"):format(path, errors.describe(t))) end
   return M.check(t, path, path:match("([^/]*)%.lua$") or path:match("[^/]*$"))
end

return M
