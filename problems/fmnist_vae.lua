--- fmnist_vae: DeepOBS's deepobs/tensorflow/testproblems/fmnist_vae.py (network and loss: _vae.py).
local define = require "problems._define"
local models = require "problems._models"

return define {
   name = "fmnist_vae",
   dataset = "fmnist",
   batch_size = 64, num_epochs = 100,
   weight_decay = nil,
   has_accuracy = false,
   description = "Fashion-MNIST, variational autoencoder (3 conv encoder, 8 latent dims, 3 conv-transpose decoder, dropout 0.2), loss = squared error + KL per image; 10,151,489 parameters (benchmark P5)",
   build = function() return models.vae(8) end,
   forward = models.vae_forward,
}
