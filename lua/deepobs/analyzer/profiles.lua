--- Performance profiles (Dolan & Moré 2002, as AlgoPerf scores submissions): for each
-- optimizer, the fraction of problems on which it reaches the target within tau times the
-- time of the fastest optimizer on that problem, as a function of tau >= 1.
--
--    local profiles = require "deepobs.analyzer.profiles"
--    local pr = profiles.build(target.build(t), { time = "epochs" })
--    profiles.rho(pr.entries[1], 2)   --> share of problems within twice the fastest time
--    print(profiles.text(pr))         -- also markdown, csv, json
--
-- Time: the median over seeds of the chosen setting's time to target (deepobs.analyzer.target;
-- a seed that never reaches it counts as infinitely slow, so the median is infinite unless
-- more than half of the seeds reach it), in epochs (the default: it does not depend on the
-- machine) or in seconds (time = "seconds": training time from epoch_times; an optimizer
-- whose runs have no epoch_times, as the DeepOBS 1.1 baselines, is then left out, and said so).
-- Ratio r(p, o) = time(p, o) / min over optimizers of time(p, ·); a problem an optimizer has no
-- runs of, or does not reach the target on, gives r = infinity, which no tau covers. The
-- denominator is every problem of the table: a problem on which no optimizer reaches the target
-- counts against all of them (named in the notes). A problem whose target the untrained model
-- already meets (fastest time 0) measures nothing and is left out (named in the notes).
local textfmt = require "deepobs.analyzer.textfmt"
local jsonw = require "deepobs.results"

local M = {}

-- the tau columns of the tables
M.TAUS = { 1, 1.25, 1.5, 2, 4 }

local INF = math.huge

local function key_of(r) return (r.baseline and "base:" or "opt:") .. r.optimizer end

