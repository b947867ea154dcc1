--- fmnist_mlp (DeepOBS 1.1 `fmnist_mlp.py`, spec §A.1 row 10, §A.3): Fashion-MNIST, MLP 784-1000-500-100-10 (ReLU, truncated-normal 0.03 kernels, zero biases), cross-entropy; 1,336,610 parameters
local A = require "problems._arch"
local models = require "problems._models"
-- DeepOBS 1.1's fmnist_mlp loaded MNIST by mistake (spec §A.1 row 10, §G.6);
-- this port loads Fashion-MNIST, as the problem's name and docstring intend.
-- Results are therefore not comparable with 1.1 fmnist_mlp numbers.
return {
   name = "fmnist_mlp",
   dataset = "fmnist",
   batch_size = 128, num_epochs = 100,
   weight_decay = nil,
   has_accuracy = true,
   description = "Fashion-MNIST, MLP 784-1000-500-100-10 (ReLU, truncated-normal 0.03 kernels, zero biases), cross-entropy; 1,336,610 parameters",
   build = function(opts)
      A.warn_no_weight_decay("fmnist_mlp", opts and opts.weight_decay)
      return models.mlp(10)
   end,
   forward = A.classify,
}
