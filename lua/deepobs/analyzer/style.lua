--- One look per optimizer for a whole report: every figure draws an optimizer in the same
-- colour, and each baseline optimizer in its own shade of grey with its own dash pattern, so
-- a legend entry means the same curve on every panel and page.
--
--    local style = require "deepobs.analyzer.style"
--    local S = style.assign(col, baselines, { optimizers = { "MyOpt" } })  -- once per report
--    style.of(S, "MyOpt")                     --> { color = "#1f77b4", key = "opt:MyOpt", ... }
--    style.of(S, "AdamOptimizer", true)       --> { color = "#a3a3a3", dash = "9,3,2,3", ... }
--
-- Colours go to the optimizers of the results in DeepOBS's order (SGD, Momentum, Adam, then
-- by name) across all problems, so they do not depend on which problem a figure shows. The
-- palette has no grey: grey means "baseline". Past the palette's nine colours they repeat
-- with a dash pattern, so no two optimizers look alike.
local select = require "deepobs.analyzer.select"

local M = {}

-- matplotlib's tab10 without its grey
M.PALETTE = { "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf", "#bcbd22" }
-- the dash patterns of the palette's second, third, ... round
local REPEAT_DASH = { "7,3", "2,2", "9,3,2,3" }

-- the DeepOBS baselines, each recognisable without colour: dark long dashes, mid dots,
-- light dash-dots (1.1's and 1.2's names)
local SGD = { color = "#3d3d3d", dash = "8,4" }
local MOMENTUM = { color = "#707070", dash = "2,2.5" }
local ADAM = { color = "#a3a3a3", dash = "9,3,2,3" }
M.BASELINE = {
   GradientDescentOptimizer = SGD, SGD = SGD,
   MomentumOptimizer = MOMENTUM, Momentum = MOMENTUM,
   AdamOptimizer = ADAM, Adam = ADAM,
}
-- other baseline optimizers (a DeepOBS 1.2 baseline folder has more)
local OTHER_BASELINE = {
   { color = "#555555", dash = "1,3" }, { color = "#8a8a8a", dash = "12,3" },
   { color = "#4a4a4a", dash = "4,2,1,2,1,2" }, { color = "#979797", dash = "5,5" },
}

M.BASELINE_WIDTH, M.WIDTH = "1.4", "1.8"

local function names_in(col, keep)
   local seen, out = {}, {}
   for _, p in pairs(col and col.problems or {}) do
      for name in pairs(p.optimizers or {}) do
         if not seen[name] and (keep == nil or keep[name]) then
            seen[name] = true
            out[#out + 1] = name
         end
      end
   end
   return select.optimizer_order(out)
end

--- The styles of a report: the optimizers of col (only those in opts.optimizers, when given)
-- and the baseline optimizers of baselines (either may be nil). A problem entry
-- ({ optimizers = ... }) works in place of a collection.
function M.assign(col, baselines, opts)
   opts = opts or {}
   if col and col.problems == nil and col.optimizers then col = { problems = { col } } end
   if baselines and baselines.problems == nil and baselines.optimizers then baselines = { problems = { baselines } } end
   local keep
   if opts.optimizers then
      keep = {}
      for _, n in ipairs(opts.optimizers) do keep[n] = true end
   end
   local S = { optimizer = {}, baseline = {}, order = names_in(col, keep), baseline_order = names_in(baselines) }
   local np = #M.PALETTE
   for i, name in ipairs(S.order) do
      local round = math.floor((i - 1) / np)
      S.optimizer[name] = { color = M.PALETTE[(i - 1) % np + 1], dash = round > 0 and REPEAT_DASH[(round - 1) % #REPEAT_DASH + 1] or nil,
         width = M.WIDTH, key = "opt:" .. name, label = name }
   end
   local other = 0
   for _, name in ipairs(S.baseline_order) do
      local b = M.BASELINE[name]
      if not b then
         other = other + 1
         b = OTHER_BASELINE[(other - 1) % #OTHER_BASELINE + 1]
      end
      S.baseline[name] = { color = b.color, dash = b.dash, width = M.BASELINE_WIDTH, key = "base:" .. name,
         label = name .. " (baseline)", baseline = true }
   end
   return S
end

--- The style of an optimizer (baseline = true: of the baseline of that name). A name the
-- assignment does not know is an error: it would get a colour another figure gives to
-- someone else.
function M.of(S, name, baseline)
   local s = (baseline and S.baseline or S.optimizer)[name]
   if not s then
      error(("style: %s %s has no assigned style (build the styles from every collection the report shows)")
         :format(baseline and "baseline" or "optimizer", tostring(name)), 2)
   end
   return s
end

--- True for a colour of the grey family (r = g = b), as every baseline's.
function M.is_grey(color)
   local r, g, b = tostring(color):match("^#(%x%x)(%x%x)(%x%x)$")
   return r ~= nil and r == g and g == b
end

return M
