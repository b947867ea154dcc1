--- Tuning curves (as Schmidt, Schneider & Hennig, "Descending through a Crowded Valley",
-- 2021): the best result found so far against the number of tuning trials, per problem and
-- optimizer, with its spread over the orders in which the trials could have been run.
--
--    local tuning = require "deepobs.analyzer.tuning"
--    local c = tuning.curve({ 87.3, 90.1, 354.2, 88.0 }, false)  -- losses: lower is better
--    c.median[2], c.good[2], c.bad[2]     -- best of 2 trials: median and quartiles
--    local tc = tuning.build(tables.build(col, baselines))        -- every problem and optimizer
--
-- A trial is one setting of the optimizer (its seeds averaged), valued as the tables rank it:
-- the final value of the mean curve (mode best: the best value it reached). Crowded Valley
-- draws random orders of the trials; here the spread is exact instead of sampled, so there is
-- no seed and nothing to reproduce: over all n! orders, the best of the first k trials is the
-- i-th best of all n with probability C(n-i, k-1) / C(n, k), so that
-- P(best of k is among the i best) = 1 - C(n-i, k) / C(n, k).
-- median, good and bad are the 50%, 25% and 75% quantiles of that distribution counted from the
-- best trial: the smallest i with P >= q, read as the i-th best value. "good" is the result a
-- quarter of the orders reach or beat, "bad" the one three quarters do; a diverged trial (NaN)
-- ranks last. At k = n every order has found the best trial.
local select = require "deepobs.analyzer.select"
local textfmt = require "deepobs.analyzer.textfmt"
local jsonw = require "deepobs.results"

local M = {}

--- The value of one trial (setting) as the table's mode ranks it.
function M.trial_value(setting, metric, mode)
   if mode == "best" then return select.best_value(setting, metric) end
   return select.final_value(setting, metric)
end

-- P(the best of k random trials out of n is among the i best) = 1 - C(n-i, k) / C(n, k)
local function p_within(n, k, i)
   if n - i < k then return 1 end
   local q = 1
   for j = 0, k - 1 do q = q * (n - i - j) / (n - j) end
   return 1 - q
end
M.p_within = p_within

--- The exact tuning curve of a list of trial values: { n, k = { 1..n }, median, good, bad,
-- sorted (best first) } with median[k], good[k], bad[k] the quantiles of the best of k trials.
function M.curve(values, higher_is_better)
   local sorted = {}
   for i, v in ipairs(values) do sorted[i] = v end
   table.sort(sorted, function(a, b)
      if a ~= a then return false end
      if b ~= b then return true end
      if higher_is_better then return a > b end
      return a < b
   end)
   local n = #sorted
   local c = { n = n, k = {}, median = {}, good = {}, bad = {}, sorted = sorted }
   local function quantile(k, q)
      for i = 1, n do
         if p_within(n, k, i) >= q - 1e-12 then return sorted[i] end
      end
      return sorted[n]
   end
   for k = 1, n do
      c.k[k] = k
      c.good[k], c.median[k], c.bad[k] = quantile(k, 0.25), quantile(k, 0.5), quantile(k, 0.75)
   end
   return c
end

--- Tuning curves of every problem and optimizer of a built performance table (tables.build):
-- { kind = "tuning", mode, problems = { { name, metric, rows = { { optimizer, baseline,
-- curve, values } } } } }.
function M.build(t)
   local out = { kind = "tuning", mode = t.mode, problems = {} }
   for i, p in ipairs(t.problems) do
      local rows = {}
      local hib = select.higher_is_better(p.metric)
      for j, r in ipairs(p.rows) do
         local values = {}
         for k, s in ipairs(r.entry and r.entry.settings or { r.setting }) do
            values[k] = M.trial_value(s, p.metric, t.mode)
         end
         rows[j] = { optimizer = r.optimizer, baseline = r.baseline, values = values, curve = M.curve(values, hib) }
      end
      out.problems[i] = { name = p.name, title = p.title, metric = p.metric, rows = rows }
   end
   return out
