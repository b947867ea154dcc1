--- mnist_logreg: DeepOBS's deepobs/tensorflow/testproblems/mnist_logreg.py (network: _logreg.py).
local A = require "problems._arch"
local define = require "problems._define"
local models = require "problems._models"

return define {
   name = "mnist_logreg",
   dataset = "mnist",
   batch_size = 128, num_epochs = 50,
   weight_decay = nil,
   has_accuracy = true,
   description = "MNIST, logistic regression (784 -> 10, zero-initialised kernel and bias), cross-entropy; 7,850 parameters",
   build = function() return models.logreg(10) end,
   forward = A.classify,
}
