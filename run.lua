-- run.lua — the entry point. Until the DeepOBS runner lands (problems, optimizers,
-- DeepOBS's command line and JSON output), this trains a two-layer network on
-- Fashion-MNIST with SGD + momentum, written with the engine, and reports the
-- training loss and the test accuracy per epoch.
--
--   luajit run.lua [--epochs 1] [--lr 0.05] [--bs 128] [--threads N] [--data_dir DIR] [--random_seed 42]
package.path = "./lua/?.lua;./lua/?/init.lua;./?.lua;" .. package.path
local dob = require "deepobs"
local idx = require "datasets.idx"
local nn = dob.nn

local USAGE = [[
usage: luajit run.lua [--epochs N] [--lr LR] [--bs B] [--threads N] [--data_dir DIR] [--random_seed S]

Trains a 784-256-10 ReLU network on Fashion-MNIST (SGD with momentum 0.9) and prints
the loss and test accuracy per epoch. Data: --data_dir, else $DEEPOBS_DATA_DIR/fmnist,
else ./data_deepobs/fmnist, else Debian's /usr/share/datasets/fashion-mnist
(apt-get install dataset-fashion-mnist).]]

local opts = { epochs = 1, lr = 0.05, bs = 128, random_seed = 42 }
do
   local i = 1
   while i <= #arg do
      local flag = arg[i]:match("^%-%-([%w_]+)$")
      if arg[i] == "--help" or arg[i] == "-h" then print(USAGE); os.exit(0) end
      if not flag or opts[flag] == nil and flag ~= "threads" and flag ~= "data_dir" then
         io.stderr:write("run.lua: unknown argument '", arg[i], "'\n", USAGE, "\n")
         os.exit(2)
      end
      local v = arg[i + 1]
      if v == nil then io.stderr:write("run.lua: --", flag, " needs a value\n"); os.exit(2) end
      if flag == "data_dir" then opts.data_dir = v
      else
         opts[flag] = tonumber(v)
         if not opts[flag] then io.stderr:write("run.lua: --", flag, " needs a number, got '", v, "'\n"); os.exit(2) end
      end
      i = i + 2
   end
end
if opts.threads then dob.set_threads(opts.threads) end

local function find_data()
   local dirs = {}
   if opts.data_dir then dirs[#dirs + 1] = opts.data_dir .. "/fmnist"; dirs[#dirs + 1] = opts.data_dir end
   if os.getenv("DEEPOBS_DATA_DIR") then dirs[#dirs + 1] = os.getenv("DEEPOBS_DATA_DIR") .. "/fmnist" end
   dirs[#dirs + 1] = "./data_deepobs/fmnist"
   dirs[#dirs + 1] = "/usr/share/datasets/fashion-mnist"
   for _, d in ipairs(dirs) do
      local f = io.open(d .. "/train-images-idx3-ubyte.gz", "rb")
      if f then f:close(); return d end
   end
   io.stderr:write("run.lua: Fashion-MNIST not found; looked for train-images-idx3-ubyte.gz, ",
      "train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz in:\n  ",
      table.concat(dirs, "\n  "), "\nInstall Debian's copy with: sudo apt-get install dataset-fashion-mnist\n")
   os.exit(1)
end

local dir = find_data()
local function load(prefix)
   local images = idx.read(dir .. "/" .. prefix .. "-images-idx3-ubyte.gz")
   local labels = idx.read(dir .. "/" .. prefix .. "-labels-idx1-ubyte.gz")
   return images:float():view(images:size(1), 784) / 255, labels:long()
end
local ok, train_x, train_y = pcall(load, "train")
local test_x, test_y
if ok then ok, test_x, test_y = pcall(load, "t10k") end
if not ok then io.stderr:write("run.lua: ", tostring(train_x or test_x), "\n"); os.exit(1) end

dob.manual_seed(opts.random_seed)
local model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))
local ps = nn.ParamSet(model)
local velocity = ps.flat:clone():zero_()

local function evaluate()
   model:eval()
   local correct, loss, n = 0, 0, test_x:size(1)
   dob.no_grad(function()
      for first = 1, n, 1000 do
         local len = math.min(1000, n - first + 1)
         local logits = model(test_x:narrow(1, first, len))
         local labels = test_y:narrow(1, first, len)
         loss = loss + dob.softmax_cross_entropy(logits, labels):sum():item()
         correct = correct + dob.accuracy(logits, labels) * len
      end
   end)
   model:train()
   return loss / n, correct / n
end

local n = train_x:size(1)
local steps = math.floor(n / opts.bs)
print(("fmnist MLP 784-256-10 | %d train / %d test images from %s | bs %d, lr %g, momentum 0.9 | %d threads, OpenBLAS %s")
   :format(n, test_x:size(1), dir, opts.bs, opts.lr, dob.get_threads(), dob.blas_info().corename))
local l0, a0 = evaluate()
print(("epoch 0  test loss %.4f  test accuracy %.4f"):format(l0, a0))
local clock = os.clock
for epoch = 1, opts.epochs do
   local t0 = os.time()
   local c0 = clock()
   local order = dob.randperm(n)
   local total = 0
   for s = 1, steps do
      local batch = order:narrow(1, (s - 1) * opts.bs + 1, opts.bs)
      local x, y = train_x:index_select(1, batch), train_y:index_select(1, batch)
      ps:zero_grad()
      local loss = dob.softmax_cross_entropy(model(x), y):mean()
      loss:backward()
      dob.no_grad(function()
         velocity:mul_(0.9):add_(ps.grad_flat)
         ps.flat:add_(velocity, -opts.lr)
      end)
      total = total + loss:item()
   end
   local l, a = evaluate()
   print(("epoch %d  train loss %.4f  test loss %.4f  test accuracy %.4f  (%.1f s cpu, %d s wall)")
      :format(epoch, total / steps, l, a, clock() - c0, os.time() - t0))
end
