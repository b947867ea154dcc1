--- From a checked sweep to its runs: the settings each search proposes, times the seeds,
-- each run identified by its DeepOBS result path and checked as a run before any runs.
--
--    local plan = require "deepobs.sweep.plan"
--    local p = plan.new(spec, { folder = ".../.sweeps/name", width = 2 })
--    local runs = p:runs()      -- { key, problem, optimizer, hp, seed, opts, run_dir, label }
--
-- Grid settings are the Cartesian product of the list axes; random and quasirandom ones
-- are drawn from a seed made of search_seed, problem and optimizer, so every invocation
-- proposes the same trials. Bayesian search proposes `width` settings at a time from the
-- finished runs of the earlier ones; what it proposed is kept in the sweep's folder
-- (trials/<problem>__<optimizer>.json), so re-running the sweep continues it.
local cjson = require "cjson"
local errors = require "deepobs.errors"
local resolve = require "deepobs.resolve"
local results = require "deepobs.results"
local runstate = require "deepobs.runstate"
local sha256 = require "deepobs.sha256"
local search = require "deepobs.sweep.search"

local M = {}

local Plan = {}
Plan.__index = Plan

--- folder: the sweep's own folder (trials, logs, jobs); width: how many runs the executor
-- runs at once (the batch size of Bayesian search).
function M.new(spec, opts)
   return setmetatable({ spec = spec, folder = opts.folder, width = opts.width or 1 }, Plan)
end

-- a seed for the proposals of one problem and optimizer: the same in every invocation
local function proposal_seed(spec, p, o)
   local h = sha256.hex(("%d|%s|%s"):format(spec.search_seed, p.name, o.name))
   return tonumber(h:sub(1, 8), 16)
end

local function read_json(path)
   local s = require("deepobs.files").read(path)
   if not s then return nil end
   local ok, v = pcall(cjson.decode, s)
   return ok and v or nil
end

--- The metric a problem is judged by in this sweep, and whether higher is better.
function M.metric(spec, problem)
   local analyzer = require "deepobs.analyzer.select"
   local m = spec.metric or analyzer.metric(problem.name)
   if not spec.metric and spec.options.validation then m = m:gsub("^test_", "valid_") end
   return m, analyzer.higher_is_better(m)
end

--- The final value of a result file's metric (its losses when it has no accuracies).
function M.final_value(path, metric)
   local d = read_json(path)
   if not d then return nil end
   local v = d[metric] or d[(metric:gsub("_accuracies$", "_losses"))]
   if type(v) ~= "table" or #v == 0 then return nil end
   return v[#v], d[metric] ~= nil
end

-- the runs of one setting (a point) of problem p and optimizer o, one per seed
function Plan:setting_runs(p, o, point)
   local out = {}
   for _, seed in ipairs(self.spec.seeds) do
      local opts = {}
      for k, v in pairs(self.spec.options) do opts[k] = v end
      for k, v in pairs(p.options) do opts[k] = v end
      for k, v in pairs(o.options) do opts[k] = v end
      local hp = {}
      for k, v in pairs(point) do if k ~= "lr" then hp[k] = v end end
      opts.problem, opts.optimizer, opts.lr, opts.hyperparams, opts.random_seed = p.what, o.what, point.lr, hp, seed
      local ok, run = pcall(resolve.run, opts)
      if not ok then
         local t = {}
         for k, v in pairs(point) do t[#t + 1] = ("%s %s"):format(k, tostring(v)) end
         table.sort(t)
         errors.usage(("run %s | %s | %s | seed %d: %s"):format(p.name, o.name, table.concat(t, ", "), seed,
            errors.describe(run)))
      end
      out[#out + 1] = {
         key = run.run_dir .. "/random_seed__" .. results.pyint(seed), problem = p.name, optimizer = o.name,
         point = point, seed = seed, opts = opts, run_dir = run.run_dir, folder = run.folder,
      }
   end
   return out
end

function Plan:trials_path(p, o) return ("%s/trials/%s__%s.json"):format(self.folder, p.name, o.name) end

-- Bayesian search: the stored proposals, plus a new batch when no stored one is unfinished
function Plan:bayes_points(p, o)
   local path = self:trials_path(p, o)
   local points = read_json(path) or {}
   if #points >= o.trials then return points end
   local metric, maximize = M.metric(self.spec, p)
   local observations, unfinished = {}, 0
   for _, point in ipairs(points) do
      local sum, n, pending = 0, 0, false
      for _, r in ipairs(self:setting_runs(p, o, point)) do
         local st = runstate.read(r.run_dir, r.seed)
         if st.state == "done" then
            local v = M.final_value(st.result, metric)
            if v then sum, n = sum + v, n + 1 end
         elseif st.state ~= "failed" then
            pending = true
         end
      end
      if pending then unfinished = unfinished + 1
      else observations[#observations + 1] = { point = point, value = n > 0 and sum / n or 0 / 0 } end
   end
   if unfinished > 0 then return points end
   local new = search.bayes(o.space, observations, math.min(self.width, o.trials - #points),
      { seed = (proposal_seed(self.spec, p, o) + #points) % 2 ^ 32, maximize = maximize })
   for _, point in ipairs(new) do points[#points + 1] = point end
   os.execute(("mkdir -p '%s/trials'"):format(self.folder:gsub("'", "'\\''")))
   results.write_atomic(path, results.encode(points))
   return points
end

function Plan:points(p, o)
   if o.search == "grid" then return search.grid(o.space) end
   if o.search == "random" then return search.random(o.space, o.trials, proposal_seed(self.spec, p, o)) end
   if o.search == "quasirandom" then return search.quasirandom(o.space, o.trials, proposal_seed(self.spec, p, o)) end
   return self:bayes_points(p, o)
end

--- Every run of the sweep (as far as Bayesian search has proposed), in a fixed order:
-- problems, then optimizers, then settings, then seeds. Two settings that DeepOBS names
-- alike (the same result folder) are one run.
function Plan:runs()
   local out, seen = {}, {}
   for _, p in ipairs(self.spec.problems) do
      for _, o in ipairs(self.spec.optimizers) do
         for _, point in ipairs(self:points(p, o)) do
            for _, r in ipairs(self:setting_runs(p, o, point)) do
               if not seen[r.key] then
                  seen[r.key] = true
                  out[#out + 1] = r
               end
            end
         end
      end
   end
   return out
end

--- Each run's state from its files (deepobs.runstate), the folders listed once.
function M.states(runs)
   local names = {}
   for _, r in ipairs(runs) do
      names[r.run_dir] = names[r.run_dir] or runstate.names_in(r.run_dir)
      r.status = runstate.read(r.run_dir, r.seed, names[r.run_dir])
   end
   return runs
end

--- A short description of a run: problem | optimizer | hyperparameters | seed.
function M.label(r)
   local t = {}
   for k, v in pairs(r.point) do
      t[#t + 1] = ("%s %s"):format(k, type(v) == "number" and results.float2str(v) or tostring(v))
   end
   table.sort(t, function(a, b)
      local ka, kb = a:match("^%S+"), b:match("^%S+")
      if (ka == "lr") ~= (kb == "lr") then return ka == "lr" end
      return a < b
   end)
   return ("%s | %s | %s | seed %d"):format(r.problem, r.optimizer, table.concat(t, ", "), r.seed)
end

return M
