--- cifar100_allcnnc: DeepOBS's deepobs/tensorflow/testproblems/cifar100_allcnnc.py.
local A = require "problems._arch"
local convnets = require "problems._convnets"
local define = require "problems._define"

return define {
   name = "cifar100_allcnnc",
   dataset = "cifar100",
   batch_size = 256, num_epochs = 350,
   weight_decay = 5e-4,
   has_accuracy = true,
   description = "CIFAR-100, All-CNN-C: input dropout 0.2, 3x3 convs 96, 96, 96/2, dropout 0.5, 192, 192, 192/2, dropout 0.5, 192 VALID, 1x1 192, 1x1 100 (all ReLU, SAME unless VALID), global mean; glorot-normal kernels, biases 0.1, weight decay on all 9 conv kernels; 1,387,108 parameters (benchmark P6)",
   build = function(opts) return convnets.allcnnc(100, opts.weight_decay) end,
   forward = A.classify,
}
