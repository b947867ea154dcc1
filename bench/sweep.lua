-- What a sweep costs beyond its runs, and how to spend two cores on many short runs.
--
--   luajit bench/sweep.lua [--runs N] [--dir DIR]
--
-- Overhead: N short quadratic_deep runs (1 epoch) three ways, one at a time: inside this
-- process through runner.run (the runs themselves), as N `luajit run.lua` commands one after
-- the other (plus starting a process and loading the code), and as a sweep at --jobs 1
-- (plus planning, state files and the pool). Throughput: the same sweep of short
-- fmnist_mlp runs (1 epoch at batch 1000, on the real Fashion-MNIST when it is installed,
-- else quadratic_deep for 30 epochs) at 2 jobs x 1 thread and at 1 job x 2 threads.
package.path = "./lua/?.lua;./lua/?/init.lua;./?.lua;./?/init.lua;" .. package.path
local progress = require "deepobs.progress"
local runner = require "deepobs.runner"

local opts = { runs = 12, dir = "bench/out/sweep" }
do
   local i = 1
   while i <= #arg do
      local a, v = arg[i], arg[i + 1]
      if a == "--runs" and tonumber(v) then opts.runs = math.floor(tonumber(v))
      elseif a == "--dir" and v then opts.dir = v
      else io.stderr:write("usage: luajit bench/sweep.lua [--runs N] [--dir DIR]\n"); os.exit(2) end
      i = i + 2
   end
end

local ROOT = io.popen("pwd"):read("*l")
local function sh(cmd) assert(os.execute(cmd) == 0, cmd) end
local function timed(fn)
   local t0 = progress.now()
   fn()
   return progress.now() - t0
end

sh(("rm -rf '%s' && mkdir -p '%s'"):format(opts.dir, opts.dir))
local lrs = {}
for k = 1, opts.runs do lrs[k] = 10 ^ (-3 + 2 * (k - 1) / opts.runs) end

local function sweep_file(name, problem, extra, out)
   local list = {}
   for _, lr in ipairs(lrs) do list[#list + 1] = ("%.17g"):format(lr) end
   local path = ("%s/%s.lua"):format(opts.dir, name)
   local f = assert(io.open(path, "w"))
   f:write(("return { problems = { %q }, optimizers = { sgd = { lr = { %s } } }, output_dir = %q, %s }\n")
      :format(problem, table.concat(list, ", "), out, extra))
   f:close()
   return path
end

-- the runs themselves, in this process
local inproc = timed(function()
   for _, lr in ipairs(lrs) do
      runner.run { problem = "quadratic_deep", optimizer = "sgd", lr = lr, num_epochs = 1, quiet = true,
         output_dir = opts.dir .. "/inproc", threads = 1 }
   end
end)
-- one command after the other
local commands = timed(function()
   for _, lr in ipairs(lrs) do
      sh(("luajit run.lua quadratic_deep --lr %.17g -N 1 --threads 1 --output_dir %s/cmds > /dev/null"):format(lr, opts.dir))
   end
end)
-- a sweep, one job at a time
local path = sweep_file("overhead", "quadratic_deep", "num_epochs = 1, threads = 1", ROOT .. "/" .. opts.dir .. "/swept")
local swept = timed(function() sh(("luajit run.lua sweep %s --jobs 1 > /dev/null"):format(path)) end)
local n = opts.runs
io.stdout:write(("overhead, %d quadratic_deep runs of 1 epoch, one at a time (seconds per run):\n"):format(n))
io.stdout:write(("  in this process %.3f | as commands %.3f (+%.3f starting luajit and loading) | "
   .. "as a sweep %.3f (+%.3f beyond the runs, +%.3f beyond the commands)\n"):format(inproc / n, commands / n,
   (commands - inproc) / n, swept / n, (swept - inproc) / n, (swept - commands) / n))

local fmnist = io.open("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz", "rb")
if fmnist then fmnist:close() end
local problem, extra = "quadratic_deep", "num_epochs = 30"
if fmnist then problem, extra = "fmnist_mlp", "num_epochs = 1, batch_size = 1000" end
local function throughput(jobs, threads, name)
   local p = sweep_file(name, problem, extra .. (", threads = %d"):format(threads), ROOT .. "/" .. opts.dir .. "/" .. name)
   return timed(function() sh(("luajit run.lua sweep %s --jobs %d > /dev/null"):format(p, jobs)) end)
end
local t21 = throughput(2, 1, "jobs2x1")
local t12 = throughput(1, 2, "jobs1x2")
io.stdout:write(("throughput, %d %s runs (%s): 2 jobs x 1 thread %.1f s (%.2f runs/s) | 1 job x 2 threads %.1f s "
   .. "(%.2f runs/s) | ratio %.2f\n"):format(n, problem, extra, t21, n / t21, t12, n / t12, t12 / t21))
