--- cifar100_wrn164 (DeepOBS 1.2 `cifar100_wrn164.py`, spec §A.1 row 27, §A.3 Wide ResNet): CIFAR-100, Wide ResNet 16-4 (3 blocks of 2 pre-activation units, widths 64/128/256, strides 1/2/2, BN momentum 0.9 eps 1e-5, 1x1 conv shortcuts), global mean, dense 100; weight decay 5e-4 on every conv and the dense kernel; 2,772,020 parameters (DeepOBS 1.2 only; batch size / epochs from its docstring)
local convnets = require "problems._convnets"

return {
   name = "cifar100_wrn164",
   dataset = "cifar100",
   batch_size = 128, num_epochs = 200,
   weight_decay = 5e-4,
   has_accuracy = true,
   description = "CIFAR-100, Wide ResNet 16-4 (3 blocks of 2 pre-activation units, widths 64/128/256, strides 1/2/2, BN momentum 0.9 eps 1e-5, 1x1 conv shortcuts), global mean, dense 100; weight decay 5e-4 on every conv and the dense kernel; 2,772,020 parameters (DeepOBS 1.2 only; batch size / epochs from its docstring)",
   build = function(opts)
      local wd = opts and opts.weight_decay
      if wd == nil then wd = 5e-4 end
      return convnets.wrn(2, 4, 100, wd)
   end,
   forward = convnets.classify,
}
