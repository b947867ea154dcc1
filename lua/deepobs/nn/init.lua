--- deepobs.nn: layers with named parameters and train/eval modes.
--
-- A module is a table with `forward(self, x)` (also callable as `m(x)`),
-- parameters registered with `self:param(name, tensor)`, buffers (running
-- statistics) with `self:buffer(name, tensor)`, and children with
-- `self:child(name, module)`. Weights follow PyTorch layouts (Linear [out, in],
-- Conv2d [out, in, kh, kw]); default initialisers follow TensorFlow 1, as
-- DeepOBS does: Glorot-uniform kernels and zero biases.
local dob_ops = require "deepobs.tensor"
local init = require "deepobs.init_schemes"

-- the functional ops, straight from their families (deepobs itself is still
-- loading when this module is)
local F = {}
for _, family in ipairs { "elementwise", "reduce", "matmul", "conv", "pool", "norm", "nnops", "loss" } do
   for k, v in pairs(require("deepobs.ops." .. family)) do F[k] = v end
end

local nn = {}

local function class(name, parent)
   local c = {}
   c.__index = c
   c.__name = "deepobs.nn." .. name
   c.__call = function(self, ...) return self:forward(...) end
   c.__tostring = function(self) return self:describe() end
   if parent then setmetatable(c, { __index = parent }) end
   nn[name] = setmetatable({}, {
      __index = c,
      __call = function(_, ...)
         local self = setmetatable({ _params = {}, _buffers = {}, _children = {}, training = true }, c)
         self:__init(...)
         return self
      end,
   })
   return c
end
nn.class = class

---------------------------------------------------------------------------------------
-- Module

local Module = class("Module")
nn.Module = Module

function Module:__init() end

