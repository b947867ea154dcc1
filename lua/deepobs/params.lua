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

local ParamSet = {}
ParamSet.__index = ParamSet

local function new(model_or_list)
   local named
   if type(model_or_list) == "table" and model_or_list.named_parameters then
      named = model_or_list:named_parameters()
   elseif type(model_or_list) == "table" then
      -- a list of tensors, or of { name =, tensor = }
      named = {}
      for i, p in ipairs(model_or_list) do
         if T.is_tensor(p) then named[i] = { name = "param" .. i, tensor = p }
         else named[i] = { name = p.name or ("param" .. i), tensor = p.tensor, module = p.module, key = p.key } end
      end
   else
      error("ParamSet: expected a module or a list of tensors", 2)
   end
   local total = 0
   for _, p in ipairs(named) do
      if not T.is_tensor(p.tensor) or p.tensor:dtype() ~= "float32" then
         error("ParamSet: parameter " .. tostring(p.name) .. " is not a float32 tensor", 2)
      end
      total = total + p.tensor:numel()
   end
   local self = setmetatable({ params = {}, by_name = {}, n = total }, ParamSet)
   self.flat = T.zeros(math.max(total, 0))
   self.grad_flat = T.zeros(math.max(total, 0))
   local at = 1
   for i, p in ipairs(named) do
      local shape = p.tensor:size()
      local n = p.tensor:numel()
      local value = self.flat:narrow(1, at, n):view(shape)
      value:copy_(p.tensor)
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

function ParamSet:zero_grad()
   self.grad_flat:zero_()
   return self
end

--- The tensors to pass to ops (the views into flat).
function ParamSet:tensors()
   local list = {}
   for i, p in ipairs(self.params) do list[i] = p.value end
   return list
end

return setmetatable(ParamSet, { __call = function(_, ...) return new(...) end })
