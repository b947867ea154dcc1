--- A user's own test problem with its own data, kept outside the suite: linear regression
-- of y = <w*, x> + noise on 20 features, a 2-layer MLP, mean squared error.
--
--    luajit run.lua noisy_regression --problems_dir examples/problems --optimizer adam --lr 0.01
--
-- The dataset is a table with load(opts) (README "Your own problem and data"): 4,096 training
-- and 1,024 test examples drawn from a fixed numpy-compatible generator, so that every run
-- sees the same data whatever its seed; the seed only shuffles the training batches.
local dob = require "deepobs"
local define = require "problems._define"
local split = require "datasets.pipeline.split"
local RandomState = require "deepobs.mt19937"

local FEATURES, TRAIN, TEST, NOISE = 20, 4096, 1024, 0.1

-- n examples (x [n, FEATURES], y [n]) of the fixed linear target plus Gaussian noise
local function draw(rng, w, n)
   local x, y = dob.empty(n, FEATURES), dob.empty(n)
   local px, py = x:data(), y:data()
   for i = 0, n - 1 do
      local s = 0
      for j = 0, FEATURES - 1 do
         local v = rng:normal(0, 1)
         px[i * FEATURES + j] = v
         s = s + w[j] * v
      end
      py[i] = s + rng:normal(0, NOISE)
   end
   x:mark_modified()
   y:mark_modified()
   return { x = x, y = y }
end

local dataset = {
   name = "noisy_regression",
   load = function(opts)
      local rng = RandomState(7)
      local w = {}
      for j = 0, FEATURES - 1 do w[j] = rng:normal(0, 1) end
      local train, test = draw(rng, w, TRAIN), draw(rng, w, TEST)
      local bs = opts.batch_size
      return {
         train = split.new { name = "train", tensors = train, batch_size = bs, shuffle = true,
            default_seed = opts.seed },
         train_eval = split.new { name = "train_eval", tensors = train, batch_size = bs, shuffle = true,
            default_seed = opts.seed, num_batches = math.floor(TEST / bs) },
         test = split.new { name = "test", tensors = test, batch_size = bs, shuffle = false },
      }
   end,
}

return define {
   name = "noisy_regression", dataset = dataset, batch_size = 64, num_epochs = 5, has_accuracy = false,
   description = "linear regression with noise on 20 features, MLP 20-32-1, mean squared error",
   build = function()
      return dob.nn.Sequential(dob.nn.Linear(FEATURES, 32), dob.nn.ReLU(), dob.nn.Linear(32, 1))
   end,
   forward = function(model, batch)
      local err = model(batch.x):view(-1) - batch.y
      return err * err
   end,
}
