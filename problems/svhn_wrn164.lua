--- svhn_wrn164 (`svhn_wrn164.py`, spec §A.1 row 22, §A.3 Wide ResNet): SVHN, Wide ResNet 16-4 (3 blocks of 2 pre-activation units, widths 64/128/256, strides 1/2/2, BN momentum 0.9 eps 1e-5, 1x1 conv shortcuts), global mean, dense 10; weight decay 5e-4 on every conv and the dense kernel; 2,748,890 parameters (benchmark P7)
local convnets = require "problems._convnets"

return {
   name = "svhn_wrn164",
   dataset = "svhn",
   batch_size = 128, num_epochs = 160,
   weight_decay = 5e-4,
   has_accuracy = true,
   description = "SVHN, Wide ResNet 16-4 (3 blocks of 2 pre-activation units, widths 64/128/256, strides 1/2/2, BN momentum 0.9 eps 1e-5, 1x1 conv shortcuts), global mean, dense 10; weight decay 5e-4 on every conv and the dense kernel; 2,748,890 parameters (benchmark P7)",
   build = function(opts)
      local wd = opts and opts.weight_decay
      if wd == nil then wd = 5e-4 end
      return convnets.wrn(2, 4, 10, wd)
   end,
   forward = convnets.classify,
}
