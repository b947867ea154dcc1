--- The network builders of the image-classification problems (3c3d, All-CNN-C,
-- Wide ResNet, VGG, the fork's VGG-BN, Inception-v3; the `_*.py` files named below
-- are in deepobs/tensorflow/testproblems/ of the DeepOBS repository) and their
-- weight decay. Each problems/<name>.lua says which builder it uses, with which
-- dataset and how many classes; see problems/_arch.lua for the NCHW layout note.
-- A ReLU right after a conv, dense or BatchNorm layer is that layer's activation
-- option: one op that gives the same numbers and never keeps the pre-activation.
--
--    local convnets = require "problems._convnets"
--    local model = convnets.c3d3(10, 0.002)   -- classes, weight decay
--    model:regularizer()                      -- (wd / 2) * sum of W^2 over its decayed kernels
--
-- Weight decay: TF's regularizer is tf.losses.get_regularization_loss(), the sum,
-- over the kernels a model gives tf.contrib.layers.l2_regularizer(wd), of
-- wd * l2_loss(W) = (wd / 2) * sum W^2. Coverage differs per model and is
-- recorded by each builder in `model.wd_modules` (3c3d: all 6 kernels;
-- All-CNN-C: all 9 convs; WRN: every conv and the final dense; VGG and
-- Inception: convs only). Biases and BatchNorm never decay. The modules are
-- recorded, not their weights, because nn.ParamSet replaces each module's
-- weight by a view into its flat buffer.
local dob = require "deepobs"
local nn = dob.nn
local init = nn.init
local A = require "problems._arch"

local M = {}

local function glorot_normal(t) return init.glorot_normal_(t) end
local function zeros(t) return init.constant_(t, 0.0) end

