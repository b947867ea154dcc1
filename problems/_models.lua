--- The network builders shared by the MNIST and Fashion-MNIST problems: logreg,
-- mlp, 2c2d and the VAE of DeepOBS's deepobs/tensorflow/testproblems/_logreg.py,
-- _mlp.py, _2c2d.py and _vae.py. Each problems/<name>.lua says which one it uses
-- and with what dataset; see problems/_arch.lua for the layout note. A ReLU after a
-- dense, conv or transposed conv layer is that layer's activation option (one op, the
-- same numbers).
--
--    local models = require "problems._models"
--    local net = models.mlp(10)            -- classes
--    local vae = models.vae(8)             -- latent dimensions; forward: models.vae_forward
local dob = require "deepobs"
local nn = dob.nn
local A = require "problems._arch"

local M = {}

--- logreg: flatten 784 -> Dense(C), no activation; kernel AND bias initialised
-- to 0. Params 784 C + C (7,850 for C = 10).
function M.logreg(C)
   return nn.Sequential(nn.Flatten(),
      A.dense(784, C, A.constant(0.0), A.constant(0.0)))
end

--- mlp: flatten 784 -> Dense 1000 ReLU -> Dense 500 ReLU -> Dense 100 ReLU ->
-- Dense C. Kernels truncated normal (std 0.03, redrawn beyond 2 std), biases 0.
-- Params 1,336,610 for C = 10.
function M.mlp(C)
   local k, b = A.truncated_normal(0.03), A.constant(0.0)
   return nn.Sequential(nn.Flatten(),
      A.dense(784, 1000, k, b, "relu"),
      A.dense(1000, 500, k, b, "relu"),
      A.dense(500, 100, k, b, "relu"),
      A.dense(100, C, k, b))
end

--- 2c2d: 28x28x1 -> Conv 5x5 32 SAME ReLU -> MaxPool 2x2/2 SAME (14) ->
-- Conv 5x5 64 SAME ReLU -> MaxPool 2x2/2 SAME (7) -> flatten 3136 ->
-- Dense 1024 ReLU -> Dense C. Kernels truncated normal std 0.05, all biases
-- 0.05. Params 832 + 51,264 + 3,212,288 + 10,250 = 3,274,634 for C = 10.
function M.c2d2(C)
   local k, b = A.truncated_normal(0.05), A.constant(0.05)
   return nn.Sequential(
      A.conv(1, 32, 5, 1, k, b, "relu"), nn.MaxPool2d(2, { stride = 2, padding = "SAME" }),
      A.conv(32, 64, 5, 1, k, b, "relu"), nn.MaxPool2d(2, { stride = 2, padding = "SAME" }),
      nn.Flatten(),
      A.dense(7 * 7 * 64, 1024, k, b, "relu"),
      A.dense(1024, C, k, b))
end

---------------------------------------------------------------------------------------
-- VAE (`_vae.py`), n_latent = 8. All layers TF defaults: Glorot-uniform
-- kernels, zero biases. Dropout rate 0.2 (element-wise, training phase only).

local LReLU = nn.LeakyReLU

function M.vae(n_latent)
   n_latent = n_latent or 8
   local m = A.module("VAE")
   -- encoder: 4x4 convs, 64 filters, strides 2, 2, 1, SAME, lrelu, each followed by dropout
   m:child("encoder", nn.Sequential(
      A.conv(1, 64, 4, 2), LReLU(0.3), nn.Dropout(0.2),     -- 28 -> 14
      A.conv(64, 64, 4, 2), LReLU(0.3), nn.Dropout(0.2),    -- 14 -> 7
      A.conv(64, 64, 4, 1), LReLU(0.3), nn.Dropout(0.2),    -- 7 -> 7 (pads 1 before, 2 after)
      nn.Flatten()))                                        -- 3136
   m:child("mean", A.dense(7 * 7 * 64, n_latent))
   m:child("log_std", A.dense(7 * 7 * 64, n_latent))       -- s = 0.5 * dense(x)
   -- decoder: dense 24 lrelu -> dense 49 lrelu -> 7x7x1 -> conv_transpose
   -- 4x4 64 stride 2, 1, 1 (SAME, ReLU; dropout after the first two) ->
   -- flatten 12,544 -> dense 784 sigmoid
   m:child("decoder", nn.Sequential(
      A.dense(n_latent, 24), LReLU(0.3),
      A.dense(24, 49), LReLU(0.3),
      nn.Reshape(1, 7, 7),
      A.conv_transpose(1, 64, 4, 2, "relu"), nn.Dropout(0.2),    -- 7 -> 14
      A.conv_transpose(64, 64, 4, 1, "relu"), nn.Dropout(0.2),   -- 14 -> 14
      A.conv_transpose(64, 64, 4, 1, "relu"),                    -- 14 -> 14
      nn.Flatten(),
      A.dense(14 * 14 * 64, 28 * 28), nn.Sigmoid()))
   m.n_latent = n_latent
   function m:forward(x)
      local h = self.encoder(x)
      local mean = self.mean(h)
      local s = self.log_std(h) * 0.5
      -- z = mean + eps * exp(s), eps ~ N(0, I): sampled in every phase (as TF)
      local eps = dob.randn(x:size(1), self.n_latent)
      local z = mean + eps * s:exp()
      return self.decoder(z), mean, s
   end
   m.describe = function(self)
      return "VAE {\n  encoder: " .. self.encoder:describe():gsub("\n", "\n  ")
         .. "\n  mean: " .. self.mean:describe() .. "\n  log_std: 0.5 * " .. self.log_std:describe()
         .. "\n  z = mean + eps * exp(log_std), eps ~ N(0, I)"
         .. "\n  decoder: " .. self.decoder:describe():gsub("\n", "\n  ") .. "\n}"
   end
   return m
end

--- VAE per-example loss: sum over pixels of (img - x)^2 plus the KL term
-- -0.5 * sum over the latent dims of (1 + 2 s - mean^2 - exp(2 s)).
-- No accuracy, no regularizer.
function M.vae_forward(model, batch, phase)
   model:train(phase == "train")
   local x = batch.x:reshape(batch.x:size(1), 28 * 28)
   local img, mean, s = model(batch.x)
   local img_loss = dob.squared_error(img, x)
   local latent = ((s * 2 + 1) - mean * mean - (s * 2):exp()):sum(2) * -0.5
   return img_loss + latent, nil, nil
end

return M
