--- mnist_vae (DeepOBS 1.1 `mnist_vae.py`, spec §A.1 row 8, §A.3): MNIST, variational autoencoder (3 conv encoder, 8 latent dims, 3 conv-transpose decoder, dropout 0.2), loss = squared error + KL per image; 10,151,489 parameters (benchmark P2)
local A = require "problems._arch"
local models = require "problems._models"

return {
   name = "mnist_vae",
   dataset = "mnist",
   batch_size = 64, num_epochs = 50,
   weight_decay = nil,
   has_accuracy = false,
   description = "MNIST, variational autoencoder (3 conv encoder, 8 latent dims, 3 conv-transpose decoder, dropout 0.2), loss = squared error + KL per image; 10,151,489 parameters (benchmark P2)",
   build = function(opts)
      A.warn_no_weight_decay("mnist_vae", opts and opts.weight_decay)
      return models.vae(8)
   end,
   forward = models.vae_forward,
}