end

---------------------------------------------------------------------------------------
-- output

-- the trial counts a table shows: 1, 2, 4, 8, ... and n
local function ks(n)
   local out, k = {}, 1
   while k < n do out[#out + 1] = k; k = k * 2 end
   if n > 0 then out[#out + 1] = n end
   return out
end
M.table_ks = ks

local function v(x)
   if x == nil then return "–" end
   if x ~= x then return "nan" end
   return ("%.4f"):format(x)
end

function M.caption(p, mode)
   return ("%s: best %s%s after k tuning trials: median [25%%, 75%% quantile, from the best] over all orders of the trials")
      :format(textfmt.problem_label(p), mode == "best" and "ever " or "final ", tostring(p.metric))
end

local function row_cells(r)
   local c = r.curve
   local parts = {}
   for _, k in ipairs(ks(c.n)) do
      parts[#parts + 1] = ("k=%d: %s [%s, %s]"):format(k, v(c.median[k]), v(c.good[k]), v(c.bad[k]))
   end
   return { textfmt.optimizer_label(r), tostring(c.n), table.concat(parts, "; ") }
end

local HEAD = { "optimizer", "trials", "best after k trials: median [good, bad quartile]" }

--- The cells of a problem's table as printed: { head, rows }.
function M.grid(p) return textfmt.grid(HEAD, p.rows, row_cells) end

-- a problem's caption in a table of the given mode
local function captions(mode)
   return function(p) return { M.caption(p, mode) } end
end

--- Aligned plain text, one block per problem.
function M.text(tc) return textfmt.problems_text(tc.problems, captions(tc.mode), M.grid) end

--- Markdown: a heading and a pipe table per problem.
function M.markdown(tc) return textfmt.problems_markdown(tc.problems, captions(tc.mode), M.grid) end

--- CSV, one line per problem, optimizer and number of trials k.
function M.csv(tc)
   local out = { "problem,metric,optimizer,baseline,trials,k,median,good_quartile,bad_quartile" }
   for _, p in ipairs(tc.problems) do
      for _, r in ipairs(p.rows) do
         local c = r.curve
         for k = 1, c.n do
            out[#out + 1] = textfmt.csv_line(p.name, p.metric, r.optimizer, r.baseline and true or false, c.n, k,
               textfmt.csv_float(c.median[k]), textfmt.csv_float(c.good[k]), textfmt.csv_float(c.bad[k]))
         end
      end
   end
   return table.concat(out, "\n") .. "\n"
end

local function jlist(xs)
   local out = {}
   for i, x in ipairs(xs) do out[i] = textfmt.jnum(x) end
   return jsonw.array(out)
end

--- JSON: { kind, mode, problems = [ { problem, metric, rows = [ { optimizer, baseline, trials,
-- median, good_quartile, bad_quartile (lists over k = 1..trials; NaN as null) } ] } ] }.
function M.json(tc)
   local ps = {}
   for i, p in ipairs(tc.problems) do
      local rows = {}
      for j, r in ipairs(p.rows) do
         rows[j] = jsonw.object { { "optimizer", r.optimizer }, { "baseline", r.baseline }, { "trials", jsonw.int(r.curve.n) },
            { "median", jlist(r.curve.median) }, { "good_quartile", jlist(r.curve.good) }, { "bad_quartile", jlist(r.curve.bad) } }
      end
      ps[i] = jsonw.object { { "problem", p.name }, { "metric", p.metric }, { "rows", jsonw.array(rows) } }
   end
   return jsonw.encode(jsonw.object { { "kind", "tuning" }, { "mode", tc.mode }, { "problems", jsonw.array(ps) } }) .. "\n"
end

M.FORMATS = { text = M.text, md = M.markdown, markdown = M.markdown, csv = M.csv, json = M.json }

return M
