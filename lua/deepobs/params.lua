--- ParamSet: a model's parameters as one flat buffer, with one flat gradient
-- buffer beside it (the idea of Torch's getParameters).
--
--    local ps = nn.ParamSet(model)
--    ps.flat, ps.grad_flat          -- 1-D tensors over every parameter
--    for _, p in ipairs(ps.params) do p.name, p.value, p.grad, p.shape end
--    ps:zero_grad()
--
-- Every parameter of the model is replaced by a view into `flat` (values are
-- copied over), and its gradient is set to the matching view of `grad_flat`,
-- so backward accumulates straight into the flat gradient. Optimizers may
-- work per tensor (p.value, p.grad) or on the flat vectors in one call each.
-- Update parameters under dob.no_grad (the views require grad).
local T = require "deepobs.tensor"
local A = require "deepobs.argcheck"
local deprecated = require "deepobs.deprecated"

local ParamSet = {}
ParamSet.__index = ParamSet

-- the storage elements [first, last] a tensor's view may touch (0-based offsets)
local function extent(t)
   local first, last = t:storage_offset() - 1, t:storage_offset() - 1
   local sz, st = t:size(), t:stride()
   for d = 1, #sz do
      if sz[d] == 0 then return nil end
      local reach = (sz[d] - 1) * st[d]
      if reach < 0 then first = first + reach else last = last + reach end
   end
   return first, last
end

-- Two entries over the same memory would be copied into flat twice and updated as two
-- parameters: refuse the same tensor twice and views whose elements overlap.
local function check_distinct(named)
   for i = 1, #named do
      local a = named[i].value
      local a1, a2 = extent(a)
      for j = i + 1, #named do
         local b = named[j].value
         if rawequal(a, b) then
            A.fail("ParamSet", "parameters %s and %s are the same tensor (list each tensor once)",
               tostring(named[i].name), tostring(named[j].name))
         end
         local b1, b2 = extent(b)
         if a1 and b1 and a:is_same_storage(b) and a1 <= b2 and b1 <= a2 then
            A.fail("ParamSet", "parameters %s and %s are views of the same memory that overlap",
               tostring(named[i].name), tostring(named[j].name))
         end
      end
   end
end

local function new(model_or_list)
   local named
   if type(model_or_list) ~= "table" or T.is_tensor(model_or_list) then
      A.wrong("ParamSet", "model", "a module or a list of tensors", model_or_list)
   end
   if type(model_or_list.named_parameters) == "function" then
      named = model_or_list:named_parameters()
   else
      -- a list of tensors, or of { name =, value = } (`tensor =`, the old name, with a warning)
      named = {}
      for i, p in ipairs(model_or_list) do
         if T.is_tensor(p) then named[i] = { name = "param" .. i, value = p }
         elseif type(p) == "table" and getmetatable(p) == nil then
            local value = p.value
            if value == nil and p.tensor ~= nil then
               deprecated.warn("ParamSet{ { tensor = t } }", "ParamSet{ { value = t } } (as named_parameters' entries)")
               value = p.tensor
            end
            named[i] = { name = p.name or ("param" .. i), value = value, module = p.module, key = p.key }
         else
            A.fail("ParamSet", "entry %d must be a tensor or a table { name =, value = }, got %s", i, A.describe(p))
         end
      end
   end
   local total = 0
   for _, p in ipairs(named) do
      if not T.is_tensor(p.value) or p.value:dtype() ~= "float32" then
         A.fail("ParamSet", "parameter %s is not a float32 tensor (got %s)", tostring(p.name), A.describe(p.value))
      end
      total = total + p.value:numel()
   end
   check_distinct(named)
   local self = setmetatable({ params = {}, by_name = {}, n = total }, ParamSet)
   self.flat = T.zeros(math.max(total, 0))
   self.grad_flat = T.zeros(math.max(total, 0))
   local at = 1
   for i, p in ipairs(named) do
      local shape = p.value:size()
      local n = p.value:numel()
      local value = self.flat:narrow(1, at, n):view(shape)
      value:copy_(p.value)
      value:requires_grad_()
      local grad = self.grad_flat:narrow(1, at, n):view(shape)
      value:set_grad(grad)
      if p.module then p.module[p.key] = value end
      local entry = { name = p.name, value = value, grad = grad, shape = shape, offset = at, numel = n }
      self.params[i] = entry
      self.by_name[p.name] = entry
      at = at + n
   end
   return self
end

--- ps:zero_grad(): sets the flat gradient ps.grad_flat (every parameter's gradient) to zero; returns ps
function ParamSet:zero_grad()
   if getmetatable(self) ~= ParamSet then A.fail("zero_grad", "call it as ps:zero_grad() on a ParamSet") end
   self.grad_flat:zero_()
   return self
end

--- ps:tensors(): the parameter tensors (views into ps.flat), a list, to pass to ops
function ParamSet:tensors()
   if getmetatable(self) ~= ParamSet then A.fail("tensors", "call it as ps:tensors() on a ParamSet") end
   local list = {}
   for i, p in ipairs(self.params) do list[i] = p.value end
   return list
end

--- nn.ParamSet(model_or_list): a model's parameters as one flat buffer ps.flat and one flat gradient ps.grad_flat
-- model_or_list: a module (its named_parameters) or a list of tensors or of { name =, value = }
-- entries. Each parameter becomes a view into ps.flat (its values copied), its gradient the
-- matching view of ps.grad_flat; ps.params[i] = { name, value, grad, shape, offset, numel },
-- ps.by_name[name] the same entries, ps.n the element count. The same tensor twice, or
-- overlapping views, is an error.
return setmetatable(ParamSet, { __call = function(_, ...) return new(...) end })
