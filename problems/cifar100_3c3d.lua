--- cifar100_3c3d: DeepOBS's deepobs/tensorflow/testproblems/cifar100_3c3d.py (network: _3c3d.py).
local A = require "problems._arch"
local convnets = require "problems._convnets"
local define = require "problems._define"

return define {
   name = "cifar100_3c3d",
   dataset = "cifar100",
   batch_size = nil, num_epochs = nil,
   weight_decay = 0.002,
   has_accuracy = true,
   description = "CIFAR-100, 3 conv (5x5 64 VALID, 3x3 96 VALID, 3x3 128 SAME; ReLU; 3x3/2 SAME max pool each) + 3 dense (512, 256 ReLU, 100) layers, glorot-normal conv / glorot-uniform dense kernels, zero biases, cross-entropy, weight decay on all 6 kernels; 918,340 parameters",
   build = function(opts) return convnets.c3d3(100, opts.weight_decay) end,
   forward = A.classify,
}
