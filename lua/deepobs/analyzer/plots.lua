--- The analyzer's figures as SVG strings (spec §D): the per-problem four-panel figure
-- (DeepOBS 1.2's plot_optimizer_performance), the P1-P4 / P5-P8 overview grids
-- (1.1's plot_performance), learning-rate and other hyperparameter sensitivity and
-- minibatch-loss curves. Consumes the structures of results.load (see
-- lua/deepobs/analyzer/results.lua); the baselines are drawn in grey.
local svg = require "deepobs.analyzer.svg"
local sets = require "problems.sets"

local M = {}

M.PANELS = {
   { key = "test_losses", title = "test loss", ylabel = "loss" },
   { key = "train_losses", title = "train loss", ylabel = "loss" },
   { key = "test_accuracies", title = "test accuracy", ylabel = "accuracy" },
   { key = "train_accuracies", title = "train accuracy", ylabel = "accuracy" },
}

local select = require "deepobs.analyzer.select"

local function sorted_keys(t)
   local ks = {}
   for k in pairs(t or {}) do ks[#ks + 1] = k end
   table.sort(ks)
   return ks
end
M.sorted_keys = sorted_keys

--- The optimizer names of a problem (those in `only`, if given) in DeepOBS's order.
function M.optimizer_order(optimizers, only)
   local names = {}
   for k in pairs(optimizers or {}) do
      if not only or only[k] then names[#names + 1] = k end
   end
   return select.optimizer_order(names)
end

local function last(a) return a and a[#a] end

--- "fmnist_2c2d (P3 F-MNIST - CNN)" for a benchmark-set member, else the name.
function M.title(problem_name)
   for _, set_name in ipairs(sets.order) do
      for _, m in ipairs(sets[set_name]) do
         if m.name == problem_name then return string.format("%s (%s)", problem_name, m.title) end
      end
   end
   return problem_name
end

M.higher_is_better = select.higher_is_better

local function has_metric(problem, key)
   for _, opt in pairs(problem and problem.optimizers or {}) do
      for _, s in ipairs(opt.settings or {}) do
         if s.stats and s.stats[key] and #s.stats[key].mean > 0 then return true end
      end
   end
   return false
end
M.has_metric = has_metric

--- The metric a problem is ranked by (select.metric: DeepOBS's choice with 1.2's fallbacks).
function M.metric(problem_name, setting) return select.metric(problem_name, setting) end

local function problem_metric(problem)
   local m = M.metric(problem.name, nil)
   if not has_metric(problem, m) then
      for _, k in ipairs({ "test_accuracies", "test_losses", "train_losses" }) do
         if has_metric(problem, k) then return k end
      end
   end
   return m
end
M.problem_metric = problem_metric

local function runs_of(s)
   if s.runs and #s.runs > 0 then return #s.runs end
   for _, k in ipairs({ "test_losses", "test_accuracies", "train_losses", "train_accuracies" }) do
      if s.stats and s.stats[k] then return s.stats[k].n or 0 end
   end
   return 0
end

local function best_value(mean, higher)
   local b
   for _, v in ipairs(mean) do
      if svg.finite(v) and (b == nil or (higher and v > b) or (not higher and v < b)) then b = v end
   end
   return b
end

--- The setting drawn for an optimizer (select.best: mode "final" | "best" | "most").
function M.choose(opt, mode, metric) return select.best(opt, mode or "final", metric) end

local function epochs(n)
   local xs = {}
   for i = 1, n do xs[i] = i - 1 end
   return xs
end

-- mean +- std (or min-max) band; a +-std band is kept inside the values' natural range
-- (not below 0 where no run went below 0, not above 1 for accuracies) so it does not
-- stretch the axis to impossible values
local function band_of(st, band, key)
   if band == "minmax" then return st.min, st.max end
   local acc = key and key:find("accurac") ~= nil
   local lo, hi = {}, {}
   for i = 1, #st.mean do
      local s = st.std and st.std[i] or 0
      lo[i], hi[i] = st.mean[i] - s, st.mean[i] + s
      if st.min and st.min[i] and st.min[i] >= 0 and lo[i] < 0 then lo[i] = 0 end
      if acc and hi[i] > 1 then hi[i] = 1 end
   end
   return lo, hi
end

local function fmt_lr(lr)
   if lr == nil then return "no lr" end
   return string.format("%.2e", lr)
end
M.fmt_lr = fmt_lr

-- the optimizers' curves (and the baselines') for one metric into a panel; returns
-- the legend entries it drew
local function draw_metric(panel, chosen, base_chosen, key, band)
   local legend = {}
   for _, e in ipairs(base_chosen) do
      local st = e.setting.stats and e.setting.stats[key]
      if st and #st.mean > 0 then
         local xs = epochs(#st.mean)
         panel:line(xs, st.mean, { color = svg.GREY, dash = "5,3", width = "1.2", class = "baseline",
            label = e.name .. " (baseline)" })
      end
      legend[#legend + 1] = { label = e.name .. " (baseline)", color = svg.GREY, dash = "5,3" }
   end
   for _, e in ipairs(chosen) do
      local st = e.setting.stats and e.setting.stats[key]
      if st and #st.mean > 0 then
         local xs = epochs(#st.mean)
         if (st.n or 1) > 1 then
            local lo, hi = band_of(st, band, key)
            panel:band(xs, lo, hi, { color = e.color, label = e.name })
         end
         panel:line(xs, st.mean, { color = e.color, label = e.name })
      end
      legend[#legend + 1] = { label = string.format("%s (lr %s, %d runs)", e.name, fmt_lr(e.setting.lr),
         runs_of(e.setting)), color = e.color }
   end
   return legend
end

local function chosen_settings(problem, opts, metric, grey)
   local out = {}
   if not problem then return out end
   local only
   if opts.optimizers and not grey then
      only = {}
      for _, n in ipairs(opts.optimizers) do only[n] = true end
   end
   for i, name in ipairs(M.optimizer_order(problem.optimizers, only)) do
      local s = M.choose(problem.optimizers[name], opts.mode, metric)
      if s then
         out[#out + 1] = { name = name, setting = s, color = svg.PALETTE[(i - 1) % #svg.PALETTE + 1] }
      end
   end
   return out
end
M.chosen_settings = chosen_settings

--- Four panels (test loss, train loss, test accuracy, train accuracy vs epochs) for
-- one problem: per optimizer the mean over seeds of its chosen setting with a +-std
-- (opts.band = "std", default) or min-max (opts.band = "minmax") band; the baseline
-- problem's chosen settings in grey. Accuracy panels are left out when the problem
-- has no accuracy. opts: mode, band, optimizers (names), width, height, title, id.
function M.problem_figure(problem, base, opts)
   opts = opts or {}
   local metric = problem_metric(problem)
   local chosen = chosen_settings(problem, opts, metric, false)
   local base_chosen = chosen_settings(base, { mode = opts.mode_baselines or opts.mode }, metric, true)
   local panels = {}
   for _, p in ipairs(M.PANELS) do
      if has_metric(problem, p.key) or has_metric(base, p.key) then panels[#panels + 1] = p end
   end
   local cols = 2
   local rows = math.max(1, math.ceil(#panels / cols))
   local fig = svg.figure{ width = opts.width or 900, height = opts.height or (rows * 260 + 30 + 40),
      title = opts.title or M.title(problem.name), id = opts.id or ("fig-" .. problem.name) }
   local grid = fig:grid(rows, cols, { bottom = 40 })
   local legend
   for i, p in ipairs(panels) do
      local panel = grid[math.floor((i - 1) / cols) + 1][(i - 1) % cols + 1]
      panel.title, panel.xlabel, panel.ylabel = p.title, "epoch", p.ylabel
      legend = draw_metric(panel, chosen, base_chosen, p.key, opts.band)
   end
   if #panels == 0 then grid[1][1]:note("no per-epoch results") end
   fig:legend(legend or {}, 10, fig.height - 22)
   return fig:render()
end

-- percentile of an array (linear interpolation), for the overview's y rescaling
local function percentile(vals, q)
   local v = {}
   for _, x in ipairs(vals) do if svg.finite(x) then v[#v + 1] = x end end
   if #v == 0 then return nil end
   table.sort(v)
   local pos = 1 + (#v - 1) * q
   local i = math.floor(pos)
   local f = pos - i
   if i >= #v then return v[#v] end
   return v[i] + f * (v[i + 1] - v[i])
end
M.percentile = percentile

--- The overview grid for a benchmark set ("small": P1-P4, "large": P5-P8): rows test
-- loss, train loss, test accuracy, train accuracy; a column per problem; the chosen
-- setting's mean +- std per optimizer; baselines in grey. Like DeepOBS 1.1 the y axis
-- shows the 20th-80th percentile band of the curves widened by x0.9 / x1.1 (and the
-- final values), so the interesting range is not squashed by the first epochs.
-- opts: mode, band, optimizers, mode_baselines (default "most", as 1.1), conv_perf
-- ({ [problem] = value }: 1.1's convergence performance, a grey horizontal line in the
-- panel of the problem's metric).
function M.overview(col, baselines, set_name, opts)
   opts = opts or {}
   local set = assert(sets[set_name], "overview: unknown benchmark set " .. tostring(set_name))
   local fig = svg.figure{ width = opts.width or 1200, height = opts.height or 950,
      title = string.format("DeepOBS %s benchmark set", set_name), id = opts.id or ("overview-" .. set_name) }
   local grid = fig:grid(4, #set, { bottom = 40 })
   local legend_by_name, legend = {}, {}
   for j, member in ipairs(set) do
      local problem = col and col.problems and col.problems[member.name]
      local base = baselines and baselines.problems and baselines.problems[member.name]
      local metric = member.metric
      local chosen = chosen_settings(problem, opts, metric, false)
      local base_chosen = chosen_settings(base, { mode = opts.mode_baselines or "most" }, metric, true)
      for i, p in ipairs(M.PANELS) do
         local panel = grid[i][j]
         panel.title = (i == 1) and member.title or nil
         panel.xlabel = (i == 4) and "epoch" or nil
         panel.ylabel = (j == 1) and p.title or nil
         if not (has_metric(problem, p.key) or has_metric(base, p.key)) then
            panel:note((problem or base) and ("no " .. p.title) or "no results")
         else
            local entries = draw_metric(panel, chosen, base_chosen, p.key, opts.band)
            for _, e in ipairs(entries) do
               local name = e.label:match("^(%S+)")
               local lbl = e.color == svg.GREY and (name .. " (baseline)") or name
               if not legend_by_name[lbl] then
                  legend_by_name[lbl] = true
                  legend[#legend + 1] = { label = lbl, color = e.color, dash = e.dash }
               end
            end
            local vals, finals = {}, {}
            for _, it in ipairs(panel.items) do
               if it.kind == "line" then
                  for _, v in ipairs(it.ys) do vals[#vals + 1] = v end
                  finals[#finals + 1] = last(it.ys)
               end
            end
            local cp = opts.conv_perf and opts.conv_perf[member.name]
            if cp and p.key == metric and svg.finite(cp) then
               panel:hline(cp, { color = svg.GREY, width = "1.4", class = "conv-perf" })
               finals[#finals + 1] = cp
            end
            local lo, hi = percentile(vals, 0.2), percentile(vals, 0.8)
            if lo and hi then
               for _, v in ipairs(finals) do
                  if svg.finite(v) then lo, hi = math.min(lo, v), math.max(hi, v) end
               end
               lo, hi = lo * (lo > 0 and 0.9 or 1.1), hi * (hi > 0 and 1.1 or 0.9)
               if p.key:find("accurac") then hi = math.min(hi, 1) end
               if hi > lo then panel.ylim = { lo, hi } end
            end
         end
      end
   end
   fig:legend(legend, 10, fig.height - 22)
   return fig:render()
end

local function final_of(s, metric, mode, higher)
   local st = s.stats and s.stats[metric]
   if not st then return nil end
   if mode == "best" then return best_value(st.mean, higher) end
   return last(st.mean)
end

-- one sensitivity figure: x = get_x(setting), y = final (or best) mean metric, a line
-- per optimizer through its settings sorted by x, each seed's final value as crosses
local function sensitivity(problem, get_x, xname, opts)
   opts = opts or {}
   local metric = opts.metric or problem_metric(problem)
   local higher = M.higher_is_better(metric)
   local fig = svg.figure{ width = opts.width or 640, height = opts.height or 430,
      title = opts.title or string.format("%s: %s vs %s", problem.name, metric, xname), id = opts.id }
   local panel = fig:panel{ x = 0, y = 30, w = fig.width, h = fig.height - 70, xlabel = xname,
      ylabel = string.format("%s%s %s", opts.relative and "relative " or "", opts.mode == "best" and "best" or "final",
         (metric:gsub("_", " "))),
      xlog = opts.xlog ~= false and opts.xscale ~= "linear", title = nil }
   local legend, diverged = {}, 0
   local function add(prob, grey, only)
      for i, name in ipairs(M.optimizer_order(prob.optimizers, only)) do
         local pts = {}
         local settings = prob.optimizers[name].settings or {}
         -- DeepOBS 1.1's relative performance: value / best (accuracy), best / value (loss)
         local best
         if opts.relative then
            for _, s in ipairs(settings) do
               local y = final_of(s, metric, opts.mode, higher)
               if svg.finite(y) and (best == nil or (higher and y > best) or (not higher and y < best)) then best = y end
            end
         end
         for _, s in ipairs(settings) do
            local x, y = get_x(s), final_of(s, metric, opts.mode, higher)
            if type(x) == "number" and y ~= nil then
               if not svg.finite(y) then
                  if not grey then diverged = diverged + 1 end
               else
                  if opts.relative and best then y = higher and y / best or best / y end
                  pts[#pts + 1] = { x = x, y = y, s = s }
               end
            end
         end
         table.sort(pts, function(a, b) return a.x < b.x end)
         if #pts > 0 then
            local xs, ys = {}, {}
            for k, p in ipairs(pts) do xs[k], ys[k] = p.x, p.y end
            local color = grey and svg.GREY or svg.PALETTE[(i - 1) % #svg.PALETTE + 1]
            local label = grey and (name .. " (baseline)") or name
            panel:line(xs, ys, { color = color, label = label, dash = grey and "5,3" or nil,
               class = grey and "baseline" or nil })
            panel:markers(xs, ys, { color = color, label = label })
            if not grey and opts.seeds ~= false and not opts.relative then
               local sx, sy = {}, {}
               for _, p in ipairs(pts) do
                  for _, r in ipairs(p.s.runs or {}) do
                     local v = r.data and r.data[metric]
                     if v and #v > 0 then sx[#sx + 1], sy[#sy + 1] = p.x, v[#v] end
                  end
               end
               if #sx > 0 then panel:markers(sx, sy, { color = color, shape = "x", label = label .. " seeds", class = "seeds" }) end
            end
            legend[#legend + 1] = { label = label, color = color, dash = grey and "5,3" or nil }
         end
      end
   end
   if opts.baseline then add(opts.baseline, true) end
   local only
   if opts.optimizers then only = {}; for _, n in ipairs(opts.optimizers) do only[n] = true end end
   add(problem, false, only)
   if #legend == 0 then panel:note("no settings with a value for " .. xname) end
   if diverged > 0 then panel:note(string.format("%d diverged setting(s) (NaN/Inf) not shown", diverged)) end
   if opts.relative then panel.ylim = { 0, 1.02 } end
   fig:legend(legend, 10, fig.height - 14)
   return fig:render()
end

--- Final (opts.mode = "best": best-ever) mean metric vs learning rate, log10 x axis,
-- one line per optimizer (DeepOBS 1.1's plot_lr_sensitivity). opts.baseline: the
-- baseline problem entry, drawn in grey; opts.relative: plot 1.1's relative
-- performance (value / best for accuracies, best / value for losses, y in [0, 1]).
-- Diverged settings (a NaN/Inf final value) are counted in a note.
function M.lr_sensitivity(problem, opts)
   return sensitivity(problem, function(s) return s.lr end, "learning rate", opts)
end

--- The metric vs any optimizer hyperparameter (DeepOBS 1.2's
-- plot_hyperparameter_sensitivity); opts.xscale = "log" | "linear" (default linear).
-- "lr", "batch_size" and "weight_decay" are read from the setting itself.
function M.hp_sensitivity(problem, hp, opts)
   opts = opts or {}
   local o = {}
   for k, v in pairs(opts) do o[k] = v end
   o.xlog = opts.xscale == "log"
   local function get(s)
      if hp == "lr" then return s.lr end
      if s[hp] ~= nil and type(s[hp]) == "number" then return s[hp] end
      return s.hyperparams and tonumber(s.hyperparams[hp])
   end
   return sensitivity(problem, get, hp, o)
end

--- Minibatch training losses of each optimizer's chosen setting vs training step
-- (logged every train_log_interval steps; mean over seeds, min-max band). Long curves are thinned to at most opts.max_points
-- (default 1000) evenly spaced points, always keeping the first and last.
function M.minibatch_losses(problem, opts)
   opts = opts or {}
   local metric = problem_metric(problem)
   local fig = svg.figure{ width = opts.width or 760, height = opts.height or 430,
      title = opts.title or (problem.name .. ": minibatch training loss"), id = opts.id or ("mb-" .. problem.name) }
   local panel = fig:panel{ x = 0, y = 30, w = fig.width, h = fig.height - 70, xlabel = "iteration",
      ylabel = "minibatch loss", ylog = opts.ylog or false }
   local maxp = opts.max_points or 1000
   local legend = {}
   -- a setting's runs log every train_log_interval steps (1 in the baselines, 10 by default here)
   local function interval(setting)
      local r = setting.runs and setting.runs[1]
      local v = r and r.data and tonumber(r.data.train_log_interval)
      return (v and v >= 1) and v or 1
   end
   local function thin(st, step)
      local n = #st.mean
      local idx = {}
      if n <= maxp then
         for i = 1, n do idx[i] = i end
      else
         for k = 0, maxp - 1 do idx[#idx + 1] = 1 + math.floor(k * (n - 1) / (maxp - 1) + 0.5) end
      end
      local xs, m, lo, hi = {}, {}, {}, {}
      for k, i in ipairs(idx) do
         xs[k], m[k] = (i - 1) * step, st.mean[i]
         lo[k], hi[k] = st.min and st.min[i] or st.mean[i], st.max and st.max[i] or st.mean[i]
      end
      return xs, m, lo, hi
   end
   local function add(entries, grey)
      for _, e in ipairs(entries) do
         local st = e.setting.stats and e.setting.stats.minibatch_train_losses
         if st and #st.mean > 0 then
            local xs, m, lo, hi = thin(st, interval(e.setting))
            local color = grey and svg.GREY or e.color
            local label = grey and (e.name .. " (baseline)") or e.name
            if not grey and (st.n or 1) > 1 then panel:band(xs, lo, hi, { color = color, label = label, opacity = "0.15" }) end
            panel:line(xs, m, { color = color, label = label, width = "1", dash = grey and "5,3" or nil,
               class = grey and "baseline" or nil })
            legend[#legend + 1] = { label = label, color = color, dash = grey and "5,3" or nil }
         end
      end
   end
   if opts.baseline then add(chosen_settings(opts.baseline, { mode = opts.mode }, metric, true), true) end
   add(chosen_settings(problem, opts, metric, false), false)
   if #legend == 0 then panel:note("no minibatch losses recorded") end
   fig:legend(legend, 10, fig.height - 14)
   return fig:render()
end

return M