function Module:param(name, t)
   self[name] = t:requires_grad_()
   self._params[#self._params + 1] = name
   return t
end

function Module:buffer(name, t)
   self[name] = t
   self._buffers[#self._buffers + 1] = name
   return t
end

function Module:child(name, m)
   self[name] = m
   self._children[#self._children + 1] = name
   return m
end

--- Every parameter of this module and its children, in registration order:
-- a list of { name = "conv1.weight", module = m, key = "weight", tensor = t }.
function Module:named_parameters(prefix, out)
   out = out or {}
   prefix = prefix or ""
   for _, k in ipairs(self._params) do
      out[#out + 1] = { name = prefix .. k, module = self, key = k, tensor = self[k] }
   end
   for _, c in ipairs(self._children) do self[c]:named_parameters(prefix .. c .. ".", out) end
   return out
end

function Module:parameters()
   local list = {}
   for i, p in ipairs(self:named_parameters()) do list[i] = p.tensor end
   return list
end

function Module:num_parameters()
   local n = 0
   for _, p in ipairs(self:named_parameters()) do n = n + p.tensor:numel() end
   return n
end

function Module:named_buffers(prefix, out)
   out = out or {}
   prefix = prefix or ""
   for _, k in ipairs(self._buffers) do out[#out + 1] = { name = prefix .. k, tensor = self[k] } end
   for _, c in ipairs(self._children) do self[c]:named_buffers(prefix .. c .. ".", out) end
   return out
end

function Module:train(flag)
   if flag == nil then flag = true end
   self.training = flag
   for _, c in ipairs(self._children) do self[c]:train(flag) end
   return self
end

function Module:eval() return self:train(false) end

function Module:describe()
   return getmetatable(self).__name:gsub("^deepobs%.nn%.", "")
end

function Module:forward()
   error(self:describe() .. ": forward is not implemented", 2)
end

---------------------------------------------------------------------------------------
-- containers

local Sequential = class("Sequential", Module)

function Sequential:__init(...)
   local mods = select("#", ...) == 1 and type(...) == "table" and getmetatable(...) == nil and ... or { ... }
   self.n = 0
   for _, m in ipairs(mods) do self:add(m) end
end

function Sequential:add(m)
   self.n = self.n + 1
   self:child(tostring(self.n), m)
   return self
end

function Sequential:get(i) return self[tostring(i)] end

function Sequential:forward(x)
   for i = 1, self.n do x = self[tostring(i)]:forward(x) end
   return x
end

function Sequential:describe()
   local lines = { "Sequential {" }
   for i = 1, self.n do
      lines[#lines + 1] = ("  (%d): %s"):format(i, (self[tostring(i)]:describe():gsub("\n", "\n  ")))
   end
   lines[#lines + 1] = "}"
   return table.concat(lines, "\n")
end

---------------------------------------------------------------------------------------
-- layers

local function opt(o, k, default)
   if o == nil or o[k] == nil then return default end
   return o[k]
end

-- registers weight (of shape wshape) and, unless o.bias == false, a bias of
-- nbias elements, filled by o.weight_init / o.bias_init (TF defaults)
local function weight_and_bias(self, wshape, nbias, o)
   opt(o, "weight_init", init.glorot_uniform_)(self:param("weight", dob_ops.empty(wshape)))
   if opt(o, "bias", true) then
      opt(o, "bias_init", init.zeros_)(self:param("bias", dob_ops.zeros(nbias)))
   end
end

local Linear = class("Linear", Module)

function Linear:__init(nin, nout, o)
   self.nin, self.nout = nin, nout
   weight_and_bias(self, { nout, nin }, nout, o)
end

function Linear:forward(x) return F.linear(x, self.weight, self.bias) end

function Linear:describe() return ("Linear(%d -> %d%s)"):format(self.nin, self.nout, self.bias and "" or ", no bias") end

local function pair(v) if type(v) == "table" then return v[1], v[2] end return v, v end

local Conv2d = class("Conv2d", Module)

--- Conv2d(in, out, kernel, {stride=1, padding=0|"SAME"|"VALID"|{t,b,l,r}, bias=true,
-- weight_init=, bias_init=})
function Conv2d:__init(cin, cout, k, o)
   self.cin, self.cout = cin, cout
   self.kh, self.kw = pair(k)
   self.stride = opt(o, "stride", 1)
   self.padding = opt(o, "padding", 0)
   weight_and_bias(self, { cout, cin, self.kh, self.kw }, cout, o)
end

function Conv2d:forward(x)
   return F.conv2d(x, self.weight, self.bias, { stride = self.stride, padding = self.padding })
end

function Conv2d:describe()
   return ("Conv2d(%d -> %d, %dx%d, stride %s, padding %s%s)"):format(self.cin, self.cout, self.kh, self.kw,
      tostring(self.stride), type(self.padding) == "table" and table.concat(self.padding, ",") or tostring(self.padding),
      self.bias and "" or ", no bias")
end

local ConvTranspose2d = class("ConvTranspose2d", Module)

--- ConvTranspose2d(in, out, kernel, {stride=1, padding=0|"SAME"|{t,b,l,r}, bias=true})
-- weight [in, out, kh, kw] as in PyTorch. TF's conv2d_transpose kernel is
-- [kh, kw, out, in], so Glorot fans are the same either way.
function ConvTranspose2d:__init(cin, cout, k, o)
   self.cin, self.cout = cin, cout
   self.kh, self.kw = pair(k)
   self.stride = opt(o, "stride", 1)
   self.padding = opt(o, "padding", 0)
   weight_and_bias(self, { cin, cout, self.kh, self.kw }, cout, o)
end

function ConvTranspose2d:forward(x)
   return F.conv_transpose2d(x, self.weight, self.bias, { stride = self.stride, padding = self.padding })
end

local MaxPool2d = class("MaxPool2d", Module)

function MaxPool2d:__init(k, o)
   self.kernel = k
   self.stride = opt(o, "stride", k)
   self.padding = opt(o, "padding", 0)
end

function MaxPool2d:forward(x)
   return F.max_pool2d(x, { kernel = self.kernel, stride = self.stride, padding = self.padding })
end

local AvgPool2d = class("AvgPool2d", Module)

function AvgPool2d:__init(k, o)
   self.kernel = k
   self.stride = opt(o, "stride", k)
   self.padding = opt(o, "padding", 0)
   self.count_include_pad = opt(o, "count_include_pad", false)
end

function AvgPool2d:forward(x)
   return F.avg_pool2d(x, { kernel = self.kernel, stride = self.stride, padding = self.padding,
      count_include_pad = self.count_include_pad })
end

local BatchNorm = class("BatchNorm2d", Module)
nn.BatchNorm1d = nn.BatchNorm2d

--- BatchNorm2d(C, {momentum=0.1 (PyTorch convention: weight of the new batch;
-- TF's momentum m is 1 - m here), eps=1e-5, affine=true})
function BatchNorm:__init(c, o)
   self.c = c
   self.momentum = opt(o, "momentum", 0.1)
   self.eps = opt(o, "eps", 1e-5)
   if opt(o, "affine", true) then
      self:param("weight", dob_ops.ones(c))
      self:param("bias", dob_ops.zeros(c))
   end
   self:buffer("running_mean", dob_ops.zeros(c))
   self:buffer("running_var", dob_ops.ones(c))
end

function BatchNorm:forward(x)
   return F.batch_norm(x, self.weight, self.bias, self.running_mean, self.running_var,
      self.training, self.momentum, self.eps)
end

local Dropout = class("Dropout", Module)

--- Dropout(p): p is the probability of dropping (TF's `rate`).
function Dropout:__init(p) self.p = p or 0.5 end
function Dropout:forward(x) return F.dropout(x, self.p, self.training) end
function Dropout:describe() return ("Dropout(%g)"):format(self.p) end

local Embedding = class("Embedding", Module)

function Embedding:__init(n, d, o)
   self.n, self.d = n, d
   local w = self:param("weight", dob_ops.empty(n, d))
   opt(o, "weight_init", init.glorot_uniform_)(w)
end

function Embedding:forward(idx) return F.embedding(self.weight, idx) end

local LayerNorm = class("LayerNorm", Module)

function LayerNorm:__init(shape, o)
   if type(shape) == "number" then shape = { shape } end
   self.shape = shape
   self.eps = opt(o, "eps", 1e-5)
   if opt(o, "affine", true) then
      self:param("weight", dob_ops.ones(shape))
      self:param("bias", dob_ops.zeros(shape))
   end
end

function LayerNorm:forward(x)
   return F.layer_norm(x, #self.shape, self.weight, self.bias, self.eps)
end

local LSTM = class("LSTM", Module)

--- LSTM(input_size, hidden_size, {forget_bias=0, bias=true}): one layer over
-- x [T, B, I]; forward(x, h0, c0) returns outputs [T, B, H], hn, cn. Gates
-- are stacked [i, f, g, o]; w_ih [4H, I], w_hh [4H, H], one bias [4H].
function LSTM:__init(nin, nh, o)
   self.nin, self.nh = nin, nh
   self.forget_bias = opt(o, "forget_bias", 0)
   local wi = self:param("w_ih", dob_ops.empty(4 * nh, nin))
   local wh = self:param("w_hh", dob_ops.empty(4 * nh, nh))
   opt(o, "weight_init", init.glorot_uniform_)(wi)
   opt(o, "weight_init", init.glorot_uniform_)(wh)
   if opt(o, "bias", true) then self:param("bias", dob_ops.zeros(4 * nh)) end
end

function LSTM:forward(x, h0, c0)
   return F.lstm(x, self.w_ih, self.w_hh, self.bias, h0, c0, self.forget_bias)
end

---------------------------------------------------------------------------------------
-- parameter-free layers

local function simple(name, fn)
   local c = class(name, Module)
   c.forward = function(_, x) return fn(x) end
   return c
end

simple("ReLU", function(x) return x:relu() end)
simple("Tanh", function(x) return x:tanh() end)
simple("Sigmoid", function(x) return x:sigmoid() end)
simple("GELU", function(x) return x:gelu() end)
simple("Softplus", function(x) return x:softplus() end)
simple("Identity", function(x) return x end)

local LeakyReLU = class("LeakyReLU", Module)
function LeakyReLU:__init(slope) self.slope = slope or 0.01 end
function LeakyReLU:forward(x) return x:leaky_relu(self.slope) end

local ELU = class("ELU", Module)
function ELU:__init(alpha) self.alpha = alpha or 1 end
function ELU:forward(x) return x:elu(self.alpha) end

local Flatten = class("Flatten", Module)
--- Flatten(): [N, ...] -> [N, prod(...)]
function Flatten:forward(x) return x:reshape(x:size(1), -1) end

local Reshape = class("Reshape", Module)
--- Reshape(...): keeps the batch dim, reshapes the rest
function Reshape:__init(...) self.shape = { ... } end
function Reshape:forward(x)
   local s = { x:size(1) }
   for i, v in ipairs(self.shape) do s[i + 1] = v end
   return x:reshape(s)
end

local Lambda = class("Lambda", Module)
--- Lambda(fn): wraps a function of the input
function Lambda:__init(fn) self.fn = fn end
function Lambda:forward(x) return self.fn(x) end

nn.ParamSet = require "deepobs.params"
nn.init = init

return nn
