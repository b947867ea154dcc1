--- The offline HTML report: out_dir/index.html and out_dir/<problem>.html per problem.
--
--    local report = require "deepobs.analyzer.report"
--    report.write("report", col, baselines, { mode = "final", targets = { quadratic_deep = 87.5 } })
--
-- index.html: how settings were chosen, the budget (trials, seeds, CPU hours), the small and
-- large overview grids, the performance table per problem, time to target, the performance
-- profile (figure and table), warnings and skipped files. <problem>.html: the four-panel
-- figure, the performance table, time to target per seed, tuning curves, learning-rate
-- sensitivity, a sensitivity figure per optimizer and hyperparameter, minibatch losses and
-- every setting's numbers.
--
-- Everything shown is built once from tables.build with the options the command line uses
-- (mode, metric, targets, problems, optimizers), so the report's chosen settings, targets and
-- numbers are the printed table's; every optimizer keeps one style (deepobs.analyzer.style)
-- across all figures of all pages. Inline SVG and CSS only: no scripts, no network.
-- Deterministic: the same results give the same bytes (no dates, sorted keys).
local plots = require "deepobs.analyzer.plots"
local sweep_plots = require "deepobs.analyzer.sweep_plots"
local results = require "deepobs.analyzer.results"
local tables = require "deepobs.analyzer.tables"
local target = require "deepobs.analyzer.target"
local profiles = require "deepobs.analyzer.profiles"
local tuning = require "deepobs.analyzer.tuning"
local budget = require "deepobs.analyzer.budget"
local style = require "deepobs.analyzer.style"
local svg = require "deepobs.analyzer.svg"
local sets = require "deepobs.sets"

local M = {}
local esc = svg.esc