--- Builds the profile from a time-to-target table (target.build). opts.time: "epochs"
-- (default) or "seconds". Returns { kind = "profile", time, problems = { names },
-- entries = { { optimizer, baseline, key, label, times = { [problem] = t }, ratios = {
-- [problem] = r } } }, best = { [problem] = fastest time }, notes = { ... } }.
function M.build(tt, opts)
   opts = opts or {}
   local time = opts.time or "epochs"
   if time ~= "epochs" and time ~= "seconds" then
      error(("profiles: time must be \"epochs\" or \"seconds\", not %q"):format(tostring(time)), 2)
   end
   local field = time == "epochs" and "median_epochs" or "median_seconds"
   local out = { kind = "profile", time = time, problems = {}, entries = {}, best = {}, notes = {} }
   local by_key, dropped = {}, {}
   -- every optimizer that appears on any problem, in the tables' order (baselines first)
   for _, p in ipairs(tt.problems) do
      for _, r in ipairs(p.rows) do
         local k = key_of(r)
         if not by_key[k] then
            by_key[k] = { optimizer = r.optimizer, baseline = r.baseline, key = k,
               label = textfmt.optimizer_label(r), times = {}, ratios = {} }
            out.entries[#out.entries + 1] = by_key[k]
         end
      end
   end
   local missing = {}
   for _, p in ipairs(tt.problems) do
      local rows = {}
      for _, r in ipairs(p.rows) do rows[key_of(r)] = r end
      for _, e in ipairs(out.entries) do
         local r = rows[e.key]
         local t
         if r == nil then
            t = INF
            missing[e.key] = missing[e.key] or {}
            table.insert(missing[e.key], p.name)
         elseif r[field] ~= nil then
            t = r[field]
         elseif time == "seconds" and r.median_epochs ~= nil then
            dropped[e.key] = true -- reached, but no epoch_times to say in how many seconds
         else
            t = INF
         end
         e.times[p.name] = t
      end
   end
   for _, e in ipairs(out.entries) do
      if missing[e.key] then
         out.notes[#out.notes + 1] = ("%s has no runs on %s: counted as not reaching the target there")
            :format(e.label, table.concat(missing[e.key], ", "))
      end
   end
   local kept = {}
   for _, e in ipairs(out.entries) do
      if dropped[e.key] then
         out.notes[#out.notes + 1] = ("%s is left out: its runs have no epoch_times (use time in epochs)"):format(e.label)
      else
         kept[#kept + 1] = e
      end
   end
   out.entries = kept
   for _, p in ipairs(tt.problems) do
      local best = INF
      for _, e in ipairs(out.entries) do best = math.min(best, e.times[p.name] or INF) end
      if #out.entries > 0 and best == 0 then
         out.notes[#out.notes + 1] = ("%s is left out: its target is met before training (time 0), so it says nothing about speed")
            :format(p.name)
      else
         if best == INF and #out.entries > 0 then
            out.notes[#out.notes + 1] = ("no optimizer reaches the target on %s: it counts as failed for every optimizer"):format(p.name)
         end
         out.problems[#out.problems + 1] = p.name
         out.best[p.name] = best
         for _, e in ipairs(out.entries) do
            local t = e.times[p.name]
            e.ratios[p.name] = (t == INF or best == INF) and INF or t / best
         end
      end
   end
   return out
end

--- rho(tau): the share of the profile's n_problems problems (default: those the entry has a
-- ratio for) whose ratio is at most tau; a problem never reached counts for no tau.
function M.rho(entry, tau, n_problems)
   local n, k = 0, 0
   for _, r in pairs(entry.ratios) do
      n = n + 1
      if r ~= INF and r <= tau * (1 + 1e-12) then k = k + 1 end
   end
   n = n_problems or n
   if n == 0 then return 0 end
   return k / n
end

--- The profile's step function of one entry: xs, ys from tau = 1 to tau_max (a staircase
-- that rises at each of its finite ratios).
function M.steps(pr, entry, tau_max)
   local rs = {}
   for _, p in ipairs(pr.problems) do
      local r = entry.ratios[p]
      if r ~= INF and r > 1 then rs[#rs + 1] = r end
   end
   table.sort(rs)
   local n = #pr.problems
   local xs, ys = { 1 }, { M.rho(entry, 1, n) }
   for _, r in ipairs(rs) do
      if r <= tau_max then
         xs[#xs + 1], ys[#ys + 1] = r, ys[#ys]
         xs[#xs + 1], ys[#ys + 1] = r, M.rho(entry, r, n)
      end
   end
   xs[#xs + 1], ys[#ys + 1] = tau_max, ys[#ys]
   return xs, ys
end

--- The largest tau worth drawing: 4 (AlgoPerf's tau_max) or past the largest finite ratio.
function M.tau_max(pr)
   local m = 4
   for _, e in ipairs(pr.entries) do
      for _, r in pairs(e.ratios) do
         if r ~= INF and r * 1.25 > m then m = r * 1.25 end
      end
   end
   return m
end

---------------------------------------------------------------------------------------
-- output

local function ratio_text(r)
   if r == nil then return "–" end
   if r == INF then return "not reached" end
   return ("%.2f"):format(r)
end

--- One line saying what time and ratio mean in this profile.
function M.caption(pr)
   local t = pr.time == "epochs" and "epochs" or "seconds of training (epoch_times)"
   return ("performance profile over %d problem%s: time = median over seeds of the %s to the target; "
      .. "rho(tau) = share of problems solved within tau x the fastest optimizer's time")
      :format(#pr.problems, #pr.problems == 1 and "" or "s", t)
end

local function header(pr)
   local h = { "optimizer" }
   for _, tau in ipairs(M.TAUS) do h[#h + 1] = ("rho(%g)"):format(tau) end
   h[#h + 1] = "reached"
   for _, p in ipairs(pr.problems) do h[#h + 1] = "ratio " .. p end
   return h
end

local function cells(pr, e)
   local n = #pr.problems
   local c = { e.label }
   for _, tau in ipairs(M.TAUS) do c[#c + 1] = ("%.2f"):format(M.rho(e, tau, n)) end
   c[#c + 1] = ("%.2f"):format(M.rho(e, INF, n))
   for _, p in ipairs(pr.problems) do c[#c + 1] = ratio_text(e.ratios[p]) end
   return c
end

--- The cells of the table as printed: { head, rows } (the report shows the same cells).
function M.grid(pr)
   return textfmt.grid(header(pr), pr.entries, function(e) return cells(pr, e) end)
end

--- Aligned plain text: the caption, a line per optimizer, then the notes.
function M.text(pr)
   local g = M.grid(pr)
   local out = { M.caption(pr), textfmt.aligned(g.head, g.rows) }
   for _, n in ipairs(pr.notes) do out[#out + 1] = "  note: " .. n end
   return table.concat(out, "\n") .. "\n"
end

--- Markdown: the caption, a pipe table, the notes as a list.
function M.markdown(pr)
   local g = M.grid(pr)
   local out = { "### " .. M.caption(pr), "", textfmt.markdown_table(g.head, g.rows) }
   if #pr.notes > 0 then out[#out + 1] = "" end
   for _, n in ipairs(pr.notes) do out[#out + 1] = "- " .. n end
   return table.concat(out, "\n") .. "\n"
end

-- a time or ratio as a CSV cell: "inf" where the target is never reached
local function csv_time(v) return v == INF and "inf" or textfmt.csv_number(v) end

--- CSV, one line per optimizer and problem: its time, the fastest time and the ratio (inf:
-- never reached).
function M.csv(pr)
   local out = { "optimizer,baseline,problem,time_unit,time,fastest_time,ratio" }
   for _, e in ipairs(pr.entries) do
      for _, p in ipairs(pr.problems) do
         out[#out + 1] = textfmt.csv_line(e.optimizer, e.baseline and true or false, p, pr.time,
            csv_time(e.times[p]), csv_time(pr.best[p]), csv_time(e.ratios[p]))
      end
   end
   return table.concat(out, "\n") .. "\n"
end

-- a ratio for JSON: null where the target is never reached
local function jratio(v) return v == INF and jsonw.null or textfmt.jnum(v) end

--- JSON: { kind, time, problems, taus, entries = [ { optimizer, baseline, rho = [ at each tau ],
-- reached, ratios = { problem: ratio or null } } ], notes } (null: not reached).
function M.json(pr)
   local n = #pr.problems
   local entries = {}
   for i, e in ipairs(pr.entries) do
      local rho, ratios = {}, {}
      for j, tau in ipairs(M.TAUS) do rho[j] = M.rho(e, tau, n) end
      for j, p in ipairs(pr.problems) do ratios[j] = { p, jratio(e.ratios[p]) } end
      entries[i] = jsonw.object { { "optimizer", e.optimizer }, { "baseline", e.baseline },
         { "rho", jsonw.array(rho) }, { "reached", M.rho(e, INF, n) }, { "ratios", jsonw.object(ratios) } }
   end
   return jsonw.encode(jsonw.object { { "kind", "profile" }, { "time", pr.time }, { "problems", jsonw.array(pr.problems) },
      { "taus", jsonw.array(M.TAUS) }, { "entries", jsonw.array(entries) }, { "notes", jsonw.array(pr.notes) } }) .. "\n"
end

M.FORMATS = { text = M.text, md = M.markdown, markdown = M.markdown, csv = M.csv, json = M.json }

return M
