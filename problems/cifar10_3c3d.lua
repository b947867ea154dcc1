--- cifar10_3c3d: DeepOBS's deepobs/tensorflow/testproblems/cifar10_3c3d.py (network: _3c3d.py).
local A = require "problems._arch"
local convnets = require "problems._convnets"
local define = require "problems._define"

-- the problem apart from its dataset (svhn_3c3d shares it)
local SUMMARY = "3 conv (5x5 64 VALID, 3x3 96 VALID, 3x3 128 SAME; ReLU; 3x3/2 SAME max pool each) + 3 dense "
   .. "(512, 256 ReLU, 10) layers, glorot-normal conv / glorot-uniform dense kernels, zero biases, cross-entropy, "
   .. "weight decay on all 6 kernels; 895,210 parameters"

return define({
   name = "cifar10_3c3d",
   dataset = "cifar10",
   batch_size = 128, num_epochs = 100,
   weight_decay = 0.002,
   has_accuracy = true,
   description = "CIFAR-10, " .. SUMMARY .. " (benchmark P4)",
   build = function(opts) return convnets.c3d3(10, opts.weight_decay) end,
   forward = A.classify,
}, { summary = SUMMARY })
