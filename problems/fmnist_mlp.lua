--- fmnist_mlp: DeepOBS's deepobs/tensorflow/testproblems/fmnist_mlp.py (network: _mlp.py).
-- DeepOBS 1.1's file loads MNIST by mistake (`from ..datasets.mnist import mnist`, fixed
-- in 1.2); this port loads Fashion-MNIST, as the problem's name and docstring intend, so
-- its results are not comparable with 1.1's fmnist_mlp numbers.
local A = require "problems._arch"
local define = require "problems._define"
local models = require "problems._models"

return define {
   name = "fmnist_mlp",
   dataset = "fmnist",
   batch_size = 128, num_epochs = 100,
   weight_decay = nil,
   has_accuracy = true,
   description = "Fashion-MNIST, MLP 784-1000-500-100-10 (ReLU, truncated-normal 0.03 kernels, zero biases), cross-entropy; 1,336,610 parameters",
   build = function() return models.mlp(10) end,
   forward = A.classify,
}
