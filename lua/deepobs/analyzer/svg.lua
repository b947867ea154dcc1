--- A small SVG plotting library for the analyzer: panels with linear or log10 axes,
-- "nice" ticks, lines, filled bands, markers, horizontal reference lines, legends
-- and titles, laid out on a figure. No dependencies. Output is deterministic: the same
-- calls give the same bytes (numbers are written with a fixed format, tables are
-- walked in insertion order only).
--
--   local svg = require "deepobs.analyzer.svg"
--   local fig = svg.figure{ width = 800, height = 600, title = "..." }
--   local p = fig:panel{ x = 0, y = 0, w = 400, h = 300, title = "test loss", xlabel = "epoch",
--                        ylabel = "loss", xlog = false, ylog = true }
--   (xlim / ylim fix a range; xtick_values gives the x ticks, e.g. 1, 1.5, 2, 4 on a log axis)
--   p:band(xs, lo, hi, { color = "#1f77b4" }); p:line(xs, ys, { color = ..., label = ... })
--   fig:legend({ { label = "Adam", color = ... }, ... }); local text = fig:render()
--
-- A style's `key` (e.g. "opt:AdamOptimizer") is written as data-key on the element and its
-- legend entry, so a reader (or a spec) can tell which series an element belongs to.
local M = {}

