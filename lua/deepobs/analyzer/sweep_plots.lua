--- The figures of many runs: performance profiles (deepobs.analyzer.profiles) and tuning
-- curves (deepobs.analyzer.tuning), as SVG strings, in the optimizers' report-wide styles.
--
--    local sweep_plots = require "deepobs.analyzer.sweep_plots"
--    sweep_plots.profile(profiles.build(tt), { styles = S })
--    sweep_plots.tuning(tc.problems[1], { styles = S })
local svg = require "deepobs.analyzer.svg"
local style = require "deepobs.analyzer.style"
local select = require "deepobs.analyzer.select"
local plots = require "deepobs.analyzer.plots"
local profiles = require "deepobs.analyzer.profiles"

local M = {}

-- styles covering the entries (optimizer, baseline) of a profile or tuning table
local function styles_for(rows)
   local col, base = { problems = { { optimizers = {} } } }, { problems = { { optimizers = {} } } }
   for _, r in ipairs(rows) do
      local t = r.baseline and base or col
      t.problems[1].optimizers[r.optimizer] = {}
   end
   return style.assign(col, base)
end

local TAU_TICKS = { 1, 1.25, 1.5, 2, 3, 4, 6, 8, 10, 15, 20, 30, 50, 100, 200, 500, 1000 }

--- The performance profile: rho(tau) over tau (log axis from 1), one staircase per optimizer.
-- Where optimizers tie their lines lie on each other: the earlier ones are drawn wider, so
-- every colour stays visible. opts: styles, width, height, id, title.
function M.profile(pr, opts)
   opts = opts or {}
   local S = opts.styles or styles_for(pr.entries)
   local tmax = profiles.tau_max(pr)
   local fig = svg.figure{ width = opts.width or 760, height = opts.height or 440, id = opts.id or "profile",
      title = opts.title or ("Performance profile (%d problem%s; time in %s)"):format(#pr.problems,
         #pr.problems == 1 and "" or "s", pr.time == "epochs" and "epochs" or "seconds of training") }
   local panel = fig:panel{ x = 0, y = 30, w = fig.width, h = fig.height - 70, xlog = true, xlim = { 1, tmax },
      ylim = { -0.03, 1.03 }, xtick_values = TAU_TICKS,
      xlabel = "tau: time within tau x the fastest optimizer's", ylabel = "share of problems reaching the target" }
   local legend, n = {}, #pr.entries
   for i, e in ipairs(pr.entries) do
      local sty = style.of(S, e.optimizer, e.baseline)
      local xs, ys = profiles.steps(pr, e, tmax)
      local w = math.min(4.5, tonumber(sty.width) + 0.6 * (n - i))
      panel:line(xs, ys, { color = sty.color, dash = sty.dash, width = ("%.1f"):format(w), key = sty.key, label = sty.label,
         class = e.baseline and "baseline profile" or "profile" })
      legend[#legend + 1] = { label = ("%s (%.0f%% reached)"):format(sty.label, 100 * profiles.rho(e, math.huge, #pr.problems)),
         color = sty.color, dash = sty.dash, key = sty.key }
   end
   if #pr.entries == 0 or #pr.problems == 0 then panel:note("no problems or optimizers to compare") end
   fig:legend(legend, 10, fig.height - 14)
   return fig:render()
end

--- The tuning curves of one problem (an entry of tuning.build's problems): per optimizer with
-- two or more trials (one trial makes no curve; the tuning table lists it), the median best
-- result after k trials and the band between its quartiles over all orders of the trials (for
-- the baselines the median alone). opts: styles, width, height, id, title.
function M.tuning(tp, opts)
   opts = opts or {}
   local S = opts.styles or styles_for(tp.rows)
   local fig = svg.figure{ width = opts.width or 760, height = opts.height or 440, id = opts.id or ("tuning-" .. tp.name),
      title = opts.title or ("%s: tuning curves"):format(tp.name) }
   local maxn = 1
   for _, r in ipairs(tp.rows) do maxn = math.max(maxn, r.curve.n) end
   local panel = fig:panel{ x = 0, y = 30, w = fig.width, h = fig.height - 70, xlim = { 1, math.max(2, maxn) },
      xlabel = "tuning trials (settings)", ylabel = ("best final %s so far"):format((tostring(tp.metric):gsub("_", " "))) }
   local legend = {}
   for pass = 1, 2 do
      for _, r in ipairs(tp.rows) do
         if (pass == 1) == r.baseline then
            local sty = style.of(S, r.optimizer, r.baseline)
            local c = r.curve
            if c.n >= 2 then
               -- the baselines' bands would cover the results': their medians only
               if not r.baseline then
                  local lo, hi = {}, {}
                  for k = 1, c.n do lo[k], hi[k] = math.min(c.good[k], c.bad[k]), math.max(c.good[k], c.bad[k]) end
                  panel:band(c.k, lo, hi, { color = sty.color, key = sty.key, label = sty.label })
               end
               panel:line(c.k, c.median, { color = sty.color, dash = sty.dash, width = sty.width, key = sty.key,
                  label = sty.label, class = r.baseline and "baseline" or nil })
               legend[#legend + 1] = { label = ("%s (%d trials)"):format(sty.label, c.n), color = sty.color, dash = sty.dash,
                  key = sty.key }
            end
         end
      end
   end
   local curves = {}
   for _, it in ipairs(panel.items) do if it.kind == "line" then curves[#curves + 1] = it.ys end end
   local lo, hi, above, below = plots.robust_range(curves, select.higher_is_better(tp.metric))
   if lo then
      -- the quartile bands count too: the bad quartile of few trials is what the figure is for
      for _, it in ipairs(panel.items) do
         if it.kind == "band" then
            for k = 1, #it.lo do
               if svg.finite(it.lo[k]) and it.lo[k] < lo and it.lo[k] >= lo - (hi - lo) then lo = it.lo[k] end
               if svg.finite(it.hi[k]) and it.hi[k] > hi and it.hi[k] <= hi + (hi - lo) then hi = it.hi[k] end
            end
         end
      end
      panel.ylim = { lo, hi }
      if above and above > hi then panel:clip_note("clipped, max " .. svg.fmt(above), "above") end
      if below and below < lo then panel:clip_note("clipped, min " .. svg.fmt(below), "below") end
   end
   if #legend == 0 then panel:note("no optimizer has two or more settings") end
   fig:legend(legend, 10, fig.height - 14)
   return fig:render()
end

return M
