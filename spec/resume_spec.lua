-- Checkpoints and --resume through the real command line: a run killed (kill -9) in the
-- middle of an epoch, while it writes a checkpoint or while it evaluates, or stopped by
-- SIGTERM / SIGINT, then resumed (perhaps several times), writes the same result file as
-- the uninterrupted run, number for number; only the wall-clock fields (epoch_times,
-- start_time) and the record of the resumes differ. Every kind of problem: in-memory data
-- (quadratic_deep, Fashion-MNIST), CIFAR-10 with DeepOBS's per-batch augmentation, dropout
-- and batch norm, the char-RNN's carried LSTM state, and a user optimizer whose state
-- holds nested tables, every dtype and a view of the live parameters.
local dob = require "deepobs"
local cjson = require "cjson"
local fs = require "helpers.fs"
local proc = require "helpers.proc"
local files = require "fixtures.data_files"
local npy = require "datasets.formats.npy"

local ROOT = fs.sh("pwd"):match("[^\n]+")
local RUN = "luajit " .. ROOT .. "/run.lua"
local TMP = ROOT .. "/.spec_tmp_resume"
local DATA = TMP .. "/data"
local OPT = "--optimizer " .. ROOT .. "/spec/fixtures/stateful_sgd.lua"
local TINY = ROOT .. "/spec/fixtures/tiny_cifar.lua"
local FMNIST = "/usr/share/datasets/fashion-mnist"
local exists = fs.exists

local function read_number(path)
   local f = io.open(path)
   if not f then return nil end
   local s = f:read("*a")
   f:close()
   return tonumber(s:match("%-?%d+"))
end

setup(function()
   fs.rmrf(TMP)
   files.cifar10(DATA .. "/cifar-10", 64, 48)          -- 320 training, 48 test images
   fs.mkdir(DATA .. "/tolstoi")
   for _, s in ipairs { { "train", 12000 }, { "test", 2600 } } do -- ids below the 83 characters
      local t = dob.empty(s[2], "int64")
      local p = require("ffi").cast("int64_t*", t:data())
      for i = 0, s[2] - 1 do p[i] = (i * 31 + math.floor(i / 7)) % 83 end
      npy.write(DATA .. "/tolstoi/" .. s[1] .. ".npy", t)
   end
end)
teardown(function() fs.rmrf(TMP) end)

---------------------------------------------------------------------------------------
-- runs

-- a fresh working folder: every run there writes to results/ with the same command line
local workdir = fs.workdirs(TMP)

local function start(dir, args, env, resume)
   return proc.start(("%s %s%s"):format(RUN, args, resume and " --resume" or ""), { cwd = dir, env = env })
end

