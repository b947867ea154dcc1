--- svhn_3c3d: DeepOBS's deepobs/tensorflow/testproblems/svhn_3c3d.py: cifar10_3c3d's network,
-- loss and weight decay on SVHN, with no default batch size or epochs (DeepOBS gives none).
local cifar10_3c3d = require "problems.cifar10_3c3d"
local define = require "problems._define"

return define {
   name = "svhn_3c3d",
   dataset = "svhn",
   batch_size = nil, num_epochs = nil,
   weight_decay = cifar10_3c3d.weight_decay,
   has_accuracy = true,
   description = "SVHN, " .. cifar10_3c3d.summary,
   build = cifar10_3c3d.build,
   forward = cifar10_3c3d.forward,
}
