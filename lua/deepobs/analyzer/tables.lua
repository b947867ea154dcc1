--- DeepOBS's performance / speed / tuneability table, per problem and optimizer.
--
--    local tables = require "deepobs.analyzer.tables"
--    local t = tables.build(col, baselines, { mode = "final" })
--    print(tables.text(t))        -- also tables.markdown(t), tables.csv(t), tables.json(t)
--
-- Performance: the final (modes final, most) or best (mode best) value of the mean curve of
-- the chosen setting (select.best; the rule is named in every caption, p.rule). Speed: the
-- mean over the seeds that reach the target of the first epoch (0 = untrained) whose metric
-- reaches it (>= for accuracies, <= for losses), with the seconds of training to that epoch
-- where the files have epoch_times; beside it how many seeds reached it. A setting none of
-- whose seeds reaches the target has no speed: it reads "not reached" (DeepOBS 1.1 counted
-- such a run as N + 1 epochs, a number that looks like a result). The target is the
-- problem's value in opts.targets, else its entry of the baselines' convergence_performance.json
-- (1.1's file), else the best final value among the chosen settings of the reference
-- optimizers (the baselines; without baselines the optimizers of the results themselves).
-- Tuneability: the chosen setting's lr ({:0.2e}) and hyperparameters.
local select = require "deepobs.analyzer.select"
local rs = require "deepobs.analyzer.results"
local target_mod = require "deepobs.analyzer.target"
local textfmt = require "deepobs.analyzer.textfmt"
local jsonw = require "deepobs.results"
local sets = require "deepobs.sets"

local M = {}

local opt_order = select.optimizer_order

-- the benchmark sets' order (P1..P8) first, then the other problems alphabetically
local function problem_order(names)
   local rank, title = {}, {}
   local i = 0
   for _, set in ipairs(sets.order) do
      for _, m in ipairs(sets[set]) do
         i = i + 1
         rank[m.name], title[m.name] = rank[m.name] or i, m.title
      end
   end
   table.sort(names, function(a, b)
      local ra, rb = rank[a] or 1e9, rank[b] or 1e9
      if ra ~= rb then return ra < rb end
      return a < b
   end)
   return names, title
end

--- Speed of a setting: the mean epochs and mean seconds over the runs that reached the
-- target (nil when none did; seconds nil when one of them has no epoch_times) and how many
-- runs reached it.
function M.speed(setting, metric, target)
   if target == nil or target ~= target then return nil, nil, 0 end
   local t = target_mod.setting_times(setting, metric, target)
   return t.mean_epochs, t.mean_seconds, t.reached
end

local fmt_hp
fmt_hp = function(v)
   if type(v) == "number" then return ("%g"):format(v) end
   if type(v) == "boolean" then return v and "True" or "False" end
   if type(v) == "table" then
      local parts = {}
      for i, x in ipairs(v) do parts[i] = fmt_hp(x) end
      return "[" .. table.concat(parts, " ") .. "]"
   end
   return tostring(v)
end

--- "lr 2.51e-04, beta1 0.9, ..." for a setting.
function M.tuneability(setting)
   local parts = {}
   if setting.lr then parts[1] = ("lr %.2e"):format(setting.lr) end
   for _, k in ipairs(rs.names(setting.hyperparams)) do
      parts[#parts + 1] = k .. " " .. fmt_hp(setting.hyperparams[k])
   end
   if setting.lr_sched_epochs then
      parts[#parts + 1] = "lr_sched_epochs " .. table.concat(setting.lr_sched_epochs, "/")
      parts[#parts + 1] = "lr_sched_factors " .. table.concat(setting.lr_sched_factors or {}, "/")
   end
   return table.concat(parts, ", ")
end

local function row_for(entry, mode, metric, baseline)
   local s = select.best(entry, mode, metric)
   local perf = mode == "best" and select.best_value(s, metric) or select.final_value(s, metric)
   local st = s.stats[metric]
   return {
      optimizer = entry.name, baseline = baseline, setting = s, folder = s.folder, entry = entry,
      n_settings = #entry.settings, seeds = #s.runs, diverged = s.diverged or 0,
      performance = perf, performance_std = st and st.std[#st.std] or nil,
      lr = s.lr, hyperparams = s.hyperparams, tuneability = M.tuneability(s),
   }
end

--- Builds the table: { kind = "performance", mode, problems = { { name, title, metric, target,
-- target_source, rule (select.rule: how the settings were chosen, in words), rows = {
-- { optimizer, baseline, performance, performance_std, speed, speed_seconds, reached, seeds,
-- n_settings, lr, hyperparams, tuneability, folder, setting, entry (all its settings) }, ... } } } }.
-- opts: mode ("final"), metric (default: the problem's, see select.metric; 1.2's fallbacks
-- apply when no optimizer has it), problems / optimizers (name lists: filters on col), targets
-- (problem -> number, overriding the computed ones).
function M.build(col, baselines, opts)
   opts = opts or {}
   if baselines == col then baselines = nil end -- analysing the baselines themselves
   local mode = opts.mode or "final"
   local pf, of = rs.set_of(opts.problems), rs.set_of(opts.optimizers)
   local names = {}
   for name in pairs(col.problems) do
      if not pf or pf[name] then names[#names + 1] = name end
   end
   local title
   names, title = problem_order(names)
   local out = { kind = "performance", mode = mode, problems = {} }
   for _, pname in ipairs(names) do
      local p = col.problems[pname]
      local bp = baselines and baselines.problems[pname]
      local onames = {}
      for oname in pairs(p.optimizers) do
         if not of or of[oname] then onames[#onames + 1] = oname end
      end
      opt_order(onames)
      local bnames = bp and opt_order(rs.names(bp.optimizers)) or {}
      local metric = select.problem_metric(p, opts.metric)
      local rows = {}
      for _, b in ipairs(bnames) do rows[#rows + 1] = row_for(bp.optimizers[b], mode, metric, true) end
      for _, o in ipairs(onames) do rows[#rows + 1] = row_for(p.optimizers[o], mode, metric, false) end

      local target, source
      if opts.targets and opts.targets[pname] then
         target, source = opts.targets[pname], "given"
      elseif baselines and baselines.convergence_performance and baselines.convergence_performance[pname] then
         target, source = baselines.convergence_performance[pname], "convergence_performance.json"
      else
         -- the best final value (in mode best too: a target is where a run ends up)
         local hib = select.higher_is_better(metric)
         for _, r in ipairs(rows) do
            local final = select.final_value(r.setting, metric)
            if r.baseline == (bp ~= nil) and select.better(final, target or 0 / 0, hib) then
               target, source = final, (bp and "best baseline " or "best ") .. r.optimizer
            end
         end
      end
      for _, r in ipairs(rows) do
         r.speed, r.speed_seconds, r.reached = M.speed(r.setting, metric, target)
      end
      out.problems[#out.problems + 1] = {
         name = pname, title = title[pname], metric = metric, target = target, target_source = source, rows = rows,
         rule = select.rule(mode, metric),
      }
   end
   return out
end

---------------------------------------------------------------------------------------
-- output

local function num(x, digits)
   if x == nil then return "N.A." end
   if x ~= x then return "nan" end
   if x == math.huge then return "inf" end
   if x == -math.huge then return "-inf" end
   return ("%." .. (digits or 4) .. "f"):format(x)
end

-- the speed cell: "not reached" when no seed got there, "(2/3)" after a mean of only some seeds
local function speed_cell(r, v, digits)
   if (r.reached or 0) == 0 then return "not reached" end
   local x = num(v, digits)
   if r.reached < r.seeds then x = ("%s (%d/%d)"):format(x, r.reached, r.seeds) end
   return x
end

local function cells(r)
   local perf = num(r.performance)
   if r.performance_std and r.seeds > 1 and r.performance == r.performance then
      perf = perf .. " ± " .. num(r.performance_std)
   end
   return {
      textfmt.optimizer_label(r), perf, speed_cell(r, r.speed, 2),
      r.speed_seconds == nil and (r.reached or 0) > 0 and "N.A." or speed_cell(r, r.speed_seconds, 1),
      ("%d/%d"):format(r.reached or 0, r.seeds), tostring(r.n_settings), r.tuneability,
   }
end

local HEAD = { "optimizer", "performance", "speed (epochs)", "speed (s)", "seeds reached", "settings", "tuneability" }

local function problem_caption(p, mode)
   return ("%s: %s, mode %s, target %s (%s)"):format(textfmt.problem_label(p), p.metric, mode, num(p.target),
      p.target_source or "no reference")
end

-- the second caption line: how the settings were chosen and what speed means
local function rule_caption(p)
   return ("setting per optimizer: %s; speed: mean over the seeds that reach the target"):format(p.rule)
end

--- The cells of a problem's table as printed: { head = { ... }, rows = { { ... }, ... } } (the
-- report shows the same cells).
function M.grid(p) return textfmt.grid(HEAD, p.rows, cells) end

M.problem_caption, M.rule_caption = problem_caption, rule_caption

-- a problem's two caption lines in a table of the given mode
local function captions(mode)
   return function(p) return { problem_caption(p, mode), rule_caption(p) } end
end

--- Aligned plain text, one block per problem.
function M.text(t) return textfmt.problems_text(t.problems, captions(t.mode), M.grid) end

--- Markdown: a heading, the rule and a pipe table per problem.
function M.markdown(t) return textfmt.problems_markdown(t.problems, captions(t.mode), M.grid) end

local CSV_COLS = { "problem", "metric", "mode", "target", "optimizer", "baseline", "performance", "performance_std",
                   "speed_epochs", "speed_seconds", "seeds_reached", "seeds", "settings", "lr", "tuneability", "setting" }

--- CSV, one line per problem and optimizer (numbers at full precision).
function M.csv(t)
   local out = { table.concat(CSV_COLS, ",") }
   for _, p in ipairs(t.problems) do
      for _, r in ipairs(p.rows) do
         out[#out + 1] = textfmt.csv_line(p.name, p.metric, t.mode, p.target, r.optimizer, r.baseline and true or false,
            r.performance, r.performance_std, r.speed, r.speed_seconds, r.reached, r.seeds, r.n_settings, r.lr,
            r.tuneability, r.folder)
      end
   end
   return table.concat(out, "\n") .. "\n"
end

local jnum = textfmt.jnum

--- JSON: { mode, problems = [ { name, metric, target, rows = [ ... ] } ] } (NaN as null).
function M.json(t)
   local ps = {}
   for i, p in ipairs(t.problems) do
      local rows = {}
      for j, r in ipairs(p.rows) do
         local hp = {}
         for k, v in pairs(r.hyperparams or {}) do hp[k] = v end
         rows[j] = jsonw.object {
            { "optimizer", r.optimizer }, { "baseline", r.baseline }, { "performance", jnum(r.performance) },
            { "performance_std", jnum(r.performance_std) }, { "speed_epochs", jnum(r.speed) },
            { "speed_seconds", jnum(r.speed_seconds) }, { "seeds_reached", jsonw.int(r.reached or 0) },
            { "seeds", jsonw.int(r.seeds) }, { "diverged", jsonw.int(r.diverged or 0) }, { "settings", jsonw.int(r.n_settings) }, { "lr", jnum(r.lr) },
            { "hyperparams", next(hp) and hp or jsonw.object {} }, { "setting", r.folder },
         }
      end
      ps[i] = jsonw.object {
         { "problem", p.name }, { "metric", p.metric }, { "target", jnum(p.target) },
         { "target_source", p.target_source or jsonw.null }, { "rule", p.rule or jsonw.null },
         { "rows", jsonw.array(rows) },
      }
   end
   return jsonw.encode(jsonw.object { { "mode", t.mode }, { "problems", jsonw.array(ps) } }) .. "\n"
end

M.FORMATS = { text = M.text, md = M.markdown, markdown = M.markdown, csv = M.csv, json = M.json }

return M
