--- fmnist_logreg: DeepOBS's deepobs/tensorflow/testproblems/fmnist_logreg.py (network: _logreg.py).
local A = require "problems._arch"
local define = require "problems._define"
local models = require "problems._models"

return define {
   name = "fmnist_logreg",
   dataset = "fmnist",
   batch_size = nil, num_epochs = nil,
   weight_decay = nil,
   has_accuracy = true,
   description = "Fashion-MNIST, logistic regression (784 -> 10, zero-initialised kernel and bias), cross-entropy; 7,850 parameters",
   build = function() return models.logreg(10) end,
   forward = A.classify,
}
