--- help(x) for the REPL: the documentation of whatever x is, read from the source.
--
--    help(dob.randn)          -- the doc comment above the function's definition
--    help(dob.nn)             -- a module's header comment
--    help(dob.nn.Linear)      -- a layer: its module's docs and what it prints as
--    help("adam")             -- an optimizer: description and hyperparameters
--    help("fmnist_2c2d")      -- a problem: description, dataset, defaults, parameters
--    help(x)                  -- a tensor: type, size, grad state and its methods
--
-- A function's doc is deepobs.doc's: the text registered for it, else the `--` lines right
-- above `function name(...)`; a module's, its first lines. The API reference in README.md
-- holds the first line of every public function's doc (scripts/api_reference.lua).
local M = {}

local doc = require "deepobs.doc"

-- the name under which a table was loaded as a module, and its file
local function module_of(t)
   for name, v in pairs(package.loaded) do
      if v == t and type(name) == "string" then
         return name, package.searchpath(name, package.path)
      end
   end
end

-- a function's doc block (deepobs.doc) and where it is defined
local function function_doc(f)
   local path, line = doc.source(f)
   local text = doc.of(f)
   if not path then
      return text or "a built-in function (no Lua source to read its documentation from)"
   end
   return ("%s\n(%s:%d)"):format(text or "(no doc comment)", path:gsub("^%./", ""), line)
end

local function optimizer_doc(opt, path)
   local out = { require("deepobs.optim").describe(opt) }
   if path then
      local head = doc.header(path)
      if head ~= "" then out[#out + 1] = "\n" .. head end
   end
   return table.concat(out, "\n")
end

local function problem_doc(name)
   local buf = {}
   local sink = { write = function(self, ...) for _, s in ipairs { ... } do buf[#buf + 1] = tostring(s) end return self end }
   require("deepobs.problem_info").info(name, {}, sink)
   return (table.concat(buf):gsub("%s+$", ""))
end

local function tensor_doc(x)
   local methods = {}
   for k, v in pairs(getmetatable(x).__class) do
      if type(v) == "function" and k:match("^[%a][%w_]*$") then methods[#methods + 1] = k end
   end
   table.sort(methods)
   local size = x:size()
   return ("%s of size %s, %s\nmethods (help(x.NAME) for one): %s"):format(x:type(),
      #size == 0 and "[] (a scalar)" or table.concat(size, "x"),
      x:requires_grad() and "requires grad" or "no grad", table.concat(methods, " "))
end

-- a string names a problem, an optimizer, or a function/module path
local function string_doc(s)
   local optim = require "deepobs.optim"
   for _, n in ipairs(optim.list()) do
      if n == s then
         local opt, path = optim.load(s)
         return optimizer_doc(opt, path)
      end
   end
   require("deepobs.suite").use()
   local ok, problems = pcall(require, "problems")
   if ok and type(problems) == "table" and problems.list then
      for _, n in ipairs(problems.list()) do
         if n == s then return problem_doc(s) end
      end
   end
   local okm, mod = pcall(require, s)
   if okm and type(mod) == "table" then return M.text(mod) end
   return ("help: '%s' is not a problem, an optimizer or a module; try help(dob), help(dob.randn), "
      .. "help(\"adam\") or help(\"fmnist_2c2d\")"):format(s)
end

--- The help text of x.
function M.text(x)
   local tx = type(x)
   if tx == "string" then return string_doc(x) end
   if tx == "function" then return function_doc(x) end
   if tx == "table" then
      local mt = getmetatable(x)
      if mt and rawget(mt, "__class") and mt.__name == "deepobs.Tensor" then return tensor_doc(x) end
      if type(x.step) == "function" and type(x.hyperparams) == "table" then return optimizer_doc(x) end
      local name, path = module_of(x)
      if not name and mt and type(mt.__index) == "table" then   -- an nn class or a layer
         local text = doc.of(x)
         if text then return (mt.__index.__name or "layer") .. "\n" .. text end
      end
      if name and path then
         local head = doc.header(path)
         local fields = {}
         for k in pairs(x) do if type(k) == "string" then fields[#fields + 1] = k end end
         table.sort(fields)
         return ("%s  (%s)\n%s\n\nfields: %s"):format(name, path:gsub("^%./", ""), head, table.concat(fields, " "))
      end
      return "a table without documentation; its fields: " .. (function()
         local fields = {}
         for k in pairs(x) do fields[#fields + 1] = tostring(k) end
         table.sort(fields)
         return table.concat(fields, " ")
      end)()
   end
   if x == nil then
      return "help(x) shows the documentation of x: a function (help(dob.randn)), a module (help(dob.nn)), "
         .. "a layer (help(dob.nn.Linear)), a tensor, an optimizer (help(\"adam\")) or a problem "
         .. "(help(\"fmnist_2c2d\")). Tab completes names; arrow-up recalls earlier lines."
   end
   return ("%s: %s"):format(tx, tostring(x))
end

--- help(x): prints M.text(x).
function M.help(x)
   print(M.text(x))
end

return M
