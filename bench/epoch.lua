-- Seconds per whole epoch through the runner, next to a PyTorch 1.13 loop doing the same
-- work (bench/epoch_torch.py), and where each epoch's time goes.
--
--   luajit bench/epoch.lua [--threads N] [--rounds N] [--problems a,b,c] [--data_dir DIR]
--                          [--max_steps K] [--no_torch]
--
-- One epoch is what runner.run{ num_epochs = 1 } does after its setup: the DeepOBS
-- protocol's evaluation (train_eval and test), one training epoch (data order, batch
-- assembly, CIFAR's augmentation, SGD steps at lr 0.01, logging, checkpointing), the second
-- evaluation, the result file and the checkpoint that every epoch of a longer run saves
-- after its evaluation (checkpoint_every = 1; here keep_checkpoint's save at the end).
-- Setup (reading the data files, building the model) is reported apart and counted on
-- neither side. The breakdown comes from the run's own
-- phase timings (runner.run's `timings` option, deepobs.progress.stopwatch).
--
-- fmnist_2c2d reads the real Fashion-MNIST where datasets/fmnist.lua finds it (DIR/fmnist,
-- ..., Debian's /usr/share/datasets/fashion-mnist), PyTorch the same files; cifar10_3c3d and tolstoi_char_rnn read files
-- generated once into DIR (bench/epoch_data.lua) at the real sizes. Per problem, our rounds
-- run in this process and PyTorch's in one process of its own (so with --rounds 1 both start
-- cold, and later rounds are warm on both sides); each side's best round is shown.
-- --max_steps K caps every split at K batches (a quick check of the script, not a measurement).
package.path = "./lua/?.lua;./lua/?/init.lua;./?.lua;./?/init.lua;" .. package.path
local dob = require "deepobs"
local progress = require "deepobs.progress"
local resolve = require "deepobs.resolve"
local runner = require "deepobs.runner"
local train = require "deepobs.train"
local args = require "bench.args"
local epoch_data = require "bench.epoch_data"

local PROBLEMS = { "fmnist_2c2d", "cifar10_3c3d", "tolstoi_char_rnn" }
local LR = 0.01
local USAGE = [[
usage: luajit bench/epoch.lua [--threads N] [--rounds N] [--problems a,b,c] [--data_dir DIR]
                              [--max_steps K] [--no_torch]
  --threads N     engine and PyTorch threads (default 1)
  --rounds N      rounds per side, the best is shown (default 3)
  --problems LIST comma-separated (default fmnist_2c2d,cifar10_3c3d,tolstoi_char_rnn)
  --data_dir DIR  where the generated CIFAR-10 and Tolstoi files are (written there when
                  missing; default /tmp/deepobs-epoch-data)
  --max_steps K   at most K batches per split (to check the script quickly; not an epoch)
  --no_torch      our side only
]]

local function parse(argv)
   local o = { threads = 1, rounds = 3, problems = PROBLEMS, data_dir = "/tmp/deepobs-epoch-data" }
   local r = args.reader("bench/epoch.lua", USAGE, argv)
   for a in r:each() do
      if a == "--threads" then o.threads = r:count(a)
      elseif a == "--rounds" then o.rounds = r:count(a)
      elseif a == "--max_steps" then o.max_steps = r:count(a)
      elseif a == "--data_dir" then o.data_dir = r:value(a)
      elseif a == "--problems" then
         o.problems = r:list(a)
         for _, name in ipairs(o.problems) do
            if not ({ fmnist_2c2d = true, cifar10_3c3d = true, tolstoi_char_rnn = true })[name] then
               r:fail(("unknown problem %s (this bench has %s)"):format(name, table.concat(PROBLEMS, ", ")))
            end
         end
      elseif a == "--no_torch" then o.no_torch = true
      elseif a == "--help" or a == "-h" then r:help()
      else r:fail("unknown argument " .. a) end
   end
   return o
end

local function shell_quote(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

-- the problem's dataset as the runner loads it (its batch size, seed 42), every split cut
-- to at most --max_steps batches
local function load_dataset(name, o)
   local problem = resolve.load_problem(name)
   local ds = train.load_dataset(problem, { data_dir = o.data_dir, batch_size = problem.batch_size, seed = 42 })
   if o.max_steps then
      for _, s in ipairs { "train", "train_eval", "test" } do
         ds[s].num_batches = math.min(ds[s].num_batches, o.max_steps)
      end
   end
   return ds
end

-- our epoch: { epoch = seconds, phases = name -> seconds, steps = training steps, dir = the data's folder }
local function ours(name, o)
   local out = os.tmpname()
   os.remove(out)
   local t_load = progress.now()
   local ds = load_dataset(name, o)
   local load_s, timings = progress.now() - t_load, {}
   collectgarbage("collect")
   local t0 = progress.now()
   local res = runner.run { problem = name, optimizer = "sgd", lr = LR, num_epochs = 1, data_dir = o.data_dir,
      output_dir = out, quiet = true, threads = o.threads, timings = timings, dataset = ds, keep_checkpoint = true }
   local wall = progress.now() - t0
   os.execute("rm -rf " .. shell_quote(out))
   assert(#res.train_losses == 2, "the run did not evaluate twice")
   local epoch = wall - timings.setup
   timings.setup = timings.setup + load_s
   return { epoch = epoch, phases = timings, steps = ds.train.num_batches, dir = ds.dir }
end

-- PyTorch's rounds, from bench/epoch_torch.py's lines of key=seconds pairs (one a round);
-- fmnist_dir: the Fashion-MNIST folder our side read
local function torch_rounds(name, o, fmnist_dir)
   local cmd = ("/usr/bin/python3 bench/epoch_torch.py --problem %s --threads %d --rounds %d --data_dir %s "
      .. "--fmnist_dir %s%s"):format(name, o.threads, o.rounds, shell_quote(o.data_dir),
      shell_quote(fmnist_dir), o.max_steps and (" --max_steps %d"):format(o.max_steps) or "")
   local p = assert(io.popen(cmd, "r"))
   local text = p:read("*a")
   local ok = p:close()
   local rounds = {}
   for line in text:gmatch("epoch=[^\n]*") do
      local r = { phases = {} }
      for k, v in line:gmatch("([%w_]+)=([%d.e+-]+)") do
         if k == "epoch" then r.epoch = tonumber(v) else r.phases[k] = tonumber(v) end
      end
      rounds[#rounds + 1] = r
   end
   if not ok or #rounds ~= o.rounds then error("bench/epoch_torch.py failed:\n" .. text, 0) end
   return rounds
end

local ROWS = {
   { "train_steps", "training steps (forward, backward, update)" },
   { "eval_train_eval", "evaluation train_eval (2x)" },
   { "eval_test", "evaluation test (2x)" },
   { "data_train", "data train (order, assembly, augmentation)" },
   { "data_train_eval", "data train_eval (2x)" },
   { "data_test", "data test (2x)" },
   { "checkpoint", "checkpointing" },
   { "logging", "logging (losses, progress)" },
   { "results", "result file" },
}

local function cell(r, key)
   if not r then return ("%17s"):format("") end
   local v
   if key == "other" then
      v = r.epoch
      for _, row in ipairs(ROWS) do v = v - (r.phases[row[1]] or 0) end
   else
      v = key == "epoch" and r.epoch or r.phases[key]
   end
   if v == nil then return ("%17s"):format("-") end
   if key == "epoch" or key == "setup" then return ("%9.3f %7s"):format(v, "") end
   return ("%9.3f %6.1f%%"):format(v, 100 * v / r.epoch)
end

local function breakdown(name, a, b)
   print(("\n%s: where the epoch's time goes (best round of each side), seconds and share"):format(name))
   print(("  %-44s %17s %17s"):format("", "ours", "PyTorch"))
   for _, row in ipairs(ROWS) do print(("  %-44s %s %s"):format(row[2], cell(a, row[1]), cell(b, row[1]))) end
   print(("  %-44s %s %s"):format("other (between the timed phases)", cell(a, "other"), cell(b, "other")))
   print(("  %-44s %s %s"):format("epoch", cell(a, "epoch"), cell(b, "epoch")))
   print(("  %-44s %s %s"):format("setup (data files, model; not in the epoch)", cell(a, "setup"), cell(b, "setup")))
end

local function best(x, y) return (x == nil or y.epoch < x.epoch) and y or x end

local function main()
   local o = parse(arg)
   epoch_data.ensure(o.data_dir)
   print(("epoch bench: %d thread%s, best of %d round%s, OpenBLAS %s, data in %s%s"):format(o.threads,
      o.threads == 1 and "" or "s", o.rounds, o.rounds == 1 and "" or "s", dob.blas_info().corename, o.data_dir,
      o.max_steps and (" (--max_steps %d: NOT whole epochs)"):format(o.max_steps) or ""))
   io.stdout:setvbuf("line")
   print("one epoch = evaluation (train_eval, test) + one training epoch (SGD, lr 0.01) + evaluation + result file"
      .. " + checkpoint")
   local rows = {}
   for _, name in ipairs(o.problems) do
      io.stderr:write(("bench/epoch.lua: %s\n"):format(name))
      local a, b
      for _ = 1, o.rounds do a = best(a, ours(name, o)) end
      if not o.no_torch then
         for _, r in ipairs(torch_rounds(name, o, a.dir)) do b = best(b, r) end
      end
      rows[#rows + 1] = { name = name, ours = a, torch = b }
   end
   print(("\n%-18s %6s %10s %10s %11s"):format("problem", "steps", "ours s", "torch s", "torch/ours"))
   for _, r in ipairs(rows) do
      print(("%-18s %6d %10.2f %10s %11s"):format(r.name, r.ours.steps * 1, r.ours.epoch,
         r.torch and ("%.2f"):format(r.torch.epoch) or "-", r.torch and ("%.2f"):format(r.torch.epoch / r.ours.epoch) or "-"))
   end
   for _, r in ipairs(rows) do breakdown(r.name, r.ours, r.torch) end
end

main()
