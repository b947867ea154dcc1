--- deepobs.doc: the documentation of the public functions, one source for help(x) in the
-- REPL and the API reference in README.md (scripts/api_reference.lua).
--
--    local doc = require "deepobs.doc"
--    print(doc.of(dob.narrow))          -- its doc block
--    for _, e in ipairs(doc.entries()) do print(e.name, doc.first_line(doc.of(e.doc))) end
--
-- A function's doc is the text registered for it with doc.register(fn, text) (for
-- functions made in a loop, which share one definition line), else the `--` comment block
-- right above its definition, as everywhere in this repository. An nn class's doc is its
-- __init's. Every doc block begins with one line `SIGNATURE: summary`, the signature as it
-- is called (`x:narrow(dim, first, length)`, `dob.zeros(...)`, `m:forward(x)`, `x + y`).
local M = {}

local registered = setmetatable({}, { __mode = "k" })

--- doc.register(fn, text): fn's documentation is text (fn: a function or an nn class).
-- Returns fn.
function M.register(fn, text)
   if type(fn) ~= "function" and type(fn) ~= "table" then
      error("doc.register: fn must be a function or a table, got " .. type(fn), 2)
   end
   if type(text) ~= "string" then error("doc.register: text must be a string, got " .. type(text), 2) end
   registered[fn] = text
   return fn
end

