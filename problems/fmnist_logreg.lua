--- fmnist_logreg (DeepOBS 1.1 `fmnist_logreg.py`, spec §A.1 row 9, §A.3): Fashion-MNIST, logistic regression (784 -> 10, zero-initialised kernel and bias), cross-entropy; 7,850 parameters
local A = require "problems._arch"
local models = require "problems._models"

return {
   name = "fmnist_logreg",
   dataset = "fmnist",
   batch_size = nil, num_epochs = nil,
   weight_decay = nil,
   has_accuracy = true,
   description = "Fashion-MNIST, logistic regression (784 -> 10, zero-initialised kernel and bias), cross-entropy; 7,850 parameters",
   build = function(opts)
      A.warn_no_weight_decay("fmnist_logreg", opts and opts.weight_decay)
      return models.logreg(10)
   end,
   forward = A.classify,
}
