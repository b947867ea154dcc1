--- The analyzer's figures as SVG strings: the per-problem four-panel figure (DeepOBS 1.2's
-- plot_optimizer_performance), the P1-P4 / P5-P8 overview grids (1.1's plot_performance),
-- learning-rate and hyperparameter sensitivity and minibatch-loss curves. Consumes the
-- structures of results.load (see lua/deepobs/analyzer/results.lua).
--
--    local plots = require "deepobs.analyzer.plots"
--    local S = style.assign(col, baselines)                  -- one look per optimizer
--    local svg_text = plots.problem_figure(col.problems.quadratic_deep, baselines.problems.quadratic_deep,
--       { mode = "final", styles = S, chosen = table_rows })  -- rows of tables.build: the same settings
--
-- What keeps the figures from misleading:
-- - every optimizer has one colour in every figure drawn with the same opts.styles
--   (deepobs.analyzer.style); each baseline optimizer its own grey and dash pattern;
-- - the settings drawn are chosen by the performance table's rule (select.best with the same
--   mode and metric for the results and the baselines), or are the table's rows (opts.chosen);
-- - the y range of the curve panels comes from the informative part of the curves
--   (M.robust_range), and a panel that cuts values off says so at the clipped edge;
-- - a run shorter than the longest curve of its panel ends in a marker and its legend entry
--   says "ends at epoch N of M";
-- - a hyperparameter sensitivity figure shows one optimizer; where other hyperparameters vary
--   too, its line is the best setting at each value and every setting is a faint point.
local svg = require "deepobs.analyzer.svg"
local select = require "deepobs.analyzer.select"
local rs = require "deepobs.analyzer.results"
local style = require "deepobs.analyzer.style"
local sets = require "deepobs.sets"

local M = {}

M.PANELS = {
   { key = "test_losses", title = "test loss", ylabel = "loss" },
   { key = "train_losses", title = "train loss", ylabel = "loss" },
   { key = "test_accuracies", title = "test accuracy", ylabel = "accuracy" },
   { key = "train_accuracies", title = "train accuracy", ylabel = "accuracy" },
}

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

--- The metric of a whole problem entry, as the performance table takes it (select.problem_metric).
function M.problem_metric(problem, wanted) return select.problem_metric(problem, wanted) end

local function runs_of(s)
   if s.runs and #s.runs > 0 then return #s.runs end
   for _, k in ipairs({ "test_losses", "test_accuracies", "train_losses", "train_accuracies" }) do
      if s.stats and s.stats[k] then return s.stats[k].n or 0 end
   end
   return 0
end

--- The setting drawn for an optimizer (select.best: mode "final" | "best" | "most").
function M.choose(opt, mode, metric) return select.best(opt, mode or "final", metric) end

