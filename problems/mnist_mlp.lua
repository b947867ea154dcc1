--- mnist_mlp (DeepOBS 1.1 `mnist_mlp.py`, spec §A.1 row 6, §A.3): MNIST, MLP 784-1000-500-100-10 (ReLU, truncated-normal 0.03 kernels, zero biases), cross-entropy; 1,336,610 parameters
local A = require "problems._arch"
local models = require "problems._models"

return {
   name = "mnist_mlp",
   dataset = "mnist",
   batch_size = 128, num_epochs = 100,
   weight_decay = nil,
   has_accuracy = true,
   description = "MNIST, MLP 784-1000-500-100-10 (ReLU, truncated-normal 0.03 kernels, zero biases), cross-entropy; 1,336,610 parameters",
   build = function(opts)
      A.warn_no_weight_decay("mnist_mlp", opts and opts.weight_decay)
      return models.mlp(10)
   end,
   forward = A.classify,
}