local function json_file(dir)
   local list = fs.files_under(dir .. "/results")
   local out = {}
   for _, f in ipairs(list) do if f:match("%.json$") then out[#out + 1] = f end end
   assert.are.equal(1, #out, "one result file under " .. dir .. ": " .. table.concat(list, ", "))
   return out[1]
end

-- the result text without the fields that hold wall-clock times or the resumes' record; a
-- run killed before its first checkpoint starts over under --resume, and records that command
local function comparable(text)
   return (text:gsub('"epoch_times": %b[], ', ""):gsub('"start_time": "[^"]*"', ""):gsub(', "resumed": %b[]', "")
      :gsub(' %-%-resume"', '"'))
end

local references = {}

-- the uninterrupted run's comparable result text (one run per argument string)
local function reference(args, env)
   if not references[args] then
      local dir = workdir()
      local rc, out = start(dir, args, env):wait(300)
      assert.are.equal(0, rc, out)
      references[args] = comparable(fs.read(json_file(dir)))
   end
   return references[args]
end

-- a pattern for the path of file as the run names it (relative to its folder dir)
local function as_named(file, dir) return file:sub(#dir + 2):gsub("%p", "%%%0") end

local function checkpoint_of(dir)
   local d = proc.wait_for(function()
      local l = fs.sh(("find %s/results -type d -name 'num_epochs__*' 2>/dev/null"):format(dir))
      return l:match("[^\n]+")
   end, 30, "the run folder")
   return d .. "/random_seed__42.checkpoint"
end

--- Runs args in a fresh folder, interrupted as `plan` says, resuming after each, and
-- checks the result against the uninterrupted run. plan: a list of
-- { signal = "KILL" | "TERM" | "INT", at = function(ctx) -> true when it is time }, where
-- ctx = { dir, marker, eval_marker, checkpoint, pid, output() }. Returns what each interrupted run
-- printed.
local function interrupted(args, plan, env)
   env = env or {}
   local dir = workdir()
   local ctx = { dir = dir, marker = dir .. "/step", eval_marker = dir .. "/eval" }
   local run_env = { DEEPOBS_SPEC_MARKER = ctx.marker, DEEPOBS_SPEC_EVAL_MARKER = ctx.eval_marker }
   for k, v in pairs(env) do run_env[k] = v end
   local outputs, resumes = {}, 0
   for i, stop in ipairs(plan) do
      os.remove(ctx.marker)
      os.remove(ctx.eval_marker)
      local p = start(dir, args, run_env, i > 1)
      ctx.pid, ctx.output = p.pid, function() return p:output() end
      ctx.checkpoint = ctx.checkpoint or checkpoint_of(dir)
      proc.wait_for(function() return not p:running() or stop.at(ctx) end, 120, "interruption " .. i)
      assert.is_true(p:running(), "the run ended before interruption " .. i .. ": " .. p:output())
      p:signal(stop.signal)
      local rc, out = p:wait(120)
      local want = ({ KILL = 137, TERM = 143, INT = 130 })[stop.signal]
      assert.are.equal(want, rc, out)
      outputs[i] = out
      if out:find("resuming from ", 1, true) then resumes = resumes + 1 end
   end
   local rc, out = start(dir, args, run_env, true):wait(300)
   assert.are.equal(0, rc, out)
   assert.matches("resuming from ", out)
   assert.is_false(exists(ctx.checkpoint), "a finished run removes its checkpoint")
   local text = fs.read(json_file(dir))
   local d = cjson.decode(text)
   -- each resume that reached a checkpoint of its own is on record, the last one always
   assert.is_true(#d.resumed >= 1 and #d.resumed <= resumes + 1)
   assert.are.equal(reference(args, env), comparable(text))
   return outputs, d
end

-- interruption conditions; the steps are drawn at random (the seed is in each test's name,
-- DEEPOBS_SPEC_SEED=<seed> repeats it)
local SEED = tonumber(os.getenv("DEEPOBS_SPEC_SEED") or "") or os.time()
math.randomseed(SEED)
local function somewhere(first, last) return math.random(first, last) end
local function after_step(k) return function(ctx) return (read_number(ctx.marker) or -1) >= k end end
local function writing_checkpoint(ctx) return exists(ctx.checkpoint .. ".tmp" .. ctx.pid) end
local function evaluating_after(k)
   return function(ctx)
      if (read_number(ctx.marker) or -1) < k then os.remove(ctx.eval_marker); return false end
      return exists(ctx.eval_marker)
   end
end

---------------------------------------------------------------------------------------

describe(("kill -9 and resume give the uninterrupted run's result file (seed %d)"):format(SEED), function()
   -- 320 images / 16 = 20 steps per epoch; a big scratch tensor in the optimizer's state
   -- makes each checkpoint take long enough to be caught while it is written
   local cifar = ("%s %s --lr 0.05 -N 3 --data_dir %s --train_log_interval 3 --checkpoint_minutes 0.0005"):format(TINY, OPT, DATA)
   local slow = { DEEPOBS_SPEC_SLEEP = "0.01", DEEPOBS_SPEC_BIG = "8000000", DEEPOBS_SPEC_EVAL_SLEEP = "0.01" }

   it("CIFAR-10 with augmentation, dropout and batch norm: mid-epoch, while writing a checkpoint, while evaluating", function()
      interrupted(cifar, {
         { signal = "KILL", at = after_step(somewhere(1, 18)) },
         { signal = "KILL", at = writing_checkpoint },
         { signal = "KILL", at = evaluating_after(39) },
         { signal = "KILL", at = after_step(somewhere(41, 57)) },
      }, slow)
   end)

   it("CIFAR-10 with a validation split: killed twice inside epochs", function()
      interrupted(cifar .. " --validation", {
         { signal = "KILL", at = after_step(somewhere(1, 15)) },
         { signal = "KILL", at = after_step(somewhere(17, 45)) },
      }, { DEEPOBS_SPEC_SLEEP = "0.01" })
   end)

   it("quadratic_deep (in-memory data): killed in the first and the last epoch", function()
      interrupted(("quadratic_deep %s --lr 0.02 -N 4 --bs 100 --train_log_interval 1 --checkpoint_minutes 0.0005"):format(OPT), {
         { signal = "KILL", at = after_step(somewhere(1, 9)) },
         { signal = "KILL", at = after_step(somewhere(21, 38)) },
      }, { DEEPOBS_SPEC_SLEEP = "0.02" })
   end)

   it("tolstoi_char_rnn: the LSTM state carried from batch to batch survives a kill inside an epoch", function()
      -- 12,000 characters: 4 batches of 50 x 50 per epoch
      interrupted(("tolstoi_char_rnn %s --lr 0.5 -N 3 --data_dir %s --train_log_interval 1 --checkpoint_minutes 0.0005")
         :format(OPT, DATA), {
         { signal = "KILL", at = after_step(somewhere(0, 2)) },
         { signal = "KILL", at = after_step(somewhere(4, 6)) },
         { signal = "KILL", at = after_step(somewhere(8, 10)) },
      }, { DEEPOBS_SPEC_SLEEP = "0.05" })
   end)

   local has_fmnist = exists(FMNIST .. "/train-images-idx3-ubyte.gz") or exists(FMNIST .. "/train-images-idx3-ubyte")
   local fit = has_fmnist and it or pending
   fit("fmnist_mlp on the real Fashion-MNIST with Adam: a kill and a SIGTERM", function()
      local out = interrupted("fmnist_mlp --optimizer adam --lr 1e-3 -N 2 --bs 1000", {
         { signal = "KILL", at = function(ctx) return exists(ctx.checkpoint) end },
         { signal = "TERM", at = function(ctx) -- inside the resumed second epoch (1.2 s here)
            if not ctx.output():find("resuming from", 1, true) then return false end
            proc.sleep(0.4)
            return true
         end },
      })
      assert.matches("interrupted by SIGTERM", out[2])
   end)
end)

describe("SIGTERM and SIGINT", function()
   local args = ("%s %s --lr 0.05 -N 2 --data_dir %s --train_log_interval 1"):format(TINY, OPT, DATA)

   it("SIGTERM finishes the step, writes a checkpoint, prints the resume command and exits 143", function()
      local out = interrupted(args, { { signal = "TERM", at = after_step(12) } }, { DEEPOBS_SPEC_SLEEP = "0.02" })
      local where, path, cmd = out[1]:match("interrupted by SIGTERM at epoch 1, step (%d+); checkpoint written to (%S+)\nresume with: ([^\n]+)")
      assert.is_truthy(where, out[1])
      assert.is_true(tonumber(where) >= 13)
      assert.matches("random_seed__42%.checkpoint$", path)
      assert.are.equal(RUN .. " " .. args .. " --resume", cmd)
   end)

   it("SIGINT while evaluating stops the evaluation and resumes before it; exit 130", function()
      local out = interrupted(args, { { signal = "INT", at = evaluating_after(19) } },
         { DEEPOBS_SPEC_EVAL_SLEEP = "0.05" })
      assert.matches("interrupted by SIGINT at the evaluation after epoch 1; checkpoint written", out[1])
   end)

   it("the first Ctrl-C is seen while the optimizer runs a long JIT-compiled loop; the step ends first", function()
      local dir = workdir()
      local marker = dir .. "/step"
      local p = start(dir, args, { DEEPOBS_SPEC_MARKER = marker, DEEPOBS_SPEC_SPIN = "150000000" })
      proc.wait_for(function() return (read_number(marker) or -1) >= 1 end, 60, "two steps")
      p:signal("INT")
      local rc, out = p:wait(60)
      assert.are.equal(130, rc, out)
      local step = tonumber(out:match("interrupted by SIGINT at epoch 1, step (%d+);"))
      assert.are.equal(read_number(marker) + 1, step, out) -- the step in progress finished, no other began
   end)

   it("with --no_logs a Ctrl-C stops after the step and says that nothing was saved", function()
      local dir = workdir()
      local marker = dir .. "/step"
      local p = start(dir, args .. " --no_logs", { DEEPOBS_SPEC_MARKER = marker, DEEPOBS_SPEC_SLEEP = "0.02" })
      proc.wait_for(function() return (read_number(marker) or -1) >= 3 end, 60, "four steps")
      p:signal("INT")
      local rc, out = p:wait(60)
      assert.are.equal(130, rc, out)
      assert.matches("interrupted by SIGINT; no checkpoint was written %(%-%-no_logs%); the run must start over", out)
      assert.are.same({}, fs.files_under(dir .. "/results"))
   end)

   it("a second Ctrl-C stops at once, with a message, without waiting for the step", function()
      local dir = workdir()
      local marker = dir .. "/step"
      local p = start(dir, args, { DEEPOBS_SPEC_MARKER = marker, DEEPOBS_SPEC_SPIN = "1e15" })
      proc.wait_for(function() return exists(checkpoint_of(dir):match("^(.*)/")) end, 30, "the run folder")
      proc.sleep(0.5) -- inside the endless first step
      p:signal("INT")
      proc.sleep(0.2)
      assert.is_true(p:running(), "one Ctrl-C waits for the step")
      p:signal("INT")
      local rc, out = p:wait(10)
      assert.are.equal(130, rc, out)
      assert.matches("second interrupt: stopped at once", out)
   end)
end)

describe("checkpoint files", function()
   local args = ("%s %s --lr 0.05 -N 2 --data_dir %s"):format(TINY, OPT, DATA)

   it("a finished run removes its checkpoint; --keep_checkpoint keeps the final state", function()
      local dir = workdir()
      local rc, out = start(dir, args .. " --keep_checkpoint"):wait(60)
      assert.are.equal(0, rc, out)
      local ck = checkpoint_of(dir)
      assert.is_true(exists(ck))
      local run = require("deepobs.resolve").run { problem = TINY, optimizer = ROOT .. "/spec/fixtures/stateful_sgd.lua",
         lr = 0.05, num_epochs = 2, data_dir = DATA, no_logs = true }
      local trainer = require("deepobs.train").new(run)
      local c = dob.load(ck, { refs = trainer:live_tensors() })
      assert.are.equal(2, c.trainer.position.epoch)
      assert.is_true(c.trainer.position.evaluated)
      local d = cjson.decode(fs.read(json_file(dir)))
      trainer:restore(c.trainer) -- the final parameters: evaluating them gives the last test loss
      local l = trainer:evaluate_split(trainer.ds.test, "test")
      assert.are.equal(d.test_losses[3], l)
   end)

   it("an existing checkpoint is reported with the command that resumes it; the new run replaces it", function()
      local dir = workdir()
      local p = start(dir, args .. " --checkpoint_minutes 0", { DEEPOBS_SPEC_SLEEP = "0.02" })
      local ck = checkpoint_of(dir)
      proc.wait_for(function() return exists(ck) end, 60, "the first checkpoint")
      p:signal("KILL")
      p:wait(30)
      local rc, out = start(dir, args):wait(60)
      assert.are.equal(0, rc, out)
      assert.matches("a checkpoint of this run is at " .. as_named(ck, dir) .. "; to continue it instead: "
         .. (RUN .. " " .. args .. " --resume"):gsub("%p", "%%%0"), out)
      assert.is_false(exists(ck))
   end)

   it("--resume without a checkpoint starts from the beginning, saying so", function()
      local dir = workdir()
      local rc, out = start(dir, args, nil, true):wait(60)
      assert.are.equal(0, rc, out)
      assert.matches("%-%-resume: no checkpoint of this run at [^\n]*; starting from the beginning", out)
      -- the same numbers; the command line it records is the one that ran, --resume included
      local text = fs.read(json_file(dir))
      assert.matches('"command_line": "[^"]* %-%-resume"', text)
      assert.are.equal(reference(args), comparable(text))
   end)

   local function killed_with_checkpoint(run_args, env)
      local dir = workdir()
      local p = start(dir, run_args, env or { DEEPOBS_SPEC_SLEEP = "0.02" })
      local ck = checkpoint_of(dir)
      proc.wait_for(function() return exists(ck) end, 60, "the first checkpoint")
      p:signal("KILL")
      p:wait(30)
      return dir, ck
   end

   it("a changed optimizer file, another seed's or setting's checkpoint, a corrupt file: clear errors", function()
      -- the optimizer file changed since the checkpoint: refused, exit 2
      local copy = TMP .. "/my_opt.lua"
      fs.write(copy, fs.read(ROOT .. "/spec/fixtures/stateful_sgd.lua"))
      local a = ("%s --optimizer %s --lr 0.05 -N 2 --data_dir %s"):format(TINY, copy, DATA)
      local dir, ck = killed_with_checkpoint(a)
      fs.write(copy, fs.read(copy) .. "\n-- edited\n")
      local rc, out = start(dir, a, nil, true):wait(60)
      assert.are.equal(2, rc, out)
      assert.matches("cannot resume from " .. as_named(ck, dir) .. ": it was written with optimizer_sha256", out)
      assert.matches("the optimizer file changed", out)
      -- a corrupt checkpoint: an error naming the file and what to do, exit 1, no crash
      local bytes = fs.read(ck)
      local k = math.floor(#bytes / 2)
      fs.write(ck, bytes:sub(1, k) .. string.char((bytes:byte(k + 1) + 1) % 256) .. bytes:sub(k + 2))
      fs.write(copy, fs.read(ROOT .. "/spec/fixtures/stateful_sgd.lua"))
      rc, out = start(dir, a, nil, true):wait(60)
      assert.are.equal(1, rc, out)
      assert.matches("cannot resume from " .. as_named(ck, dir) .. ":[^\n]*checksum", out)
      assert.matches("delete it to start the run over", out)
      -- truncated
      fs.write(ck, bytes:sub(1, 100))
      rc, out = start(dir, a, nil, true):wait(60)
      assert.are.equal(1, rc, out)
      assert.matches("cannot resume from " .. as_named(ck, dir), out)
   end)

   it("a run killed while writing a checkpoint leaves a temporary file that the next run removes", function()
      local dir = workdir()
      local p = start(dir, args .. " --checkpoint_minutes 0.0005",
         { DEEPOBS_SPEC_SLEEP = "0.005", DEEPOBS_SPEC_BIG = "8000000" })
      local ck = checkpoint_of(dir)
      proc.wait_for(function() return exists(ck .. ".tmp" .. p.pid) end, 60, "a checkpoint being written")
      p:signal("KILL")
      p:wait(30)
      assert.is_true(exists(ck .. ".tmp" .. p.pid))
      for _, f in ipairs(fs.files_under(dir .. "/results")) do assert.is_nil(f:match("%.json$"), f) end
      local rc, out = start(dir, args, nil, true):wait(120)
      assert.are.equal(0, rc, out)
      assert.is_false(exists(ck .. ".tmp" .. p.pid))
   end)
end)
