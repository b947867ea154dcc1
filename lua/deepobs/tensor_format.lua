--- How tensors print: Torch7's layout (a matrix per trailing pair of dimensions, then
-- `[deepobs.FloatTensor of size 2x3]`), summarised as PyTorch does above a threshold:
-- a tensor of more than `threshold` elements shows the first and last `edgeitems`
-- entries along each dimension, with `...` between.
--
--    dob.set_printoptions { threshold = 1000, edgeitems = 3, precision = 4 }
--    print(dob.randn(1000, 1000))    -- 7 rows of 7 entries, not a million
--    dob.set_printoptions { profile = "full" }   -- every element ("default" restores)
local M = {}

local DEFAULTS = { threshold = 1000, edgeitems = 3, precision = 4 }
local PROFILES = {
   default = DEFAULTS,
   short = { threshold = 1000, edgeitems = 2, precision = 2 },
   full = { threshold = math.huge, edgeitems = 3, precision = 4 },
}

local options = {}
for k, v in pairs(DEFAULTS) do options[k] = v end

local CHECKS = {
   threshold = function(v) return type(v) == "number" and v >= 0 and (v % 1 == 0 or v == math.huge) end,
   edgeitems = function(v) return type(v) == "number" and v >= 1 and v % 1 == 0 and v <= 1e6 end,
   precision = function(v) return type(v) == "number" and v >= 0 and v % 1 == 0 and v <= 17 end,
}
local EXPECTED = { threshold = "an integer >= 0 or math.huge", edgeitems = "an integer >= 1",
   precision = "an integer from 0 to 17" }

--- dob.set_printoptions(opts): Sets print options for tensors; returns the options now in force
-- opts has any of threshold (above this many elements a tensor prints summarised),
-- edgeitems (elements shown at each end when summarised), precision, or profile =
-- "default" | "short" | "full" (applied first).
function M.set_printoptions(opts)
   if type(opts) ~= "table" then
      error(("set_printoptions: expected a table such as { threshold = 1000 }, got %s"):format(type(opts)), 2)
   end
   for k in pairs(opts) do
      if k ~= "profile" and not CHECKS[k] then
         error(("set_printoptions: unknown option '%s' (known: threshold, edgeitems, precision, profile)")
            :format(tostring(k)), 2)
      end
   end
   if opts.profile ~= nil then
      local p = PROFILES[opts.profile]
      if not p then
         error(("set_printoptions: profile must be \"default\", \"short\" or \"full\", got %s")
            :format(tostring(opts.profile)), 2)
      end
      for k, v in pairs(p) do options[k] = v end
   end
   for k, check in pairs(CHECKS) do
      local v = opts[k]
      if v ~= nil then
         if not check(v) then
            error(("set_printoptions: %s must be %s, got %s"):format(k, EXPECTED[k], tostring(v)), 2)
         end
         options[k] = v
      end
   end
   local now = {}
   for k, v in pairs(options) do now[k] = v end
   return now
end

-- one number format for all shown values: integers right-aligned, otherwise fixed point,
-- or scientific where fixed point would hide the magnitude
local function formatter(vals, is_float)
   local all_int, maxabs, minabs = true, 0, math.huge
   for i = 1, #vals do
      local v = vals[i]
      if v ~= v or v == math.huge or v == -math.huge then all_int = false
      else
         if v % 1 ~= 0 then all_int = false end
         local a = math.abs(v)
         if a > maxabs then maxabs = a end
         if a > 0 and a < minabs then minabs = a end
      end
   end
   local width
   local function pad(s) return (" "):rep(width - #s) .. s end
   local fmt
   if not is_float or all_int then
      fmt = function(v)
         if v ~= v or math.abs(v) == math.huge then return tostring(v) end
         return ("%d"):format(v)
      end
   elseif maxabs >= 1e5 or (minabs < 1e-4 and minabs ~= math.huge) then
      local f = "%." .. options.precision .. "e"
      fmt = function(v) return f:format(v) end
   else
      local f = "%." .. options.precision .. "f"
      fmt = function(v) return f:format(v) end
   end
   width = 0
   for i = 1, #vals do width = math.max(width, #fmt(vals[i])) end
   return function(v) return pad(fmt(v)) end, width
end

local GAP = false   -- the place of "..." in a list of shown indices

-- the indices (1-based) shown along a dimension of size n
local function shown(n, summarise)
   local e = options.edgeitems
   local idx = {}
   if summarise and n > 2 * e then
      for i = 1, e do idx[#idx + 1] = i end
      idx[#idx + 1] = GAP
      for i = n - e + 1, n do idx[#idx + 1] = i end
   else
      for i = 1, n do idx[i] = i end
   end
   return idx
end

--- tostring(x) (__tostring): the text of tensor x, Torch7 style
-- summarised above the print threshold (dob.set_printoptions).
function M.format(t)
   local sz = t:size()
   local type_name = t:type()
   local n = t:numel()
   if n == 0 then return "[" .. type_name .. " with no dimension]" end   -- Torch7's words
   local head = "[" .. type_name .. " of size " .. (#sz == 0 and "[]" or table.concat(sz, "x")) .. "]"
   local c = t:contiguous()
   local p = c:data()
   local nd = #sz
   local stride = {}
   local s = 1
   for d = nd, 1, -1 do stride[d] = s; s = s * sz[d] end
   local summarise = n > options.threshold
   local show = {}
   for d = 1, nd do show[d] = shown(sz[d], summarise) end

   -- the values that will be shown decide the common format
   local vals = {}
   local function collect(d, off)
      if d > nd then vals[#vals + 1] = tonumber(p[off]); return end
      for _, i in ipairs(show[d]) do
         if i then collect(d + 1, off + (i - 1) * stride[d]) end
      end
   end
   collect(1, 0)
   local fmt, width = formatter(vals, t:dtype() == "float32")
   local dots = (" "):rep(math.max(width - 3, 0)) .. "..."

   local lines = {}
   local function row(off, d)   -- the last dimension at offset off
      local cells = {}
      for _, j in ipairs(show[d]) do
         cells[#cells + 1] = j and fmt(tonumber(p[off + (j - 1) * stride[d]])) or dots
      end
      return table.concat(cells, " ")
   end
   if nd == 0 then
      lines[1] = fmt(tonumber(p[0]))
   elseif nd == 1 then
      for _, i in ipairs(show[1]) do lines[#lines + 1] = i and fmt(tonumber(p[i - 1])) or dots end
   else
      local prefix = {}
      local function matrices(d, off)
         if d == nd - 1 then
            if nd > 2 then lines[#lines + 1] = "(" .. table.concat(prefix, ",") .. ",.,.) = " end
            for _, i in ipairs(show[d]) do
               lines[#lines + 1] = i and row(off + (i - 1) * stride[d], nd) or dots
            end
            lines[#lines + 1] = ""
            return
         end
         for _, i in ipairs(show[d]) do
            if i then
               prefix[d] = i
               matrices(d + 1, off + (i - 1) * stride[d])
            else
               lines[#lines + 1] = "(...)"
               lines[#lines + 1] = ""
            end
         end
      end
      matrices(1, 0)
      lines[#lines] = nil   -- no blank line before the footer
   end
   lines[#lines + 1] = head
   return table.concat(lines, "\n")
end

return M
