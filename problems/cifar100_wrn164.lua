--- cifar100_wrn164: DeepOBS 1.2's deepobs/tensorflow/testproblems/cifar100_wrn164.py (network: _wrn.py); 1.1 has no such
-- problem, and the batch size and epochs are those its docstring recommends.
local A = require "problems._arch"
local convnets = require "problems._convnets"
local define = require "problems._define"

return define {
   name = "cifar100_wrn164",
   dataset = "cifar100",
   batch_size = 128, num_epochs = 200,
   weight_decay = 5e-4,
   has_accuracy = true,
   description = "CIFAR-100, Wide ResNet 16-4 (3 blocks of 2 pre-activation units, widths 64/128/256, strides 1/2/2, BN momentum 0.9 eps 1e-5, 1x1 conv shortcuts), global mean, dense 100; weight decay on every conv and the dense kernel; 2,772,020 parameters (DeepOBS 1.2 only; batch size / epochs from its docstring)",
   build = function(opts) return convnets.wrn(2, 4, 100, opts.weight_decay) end,
   forward = A.classify,
}
