--- Choosing the metric of a problem and the best setting of an optimizer (DeepOBS 1.1 / 1.2).
--
--    local select = require "deepobs.analyzer.select"
--    select.metric("mnist_vae")                  --> "test_losses"
--    select.best(optimizer_entry, "final")       --> Setting, ranking (all settings, best first)
--
-- Modes: "final" ranks by the final value of the mean curve, "best" by the best value the
-- mean curve ever reached, "most" by the number of seeds, falling back to "final" when all
-- settings have as many seeds (1.2's rule) and to the final value among equally many seeds.
-- A NaN value never wins (DeepOBS compares with NaN and gets false).
local M = {}

-- the problems DeepOBS ranks by test loss (1.1's analyzer; 1.2's config)
local BY_LOSS = { quadratic_deep = true, mnist_vae = true, fmnist_vae = true }

-- DeepOBS's tables and legends put SGD, Momentum and Adam first
local FIRST = { GradientDescentOptimizer = 1, SGD = 1, MomentumOptimizer = 2, Momentum = 2, AdamOptimizer = 3, Adam = 3 }

--- Sorts optimizer names in place, SGD, Momentum and Adam first, then by name; returns them.
function M.optimizer_order(names)
   table.sort(names, function(a, b)
      local fa, fb = FIRST[a] or 99, FIRST[b] or 99
      if fa ~= fb then return fa < fb end
      return a < b
   end)
   return names
end

--- True for accuracies, false for losses.
function M.higher_is_better(metric)
   return (metric or ""):find("accurac") ~= nil
end

-- 1.2's _determine_available_metric: accuracies fall back to losses of the same split,
-- then to test_losses
local FALLBACK = {
   test_accuracies = { "test_accuracies", "test_losses" },
   valid_accuracies = { "valid_accuracies", "valid_losses", "test_losses" },
   valid_losses = { "valid_losses", "test_losses" },
   train_accuracies = { "train_accuracies", "train_losses", "test_losses" },
}

--- The metric a problem is judged by; with a setting, the first of 1.2's fallbacks that the
-- setting has (a problem without accuracy falls back to test_losses).
function M.metric(problem_name, setting, wanted)
   local m = wanted or (BY_LOSS[problem_name] and "test_losses" or "test_accuracies")
   if setting == nil or setting.stats == nil then return m end
   for _, c in ipairs(FALLBACK[m] or { m, "test_losses" }) do
      if setting.stats[c] then return c end
   end
   return m
end

--- The metric for an optimizer entry: the default unless none of its settings has it.
local function entry_metric(entry, wanted)
   local s1 = entry.settings[1]
   local default = M.metric(s1 and s1.problem, nil, wanted)
   for _, s in ipairs(entry.settings) do
      if s.stats[default] then return default end
   end
   return M.metric(s1 and s1.problem, s1, wanted)
end
M.entry_metric = entry_metric

--- The one metric of a whole problem entry ({ name, optimizers }): the problem's default (or
-- wanted) unless none of its settings has it, then 1.2's fallback of the first optimizer by
-- name. The performance table and every figure of the problem use it.
function M.problem_metric(problem, wanted)
   local m = M.metric(problem and problem.name, nil, wanted)
   local names = {}
   for name, o in pairs(problem and problem.optimizers or {}) do
      names[#names + 1] = name
      for _, s in ipairs(o.settings or {}) do
         if s.stats and s.stats[m] then return m end
      end
   end
   if #names == 0 then return m end
   table.sort(names)
   return entry_metric(problem.optimizers[names[1]], wanted)
end

--- Final value of the mean curve of a setting's metric (NaN when absent).
function M.final_value(setting, metric)
   local st = setting.stats[metric]
   if not st or #st.mean == 0 then return 0 / 0 end
   return st.mean[#st.mean]
end

--- Best value of the mean curve (max for accuracies, min for losses); as numpy's max/min a
-- NaN anywhere gives NaN.
function M.best_value(setting, metric)
   local st = setting.stats[metric]
   if not st or #st.mean == 0 then return 0 / 0 end
   local hib = M.higher_is_better(metric)
   local b = st.mean[1]
   for _, v in ipairs(st.mean) do
      if v ~= v then return 0 / 0 end
      if (hib and v > b) or (not hib and v < b) then b = v end
   end
   return b
end

-- a is better than b (NaN is worse than everything)
local function better(a, b, hib)
   if a ~= a then return false end
   if b ~= b then return true end
   if hib then return a > b end
   return a < b
end
M.better = better

--- The best setting of an optimizer entry ({ settings = {...} }) under mode ("final" default,
-- "best", "most") and metric (default: the problem's). Returns the setting and the ranking
-- (a new list, best first), or nil when the entry has no settings.
function M.best(entry, mode, metric)
   mode = mode or "final"
   if mode ~= "final" and mode ~= "best" and mode ~= "most" then
      error(("unknown mode %q: use final, best or most"):format(tostring(mode)), 2)
   end
   if entry == nil or entry.settings == nil or #entry.settings == 0 then return nil, {} end
   metric = metric or entry_metric(entry)
   local hib = M.higher_is_better(metric)
   local value = mode == "best" and M.best_value or M.final_value
   local ranked, key = {}, {}
   for i, s in ipairs(entry.settings) do
      ranked[i] = s
      key[s] = { v = value(s, metric), n = #s.runs, i = i }
   end
   local by_count = false
   if mode == "most" then
      for _, s in ipairs(entry.settings) do
         if #s.runs ~= #entry.settings[1].runs then by_count = true end
      end
   end
   table.sort(ranked, function(a, b)
      local ka, kb = key[a], key[b]
      if by_count and ka.n ~= kb.n then return ka.n > kb.n end
      if better(ka.v, kb.v, hib) then return true end
      if better(kb.v, ka.v, hib) then return false end
      return ka.i < kb.i
   end)
   return ranked[1], ranked
end

--- The rule by which M.best chose a setting, in words: every table, figure and page that
-- shows a chosen setting names it, so that the printed table and the report are seen to agree.
function M.rule(mode, metric)
   mode = mode or "final"
   local best = M.higher_is_better(metric) and "highest" or "lowest"
   local m = tostring(metric):gsub("_", " ")
   if mode == "best" then
      return ("mode best: the setting whose mean over seeds has the %s %s at any epoch"):format(best, m)
   elseif mode == "most" then
      return ("mode most: the setting with the most seeds; among those, the %s final %s (mean over seeds)")
         :format(best, m)
   end
   return ("mode final: the setting with the %s final %s (mean over seeds)"):format(best, m)
end

return M
