--- mnist_2c2d: DeepOBS's deepobs/tensorflow/testproblems/mnist_2c2d.py (network: _2c2d.py).
local A = require "problems._arch"
local define = require "problems._define"
local models = require "problems._models"

return define {
   name = "mnist_2c2d",
   dataset = "mnist",
   batch_size = 128, num_epochs = 100,
   weight_decay = nil,
   has_accuracy = true,
   description = "MNIST, 2 conv (5x5, 32 and 64, SAME, ReLU, 2x2 max pool) + 2 dense (1024 ReLU, 10) layers, truncated-normal 0.05 kernels, biases 0.05, cross-entropy; 3,274,634 parameters",
   build = function() return models.c2d2(10) end,
   forward = A.classify,
}
