--- svhn_wrn164: DeepOBS's deepobs/tensorflow/testproblems/svhn_wrn164.py (network: _wrn.py).
local A = require "problems._arch"
local convnets = require "problems._convnets"
local define = require "problems._define"

return define {
   name = "svhn_wrn164",
   dataset = "svhn",
   batch_size = 128, num_epochs = 160,
   weight_decay = 5e-4,
   has_accuracy = true,
   description = "SVHN, Wide ResNet 16-4 (3 blocks of 2 pre-activation units, widths 64/128/256, strides 1/2/2, BN momentum 0.9 eps 1e-5, 1x1 conv shortcuts), global mean, dense 10; weight decay on every conv and the dense kernel; 2,748,890 parameters (benchmark P7)",
   build = function(opts) return convnets.wrn(2, 4, 10, opts.weight_decay) end,
   forward = A.classify,
}
