--- mnist_logreg (DeepOBS 1.1 `mnist_logreg.py`, spec §A.1 row 5, §A.3): MNIST, logistic regression (784 -> 10, zero-initialised kernel and bias), cross-entropy; 7,850 parameters
local A = require "problems._arch"
local models = require "problems._models"

return {
   name = "mnist_logreg",
   dataset = "mnist",
   batch_size = 128, num_epochs = 50,
   weight_decay = nil,
   has_accuracy = true,
   description = "MNIST, logistic regression (784 -> 10, zero-initialised kernel and bias), cross-entropy; 7,850 parameters",
   build = function(opts)
      A.warn_no_weight_decay("mnist_logreg", opts and opts.weight_decay)
      return models.logreg(10)
   end,
   forward = A.classify,
}
