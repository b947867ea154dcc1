--- fmnist_vae (DeepOBS 1.1 `fmnist_vae.py`, spec §A.1 row 12, §A.3): Fashion-MNIST, variational autoencoder (3 conv encoder, 8 latent dims, 3 conv-transpose decoder, dropout 0.2), loss = squared error + KL per image; 10,151,489 parameters (benchmark P5)
local A = require "problems._arch"
local models = require "problems._models"

return {
   name = "fmnist_vae",
   dataset = "fmnist",
   batch_size = 64, num_epochs = 100,
   weight_decay = nil,
   has_accuracy = false,
   description = "Fashion-MNIST, variational autoencoder (3 conv encoder, 8 latent dims, 3 conv-transpose decoder, dropout 0.2), loss = squared error + KL per image; 10,151,489 parameters (benchmark P5)",
   build = function(opts)
      A.warn_no_weight_decay("fmnist_vae", opts and opts.weight_decay)
      return models.vae(8)
   end,
   forward = models.vae_forward,
}
