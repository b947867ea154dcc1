--- The DeepOBS benchmark sets: the problems P1-P8 of the DeepOBS paper (Schneider,
-- Balles and Hennig, "DeepOBS: A Deep Learning Optimizer Benchmark Suite", ICLR 2019)
-- as DeepOBS 1.2's deepobs/config.py groups them (SMALL_TEST_SET, LARGE_TEST_SET).
-- `luajit run.lua small ...` runs each member with its default batch size and epochs,
-- one after the other; the analyzer draws and ranks them. Data only: the analyzer
-- reads it without loading any training code.
--
--    local sets = require "deepobs.sets"
--    for _, name in ipairs(sets.order) do print(name, sets[name][1].name, sets[name][1].title) end
--
-- Each member carries its plot title and the metric DeepOBS ranks it by (test loss for
-- the quadratic and the VAEs, test accuracy for the others). config.py spells P7
-- "svhn_wrn_164", a problem that does not exist; the set holds the real name.
local function member(name, title, metric) return { name = name, title = title, metric = metric } end

return {
   order = { "small", "large" },
   small = {
      member("quadratic_deep", "P1 Quadratic Deep", "test_losses"),
      member("mnist_vae", "P2 MNIST - VAE", "test_losses"),
      member("fmnist_2c2d", "P3 F-MNIST - CNN", "test_accuracies"),
      member("cifar10_3c3d", "P4 CIFAR-10 - CNN", "test_accuracies"),
   },
   large = {
      member("fmnist_vae", "P5 F-MNIST - VAE", "test_losses"),
      member("cifar100_allcnnc", "P6 CIFAR 100 - All CNN C", "test_accuracies"),
      member("svhn_wrn164", "P7 SVHN - Wide ResNet 16-4", "test_accuracies"),
      member("tolstoi_char_rnn", "P8 Tolstoi - Char RNN", "test_accuracies"),
   },
}
