--- mnist_2c2d (DeepOBS 1.1 `mnist_2c2d.py`, spec §A.1 row 7, §A.3): MNIST, 2 conv (5x5, 32 and 64, SAME, ReLU, 2x2 max pool) + 2 dense (1024 ReLU, 10) layers, truncated-normal 0.05 kernels, biases 0.05, cross-entropy; 3,274,634 parameters
local A = require "problems._arch"
local models = require "problems._models"

return {
   name = "mnist_2c2d",
   dataset = "mnist",
   batch_size = 128, num_epochs = 100,
   weight_decay = nil,
   has_accuracy = true,
   description = "MNIST, 2 conv (5x5, 32 and 64, SAME, ReLU, 2x2 max pool) + 2 dense (1024 ReLU, 10) layers, truncated-normal 0.05 kernels, biases 0.05, cross-entropy; 3,274,634 parameters",
   build = function(opts)
      A.warn_no_weight_decay("mnist_2c2d", opts and opts.weight_decay)
      return models.c2d2(10)
   end,
   forward = A.classify,
}
