--- deepobs.api: the public entries of the Lua package, found by walking it, so that a new
-- function is covered without being listed anywhere. The API contract spec calls every
-- entry with invalid arguments; the API reference (scripts/api_reference.lua) and its
-- spec document every entry. One list for both.
--
--    local api = require "deepobs.api"
--    for _, e in ipairs(api.entries(require "deepobs")) do print(e.name, e.kind) end
--
-- The walk covers dob.*, the Tensor methods, the Tensor metatable's operators, dob.nn's
-- classes and their methods, dob.nn.init, nn.ParamSet and its methods, dob.optim,
-- optim.object's step and deepobs.gradcheck where it exists.
local M = {}

local function sorted_keys(t)
   local keys = {}
   for k in pairs(t) do if type(k) == "string" then keys[#keys + 1] = k end end
   table.sort(keys)
   return keys
end

-- the metamethods of the Tensor metatable that operators reach (x + y, x[i], tostring(x), ...)
M.OPERATORS = { __add = true, __sub = true, __mul = true, __div = true, __pow = true, __mod = true, __unm = true,
   __len = true, __concat = true, __call = true, __eq = true, __lt = true, __le = true, __tostring = true,
   __index = true, __newindex = true }

-- the step method of optim.object's objects (its class is not a field of dob.optim)
local function object_step(dob)
   local ok, o = pcall(dob.optim.object, "sgd", dob.nn.ParamSet { dob.zeros(1) }, { lr = 0.1 })
   return ok and getmetatable(o).step or nil
end

--- Every entry, sorted by name, one per distinct function (dob.add and Tensor.add are the
-- same function, listed as the method): { name = "Tensor:narrow", kind = ..., fn = what a
-- call goes through, doc = what documents it }. kind is "method" (self is a tensor),
-- "function", "operator" (fn is the metamethod: call it through the operator, from outside
-- the package, for messages to name it), "constructor" (fn is an nn class),
-- "module_method" (class = the nn class's name), "paramset_method" or "optim_step" (no fn).
-- doc is the function (or nn class) whose documentation deepobs.doc reads: the metamethod
-- for an operator, the class for a constructor, ParamSet itself for nn.ParamSet.
function M.entries(dob)
   dob = dob or require "deepobs"
   local T = require "deepobs.tensor"
   -- the gradient checker is public where it exists (it is walked like the rest)
   local has_gradcheck, gradcheck = pcall(require, "deepobs.gradcheck")
   local list, seen = {}, {}
   local function add(name, fn, kind, extra)
      if type(fn) ~= "function" or seen[fn] then return end
      seen[fn] = true
      local e = { name = name, fn = fn, kind = kind, doc = fn }
      for k, v in pairs(extra or {}) do e[k] = v end
      list[#list + 1] = e
   end
   -- methods first, so that a function in both places is called as a method
   for _, k in ipairs(sorted_keys(dob.Tensor)) do add("Tensor:" .. k, dob.Tensor[k], "method") end
   for _, k in ipairs(sorted_keys(dob)) do add("dob." .. k, dob[k], "function") end
   for _, k in ipairs(sorted_keys(T.mt)) do
      if M.OPERATORS[k] then
         list[#list + 1] = { name = "operator " .. k, fn = T.mt[k], kind = "operator", doc = T.mt[k] }
      end
   end
   for _, k in ipairs(sorted_keys(dob.nn.init)) do add("nn.init." .. k, dob.nn.init[k], "function") end
   for _, k in ipairs(sorted_keys(dob.optim)) do add("optim." .. k, dob.optim[k], "function") end
   if has_gradcheck then
      for _, k in ipairs(sorted_keys(gradcheck)) do add("gradcheck." .. k, gradcheck[k], "function") end
   end
   add("nn.ParamSet", function(...) return dob.nn.ParamSet(...) end, "function", { doc = dob.nn.ParamSet })
   for _, k in ipairs(sorted_keys(dob.nn.ParamSet)) do
      if k:sub(1, 2) ~= "__" then add("ParamSet:" .. k, dob.nn.ParamSet[k], "paramset_method") end
   end
   for _, cname in ipairs(sorted_keys(dob.nn)) do
      local cls = dob.nn[cname]
      local mt = type(cls) == "table" and getmetatable(cls)
      if mt and mt.__call and type(mt.__index) == "table" then
         list[#list + 1] = { name = "nn." .. cname, fn = cls, kind = "constructor", doc = cls }
         -- the class's own methods and those it inherits (each function once, under the
         -- first class that has it)
         local c = mt.__index
         while type(c) == "table" do
            for _, k in ipairs(sorted_keys(c)) do
               local fn = rawget(c, k)
               if k:sub(1, 2) ~= "__" and type(fn) == "function" and not seen[fn] then
                  seen[fn] = true
                  list[#list + 1] = { name = ("nn.%s:%s"):format(cname, k), fn = fn, kind = "module_method",
                     class = cname, doc = fn }
               end
            end
            local parent = getmetatable(c)
            c = parent and parent.__index
         end
      end
   end
   -- optim.object's step, with user closures (nil, a number, a tensor, an error)
   list[#list + 1] = { name = "optim.object:step", kind = "optim_step", doc = object_step(dob) }
   table.sort(list, function(a, b) return a.name < b.name end)
   return list
end

return M
