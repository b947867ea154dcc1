--- cifar100_wrn404: DeepOBS's deepobs/tensorflow/testproblems/cifar100_wrn404.py (network: _wrn.py).
local A = require "problems._arch"
local convnets = require "problems._convnets"
local define = require "problems._define"

return define {
   name = "cifar100_wrn404",
   dataset = "cifar100",
   batch_size = 128, num_epochs = 200,
   weight_decay = 5e-4,
   has_accuracy = true,
   description = "CIFAR-100, Wide ResNet 40-4 (3 blocks of 6 pre-activation units, widths 64/128/256, strides 1/2/2, BN momentum 0.9 eps 1e-5, 1x1 conv shortcuts), global mean, dense 100; weight decay on every conv and the dense kernel; 8,972,340 parameters (batch size / epochs from the docstring)",
   build = function(opts) return convnets.wrn(6, 4, 100, opts.weight_decay) end,
   forward = A.classify,
}
