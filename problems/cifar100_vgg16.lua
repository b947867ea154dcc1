--- cifar100_vgg16 (`cifar100_vgg16.py`, spec §A.1 row 18, §A.3 VGG): CIFAR-100 resized to 224x224, VGG-16: 13 3x3 SAME ReLU convs in 5 blocks, each closed by a 2x2/2 max pool, then dense 4096, 4096 (ReLU, dropout 0.5) and 100; glorot-normal conv kernels, Glorot-uniform dense layers, zero biases, weight decay 5e-4 on the conv kernels only; 134,670,244 parameters
local convnets = require "problems._convnets"

return {
   name = "cifar100_vgg16",
   dataset = "cifar100",
   batch_size = nil, num_epochs = nil,
   weight_decay = 5e-4,
   has_accuracy = true,
   description = "CIFAR-100 resized to 224x224, VGG-16: 13 3x3 SAME ReLU convs in 5 blocks, each closed by a 2x2/2 max pool, then dense 4096, 4096 (ReLU, dropout 0.5) and 100; glorot-normal conv kernels, Glorot-uniform dense layers, zero biases, weight decay 5e-4 on the conv kernels only; 134,670,244 parameters",
   build = function(opts)
      local wd = opts and opts.weight_decay
      if wd == nil then wd = 5e-4 end
      return convnets.vgg(16, 100, wd)
   end,
   forward = convnets.classify,
}
