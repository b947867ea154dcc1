--- cifar100_vgg16: DeepOBS's deepobs/tensorflow/testproblems/cifar100_vgg16.py (network: _vgg.py).
local A = require "problems._arch"
local convnets = require "problems._convnets"
local define = require "problems._define"

return define {
   name = "cifar100_vgg16",
   dataset = "cifar100",
   batch_size = nil, num_epochs = nil,
   weight_decay = 5e-4,
   has_accuracy = true,
   description = "CIFAR-100 resized to 224x224, VGG-16: 13 3x3 SAME ReLU convs in 5 blocks, each closed by a 2x2/2 max pool, then dense 4096, 4096 (ReLU, dropout 0.5) and 100; glorot-normal conv kernels, Glorot-uniform dense layers, zero biases, weight decay on the conv kernels only; 134,670,244 parameters",
   build = function(opts) return convnets.vgg(16, 100, opts.weight_decay) end,
   forward = A.classify,
}
