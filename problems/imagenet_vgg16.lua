--- imagenet_vgg16 (`imagenet_vgg16.py`, spec §A.1 row 23, §A.3 VGG): ImageNet (224x224 crops, 1001 classes), VGG-16: 13 3x3 SAME ReLU convs in 5 blocks, each closed by a 2x2/2 max pool, then dense 4096, 4096 (ReLU, dropout 0.5) and 1001; glorot-normal conv kernels, Glorot-uniform dense layers, zero biases, weight decay 5e-4 on the conv kernels only; 138,361,641 parameters
local convnets = require "problems._convnets"

return {
   name = "imagenet_vgg16",
   dataset = "imagenet",
   batch_size = nil, num_epochs = nil,
   weight_decay = 5e-4,
   has_accuracy = true,
   description = "ImageNet (224x224 crops, 1001 classes), VGG-16: 13 3x3 SAME ReLU convs in 5 blocks, each closed by a 2x2/2 max pool, then dense 4096, 4096 (ReLU, dropout 0.5) and 1001; glorot-normal conv kernels, Glorot-uniform dense layers, zero biases, weight decay 5e-4 on the conv kernels only; 138,361,641 parameters",
   build = function(opts)
      local wd = opts and opts.weight_decay
      if wd == nil then wd = 5e-4 end
      return convnets.vgg(16, 1001, wd)
   end,
   forward = convnets.classify,
}
