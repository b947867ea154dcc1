--- food101_vgg19: deepobs/pytorch/testproblems/food101_vgg19.py of the PyTorch fork of DeepOBS
-- (github.com/govorunov/deepobs).
local A = require "problems._arch"
local convnets = require "problems._convnets"
local define = require "problems._define"

return define {
   name = "food101_vgg19",
   dataset = "food101",
   -- no defaults, as in the fork (its 128 / 50 are commented out)
   batch_size = nil, num_epochs = nil,
   weight_decay = 5e-4,
   has_accuracy = true,
   description = "Food-101 (224x224), the fork's VGG-19-BN: 16 3x3 SAME convs without bias, each followed by BatchNorm (PyTorch momentum 0.1, eps 1e-5) and ReLU, 5 blocks closed by 2x2/2 max pools, then dense 4096, 4096 (ReLU, dropout 0.2) and 101; weight decay on the conv kernels; 139,989,541 parameters (fork only; no default batch size / epochs: the fork's 128 / 50 are commented out)",
   build = function(opts) return convnets.vgg(19, 101, opts.weight_decay, { bn = true }) end,
   forward = A.classify,
}
