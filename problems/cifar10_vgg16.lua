--- cifar10_vgg16: DeepOBS's deepobs/tensorflow/testproblems/cifar10_vgg16.py (network: _vgg.py).
local A = require "problems._arch"
local convnets = require "problems._convnets"
local define = require "problems._define"

return define {
   name = "cifar10_vgg16",
   dataset = "cifar10",
   batch_size = nil, num_epochs = nil,
   weight_decay = 5e-4,
   has_accuracy = true,
   description = "CIFAR-10 resized to 224x224, VGG-16: 13 3x3 SAME ReLU convs in 5 blocks, each closed by a 2x2/2 max pool, then dense 4096, 4096 (ReLU, dropout 0.5) and 10; glorot-normal conv kernels, Glorot-uniform dense layers, zero biases, weight decay on the conv kernels only; 134,301,514 parameters",
   build = function(opts) return convnets.vgg(16, 10, opts.weight_decay) end,
   forward = A.classify,
}