-- reference lines (DeepOBS 1.1's convergence performance)
M.GREY = "#8c8c8c"

local floor, ceil, log10, abs = math.floor, math.ceil, math.log10, math.abs

local function finite(v) return type(v) == "number" and v == v and v ~= math.huge and v ~= -math.huge end
M.finite = finite

--- XML-escape text for element content and attribute values.
function M.esc(s)
   s = tostring(s)
   return (s:gsub("[&<>\"']", { ["&"] = "&amp;", ["<"] = "&lt;", [">"] = "&gt;", ['"'] = "&quot;",
      ["'"] = "&#39;" }))
end
local esc = M.esc

-- coordinates: two decimals, no "-0.00"
local function c(v)
   local s = string.format("%.2f", v)
   if s == "-0.00" then s = "0.00" end
   return s
end

--- A short, deterministic label for a number: up to 4 significant digits, exponent
-- form for very small or large magnitudes.
function M.fmt(v)
   if not finite(v) then return tostring(v) end
   if v == 0 then return "0" end
   local a = abs(v)
   if a >= 1e-3 and a < 1e5 then
      local s = string.format("%.4g", v)
      return s
   end
   local s = string.format("%.3g", v)               -- e.g. 1e-05, 2.5e+04
   s = s:gsub("e%+?(%-?)0*(%d)", "e%1%2")
   return s
end

--- Ticks for a linear axis: multiples of 1, 2, 2.5 or 5 times a power of ten,
-- about `n` of them, covering [lo, hi]. Returns ticks, nice_lo, nice_hi.
function M.nice_ticks(lo, hi, n)
   n = n or 5
   if not (finite(lo) and finite(hi)) then lo, hi = 0, 1 end
   if hi < lo then lo, hi = hi, lo end
   if hi == lo then
      local d = (lo == 0) and 1 or abs(lo) * 0.1
      lo, hi = lo - d, hi + d
   end
   local raw = (hi - lo) / n
   local p = 10 ^ floor(log10(raw))
   local step
   for _, m in ipairs({ 1, 2, 2.5, 5, 10 }) do
      if m * p >= raw then step = m * p; break end
   end
   local a, b = floor(lo / step + 1e-9) * step, ceil(hi / step - 1e-9) * step
   local ticks = {}
   local k = 0
   while true do
      local t = a + k * step
      if t > b + step * 1e-6 then break end
      if abs(t) < step * 1e-9 then t = 0 end
      -- round to the step's precision so labels stay exact
      t = tonumber(string.format("%.12g", t))
      ticks[#ticks + 1] = t
      k = k + 1
   end
   return ticks, a, b
end

--- Ticks for a log10 axis over positive [lo, hi]: the powers of ten covering the
-- range (every k-th decade when there are many). Returns ticks, nice_lo, nice_hi.
function M.log_ticks(lo, hi, max_ticks)
   max_ticks = max_ticks or 8
   if not (finite(lo) and finite(hi) and lo > 0 and hi > 0) then lo, hi = 1, 10 end
   if hi < lo then lo, hi = hi, lo end
   local a, b = floor(log10(lo) + 1e-9), ceil(log10(hi) - 1e-9)
   if a == b then a, b = a - 1, b + 1 end
   local every = ceil((b - a + 1) / max_ticks)
   local ticks = {}
   for e = a, b do
      if (e - a) % every == 0 then ticks[#ticks + 1] = 10 ^ e end
   end
   return ticks, 10 ^ a, 10 ^ b
end

local function log_label(v)
   local e = floor(log10(v) + 0.5)
   return "1e" .. e
end

---------------------------------------------------------------------------------------------
local Panel = {}
Panel.__index = Panel

function Panel:_extend(xs, ys)
   for i = 1, #xs do
      local x, y = xs[i], ys[i]
      if finite(x) and finite(y) and (not self.xlog or x > 0) and (not self.ylog or y > 0) then
         self.dx[#self.dx + 1] = x
         self.dy[#self.dy + 1] = y
      end
   end
end

--- A line through (xs[i], ys[i]); non-finite points (diverged runs) or non-positive
-- points on a log axis split it into several polylines.
function Panel:line(xs, ys, style)
   assert(#xs == #ys, "svg line: xs and ys differ in length")
   self.items[#self.items + 1] = { kind = "line", xs = xs, ys = ys, style = style or {} }
   self:_extend(xs, ys)
   return self
end

--- A filled band between lo[i] and hi[i] (e.g. min-max or mean +- std over seeds).
function Panel:band(xs, lo, hi, style)
   assert(#xs == #lo and #xs == #hi, "svg band: xs, lo and hi differ in length")
   self.items[#self.items + 1] = { kind = "band", xs = xs, lo = lo, hi = hi, style = style or {} }
   self:_extend(xs, lo); self:_extend(xs, hi)
   return self
end

--- Point markers (circles; crosses with style.shape = "x"; triangles pointing up or down
-- with "up" / "down").
function Panel:markers(xs, ys, style)
   assert(#xs == #ys, "svg markers: xs and ys differ in length")
   self.items[#self.items + 1] = { kind = "markers", xs = xs, ys = ys, style = style or {} }
   self:_extend(xs, ys)
   return self
end

--- A horizontal reference line across the panel.
function Panel:hline(y, style)
   self.items[#self.items + 1] = { kind = "hline", y = y, style = style or {} }
   if finite(y) and (not self.ylog or y > 0) then self.dy[#self.dy + 1] = y end
   return self
end

--- A centred note (e.g. "no accuracy for this problem").
function Panel:note(text)
   self.notes[#self.notes + 1] = text
   return self
end

--- A small note at the top ("above") or bottom ("below") edge of the y axis, saying that
-- values beyond the panel's y range are not shown (see ylim).
function Panel:clip_note(text, where)
   self.clips[#self.clips + 1] = { text = text, where = where or "above" }
   return self
end

local function range(vals, log)
   local lo, hi = math.huge, -math.huge
   for _, v in ipairs(vals) do
      if v < lo then lo = v end
      if v > hi then hi = v end
   end
   if lo > hi then return nil end
   return lo, hi
end

function Panel:_limits()
   local function axis(vals, log, lim, n)
      local lo, hi
      if lim then lo, hi = lim[1], lim[2] else lo, hi = range(vals) end
      if log then
         local ticks, a, b = M.log_ticks(lo, hi)
         if lim then a, b = lo, hi end
         local kept = {}
         for _, t in ipairs(ticks) do if t >= a * (1 - 1e-9) and t <= b * (1 + 1e-9) then kept[#kept + 1] = t end end
         return kept, a, b
      end
      local ticks, a, b = M.nice_ticks(lo, hi, n)
      if lim then
         a, b = lo, hi
         local kept = {}
         for _, t in ipairs(ticks) do if t >= a - 1e-12 and t <= b + 1e-12 then kept[#kept + 1] = t end end
         ticks = kept
      end
      return ticks, a, b
   end
   self.xticks, self.x0, self.x1 = axis(self.dx, self.xlog, self.xlim, 5)
   self.yticks, self.y0, self.y1 = axis(self.dy, self.ylog, self.ylim, 4)
   if self.xtick_values then
      local kept = {}
      for _, t in ipairs(self.xtick_values) do
         if t >= self.x0 * (1 - 1e-9) and t <= self.x1 * (1 + 1e-9) then kept[#kept + 1] = t end
      end
      self.xticks = kept
   end
end

-- plot area inside the panel (room for tick labels, axis labels and the title)
local ML, MR, MT, MB = 58, 12, 24, 40

function Panel:_px(x)
   local l, r = self.x + ML, self.x + self.w - MR
   local t
   if self.xlog then t = (log10(x) - log10(self.x0)) / (log10(self.x1) - log10(self.x0))
   else t = (x - self.x0) / (self.x1 - self.x0) end
   return l + t * (r - l)
end

function Panel:_py(y)
   local top, bot = self.y + MT, self.y + self.h - MB
   local t
   if self.ylog then t = (log10(y) - log10(self.y0)) / (log10(self.y1) - log10(self.y0))
   else t = (y - self.y0) / (self.y1 - self.y0) end
   -- values outside a fixed range are clamped to just beyond the frame (clipped anyway)
   if t < -0.05 then t = -0.05 elseif t > 1.05 then t = 1.05 end
   return bot - t * (bot - top)
end

function Panel:_ok(x, y)
   return finite(x) and finite(y) and (not self.xlog or x > 0) and (not self.ylog or y > 0)
end

local function dash_attr(style)
   if style.dash then return string.format(' stroke-dasharray="%s"', style.dash) end
   return ""
end

local function class_attr(base, style)
   if style.class then return base .. " " .. style.class end
   return base
end

local function key_attr(style)
   if style.key then return string.format(' data-key="%s"', esc(style.key)) end
   return ""
end

function Panel:_render(out, id)
   self:_limits()
   local l, r = self.x + ML, self.x + self.w - MR
   local top, bot = self.y + MT, self.y + self.h - MB
   out[#out + 1] = string.format('<g class="panel" id="%s" data-title="%s" data-xscale="%s" data-yscale="%s" data-ymin="%s" data-ymax="%s"%s>',
      id, esc(self.title or ""), self.xlog and "log" or "linear", self.ylog and "log" or "linear",
      string.format("%.12g", self.y0), string.format("%.12g", self.y1),
      #self.clips > 0 and string.format(' data-clipped="%s"', self.clips[1].where .. (self.clips[2] and (" " .. self.clips[2].where) or "")) or "")
   out[#out + 1] = string.format('<clipPath id="%s-clip"><rect x="%s" y="%s" width="%s" height="%s"/></clipPath>',
      id, c(l), c(top), c(r - l), c(bot - top))
   out[#out + 1] = string.format('<rect class="frame" x="%s" y="%s" width="%s" height="%s" fill="#ffffff" stroke="#333333" stroke-width="0.8"/>',
      c(l), c(top), c(r - l), c(bot - top))
   -- grid and ticks
   for _, t in ipairs(self.xticks) do
      local px = self:_px(t)
      out[#out + 1] = string.format('<line class="grid" x1="%s" y1="%s" x2="%s" y2="%s" stroke="#e6e6e6" stroke-width="0.6"/>',
         c(px), c(top), c(px), c(bot))
      out[#out + 1] = string.format('<text class="xtick" data-value="%s" x="%s" y="%s" text-anchor="middle" font-size="10">%s</text>',
         string.format("%.12g", t), c(px), c(bot + 13), esc((self.xlog and not self.xtick_values) and log_label(t) or M.fmt(t)))
   end
   for _, t in ipairs(self.yticks) do
      local py = self:_py(t)
      out[#out + 1] = string.format('<line class="grid" x1="%s" y1="%s" x2="%s" y2="%s" stroke="#e6e6e6" stroke-width="0.6"/>',
         c(l), c(py), c(r), c(py))
      out[#out + 1] = string.format('<text class="ytick" data-value="%s" x="%s" y="%s" text-anchor="end" font-size="10">%s</text>',
         string.format("%.12g", t), c(l - 4), c(py + 3.5), esc(self.ylog and log_label(t) or M.fmt(t)))
   end
   out[#out + 1] = string.format('<g clip-path="url(#%s-clip)">', id)
   for _, it in ipairs(self.items) do
      local st = it.style
      local color = st.color or "#000000"
      if it.kind == "band" then
         local top_pts, bot_pts = {}, {}
         for i = 1, #it.xs do
            local x, lo, hi = it.xs[i], it.lo[i], it.hi[i]
            if self:_ok(x, lo) and self:_ok(x, hi) then
               top_pts[#top_pts + 1] = c(self:_px(x)) .. "," .. c(self:_py(hi))
               bot_pts[#bot_pts + 1] = c(self:_px(x)) .. "," .. c(self:_py(lo))
            end
         end
         if #top_pts > 0 then
            for i = #bot_pts, 1, -1 do top_pts[#top_pts + 1] = bot_pts[i] end
            out[#out + 1] = string.format('<polygon class="%s" data-label="%s"%s points="%s" fill="%s" fill-opacity="%s" stroke="none"/>',
               class_attr("band", st), esc(st.label or ""), key_attr(st), table.concat(top_pts, " "), color, st.opacity or "0.2")
         end
      elseif it.kind == "line" then
         local seg = {}
         local function flush()
            if #seg >= 2 then
               out[#out + 1] = string.format('<polyline class="%s" data-label="%s"%s points="%s" fill="none" stroke="%s" stroke-width="%s"%s/>',
                  class_attr("series", st), esc(st.label or ""), key_attr(st), table.concat(seg, " "), color, st.width or "1.6", dash_attr(st))
            elseif #seg == 1 then
               local x, y = seg[1]:match("([^,]+),([^,]+)")
               out[#out + 1] = string.format('<circle class="%s" data-label="%s"%s cx="%s" cy="%s" r="1.8" fill="%s"/>',
                  class_attr("series-point", st), esc(st.label or ""), key_attr(st), x, y, color)
            end
            seg = {}
         end
         for i = 1, #it.xs do
            local x, y = it.xs[i], it.ys[i]
            if self:_ok(x, y) then seg[#seg + 1] = c(self:_px(x)) .. "," .. c(self:_py(y)) else flush() end
         end
         flush()
      elseif it.kind == "markers" then
         out[#out + 1] = string.format('<g class="%s" data-label="%s"%s>', class_attr("markers", st), esc(st.label or ""), key_attr(st))
         for i = 1, #it.xs do
            local x, y = it.xs[i], it.ys[i]
            if self:_ok(x, y) then
               local px, py = self:_px(x), self:_py(y)
               if st.shape == "x" then
                  out[#out + 1] = string.format('<path d="M%s,%sL%s,%sM%s,%sL%s,%s" stroke="%s" stroke-width="1.2"/>',
                     c(px - 3), c(py - 3), c(px + 3), c(py + 3), c(px - 3), c(py + 3), c(px + 3), c(py - 3), color)
               elseif st.shape == "up" or st.shape == "down" then
                  -- a value off the axis: drawn just inside the edge, pointing the way it went
                  local d = st.shape == "up" and 1 or -1
                  out[#out + 1] = string.format('<path d="M%s,%sL%s,%sL%s,%sZ" fill="%s"/>',
                     c(px), c(py + d), c(px - 4), c(py + 8 * d), c(px + 4), c(py + 8 * d), color)
               else
                  out[#out + 1] = string.format('<circle cx="%s" cy="%s" r="%s" fill="%s"%s/>', c(px), c(py), st.r or "2.6",
                     st.fill or color, st.stroke and string.format(' stroke="%s" stroke-width="1.5"', st.stroke) or "")
               end
            end
         end
         out[#out + 1] = '</g>'
      elseif it.kind == "hline" then
         if self:_ok(self.x0, it.y) then
            local py = self:_py(it.y)
            out[#out + 1] = string.format('<line class="%s" x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-width="%s"%s/>',
               class_attr("hline", st), c(l), c(py), c(r), c(py), color, st.width or "1", dash_attr(st))
         end
      end
   end
   out[#out + 1] = '</g>'
   for _, cl in ipairs(self.clips) do
      local above = cl.where ~= "below"
      -- at the right end, away from the early epochs that are usually the ones cut off, on
      -- a white ground so curves passing there do not hide it
      local y = above and top + 11 or bot - 4
      local w = 6 * (#cl.text + 2)
      out[#out + 1] = string.format('<rect x="%s" y="%s" width="%s" height="13" fill="#ffffff" fill-opacity="0.85"/>',
         c(r - 6 - w), c(y - 10), c(w + 4))
      out[#out + 1] = string.format('<text class="clip-note" data-edge="%s" x="%s" y="%s" text-anchor="end" font-size="9.5" fill="#555555">%s %s</text>',
         cl.where, c(r - 4), c(y), above and "&#9650;" or "&#9660;", esc(cl.text))
   end
   for i, n in ipairs(self.notes) do
      out[#out + 1] = string.format('<text class="note" x="%s" y="%s" text-anchor="middle" font-size="11" fill="#777777">%s</text>',
         c((l + r) / 2), c((top + bot) / 2 + (i - 1) * 14), esc(n))
   end
   if self.title then
      out[#out + 1] = string.format('<text class="panel-title" x="%s" y="%s" text-anchor="middle" font-size="12" font-weight="bold">%s</text>',
         c((l + r) / 2), c(self.y + 15), esc(self.title))
   end
   if self.xlabel then
      out[#out + 1] = string.format('<text class="xlabel" x="%s" y="%s" text-anchor="middle" font-size="11">%s</text>',
         c((l + r) / 2), c(self.y + self.h - 8), esc(self.xlabel))
   end
   if self.ylabel then
      local cx, cy = self.x + 12, (top + bot) / 2
      out[#out + 1] = string.format('<text class="ylabel" x="%s" y="%s" text-anchor="middle" font-size="11" transform="rotate(-90 %s %s)">%s</text>',
         c(cx), c(cy), c(cx), c(cy), esc(self.ylabel))
   end
   out[#out + 1] = '</g>'
end

---------------------------------------------------------------------------------------------
local Figure = {}
Figure.__index = Figure

--- A new figure: { width, height, title }. The title takes 28 px at the top.
function M.figure(opts)
   opts = opts or {}
   return setmetatable({ width = opts.width or 640, height = opts.height or 480, title = opts.title,
      id = opts.id or "fig", panels = {}, legends = {} }, Figure)
end

--- Add a panel at (x, y) of size (w, h) in figure pixels.
function Figure:panel(o)
   local p = setmetatable({ x = o.x, y = o.y, w = o.w, h = o.h, title = o.title, xlabel = o.xlabel,
      ylabel = o.ylabel, xlog = o.xlog or false, ylog = o.ylog or false, xlim = o.xlim, ylim = o.ylim,
      xtick_values = o.xtick_values,
      items = {}, notes = {}, clips = {}, dx = {}, dy = {} }, Panel)
   self.panels[#self.panels + 1] = p
   return p
end

--- A rows x cols grid of panels below the title (and above `bottom` px reserved for
-- a legend). Returns panels[row][col].
function Figure:grid(rows, cols, opts)
   opts = opts or {}
   local top = self.title and 30 or 4
   local bottom = opts.bottom or 0
   local w, h = self.width / cols, (self.height - top - bottom) / rows
   local g = {}
   for i = 1, rows do
      g[i] = {}
      for j = 1, cols do
         g[i][j] = self:panel{ x = (j - 1) * w, y = top + (i - 1) * h, w = w, h = h }
      end
   end
   return g
end

--- A legend: entries { label, color, dash?, kind = "line"|"band"|"marker" } laid out
-- in a row at (x, y) (default: bottom of the figure), wrapping at the figure width.
function Figure:legend(entries, x, y)
   self.legends[#self.legends + 1] = { entries = entries, x = x, y = y }
end

-- legend entries placed in rows, wrapping at the figure width; returns the items and
-- the lowest baseline used
local function layout_legend(self, lg)
   local x0 = lg.x or 10
   local x, y = x0, lg.y or (self.height - 12)
   local placed = {}
   for _, e in ipairs(lg.entries) do
      local wdt = 40 + 7 * #tostring(e.label):gsub("[\128-\191]", "")
      if x + wdt > self.width and x > x0 then x, y = x0, y + 16 end
      placed[#placed + 1] = { e = e, x = x, y = y }
      x = x + wdt
   end
   return placed, y
end

function Figure:render()
   -- a legend that wraps below the bottom edge makes the figure taller
   local height = self.height
   local layouts = {}
   for i, lg in ipairs(self.legends) do
      local placed, bottom = layout_legend(self, lg)
      layouts[i] = placed
      if bottom + 8 > height then height = math.ceil(bottom + 8) end
   end
   local out = {}
   out[#out + 1] = string.format('<svg xmlns="http://www.w3.org/2000/svg" class="dob-figure" id="%s" width="%d" height="%d" viewBox="0 0 %d %d" font-family="DejaVu Sans, Helvetica, Arial, sans-serif">',
      esc(self.id), self.width, height, self.width, height)
   out[#out + 1] = string.format('<rect width="%d" height="%d" fill="#ffffff"/>', self.width, height)
   if self.title then
      out[#out + 1] = string.format('<text class="fig-title" x="%s" y="20" text-anchor="middle" font-size="15" font-weight="bold">%s</text>',
         c(self.width / 2), esc(self.title))
   end
   for i, p in ipairs(self.panels) do p:_render(out, self.id .. "-p" .. i) end
   for _, placed in ipairs(layouts) do
      out[#out + 1] = '<g class="legend">'
      for _, it in ipairs(placed) do
         local e, x, y = it.e, it.x, it.y
         local key = key_attr(e)
         if e.kind == "band" then
            out[#out + 1] = string.format('<rect class="legend-key"%s x="%s" y="%s" width="20" height="8" fill="%s" fill-opacity="0.3"/>', key, c(x), c(y - 7), e.color)
         elseif e.kind == "marker" then
            out[#out + 1] = string.format('<circle class="legend-key"%s cx="%s" cy="%s" r="3.5" fill="%s"%s/>', key, c(x + 10), c(y - 3),
               e.fill or e.color, e.stroke and string.format(' stroke="%s" stroke-width="1.5"', e.stroke) or "")
         else
            out[#out + 1] = string.format('<line class="legend-key"%s x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-width="2"%s/>',
               key, c(x), c(y - 3), c(x + 24), c(y - 3), e.color, dash_attr(e))
         end
         out[#out + 1] = string.format('<text class="legend-label"%s x="%s" y="%s" font-size="11">%s</text>', key, c(x + 29), c(y + 1), esc(e.label))
      end
      out[#out + 1] = '</g>'
   end
   out[#out + 1] = '</svg>'
   return table.concat(out, "\n")
end

return M