-- the lines of a source file, cached
local file_lines = {}
function M.lines_of(path)
   if file_lines[path] == nil then
      local t = {}
      local f = io.open(path, "r")
      if f then
         for l in f:lines() do t[#t + 1] = l end
         f:close()
      end
      file_lines[path] = t
   end
   return file_lines[path]
end

local function strip(l) return (l:gsub("^%s*%-%-%-?%s?", "")) end

-- the comment block ending right above line n (a run of `--` lines or one --[[ ]] block)
local function comment_above(lines, n)
   local out = {}
   local i = n - 1
   if lines[i] and lines[i]:match("%]%]%s*$") and not lines[i]:match("^%s*%-%-%-?%s") then
      while i >= 1 and not lines[i]:match("^%s*%-%-%[%[") do table.insert(out, 1, lines[i]); i = i - 1 end
      if lines[i] then table.insert(out, 1, (lines[i]:gsub("^%s*%-%-%[%[%s?", ""))) end
      out[#out] = out[#out]:gsub("%]%]%s*$", "")
      return table.concat(out, "\n")
   end
   while i >= 1 and lines[i]:match("^%s*%-%-") do
      table.insert(out, 1, strip(lines[i]))
      i = i - 1
   end
   return table.concat(out, "\n")
end

--- A file's leading comment (its module doc): `--` lines, or a --[[ ]] block.
function M.header(path)
   local lines = M.lines_of(path)
   if not lines[1] then return "" end
   if lines[1]:match("^%-%-%[%[") then
      local out = { (lines[1]:gsub("^%-%-%[%[%s?", "")) }
      local i = 2
      while lines[i] and not lines[i]:match("%]%]") do out[#out + 1] = lines[i]; i = i + 1 end
      if lines[i] then out[#out + 1] = (lines[i]:gsub("%]%].*$", "")) end
      return (table.concat(out, "\n"):gsub("%s+$", ""))
   end
   local out = {}
   for i = 1, #lines do
      if not lines[i]:match("^%-%-") then break end
      out[#out + 1] = strip(lines[i])
   end
   return table.concat(out, "\n")
end

--- The source file and line of a Lua function's definition (nil for a built-in).
function M.source(fn)
   local info = debug.getinfo(fn, "S")
   local path = info and info.source and info.source:sub(1, 1) == "@" and info.source:sub(2) or nil
   if not path or info.linedefined <= 0 then return nil end
   return path, info.linedefined
end

-- the function that constructs an nn class's objects (its own or an inherited __init)
local function constructor_of(t)
   local mt = getmetatable(t)
   if mt and type(mt.__index) == "table" and type(mt.__index.__init) == "function" then return mt.__index.__init end
   if mt and type(mt.__call) == "function" then return mt.__call end
end

--- The documentation of a public function (or an nn class, or a callable table): its
-- registered text, else the comment block above its definition; nil when it has none.
function M.of(fn)
   if registered[fn] then return registered[fn] end
   if type(fn) == "table" then
      local ctor = constructor_of(fn)
      return ctor and M.of(ctor)
   end
   if type(fn) ~= "function" then return nil end
   local path, line = M.source(fn)
   if not path then return nil end
   local text = comment_above(M.lines_of(path), line)
   return text ~= "" and text or nil
end

--- The first line of a doc text (its signature and summary), "" for nil.
function M.first_line(text)
   return text and text:match("^[^\n]*") or ""
end

--- The public entries (deepobs.api.entries): { name, kind, fn, doc }, where doc is what
-- doc.of documents it by.
function M.entries(dob)
   return require("deepobs.api").entries(dob)
end

-- the name an entry's signature must show: "narrow" for Tensor:narrow, "Linear" for
-- nn.Linear, "__add" for operator __add
local function short_name(name)
   return name:match("([%w_]+)$")
end

--- The first line of an entry's doc split into its signature and summary (the text before
-- and after the first ": "); nil and a reason when the entry has no doc or its first line
-- does not name the entry.
function M.signature(e)
   local first = M.first_line(M.of(e.doc))
   if first == "" then return nil, e.name .. " has no doc (a comment above its definition or doc.register)" end
   local sig, summary = first:match("^(.-): (.*)$")
   local short = short_name(e.name)
   local ok
   if not sig or summary == "" then ok = false
   elseif e.kind == "operator" then ok = sig:sub(-#short - 2) == "(" .. short .. ")"     -- `x + y (__add)`
   else ok = sig:match("^[%w_.:]+%b()") ~= nil and sig:find("%f[%w_]" .. short .. "%(") ~= nil end
   if not ok then
      local form = e.kind == "operator" and ("`x OP y (%s): summary`"):format(short)
         or ("`%s(ARGS): summary`, with its namespace (e.g. `x:narrow(dim, first, length): ...`)"):format(short)
      return nil, ("%s: its doc's first line must read %s, got %q"):format(e.name, form, first)
   end
   return sig, summary
end

-- the group of the reference an entry belongs to, and a sort key within it
local GROUPS = { "deepobs", "Tensor methods", "Tensor operators", "deepobs.nn", "deepobs.nn.init",
   "deepobs.nn.ParamSet", "deepobs.optim", "deepobs.gradcheck" }

-- the nn class that defines a module method (Module:param, not the first class inheriting it)
local function owner_class(dob, e)
   local c = getmetatable(dob.nn[e.class]).__index
   while type(c) == "table" do
      if rawget(c, short_name(e.name)) == e.fn then return (rawget(c, "__name") or ""):match("([%w_]+)$") end
      local parent = getmetatable(c)
      c = parent and parent.__index
   end
   return e.class
end

local function group_of(dob, e)
   local n = e.name
   if e.kind == "method" then return "Tensor methods", n end
   if e.kind == "operator" then return "Tensor operators", n end
   if n == "nn.ParamSet" then return "deepobs.nn.ParamSet", " " end   -- the constructor first
   if e.kind == "paramset_method" then return "deepobs.nn.ParamSet", n end
   if n:match("^nn%.init%.") then return "deepobs.nn.init", n end
   if e.kind == "constructor" then
      local cname = (rawget(getmetatable(e.fn).__index, "__name") or n):match("([%w_]+)$")
      return "deepobs.nn", "nn." .. cname .. " ", "nn." .. cname
   end
   if e.kind == "module_method" then
      local owner = "nn." .. owner_class(dob, e)
      return "deepobs.nn", owner .. ":" .. short_name(n), owner
   end
   if n:match("^optim%.") then return "deepobs.optim", n end
   if n:match("^gradcheck%.") then return "deepobs.gradcheck", n end
   return "deepobs", n
end

-- whether items hold a class's own line under key (besides a placeholder)
local function constructors_of(items, key)
   for _, it in ipairs(items) do if it.key == key and not it.fallback then return true end end
   return false
end

local CONVENTIONS = [[
Conventions. Argument orders are PyTorch's: `x:add_(t, alpha)`, `x:sub_(t, alpha)`, `x:add(t, alpha)`,
`x:addcmul_(t1, t2, value)`, `x:addcdiv_(t1, t2, value)` (Torch7's orders, `add_(number, tensor)` and
`addcmul_(value, t1, t2)`, still work with a one-time deprecation warning until deepobs 0.2). In-place
methods end in `_` and return the tensor. Dims and indices are 1-based, negative dims count from the end.
A tensor's state is read through methods: `x:size()`, `x:dim()`, `x:numel()`, `x:dtype()`, `x:grad()`,
`x:requires_grad()`; `x.shape` is a read-only alias of `x:size()`. Plain records are fields: ParamSet
entries (`ps.params[i].value`, `.grad`), `m:named_parameters()` entries `{ name, value, module, key }`
(also an iterator: `for name, p in m:named_parameters() do`), optimizer and problem tables. Most tensor
methods are also functions of the package (`dob.exp(x)` is `x:exp()`). An optimizer is a table
`{ name, description, hyperparams = { { name, type, default, domain, help }, ... }, step(closure, params, hp,
state, ctx) }` (README "Writing an optimizer"). In the REPL, `help(f)` shows a function's whole doc block;
below is the first line of each.]]

--- The API reference in Markdown: the conventions, then every public entry's signature and
-- summary, grouped by namespace. Raises an error naming the entries without a proper doc.
function M.reference(dob)
   dob = dob or require "deepobs"
   local groups, problems, classes = {}, {}, {}
   for _, e in ipairs(M.entries(dob)) do
      local sig, summary = M.signature(e)
      if not sig then
         problems[#problems + 1] = summary
      elseif e.kind == "constructor" and classes[e.fn] then
         -- another name of a class already listed (nn.BatchNorm1d is nn.BatchNorm2d): its line names both
      else
         if e.kind == "constructor" then classes[e.fn] = true end
         local g, key, class = group_of(dob, e)
         groups[g] = groups[g] or {}
         local also = ""
         if e.kind == "method" and dob[short_name(e.name)] == e.fn then also = (" (also `dob.%s`)"):format(short_name(e.name)) end
         -- an nn class's methods are listed under it
         local indent = e.kind == "module_method" and "  " or ""
         table.insert(groups[g], { key = key, line = ("%s- `%s`%s: %s"):format(indent, sig, also, summary) })
         if class and e.kind == "module_method" and not classes[class] then
            classes[class] = true
            table.insert(groups[g], { key = class .. " ", line = ("- `%s`: its methods, which the classes built on it share:"):format(class),
               fallback = true })
         end
         if e.kind == "constructor" then classes[class] = true end
      end
   end
   -- a class's own line replaces the placeholder of a base class (nn.Module has no constructor entry)
   for _, items in pairs(groups) do
      for i = #items, 1, -1 do
         if items[i].fallback and constructors_of(items, items[i].key) then table.remove(items, i) end
      end
   end
   if #problems > 0 then error("doc.reference: " .. #problems .. " entries lack a doc:\n" .. table.concat(problems, "\n"), 2) end
   local out = { CONVENTIONS }
   for _, g in ipairs(GROUPS) do
      if groups[g] then
         table.sort(groups[g], function(a, b) return a.key < b.key end)
         out[#out + 1] = "\n### " .. g .. "\n"
         for _, item in ipairs(groups[g]) do out[#out + 1] = item.line end
      end
   end
   return table.concat(out, "\n") .. "\n"
end

return M
