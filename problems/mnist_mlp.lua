--- mnist_mlp: DeepOBS's deepobs/tensorflow/testproblems/mnist_mlp.py (network: _mlp.py).
local A = require "problems._arch"
local define = require "problems._define"
local models = require "problems._models"

return define {
   name = "mnist_mlp",
   dataset = "mnist",
   batch_size = 128, num_epochs = 100,
   weight_decay = nil,
   has_accuracy = true,
   description = "MNIST, MLP 784-1000-500-100-10 (ReLU, truncated-normal 0.03 kernels, zero biases), cross-entropy; 1,336,610 parameters",
   build = function() return models.mlp(10) end,
   forward = A.classify,
}
