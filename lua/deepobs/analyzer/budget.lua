--- What a set of results cost: per problem and optimizer the tuning trials (settings), the
-- seeds, the runs and the CPU hours, and the totals, so that a sweep's report names its budget.
--
--    local budget = require "deepobs.analyzer.budget"
--    local b = budget.build(col, { problems = { "quadratic_deep" } })
--    b.total.cpu_hours, b.rows[1].trials, b.rows[1].seeds   --> 0.42, 18, { 42, 43, 44 }
--    print(budget.text(b))   -- also markdown, csv, json
--
-- CPU hours: for each run, the sum of its epoch_times (the wall time of the training steps of
-- each epoch) times its threads, summed over the runs, in hours. Evaluation, data loading and
-- process start-up are not counted, nor are runs that lack epoch_times or threads (DeepOBS
-- 1.1's and 1.2's files) or whose values make no sense (a negative or NaN time, 0 threads):
-- those are counted in `uncounted`, so a reader sees what is missing.
local rs = require "deepobs.analyzer.results"
local select = require "deepobs.analyzer.select"
local textfmt = require "deepobs.analyzer.textfmt"
local jsonw = require "deepobs.results"

local M = {}

M.WHAT = "CPU hours = training time (epoch_times: the training steps of each epoch, wall clock) x threads, "
   .. "summed over the runs; evaluation, data loading and start-up are not counted"

-- training seconds and CPU seconds of one run, or nil when it lacks epoch_times (a list of
-- finite times >= 0) or threads (a whole number >= 1)
local function run_cost(data)
   local et, th = data.epoch_times, data.threads
   if type(et) ~= "table" or type(th) ~= "number" or th < 1 or th ~= math.floor(th) or th == math.huge then return nil end
   local s = 0
   for _, t in ipairs(et) do
      if type(t) ~= "number" or t ~= t or t < 0 or t == math.huge then return nil end
      s = s + t
   end
   return s, s * th
end

