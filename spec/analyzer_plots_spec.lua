-- deepobs.analyzer.svg / plots / report: SVG structure (well-formed XML, polyline point
-- counts, log-axis ticks, bands, grey baselines), determinism, and the offline HTML
-- report rendered by headless Chromium. Input: the DeepOBS 1.1 baselines in
-- ../shared/baselines, turned into the analyzer's structures (lua/deepobs/analyzer/results.lua) by a
-- small loader below, so these specs do not depend on results.lua.
local svg = require "deepobs.analyzer.svg"
local plots = require "deepobs.analyzer.plots"
local style = require "deepobs.analyzer.style"
local report = require "deepobs.analyzer.report"
local cjson = require "cjson"
local fs = require "helpers.fs"

local BASE = fs.BASELINES
local TMP = "./.spec_tmp_plots"

local function have_baselines()
   local f = io.open(BASE .. "/README.md")
   if f then f:close() return true end
   return false
end

---------------------------------------------------------------------------------------------
local fixture = require "helpers.plots_results"
local make_setting, load = fixture.make_setting, require("deepobs.analyzer.results").load

-- a synthetic problem entry: optimizers -> list of { lr, seeds = { curve per seed } }
local function synthetic(name, spec, with_acc)
   local prob = { name = name, optimizers = {} }
   for oname, settings in pairs(spec) do
      local opt = { name = oname, settings = {} }
      for _, st in ipairs(settings) do
         local runs = {}
         for k, curve in ipairs(st.seeds) do
            local data = { test_losses = curve, train_losses = curve, minibatch_train_losses = st.mb and st.mb[k] }
            if with_acc then
               local acc = {}
               for i, v in ipairs(curve) do acc[i] = 1 / (1 + v) end
               data.test_accuracies, data.train_accuracies = acc, acc
            end
            runs[#runs + 1] = { seed = 41 + k, path = "x", data = data }
         end
         opt.settings[#opt.settings + 1] = make_setting(name, oname, "f", runs)
         opt.settings[#opt.settings].lr = st.lr
         opt.settings[#opt.settings].hyperparams = st.hp or {}
      end
      prob.optimizers[oname] = opt
   end
   return prob
end

---------------------------------------------------------------------------------------------
-- a minimal XML well-formedness checker: balanced tags, quoted attributes, no stray '<'
-- or '&', a single root. Returns the list of elements { name, attrs, text } or errors.
local function parse_xml(s)
   local stack, elements, pos = {}, {}, 1
   s = s:gsub("^%s*<!DOCTYPE[^>]*>", "")
   local roots = 0
   while true do
      local lt = s:find("<", pos, true)
      local text = s:sub(pos, (lt or #s + 1) - 1)
      if text:find("&") then
         for ent in text:gmatch("&([^;%s]*);?") do
            assert(ent:match("^%a+$") or ent:match("^#%d+$"), "bad entity &" .. ent)
         end
         assert(not text:find("&[^;]*%s") and not text:find("&[^;]*$"), "unterminated entity in text")
      end
      if #stack > 0 then stack[#stack].text = stack[#stack].text .. text end
      if not lt then break end
      local gt = s:find(">", lt, true)
      assert(gt, "unterminated tag at " .. lt)
      local tag = s:sub(lt + 1, gt - 1)
      assert(not tag:find("<", 1, true), "'<' inside a tag at " .. lt)
      if tag:sub(1, 1) == "/" then
         local name = tag:sub(2):match("^%s*([%w:%-]+)%s*$")
         local top = table.remove(stack)
         assert(top and top.name == name, "closing </" .. tostring(name) .. "> does not match <" .. tostring(top and top.name) .. ">")
      elseif tag:sub(1, 3) == "!--" then
         -- comment
      else
         local self_close = tag:sub(-1) == "/"
         if self_close then tag = tag:sub(1, -2) end
         local name, rest = tag:match("^([%w:%-]+)(.*)$")
         assert(name, "bad tag <" .. tag .. ">")
         local attrs = {}
         local r = rest:gsub('%s+([%w:%-]+)="([^"<]*)"', function(k, v)
            assert(attrs[k] == nil, "duplicate attribute " .. k)
            attrs[k] = v
            return ""
         end)
         assert(r:match("^%s*$"), "malformed attributes in <" .. name .. ">: " .. r)
         local el = { name = name, attrs = attrs, text = "" }
         elements[#elements + 1] = el
         if #stack == 0 then roots = roots + 1 end
         if not self_close then stack[#stack + 1] = el end
      end
      pos = gt + 1
   end
   assert(#stack == 0, "unclosed <" .. (stack[#stack] and stack[#stack].name or "?") .. ">")
   return elements, roots
end

local function find_all(elements, pred)
   local out = {}
   for _, e in ipairs(elements) do if pred(e) then out[#out + 1] = e end end
   return out
end

local function has_class(e, c)
   return e.attrs.class and (" " .. e.attrs.class .. " "):find(" " .. c .. " ", 1, true) ~= nil
end

local function npoints(e)
   local n = 0
   for _ in e.attrs.points:gmatch("[^%s]+") do n = n + 1 end
   return n
end

---------------------------------------------------------------------------------------------
describe("svg: ticks and number labels", function()
   it("nice linear ticks cover the range with 1/2/2.5/5 steps", function()
      local t, lo, hi = svg.nice_ticks(0.13, 0.87, 4)
      assert.are.same({ 0, 0.2, 0.4, 0.6, 0.8, 1 }, t)
      assert.are.equal(0, lo); assert.are.equal(1, hi)
      t = svg.nice_ticks(0, 100, 5)
      assert.are.same({ 0, 20, 40, 60, 80, 100 }, t)
      t = svg.nice_ticks(-3, 7, 5)
      assert.are.same({ -4, -2, 0, 2, 4, 6, 8 }, t)
      t = svg.nice_ticks(5, 5, 5)           -- a flat curve still gets an axis
      assert.is_true(#t >= 2 and t[1] < 5 and t[#t] > 5)
   end)
   it("log ticks are the covering decades, thinned when there are many", function()
      local t, lo, hi = svg.log_ticks(2e-5, 30)
      assert.are.same({ 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1, 10, 100 }, t)
      assert.are.equal(1e-5, lo); assert.are.equal(100, hi)
      t = svg.log_ticks(1e-12, 1e12, 8)
      assert.is_true(#t <= 9)
      assert.are.equal(1e-12, t[1])
   end)
   it("formats numbers compactly and escapes text", function()
      assert.are.equal("0.25", svg.fmt(0.25))
      assert.are.equal("1e-5", svg.fmt(1e-5))
      assert.are.equal("2.5e5", svg.fmt(2.5e5))
      assert.are.equal("0", svg.fmt(0))
      assert.are.equal("a&lt;b &amp; &quot;c&quot;", svg.esc('a<b & "c"'))
   end)
end)

describe("svg: figures", function()
   it("draws lines, bands, markers and a legend as well-formed SVG", function()
      local fig = svg.figure{ width = 400, height = 300, title = "T <1>" }
      local p = fig:panel{ x = 0, y = 30, w = 400, h = 240, title = "loss & acc", xlabel = "epoch", ylabel = "loss" }
      p:band({ 0, 1, 2 }, { 0, 1, 2 }, { 1, 2, 3 }, { color = "#ff0000" })
      p:line({ 0, 1, 2 }, { 0.5, 1.5, 2.5 }, { color = "#ff0000", label = "a" })
      p:markers({ 0, 2 }, { 1, 2 }, { shape = "x" })
      p:hline(1.0, { color = "#888888", dash = "2,2" })
      fig:legend({ { label = "a", color = "#ff0000" } })
      local s = fig:render()
      local els, roots = parse_xml(s)
      assert.are.equal(1, roots)
      assert.are.equal("svg", els[1].name)
      local lines = find_all(els, function(e) return e.name == "polyline" end)
      assert.are.equal(1, #lines)
      assert.are.equal(3, npoints(lines[1]))
      assert.are.equal(1, #find_all(els, function(e) return e.name == "polygon" and has_class(e, "band") end))
      assert.is_truthy(s:find("T &lt;1&gt;", 1, true))
      assert.is_truthy(s:find("loss &amp; acc", 1, true))
      assert.are.equal(s, (function()            -- same calls, same bytes
         local f2 = svg.figure{ width = 400, height = 300, title = "T <1>" }
         local q = f2:panel{ x = 0, y = 30, w = 400, h = 240, title = "loss & acc", xlabel = "epoch", ylabel = "loss" }
         q:band({ 0, 1, 2 }, { 0, 1, 2 }, { 1, 2, 3 }, { color = "#ff0000" })
         q:line({ 0, 1, 2 }, { 0.5, 1.5, 2.5 }, { color = "#ff0000", label = "a" })
         q:markers({ 0, 2 }, { 1, 2 }, { shape = "x" })
         q:hline(1.0, { color = "#888888", dash = "2,2" })
         f2:legend({ { label = "a", color = "#ff0000" } })
         return f2:render()
      end)())
   end)
   it("splits a line at NaN/Inf (a diverged run) and drops non-positive points on a log axis", function()
      local fig = svg.figure{ width = 300, height = 200 }
      local p = fig:panel{ x = 0, y = 0, w = 300, h = 200, ylog = true }
      p:line({ 0, 1, 2, 3, 4, 5 }, { 1, 2, 0 / 0, 4, 5, math.huge }, { label = "d" })
      p:line({ 0, 1, 2, 3 }, { 1, -1, 2, 3 }, { label = "neg" })
      local els = parse_xml(fig:render())
      local pl = find_all(els, function(e) return e.name == "polyline" end)
      assert.are.equal(3, #pl)
      assert.are.equal(2, npoints(pl[1])); assert.are.equal(2, npoints(pl[2])); assert.are.equal(2, npoints(pl[3]))
      assert.are.equal(1, #find_all(els, function(e) return e.name == "circle" and has_class(e, "series-point") end))
      for _, t in ipairs(find_all(els, function(e) return has_class(e, "ytick") end)) do
         local v = tonumber(t.attrs["data-value"])
         assert.is_true(v > 0)
         assert.are.equal(0, math.log10(v) % 1)
      end
      assert.has_error(function() p:line({ 1, 2 }, { 1 }) end)
   end)
   it("a legend that wraps below the figure makes the figure taller", function()
      local function render(n)
         local fig = svg.figure{ width = 300, height = 200 }
         fig:panel{ x = 0, y = 0, w = 300, h = 170 }:line({ 0, 1 }, { 0, 1 })
         local entries = {}
         for i = 1, n do entries[i] = { label = "optimizer number " .. i, color = "#000000" } end
         fig:legend(entries, 10, 188)
         return fig:render()
      end
      assert.is_truthy(render(1):find('height="200"', 1, true))
      local s = render(4)
      local h = tonumber(s:match('<svg[^>]- height="(%d+)"'))
      assert.is_true(h >= 188 + 3 * 16)
      for y in s:gmatch('class="legend%-label" x="[^"]+" y="([^"]+)"') do assert.is_true(tonumber(y) < h) end
   end)
   it("a std band stays within [0, 1] for accuracies and above 0 for non-negative losses", function()
      -- seeds 0, 0, 3: loss mean 1, std 1.41 (mean - std < 0); accuracy 1, 1, 0.25 (mean + std > 1)
      local q = synthetic("fmnist_2c2d", { AdamOptimizer = { { lr = 1, seeds = { { 0, 0 }, { 0, 0 }, { 3, 0 } } } } }, true)
      local els = parse_xml(plots.problem_figure(q, nil, {}))
      local panel, checked = nil, 0
      for _, e in ipairs(els) do
         if has_class(e, "panel") then panel = e.attrs["data-title"] end
         if has_class(e, "ytick") then
            local v = tonumber(e.attrs["data-value"])
            assert.is_true(v >= 0, panel .. " has a negative tick")
            if panel:find("accuracy") then assert.is_true(v <= 1, panel .. " has a tick above 1") end
            checked = checked + 1
         end
      end
      assert.is_true(checked > 8)
   end)
   it("a fixed y range keeps only the ticks inside it", function()
      local fig = svg.figure{ width = 300, height = 200 }
      local p = fig:panel{ x = 0, y = 0, w = 300, h = 200, ylim = { 0.5, 0.9 } }
      p:line({ 0, 1 }, { 0, 1 })
      local els = parse_xml(fig:render())
      for _, t in ipairs(find_all(els, function(e) return has_class(e, "ytick") end)) do
         local v = tonumber(t.attrs["data-value"])
         assert.is_true(v >= 0.5 - 1e-12 and v <= 0.9 + 1e-12)
      end
   end)
end)

describe("plots on synthetic results", function()
   local prob = synthetic("fmnist_2c2d", {
      AdamOptimizer = {
         { lr = 1e-4, seeds = { { 3, 2, 1.5, 1.2 }, { 3.2, 2.2, 1.7, 1.0 } }, hp = { beta1 = 0.9 },
            mb = { { 3, 2.9, 2.8, 2.7, 2.6 }, { 3.1, 2.8, 2.7, 2.6, 2.5 } } },
         { lr = 1e-3, seeds = { { 3, 1.5, 0.9, 0.5 }, { 3.1, 1.4, 0.8, 0.6 }, { 2.9, 1.6, 1.0, 0.4 } }, hp = { beta1 = 0.5 } },
      },
      GradientDescentOptimizer = {
         { lr = 1e-2, seeds = { { 3, 2.5, 2, 1.8 } }, hp = {} },
         { lr = 1e-1, seeds = { { 3, 2.0, 1.6, 1.1 } }, hp = {} },
      },
   }, true)

   it("chooses the setting by final / best metric and by most runs", function()
      local adam = prob.optimizers.AdamOptimizer
      assert.are.equal(1e-3, plots.choose(adam, "final", "test_accuracies").lr)
      assert.are.equal(1e-3, plots.choose(adam, "most", "test_accuracies").lr)
      assert.are.equal(1e-3, plots.choose(adam, "final", "test_losses").lr)
      local sgd = prob.optimizers.GradientDescentOptimizer
      -- equal run counts: "most" falls back to "final"
      assert.are.equal(1e-1, plots.choose(sgd, "most", "test_accuracies").lr)
   end)

   it("the four-panel figure has a mean line per optimizer with as many points as epochs, and a band", function()
      local s = plots.problem_figure(prob, nil, { band = "minmax" })
      local els, roots = parse_xml(s)
      assert.are.equal(1, roots)
      local panels = find_all(els, function(e) return has_class(e, "panel") end)
      assert.are.equal(4, #panels)
      local titles = {}
      for _, p in ipairs(panels) do titles[#titles + 1] = p.attrs["data-title"] end
      assert.are.same({ "test loss", "train loss", "test accuracy", "train accuracy" }, titles)
      local lines = find_all(els, function(e) return e.name == "polyline" and has_class(e, "series") end)
      assert.are.equal(8, #lines)               -- 2 optimizers x 4 panels
      for _, l in ipairs(lines) do assert.are.equal(4, npoints(l)) end
      -- Adam's chosen setting has 3 seeds -> a band in each panel; SGD's single run has none
      local bands = find_all(els, function(e) return e.name == "polygon" and has_class(e, "band") end)
      assert.are.equal(4, #bands)
      for _, b in ipairs(bands) do
         assert.are.equal("AdamOptimizer", b.attrs["data-label"])
         assert.are.equal(8, npoints(b))
      end
      assert.is_truthy(s:find("lr 1.00e-03, 3 runs", 1, true))
      assert.is_truthy(s:find(">fmnist_2c2d (P3 F-MNIST - CNN)</text>", 1, true))
   end)

   it("leaves out the accuracy panels for a problem without accuracy", function()
      local q = synthetic("quadratic_deep", { AdamOptimizer = { { lr = 1, seeds = { { 3, 2, 1 } } } } }, false)
      local els = parse_xml(plots.problem_figure(q, nil, {}))
      local panels = find_all(els, function(e) return has_class(e, "panel") end)
      assert.are.equal(2, #panels)
      assert.are.equal("test loss", panels[1].attrs["data-title"])
      assert.are.equal("train loss", panels[2].attrs["data-title"])
   end)

   it("lr sensitivity: log x axis with decade ticks, a line per optimizer through its settings", function()
      local els = parse_xml(plots.lr_sensitivity(prob, {}))
      local panel = find_all(els, function(e) return has_class(e, "panel") end)[1]
      assert.are.equal("log", panel.attrs["data-xscale"])
      local xt = {}
      for _, t in ipairs(find_all(els, function(e) return has_class(e, "xtick") end)) do xt[#xt + 1] = tonumber(t.attrs["data-value"]) end
      assert.are.same({ 1e-4, 1e-3, 1e-2, 1e-1 }, xt)
      local lines = find_all(els, function(e) return e.name == "polyline" and has_class(e, "series") end)
      assert.are.equal(2, #lines)
      for _, l in ipairs(lines) do assert.are.equal(2, npoints(l)) end
      -- every seed's final value is marked: 2 + 3 for Adam, 1 + 1 for SGD
      local seeds = find_all(els, function(e) return e.name == "g" and has_class(e, "seeds") end)
      assert.are.equal(2, #seeds)
   end)

   it("hp sensitivity for another hyperparameter and minibatch losses", function()
      local els = parse_xml(plots.hp_sensitivity(prob, "beta1", {}))
      local panel = find_all(els, function(e) return has_class(e, "panel") end)[1]
      assert.are.equal("linear", panel.attrs["data-xscale"])
      local lines = find_all(els, function(e) return e.name == "polyline" and has_class(e, "series") end)
      assert.are.equal(1, #lines)              -- only Adam has beta1
      assert.are.equal(2, npoints(lines[1]))
      els = parse_xml(plots.minibatch_losses(prob, { mode = "most" }))
      assert.are.equal(0, #find_all(els, function(e) return e.name == "polyline" end)) -- the chosen setting has none
   end)

   it("copes with empty problems, settings without curves and diverged runs", function()
      local empty = { name = "fmnist_2c2d", optimizers = {} }
      local els = parse_xml(plots.problem_figure(empty, nil, {}))
      assert.are.equal(1, #find_all(els, function(e) return has_class(e, "note") end))
      parse_xml(plots.lr_sensitivity(empty, {}))
      parse_xml(plots.minibatch_losses(empty, {}))
      local nan = 0 / 0
      local q = synthetic("fmnist_2c2d", { AdamOptimizer = { { lr = 1, seeds = { { 2, nan, nan } } },
         { lr = 2, seeds = { { 2, 1, 0.5 } } } }, SgdX = {} }, true)
      els = parse_xml(plots.problem_figure(q, nil, {}))
      local lines = find_all(els, function(e) return e.name == "polyline" end)
      assert.are.equal(4, #lines)              -- the finite setting is chosen
      for _, l in ipairs(lines) do assert.are.equal(3, npoints(l)) end
      local s = plots.lr_sensitivity(q, {})
      assert.is_truthy(s:find("1 diverged setting", 1, true))
   end)

   it("thins long minibatch curves to max_points, keeping the ends", function()
      local mb = {}
      for i = 1, 5000 do mb[i] = 1 / i end
      local q = synthetic("fmnist_2c2d", { AdamOptimizer = { { lr = 1, seeds = { { 3, 2 } }, mb = { mb } } } }, true)
      local els = parse_xml(plots.minibatch_losses(q, { max_points = 100, ylog = true }))
      local lines = find_all(els, function(e) return e.name == "polyline" end)
      assert.are.equal(1, #lines)
      assert.are.equal(100, npoints(lines[1]))
   end)
end)

describe("plots and report on the DeepOBS 1.1 baselines", function()
   local col
   setup(function()
      if have_baselines() then col = load(BASE) end
   end)
   teardown(function() fs.rmrf(TMP) end)

   it("loads the baselines into the documented structure", function()
      if not col then pending("baselines not found in " .. BASE) return end
      local q = col.problems.quadratic_deep
      assert.is_truthy(q)
      assert.is_true(#q.optimizers.AdamOptimizer.settings > 5)
      local st = col.problems.cifar10_3c3d.optimizers.AdamOptimizer.settings[1].stats.test_accuracies
      assert.are.equal(3, st.n)
      assert.are.equal(#st.mean, #st.std)
   end)

   it("four-panel figure of cifar10_3c3d with each baseline in its own grey and dashes", function()
      if not col then pending("baselines not found in " .. BASE) return end
      local p = col.problems.cifar10_3c3d
      -- the same runs as results and (a copy) as baselines: both are drawn
      local base = { name = p.name, optimizers = p.optimizers }
      local s = plots.problem_figure(p, base, { mode = "final" })
      local els = parse_xml(s)
      local series = find_all(els, function(e) return e.name == "polyline" and has_class(e, "series") end)
      local grey = find_all(series, function(e) return has_class(e, "baseline") end)
      assert.are.equal(12, #grey)              -- 3 baseline optimizers x 4 panels
      local look = {}
      for _, g in ipairs(grey) do
         assert.is_true(style.is_grey(g.attrs.stroke), g.attrs.stroke)
         assert.is_truthy(g.attrs["stroke-dasharray"])
         look[g.attrs["data-key"]] = g.attrs.stroke .. " " .. g.attrs["stroke-dasharray"]
      end
      assert.are.same({ "base:AdamOptimizer", "base:GradientDescentOptimizer", "base:MomentumOptimizer" }, plots.sorted_keys(look))
      assert.are_not.equal(look["base:AdamOptimizer"], look["base:MomentumOptimizer"])
      assert.are_not.equal(look["base:AdamOptimizer"], look["base:GradientDescentOptimizer"])
      assert.are_not.equal(look["base:MomentumOptimizer"], look["base:GradientDescentOptimizer"])
      local colored = find_all(series, function(e) return not has_class(e, "baseline") end)
      assert.are.equal(12, #colored)
      local n = #p.optimizers.AdamOptimizer.settings[1].stats.test_accuracies.mean
      for _, l in ipairs(series) do assert.are.equal(n, npoints(l)) end
      for _, l in ipairs(colored) do assert.is_false(style.is_grey(l.attrs.stroke)) end
      assert.are.equal(12, #find_all(els, function(e) return e.name == "polygon" and has_class(e, "band") end))
      -- the figure of a problem against itself draws it once
      local once = parse_xml(plots.problem_figure(p, p, {}))
      assert.are.equal(0, #find_all(once, function(e) return e.name == "polyline" and has_class(e, "baseline") end))
   end)

   it("overview grids: 4 x 4 panels for the small and the large set, deterministic", function()
      if not col then pending("baselines not found in " .. BASE) return end
      for _, set_name in ipairs({ "small", "large" }) do
         local s = plots.overview(col, col, set_name)
         assert.are.equal(s, plots.overview(col, col, set_name))
         local els = parse_xml(s)
         local panels = find_all(els, function(e) return has_class(e, "panel") end)
         assert.are.equal(16, #panels)
         local lines = find_all(els, function(e) return e.name == "polyline" end)
         assert.is_true(#lines >= 24)
      end
      local s = plots.overview(col, nil, "small")
      -- P1 and P2 have no accuracy: their accuracy panels carry a note instead of curves
      local notes = select(2, s:gsub('class="note"', ""))
      assert.are.equal(4, notes)
      assert.has_error(function() plots.overview(col, nil, "medium") end)
      -- convergence performance: a grey line in the metric's panel of that problem only
      local cp = parse_xml(plots.overview(col, nil, "small", { conv_perf = { cifar10_3c3d = 0.84, quadratic_deep = 90 } }))
      local panel, found = nil, {}
      for _, e in ipairs(cp) do
         if has_class(e, "panel") then panel = e.attrs.id end
         if has_class(e, "conv-perf") then
            found[#found + 1] = panel
            assert.are.equal(svg.GREY, e.attrs.stroke)
         end
      end
      -- panels are numbered row by row: P1 test loss is panel 1, P4 test accuracy is 2 * 4 + 4
      assert.are.same({ "overview-small-p1", "overview-small-p12" }, found)
   end)

   it("lr sensitivity of quadratic_deep spans the tuning grid on a log axis", function()
      if not col then pending("baselines not found in " .. BASE) return end
      local p = col.problems.quadratic_deep
      local els = parse_xml(plots.lr_sensitivity(p, {}))
      local xt = find_all(els, function(e) return has_class(e, "xtick") end)
      assert.is_true(#xt >= 4)
      for _, t in ipairs(xt) do
         local e = math.log10(tonumber(t.attrs["data-value"]))
         assert.is_true(math.abs(e - math.floor(e + 0.5)) < 1e-9)
      end
      local lines = find_all(els, function(e) return e.name == "polyline" and has_class(e, "series") end)
      local total = 0
      for _, l in ipairs(lines) do total = total + npoints(l) end
      local finite_settings = 0
      for _, o in pairs(p.optimizers) do
         for _, st in ipairs(o.settings) do
            local v = st.stats.test_losses.mean
            if v[#v] == v[#v] and math.abs(v[#v]) ~= math.huge then finite_settings = finite_settings + 1 end
         end
      end
      assert.is_true(total <= finite_settings and total >= finite_settings - 2 * #lines)
      -- quadratic_deep's SGD diverges at large learning rates: counted in a note
      local s = plots.lr_sensitivity(p, {})
      local nd = tonumber(s:match('class="note"[^>]*>(%d+) diverged'))
      local settings = 0
      for _, o in pairs(p.optimizers) do settings = settings + #o.settings end
      assert.are.equal(settings - finite_settings, nd)
      assert.is_true(nd > 0)
      -- relative performance: best / value for a loss, so every point is in (0, 1] and the best is 1
      local rel = parse_xml(plots.lr_sensitivity(p, { relative = true }))
      local ones = 0
      for _, e in ipairs(rel) do
         if e.name == "g" and has_class(e, "markers") then ones = ones + 1 end
      end
      assert.are.equal(3, ones)
      local panel = find_all(rel, function(e) return has_class(e, "panel") end)[1]
      local yt = find_all(rel, function(e) return has_class(e, "ytick") end)
      assert.are.equal(0, tonumber(yt[1].attrs["data-value"]))
      assert.are.equal(1, tonumber(yt[#yt].attrs["data-value"]))
      -- each optimizer's best setting sits at 1: the same topmost pixel row for every line
      local tops = {}
      for _, l in ipairs(find_all(rel, function(e) return e.name == "polyline" and has_class(e, "series") end)) do
         local top = math.huge
         for y in l.attrs.points:gmatch(",([%-%d%.]+)") do top = math.min(top, tonumber(y)) end
         tops[#tops + 1] = top
      end
      assert.are.equal(3, #tops)
      assert.are.equal(tops[1], tops[2]); assert.are.equal(tops[1], tops[3])
   end)

   it("report.write: index and a page per problem, offline, deterministic", function()
      if not col then pending("baselines not found in " .. BASE) return end
      fs.rmrf(TMP)
      local index = report.write(TMP .. "/a", col, col, { mode = "final" })
      assert.are.equal(TMP .. "/a/index.html", index)
      report.write(TMP .. "/b", col, col, { mode = "final" })
      local names = plots.sorted_keys(col.problems)
      for _, f in ipairs({ "index.html", names[1] .. ".html", "quadratic_deep.html" }) do
         local a, b = fs.read(TMP .. "/a/" .. f), fs.read(TMP .. "/b/" .. f)
         assert.are.equal(a, b)
      end
      for _, n in ipairs(names) do
         local html = fs.read(TMP .. "/a/" .. n .. ".html")
         parse_xml((html:gsub("<meta[^>]*>", ""):gsub("<!DOCTYPE html>", "")))
         assert.is_truthy(html:find('data-plot="performance"', 1, true))
         assert.is_nil(html:find("<script", 1, true))
         local ids = {}
         for id in html:gmatch(' id="([^"]+)"') do
            assert.is_nil(ids[id], "duplicate id " .. id .. " in " .. n .. ".html")
            ids[id] = true
         end
         -- no network: the only URL is the SVG namespace
         assert.is_nil((html:gsub("http://www.w3.org/2000/svg", "")):find("https?://"))
      end
      local html = fs.read(index)
      parse_xml((html:gsub("<meta[^>]*>", ""):gsub("<!DOCTYPE html>", "")))
      assert.is_truthy(html:find('data-plot="overview-small"', 1, true))
      assert.is_truthy(html:find('data-plot="overview-large"', 1, true))
      for _, n in ipairs(names) do assert.is_truthy(html:find('href="' .. n .. '.html"', 1, true)) end
      assert.is_truthy(fs.read(TMP .. "/a/quadratic_deep.html"):find('data-plot="lr_sensitivity"', 1, true))
      assert.is_truthy(fs.read(TMP .. "/a/quadratic_deep.html"):find('data-plot="minibatch"', 1, true))
      -- a filtered report
      report.write(TMP .. "/c", col, nil, { problems = { "mnist_vae" }, optimizers = { "AdamOptimizer" } })
      local c = fs.read(TMP .. "/c/mnist_vae.html")
      assert.is_nil(c:find("MomentumOptimizer", 1, true))
      assert.is_nil(io.open(TMP .. "/c/quadratic_deep.html"))
      assert.has_error(function() report.write(TMP .. "/d", nil, nil, {}) end)
   end)
end)

---------------------------------------------------------------------------------------------
-- comparisons that cannot mislead: one look per optimizer across a whole report, baselines
-- told apart, informative y ranges, short runs marked, sensitivity within one optimizer,
-- and the figures of many runs (performance profile, tuning curves)
local built = fixture
local sweep_plots = require "deepobs.analyzer.sweep_plots"
local profiles = require "deepobs.analyzer.profiles"
local tuning = require "deepobs.analyzer.tuning"

-- a decaying loss like quadratic_deep's: from 354 to about `floor`, with a wiggle
local function decay(n, floor, rate, wiggle, phase)
   local c = {}
   for e = 0, n do c[e + 1] = floor + (354 - floor) * math.exp(-e / rate) + wiggle * math.sin(e * 1.7 + (phase or 0)) end
   return c
end

local function acc_of(loss)
   local a = {}
   for i, v in ipairs(loss) do a[i] = 1 - v / 400 end
   return a
end

local function seeds(n, floor, rate, k, extra)
   local runs = {}
   for i = 1, k do
      local l = decay(n, floor + 0.2 * i, rate, 0.3, i)
      runs[i] = { seed = 41 + i, test_losses = l, train_losses = decay(n, floor - 2 + 0.1 * i, rate, 0.2, i + 3),
         epoch_times = extra and extra.epoch_times, threads = extra and extra.threads }
      if extra and extra.acc then runs[i].test_accuracies, runs[i].train_accuracies = acc_of(l), acc_of(l) end
   end
   return runs
end

-- results whose optimizers differ between problems, so that an optimizer's position (and, in
-- the old figures, its colour) changes from problem to problem; AdamOptimizer both as a result
-- and as a baseline
local function constructed()
   local col = built.collection({
      quadratic_deep = {
         AdamOptimizer = { { lr = 0.1, runs = seeds(100, 87.3, 6, 2) } },
         MyOpt = { { lr = 0.01, hp = { beta = 0.5 }, runs = seeds(100, 87.6, 8, 3) },
                   { lr = 0.01, hp = { beta = 0.9 }, runs = seeds(100, 87.2, 5, 1) },
                   { lr = 0.1, hp = { beta = 0.9 }, runs = seeds(100, 88, 4, 1) } },
         ZetaOpt = { { lr = 0.03, hp = { momentum = 0.9 }, runs = seeds(40, 87.5, 7, 3) },   -- 40 of 100 epochs
                     { lr = 0.3, hp = { momentum = 0.9 }, runs = seeds(40, 300, 7, 1) } },
      },
      mnist_vae = { ZetaOpt = { { lr = 1e-3, hp = { momentum = 0.5 }, runs = seeds(50, 30, 3, 2) },
                                { lr = 1e-3, hp = { momentum = 0.9 }, runs = seeds(50, 29, 3, 2) } } },
      fmnist_2c2d = { MyOpt = { { lr = 1e-3, runs = seeds(20, 40, 3, 2, { acc = true }) } },
                      ZetaOpt = { { lr = 1e-2, hp = { momentum = 0.9 }, runs = seeds(20, 38, 3, 2, { acc = true }) } } },
   }, "constructed")
   local base = built.collection({
      quadratic_deep = { GradientDescentOptimizer = { { lr = 0.02, runs = seeds(100, 87.4, 12, 1) } },
                         MomentumOptimizer = { { lr = 0.002, runs = seeds(100, 87.0, 9, 3) } },
                         AdamOptimizer = { { lr = 0.04, runs = seeds(100, 87.1, 10, 3) } } },
      mnist_vae = { AdamOptimizer = { { lr = 1e-4, runs = seeds(50, 28, 4, 2) } } },
      fmnist_2c2d = { MomentumOptimizer = { { lr = 1e-2, runs = seeds(20, 39, 3, 1, { acc = true }) } } },
   }, "baselines")
   return col, base
end

-- every element of the SVGs in an HTML text (the figures and the tables' swatches) that names
-- a series (data-key), with its colour and dash pattern
local function looks(html)
   local out = {}
   for s in html:gmatch("<svg.-</svg>") do
      local swatch = s:find('^<svg class="swatch"') ~= nil
      for _, e in ipairs(parse_xml(s)) do
         local key = e.attrs["data-key"]
         if key and (e.name == "polyline" or e.name == "polygon" or e.name == "line") then
            out[#out + 1] = { key = key, color = e.name == "polygon" and e.attrs.fill or e.attrs.stroke,
               dash = e.attrs["stroke-dasharray"] or "", element = swatch and "swatch" or e.name, class = e.attrs.class or "" }
         end
      end
   end
   return out
end

describe("figures that cannot mislead", function()
   teardown(function() fs.rmrf(TMP) end)

   it("one colour per optimizer across every figure and table of a report; each baseline its own grey and dashes", function()
      local col, base = constructed()
      fs.rmrf(TMP)
      report.write(TMP .. "/looks", col, base, { mode = "final" })
      local color, dash, pages, figures, swatches = {}, {}, 0, 0, 0
      for _, f in ipairs(fs.files_under(TMP .. "/looks")) do
         local html = fs.read(f)
         pages = pages + 1
         figures = figures + select(2, html:gsub("<figure class=\"plot\"", ""))
         for _, l in ipairs(looks(html)) do
            if l.element == "swatch" then swatches = swatches + 1 end
            color[l.key] = color[l.key] or {}
            color[l.key][l.color] = (color[l.key][l.color] or 0) + 1
            if (l.element == "polyline" and not l.class:find("profile", 1, true)) or l.element == "swatch" then
               dash[l.key] = dash[l.key] or {}
               dash[l.key][l.dash] = true
            end
         end
      end
      assert.are.equal(4, pages)
      assert.is_true(figures >= 10)
      assert.is_true(swatches >= 20)               -- the tables' rows, checked like the figures
      local keys = plots.sorted_keys(color)
      assert.are.same({ "base:AdamOptimizer", "base:GradientDescentOptimizer", "base:MomentumOptimizer",
         "opt:AdamOptimizer", "opt:MyOpt", "opt:ZetaOpt" }, keys)
      local one, seen = {}, {}
      for _, k in ipairs(keys) do
         local cs = plots.sorted_keys(color[k])
         assert.are.equal(1, #cs, k .. " is drawn in " .. table.concat(cs, ", "))
         one[k] = cs[1]
         local ds = plots.sorted_keys(dash[k])
         assert.are.equal(1, #ds, k .. " has dash patterns " .. table.concat(ds, " | "))
         local look = cs[1] .. " " .. ds[1]
         assert.is_nil(seen[look], k .. " looks like " .. tostring(seen[look]))
         seen[look] = k
         if k:find("^base:") then
            assert.is_true(style.is_grey(cs[1]), k)
            assert.are_not.equal("", ds[1], k .. " is not dashed")
         else
            assert.is_false(style.is_grey(cs[1]), k)
            assert.are.equal("", ds[1])
         end
      end
      -- the results' colours are three different ones, the baselines' three different greys
      assert.are_not.equal(one["opt:MyOpt"], one["opt:ZetaOpt"])
      assert.are_not.equal(one["opt:AdamOptimizer"], one["opt:ZetaOpt"])
      assert.are_not.equal(one["base:AdamOptimizer"], one["base:MomentumOptimizer"])
      -- legends carry the same keys: every legend entry of ZetaOpt is in its one colour
      local idx = fs.read(TMP .. "/looks/index.html")
      assert.is_truthy(idx:find('class="legend-key" data-key="opt:ZetaOpt"', 1, true))
      assert.is_truthy(idx:find('class="legend%-label" data%-key="base:MomentumOptimizer"[^>]*>MomentumOptimizer %(baseline%)<'))
   end)

   it("style.assign: the same colour whatever problem or order, a palette without grey, an error for unknown names", function()
      local col, base = constructed()
      local S = style.assign(col, base)
      assert.are.same({ "AdamOptimizer", "MyOpt", "ZetaOpt" }, S.order)
      local again = style.assign({ problems = { col.problems.mnist_vae, col.problems.fmnist_2c2d, col.problems.quadratic_deep } }, base)
      for _, n in ipairs(S.order) do assert.are.equal(style.of(S, n).color, style.of(again, n).color) end
      for _, c in ipairs(style.PALETTE) do assert.is_false(style.is_grey(c), c) end
      -- more optimizers than colours: repeated colours get a dash pattern, no two alike
      local many = { problems = { { optimizers = {} } } }
      for i = 1, 30 do many.problems[1].optimizers[("Opt%02d"):format(i)] = {} end
      local M, look = style.assign(many), {}
      for _, n in ipairs(M.order) do
         local st = style.of(M, n)
         local l = st.color .. " " .. tostring(st.dash)
         assert.is_nil(look[l], n)
         look[l] = true
      end
      for _, bad in ipairs({ { "Nobody", false }, { "MyOpt", true }, { "GradientDescentOptimizer", false }, { nil, false } }) do
         assert.has_error(function() style.of(S, bad[1], bad[2]) end)
      end
   end)

   it("robust_range by hand: the first tenth and the worst 20% left out, finals kept, the cut-off values named", function()
      local lo, hi, above, below = plots.robust_range({ { 10, 5, 4, 3, 2.5, 2, 1.9, 1.8, 1.7, 1.6, 1.5 } }, false)
      -- after epoch 0: 80th percentile of the 10 values = 3 + 0.2 * (4 - 3) = 3.2; min 1.5; 5% padding
      assert.is_true(math.abs(lo - (1.5 - 0.085)) < 1e-12 and math.abs(hi - (3.2 + 0.085)) < 1e-12)
      assert.are.equal(10, above); assert.is_nil(below)
      -- a final value outside the band is always kept (here a short, slow run)
      lo, hi = plots.robust_range({ { 10, 5, 4, 3, 2.5, 2, 1.9, 1.8, 1.7, 1.6, 1.5 }, { 10, 8, 7 } }, false)
      assert.is_true(hi >= 7)
      -- an accuracy: the worst 20% are the lowest values
      lo, hi, above, below = plots.robust_range({ { 0.1, 0.5, 0.6, 0.7, 0.75, 0.8, 0.82, 0.84, 0.85, 0.86, 0.87 } }, true)
      -- 20th percentile of the 10 values after epoch 0 = 0.6 + 0.8 * (0.7 - 0.6) = 0.68
      assert.is_true(math.abs(lo - (0.68 - 0.0095)) < 1e-12 and math.abs(hi - (0.87 + 0.0095)) < 1e-12)
      assert.are.equal(0.1, below)
      -- where the informative part is more than a third of the whole, nothing is cut off
      lo, hi, above = plots.robust_range({ { 5, 4.8, 4.7, 4.6, 4.55, 4.5 } }, false)
      assert.is_true(math.abs(lo - (4.5 - 0.025)) < 1e-12 and math.abs(hi - (5 + 0.025)) < 1e-12)
      assert.is_nil(above)
      -- flat or empty curves give no range
      assert.is_nil(plots.robust_range({ { 1, 1, 1 } }, false))
      assert.is_nil(plots.robust_range({}, false))
      assert.is_nil(plots.robust_range({ { 0 / 0, 0 / 0 } }, true))
   end)

   it("a quadratic_deep-like loss axis shows the 85-90 region, says what it cut, and keeps every curve's end", function()
      local col, base = constructed()
      local els = parse_xml(plots.problem_figure(col.problems.quadratic_deep, base.problems.quadratic_deep, {}))
      local panels, clips = {}, {}
      for _, e in ipairs(els) do
         if has_class(e, "panel") then panels[#panels + 1] = e end
         if has_class(e, "clip-note") then clips[#clips + 1] = e end
      end
      assert.are.equal(2, #panels)
      local test = panels[1]
      local lo, hi = tonumber(test.attrs["data-ymin"]), tonumber(test.attrs["data-ymax"])
      -- the curves start at 354: the axis no longer does, and 85-90 is a good part of it
      assert.is_true(lo > 80 and lo < 87.5, "ymin " .. lo)
      assert.is_true(hi > 88 and hi < 110, "ymax " .. hi)
      assert.is_true((90 - lo) / (hi - lo) > 0.2)
      assert.are.equal("above", test.attrs["data-clipped"])
      assert.are.equal(2, #clips)
      assert.matches("clipped, max 35%d", clips[1].text)
      -- every drawn mean curve ends inside the range (ZetaOpt's 40 epochs included)
      local q = col.problems.quadratic_deep
      for _, name in ipairs({ "AdamOptimizer", "MyOpt", "ZetaOpt" }) do
         local s = plots.choose(q.optimizers[name], "final", "test_losses")
         local m = s.stats.test_losses.mean
         assert.is_true(m[#m] >= lo and m[#m] <= hi, name)
      end
      -- curves that fit need no clipping: no note
      local gentle = built.collection({ quadratic_deep = { X = { { lr = 1, runs = { { loss = { 5, 4.8, 4.7, 4.6, 4.55, 4.5 } } } } } } })
      local g = plots.problem_figure(gentle.problems.quadratic_deep, nil, {})
      assert.is_nil(g:find("clip-note", 1, true))
   end)

   it("a run shorter than the others ends in a marker and says so in the legend; a short slow run stays in view", function()
      local col, base = constructed()
      local s = plots.problem_figure(col.problems.quadratic_deep, base.problems.quadratic_deep, {})
      local els = parse_xml(s)
      local ends = find_all(els, function(e) return e.name == "g" and has_class(e, "short-end") end)
      assert.are.equal(2, #ends)                        -- test and train loss
      for _, e in ipairs(ends) do assert.are.equal("opt:ZetaOpt", e.attrs["data-key"]) end
      assert.is_truthy(s:find("ZetaOpt (lr 3.00e-02, 3 runs, ends at epoch 40 of 100)", 1, true))
      assert.is_nil(s:find("MyOpt (lr 1.00e-02, 3 runs, ends", 1, true))
      assert.is_truthy(s:find(">end of a run shorter than the longest curve<", 1, true))
      -- the marker sits on the last epoch of the short curve: its x is epoch 40 of the 0-100 axis
      local panel_x = {}
      for _, e in ipairs(els) do
         if e.name == "text" and has_class(e, "xtick") and tonumber(e.attrs["data-value"]) then
            panel_x[tonumber(e.attrs["data-value"])] = panel_x[tonumber(e.attrs["data-value"])] or tonumber(e.attrs.x)
         end
      end
      local cx = tonumber(s:match('class="markers short%-end"[^>]*>\n<circle cx="([%d%.]+)"'))
      assert.is_true(math.abs(cx - panel_x[40]) < 0.05, "marker at " .. cx .. ", epoch 40 at " .. panel_x[40])
      -- only three epochs, far above the others: still inside the y range, not clipped away
      local short = built.collection({ quadratic_deep = { Quick = { { lr = 1, runs = { { loss = { 354, 250, 180, 150 } } } } } } })
      local e2 = parse_xml(plots.problem_figure(short.problems.quadratic_deep, base.problems.quadratic_deep, {}))
      local p1 = find_all(e2, function(e) return has_class(e, "panel") end)[1]
      assert.is_true(tonumber(p1.attrs["data-ymax"]) >= 150)
   end)

   it("sensitivity: one optimizer per hyperparameter figure; the best setting at each value; diverging values at the edge", function()
      local col = constructed()
      local q = col.problems.quadratic_deep
      -- beta belongs to MyOpt only; momentum to ZetaOpt only here, to both below
      local els = parse_xml(plots.hp_sensitivity(q, "beta", {}))
      for _, e in ipairs(els) do
         if e.attrs["data-key"] then assert.are.equal("opt:MyOpt", e.attrs["data-key"]) end
      end
      -- at beta 0.9 two settings (lr 0.01 and 0.1): the line goes through the better one, both are points
      local line = find_all(els, function(e) return e.name == "polyline" and has_class(e, "series") end)
      assert.are.equal(1, #line)
      assert.are.equal(2, npoints(line[1]))
      local all = find_all(els, function(e) return e.name == "g" and has_class(e, "all-settings") end)
      assert.are.equal(1, #all)
      local shared = built.collection({ quadratic_deep = {
         A = { { lr = 1, hp = { momentum = 0.5 }, runs = { { loss = { 3, 2 } } } }, { lr = 1, hp = { momentum = 0.9 }, runs = { { loss = { 3, 1 } } } } },
         B = { { lr = 1, hp = { momentum = 0.1 }, runs = { { loss = { 3, 2 } } } } },
      } }).problems.quadratic_deep
      for _, hp in ipairs({ "momentum" }) do
         local ok, err = pcall(plots.hp_sensitivity, shared, hp, {})
         assert.is_false(ok)
         assert.matches("momentum is a hyperparameter of A and B; give opts.optimizer", err)
      end
      for _, name in ipairs({ "A", "B" }) do
         for _, e in ipairs(parse_xml(plots.hp_sensitivity(shared, "momentum", { optimizer = name }))) do
            if e.attrs["data-key"] then assert.are.equal("opt:" .. name, e.attrs["data-key"]) end
         end
      end
      -- lr sensitivity: ZetaOpt's lr 0.3 setting ends near 300, far above the rest: cut off, drawn as a triangle
      local lr = plots.lr_sensitivity(q, {})
      local le = parse_xml(lr)
      local off = find_all(le, function(e) return e.name == "g" and has_class(e, "off-axis") end)
      assert.are.equal(1, #off)
      assert.are.equal("opt:ZetaOpt", off[1].attrs["data-key"])
      local panel = find_all(le, function(e) return has_class(e, "panel") end)[1]
      assert.is_true(tonumber(panel.attrs["data-ymax"]) < 100)
      assert.matches('class="clip%-note"[^>]*>&#9650; clipped, max 30%d', lr)
      -- the report draws one figure per optimizer and hyperparameter, each with one optimizer
      fs.rmrf(TMP)
      report.write(TMP .. "/sens", col, nil, {})
      local page = fs.read(TMP .. "/sens/quadratic_deep.html")
      local n = 0
      for fig in page:gmatch('<figure class="plot" data%-plot="hp_sensitivity">(.-)</figure>') do
         n = n + 1
         local keys = {}
         for k in fig:gmatch('data%-key="([^"]+)"') do keys[k] = true end
         assert.are.equal(1, #plots.sorted_keys(keys))
      end
      assert.are.equal(1, n)                        -- MyOpt's beta (ZetaOpt's momentum does not vary here)
      assert.are.equal(2, select(2, fs.read(TMP .. "/sens/mnist_vae.html"):gsub('data%-plot="hp_sensitivity"', "")) + 1)
   end)

   it("the performance profile is a staircase per optimizer on a log tau axis, in the report's colours", function()
      local tt = { problems = {
         { name = "P1", rows = { { optimizer = "A", baseline = false, median_epochs = 10 }, { optimizer = "B", baseline = false, median_epochs = 20 },
                                 { optimizer = "AdamOptimizer", baseline = true, median_epochs = 15 } } },
         { name = "P2", rows = { { optimizer = "A", baseline = false }, { optimizer = "B", baseline = false, median_epochs = 5 },
                                 { optimizer = "AdamOptimizer", baseline = true, median_epochs = 5 } } },
      } }
      local pr = profiles.build(tt)
      local els = parse_xml(sweep_plots.profile(pr, {}))
      local panel = find_all(els, function(e) return has_class(e, "panel") end)[1]
      assert.are.equal("log", panel.attrs["data-xscale"])
      local xt = {}
      for _, t in ipairs(find_all(els, function(e) return has_class(e, "xtick") end)) do xt[#xt + 1] = tonumber(t.attrs["data-value"]) end
      assert.are.same({ 1, 1.25, 1.5, 2, 3, 4 }, xt)
      local lines = find_all(els, function(e) return e.name == "polyline" end)
      assert.are.equal(3, #lines)
      local by = {}
      for _, l in ipairs(lines) do by[l.attrs["data-key"]] = l end
      -- A: P1 at 1, P2 never: flat at 0.5 (2 points); B: 0.5 at 1, up to 1 at 2 (4 points); Adam: 0.5, up at 1.5
      assert.are.equal(2, npoints(by["opt:A"]))
      assert.are.equal(4, npoints(by["opt:B"]))
      assert.are.equal(4, npoints(by["base:AdamOptimizer"]))
      assert.is_true(style.is_grey(by["base:AdamOptimizer"].attrs.stroke))
      assert.is_truthy(sweep_plots.profile(pr, {}):find("B (100% reached)", 1, true))
   end)

   it("tuning curves: median and quartile band per optimizer with two or more trials; baselines as a median only", function()
      local col, base = constructed()
      local tables = require "deepobs.analyzer.tables"
      local tc = tuning.build(tables.build(col, base, { problems = { "quadratic_deep" } }))
      local els = parse_xml(sweep_plots.tuning(tc.problems[1], { styles = style.assign(col, base) }))
      local lines = find_all(els, function(e) return e.name == "polyline" end)
      local bands = find_all(els, function(e) return e.name == "polygon" and has_class(e, "band") end)
      local lk, bk = {}, {}
      for _, l in ipairs(lines) do lk[#lk + 1] = l.attrs["data-key"] end
      for _, b in ipairs(bands) do bk[#bk + 1] = b.attrs["data-key"] end
      table.sort(lk); table.sort(bk)
      -- MyOpt (3 trials) and ZetaOpt (2); the one-setting optimizers make no curve
      assert.are.same({ "opt:MyOpt", "opt:ZetaOpt" }, lk)
      assert.are.same({ "opt:MyOpt", "opt:ZetaOpt" }, bk)
      for _, l in ipairs(lines) do
         assert.are.equal(l.attrs["data-key"] == "opt:MyOpt" and 3 or 2, npoints(l))
      end
   end)
end)

---------------------------------------------------------------------------------------------
-- the report in headless Chromium: no console errors, every figure in the DOM with its
-- curves, and a screenshot that shows plots (coloured and grey pixels, not a blank page)
local function chromium_path()
   for _, name in ipairs({ "chromium", "chromium-browser", "google-chrome" }) do
      local p = fs.sh("command -v " .. name .. " 2>/dev/null"):gsub("%s+$", "")
      if p ~= "" then return p end
   end
end

local CHROMIUM_FLAGS = "--headless --no-sandbox --disable-gpu --disable-quic --no-first-run"
   .. " --disable-background-networking --disable-component-update --disable-sync --hide-scrollbars"
   .. " --enable-logging=stderr --v=0"

-- run chromium on a file with a fresh profile; returns stdout, stderr
local function chromium(exe, args, page, n)
   local prof = TMP .. "/profile" .. n
   fs.rmrf(prof); fs.mkdir(prof)
   local abs = fs.sh("realpath '" .. page .. "'"):gsub("%s+$", "")
   local out, err = TMP .. "/chr" .. n .. ".out", TMP .. "/chr" .. n .. ".err"
   -- without the sanitizer runtime that `make test-asan` preloads into this process
   os.execute(string.format("env -u LD_PRELOAD -u ASAN_OPTIONS -u UBSAN_OPTIONS timeout 60 '%s' %s "
      .. "--user-data-dir='%s' %s 'file://%s' >'%s' 2>'%s'", exe, CHROMIUM_FLAGS, prof, args, abs, out, err))
   return fs.read(out), fs.read(err)
end

-- console messages, failed loads and uncaught errors in Chromium's log
local function page_errors(log)
   local errs = {}
   for _, l in ipairs(fs.lines(log)) do
      if l:find(":CONSOLE", 1, true) or l:find("net::ERR", 1, true) or l:find("Uncaught", 1, true) then
         errs[#errs + 1] = l
      end
   end
   return errs
end

local function count(s, pat) return select(2, s:gsub(pat, "")) end

describe("the HTML report in headless Chromium", function()
   local exe = chromium_path()
   teardown(function() fs.rmrf(TMP) end)
   if not exe then
      it("renders the report (skipped)", function()
         pending("chromium is not installed (Debian: apt-get install chromium); the rendering test is skipped")
      end)
      return
   end

   it("loads the report without console errors, with every figure and its curves, and screenshots it", function()
      if not have_baselines() then pending("baselines not found in " .. BASE) return end
      local col = load(BASE)
      fs.rmrf(TMP); fs.mkdir(TMP)
      local index = report.write(TMP .. "/report", col, col, { mode = "final" })
      -- the error detector itself: a page that logs to the console is caught
      fs.write(TMP .. "/control.html", '<!DOCTYPE html><html><head><meta charset="utf-8"><title>c</title></head>'
         .. '<body><script>console.error("dob-control-error")</script></body></html>')
      local _, cerr = chromium(exe, "--dump-dom", TMP .. "/control.html", 0)
      local control = page_errors(cerr)
      assert.are.equal(1, #control)
      assert.is_truthy(control[1]:find("dob-control-error", 1, true))

      for n, page in ipairs({ index, TMP .. "/report/cifar10_3c3d.html", TMP .. "/report/quadratic_deep.html" }) do
         local dom, err = chromium(exe, "--dump-dom", page, n)
         assert.are.same({}, page_errors(err))
         local src = fs.read(page)
         -- every figure of the file is in the rendered DOM, each with curves
         local figures = count(src, '<figure class="plot"')
         assert.is_true(figures >= 1)
         assert.are.equal(figures, count(dom, '<figure class="plot"'))
         assert.are.equal(count(src, "<svg"), count(dom, "<svg"))
         assert.are.equal(count(src, "<polyline"), count(dom, "<polyline"))
         for fig in dom:gmatch('<figure class="plot".-</figure>') do
            assert.is_truthy(fig:find("<svg", 1, true))
            assert.is_true(count(fig, "<polyline") >= 1, "a figure without curves")
         end
      end

      local png_path = TMP .. "/index.png"
      chromium(exe, "--window-size=1280,2000 --screenshot='" .. png_path .. "'", index, 9)
      local bytes = fs.read(png_path)
      assert.is_true(#bytes > 50000)
      local img = require("helpers.png").decode(bytes)
      assert.are.equal(1280, img.width); assert.are.equal(2000, img.height)
      local dark, coloured, grey, total = 0, 0, 0, 0
      for y = 0, img.height - 1, 2 do
         for x = 0, img.width - 1, 2 do
            local r, g, b = img.pixel(x, y)
            total = total + 1
            local hi, lo = math.max(r, g, b), math.min(r, g, b)
            if hi < 200 then dark = dark + 1 end
            if hi - lo > 60 then coloured = coloured + 1 end
            if hi - lo < 8 and hi > 110 and hi < 170 then grey = grey + 1 end
         end
      end
      -- the overview grids put curves (coloured), text and frames (dark) and grey baselines on the page
      assert.is_true(dark / total > 0.01, "screenshot nearly blank")
      assert.is_true(coloured / total > 0.005, "no coloured curves in the screenshot")
      assert.is_true(grey > 100, "no grey in the screenshot")
   end)

   it("renders a report of many runs (profile, tuning curves, sensitivity per optimizer) without console errors", function()
      local col, base = constructed()
      if have_baselines() then base = load(BASE) end
      fs.rmrf(TMP); fs.mkdir(TMP)
      local index = report.write(TMP .. "/many", col, base, {})
      local plots_seen = {}
      for n, page in ipairs({ index, TMP .. "/many/quadratic_deep.html", TMP .. "/many/mnist_vae.html" }) do
         local dom, err = chromium(exe, "--dump-dom", page, 20 + n)
         assert.are.same({}, page_errors(err))
         local src = fs.read(page)
         assert.are.equal(count(src, '<figure class="plot"'), count(dom, '<figure class="plot"'))
         assert.are.equal(count(src, "<polyline"), count(dom, "<polyline"))
         for kind, fig in dom:gmatch('<figure class="plot" data%-plot="([^"]+)">(.-)</figure>') do
            plots_seen[kind] = true
            assert.is_true(count(fig, "<polyline") >= 1, kind .. ": a figure without curves")
         end
      end
      for _, kind in ipairs({ "overview-small", "profile", "performance", "tuning", "lr_sensitivity", "hp_sensitivity" }) do
         assert.is_true(plots_seen[kind] ~= nil, kind)
      end
   end)
end)
