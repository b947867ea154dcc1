--- Reading a results folder: ours / DeepOBS 1.1 (same files), DeepOBS 1.2 and the PyTorch port.
--
--    local results = require "deepobs.analyzer.results"
--    local col = results.load("results")
--    col.problems.fmnist_2c2d.optimizers.AdamOptimizer.settings[1].stats.test_accuracies.mean
--    col.skipped   -- { { path, reason }, ... }: unreadable or malformed files (never fatal)
--    col.warnings  -- { { problem, optimizer, folder, message }, ... }: e.g. a setting whose runs
--                  -- were made by different versions of the optimizer file (optimizer_sha256)
--
-- Every *.json below the folder is read. Problem and optimizer come from the file's own
-- keys (1.1 / port: testproblem + optimizer; 1.2: testproblem + optimizer_name), the
-- setting from the folder the file sits in; seeds of one setting are aggregated per epoch
-- (mean, population std as DeepOBS's np.std, min, max). Keys are normalised to 1.1's names,
-- so the rest of the analyzer never sees which version wrote a file. The structures:
--    col      { root, problems = { [name] = problem }, skipped, warnings,
--               convergence_performance = { [problem] = number } or nil (1.1's targets) }
--    problem  { name, optimizers = { [name] = optimizer } }
--    optimizer { name, settings = { setting, ... } (by lr) }
--    setting  { problem, optimizer, folder, lr, hyperparams, num_epochs, batch_size,
--               weight_decay, lr_sched_epochs, lr_sched_factors, diverged (runs),
--               optimizer_sha256 = { { hash, runs }, ... }, runs = { { seed, path, data }, ... },
--               stats = { [metric] = { mean, std, min, max (per-epoch lists), n } } }
local cjson = require "cjson"

local M = {}

-- the per-epoch lists (num_epochs + 1 values each) that are aggregated
M.EPOCH_METRICS = { "train_losses", "test_losses", "train_accuracies", "test_accuracies",
                    "valid_losses", "valid_accuracies" }
local EPOCH_METRICS = M.EPOCH_METRICS

local function shell_quote(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

--- True when path is a folder.
function M.is_dir(path)
   local ok = os.execute("test -d " .. shell_quote(path))
   return ok == 0 or ok == true
end

-- every *.json under dir, sorted, through symlinked folders (find is the only portable walk without lfs)
local function json_files(dir)
   local p = io.popen("find -L " .. shell_quote(dir) .. " -type f -name '*.json' 2>/dev/null | LC_ALL=C sort")
   local out = {}
   for l in p:lines() do out[#out + 1] = l end
   p:close()
   return out
end

local function read_all(path)
   local f, err = io.open(path, "rb")
   if not f then return nil, "cannot open: " .. tostring(err) end
   local s = f:read("*a")
   f:close()
   return s
end

local function nn(v) if v == cjson.null then return nil end return v end

local function is_number_list(t)
   if type(t) ~= "table" then return false end
   local n = #t
   for k, v in pairs(t) do
      if type(k) ~= "number" or k < 1 or k > n or type(v) ~= "number" then return false end
   end
   return true
end

-- random_seed__42__2019-02-15-16-58-39.json -> 42, "2019-02-15-16-58-39"
local function parse_file_name(path)
   local base = path:match("[^/]*$")
   local seed, stamp = base:match("^random_seed__(%-?%d+)__(.-)%.json$")
   return tonumber(seed), stamp
end

--- Decodes one result file into { problem, optimizer, lr, hyperparams, num_epochs,
-- batch_size, weight_decay, seed, data = <1.1-named keys> }, or nil and the reason.
function M.read_run(path)
   local text, err = read_all(path)
   if not text then return nil, err end
   local ok, d = pcall(cjson.decode, text)
   if not ok then
      return nil, "not valid JSON (" .. tostring(d):gsub("^.-: ", "") .. "); delete or re-run this file"
   end
   if type(d) ~= "table" then return nil, "not a JSON object" end

   local data = {}
   for k, v in pairs(d) do data[k] = nn(v) end
   local run = {}
   run.problem = data.testproblem
   if type(run.problem) ~= "string" then return nil, "no \"testproblem\" key: not a DeepOBS result file" end

   local hp = {}
   if data.optimizer_name ~= nil or data.optimizer_hyperparams ~= nil then
      -- DeepOBS 1.2: optimizer_name, optimizer_hyperparams (with the lr under its own name),
      -- training_params (lr schedule)
      run.optimizer = data.optimizer_name
      local oh = data.optimizer_hyperparams
      if type(oh) ~= "table" then return nil, "\"optimizer_hyperparams\" is not an object" end
      for k, v in pairs(oh) do
         v = nn(v)
         if k == "lr" or k == "learning_rate" then run.lr = v else hp[k] = v end
      end
      local tp = type(data.training_params) == "table" and data.training_params or {}
      data.lr_sched_epochs = nn(tp.lr_sched_epochs)
      data.lr_sched_factors = nn(tp.lr_sched_factors)
      data.optimizer, data.hyperparams, data.learning_rate = run.optimizer, hp, run.lr
   else
      -- DeepOBS 1.1, ours and the PyTorch port: optimizer, learning_rate, hyperparams
      run.optimizer = data.optimizer
      run.lr = data.learning_rate
      if data.hyperparams ~= nil and type(data.hyperparams) ~= "table" then
         return nil, "\"hyperparams\" is not an object"
      end
      for k, v in pairs(data.hyperparams or {}) do
         if k ~= "lr" and k ~= "learning_rate" then hp[k] = nn(v) end
      end
   end
   if type(run.optimizer) ~= "string" then return nil, "no optimizer name (\"optimizer\" / \"optimizer_name\")" end
   if run.lr ~= nil and type(run.lr) ~= "number" then return nil, "the learning rate is not a number" end
   run.hyperparams = hp
   run.num_epochs = data.num_epochs
   run.batch_size = data.batch_size
   run.weight_decay = data.weight_decay
   if type(run.num_epochs) ~= "number" then return nil, "no \"num_epochs\"" end

   -- the per-epoch lists: numbers, num_epochs + 1 of them (1.2's check_output rule)
   local any = false
   for _, m in ipairs(EPOCH_METRICS) do
      local v = data[m]
      if v ~= nil then
         if not is_number_list(v) then return nil, ("%q is not a list of numbers"):format(m) end
         if #v ~= run.num_epochs + 1 then
            return nil, ("%q has %d values where num_epochs %d needs %d (truncated file?)")
               :format(m, #v, run.num_epochs, run.num_epochs + 1)
         end
         if m == "test_losses" or m == "test_accuracies" then any = true end
      end
   end
   if not any then return nil, "no \"test_losses\" or \"test_accuracies\" list" end
   if data.minibatch_train_losses ~= nil and not is_number_list(data.minibatch_train_losses) then
      return nil, "\"minibatch_train_losses\" is not a list of numbers"
   end
   if data.epoch_times ~= nil and not is_number_list(data.epoch_times) then data.epoch_times = nil end

   local fseed, stamp = parse_file_name(path)
   run.seed = type(data.random_seed) == "number" and data.random_seed or fseed
   run.stamp = stamp or ""
   run.data = data
   return run
end

---------------------------------------------------------------------------------------
-- aggregation

--- Per-epoch mean, population std, min and max of a list of equally long curves
-- (aligned to the shortest). NaN in any run makes that epoch's mean NaN, as numpy's.
function M.aggregate(curves)
   local n = #curves
   local len = math.huge
   for _, c in ipairs(curves) do len = math.min(len, #c) end
   if n == 0 then len = 0 end
   local mean, std, mn, mx = {}, {}, {}, {}
   for e = 1, len do
      local s, lo, hi = 0, math.huge, -math.huge
      local nan = false
      for r = 1, n do
         local v = curves[r][e]
         if v ~= v then nan = true end
         s = s + v
         if v < lo then lo = v end
         if v > hi then hi = v end
      end
      local m = s / n
      local q = 0
      for r = 1, n do
         local dv = curves[r][e] - m
         q = q + dv * dv
      end
      if nan then m, q, lo, hi = 0 / 0, 0 / 0, 0 / 0, 0 / 0 end
      mean[e], mn[e], mx[e] = m, lo, hi
      std[e] = (m ~= m) and 0 / 0 or math.sqrt(q / n)
      if m == math.huge or m == -math.huge then std[e] = 0 / 0 end
   end
   return { mean = mean, std = std, min = mn, max = mx, n = n }
end

local function lr_less(a, b)
   if a.lr ~= nil and b.lr ~= nil and a.lr ~= b.lr then return a.lr < b.lr end
   if (a.lr == nil) ~= (b.lr == nil) then return a.lr ~= nil end
   return a.folder < b.folder
end

-- the optimizer_sha256 values of a setting's runs (files without one are not counted) as
-- { { hash, runs }, ... }, most runs first
local function optimizer_hashes(runs)
   local count = {}
   for _, r in ipairs(runs) do
      local h = r.data.optimizer_sha256
      if type(h) == "string" then count[h] = (count[h] or 0) + 1 end
   end
   local out = {}
   for h, n in pairs(count) do out[#out + 1] = { hash = h, runs = n } end
   table.sort(out, function(a, b)
      if a.runs ~= b.runs then return a.runs > b.runs end
      return a.hash < b.hash
   end)
   return out
end

local function build_setting(problem, optimizer, folder, runs)
   table.sort(runs, function(a, b)
      if a.seed ~= b.seed then return (a.seed or math.huge) < (b.seed or math.huge) end
      return a.path < b.path
   end)
   local first = runs[1]
   local s = {
      problem = problem, optimizer = optimizer, folder = folder,
      lr = first.lr, hyperparams = first.hyperparams,
      num_epochs = first.num_epochs, batch_size = first.batch_size, weight_decay = first.weight_decay,
      lr_sched_epochs = first.data.lr_sched_epochs, lr_sched_factors = first.data.lr_sched_factors,
      runs = {}, stats = {},
   }
   -- runs that diverged: marked by our runner / DeepOBS 1.2, or (1.1) a non-finite final loss
   s.diverged = 0
   for i, r in ipairs(runs) do
      s.runs[i] = { seed = r.seed, path = r.path, data = r.data }
      local tl = r.data.test_losses or r.data.train_losses or {}
      local last = tl[#tl]
      if r.data.diverged == true or (last ~= nil and (last ~= last or last == math.huge or last == -math.huge)) then
         s.diverged = s.diverged + 1
      end
   end
   s.optimizer_sha256 = optimizer_hashes(runs)
   local metrics = {}
   for _, m in ipairs(EPOCH_METRICS) do metrics[#metrics + 1] = m end
   metrics[#metrics + 1] = "minibatch_train_losses"
   for _, m in ipairs(metrics) do
      local curves, all = {}, true
      for i, r in ipairs(runs) do
         if r.data[m] == nil then all = false break end
         curves[i] = r.data[m]
      end
      if all then s.stats[m] = M.aggregate(curves) end
   end
   return s
end

-- a warning when the runs of a setting come from different optimizer files (optimizer_sha256)
local function mixed_optimizer_warning(s)
   local n = #s.optimizer_sha256
   if n < 2 then return nil end
   local parts = {}
   for i, h in ipairs(s.optimizer_sha256) do
      parts[i] = ("%s: %d run%s"):format(h.hash:sub(1, 12), h.runs, h.runs == 1 and "" or "s")
   end
   return {
      problem = s.problem, optimizer = s.optimizer, folder = s.folder,
      message = ("%s | %s | %s: the runs have %d different optimizer_sha256 values (%s): the optimizer file "
         .. "changed between these runs; the setting mixes %d optimizers (rerun its seeds with one version "
         .. "of the file, or move the other runs out of the folder)")
         :format(s.problem, s.optimizer, s.folder, n, table.concat(parts, ", "), n),
   }
end

--- Loads a results folder (see the module comment). Never raises on a bad file: it goes to
-- col.skipped with the reason. Settings whose runs disagree in a way that makes their
-- aggregate misleading go to col.warnings ({ problem, optimizer, folder, message }, sorted).
-- Raises (a clean message) only when dir is not a folder.
function M.load(dir)
   if type(dir) ~= "string" or not M.is_dir(dir) then
      error(("results folder %s does not exist (give the --output_dir of your runs)"):format(tostring(dir)), 0)
   end
   local col = { root = dir, problems = {}, skipped = {}, warnings = {} }
   -- problem -> optimizer -> folder -> seed -> run
   local groups = {}
   for _, path in ipairs(json_files(dir)) do
      local base = path:match("[^/]*$")
      -- our analyzer's own outputs and 1.1's convergence_performance.json are not runs
      if base ~= "convergence_performance.json" and base ~= "tables.json" then
         local run, why = M.read_run(path)
         if not run then
            col.skipped[#col.skipped + 1] = { path = path, reason = why }
         else
            run.path = path
            local folder = path:match("([^/]*)/[^/]*$") or "."
            local g = groups
            for _, k in ipairs { run.problem, run.optimizer, folder } do
               g[k] = g[k] or {}
               g = g[k]
            end
            local key = run.seed or path
            local old = g[key]
            -- the same seed twice (the port reruns into the same folder): the newest file wins
            if old and old.stamp >= run.stamp then
               col.skipped[#col.skipped + 1] = { path = path, reason = ("seed %s again; the newer %s is used")
                  :format(tostring(run.seed), old.path) }
            else
               if old then
                  col.skipped[#col.skipped + 1] = { path = old.path, reason = ("seed %s again; the newer %s is used")
                     :format(tostring(run.seed), path) }
               end
               g[key] = run
            end
         end
      end
   end
   -- DeepOBS 1.1's per-problem Speed targets, where the folder has them
   local cp = read_all(dir .. "/convergence_performance.json")
   if cp then
      local ok, t = pcall(cjson.decode, cp)
      if ok and type(t) == "table" then
         col.convergence_performance = {}
         for k, v in pairs(t) do
            if type(v) == "number" then col.convergence_performance[k] = v end
         end
      else
         col.skipped[#col.skipped + 1] = { path = dir .. "/convergence_performance.json",
            reason = "not a JSON object of problem -> number" }
      end
   end
   for pname, opts in pairs(groups) do
      local p = { name = pname, optimizers = {} }
      for oname, folders in pairs(opts) do
         local o = { name = oname, settings = {} }
         for folder, seeds in pairs(folders) do
            local runs = {}
            for _, r in pairs(seeds) do runs[#runs + 1] = r end
            local s = build_setting(pname, oname, folder, runs)
            o.settings[#o.settings + 1] = s
            local warning = mixed_optimizer_warning(s)
            if warning then col.warnings[#col.warnings + 1] = warning end
         end
         table.sort(o.settings, lr_less)
         p.optimizers[oname] = o
      end
      col.problems[pname] = p
   end
   table.sort(col.warnings, function(a, b) return a.message < b.message end)
   return col
end

--- Sorted keys of a table (problem or optimizer names).
function M.names(t)
   local out = {}
   for k in pairs(t or {}) do out[#out + 1] = k end
   table.sort(out)
   return out
end

--- The names of a list as a set ({ a = true, ... }), nil for nil: a filter where nil keeps all.
function M.set_of(list)
   if list == nil then return nil end
   local s = {}
   for _, v in ipairs(list) do s[v] = true end
   return s
end

--- The messages of col.warnings, of the given problems and optimizers only where those lists
-- are given (nil: all).
function M.warnings(col, problems, optimizers)
   local function wanted(name, list)
      if list == nil then return true end
      for _, n in ipairs(list) do if n == name then return true end end
      return false
   end
   local out = {}
   for _, w in ipairs(col.warnings or {}) do
      if wanted(w.problem, problems) and wanted(w.optimizer, optimizers) then out[#out + 1] = w.message end
   end
   return out
end

--- DeepOBS 1.2's check_output summary: "<problem> | <optimizer>: k setting(s) with s seed(s)"
-- per optimizer (s = the seed counts that occur, e.g. "1-3"), then the warnings and the
-- skipped files.
function M.summary(col)
   local out = {}
   for _, pn in ipairs(M.names(col.problems)) do
      local p = col.problems[pn]
      for _, on in ipairs(M.names(p.optimizers)) do
         local o = p.optimizers[on]
         local lo, hi, div = math.huge, 0, 0
         for _, st in ipairs(o.settings) do
            lo, hi = math.min(lo, #st.runs), math.max(hi, #st.runs)
            div = div + st.diverged
         end
         local seeds = lo == hi and tostring(lo) or (lo .. "-" .. hi)
         out[#out + 1] = ("%s | %s: %d setting(s) with %s seed(s)%s"):format(pn, on, #o.settings, seeds,
            div > 0 and (", %d diverged run(s)"):format(div) or "")
      end
   end
   for _, w in ipairs(M.warnings(col)) do out[#out + 1] = "warning: " .. w end
   for _, k in ipairs(col.skipped) do out[#out + 1] = ("skipped %s: %s"):format(k.path, k.reason) end
   return table.concat(out, "\n")
end

--- Counts { problems, optimizers, settings, runs } of a collection.
function M.counts(col)
   local c = { problems = 0, optimizers = 0, settings = 0, runs = 0 }
   for _, p in pairs(col.problems) do
      c.problems = c.problems + 1
      for _, o in pairs(p.optimizers) do
         c.optimizers = c.optimizers + 1
         for _, s in ipairs(o.settings) do
            c.settings = c.settings + 1
            c.runs = c.runs + #s.runs
         end
      end
   end
   return c
end

return M