--- { kind = "budget", rows = { { problem, optimizer, trials, seeds (sorted list), runs,
-- min_seeds, max_seeds (per setting), train_hours, cpu_hours, uncounted } }, total = { problems,
-- optimizers, trials, runs, train_hours, cpu_hours, uncounted } }. opts.problems and
-- opts.optimizers filter as in tables.build.
function M.build(col, opts)
   opts = opts or {}
   local pf, of = rs.set_of(opts.problems), rs.set_of(opts.optimizers)
   local out = { kind = "budget", rows = {}, what = M.WHAT,
      total = { problems = 0, optimizers = 0, trials = 0, runs = 0, train_hours = 0, cpu_hours = 0, uncounted = 0 } }
   local tot, seen_opt = out.total, {}
   for _, pname in ipairs(rs.names(col.problems)) do
      if not pf or pf[pname] then
         local p = col.problems[pname]
         local names = {}
         for n in pairs(p.optimizers) do if not of or of[n] then names[#names + 1] = n end end
         if #names > 0 then tot.problems = tot.problems + 1 end
         for _, oname in ipairs(select.optimizer_order(names)) do
            local o = p.optimizers[oname]
            local r = { problem = pname, optimizer = oname, trials = #o.settings, seeds = {}, runs = 0,
               min_seeds = math.huge, max_seeds = 0, train_hours = 0, cpu_hours = 0, uncounted = 0 }
            local seeds = {}
            for _, s in ipairs(o.settings) do
               r.min_seeds, r.max_seeds = math.min(r.min_seeds, #s.runs), math.max(r.max_seeds, #s.runs)
               for _, run in ipairs(s.runs) do
                  r.runs = r.runs + 1
                  if run.seed ~= nil then seeds[run.seed] = true end
                  local train, cpu = run_cost(run.data or {})
                  if train then
                     r.train_hours, r.cpu_hours = r.train_hours + train / 3600, r.cpu_hours + cpu / 3600
                  else
                     r.uncounted = r.uncounted + 1
                  end
               end
            end
            for sd in pairs(seeds) do r.seeds[#r.seeds + 1] = sd end
            table.sort(r.seeds)
            if r.trials == 0 then r.min_seeds = 0 end
            out.rows[#out.rows + 1] = r
            if not seen_opt[oname] then seen_opt[oname], tot.optimizers = true, tot.optimizers + 1 end
            tot.trials, tot.runs = tot.trials + r.trials, tot.runs + r.runs
            tot.train_hours, tot.cpu_hours = tot.train_hours + r.train_hours, tot.cpu_hours + r.cpu_hours
            tot.uncounted = tot.uncounted + r.uncounted
         end
      end
   end
   return out
end

---------------------------------------------------------------------------------------
-- output

--- "42-44" / "42, 50, 51" (runs of consecutive seeds joined)
function M.seeds_text(seeds)
   local parts, i = {}, 1
   while i <= #seeds do
      local j = i
      while j < #seeds and seeds[j + 1] == seeds[j] + 1 do j = j + 1 end
      parts[#parts + 1] = j > i + 1 and (seeds[i] .. "-" .. seeds[j]) or tostring(seeds[i])
      if j == i + 1 then parts[#parts + 1] = tostring(seeds[j]) end
      i = j + 1
   end
   return #parts > 0 and table.concat(parts, ", ") or "–"
end

local function per_setting(r)
   if r.min_seeds == r.max_seeds then return tostring(r.max_seeds) end
   return r.min_seeds .. "-" .. r.max_seeds
end

local function hours(h) return ("%.3g"):format(h) end

local HEAD = { "problem", "optimizer", "trials", "seeds", "seeds per trial", "runs", "training hours", "CPU hours",
               "runs not counted" }

local function rows_of(b)
   local rows = {}
   for _, r in ipairs(b.rows) do
      rows[#rows + 1] = { r.problem, r.optimizer, tostring(r.trials), M.seeds_text(r.seeds), per_setting(r),
         tostring(r.runs), hours(r.train_hours), hours(r.cpu_hours), tostring(r.uncounted) }
   end
   local t = b.total
   rows[#rows + 1] = { "total", ("%d optimizer%s"):format(t.optimizers, t.optimizers == 1 and "" or "s"), tostring(t.trials),
      "", "", tostring(t.runs), hours(t.train_hours), hours(t.cpu_hours), tostring(t.uncounted) }
   return rows
end

--- The cells of the table as printed, the totals last: { head, rows }.
function M.grid(b) return { head = HEAD, rows = rows_of(b) } end

--- Aligned plain text: what is counted, a line per problem and optimizer, the totals.
function M.text(b)
   return "budget: trials = settings tried, seeds = distinct random seeds; " .. b.what .. "\n"
      .. textfmt.aligned(HEAD, rows_of(b)) .. "\n"
end

--- Markdown: what is counted, then a pipe table.
function M.markdown(b)
   return table.concat({ "### Budget", "", b.what .. ".", "", textfmt.markdown_table(HEAD, rows_of(b)) }, "\n") .. "\n"
end

--- CSV, one line per problem and optimizer (seeds separated by spaces), then the total.
function M.csv(b)
   local out = { "problem,optimizer,trials,seeds,runs,min_seeds_per_trial,max_seeds_per_trial,train_hours,cpu_hours,runs_not_counted" }
   local function line(r, problem, optimizer, seeds)
      local seed_list = {}
      for i, sd in ipairs(seeds) do seed_list[i] = tostring(sd) end
      out[#out + 1] = textfmt.csv_line(problem, optimizer, r.trials, table.concat(seed_list, " "), r.runs, r.min_seeds,
         r.max_seeds, textfmt.csv_float(r.train_hours), textfmt.csv_float(r.cpu_hours), r.uncounted)
   end
   for _, r in ipairs(b.rows) do line(r, r.problem, r.optimizer, r.seeds) end
   line(b.total, "total", "", {})
   return table.concat(out, "\n") .. "\n"
end

--- JSON: { kind, what, rows = [ ... ], total = { ... } }.
function M.json(b)
   local rows = {}
   for i, r in ipairs(b.rows) do
      rows[i] = jsonw.object { { "problem", r.problem }, { "optimizer", r.optimizer }, { "trials", jsonw.int(r.trials) },
         { "seeds", jsonw.int(r.seeds) }, { "runs", jsonw.int(r.runs) }, { "min_seeds_per_trial", jsonw.int(r.min_seeds) },
         { "max_seeds_per_trial", jsonw.int(r.max_seeds) }, { "train_hours", r.train_hours }, { "cpu_hours", r.cpu_hours },
         { "runs_not_counted", jsonw.int(r.uncounted) } }
   end
   local t = b.total
   return jsonw.encode(jsonw.object { { "kind", "budget" }, { "what", b.what }, { "rows", jsonw.array(rows) },
      { "total", jsonw.object { { "problems", jsonw.int(t.problems) }, { "optimizers", jsonw.int(t.optimizers) },
         { "trials", jsonw.int(t.trials) }, { "runs", jsonw.int(t.runs) }, { "train_hours", t.train_hours },
         { "cpu_hours", t.cpu_hours }, { "runs_not_counted", jsonw.int(t.uncounted) } } } }) .. "\n"
end

M.FORMATS = { text = M.text, md = M.markdown, markdown = M.markdown, csv = M.csv, json = M.json }

return M
