--- The offline HTML report: out_dir/index.html (table of contents, the small and large
-- overview grids, a summary table, warnings and skipped files) and out_dir/<problem>.html per problem (its
-- four-panel figure, learning-rate and hyperparameter sensitivity, minibatch losses,
-- and the numbers behind them). Inline SVG and CSS only: no scripts, no network.
-- Deterministic: the same results give the same bytes (no dates, sorted keys).
local plots = require "deepobs.analyzer.plots"
local results = require "deepobs.analyzer.results"
local svg = require "deepobs.analyzer.svg"
local sets = require "problems.sets"

local M = {}
local esc = svg.esc

local CSS = [[
body{font-family:"DejaVu Sans",Helvetica,Arial,sans-serif;margin:24px auto;max-width:1240px;color:#222;background:#fff}
h1{font-size:24px}h2{font-size:19px;margin-top:32px;border-bottom:1px solid #ccc}h3{font-size:16px}
nav ul{columns:3;list-style:square}a{color:#1f5fa0}
table{border-collapse:collapse;margin:10px 0;font-size:13px}
th,td{border:1px solid #ccc;padding:3px 8px;text-align:right}th{background:#f2f2f2}
td.l,th.l{text-align:left}figure{margin:12px 0}svg.dob-figure{max-width:100%;height:auto}
p.note{color:#666;font-size:13px}
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

-- the chosen settings' final values, one row per optimizer (and per baseline)
local function chosen_table(problem, base, opts)
   local metric = plots.problem_metric(problem)
   local out = { string.format('<table class="chosen"><tr><th class="l">optimizer</th><th>lr (chosen, mode %s)</th><th>runs</th><th>final %s</th><th>best %s</th></tr>',
      esc(opts.mode or "final"), esc(metric), esc(metric)) }
   local function rows(entries, suffix)
      for _, e in ipairs(entries) do
         local st = e.setting.stats and e.setting.stats[metric]
         local best
         if st then
            local higher = plots.higher_is_better(metric)
            for _, v in ipairs(st.mean) do
               if v == v and (best == nil or (higher and v > best) or (not higher and v < best)) then best = v end
            end
         end
         out[#out + 1] = string.format('<tr><td class="l">%s</td><td>%s</td><td>%d</td><td>%s</td><td>%s</td></tr>',
            esc(e.name .. suffix), plots.fmt_lr(e.setting.lr), #(e.setting.runs or {}),
            st and num(last(st.mean)) or "&ndash;", num(best))
      end
   end
   rows(plots.chosen_settings(problem, opts, metric, false), "")
   if base then rows(plots.chosen_settings(base, { mode = "most" }, metric, true), " (baseline)") end
   out[#out + 1] = "</table>"
   return table.concat(out, "\n")
end

-- hyperparameters (other than lr) that take more than one numeric value
local function varying_hps(problem)
   local seen = {}
   for _, opt in pairs(problem.optimizers or {}) do
      for _, s in ipairs(opt.settings or {}) do
         for k, v in pairs(s.hyperparams or {}) do
            if type(v) == "number" then
               seen[k] = seen[k] or {}
               seen[k][tostring(v)] = true
            end
         end
      end
   end
   local out = {}
   for _, k in ipairs(plots.sorted_keys(seen)) do
      local n = 0
      for _ in pairs(seen[k]) do n = n + 1 end
      if n > 1 then out[#out + 1] = k end
   end
   return out
end

local function lr_count(problem)
   local most = 0
   for _, opt in pairs(problem.optimizers or {}) do
      local n = 0
      for _, s in ipairs(opt.settings or {}) do if s.lr then n = n + 1 end end
      if n > most then most = n end
   end
   return most
end

local function has_minibatch(problem)
   return plots.has_metric(problem, "minibatch_train_losses")
end

local function file_name(problem_name) return problem_name:gsub("[^%w_%-]", "_") .. ".html" end

local function write_file(path, text)
   local f, err = io.open(path, "wb")
   if not f then error("report: cannot write " .. path .. ": " .. tostring(err), 0) end
   f:write(text)
   f:close()
end

local function problem_page(name, problem, base, opts)
   local only
   if opts.optimizers then only = {}; for _, n in ipairs(opts.optimizers) do only[n] = true end end
   local body = { '<p><a href="index.html">&larr; all problems</a></p>', "<h1>" .. esc(name) .. "</h1>" }
   local metric = plots.problem_metric(problem)
   body[#body + 1] = string.format('<p class="note">Ranked by %s, setting chosen by mode &ldquo;%s&rdquo;; band: %s over seeds. Baselines (DeepOBS 1.1) in grey, dashed.</p>',
      esc(metric), esc(opts.mode or "final"), opts.band == "minmax" and "min&ndash;max" or "mean &plusmn; std")
   body[#body + 1] = '<h2 id="performance">Performance</h2><figure class="plot" data-plot="performance">'
   body[#body + 1] = plots.problem_figure(problem, base, { mode = opts.mode, band = opts.band, optimizers = opts.optimizers,
      id = "perf-" .. name })
   body[#body + 1] = "</figure>"
   body[#body + 1] = chosen_table(problem, base, opts)
   if lr_count(problem) > 1 then
      body[#body + 1] = '<h2 id="lr">Learning-rate sensitivity</h2><figure class="plot" data-plot="lr_sensitivity">'
      body[#body + 1] = plots.lr_sensitivity(problem, { mode = opts.mode, baseline = base, optimizers = opts.optimizers,
         id = "lr-" .. name })
      body[#body + 1] = "</figure>"
   end
   for _, hp in ipairs(varying_hps(problem)) do
      body[#body + 1] = string.format('<h2 id="hp-%s">Sensitivity to %s</h2><figure class="plot" data-plot="hp_sensitivity">', esc(hp), esc(hp))
      body[#body + 1] = plots.hp_sensitivity(problem, hp, { mode = opts.mode, optimizers = opts.optimizers, id = "hp-" .. name .. "-" .. hp })
      body[#body + 1] = "</figure>"
   end
   if has_minibatch(problem) then
      body[#body + 1] = '<h2 id="minibatch">Minibatch training loss</h2><figure class="plot" data-plot="minibatch">'
      body[#body + 1] = plots.minibatch_losses(problem, { mode = opts.mode, baseline = base, optimizers = opts.optimizers,
         id = "mb-" .. name })
      body[#body + 1] = "</figure>"
   end
   body[#body + 1] = '<h2 id="settings">All settings</h2>'
   body[#body + 1] = settings_table(problem, only)
   return page("DeepOBS results: " .. name, table.concat(body, "\n"))
end

--- Write the report; returns the path of index.html.
-- opts: mode ("final" | "best" | "most"), band ("std" | "minmax"), problems (names to
-- include; default all), optimizers (names; default all), conv_perf ({ [problem] = value },
-- drawn in the overview grids).
function M.write(out_dir, col, baselines, opts)
   opts = opts or {}
   assert(type(out_dir) == "string" and out_dir ~= "", "report.write: out_dir must be a folder path")
   assert(type(col) == "table" and type(col.problems) == "table", "report.write: col must be a results collection (results.load)")
   os.execute("mkdir -p '" .. out_dir:gsub("'", "'\\''") .. "'")
   local names = {}
   if opts.problems then
      for _, n in ipairs(opts.problems) do if col.problems[n] then names[#names + 1] = n end end
      table.sort(names)
   else
      names = plots.sorted_keys(col.problems)
   end
   local body = { "<h1>DeepOBS results</h1>",
      string.format('<p class="note">Results: %s. Baselines: %s. Mode: %s.</p>', esc(col.root or "?"),
         baselines and esc(baselines.root or "given") or "none", esc(opts.mode or "final")) }
   body[#body + 1] = '<nav><h2 id="contents">Contents</h2><ul>'
   for _, set_name in ipairs(sets.order) do
      body[#body + 1] = string.format('<li><a href="#set-%s">%s benchmark set</a></li>', set_name, set_name)
   end
   for _, n in ipairs(names) do
      body[#body + 1] = string.format('<li><a href="%s">%s</a></li>', esc(file_name(n)), esc(n))
   end
   body[#body + 1] = "</ul></nav>"
   local wanted = {}
   for _, n in ipairs(names) do wanted[n] = true end
   for _, set_name in ipairs(sets.order) do
      body[#body + 1] = string.format('<h2 id="set-%s">%s benchmark set</h2>', set_name, set_name)
      local any = false
      for _, m in ipairs(sets[set_name]) do if wanted[m.name] then any = true end end
      if any then
         local sub = { root = col.root, problems = {} }
         for _, m in ipairs(sets[set_name]) do if wanted[m.name] then sub.problems[m.name] = col.problems[m.name] end end
         body[#body + 1] = string.format('<figure class="plot" data-plot="overview-%s">', set_name)
         body[#body + 1] = plots.overview(sub, baselines, set_name, { mode = opts.mode, band = opts.band, optimizers = opts.optimizers,
            conv_perf = opts.conv_perf })
         body[#body + 1] = "</figure>"
      else
         body[#body + 1] = '<p class="note">No results for this set.</p>'
      end
   end
   body[#body + 1] = '<h2 id="summary">Summary</h2>'
   for _, n in ipairs(names) do
      local base = baselines and baselines.problems and baselines.problems[n]
      body[#body + 1] = string.format('<h3><a href="%s">%s</a></h3>', esc(file_name(n)), esc(n))
      body[#body + 1] = chosen_table(col.problems[n], base, opts)
      write_file(out_dir .. "/" .. file_name(n), problem_page(n, col.problems[n], base, opts))
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
