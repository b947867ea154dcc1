--- Time to target: per problem, how many epochs and seconds each seed of each optimizer's
-- chosen setting needs until its metric reaches the problem's target, and the share of seeds
-- that get there.
--
--    local target = require "deepobs.analyzer.target"
--    local tt = target.build(tables.build(col, baselines, { mode = "final" }))
--    print(target.text(tt))        -- also target.markdown, target.csv, target.json
--    tt.problems[1].rows[1].seeds  --> { { seed = 42, epochs = 12, seconds = 3.1 }, { seed = 43 }, ... }
--
-- The target and the chosen settings are the performance table's (tables.build): a value
-- given for the problem, else DeepOBS 1.1's convergence_performance.json, else the best final
-- value among the baselines' chosen settings. A seed reaches it at the first evaluation (after
-- 0, 1, ... epochs) whose metric is at least as good (>= for accuracies, <= for losses). Its
-- seconds are the training time of those epochs (the sum of the first k epoch_times: the
-- training steps' wall time, without evaluation or data loading); a run without epoch_times
-- has epochs but no seconds. A seed that never reaches the target has neither: it reads "not
-- reached in N epochs", never a number. The medians treat such a seed as infinitely slow, so a
-- median exists only when at least half of the seeds (strictly more than half, for an even
-- count) reached the target.
local select = require "deepobs.analyzer.select"
local textfmt = require "deepobs.analyzer.textfmt"
local jsonw = require "deepobs.results"

local M = {}

--- The epoch (0 = untrained) at which curve first reaches target, or nil when it never does.
function M.epochs_to(curve, target, higher_is_better)
   for i, v in ipairs(curve or {}) do
      if (higher_is_better and v >= target) or (not higher_is_better and v <= target) then return i - 1 end
   end
   return nil
end

--- One run's time to target: { seed, epochs, seconds, num_epochs } (epochs and seconds nil
-- when it is not reached; seconds also nil without epoch_times).
function M.run_time(run, metric, target)
   local data = run.data or {}
   local out = { seed = run.seed, num_epochs = data.num_epochs or (#(data[metric] or {}) - 1) }
   if target == nil or target ~= target then return out end
   local k = M.epochs_to(data[metric], target, select.higher_is_better(metric))
   if k == nil then return out end
   out.epochs = k
   local et = data.epoch_times
   if k == 0 then
      out.seconds = 0
   elseif type(et) == "table" and #et >= k then
      local s = 0
      for e = 1, k do
         local t = et[e]
         if type(t) ~= "number" or t ~= t or t < 0 or t == math.huge then return out end -- no seconds from such times
         s = s + t
      end
      out.seconds = s
   end
   return out
end

--- Median of a list in which nil stands for "never" (infinitely slow): a number, or nil when
-- the median seed did not get there.
function M.median(values, n)
   local xs = {}
   for i = 1, n do xs[i] = values[i] or math.huge end
   if n == 0 then return nil end
   table.sort(xs)
   local m = n % 2 == 1 and xs[(n + 1) / 2] or (xs[n / 2] + xs[n / 2 + 1]) / 2
   if m == math.huge then return nil end
   return m
end

--- Summary of a setting's runs: { seeds = { run_time ... }, n, reached, share, median_epochs,
-- median_seconds (nil when a reached seed has no seconds), mean_epochs and mean_seconds over
-- the seeds that reached it }.
function M.setting_times(setting, metric, target)
   local seeds, epochs, secs = {}, {}, {}
   local reached, se, ss, secs_known = 0, 0, 0, true
   for i, r in ipairs(setting.runs or {}) do
      local t = M.run_time(r, metric, target)
      seeds[i], epochs[i], secs[i] = t, t.epochs, t.seconds
      if t.epochs then
         reached = reached + 1
         se = se + t.epochs
         if t.seconds then ss = ss + t.seconds else secs_known = false end
      end
   end
   local n = #seeds
   local s = { seeds = seeds, n = n, reached = reached, share = n > 0 and reached / n or 0 }
   s.median_epochs = M.median(epochs, n)
   if secs_known then s.median_seconds = M.median(secs, n) end
   if reached > 0 then
      s.mean_epochs = se / reached
      if secs_known then s.mean_seconds = ss / reached end
   end
   return s
end

--- From a built performance table (tables.build): { kind = "time_to_target", mode, problems =
-- { { name, title, metric, target, target_source, rule, rows = { { optimizer, baseline, folder,
-- seeds, n, reached, share, median_epochs, median_seconds, mean_epochs, mean_seconds } } } } }.
function M.build(t)
   local out = { kind = "time_to_target", mode = t.mode, problems = {} }
   for i, p in ipairs(t.problems) do
      local rows = {}
      for j, r in ipairs(p.rows) do
         local s = M.setting_times(r.setting, p.metric, p.target)
         s.optimizer, s.baseline, s.folder, s.setting = r.optimizer, r.baseline, r.folder, r.setting
         rows[j] = s
      end
      out.problems[i] = { name = p.name, title = p.title, metric = p.metric, target = p.target,
         target_source = p.target_source, rule = p.rule, rows = rows }
   end
   return out
end

---------------------------------------------------------------------------------------
-- output

local function num(x, fmt)
   if x == nil then return "–" end
   return (fmt or "%.4f"):format(x)
end

--- "12" / "not reached in 40 epochs" for one seed (text of the tables and the report).
function M.seed_text(s)
   if s.epochs == nil then return ("not reached in %d epochs"):format(s.num_epochs or 0) end
   if s.seconds then return ("%d (%.1f s)"):format(s.epochs, s.seconds) end
   return tostring(s.epochs)
end

--- "2/3 (67%)"
function M.share_text(r)
   return ("%d/%d (%d%%)"):format(r.reached, r.n, r.n > 0 and math.floor(100 * r.reached / r.n + 0.5) or 0)
end

--- The median cell: a number, "not reached" (the median seed never got there) or "–" (no runs).
function M.median_text(r, key, fmt)
   if r.n == 0 then return "–" end
   local v = r[key]
   if v == nil then
      if key == "median_seconds" and r.median_epochs ~= nil then return "–" end
      return "not reached"
   end
   return (fmt or "%g"):format(v)
end

function M.caption(p)
   local op = select.higher_is_better(p.metric) and ">=" or "<="
   return ("%s: time until %s %s %s (%s)"):format(textfmt.problem_label(p), p.metric, op, num(p.target),
      p.target_source or "no target: give one with --target")
end

local HEAD = { "optimizer", "seeds reached", "median epochs", "median seconds", "per seed: epochs (training seconds)" }

local function cells(r)
   local per = {}
   for i, s in ipairs(r.seeds) do per[i] = ("%s: %s"):format(tostring(s.seed), M.seed_text(s)) end
   return { textfmt.optimizer_label(r), M.share_text(r), M.median_text(r, "median_epochs"),
      M.median_text(r, "median_seconds", "%.1f"), table.concat(per, ", ") }
end

--- The cells of a problem's table as printed: { head, rows } (the report shows the same cells).
function M.grid(p) return textfmt.grid(HEAD, p.rows, cells) end

local function captions(p) return { M.caption(p) } end

--- Aligned plain text, one block per problem.
function M.text(tt) return textfmt.problems_text(tt.problems, captions, M.grid) end

--- Markdown: a heading and a pipe table per problem.
function M.markdown(tt) return textfmt.problems_markdown(tt.problems, captions, M.grid) end

local CSV_COLS = { "problem", "metric", "target", "target_source", "optimizer", "baseline", "setting", "seed", "reached",
                   "epochs", "seconds", "num_epochs" }

--- CSV, one line per seed (epochs and seconds empty where the seed did not reach the target).
function M.csv(tt)
   local out = { table.concat(CSV_COLS, ",") }
   for _, p in ipairs(tt.problems) do
      for _, r in ipairs(p.rows) do
         for _, s in ipairs(r.seeds) do
            out[#out + 1] = textfmt.csv_line(p.name, p.metric, p.target, p.target_source, r.optimizer, r.baseline,
               r.folder, s.seed, s.epochs ~= nil, s.epochs, s.seconds, s.num_epochs)
         end
      end
   end
   return table.concat(out, "\n") .. "\n"
end

local jnum = textfmt.jnum

--- JSON: { kind, mode, problems = [ { problem, metric, target, target_source, rows = [ { optimizer,
-- baseline, setting, seeds_reached, seeds, median_epochs, median_seconds, per_seed = [ { seed,
-- reached, epochs, seconds, num_epochs } ] } ] } ] } (not reached: null).
function M.json(tt)
   local ps = {}
   for i, p in ipairs(tt.problems) do
      local rows = {}
      for j, r in ipairs(p.rows) do
         local per = {}
         for k, s in ipairs(r.seeds) do
            per[k] = jsonw.object { { "seed", s.seed and jsonw.int(s.seed) or jsonw.null }, { "reached", s.epochs ~= nil },
               { "epochs", s.epochs and jsonw.int(s.epochs) or jsonw.null }, { "seconds", jnum(s.seconds) },
               { "num_epochs", s.num_epochs and jsonw.int(s.num_epochs) or jsonw.null } }
         end
         rows[j] = jsonw.object {
            { "optimizer", r.optimizer }, { "baseline", r.baseline }, { "setting", r.folder },
            { "seeds_reached", jsonw.int(r.reached) }, { "seeds", jsonw.int(r.n) },
            { "median_epochs", jnum(r.median_epochs) }, { "median_seconds", jnum(r.median_seconds) },
            { "per_seed", jsonw.array(per) },
         }
      end
      ps[i] = jsonw.object {
         { "problem", p.name }, { "metric", p.metric }, { "target", jnum(p.target) },
         { "target_source", p.target_source or jsonw.null }, { "rows", jsonw.array(rows) },
      }
   end
   return jsonw.encode(jsonw.object { { "kind", "time_to_target" }, { "mode", tt.mode }, { "problems", jsonw.array(ps) } }) .. "\n"
end

M.FORMATS = { text = M.text, md = M.markdown, markdown = M.markdown, csv = M.csv, json = M.json }

return M
