--- The problem registry: problems/<name>.lua, each returning a problem table
-- (see the interface in the issue-3 brief: name, dataset, batch_size,
-- num_epochs, weight_decay, has_accuracy, description, build, forward).
--
--    local problems = require "problems"
--    local p = problems.get("fmnist_2c2d")
--    problems.list()   -- sorted names
local M = {}

local NAMES = {
   "quadratic_deep", "two_d_rosenbrock", "two_d_beale", "two_d_branin",
   "mnist_logreg", "mnist_mlp", "mnist_2c2d", "mnist_vae",
   "fmnist_logreg", "fmnist_mlp", "fmnist_2c2d", "fmnist_vae",
   "cifar10_3c3d", "cifar100_3c3d", "svhn_3c3d", "cifar100_allcnnc", "cifar100_wrn164", "cifar100_wrn404",
   "svhn_wrn164", "cifar10_vgg16", "cifar10_vgg19", "cifar100_vgg16", "cifar100_vgg19", "imagenet_vgg16",
   "imagenet_vgg19", "food101_vgg16", "food101_vgg19", "imagenet_inception_v3",
   "tolstoi_char_rnn", "ptb_lstm", "ptb_gpt_micro",
   "food101_vit_micro",
}
local KNOWN = {}
for _, n in ipairs(NAMES) do KNOWN[n] = true end

--- sorted problem names
function M.list()
   local t = {}
   for i, n in ipairs(NAMES) do t[i] = n end
   table.sort(t)
   return t
end

--- the problem table of `name`; an unknown name is an error listing the known ones
function M.get(name)
   if type(name) ~= "string" or not KNOWN[name] then
      error(("unknown test problem '%s'; known problems: %s"):format(tostring(name), table.concat(M.list(), ", ")), 0)
   end
   return require("problems." .. name)
end

return M
