-- Peak resident memory of whole runs through the runner, against what they must hold:
-- the engine and its libraries, the data set, and twice one training step's working set.
--
--   luajit bench/run_memory.lua [--epochs N] [--threads N] [--problems a,b] [--data_dir DIR]
--
-- Each problem runs in a child process of its own (so its VmHWM is that run's):
--   runtime  resident memory once deepobs is loaded and has run a GEMM (LuaJIT, the
--            library, OpenBLAS's buffers and threads)
--   data     bytes the loaded data set holds (the engine's live bytes after loading it)
--   step     the working set of one training step: the peak of live bytes during a step
--            (parameters, gradients, activations, scratch) from a fresh model, the batch
--            of the run's size, measured after the run in the same process
--   run      VmHWM of `runner.run` over N epochs (SGD, lr 0.01, the problem's batch size:
--            the DeepOBS protocol's evaluations, training, checkpoint and result file)
-- and the bound runtime + data + 2 x step. fmnist_* read the real Fashion-MNIST (as
-- bench/epoch.lua does); cifar10_3c3d and tolstoi_char_rnn read the files bench/epoch.lua
-- generates at the real sizes into --data_dir.
package.path = "./lua/?.lua;./lua/?/init.lua;./?.lua;./?/init.lua;" .. package.path
local args = require "bench.args"

local USAGE = [[
usage: luajit bench/run_memory.lua [--epochs N] [--threads N] [--problems a,b] [--data_dir DIR]
  --epochs N      epochs per run (default 2)
  --threads N     engine threads (default 1)
  --problems LIST comma-separated (default fmnist_mlp,fmnist_2c2d,cifar10_3c3d,tolstoi_char_rnn)
  --data_dir DIR  where the generated CIFAR-10 and Tolstoi files are (default /tmp/deepobs-epoch-data)
]]

local function vm(field)
   local f = assert(io.open("/proc/self/status"))
   local kb = f:read("*a"):match(field .. ":%s*(%d+)")
   f:close()
   return tonumber(kb) / 1024
end

-- the child: one problem, one line of key=value (MB)
local function child(name, epochs, threads, data_dir)
   local dob = require "deepobs"
   local resolve = require "deepobs.resolve"
   local runner = require "deepobs.runner"
   local train = require "deepobs.train"
   dob.set_threads(threads)
   dob.randn(256, 256):matmul(dob.randn(256, 256))   -- OpenBLAS's buffers and threads in place
   local runtime = vm("VmRSS")
   local problem = resolve.load_problem(name)
   local ds = train.load_dataset(problem, { data_dir = data_dir, batch_size = problem.batch_size, seed = 42 })
   collectgarbage(); collectgarbage()
   local data = dob.memory_stats().live_bytes / 2 ^ 20
   local out = os.tmpname()
   os.remove(out)
   runner.run { problem = name, optimizer = "sgd", lr = 0.01, num_epochs = epochs, output_dir = out,
      quiet = true, threads = threads, dataset = ds }
   os.execute("rm -rf '" .. out .. "'")
   local run = vm("VmHWM")
   -- one step's working set, from a fresh model and a real batch
   dob.manual_seed(42)
   local model = problem.build { weight_decay = problem.weight_decay, batch_size = problem.batch_size }
   local ps = dob.nn.ParamSet(model)
   local batch = ds.train:batches(1)()
   collectgarbage(); collectgarbage()
   local before = dob.memory_stats().live_bytes
   dob.reset_peak_memory_stats()
   ps:zero_grad()
   local losses, reg = problem.forward(model, batch, "train")
   local obj = losses:mean()
   if reg ~= nil then obj = obj + reg end
   obj:backward()
   local step = (dob.memory_stats().peak_live_bytes - before) / 2 ^ 20 + ps.n * 8 / 2 ^ 20
   io.stdout:write(("runtime=%.1f data=%.1f step=%.1f run=%.1f\n"):format(runtime, data, step, run))
end

if arg[1] == "--child" then
   child(arg[2], tonumber(arg[3]), tonumber(arg[4]), arg[5])
   os.exit(0)
end

local o = { epochs = 2, threads = 1, data_dir = "/tmp/deepobs-epoch-data",
   problems = { "fmnist_mlp", "fmnist_2c2d", "cifar10_3c3d", "tolstoi_char_rnn" } }
do
   local r = args.reader("bench/run_memory.lua", USAGE, arg)
   for a in r:each() do
      if a == "--epochs" then o.epochs = r:count(a)
      elseif a == "--threads" then o.threads = r:count(a)
      elseif a == "--problems" then o.problems = r:list(a)
      elseif a == "--data_dir" then o.data_dir = r:value(a)
      elseif a == "--help" or a == "-h" then r:help()
      else r:fail("unknown argument " .. a) end
   end
end
require("bench.epoch_data").ensure(o.data_dir)

io.stdout:write(("peak RSS of whole runs (%d epochs, %d thread(s)), MB; bound = runtime + data + 2 x step\n\n")
   :format(o.epochs, o.threads))
io.stdout:write("| problem | runtime | data | step | bound | run | run / bound |\n|---|---|---|---|---|---|---|\n")
for _, name in ipairs(o.problems) do
   local cmd = ("luajit bench/run_memory.lua --child %s %d %d '%s' 2>&1"):format(name, o.epochs, o.threads, o.data_dir)
   local p = assert(io.popen(cmd))
   local text = p:read("*a")
   p:close()
   local v = {}
   for k, x in text:gmatch("(%a+)=([%d.]+)") do v[k] = tonumber(x) end
   if not v.run then error(("%s failed:\n%s"):format(name, text), 0) end
   local bound = v.runtime + v.data + 2 * v.step
   io.stdout:write(("| %s | %.0f | %.0f | %.0f | %.0f | %.0f | %.2f |\n"):format(name, v.runtime, v.data, v.step,
      bound, v.run, v.run / bound))
   io.stdout:flush()
end
