--- imagenet_inception_v3: DeepOBS's deepobs/tensorflow/testproblems/imagenet_inception_v3.py (network: _inception_v3.py).
local convnets = require "problems._convnets"
local define = require "problems._define"

return define {
   name = "imagenet_inception_v3",
   dataset = "imagenet",
   batch_size = nil, num_epochs = nil,
   weight_decay = 5e-4,
   has_accuracy = true,
   description = "ImageNet (224x224 crops resized to 299x299, 1001 classes), Inception-v3 with the auxiliary head: conv-BN-ReLU units (BN momentum 0.9997, eps 1e-3), dropout rate 0.8 before the last dense layer; cross-entropy with label smoothing 0.1 plus 0.4 x the auxiliary loss in training; weight decay on the conv kernels; 27,164,082 parameters",
   build = function(opts) return convnets.inception_v3(1001, opts.weight_decay) end,
   forward = convnets.inception_forward,
}
