-- deepobs.analyzer.svg / plots / report: SVG structure (well-formed XML, polyline point
-- counts, log-axis ticks, bands, grey baselines), determinism, and the offline HTML
-- report rendered by headless Chromium. Input: the DeepOBS 1.1 baselines in
-- ../shared/baselines, turned into the analyzer's structures (analyzer_interface) by a
-- small loader below, so these specs do not depend on results.lua.
local svg = require "deepobs.analyzer.svg"
local plots = require "deepobs.analyzer.plots"
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

   it("four-panel figure of cifar10_3c3d with the baselines in grey", function()
      if not col then pending("baselines not found in " .. BASE) return end
      local p = col.problems.cifar10_3c3d
      local s = plots.problem_figure(p, p, { mode = "final" })
      local els = parse_xml(s)
      local series = find_all(els, function(e) return e.name == "polyline" and has_class(e, "series") end)
      local grey = find_all(series, function(e) return has_class(e, "baseline") end)
      assert.are.equal(12, #grey)              -- 3 baseline optimizers x 4 panels
      for _, g in ipairs(grey) do assert.are.equal(svg.GREY, g.attrs.stroke) end
      local colored = find_all(series, function(e) return not has_class(e, "baseline") end)
      assert.are.equal(12, #colored)
      local n = #p.optimizers.AdamOptimizer.settings[1].stats.test_accuracies.mean
      for _, l in ipairs(series) do
         assert.are.equal(n, npoints(l))
         assert.are_not.equal(svg.GREY, not has_class(l, "baseline") and l.attrs.stroke or nil)
      end
      assert.are.equal(12, #find_all(els, function(e) return e.name == "polygon" and has_class(e, "band") end))
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
end)
