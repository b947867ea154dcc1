-- What a checkpoint costs: its size, the time to write it (dob.save: temporary file,
-- fsync, rename) and to read it back, next to the time of a training epoch, for
-- fmnist_2c2d with Adam and cifar100_allcnnc with momentum at their DeepOBS batch sizes.
-- The training step is timed on synthetic batches of the dataset's shape; an epoch is
-- DeepOBS's number of steps per epoch times that (evaluation left out, so the share
-- shown is an upper bound). A run writes one checkpoint per epoch, plus one every
-- --checkpoint_minutes (10) inside long epochs.
--
--   luajit bench/checkpoint.lua [--threads N] [--steps K] [--dir DIR]
package.path = "./lua/?.lua;./lua/?/init.lua;./?.lua;./?/init.lua;" .. package.path
local dob = require "deepobs"
local checkpoint = require "deepobs.checkpoint"
local progress = require "deepobs.progress"
local resolve = require "deepobs.resolve"
local split = require "datasets.pipeline.split"
local train = require "deepobs.train"

local USAGE = "usage: luajit bench/checkpoint.lua [--threads N] [--steps K] [--dir DIR]\n"
local opts = { steps = 3, dir = "bench/out/checkpoint" }
do
   local i = 1
   while i <= #arg do
      local a, v = arg[i], arg[i + 1]
      if (a == "--threads" or a == "--steps") and tonumber(v) and tonumber(v) >= 1 then
         opts[a:sub(3)] = math.floor(tonumber(v))
      elseif a == "--dir" and v then opts.dir = v
      elseif a == "--help" or a == "-h" then io.stdout:write(USAGE); os.exit(0)
      else io.stderr:write("bench/checkpoint.lua: bad argument " .. a .. "\n", USAGE); os.exit(2) end
      i = i + 2
   end
end
if opts.threads then dob.set_threads(opts.threads) end

local CASES = {
   { problem = "fmnist_2c2d", optimizer = "adam", lr = 2.5e-4, shape = { 1, 28, 28 }, classes = 10,
     steps_per_epoch = 468 },                           -- 60,000 // 128
   { problem = "cifar100_allcnnc", optimizer = "momentum", lr = 0.05, hyperparams = { momentum = 0.9 },
     shape = { 3, 32, 32 }, classes = 100, steps_per_epoch = 195 }, -- 50,000 // 256
}

-- a dataset of `batches` synthetic batches of the problem's shape, for every split
local function synthetic(c, bs, batches)
   local n = bs * batches
   local sizes = { n }
   for _, s in ipairs(c.shape) do sizes[#sizes + 1] = s end
   local y = dob.empty(n, "int64"):random_(0, c.classes)
   local t = { x = dob.randn(unpack(sizes)), y = y }
   return {
      train = split.new { name = "train", tensors = t, batch_size = bs, shuffle = true },
      train_eval = split.new { name = "train_eval", tensors = t, batch_size = bs, num_batches = 1 },
      test = split.new { name = "test", tensors = t, batch_size = bs, num_batches = 1 },
   }
end

local function median(t)
   table.sort(t)
   return t[math.floor((#t + 1) / 2)]
end

os.execute("mkdir -p '" .. opts.dir .. "'")
io.stdout:write(("%d threads, OpenBLAS %s; median of %d\n"):format(dob.get_threads(), dob.blas_info().corename, opts.steps))
io.stdout:write(("%-18s %-18s %10s %9s %9s %9s %10s %9s %9s\n"):format("problem", "optimizer", "parameters",
   "size MB", "write s", "read s", "s/step", "epoch s", "overhead"))
for _, c in ipairs(CASES) do
   local p = require("problems." .. c.problem)
   local run = resolve.run { problem = p, optimizer = c.optimizer, lr = c.lr, hyperparams = c.hyperparams,
      num_epochs = 1, output_dir = opts.dir, dataset = synthetic(c, p.batch_size, opts.steps + 1) }
   require("deepobs.results").check_writable(run.run_dir)
   local trainer = train.new(run)
   local t0 = progress.now()
   trainer:run_to_end(nil) -- 1 + steps training steps: the optimizer's state exists afterwards
   local per_step = trainer.results.epoch_times[1] / (opts.steps + 1)
   local ck = checkpoint.new(run, { provenance = {} })
   local writes, reads = {}, {}
   for k = 1, opts.steps do
      t0 = progress.now()
      ck:save(trainer)
      writes[k] = progress.now() - t0
      t0 = progress.now()
      dob.load(ck.path, { refs = trainer:live_tensors() })
      reads[k] = progress.now() - t0
      collectgarbage()
   end
   local f = io.open(ck.path, "rb")
   local size = f:seek("end")
   f:close()
   ck:remove()
   local epoch = per_step * c.steps_per_epoch
   io.stdout:write(("%-18s %-18s %10d %9.1f %9.3f %9.3f %10.3f %9.1f %8.2f%%\n"):format(c.problem, run.optimizer.name,
      trainer.params.flat:numel(), size / 2 ^ 20, median(writes), median(reads), per_step, epoch,
      100 * median(writes) / epoch))
   io.stdout:flush()
   trainer, ck = nil, nil
   collectgarbage(); collectgarbage(); dob.collect()
end