--- Registers `module.weight` as a decayed kernel of `model`; returns module.
local function decayed(model, module)
   model.wd_modules[#model.wd_modules + 1] = module
   return module
end

--- A model container that records its decayed kernels and the weight decay;
-- model:regularizer() is M.regularizer.
local function regularized(name, wd)
   local m = A.module(name)
   m.wd_modules = {}
   m.weight_decay = wd
   m.regularizer = M.regularizer
   return m
end

--- The kernels the model's weight decay covers (its current weight tensors).
function M.decayed_kernels(model)
   local list = {}
   for i, mod in ipairs(model.wd_modules) do list[i] = mod.weight end
   return list
end

--- The TF regularizer of a model built here: (wd / 2) * sum over its decayed
-- kernels of sum W^2, differentiable; nil when the weight decay is nil or 0.
function M.regularizer(model)
   local wd = model.weight_decay
   if wd == nil or wd == 0 then return nil end
   local total
   for _, mod in ipairs(model.wd_modules) do
      local w = mod.weight
      local s = (w * w):sum()
      total = total and (total + s) or s
   end
   return total * (wd / 2)
end

-- global mean over H and W: [N, C, H, W] -> [N, C]
local function global_mean(x) return x:mean({ 3, 4 }) end

local function describe_children(self, title)
   local lines = { title .. " {" }
   for _, c in ipairs(self._children) do
      lines[#lines + 1] = ("  %s: %s"):format(c, (self[c]:describe():gsub("\n", "\n  ")))
   end
   lines[#lines + 1] = "}"
   return table.concat(lines, "\n")
end

---------------------------------------------------------------------------------------
-- 3c3d (`_3c3d.py`)

--- 32x32x3 -> Conv 5x5 64 VALID ReLU (28) -> MaxPool 3/2 SAME (14) -> Conv 3x3 96
-- VALID ReLU (12) -> MaxPool 3/2 SAME (6) -> Conv 3x3 128 SAME ReLU (6) -> MaxPool
-- 3/2 SAME (3) -> flatten 1152 -> Dense 512 ReLU -> Dense 256 ReLU -> Dense C.
-- Conv kernels glorot_normal, dense kernels glorot_uniform, biases 0; decay on
-- all six kernels. The pools pad 0 before and 1 after (TF SAME at 28, 12, 6).
function M.c3d3(C, wd)
   local m = regularized("3c3d", wd)
   local function conv(cin, cout, k, padding)
      return decayed(m, nn.Conv2d(cin, cout, k, { padding = padding, weight_init = glorot_normal, bias_init = zeros,
         activation = "relu" }))
   end
   local function dense(nin, nout, activation) return decayed(m, A.dense(nin, nout, nil, nil, activation)) end
   local function pool() return nn.MaxPool2d(3, { stride = 2, padding = "SAME" }) end
   m:child("net", nn.Sequential(
      conv(3, 64, 5, "VALID"), pool(),
      conv(64, 96, 3, "VALID"), pool(),
      conv(96, 128, 3, "SAME"), pool(),
      nn.Flatten(),
      dense(3 * 3 * 128, 512, "relu"),
      dense(512, 256, "relu"),
      dense(256, C)))
   function m:forward(x) return self.net(x) end
   function m:describe() return "3c3d " .. self.net:describe() end
   return m
end

---------------------------------------------------------------------------------------
-- All-CNN-C (`cifar100_allcnnc.py`)

--- input dropout 0.2 -> 3x3 96 -> 3x3 96 -> 3x3/2 96 (32 -> 16) -> dropout 0.5 ->
-- 3x3 192 -> 3x3 192 -> 3x3/2 192 (16 -> 8) -> dropout 0.5 -> 3x3 192 VALID (8 -> 6)
-- -> 1x1 192 -> 1x1 C -> global mean. Every conv has a ReLU (the last one too);
-- SAME unless stated; glorot_normal kernels, biases 0.1; decay on all 9 kernels.
function M.allcnnc(C, wd)
   local m = regularized("All-CNN-C", wd)
   local function conv(cin, cout, k, stride, padding)
      return decayed(m, nn.Conv2d(cin, cout, k, { stride = stride, padding = padding or "SAME",
         weight_init = glorot_normal, bias_init = A.constant(0.1), activation = "relu" }))
   end
   m:child("net", nn.Sequential(
      nn.Dropout(0.2),
      conv(3, 96, 3, 1),
      conv(96, 96, 3, 1),
      conv(96, 96, 3, 2),
      nn.Dropout(0.5),
      conv(96, 192, 3, 1),
      conv(192, 192, 3, 1),
      conv(192, 192, 3, 2),
      nn.Dropout(0.5),
      conv(192, 192, 3, 1, "VALID"),
      conv(192, 192, 1, 1),
      conv(192, C, 1, 1),
      nn.Lambda(global_mean)))
   function m:forward(x) return self.net(x) end
   function m:describe() return "All-CNN-C " .. self.net:describe() end
   return m
end

---------------------------------------------------------------------------------------
-- Wide ResNet (`_wrn.py`)

-- TF momentum 0.9 (PyTorch convention: 1 - 0.9); every BN of the WRN is followed by a ReLU
local WRN_BN = { momentum = 0.1, eps = 1e-5, activation = "relu" }

--- WRN-(6n+4)-k: filters [16, 16k, 32k, 64k], strides [1, 2, 2], n units per
-- block. Convs SAME, no bias, Glorot-uniform; BN momentum 0.9 (TF), eps 1e-5.
-- A block's first unit pre-activates (BN, ReLU) and takes the shortcut from the
-- pre-activated input: identity (or max pool when strided) when the widths
-- match, else a 1x1 conv with the block's stride. The other units are
-- x + conv(relu(bn(conv(relu(bn(x)))))). Head: BN, ReLU, global mean, Dense C.
-- Decay on every conv kernel and the dense kernel.
function M.wrn(n, k, C, wd)
   local m = regularized(("WRN-%d-%d"):format(6 * n + 4, k), wd)
   local function conv(cin, cout, ks, stride)
      return decayed(m, nn.Conv2d(cin, cout, ks, { stride = stride, padding = "SAME", bias = false }))
   end
   local filters = { 16, 16 * k, 32 * k, 64 * k }
   local strides = { 1, 2, 2 }
   m:child("conv1", conv(3, 16, 3, 1))
   local units = {}
   for b = 1, 3 do
      local cin, cout, s = filters[b], filters[b + 1], strides[b]
      for u = 1, n do
         local unit = A.module(("unit %d.%d"):format(b, u))
         local uin, us = u == 1 and cin or cout, u == 1 and s or 1
         unit:child("bn1", nn.BatchNorm2d(uin, WRN_BN))
         unit:child("conv1", conv(uin, cout, 3, us))
         unit:child("bn2", nn.BatchNorm2d(cout, WRN_BN))
         unit:child("conv2", conv(cout, cout, 3, 1))
         unit.first = u == 1
         if u == 1 and cin ~= cout then
            unit:child("shortcut", conv(cin, cout, 1, s))
         elseif u == 1 and s ~= 1 then
            unit:child("shortcut", nn.MaxPool2d(s, { stride = s }))
         end
         function unit:forward(x)
            local a = self.bn1(x)   -- bn1 and bn2 apply the ReLU
            local r = self.conv2(self.bn2(self.conv1(a)))
            if not self.first then return x + r end
            return (self.shortcut and self.shortcut(a) or a) + r
         end
         unit.describe = function(self) return describe_children(self, "unit " .. b .. "." .. u) end
         units[#units + 1] = ("unit%d_%d"):format(b, u)
         m:child(units[#units], unit)
      end
   end
   m:child("bn_final", nn.BatchNorm2d(filters[4], WRN_BN))
   m:child("fc", decayed(m, A.dense(filters[4], C)))
   function m:forward(x)
      x = self.conv1(x)
      for _, u in ipairs(units) do x = self[u](x) end
      return self.fc(global_mean(self.bn_final(x)))
   end
   m.describe = function(self) return describe_children(self, ("WRN-%d-%d"):format(6 * n + 4, k)) end
   return m
end

---------------------------------------------------------------------------------------
-- VGG 16 / 19 (`_vgg.py`) and the fork's VGG-BN

local VGG_BLOCKS = {
   [16] = { { 64, 2 }, { 128, 2 }, { 256, 3 }, { 512, 3 }, { 512, 3 } },
   [19] = { { 64, 2 }, { 128, 2 }, { 256, 4 }, { 512, 4 }, { 512, 4 } },
}

--- VGG-16/19: input resized (bilinear, TF1) to 224x224; blocks of 3x3 SAME convs
-- with ReLU, each block closed by MaxPool 2x2/2 SAME -> 7x7x512 -> flatten 25,088
-- -> Dense 4096 ReLU -> dropout -> Dense 4096 ReLU -> dropout -> Dense C.
-- TF (o.bn false): conv kernels glorot_normal, conv biases 0, dense layers
-- Glorot-uniform, dropout 0.5. The fork's VGG-BN (o.bn true, food101_vgg*):
-- BatchNorm after every conv (PyTorch momentum 0.1, eps 1e-5), no conv bias,
-- dropout 0.2. Decay on the conv kernels only, never on the three dense layers.
function M.vgg(depth, C, wd, o)
   o = o or {}
   local title = ("VGG-%d%s"):format(depth, o.bn and "-BN" or "")
   local m = regularized(title, wd)
   local layers = {}
   local cin = 3
   for _, blk in ipairs(VGG_BLOCKS[depth]) do
      local cout, reps = blk[1], blk[2]
      for _ = 1, reps do
         -- the ReLU is the conv's activation, or the BN's when there is one
         layers[#layers + 1] = decayed(m, nn.Conv2d(cin, cout, 3, { padding = "SAME", bias = not o.bn,
            weight_init = glorot_normal, bias_init = zeros, activation = not o.bn and "relu" or nil }))
         if o.bn then layers[#layers + 1] = nn.BatchNorm2d(cout, { momentum = 0.1, eps = 1e-5, activation = "relu" }) end
         cin = cout
      end
      layers[#layers + 1] = nn.MaxPool2d(2, { stride = 2, padding = "SAME" })
   end
   local p = o.bn and 0.2 or 0.5
   layers[#layers + 1] = nn.Flatten()
   for _, l in ipairs { A.dense(7 * 7 * 512, 4096, nil, nil, "relu"), nn.Dropout(p),
      A.dense(4096, 4096, nil, nil, "relu"), nn.Dropout(p), A.dense(4096, C) } do
      layers[#layers + 1] = l
   end
   m:child("net", nn.Sequential(layers))
   function m:forward(x)
      if x:size(3) ~= 224 or x:size(4) ~= 224 then x = x:resize_bilinear(224, 224) end
      return self.net(x)
   end
   function m:describe() return ("%s (input resized to 224x224) %s"):format(title, self.net:describe()) end
   return m
end

---------------------------------------------------------------------------------------
-- Inception-v3 (`_inception_v3.py`, `imagenet_inception_v3.py`)

local INCEPTION_BN = { momentum = 1 - 0.9997, eps = 1e-3, activation = "relu" }   -- TF momentum 0.9997

--- conv2d_BN: Conv (no bias, Glorot-uniform, decayed) -> BN -> ReLU, as one module.
local function conv_bn(m, cin, cout, k, stride, padding)
   local c = A.module("conv_bn")
   c:child("conv", decayed(m, nn.Conv2d(cin, cout, k, { stride = stride or 1, padding = padding or "SAME",
      bias = false })))
   c:child("bn", nn.BatchNorm2d(cout, INCEPTION_BN))
   function c:forward(x) return self.bn(self.conv(x)) end   -- the BN applies the ReLU
   local kh, kw = type(k) == "table" and k[1] or k, type(k) == "table" and k[2] or k
   c.describe = function() return ("conv_BN(%d -> %d, %dx%d/%d, %s)"):format(cin, cout, kh, kw, stride or 1,
      padding or "SAME") end
   return c
end

-- a branch: a chain of modules; an inception block: branches concatenated on channels
local function branch(...) return nn.Sequential(...) end
local function block(name, branches)
   local b = A.module(name)
   for i, br in ipairs(branches) do b:child("branch" .. i, br) end
   function b:forward(x)
      local outs = {}
      for i = 1, #branches do outs[i] = self["branch" .. i](x) end
      return dob.cat(outs, 2)
   end
   b.describe = function(self) return describe_children(self, name) end
   return b
end

local function avgpool3() return nn.AvgPool2d(3, { stride = 1, padding = "SAME" }) end   -- TF excludes padding
local function maxpool3s2() return nn.MaxPool2d(3, { stride = 2, padding = "VALID" }) end

--- Inception-v3 for 299x299 inputs (224 crops are resized to 299), C classes,
-- with the auxiliary head on the 17x17x768 map. forward(x) returns the main
-- logits and, in training mode, the auxiliary logits. Decay on every conv kernel.
function M.inception_v3(C, wd)
   local m = regularized("Inception-v3", wd)
   local function cb(...) return conv_bn(m, ...) end
   m:child("stem", nn.Sequential(
      cb(3, 32, 3, 2, "VALID"),        -- 299 -> 149
      cb(32, 32, 3, 1, "VALID"),       -- -> 147
      cb(32, 64, 3, 1, "SAME"),
      maxpool3s2(),                    -- -> 73
      cb(64, 80, 1, 1, "VALID"),
      cb(80, 192, 3, 1, "VALID"),      -- -> 71
      maxpool3s2()))                   -- -> 35
   local function block5(cin, pf, name)
      return block(name, {
         branch(cb(cin, 64, 1)),
         branch(avgpool3(), cb(cin, pf, 1)),
         branch(cb(cin, 48, 1), cb(48, 64, 5)),
         branch(cb(cin, 64, 1), cb(64, 96, 3), cb(96, 96, 3)),
      })
   end
   m:child("mixed_5a", block5(192, 32, "block5a"))     -- 256 channels
   m:child("mixed_5b_0", block5(256, 64, "block5b_0")) -- 288
   m:child("mixed_5b_1", block5(288, 64, "block5b_1")) -- 288
   m:child("mixed_10", block("block10", {               -- 35 -> 17, 768 channels
      branch(maxpool3s2()),
      branch(cb(288, 384, 3, 2, "VALID")),
      branch(cb(288, 64, 1), cb(64, 96, 3), cb(96, 96, 3, 2, "VALID")),
   }))
   local function block6(nf, name)
      return block(name, {
         branch(cb(768, 192, 1)),
         branch(avgpool3(), cb(768, 192, 1)),
         branch(cb(768, nf, 1), cb(nf, nf, { 1, 7 }), cb(nf, 192, { 7, 1 })),
         branch(cb(768, nf, 1), cb(nf, nf, { 7, 1 }), cb(nf, nf, { 1, 7 }), cb(nf, nf, { 7, 1 }),
            cb(nf, 192, { 1, 7 })),
      })
   end
   m:child("mixed_6a", block6(128, "block6a"))
   m:child("mixed_6b", block6(160, "block6b"))
   m:child("mixed_6c", block6(160, "block6c"))
   m:child("mixed_6d", block6(192, "block6d"))
   m:child("aux", nn.Sequential(
      nn.AvgPool2d(5, { stride = 3, padding = "VALID" }),   -- 17 -> 5
      cb(768, 128, 1),
      cb(128, 768, 5, 1, "VALID"),                          -- -> 1
      nn.Flatten(),
      A.dense(768, C)))
   m:child("mixed_d", block("blockD", {                     -- 17 -> 8, 1280 channels
      branch(maxpool3s2()),
      branch(cb(768, 192, 1), cb(192, 192, { 1, 7 }), cb(192, 192, { 7, 1 }), cb(192, 192, 3, 2, "VALID")),
      branch(cb(768, 192, 1), cb(192, 320, 3, 2, "VALID")),
   }))
   -- Block7: the split branches end in a 1x3 and a 3x1 conv side by side
   local function split(name, cin, mid)
      local s = A.module(name)
      s:child("a", cb(cin, mid, { 1, 3 }))
      s:child("b", cb(cin, mid, { 3, 1 }))
      function s:forward(x) return dob.cat({ self.a(x), self.b(x) }, 2) end
      s.describe = function(self) return describe_children(self, name .. " (1x3 || 3x1)") end
      return s
   end
   local function block7(cin, name)
      return block(name, {
         branch(cb(cin, 320, 1)),
         branch(cb(cin, 384, 1), split("split", 384, 384)),
         branch(cb(cin, 448, 1), cb(448, 384, 3), split("split", 384, 384)),
         branch(avgpool3(), cb(cin, 192, 1)),
      })
   end
   m:child("mixed_7a", block7(1280, "block7a"))   -- 2048 channels
   m:child("mixed_7b", block7(2048, "block7b"))
   m:child("head", nn.Sequential(
      nn.AvgPool2d(8, { stride = 8, padding = "VALID" }),   -- 8 -> 1
      nn.Dropout(0.8),                                      -- DeepOBS passes 0.8 as the drop rate
      nn.Flatten(),
      A.dense(2048, C)))
   local trunk = { "mixed_5a", "mixed_5b_0", "mixed_5b_1", "mixed_10", "mixed_6a", "mixed_6b", "mixed_6c", "mixed_6d" }
   function m:forward(x)
      if x:size(3) ~= 299 or x:size(4) ~= 299 then x = x:resize_bilinear(299, 299) end
      x = self.stem(x)
      for _, b in ipairs(trunk) do x = self[b](x) end
      local aux = self.training and self.aux(x) or nil
      x = self.mixed_7b(self.mixed_7a(self.mixed_d(x)))
      return self.head(x), aux
   end
   m.describe = function(self) return describe_children(self, "Inception-v3 (input resized to 299x299)") end
   return m
end

--- Inception-v3 loss: softmax cross-entropy with label smoothing 0.1 on the main
-- logits plus, in the training phase only, 0.4 x the (also smoothed) auxiliary
-- loss; the regularizer; accuracy from the main logits.
function M.inception_forward(model, batch, phase)
   model:train(phase == "train")
   local logits, aux = model(batch.x)
   local smooth = { label_smoothing = 0.1 }
   local losses = dob.softmax_cross_entropy(logits, batch.y, smooth)
   if phase == "train" then
      losses = losses + dob.softmax_cross_entropy(aux, batch.y, smooth) * 0.4
   end
   return losses, model:regularizer(), dob.accuracy(logits, batch.y)
end

return M
