--- svhn_3c3d (`svhn_3c3d.py`, spec §A.1 row 21, §A.3 3c3d): SVHN, 3 conv (5x5 64 VALID, 3x3 96 VALID, 3x3 128 SAME; ReLU; 3x3/2 SAME max pool each) + 3 dense (512, 256 ReLU, 10) layers, glorot-normal conv / glorot-uniform dense kernels, zero biases, cross-entropy, weight decay 0.002 on all 6 kernels; 895,210 parameters
local convnets = require "problems._convnets"

return {
   name = "svhn_3c3d",
   dataset = "svhn",
   batch_size = nil, num_epochs = nil,
   weight_decay = 0.002,
   has_accuracy = true,
   description = "SVHN, 3 conv (5x5 64 VALID, 3x3 96 VALID, 3x3 128 SAME; ReLU; 3x3/2 SAME max pool each) + 3 dense (512, 256 ReLU, 10) layers, glorot-normal conv / glorot-uniform dense kernels, zero biases, cross-entropy, weight decay 0.002 on all 6 kernels; 895,210 parameters",
   build = function(opts)
      local wd = opts and opts.weight_decay
      if wd == nil then wd = 0.002 end
      return convnets.c3d3(10, wd)
   end,
   forward = convnets.classify,
}