--- The settings a figure of one problem draws, as the performance table chooses them: the
-- baselines' first, then the results', each { optimizer, baseline, setting } chosen by
-- select.best with the same mode and metric. opts: mode, metric (default: the problem's, as
-- tables.build takes it), optimizers (names; filter the results, not the baselines).
function M.chosen(problem, base, opts)
   opts = opts or {}
   local metric = opts.metric_resolved or select.problem_metric(problem or base, opts.metric)
   local out = {}
   local function add(p, baseline, only)
      if not p then return end
      for _, name in ipairs(M.optimizer_order(p.optimizers, only)) do
         local s = select.best(p.optimizers[name], opts.mode or "final", metric)
         if s then out[#out + 1] = { optimizer = name, baseline = baseline, setting = s, entry = p.optimizers[name] } end
      end
   end
   if base ~= problem then add(base, true) end
   add(problem, false, rs.set_of(opts.optimizers))
   return out, metric
end

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

-- percentile of an array (linear interpolation)
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

--- The informative y range of a set of curves (lists of y values over epochs or steps):
-- the first tenth of each curve (at least its first point, the untrained model) is left
-- out of the range, and of the rest the outlying 20% on the bad side (above, for a loss;
-- below, for an accuracy); every curve's final value stays inside, as do the best values.
-- Where that range is more than a third of the full one, the full range is taken (nothing
-- is cut off for little gain). Padded by 5% (not below 0 for curves that never are). Returns lo, hi, the highest value
-- above hi and the lowest below lo (nil where nothing is cut off); nil when the curves give
-- no range (then the axis fits all values).
function M.robust_range(curves, higher_is_better)
   local vals, finals, all = {}, {}, {}
   for _, c in ipairs(curves) do
      local n = #c
      local skip = math.max(1, math.floor(0.1 * (n - 1)))
      if n == 1 then skip = 0 end
      for i = 1, n do
         if svg.finite(c[i]) then
            all[#all + 1] = c[i]
            if i > skip then vals[#vals + 1] = c[i] end
         end
      end
      if svg.finite(c[n]) then finals[#finals + 1] = c[n] end
   end
   if #vals == 0 then return nil end
   local lo, hi
   if higher_is_better then
      lo, hi = percentile(vals, 0.2), -math.huge
      for _, v in ipairs(vals) do hi = math.max(hi, v) end
   else
      lo, hi = math.huge, percentile(vals, 0.8)
      for _, v in ipairs(vals) do lo = math.min(lo, v) end
   end
   for _, v in ipairs(finals) do lo, hi = math.min(lo, v), math.max(hi, v) end
   if not (hi > lo) then return nil end
   local amin, amax = math.huge, -math.huge
   for _, v in ipairs(all) do amin, amax = math.min(amin, v), math.max(amax, v) end
   -- clip only where it magnifies the informative part at least 3 times
   if amax - amin <= 3 * (hi - lo) then lo, hi = amin, amax end
   local pad = 0.05 * (hi - lo)
   local nonneg = amin >= 0
   lo, hi = lo - pad, hi + pad
   if nonneg and lo < 0 then lo = 0 end
   local above, below
   for _, v in ipairs(all) do
      if v > hi and (above == nil or v > above) then above = v end
      if v < lo and (below == nil or v < below) then below = v end
   end
   return lo, hi, above, below
end

-- sets a panel's y range from the curves it holds (their lines), with the clip note
local function fit_y(panel, higher_is_better, extra)
   local curves = {}
   for _, it in ipairs(panel.items) do
      if it.kind == "line" then curves[#curves + 1] = it.ys end
   end
   if extra then curves[#curves + 1] = { extra } end
   local lo, hi, above, below = M.robust_range(curves, higher_is_better)
   if not lo then return end
   panel.ylim = { lo, hi }
   if above then panel:clip_note("clipped, max " .. svg.fmt(above), "above") end
   if below then panel:clip_note("clipped, min " .. svg.fmt(below), "below") end
end

local function legend_of(st, label)
   return { label = label, color = st.color, dash = st.dash, key = st.key }
end

-- the label of a drawn setting: name, lr, runs, and how far a short run went
local function row_label(r, longest)
   local st = r.setting.stats or {}
   local n = 0
   for _, k in ipairs({ "test_losses", "test_accuracies", "train_losses" }) do
      if st[k] then n = math.max(n, #st[k].mean) end
   end
   local text = string.format("%s (%slr %s, %d run%s", r.optimizer, r.baseline and "baseline, " or "", fmt_lr(r.setting.lr),
      runs_of(r.setting), runs_of(r.setting) == 1 and "" or "s")
   if n > 0 and longest and n < longest then
      text = text .. string.format(", ends at epoch %d of %d", n - 1, longest - 1)
   end
   return text .. ")"
end

-- the longest curve of a metric among the drawn settings
local function longest_of(rows, keys)
   local m = 0
   for _, r in ipairs(rows) do
      for _, key in ipairs(keys) do
         local st = r.setting.stats and r.setting.stats[key]
         if st then m = math.max(m, #st.mean) end
      end
   end
   return m
end

-- one metric's curves into a panel: baselines first (under), then the results with their
-- bands; a result shorter than the longest curve ends in a marker
local function draw_metric(panel, rows, key, band, S, longest)
   local short = false
   for pass = 1, 2 do
      for _, r in ipairs(rows) do
         local st = r.setting.stats and r.setting.stats[key]
         if st and #st.mean > 0 and (pass == 1) == r.baseline then
            local sty = style.of(S, r.optimizer, r.baseline)
            local xs = epochs(#st.mean)
            if not r.baseline and (st.n or 1) > 1 then
               local lo, hi = band_of(st, band, key)
               panel:band(xs, lo, hi, { color = sty.color, label = r.optimizer, key = sty.key })
            end
            panel:line(xs, st.mean, { color = sty.color, dash = sty.dash, width = sty.width, key = sty.key,
               class = r.baseline and "baseline" or nil, label = sty.label })
            if not r.baseline and #st.mean < longest then
               short = true
               local i = #st.mean
               while i > 1 and not svg.finite(st.mean[i]) do i = i - 1 end
               panel:markers({ xs[i] }, { st.mean[i] }, { color = sty.color, r = "4.2", stroke = "#ffffff",
                  class = "short-end", key = sty.key, label = sty.label .. " ends" })
            end
         end
      end
   end
   return short
end

local SHORT_LEGEND = { kind = "marker", label = "end of a run shorter than the longest curve", color = "#333333",
   stroke = "#ffffff" }

--- Four panels (test loss, train loss, test accuracy, train accuracy vs epochs) for one
-- problem: per optimizer the mean over seeds of its chosen setting with a +-std (opts.band
-- = "std", default) or min-max (opts.band = "minmax") band; the baselines' chosen settings
-- in their greys. Accuracy panels are left out when the problem has no accuracy. opts: mode,
-- metric, band, optimizers (names), styles (style.assign), chosen (rows { optimizer,
-- baseline, setting }, e.g. tables.build's), width, height, title, id.
function M.problem_figure(problem, base, opts)
   opts = opts or {}
   local rows = opts.chosen or M.chosen(problem, base, opts)
   local S = opts.styles or style.assign(problem, base ~= problem and base or nil)
   local panels = {}
   for _, p in ipairs(M.PANELS) do
      if has_metric(problem, p.key) or has_metric(base, p.key) then panels[#panels + 1] = p end
   end
   local cols = 2
   local nrows = math.max(1, math.ceil(#panels / cols))
   local fig = svg.figure{ width = opts.width or 900, height = opts.height or (nrows * 260 + 30 + 40),
      title = opts.title or M.title(problem.name), id = opts.id or ("fig-" .. problem.name) }
   local grid = fig:grid(nrows, cols, { bottom = 40 })
   local keys = {}
   for _, p in ipairs(panels) do keys[#keys + 1] = p.key end
   local longest = longest_of(rows, keys)
   local short = false
   for i, p in ipairs(panels) do
      local panel = grid[math.floor((i - 1) / cols) + 1][(i - 1) % cols + 1]
      panel.title, panel.xlabel, panel.ylabel = p.title, "epoch", p.ylabel
      short = draw_metric(panel, rows, p.key, opts.band, S, longest) or short
      fit_y(panel, select.higher_is_better(p.key))
   end
   if #panels == 0 then grid[1][1]:note("no per-epoch results") end
   local legend = {}
   for _, r in ipairs(rows) do legend[#legend + 1] = legend_of(style.of(S, r.optimizer, r.baseline), row_label(r, longest)) end
   if short then legend[#legend + 1] = SHORT_LEGEND end
   fig:legend(legend, 10, fig.height - 22)
   return fig:render()
end

--- The overview grid for a benchmark set ("small": P1-P4, "large": P5-P8): rows test
-- loss, train loss, test accuracy, train accuracy; a column per problem; the chosen
-- setting's mean +- std per optimizer; the baselines in their greys. Each panel's y range
-- is M.robust_range's. opts: mode, metric, band, optimizers, styles, chosen_by_problem
-- ({ [problem] = rows }, e.g. from tables.build), conv_perf ({ [problem] = value }: 1.1's
-- convergence performance, a grey horizontal line in the panel of the problem's metric).
function M.overview(col, baselines, set_name, opts)
   opts = opts or {}
   local set = assert(sets[set_name], "overview: unknown benchmark set " .. tostring(set_name))
   local S = opts.styles or style.assign(col, baselines ~= col and baselines or nil, { optimizers = opts.optimizers })
   local fig = svg.figure{ width = opts.width or 1200, height = opts.height or 950,
      title = string.format("DeepOBS %s benchmark set", set_name), id = opts.id or ("overview-" .. set_name) }
   local grid = fig:grid(4, #set, { bottom = 40 })
   local seen, legend, short = {}, {}, false
   for j, member in ipairs(set) do
      local problem = col and col.problems and col.problems[member.name]
      local base = baselines and baselines.problems and baselines.problems[member.name]
      local rows = opts.chosen_by_problem and opts.chosen_by_problem[member.name]
      local metric
      if rows == nil then rows, metric = M.chosen(problem, base, opts) else metric = select.problem_metric(problem or base, opts.metric) end
      local keys = {}
      for _, p in ipairs(M.PANELS) do keys[#keys + 1] = p.key end
      local longest = longest_of(rows, keys)
      for i, p in ipairs(M.PANELS) do
         local panel = grid[i][j]
         panel.title = (i == 1) and member.title or nil
         panel.xlabel = (i == 4) and "epoch" or nil
         panel.ylabel = (j == 1) and p.title or nil
         if not (has_metric(problem, p.key) or has_metric(base, p.key)) then
            panel:note((problem or base) and ("no " .. p.title) or "no results")
         else
            short = draw_metric(panel, rows, p.key, opts.band, S, longest) or short
            local cp = opts.conv_perf and opts.conv_perf[member.name]
            local extra
            if cp and p.key == metric and svg.finite(cp) then
               panel:hline(cp, { color = svg.GREY, width = "1.4", class = "conv-perf" })
               extra = cp
            end
            fit_y(panel, select.higher_is_better(p.key), extra)
         end
      end
      for _, r in ipairs(rows) do seen[style.of(S, r.optimizer, r.baseline).key] = true end
   end
   -- the legend in the styles' order: the baselines, then the results
   for pass = 1, 2 do
      for _, name in ipairs(pass == 1 and S.baseline_order or S.order) do
         local sty = style.of(S, name, pass == 1)
         if seen[sty.key] then legend[#legend + 1] = legend_of(sty, sty.label) end
      end
   end
   if short then legend[#legend + 1] = SHORT_LEGEND end
   fig:legend(legend, 10, fig.height - 22)
   return fig:render()
end

local function trial_value(s, metric, mode)
   if mode == "best" then return select.best_value(s, metric) end
   return select.final_value(s, metric)
end

-- the points of one optimizer's sensitivity line: at each x the best setting (the others
-- there are "tuned away"); returns points { x, y, s }, all settings { x, y }, whether any x
-- had several settings, and the number of diverged settings
local function sensitivity_points(settings, get_x, metric, mode, higher)
   local at, order, all, diverged = {}, {}, {}, 0
   for _, s in ipairs(settings) do
      local x, y = get_x(s), trial_value(s, metric, mode)
      if type(x) == "number" and svg.finite(x) then
         if not svg.finite(y) then
            diverged = diverged + 1
         else
            all[#all + 1] = { x = x, y = y }
            local cur = at[x]
            if cur == nil then
               order[#order + 1] = x
               at[x] = { x = x, y = y, s = s, n = 1 }
            else
               cur.n = cur.n + 1
               if (higher and y > cur.y) or (not higher and y < cur.y) then cur.y, cur.s = y, s end
            end
         end
      end
   end
   table.sort(order)
   local pts, several = {}, false
   for i, x in ipairs(order) do
      pts[i] = at[x]
      if at[x].n > 1 then several = true end
   end
   return pts, all, several, diverged
end

--- The y range of a sensitivity figure, from its lines (lists of the values at each x):
-- from the best value to the worst of the lines' medians (of an even count, the better
-- middle value), so that diverging settings do not flatten the basin of the good ones.
-- Padded by 5%. Returns lo, hi, or nil when every value fits (then the axis takes them all).
function M.sensitivity_range(lines, higher_is_better)
   local best, worst_median, all = nil, nil, {}
   for _, ys in ipairs(lines) do
      local v = {}
      for _, y in ipairs(ys) do
         if svg.finite(y) then v[#v + 1] = y; all[#all + 1] = y end
      end
      table.sort(v, function(a, b) if higher_is_better then return a > b end return a < b end)
      local m = v[math.ceil(#v / 2)]
      if m then
         if worst_median == nil or (higher_is_better and m < worst_median) or (not higher_is_better and m > worst_median) then
            worst_median = m
         end
      end
   end
   if #all == 0 then return nil end
   for _, y in ipairs(all) do
      if best == nil or (higher_is_better and y > best) or (not higher_is_better and y < best) then best = y end
   end
   local lo, hi = math.min(best, worst_median), math.max(best, worst_median)
   if not (hi > lo) then return nil end
   local pad = 0.05 * (hi - lo)
   lo, hi = lo - pad, hi + pad
   local cut = false
   for _, y in ipairs(all) do if y < lo or y > hi then cut = true end end
   if not cut then return nil end
   return lo, hi
end

-- the sensitivity figure's y range (M.sensitivity_range) with the values cut off drawn as
-- triangles at the edge, in their line's colour, and a note saying so
local function fit_sensitivity_y(panel, higher)
   local lines = {}
   for _, it in ipairs(panel.items) do
      if it.kind == "line" then lines[#lines + 1] = it.ys end
   end
   local lo, hi = M.sensitivity_range(lines, higher)
   if not lo then return end
   panel.ylim = { lo, hi }
   local above, below
   local items = panel.items
   for i = 1, #items do
      local it = items[i]
      if it.kind == "line" then
         local ux, dx = {}, {}
         for k, y in ipairs(it.ys) do
            if svg.finite(y) and y > hi then ux[#ux + 1] = it.xs[k]; above = math.max(above or y, y) end
            if svg.finite(y) and y < lo then dx[#dx + 1] = it.xs[k]; below = math.min(below or y, y) end
         end
         local function edge(xs, y, shape)
            if #xs == 0 then return end
            local ys = {}
            for k = 1, #xs do ys[k] = y end
            panel:markers(xs, ys, { color = it.style.color, shape = shape, class = "off-axis", key = it.style.key,
               label = (it.style.label or "") .. " off the axis" })
         end
         edge(ux, hi, "up")
         edge(dx, lo, "down")
      end
   end
   if above then panel:clip_note("clipped, max " .. svg.fmt(above), "above") end
   if below then panel:clip_note("clipped, min " .. svg.fmt(below), "below") end
end

-- one sensitivity figure: x = get_x(setting), y = the final (or best) mean metric; per
-- optimizer a line through the best setting at each x, each seed's final value as crosses,
-- and where several settings share an x (other hyperparameters varied) every setting as a
-- faint point
local function sensitivity(problem, get_x, xname, opts)
   opts = opts or {}
   local metric = opts.metric or select.problem_metric(problem)
   local higher = M.higher_is_better(metric)
   local S = opts.styles or style.assign(problem, opts.baseline)
   local fig = svg.figure{ width = opts.width or 640, height = opts.height or 430,
      title = opts.title or string.format("%s: %s vs %s", problem.name, metric, xname), id = opts.id }
   local panel = fig:panel{ x = 0, y = 30, w = fig.width, h = fig.height - 70, xlabel = xname,
      ylabel = string.format("%s%s %s", opts.relative and "relative " or "", opts.mode == "best" and "best" or "final",
         (metric:gsub("_", " "))),
      xlog = opts.xlog ~= false and opts.xscale ~= "linear", title = nil }
   local legend, diverged, tuned_away = {}, 0, false
   local function add(prob, baseline, only)
      for _, name in ipairs(M.optimizer_order(prob.optimizers, only)) do
         local sty = style.of(S, name, baseline)
         local pts, all, several, div = sensitivity_points(prob.optimizers[name].settings or {}, get_x, metric, opts.mode, higher)
         if not baseline then diverged = diverged + div end
         -- DeepOBS 1.1's relative performance: value / best (accuracy), best / value (loss)
         local best
         if opts.relative then
            for _, p in ipairs(pts) do
               if best == nil or (higher and p.y > best) or (not higher and p.y < best) then best = p.y end
            end
            local function rel(y) return higher and y / best or best / y end
            for _, p in ipairs(pts) do p.y = rel(p.y) end
            for _, p in ipairs(all) do p.y = rel(p.y) end
         end
         if #pts > 0 then
            local xs, ys = {}, {}
            for k, p in ipairs(pts) do xs[k], ys[k] = p.x, p.y end
            local label = sty.label .. (several and " (best at each value)" or "")
            if several then
               tuned_away = true
               local ax, ay = {}, {}
               for k, p in ipairs(all) do ax[k], ay[k] = p.x, p.y end
               panel:markers(ax, ay, { color = sty.color, fill = "#ffffff", stroke = sty.color, r = "2.4",
                  label = sty.label .. " every setting", class = "all-settings", key = sty.key })
            end
            panel:line(xs, ys, { color = sty.color, label = sty.label, dash = sty.dash, width = sty.width, key = sty.key,
               class = baseline and "baseline" or nil })
            panel:markers(xs, ys, { color = sty.color, label = sty.label, key = sty.key })
            if not baseline and opts.seeds ~= false and not opts.relative then
               local sx, sy = {}, {}
               for _, p in ipairs(pts) do
                  for _, r in ipairs(p.s.runs or {}) do
                     local v = r.data and r.data[metric]
                     if v and #v > 0 then sx[#sx + 1], sy[#sy + 1] = p.x, v[#v] end
                  end
               end
               if #sx > 0 then
                  panel:markers(sx, sy, { color = sty.color, shape = "x", label = sty.label .. " seeds", class = "seeds", key = sty.key })
               end
            end
            legend[#legend + 1] = legend_of(sty, label)
         end
      end
   end
   if opts.baseline then add(opts.baseline, true) end
   local only = rs.set_of(opts.optimizers)
   add(problem, false, only)
   if #legend == 0 then panel:note("no settings with a value for " .. xname) end
   if diverged > 0 then panel:note(string.format("%d diverged setting(s) (NaN/Inf) not shown", diverged)) end
   if tuned_away then
      legend[#legend + 1] = { kind = "marker", label = "each setting (other hyperparameters differ)", color = "#666666",
         fill = "#ffffff", stroke = "#666666" }
   end
   if opts.relative then
      panel.ylim = { 0, 1.02 }
   else
      fit_sensitivity_y(panel, higher)
   end
   -- on a linear x axis the end points would sit on the frame: a margin of 6%
   if not panel.xlog and #panel.dx > 0 then
      local lo, hi = math.huge, -math.huge
      for _, x in ipairs(panel.dx) do lo, hi = math.min(lo, x), math.max(hi, x) end
      if hi > lo then panel.xlim = { lo - 0.06 * (hi - lo), hi + 0.06 * (hi - lo) } end
   end
   fig:legend(legend, 10, fig.height - 14)
   return fig:render()
end

--- Final (opts.mode = "best": best-ever) mean metric vs learning rate, log10 x axis,
-- one line per optimizer (DeepOBS 1.1's plot_lr_sensitivity). opts.baseline: the
-- baseline problem entry, in its greys; opts.relative: plot 1.1's relative performance
-- (value / best for accuracies, best / value for losses, y in [0, 1]); opts.styles.
-- Where an optimizer has several settings at one lr (other hyperparameters varied), its
-- line goes through the best of them and every setting is a faint point. Diverged
-- settings (a NaN/Inf final value) are counted in a note.
function M.lr_sensitivity(problem, opts)
   return sensitivity(problem, function(s) return s.lr end, "learning rate", opts)
end

-- the optimizers of a problem that have a numeric value for hp in some setting
local function optimizers_with(problem, get)
   local out = {}
   for _, name in ipairs(M.optimizer_order(problem.optimizers)) do
      for _, s in ipairs(problem.optimizers[name].settings or {}) do
         if type(get(s)) == "number" then out[#out + 1] = name break end
      end
   end
   return out
end

--- The metric vs one hyperparameter of ONE optimizer (DeepOBS 1.2's
-- plot_hyperparameter_sensitivity): hyperparameters of different optimizers mean different
-- things, so opts.optimizer names the optimizer, and may be left out only when one
-- optimizer of the problem has hp. opts.xscale = "log" | "linear" (default linear).
-- "lr", "batch_size" and "weight_decay" are read from the setting itself.
function M.hp_sensitivity(problem, hp, opts)
   opts = opts or {}
   local function get(s)
      if hp == "lr" then return s.lr end
      if s[hp] ~= nil and type(s[hp]) == "number" then return s[hp] end
      return s.hyperparams and tonumber(s.hyperparams[hp])
   end
   local name = opts.optimizer
   if name == nil then
      local have = optimizers_with(problem, get)
      if #have > 1 then
         error(("hp_sensitivity: %s is a hyperparameter of %s; give opts.optimizer (a sensitivity plot compares the "
            .. "settings of one optimizer)"):format(hp, table.concat(have, " and ")), 2)
      end
      name = have[1] or "no optimizer"
   end
   local o = {}
   for k, v in pairs(opts) do o[k] = v end
   o.xlog = opts.xscale == "log"
   o.optimizers = { name }
   o.baseline = nil
   o.styles = opts.styles or style.assign(problem)
   o.title = opts.title or string.format("%s on %s: %s vs %s", tostring(name), problem.name,
      opts.metric or select.problem_metric(problem), hp)
   return sensitivity(problem, get, hp, o)
end

--- The hyperparameters (other than lr) that take more than one numeric value among an
-- optimizer's settings, sorted: the report draws one sensitivity figure for each.
function M.varying_hps(entry)
   local seen = {}
   for _, s in ipairs(entry.settings or {}) do
      for k, v in pairs(s.hyperparams or {}) do
         if type(v) == "number" then
            seen[k] = seen[k] or {}
            seen[k][v] = true
         end
      end
   end
   local out = {}
   for _, k in ipairs(sorted_keys(seen)) do
      local n = 0
      for _ in pairs(seen[k]) do n = n + 1 end
      if n > 1 then out[#out + 1] = k end
   end
   return out
end

--- Minibatch training losses of each optimizer's chosen setting vs training step
-- (logged every train_log_interval steps; mean over seeds, min-max band). Long curves are
-- thinned to at most opts.max_points (default 1000) evenly spaced points, always keeping the
-- first and last. A linear y axis takes M.robust_range. opts: mode, metric, optimizers,
-- baseline, styles, chosen, ylog, max_points.
function M.minibatch_losses(problem, opts)
   opts = opts or {}
   local fig = svg.figure{ width = opts.width or 760, height = opts.height or 430,
      title = opts.title or (problem.name .. ": minibatch training loss"), id = opts.id or ("mb-" .. problem.name) }
   local panel = fig:panel{ x = 0, y = 30, w = fig.width, h = fig.height - 70, xlabel = "iteration",
      ylabel = "minibatch loss", ylog = opts.ylog or false }
   local maxp = opts.max_points or 1000
   local rows = opts.chosen or M.chosen(problem, opts.baseline, opts)
   local S = opts.styles or style.assign(problem, opts.baseline)
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
   for pass = 1, 2 do
      for _, r in ipairs(rows) do
         local st = r.setting.stats and r.setting.stats.minibatch_train_losses
         if st and #st.mean > 0 and (pass == 1) == r.baseline then
            local sty = style.of(S, r.optimizer, r.baseline)
            local xs, m, lo, hi = thin(st, interval(r.setting))
            if not r.baseline and (st.n or 1) > 1 then
               panel:band(xs, lo, hi, { color = sty.color, label = sty.label, opacity = "0.15", key = sty.key })
            end
            panel:line(xs, m, { color = sty.color, label = sty.label, width = "1", dash = sty.dash, key = sty.key,
               class = r.baseline and "baseline" or nil })
            legend[#legend + 1] = legend_of(sty, sty.label)
         end
      end
   end
   if #legend == 0 then panel:note("no minibatch losses recorded") end
   if not opts.ylog then fit_y(panel, false) end
   fig:legend(legend, 10, fig.height - 14)
   return fig:render()
end

return M
