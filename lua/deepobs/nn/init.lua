--- deepobs.nn: layers with named parameters and train/eval modes.
--
-- A module is a table with `forward(self, x)` (also callable as `m(x)`),
-- parameters registered with `self:param(name, tensor)`, buffers (running
-- statistics) with `self:buffer(name, tensor)`, and children with
-- `self:child(name, module)`. Weights follow PyTorch layouts (Linear [out, in],
-- Conv2d [out, in, kh, kw]); default initialisers follow TensorFlow 1, as
-- DeepOBS does: Glorot-uniform kernels and zero biases.
local dob_ops = require "deepobs.tensor"
local A = require "deepobs.argcheck"
local init = require "deepobs.init_schemes"
local deprecated = require "deepobs.deprecated"
local doc = require "deepobs.doc"

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
   local function construct(_, ...)
      local self = setmetatable({ _params = {}, _buffers = {}, _children = {}, training = true }, c)
      self:__init(...)
      return self
   end
   A.name_function(construct, name)
   nn[name] = setmetatable({}, { __index = c, __call = construct })
   return c
end
nn.class = class

---------------------------------------------------------------------------------------
-- Module

local Module = class("Module")
nn.Module = Module

function Module:__init() end

--- m:param(name, t): registers tensor t as parameter name (m[name] = t, now requiring grad); returns t
function Module:param(name, t)
   A.string("param", "name", name)
   if not dob_ops.is_tensor(t) then A.wrong("param", "tensor", "a deepobs Tensor", t) end
   self[name] = t:requires_grad_()
   self._params[#self._params + 1] = name
   return t
end

--- m:buffer(name, t): registers tensor t as buffer name (state such as running statistics, no grad); returns t
function Module:buffer(name, t)
   A.string("buffer", "name", name)
   if not dob_ops.is_tensor(t) then A.wrong("buffer", "tensor", "a deepobs Tensor", t) end
   self[name] = t
   self._buffers[#self._buffers + 1] = name
   return t
end

local function is_module(m)
   local mt = type(m) == "table" and getmetatable(m)
   return type(mt) == "table" and type(rawget(mt, "__name")) == "string" and rawget(mt, "__name"):match("^deepobs%.nn%.") ~= nil
end

--- m:child(name, module): registers module as child name (m[name]); its parameters become m's; returns module
function Module:child(name, m)
   A.string("child", "name", name)
   if not is_module(m) then A.wrong("child", "module", "a deepobs.nn module", m) end
   self[name] = m
   self._children[#self._children + 1] = name
   return m
end

-- An entry of named_parameters / named_buffers: { name =, value =, module =, key = }, the
-- tensor under `value` as in ParamSet's entries; `tensor`, its name before deepobs 0.1, is
-- still read with a warning.
local Entry = {
   __index = function(e, k)
      if k == "tensor" then
         deprecated.warn("entry.tensor of named_parameters()/named_buffers()", "entry.value (as ParamSet's)")
         return rawget(e, "value")
      end
   end,
}

-- The list of entries, also an iterator of (name, tensor) pairs as PyTorch's:
-- `for name, p in m:named_parameters() do ... end`, or `ipairs(...)` over the entries.
local function entry_list(entries)
   local i = 0
   return setmetatable(entries, { __call = function()
      i = i + 1
      local e = entries[i]
      if e then return e.name, e.value end
   end })
end

local function collect(self, list_key, prefix, out)
   for _, k in ipairs(self[list_key]) do
      out[#out + 1] = setmetatable({ name = prefix .. k, module = self, key = k, value = self[k] }, Entry)
   end
   for _, c in ipairs(self._children) do collect(self[c], list_key, prefix .. c .. ".", out) end
   return out
end

--- m:named_parameters(prefix): the parameters as entries { name, value, module, key }, also an iterator of (name, tensor)
-- Every parameter of this module and its children, in registration order: a list of
-- { name = "conv1.weight", value = t, module = m, key = "weight" } that is also an iterator,
-- `for name, p in m:named_parameters() do`. prefix (optional) goes before every name.
function Module:named_parameters(prefix)
   prefix = prefix == nil and "" or A.string("named_parameters", "prefix", prefix)
   return entry_list(collect(self, "_params", prefix, {}))
end

--- m:parameters(): the parameter tensors, a list in the order of named_parameters
function Module:parameters()
   local list = {}
   for i, p in ipairs(self:named_parameters()) do list[i] = p.value end
   return list
end

--- m:num_parameters(): the number of parameter elements
function Module:num_parameters()
   local n = 0
   for _, p in ipairs(self:named_parameters()) do n = n + p.value:numel() end
   return n
end

--- m:zero_grad(): zeroes every parameter's gradient; returns m
-- Sets the gradient of every parameter that has one to zero (as PyTorch 1.13's
-- zero_grad(set_to_none=False)); returns the module.
function Module:zero_grad()
   for _, p in ipairs(self:named_parameters()) do
      local g = p.value:grad()
      if g then g:zero_() end
   end
   return self
end

--- m:named_buffers(prefix): the buffers as entries { name, value, module, key }, as named_parameters
-- Every buffer (running statistics) of this module and its children, as named_parameters.
function Module:named_buffers(prefix)
   prefix = prefix == nil and "" or A.string("named_buffers", "prefix", prefix)
   return entry_list(collect(self, "_buffers", prefix, {}))
end

--- m:train(flag): sets training mode (flag default true) on m and its children; returns m
-- m.training is read by Dropout and BatchNorm.
function Module:train(flag)
   flag = A.flag("train", "flag", flag, true)
   self.training = flag
   for _, c in ipairs(self._children) do self[c]:train(flag) end
   return self
end

--- m:eval(): m:train(false), evaluation mode; returns m
function Module:eval() return self:train(false) end

--- m:describe(): the text the module prints as (tostring(m)); here the class name
function Module:describe()
   return getmetatable(self).__name:gsub("^deepobs%.nn%.", "")
end

--- m:forward(x): the module's output for input x; also m(x)
-- Each layer defines it; the base class raises an error.
function Module:forward()
   A.fail(self:describe(), "forward is not implemented")
end

---------------------------------------------------------------------------------------
-- containers

local Sequential = class("Sequential", Module)

--- nn.Sequential(m1, m2, ...): the modules applied in order (or one list of them)
function Sequential:__init(...)
   local mods = select("#", ...) == 1 and type(...) == "table" and getmetatable(...) == nil and ... or { ... }
   self.n = 0
   for _, m in ipairs(mods) do self:add(m) end
end

--- seq:add(module): appends module (child "1", "2", ...); returns seq
function Sequential:add(m)
   if not is_module(m) then A.wrong("Sequential:add", "module", "a deepobs.nn module", m) end
   self.n = self.n + 1
   self:child(tostring(self.n), m)
   return self
end

--- seq:get(i): the i-th module (1-based)
function Sequential:get(i) return self[tostring(A.int("Sequential:get", "i", i, 1, self.n))] end

--- seq:forward(x): x through every module in order
function Sequential:forward(x)
   for i = 1, self.n do x = self[tostring(i)]:forward(x) end
   return x
end

--- seq:describe(): the modules, one a line, as Torch7's Sequential prints
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

-- the options table of constructor op: nil or a plain table
local function options(op, o) return A.table(op, "options", o, {}) end

-- a module's input: a tensor
local function input(op, x)
   if not dob_ops.is_tensor(x) then A.wrong(op, "input", "a deepobs Tensor", x) end
   return x
end

-- a kernel size: an integer >= 1 or a pair { kh, kw } of them
local function kernel_of(op, k)
   if type(k) == "table" and getmetatable(k) == nil and #k == 2 then
      return A.int(op, "kernel[1]", k[1], 1, A.INT_MAX), A.int(op, "kernel[2]", k[2], 1, A.INT_MAX)
   end
   if type(k) ~= "number" then A.wrong(op, "kernel", "an integer >= 1 or a pair {kh, kw}", k) end
   k = A.int(op, "kernel", k, 1, A.INT_MAX)
   return k, k
end

-- the activation option of a layer that can fuse one: nil (none) or "relu"; the C code is
-- checked here so a bad value fails when the layer is made
local function activation_of(op, o)
   local v = opt(o, "activation", nil)
   dob_ops.activation(op, "options.activation", v)
   return v ~= "none" and v or nil
end

-- ", relu" in a layer's description when it applies one
local function activation_text(self) return self.activation and ", " .. self.activation or "" end

-- an initialiser option: a function of the tensor
local function initialiser(op, o, k, default)
   local f = opt(o, k, default)
   if type(f) ~= "function" then A.wrong(op, "options." .. k, "a function (an initialiser)", f) end
   return f
end

-- registers weight (of shape wshape) and, unless o.bias == false, a bias of
-- nbias elements, filled by o.weight_init / o.bias_init (TF defaults)
local function weight_and_bias(self, op, wshape, nbias, o)
   local winit = initialiser(op, o, "weight_init", init.glorot_uniform_)
   local binit = initialiser(op, o, "bias_init", init.zeros_)
   winit(self:param("weight", dob_ops.empty(wshape)))
   if A.flag(op, "options.bias", opt(o, "bias", true)) then binit(self:param("bias", dob_ops.zeros(nbias))) end
end

local Linear = class("Linear", Module)

--- nn.Linear(in, out, opts): the dense layer x W^T + b, weight [out, in], bias [out]
-- opts: bias = true, weight_init (default nn.init.glorot_uniform_), bias_init (zeros_),
-- activation = "relu" (relu(x W^T + b) in one op, as Linear followed by ReLU) or "none".
function Linear:__init(nin, nout, o)
   o = options("Linear", o)
   self.nin, self.nout = A.int("Linear", "in", nin, 1), A.int("Linear", "out", nout, 1)
   self.activation = activation_of("Linear", o)
   weight_and_bias(self, "Linear", { nout, nin }, nout, o)
end

--- linear:forward(x): dob.linear(x, weight, bias, { activation }), [..., in] -> [..., out]
function Linear:forward(x)
   return F.linear(input("Linear", x), self.weight, self.bias, { activation = self.activation })
end

--- linear:describe(): "Linear(in -> out)", with ", no bias" and ", relu" where they apply
function Linear:describe()
   return ("Linear(%d -> %d%s%s)"):format(self.nin, self.nout, self.bias and "" or ", no bias", activation_text(self))
end

local Conv2d = class("Conv2d", Module)

--- nn.Conv2d(in, out, kernel, opts): 2-D convolution, weight [out, in, kh, kw], bias [out]
-- kernel a number or {kh, kw}; opts: stride = 1, padding = 0 | "SAME" | "VALID" | {t, b, l, r},
-- bias = true, weight_init (glorot_uniform_), bias_init (zeros_), activation = "relu" (relu of
-- the convolution in one op, as Conv2d followed by ReLU) or "none".
function Conv2d:__init(cin, cout, k, o)
   o = options("Conv2d", o)
   self.cin, self.cout = A.int("Conv2d", "in", cin, 1), A.int("Conv2d", "out", cout, 1)
   self.kh, self.kw = kernel_of("Conv2d", k)
   self.stride = opt(o, "stride", 1)
   self.padding = opt(o, "padding", 0)
   self.activation = activation_of("Conv2d", o)
   weight_and_bias(self, "Conv2d", { cout, cin, self.kh, self.kw }, cout, o)
end

--- conv:forward(x): x:conv2d(weight, bias, { stride, padding, activation }), x [N, in, H, W]
function Conv2d:forward(x)
   return F.conv2d(input("Conv2d", x), self.weight, self.bias, { stride = self.stride, padding = self.padding,
      activation = self.activation })
end

--- conv:describe(): "Conv2d(in -> out, KHxKW, stride s, padding p)", with ", no bias" and ", relu" where they apply
function Conv2d:describe()
   return ("Conv2d(%d -> %d, %dx%d, stride %s, padding %s%s%s)"):format(self.cin, self.cout, self.kh, self.kw,
      tostring(self.stride), type(self.padding) == "table" and table.concat(self.padding, ",") or tostring(self.padding),
      self.bias and "" or ", no bias", activation_text(self))
end

local ConvTranspose2d = class("ConvTranspose2d", Module)

--- nn.ConvTranspose2d(in, out, kernel, opts): 2-D transposed convolution, weight [in, out, kh, kw]
-- opts: stride = 1, padding = 0 | "SAME" | {t, b, l, r}, bias = true, weight_init, bias_init,
-- activation = "relu" (as Conv2d's) or "none".
-- TF's conv2d_transpose kernel is [kh, kw, out, in], so Glorot fans are the same either way.
function ConvTranspose2d:__init(cin, cout, k, o)
   o = options("ConvTranspose2d", o)
   self.cin, self.cout = A.int("ConvTranspose2d", "in", cin, 1), A.int("ConvTranspose2d", "out", cout, 1)
   self.kh, self.kw = kernel_of("ConvTranspose2d", k)
   self.stride = opt(o, "stride", 1)
   self.padding = opt(o, "padding", 0)
   self.activation = activation_of("ConvTranspose2d", o)
   weight_and_bias(self, "ConvTranspose2d", { cin, cout, self.kh, self.kw }, cout, o)
end

--- convt:forward(x): x:conv_transpose2d(weight, bias, { stride, padding, activation })
function ConvTranspose2d:forward(x)
   return F.conv_transpose2d(input("ConvTranspose2d", x), self.weight, self.bias, { stride = self.stride,
      padding = self.padding, activation = self.activation })
end

--- convt:describe(): "ConvTranspose2d(in -> out, KHxKW, stride s, padding p)", with ", relu" when it applies one
function ConvTranspose2d:describe()
   return ("ConvTranspose2d(%d -> %d, %dx%d, stride %s, padding %s%s%s)"):format(self.cin, self.cout, self.kh,
      self.kw, tostring(self.stride), type(self.padding) == "table" and table.concat(self.padding, ",")
      or tostring(self.padding), self.bias and "" or ", no bias", activation_text(self))
end

local MaxPool2d = class("MaxPool2d", Module)

--- nn.MaxPool2d(kernel, opts): max pooling; opts: stride (default the kernel), padding = 0 | "SAME" | ...
function MaxPool2d:__init(k, o)
   o = options("MaxPool2d", o)
   kernel_of("MaxPool2d", k)
   self.kernel = k
   self.stride = opt(o, "stride", k)
   self.padding = opt(o, "padding", 0)
end

--- pool:forward(x): x:max_pool2d{ kernel, stride, padding }
function MaxPool2d:forward(x)
   return F.max_pool2d(input("MaxPool2d", x), { kernel = self.kernel, stride = self.stride, padding = self.padding })
end

local AvgPool2d = class("AvgPool2d", Module)

--- nn.AvgPool2d(kernel, opts): average pooling; opts: stride (default the kernel), padding = 0, count_include_pad = false
function AvgPool2d:__init(k, o)
   o = options("AvgPool2d", o)
   kernel_of("AvgPool2d", k)
   self.kernel = k
   self.stride = opt(o, "stride", k)
   self.padding = opt(o, "padding", 0)
   self.count_include_pad = opt(o, "count_include_pad", false)
end

--- pool:forward(x): x:avg_pool2d{ kernel, stride, padding, count_include_pad }
function AvgPool2d:forward(x)
   return F.avg_pool2d(input("AvgPool2d", x), { kernel = self.kernel, stride = self.stride, padding = self.padding,
      count_include_pad = self.count_include_pad })
end

local BatchNorm = class("BatchNorm2d", Module)
nn.BatchNorm1d = nn.BatchNorm2d

--- nn.BatchNorm2d(channels, opts), nn.BatchNorm1d(channels, opts): batch normalisation of [N,C,H,W] or [N,C]
-- opts: momentum = 0.1 (PyTorch's convention, the weight of the new batch; TF's momentum m is
-- 1 - m here), eps = 1e-5, affine = true (parameters weight and bias [C]), activation = "relu"
-- (relu of the normalised output in one op, as BatchNorm2d followed by ReLU) or "none". Buffers
-- running_mean, running_var; training mode uses batch statistics and updates them.
function BatchNorm:__init(c, o)
   o = options("BatchNorm2d", o)
   self.c = A.int("BatchNorm2d", "channels", c, 1)
   self.activation = activation_of("BatchNorm2d", o)
   self.momentum = A.range("BatchNorm2d", "options.momentum", opt(o, "momentum", 0.1), 0, 1)
   self.eps = A.finite("BatchNorm2d", "options.eps", opt(o, "eps", 1e-5))
   if not (self.eps > 0) then A.wrong("BatchNorm2d", "options.eps", "a positive number", self.eps) end
   if A.flag("BatchNorm2d", "options.affine", opt(o, "affine", true)) then
      self:param("weight", dob_ops.ones(c))
      self:param("bias", dob_ops.zeros(c))
   end
   self:buffer("running_mean", dob_ops.zeros(c))
   self:buffer("running_var", dob_ops.ones(c))
end

--- bn:forward(x): x:batch_norm(...) with the module's parameters, running statistics, mode and activation
function BatchNorm:forward(x)
   return F.batch_norm(input("BatchNorm2d", x), self.weight, self.bias, self.running_mean, self.running_var,
      self.training, self.momentum, self.eps, self.activation)
end

--- bn:describe(): "BatchNorm2d(C)", with ", relu" when it applies one
function BatchNorm:describe() return ("BatchNorm2d(%d%s)"):format(self.c, activation_text(self)) end

local Dropout = class("Dropout", Module)

--- nn.Dropout(p): zeroes each element with probability p (default 0.5; TF's `rate`) in training mode
function Dropout:__init(p)
   self.p = A.range("Dropout", "p", p, 0, 1, 0.5)
   if self.p == 1 then A.wrong("Dropout", "p", "a probability in [0, 1) (1 drops everything)", p) end
end
--- dropout:forward(x): x:dropout(p, training); the identity in evaluation mode
function Dropout:forward(x) return F.dropout(input("Dropout", x), self.p, self.training) end
--- dropout:describe(): "Dropout(p)"
function Dropout:describe() return ("Dropout(%g)"):format(self.p) end

local Embedding = class("Embedding", Module)

--- nn.Embedding(n, dim, opts): a lookup table weight [n, dim]; opts.weight_init (glorot_uniform_)
function Embedding:__init(n, d, o)
   o = options("Embedding", o)
   self.n, self.d = A.int("Embedding", "n", n, 1), A.int("Embedding", "dim", d, 1)
   local winit = initialiser("Embedding", o, "weight_init", init.glorot_uniform_)
   winit(self:param("weight", dob_ops.empty(n, d)))
end

--- emb:forward(idx): the rows of weight at idx (int64, 0-based) -> [..., dim]
function Embedding:forward(idx) return F.embedding(self.weight, input("Embedding", idx)) end

local LayerNorm = class("LayerNorm", Module)

--- nn.LayerNorm(shape, opts): normalisation over the trailing dims of shape (a size or a table)
-- opts: eps = 1e-5, affine = true (weight and bias of that shape).
function LayerNorm:__init(shape, o)
   o = options("LayerNorm", o)
   if type(shape) == "number" then shape = { shape } end
   if type(shape) ~= "table" or getmetatable(shape) ~= nil or #shape == 0 then
      A.wrong("LayerNorm", "shape", "a size or a non-empty table of sizes", shape)
   end
   for i = 1, #shape do A.int("LayerNorm", ("shape[%d]"):format(i), shape[i], 1) end
   self.shape = shape
   self.eps = A.finite("LayerNorm", "options.eps", opt(o, "eps", 1e-5))
   if not (self.eps > 0) then A.wrong("LayerNorm", "options.eps", "a positive number", self.eps) end
   if A.flag("LayerNorm", "options.affine", opt(o, "affine", true)) then
      self:param("weight", dob_ops.ones(shape))
      self:param("bias", dob_ops.zeros(shape))
   end
end

--- ln:forward(x): x:layer_norm(#shape, weight, bias, eps)
function LayerNorm:forward(x)
   return F.layer_norm(input("LayerNorm", x), #self.shape, self.weight, self.bias, self.eps)
end

local LSTM = class("LSTM", Module)

--- nn.LSTM(input_size, hidden_size, opts): one LSTM layer over x [T, B, I]
-- opts: forget_bias = 0, bias = true, weight_init (glorot_uniform_). Gates are stacked
-- [i, f, g, o]; w_ih [4H, I], w_hh [4H, H], one bias [4H].
function LSTM:__init(nin, nh, o)
   o = options("LSTM", o)
   self.nin, self.nh = A.int("LSTM", "input_size", nin, 1), A.int("LSTM", "hidden_size", nh, 1)
   self.forget_bias = A.finite("LSTM", "options.forget_bias", opt(o, "forget_bias", 0))
   local winit = initialiser("LSTM", o, "weight_init", init.glorot_uniform_)
   local wi = self:param("w_ih", dob_ops.empty(4 * nh, nin))
   local wh = self:param("w_hh", dob_ops.empty(4 * nh, nh))
   winit(wi)
   winit(wh)
   if A.flag("LSTM", "options.bias", opt(o, "bias", true)) then self:param("bias", dob_ops.zeros(4 * nh)) end
end

--- lstm:forward(x, h0, c0): dob.lstm over x [T, B, I] -> outputs [T, B, H], hn, cn [B, H] (h0, c0 nil: zeros)
function LSTM:forward(x, h0, c0)
   return F.lstm(input("LSTM", x), self.w_ih, self.w_hh, self.bias, h0, c0, self.forget_bias)
end

---------------------------------------------------------------------------------------
-- parameter-free layers

local function simple(name, fn)
   local c = class(name, Module)
   c.forward = function(_, x) return fn(input(name, x)) end
   return c
end

simple("ReLU", function(x) return x:relu() end)
simple("Tanh", function(x) return x:tanh() end)
simple("Sigmoid", function(x) return x:sigmoid() end)
simple("GELU", function(x) return x:gelu() end)
simple("Softplus", function(x) return x:softplus() end)
simple("Identity", function(x) return x end)
-- (these classes share one constructor and one forward line, so their docs are registered)
for name, what in pairs { ReLU = "x:relu()", Tanh = "x:tanh()", Sigmoid = "x:sigmoid()", GELU = "x:gelu()",
   Softplus = "x:softplus()", Identity = "x itself" } do
   doc.register(nn[name], ("nn.%s(): a layer without parameters whose output is %s"):format(name, what))
   doc.register(getmetatable(nn[name]).__index.forward, ("%s:forward(x): %s"):format(name:lower(), what))
end

local LeakyReLU = class("LeakyReLU", Module)
--- nn.LeakyReLU(slope): x where x > 0, else slope * x (slope default 0.01)
function LeakyReLU:__init(slope) self.slope = A.finite("LeakyReLU", "slope", slope, 0.01) end
--- lrelu:forward(x): x:leaky_relu(slope)
function LeakyReLU:forward(x) return input("LeakyReLU", x):leaky_relu(self.slope) end

local ELU = class("ELU", Module)
--- nn.ELU(alpha): x where x > 0, else alpha * (e^x - 1) (alpha default 1)
function ELU:__init(alpha) self.alpha = A.finite("ELU", "alpha", alpha, 1) end
--- elu:forward(x): x:elu(alpha)
function ELU:forward(x) return input("ELU", x):elu(self.alpha) end

local Flatten = class("Flatten", Module)
doc.register(nn.Flatten, "nn.Flatten(): a layer that keeps the batch dim and flattens the rest, [N, ...] -> [N, prod(...)]")
--- flatten:forward(x): [N, ...] -> [N, prod(...)]
function Flatten:forward(x)
   input("Flatten", x)
   if x:dim() == 0 then A.fail("Flatten", "input must have a batch dim, got a 0-dim tensor") end
   return x:reshape(x:size(1), -1)
end

local Reshape = class("Reshape", Module)
--- nn.Reshape(size1, size2, ...): keeps the batch dim, reshapes the rest to the sizes (one may be -1)
function Reshape:__init(...)
   self.shape = { ... }
   for i = 1, select("#", ...) do
      local v = self.shape[i]
      if type(v) ~= "number" or v % 1 ~= 0 or (v < 1 and v ~= -1) then
         A.wrong("Reshape", ("size %d"):format(i), "an integer >= 1 or -1", v)
      end
   end
end
--- reshape:forward(x): x:reshape(N, size1, size2, ...)
function Reshape:forward(x)
   input("Reshape", x)
   if x:dim() == 0 then A.fail("Reshape", "input must have a batch dim, got a 0-dim tensor") end
   local s = { x:size(1) }
   for i, v in ipairs(self.shape) do s[i + 1] = v end
   return x:reshape(s)
end

local Lambda = class("Lambda", Module)
--- nn.Lambda(fn): a layer whose forward is fn(x) (no parameters)
function Lambda:__init(fn) self.fn = A.callable("Lambda", "fn", fn) end
--- lambda:forward(x): fn(x)
function Lambda:forward(x) return self.fn(x) end

nn.ParamSet = require "deepobs.params"
nn.init = init

return nn