local CSS = [[
body{font-family:"DejaVu Sans",Helvetica,Arial,sans-serif;margin:24px auto;max-width:1240px;color:#222;background:#fff}
h1{font-size:24px}h2{font-size:19px;margin-top:32px;border-bottom:1px solid #ccc}h3{font-size:16px}
nav ul{columns:3;list-style:square}a{color:#1f5fa0}
table{border-collapse:collapse;margin:10px 0;font-size:13px}
th,td{border:1px solid #ccc;padding:3px 8px;text-align:right}th{background:#f2f2f2}
td.l,th.l{text-align:left}figure{margin:12px 0}svg.dob-figure{max-width:100%;height:auto}
p.note,ul.notes{color:#666;font-size:13px}td:first-child{white-space:nowrap}svg.swatch{vertical-align:middle;margin-right:6px}
]]

local function page(title, body)
   return table.concat({
      "<!DOCTYPE html>",
      '<html lang="en"><head><meta charset="utf-8">',
      '<meta name="viewport" content="width=device-width, initial-scale=1">',
      "<title>" .. esc(title) .. "</title>",
      "<style>" .. CSS .. "</style></head><body>",
      body,
      "</body></html>", "" }, "\n")
end

local function num(v, digits)
   if type(v) ~= "number" then return "&ndash;" end
   if v ~= v then return "NaN" end
   return string.format("%." .. (digits or 4) .. "g", v)
end

local function last(a) return a and a[#a] end

local function hp_text(s)
   local parts = {}
   for _, k in ipairs(plots.sorted_keys(s.hyperparams)) do
      local v = s.hyperparams[k]
      if type(v) ~= "table" and type(v) ~= "userdata" then parts[#parts + 1] = k .. "=" .. tostring(v) end
   end
   return table.concat(parts, ", ")
end

-- an HTML table of printed cells ({ head, rows }); the columns in `left` (indices) are text,
-- left-aligned; the first column led by its optimizer's swatch when swatches are given
local function grid_table(g, class, swatches, left)
   local is_left = {}
   for _, j in ipairs(left or { 1 }) do is_left[j] = true end
   local out = { string.format('<table class="%s"><tr>', class) }
   for j, h in ipairs(g.head) do out[#out + 1] = string.format('<th%s>%s</th>', is_left[j] and ' class="l"' or "", esc(h)) end
   out[#out + 1] = "</tr>"
   for i, row in ipairs(g.rows) do
      local r = { "<tr>" }
      for j, c in ipairs(row) do
         local sw = (j == 1 and swatches and swatches[i]) or ""
         r[#r + 1] = string.format('<td%s>%s%s</td>', is_left[j] and ' class="l"' or "", sw, esc(c))
      end
      r[#r + 1] = "</tr>"
      out[#out + 1] = table.concat(r)
   end
   out[#out + 1] = "</table>"
   return table.concat(out, "\n")
end

-- the optimizer's line as a small picture: colour and dash pattern as in the figures
local function swatch(S, name, baseline)
   local ok, sty = pcall(style.of, S, name, baseline)
   if not ok then return "" end
   return string.format('<svg class="swatch" width="26" height="8" viewBox="0 0 26 8"><line data-key="%s" x1="0" y1="4" '
      .. 'x2="26" y2="4" stroke="%s" stroke-width="2.4"%s/></svg>', esc(sty.key), sty.color,
      sty.dash and string.format(' stroke-dasharray="%s"', sty.dash) or "")
end

local function row_swatches(S, rows)
   local out = {}
   for i, r in ipairs(rows) do out[i] = swatch(S, r.optimizer, r.baseline) end
   return out
end

local function stat_cell(s, key)
   local st = s.stats and s.stats[key]
   if not st or #st.mean == 0 then return "<td>&ndash;</td>" end
   local m, sd = last(st.mean), st.std and last(st.std)
   if sd and (st.n or 1) > 1 then return string.format("<td>%s &plusmn; %s</td>", num(m), num(sd, 2)) end
   return string.format("<td>%s</td>", num(m))
end

local METRIC_COLS = { "test_losses", "test_accuracies", "train_losses", "train_accuracies" }

local function settings_table(problem, only)
   local out = { '<table class="settings"><tr><th class="l">optimizer</th><th>lr</th><th class="l">hyperparameters</th><th>epochs</th><th>batch</th><th>runs</th>' }
   for _, k in ipairs(METRIC_COLS) do out[#out + 1] = "<th>final " .. k:gsub("_", " ") .. "</th>" end
   out[#out + 1] = "</tr>"
   for _, name in ipairs(plots.optimizer_order(problem.optimizers, only)) do
      for _, s in ipairs(problem.optimizers[name].settings or {}) do
         local row = { "<tr>", '<td class="l">' .. esc(name) .. "</td>", "<td>" .. plots.fmt_lr(s.lr) .. "</td>",
            '<td class="l">' .. esc(hp_text(s)) .. "</td>", "<td>" .. tostring(s.num_epochs or "&ndash;") .. "</td>",
            "<td>" .. tostring(s.batch_size or "&ndash;") .. "</td>", "<td>" .. #(s.runs or {}) .. "</td>" }
         for _, k in ipairs(METRIC_COLS) do row[#row + 1] = stat_cell(s, k) end
         row[#row + 1] = "</tr>"
         out[#out + 1] = table.concat(row)
      end
   end
   out[#out + 1] = "</table>"
   return table.concat(out, "\n")
end

-- the performance table of one problem, as printed, with its captions
local function performance_table(tp, mode, S)
   return table.concat({
      string.format('<p class="note">%s<br/>%s</p>', esc(tables.problem_caption(tp, mode)), esc(tables.rule_caption(tp))),
      grid_table(tables.grid(tp), "chosen", row_swatches(S, tp.rows), { 1, 7 }) }, "\n")
end

local function target_table(pp, S)
   return table.concat({
      string.format('<p class="note">%s. A seed that never reaches the target reads &ldquo;not reached in N epochs&rdquo;; '
         .. 'seconds are training time (epoch_times) up to that epoch; a median needs more than half the seeds.</p>',
         esc(target.caption(pp))),
      grid_table(target.grid(pp), "time-to-target", row_swatches(S, pp.rows), { 1, 5 }) }, "\n")
end

-- the most distinct learning rates any optimizer of the problem was run with
local function lr_count(problem)
   local most = 0
   for _, opt in pairs(problem.optimizers or {}) do
      local seen, n = {}, 0
      for _, s in ipairs(opt.settings or {}) do
         if s.lr and not seen[s.lr] then seen[s.lr], n = true, n + 1 end
      end
      if n > most then most = n end
   end
   return most
end

local function file_name(problem_name) return problem_name:gsub("[^%w_%-]", "_") .. ".html" end

local function write_file(path, text)
   local f, err = io.open(path, "wb")
   if not f then error("report: cannot write " .. path .. ": " .. tostring(err), 0) end
   f:write(text)
   f:close()
end

local function figure(kind, svg_text)
   return string.format('<figure class="plot" data-plot="%s">\n%s\n</figure>', kind, svg_text)
end

local function by_name(list)
   local t = {}
   for _, p in ipairs(list) do t[p.name] = p end
   return t
end

local function problem_page(name, problem, base, ctx)
   local opts, S = ctx.opts, ctx.styles
   local tp, tt, tc = ctx.perf[name], ctx.ttt[name], ctx.tuning[name]
   local only
   if opts.optimizers then only = {}; for _, n in ipairs(opts.optimizers) do only[n] = true end end
   local body = { '<p><a href="index.html">&larr; all problems</a></p>', "<h1>" .. esc(name) .. "</h1>" }
   body[#body + 1] = string.format('<p class="note">Ranked by %s; setting per optimizer: %s (the same as the printed table). '
      .. 'Band: %s over seeds. Baselines (DeepOBS 1.1): one grey and dash pattern each. A curve shorter than the longest '
      .. 'ends in a marker. Curve panels show the informative range of the curves; a &#9650; / &#9660; note names '
      .. 'values cut off.</p>', esc(tp.metric), esc(tp.rule),
      opts.band == "minmax" and "min&ndash;max" or "mean &plusmn; std")
   body[#body + 1] = '<h2 id="performance">Performance</h2>'
   body[#body + 1] = figure("performance", plots.problem_figure(problem, base, { band = opts.band, styles = S,
      chosen = tp.rows, id = "perf-" .. name }))
   body[#body + 1] = performance_table(tp, ctx.mode, S)
   body[#body + 1] = '<h2 id="time-to-target">Time to target</h2>'
   body[#body + 1] = target_table(tt, S)
   local curves = false
   for _, r in ipairs(tc.rows) do if r.curve.n >= 2 then curves = true end end
   if curves then
      body[#body + 1] = '<h2 id="tuning">Tuning curves</h2>'
      body[#body + 1] = string.format('<p class="note">%s. Exact over all orders of the trials, so no sampling and no '
         .. 'seed. A trial is one setting, valued by %s.</p>', esc(tuning.caption(tc, ctx.mode)),
         ctx.mode == "best" and "the best value of its mean curve" or "the final value of its mean curve")
      body[#body + 1] = figure("tuning", sweep_plots.tuning(tc, { styles = S, id = "tuning-" .. name }))
      body[#body + 1] = grid_table(tuning.grid(tc), "tuning", row_swatches(S, tc.rows), { 1, 3 })
   end
   if lr_count(problem) > 1 then
      body[#body + 1] = '<h2 id="lr">Learning-rate sensitivity</h2>'
      body[#body + 1] = figure("lr_sensitivity", plots.lr_sensitivity(problem, { mode = ctx.mode, metric = tp.metric,
         baseline = base, optimizers = opts.optimizers, styles = S, id = "lr-" .. name }))
   end
   for _, oname in ipairs(plots.optimizer_order(problem.optimizers, only)) do
      for _, hp in ipairs(plots.varying_hps(problem.optimizers[oname])) do
         body[#body + 1] = string.format('<h2 id="hp-%s-%s">%s: sensitivity to %s</h2>', esc(oname), esc(hp), esc(oname), esc(hp))
         body[#body + 1] = figure("hp_sensitivity", plots.hp_sensitivity(problem, hp, { mode = ctx.mode, metric = tp.metric,
            optimizer = oname, styles = S, id = "hp-" .. name .. "-" .. oname .. "-" .. hp }))
      end
   end
   if plots.has_metric(problem, "minibatch_train_losses") then
      body[#body + 1] = '<h2 id="minibatch">Minibatch training loss</h2>'
      body[#body + 1] = figure("minibatch", plots.minibatch_losses(problem, { baseline = base, styles = S, chosen = tp.rows,
         id = "mb-" .. name }))
   end
   body[#body + 1] = '<h2 id="settings">All settings</h2>'
   body[#body + 1] = settings_table(problem, only)
   return page("DeepOBS results: " .. name, table.concat(body, "\n"))
end

local function notes_list(notes)
   if #notes == 0 then return "" end
   local out = { '<ul class="notes">' }
   for _, n in ipairs(notes) do out[#out + 1] = "<li>" .. esc(n) .. "</li>" end
   out[#out + 1] = "</ul>"
   return table.concat(out, "\n")
end

--- Everything the report shows, built once: { perf (tables.build), ttt (target.build),
-- profile (profiles.build), tuning (tuning.build), budget (budget.build), styles }. opts as
-- M.write's. It is `an.analysis`; an.format prints any part through its module's FORMATS.
function M.build(col, baselines, opts)
   opts = opts or {}
   local perf = tables.build(col, baselines, { mode = opts.mode, metric = opts.metric, targets = opts.targets,
      problems = opts.problems, optimizers = opts.optimizers })
   local ttt = target.build(perf)
   return {
      perf = perf, ttt = ttt, profile = profiles.build(ttt, { time = opts.profile_time }),
      tuning = tuning.build(perf), budget = budget.build(col, { problems = opts.problems, optimizers = opts.optimizers }),
      styles = style.assign(col, baselines ~= col and baselines or nil, { optimizers = opts.optimizers }),
   }
end

--- Write the report; returns the path of index.html.
-- opts: mode ("final" | "best" | "most"), metric, targets ({ [problem] = value }), band
-- ("std" | "minmax"), problems (names to include; default all), optimizers (names; default
-- all), profile_time ("epochs" | "seconds"), conv_perf ({ [problem] = value }, drawn in the
-- overview grids).
function M.write(out_dir, col, baselines, opts)
   opts = opts or {}
   assert(type(out_dir) == "string" and out_dir ~= "", "report.write: out_dir must be a folder path")
   assert(type(col) == "table" and type(col.problems) == "table", "report.write: col must be a results collection (results.load)")
   os.execute("mkdir -p '" .. out_dir:gsub("'", "'\\''") .. "'")
   local b = M.build(col, baselines, opts)
   local S = b.styles
   local ctx = { opts = opts, styles = S, mode = b.perf.mode, perf = by_name(b.perf.problems), ttt = by_name(b.ttt.problems),
      tuning = by_name(b.tuning.problems) }
   local names = {}
   for _, p in ipairs(b.perf.problems) do names[#names + 1] = p.name end
   table.sort(names)
   local chosen_by_problem = {}
   for _, p in ipairs(b.perf.problems) do chosen_by_problem[p.name] = p.rows end

   local body = { "<h1>DeepOBS results</h1>",
      string.format('<p class="note">Results: %s. Baselines: %s. Mode: %s: each optimizer&rsquo;s setting is chosen by '
         .. 'the rule named above each table, for the results and the baselines alike, the same as the printed table '
         .. '(<code>luajit scripts/analyze.lua --mode %s</code>).</p>', esc(col.root or "?"),
         baselines and esc(baselines.root or "given") or "none", esc(b.perf.mode), esc(b.perf.mode)) }
   body[#body + 1] = '<nav><h2 id="contents">Contents</h2><ul>'
   for _, item in ipairs({ { "budget", "Budget" }, { "set-small", "small benchmark set" }, { "set-large", "large benchmark set" },
                           { "summary", "Performance" }, { "time-to-target", "Time to target" }, { "profile", "Performance profile" } }) do
      body[#body + 1] = string.format('<li><a href="#%s">%s</a></li>', item[1], item[2])
   end
   for _, n in ipairs(names) do
      body[#body + 1] = string.format('<li><a href="%s">%s</a></li>', esc(file_name(n)), esc(n))
   end
   body[#body + 1] = "</ul></nav>"

   body[#body + 1] = '<h2 id="budget">Budget</h2>'
   local t = b.budget.total
   body[#body + 1] = string.format('<p class="note">%d run%s in %d trial%s (settings) of %d optimizer%s on %d problem%s; '
      .. '%.4g CPU hours. %s.%s</p>', t.runs, t.runs == 1 and "" or "s", t.trials, t.trials == 1 and "" or "s",
      t.optimizers, t.optimizers == 1 and "" or "s", t.problems, t.problems == 1 and "" or "s", t.cpu_hours, esc(b.budget.what),
      t.uncounted > 0 and string.format(" %d run%s without epoch_times or threads are not counted.", t.uncounted,
         t.uncounted == 1 and "" or "s") or "")
   body[#body + 1] = grid_table(budget.grid(b.budget), "budget", nil, { 1, 2 })

   local wanted = {}
   for _, n in ipairs(names) do wanted[n] = true end
   for _, set_name in ipairs(sets.order) do
      body[#body + 1] = string.format('<h2 id="set-%s">%s benchmark set</h2>', set_name, set_name)
      local any = false
      for _, m in ipairs(sets[set_name]) do if wanted[m.name] then any = true end end
      if any then
         local sub = { root = col.root, problems = {} }
         for _, m in ipairs(sets[set_name]) do if wanted[m.name] then sub.problems[m.name] = col.problems[m.name] end end
         body[#body + 1] = figure("overview-" .. set_name, plots.overview(sub, baselines, set_name, { band = opts.band,
            styles = S, chosen_by_problem = chosen_by_problem, conv_perf = opts.conv_perf, metric = opts.metric }))
      else
         body[#body + 1] = '<p class="note">No results for this set.</p>'
      end
   end

   body[#body + 1] = '<h2 id="summary">Performance</h2>'
   for _, n in ipairs(names) do
      body[#body + 1] = string.format('<h3><a href="%s">%s</a></h3>', esc(file_name(n)), esc(n))
      body[#body + 1] = performance_table(ctx.perf[n], ctx.mode, S)
   end

   body[#body + 1] = '<h2 id="time-to-target">Time to target</h2>'
   for _, n in ipairs(names) do
      body[#body + 1] = string.format('<h3>%s</h3>', esc(n))
      body[#body + 1] = target_table(ctx.ttt[n], S)
   end

   body[#body + 1] = '<h2 id="profile">Performance profile</h2>'
   body[#body + 1] = string.format('<p class="note">%s. A problem an optimizer never reaches the target on counts '
      .. 'against it at every tau; tau = 1 is the share of problems on which it is the fastest.</p>', esc(profiles.caption(b.profile)))
   body[#body + 1] = figure("profile", sweep_plots.profile(b.profile, { styles = S, id = "profile" }))
   local prow = {}
   for i, e in ipairs(b.profile.entries) do prow[i] = swatch(S, e.optimizer, e.baseline) end
   body[#body + 1] = grid_table(profiles.grid(b.profile), "profile", prow)
   body[#body + 1] = notes_list(b.profile.notes)

   for _, n in ipairs(names) do
      local base = baselines and baselines ~= col and baselines.problems and baselines.problems[n] or nil
      write_file(out_dir .. "/" .. file_name(n), problem_page(n, col.problems[n], base, ctx))
   end
   local warnings = results.warnings(col, opts.problems, opts.optimizers)
   if #warnings > 0 then
      body[#body + 1] = '<h2 id="warnings">Warnings</h2><ul>'
      for _, w in ipairs(warnings) do body[#body + 1] = string.format("<li>%s</li>", esc(w)) end
      body[#body + 1] = "</ul>"
   end
   if col.skipped and #col.skipped > 0 then
      body[#body + 1] = '<h2 id="skipped">Skipped files</h2><ul>'
      for _, s in ipairs(col.skipped) do
         body[#body + 1] = string.format("<li>%s: %s</li>", esc(s.path), esc(s.reason))
      end
      body[#body + 1] = "</ul>"
   end
   local index = out_dir .. "/index.html"
   write_file(index, page("DeepOBS results", table.concat(body, "\n")))
   return index
end

return M
