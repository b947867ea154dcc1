-- deepobs.runner: the DeepOBS 1.1 protocol on a fake problem, schedule, divergence, output
-- files, and the command line (run.lua through io.popen).
local dob = require "deepobs"
local runner = require "deepobs.runner"
local cmdline = require "deepobs.cli"
local errors = require "deepobs.errors"
local results = require "deepobs.results"
local fake = require "fixtures.fake"
local cjson = require "cjson"
local fs = require "helpers.fs"
local sh, files_under, read = fs.sh, fs.files_under, fs.read
local BASE = fs.BASELINES

local TMP = "./.spec_tmp_runner"

-- runs the command line; returns combined output and exit status
local function cli(args)
   local out = sh("luajit run.lua " .. args .. " 2>&1; echo \"rc=$?\"")
   local rc = tonumber(out:match("rc=(%d+)%s*$"))
   return out:gsub("rc=%d+%s*$", ""), rc
end

local function run(o)
   o.quiet = o.quiet ~= false
   o.output_dir = o.output_dir or TMP
   return runner.run(o)
end

-- the objective DeepOBS reports for a split: mean over batches of mean(losses) + regularizer
local function reference_eval(problem, model, split, phase)
   local sl, sa, nb = 0, 0, 0
   dob.no_grad(function()
      for batch in split:batches() do
         local losses, reg, acc = problem.forward(model, batch, phase)
         local o = losses:mean()
         if reg then o = o + reg end
         sl, sa, nb = sl + o:item(), sa + (acc or 0), nb + 1
      end
   end)
   return sl / nb, sa / nb
end

before_each(function() os.execute("rm -rf " .. TMP) end)
teardown(function() os.execute("rm -rf " .. TMP) end)

describe("learning-rate schedules in a run", function()
   it("refuses one list without the other and lists of different lengths, before any data", function()
      for _, c in ipairs { { { 50 }, nil, "%-%-lr_sched_factors" }, { { 1, 2 }, { 0.1 }, "%-%-lr_sched_factors" },
         { { 5 }, { 0.1 }, "beyond %-N" } } do
         local loaded = false
         local ok, e = pcall(run, { problem = fake.problem { on_load = function() loaded = true end },
            optimizer = fake.sgd(), lr = 0.3, num_epochs = 3, lr_sched_epochs = c[1], lr_sched_factors = c[2] })
         assert.is_false(ok)
         assert.is_true(errors.is_usage(e))
         assert.matches(c[3], tostring(e))
         assert.is_false(loaded)
      end
   end)

   it("every schedule: the optimizer sees lr_at(t) at step t, with the step index and the step count", function()
      local schedule = require "deepobs.schedule"
      local cases = {
         { lr_schedule = "cosine", lr_min = 0.01 },
         { lr_schedule = "cosine_restarts", restart_epochs = 1, restart_mult = 1 },
         { lr_schedule = "trapezoidal" },
         { lr_schedule = "constant", warmup_steps = 4 },
         { lr_sched_epochs = { 1, 2 }, lr_sched_factors = { 0.5, 0.25 }, warmup_epochs = 0.4 },
      }
      for _, c in ipairs(cases) do
         local seen = {}
         local opt = fake.sgd()
         local inner = opt.step
         opt.step = function(closure, params, hp, state, ctx)
            seen[#seen + 1] = { lr = hp.lr, step = ctx.step, num_steps = ctx.num_steps, epoch = ctx.epoch }
            return inner(closure, params, hp, state)
         end
         local o = { problem = fake.problem(), optimizer = opt, lr = 0.2, num_epochs = 3 }
         for k, v in pairs(c) do o[k] = v end
         local res = run(o)
         local s = schedule.new { name = c.lr_schedule, lr = 0.2, num_epochs = 3, lr_min = c.lr_min,
            restart_epochs = c.restart_epochs, restart_mult = c.restart_mult, warmup_steps = c.warmup_steps,
            warmup_epochs = c.warmup_epochs, lr_sched_epochs = c.lr_sched_epochs,
            lr_sched_factors = c.lr_sched_factors }:bind(5)
         assert.are.equal(15, #seen)
         for t = 0, 14 do
            assert.are.equal(s:lr_at(t), seen[t + 1].lr)
            assert.are.equal(t, seen[t + 1].step)
            assert.are.equal(15, seen[t + 1].num_steps)
            assert.are.equal(math.floor(t / 5), seen[t + 1].epoch)
         end
         assert.are.same({ s:lr_at(0), s:lr_at(5), s:lr_at(10) }, res.learning_rates)
         local d = cjson.decode(read(res.path))
         assert.are.same(res.learning_rates, d.learning_rates)
         assert.are.equal(c.lr_schedule or "step", d.lr_schedule.name)
         for _, kv in ipairs(s:record()) do
            if kv[1] ~= "lr_schedule" then
               local v = kv[2]
               if type(v) == "table" and getmetatable(v) then v = v.v end
               assert.are.same(v, d.lr_schedule[kv[1]], kv[1])
            end
         end
         assert.matches("__" .. s:folder_suffix():gsub("%p", "%%%0") .. "$", res.folder)
         assert.matches("__lr__2%.e%-01", res.folder)
      end
   end)

   it("the dataset gets the run's seed (train_eval's shuffle follows --random_seed) and --deepobs_compat", function()
      local seen
      run { problem = fake.problem { on_load = function(ds) seen = ds.load_opts end }, optimizer = fake.sgd(),
         lr = 0.1, num_epochs = 1, random_seed = 7 }
      assert.are.equal(7, seen.seed)
      assert.is_falsy(seen.deepobs_compat)
      local opts = cmdline.parse_args({ "fake", "--lr", "0.1", "--deepobs_compat" }, function() return fake.sgd() end)
      assert.is_true(opts.deepobs_compat)
      local res = run { problem = fake.problem { on_load = function(ds) seen = ds.load_opts end },
         optimizer = fake.sgd(), lr = 0.1, num_epochs = 1, deepobs_compat = true }
      assert.is_true(seen.deepobs_compat)
      assert.is_true(cjson.decode(read(res.path)).deepobs_compat)
   end)

   it("the optimizer sees the scheduled lr in each epoch; the folder names the schedule", function()
      local opt = fake.sgd()
      local res = run { problem = fake.problem(), optimizer = opt, lr = 0.2, num_epochs = 3,
         lr_sched_epochs = { 1, 2 }, lr_sched_factors = { 0.5, 0.25 } }
      assert.are.equal(15, #opt.rec.lrs) -- 40 examples / batch 8 = 5 steps per epoch
      for i = 1, 5 do assert.are.equal(0.2, opt.rec.lrs[i]) end
      for i = 6, 10 do assert.are.equal(0.5 * 0.2, opt.rec.lrs[i]) end
      for i = 11, 15 do assert.are.equal(0.25 * 0.2, opt.rec.lrs[i]) end
      assert.are.equal("num_epochs__3__batch_size__8__momentum__0.e+00__use_nesterov__False__"
         .. "lr_schedule__0_2.e-01_1_1.e-01_2_5.e-02", res.folder)
      local d = cjson.decode(read(res.path))
      assert.are.same({ 1, 2 }, d.lr_sched_epochs)
      assert.are.same({ 0.5, 0.25 }, d.lr_sched_factors)
      assert.are.equal(0.2, d.learning_rate)
      -- naming the 1.1 schedule (or none) keeps 1.1's folder names
      local again = run { problem = fake.problem(), optimizer = fake.sgd(), lr = 0.2, num_epochs = 3,
         lr_schedule = "step", lr_sched_epochs = { 1, 2 }, lr_sched_factors = { 0.5, 0.25 }, no_logs = true }
      assert.are.equal(res.folder, again.folder)
      local plain = run { problem = fake.problem(), optimizer = fake.sgd(), lr = 0.2, num_epochs = 3,
         lr_schedule = "constant", no_logs = true }
      assert.matches("__lr__2%.e%-01$", plain.folder)
      assert.is_nil(plain.folder:find("schedule", 1, true))
   end)
end)

describe("training protocol on a fake problem", function()
   it("N+1 evaluations, ceil(steps/interval) logged losses per epoch, each the pre-update loss", function()
      local problem = fake.problem()
      local opt = fake.sgd { record_post = true }
      local loaded
      problem.dataset = fake.dataset { on_load = function(ds) loaded = ds end }
      local res = run { problem = problem, optimizer = opt, lr = 0.3, num_epochs = 3, train_log_interval = 2 }
      assert.are.equal(4, #res.train_losses)
      assert.are.equal(4, #res.test_losses)
      assert.are.equal(4, #res.train_accuracies)
      assert.are.equal(4, #res.test_accuracies)
      assert.are.equal(4, loaded.train_eval.calls)
      assert.are.equal(4, loaded.test.calls)
      assert.are.equal(3, loaded.train.calls)
      assert.are.equal(4 * 2, problem.forwards.train_eval) -- 16 examples / batch 8
      assert.are.equal(4 * 2, problem.forwards.test)
      -- 5 steps per epoch, logged at s = 0, 2, 4: 3 per epoch
      assert.are.equal(9, #res.minibatch_train_losses)
      assert.are.equal(15, opt.rec.steps)
      for e = 0, 2 do
         for k, s in ipairs { 0, 2, 4 } do
            local logged = res.minibatch_train_losses[e * 3 + k]
            local step = e * 5 + s + 1
            assert.are.equal(opt.rec.pre[step], logged) -- the closure's loss, not step's -12345
            assert.are_not.equal(opt.rec.post[step], logged)
         end
      end
      -- the steps ran with grad recording off, and state persisted over the run
      for _, g in ipairs(opt.rec.grad_mode) do assert.is_false(g) end
      assert.are.equal(15, opt.rec.state_n)
      -- training worked (SGD on a convex problem)
      assert.is_true(res.train_losses[4] < res.train_losses[1] - 0.2)
      -- the train shuffle seed differs per epoch and evaluation iterators get none
      assert.are.same({ 42000, 42001, 42002 }, loaded.train.seeds)
      assert.are.same({ false, false, false, false }, loaded.test.seeds)
   end)

   it("interval 1 logs every step, interval 10 once per epoch; the count is exact", function()
      for _, c in ipairs { { 1, 15 }, { 3, 6 }, { 10, 3 } } do
         local res = run { problem = fake.problem(), optimizer = fake.sgd(), lr = 0.1, num_epochs = 3,
            train_log_interval = c[1], no_logs = true }
         assert.are.equal(c[2], #res.minibatch_train_losses)
      end
   end)

   it("epoch-0 values are the untrained model's mean of per-batch objective (with regularizer)", function()
      local problem = fake.problem { weight_decay = 0.05 }
      local res = run { problem = problem, optimizer = fake.sgd(), lr = 0.1, num_epochs = 1, random_seed = 7 }
      dob.manual_seed(7)
      local model = problem.build { weight_decay = 0.05 }
      local ds = problem.dataset.load { batch_size = 8 }
      local l, a = reference_eval(problem, model, ds.train_eval, "train_eval")
      local tl, ta = reference_eval(problem, model, ds.test, "test")
      assert.are.equal(l, res.train_losses[1])
      assert.are.equal(a, res.train_accuracies[1])
      assert.are.equal(tl, res.test_losses[1])
      assert.are.equal(ta, res.test_accuracies[1])
      -- the regularizer is in: without it the loss is smaller
      local plain = fake.problem()
      dob.manual_seed(7)
      local m2 = plain.build {}
      assert.is_true(reference_eval(plain, m2, ds.train_eval, "train_eval") < l - 1e-4)
      -- the problem's default weight decay was used, but the JSON says null (not passed)
      assert.are.equal(0.05, problem.built_with.weight_decay)
      assert.are.equal(cjson.null, cjson.decode(read(res.path)).weight_decay)
      assert.is_nil(res.folder:find("weight_decay", 1, true))
   end)

   it("an explicit weight decay reaches build(), the folder and the JSON", function()
      local problem = fake.problem { weight_decay = 0.05 }
      local res = run { problem = problem, optimizer = fake.sgd(), lr = 0.1, num_epochs = 1, weight_decay = 0 }
      assert.are.equal(0, problem.built_with.weight_decay)
      assert.are.equal(8, problem.built_with.batch_size)
      assert.matches("^num_epochs__1__batch_size__8__weight_decay__0%.e%+00__momentum", res.folder)
      assert.are.equal(0, cjson.decode(read(res.path)).weight_decay)
   end)

   it("same seed, same numbers; another seed, other numbers", function()
      local a = run { problem = fake.problem(), optimizer = fake.sgd(), lr = 0.1, num_epochs = 2, no_logs = true }
      local b = run { problem = fake.problem(), optimizer = fake.sgd(), lr = 0.1, num_epochs = 2, no_logs = true }
      local c = run { problem = fake.problem(), optimizer = fake.sgd(), lr = 0.1, num_epochs = 2, no_logs = true, random_seed = 5 }
      assert.are.same(a.minibatch_train_losses, b.minibatch_train_losses)
      assert.are.same(a.test_losses, b.test_losses)
      assert.are_not.same(a.test_losses, c.test_losses)
   end)

   it("closure{ grad = false } evaluates without touching the gradient; info has per-example losses", function()
      local seen = {}
      local opt = {
         name = "Probe", hyperparams = { { name = "lr", type = "number", help = "lr" } },
         step = function(closure, params, hp)
            local loss, info = closure()
            local g = params.grad_flat:clone()
            local l2 = closure { grad = false }
            seen.same_loss = seen.same_loss or (loss == l2)
            seen.grad_kept = (params.grad_flat - g):abs():max():item() == 0
            seen.grad_nonzero = g:abs():max():item() > 0
            seen.nloss = info.losses:size(1)
            seen.requires_grad = info.losses:requires_grad()
            seen.acc = info.accuracy
            params.flat:add_(params.grad_flat, -hp.lr)
            return loss
         end,
      }
      run { problem = fake.problem(), optimizer = opt, lr = 0.1, num_epochs = 1, no_logs = true }
      assert.is_true(seen.same_loss)
      assert.is_true(seen.grad_kept)
      assert.is_true(seen.grad_nonzero)
      assert.are.equal(8, seen.nloss)
      assert.is_false(seen.requires_grad)
      assert.is_number(seen.acc)
   end)

   it("a problem without accuracy writes no accuracy keys", function()
      local res = run { problem = fake.problem { has_accuracy = false }, optimizer = fake.sgd(), lr = 0.1, num_epochs = 1 }
      assert.is_nil(res.train_accuracies)
      local text = read(res.path)
      assert.is_nil(text:find("accuracies", 1, true))
   end)

   it("problem and optimizer by path, lr from the optimizer's default, hyperparameter checks", function()
      local res = run { problem = "spec/fixtures/fake_problem.lua", optimizer = "spec/fixtures/fake_sgd.lua",
         lr = 0.1, num_epochs = 1, hyperparams = { momentum = 0.5, use_nesterov = true } }
      assert.matches("/fake_softmax/FakeSGD/num_epochs__1__batch_size__8__momentum__5%.e%-01__use_nesterov__True__lr__1%.e%-01/random_seed__42__", res.path)
      local r2 = run { problem = fake.problem(), optimizer = fake.sgd { lr_default = 0.01 }, num_epochs = 1, no_logs = true }
      assert.are.equal(0.01, r2.hp.lr)
      local ok, e = pcall(run, { problem = fake.problem(), optimizer = fake.sgd(), num_epochs = 1 })
      assert.is_false(ok)
      assert.is_true(runner.is_usage_error(e))
      assert.matches("needs a learning rate: add %-%-lr", tostring(e))
      ok, e = pcall(run, { problem = fake.problem(), optimizer = fake.sgd(), lr = 1, hyperparams = { beta = 1 } })
      assert.is_false(ok)
      assert.matches("no hyperparameter 'beta'", tostring(e))
      ok, e = pcall(run, { problem = fake.problem(), optimizer = fake.sgd(), lr = 1, hyperparams = { use_nesterov = 1 } })
      assert.is_false(ok)
      assert.matches("%-%-use_nesterov needs a boolean", tostring(e))
   end)
end)

describe("divergence (DeepOBS 1.2 abort routine)", function()
   it("fills the remaining epochs with the epoch-0 values and marks the file", function()
      -- parameters turn NaN at step 7 (epoch index 1); the epoch's last logged loss is NaN
      local opt = fake.sgd { nan_after = 7 }
      local res = run { problem = fake.problem(), optimizer = opt, lr = 0.1, num_epochs = 5, train_log_interval = 1 }
      assert.is_true(res.diverged)
      assert.are.equal(10, opt.rec.steps) -- stopped after the second epoch
      assert.are.equal(6, #res.train_losses)
      assert.are.equal(6, #res.test_accuracies)
      for i = 3, 6 do
         assert.are.equal(res.train_losses[1], res.train_losses[i])
         assert.are.equal(res.test_losses[1], res.test_losses[i])
         assert.are.equal(res.train_accuracies[1], res.train_accuracies[i])
         assert.are.equal(res.test_accuracies[1], res.test_accuracies[i])
      end
      assert.is_true(res.train_losses[2] == res.train_losses[2]) -- evaluated before the NaN
      local mb = res.minibatch_train_losses
      assert.are.equal(10 + 4, #mb)
      assert.is_true(mb[10] ~= mb[10])
      for i = 11, 14 do assert.are.equal(mb[1], mb[i]) end
      local text = read(res.path)
      assert.matches('"hyperparams": {[^}]*}, "diverged": true, "epoch_times": ', text)
      local d = cjson.decode(text)
      assert.is_true(d.diverged)
      assert.are.equal(2, #d.epoch_times)
   end)

   it("a finite run has no diverged key", function()
      local res = run { problem = fake.problem(), optimizer = fake.sgd(), lr = 0.1, num_epochs = 1 }
      assert.is_false(res.diverged)
      assert.is_nil(read(res.path):find("diverged", 1, true))
   end)
end)

describe("output files", function()
   it("JSON keys in the 1.1 order, the baseline key set plus our extras, values as run", function()
      local res = run { problem = fake.problem(), optimizer = fake.sgd(), lr = 0.1, num_epochs = 2,
         random_seed = 3, train_log_interval = 4, time = os.time { year = 2020, month = 1, day = 2, hour = 3, min = 4, sec = 5 } }
      assert.are.equal(TMP .. "/fake_softmax/FakeSGD/num_epochs__2__batch_size__8__momentum__0.e+00__use_nesterov__False__lr__1.e-01/random_seed__3__2020-01-02-03-04-05.json", res.path)
      assert.are.same({ res.path }, files_under(TMP))
      local text = read(res.path)
      local order = { "train_losses", "test_losses", "minibatch_train_losses", "train_accuracies",
         "test_accuracies", "optimizer", "testproblem", "weight_decay", "batch_size", "num_epochs",
         "learning_rate", "lr_sched_epochs", "lr_sched_factors", "random_seed", "train_log_interval",
         "hyperparams", "epoch_times", "learning_rates", "lr_schedule", "threads", "cpu", "blas_core",
         "command_line", "optimizer_file", "optimizer_sha256", "engine_version", "git_commit", "host", "start_time" }
      local keys = {}
      for k in text:gmatch('"([%w_]+)": ') do
         if k ~= "momentum" and k ~= "use_nesterov" and k ~= "name" and k ~= "lr" then keys[#keys + 1] = k end
      end
      assert.are.same(order, keys)
      local d = cjson.decode(text)
      assert.are.same(res.train_losses, d.train_losses)
      assert.are.same(res.minibatch_train_losses, d.minibatch_train_losses)
      assert.are.equal(4, #d.minibatch_train_losses) -- ceil(5 / 4) per epoch
      assert.are.equal("FakeSGD", d.optimizer)
      assert.are.equal("fake_softmax", d.testproblem)
      assert.are.equal(8, d.batch_size)
      assert.are.equal(2, d.num_epochs)
      assert.are.equal(3, d.random_seed)
      assert.are.same({ momentum = 0, use_nesterov = false }, d.hyperparams)
      assert.are.equal(cjson.null, d.lr_sched_epochs)
      assert.are.equal(2, #d.epoch_times)
      assert.are.equal(dob.get_threads(), d.threads)
      assert.are.equal(dob.version, d.engine_version)
      assert.are.equal(dob.blas_info().corename, d.blas_core)
      assert.matches('"batch_size": 8, "num_epochs": 2, "learning_rate": 0.1, ', text)
      -- the same key set as a real DeepOBS 1.1 file, plus ours
      local f = io.open(BASE .. "/fmnist_2c2d/MomentumOptimizer")
      if f then
         f:close()
         local base = files_under(BASE .. "/fmnist_2c2d/MomentumOptimizer")[1]
         local b = cjson.decode(read(base))
         b.minibatch_train_losses_truncated = nil
         local ours = {}
         for k in pairs(d) do ours[k] = true end
         for k in pairs(b) do
            assert.is_true(ours[k], "missing key " .. k)
            ours[k] = nil
         end
         assert.are.same({ epoch_times = true, learning_rates = true, lr_schedule = true, threads = true,
            engine_version = true, cpu = true, blas_core = true, command_line = true, optimizer_file = true,
            optimizer_sha256 = true, git_commit = true, host = true, start_time = true }, ours)
      end
   end)

   it("a run that fails midway leaves no result (nor a temporary file), only its last checkpoint; --no_logs writes nothing", function()
      local ok, e = pcall(run, { problem = fake.problem { fail_at_forward = 8 }, optimizer = fake.sgd(), lr = 0.1, num_epochs = 3 })
      assert.is_false(ok)
      assert.matches("forward failed on purpose", tostring(e))
      local files = files_under(TMP)
      assert.are.equal(2, #files)
      assert.matches("/random_seed__42%.checkpoint$", files[1])
      assert.matches("its last checkpoint stays at " .. files[1]:gsub("%p", "%%%0"), tostring(e))
      -- and says that it failed, for a sweep to see (see runstate_spec)
      assert.matches("/random_seed__42%.failed$", files[2])
      assert.matches("attempts=1\n.*message=[^\n]*fake problem: forward failed on purpose", read(files[2]))
      fs.rmrf(TMP)
      local res = run { problem = fake.problem(), optimizer = fake.sgd(), lr = 0.1, num_epochs = 1, no_logs = true }
      assert.is_nil(res.path)
      assert.are.same({}, files_under(TMP))
   end)
end)

describe("argument parsing", function()
   local opt = fake.sgd()
   local function parse(list) return cmdline.parse_args(list, function() return opt end) end

   it("DeepOBS 1.1 flags and their aliases", function()
      local o = parse { "fmnist_2c2d", "--bs", "64", "--lr", "1e-3", "-N", "5", "-r", "43", "--wd", "0.002",
         "--lr_sched_epochs", "2", "4", "--lr_sched_factors", "0.1", "0.01", "--train_log_interval", "1",
         "--print_train_iter", "--no_logs", "--data_dir", "d", "--output_dir", "o", "--threads", "2" }
      assert.are.equal("fmnist_2c2d", o.problem)
      assert.are.equal(64, o.batch_size)
      assert.are.equal(1e-3, o.lr)
      assert.are.equal(5, o.num_epochs)
      assert.are.equal(43, o.random_seed)
      assert.are.equal(0.002, o.weight_decay)
      assert.are.same({ 2, 4 }, o.lr_sched_epochs)
      assert.are.same({ 0.1, 0.01 }, o.lr_sched_factors)
      assert.are.equal(1, o.train_log_interval)
      assert.is_true(o.print_train_iter)
      assert.is_true(o.no_logs)
      assert.are.equal("d", o.data_dir)
      assert.are.equal("o", o.output_dir)
      assert.are.equal(2, o.threads)
      o = parse { "--batch_size=32", "--learning_rate", "0.5", "--num_epochs", "0", "--random_seed", "1",
         "--weight_decay", "0", "p" }
      assert.are.equal(32, o.batch_size)
      assert.are.equal(0.5, o.lr)
      assert.are.equal(0, o.num_epochs)
      assert.are.equal(0, o.weight_decay)
      assert.are.equal("p", o.problem)
   end)

   it("booleans: bare flag is true, an explicit word is honoured (no type=bool trap)", function()
      assert.is_true(parse({ "p", "--use_nesterov" }).hyperparams.use_nesterov)
      assert.is_false(parse({ "p", "--use_nesterov", "false" }).hyperparams.use_nesterov)
      assert.is_false(parse({ "p", "--use_nesterov", "False" }).hyperparams.use_nesterov)
      assert.is_true(parse({ "p", "--use_nesterov", "True", "--lr", "1" }).hyperparams.use_nesterov)
      assert.is_false(parse({ "p", "--use_nesterov=0" }).hyperparams.use_nesterov)
      local o = parse { "--use_nesterov", "p" } -- a non-boolean word after a bare flag is the problem
      assert.is_true(o.hyperparams.use_nesterov)
      assert.are.equal("p", o.problem)
      assert.are.equal(0.99, parse({ "p", "--momentum", "0.99" }).hyperparams.momentum)
      assert.are.equal(0.5, parse({ "p", "--opt.momentum", "0.5" }).hyperparams.momentum)
   end)

   it("a hyperparameter named like a runner flag is --opt.NAME; --weight_decay stays the problem's", function()
      local o2 = { name = "W", step = function() end, hyperparams = {
         { name = "lr", type = "number", help = "" }, { name = "weight_decay", type = "number", default = 0.01, help = "" } } }
      local o = cmdline.parse_args({ "p", "--weight_decay", "0", "--opt.weight_decay", "0.1" }, function() return o2 end)
      assert.are.equal(0, o.weight_decay)
      assert.are.equal(0.1, o.hyperparams.weight_decay)
   end)

   it("negative numbers are values, not flags", function()
      local o = parse { "p", "--momentum", "-0.5", "-r", "-3" }
      assert.are.equal(-0.5, o.hyperparams.momentum)
      assert.are.equal(-3, o.random_seed)
   end)

   it("errors name the fix", function()
      local function err(list)
         local ok, e = pcall(parse, list)
         assert.is_false(ok)
         assert.is_true(runner.is_usage_error(e))
         return tostring(e)
      end
      assert.matches("unknown flag %-%-bogus; optimizer FakeSGD takes %-%-momentum, %-%-use_nesterov", err { "p", "--bogus", "1" })
      assert.matches("%-%-lr needs a value", err { "p", "--lr" })
      assert.matches("%-%-lr needs a value", err { "p", "--lr", "--bs", "3" })
      assert.matches("%-%-bs needs an integer, got '1.5'", err { "p", "--bs", "1.5" })
      assert.matches("%-%-lr needs a number, got 'abc'", err { "p", "--lr", "abc" })
      assert.matches("%-%-bs must be at least 1", err { "p", "--bs", "0" })
      assert.matches("%-%-lr_sched_epochs needs one or more numbers", err { "p", "--lr_sched_epochs", "--lr", "1" })
      assert.matches("unexpected argument 'q'", err { "p", "q" })
      assert.matches("%-%-use_nesterov needs true or false, got 'maybe'", err { "p", "--use_nesterov=maybe" })
      local ok, e = pcall(cmdline.parse_args, { "p", "--optimizer", "momentum", "--momentum", "1" })
      assert.is_false(ok)
      assert.matches("%-%-momentum must be in %[0, 1%), got 1", tostring(e))
      assert.matches("%-%-learning_rate is given twice", err { "p", "--lr", "1", "--learning_rate", "2" })
   end)
end)

describe("command line (luajit run.lua)", function()
   local P, O = "spec/fixtures/fake_problem.lua", "--optimizer spec/fixtures/fake_sgd.lua"

   it("runs a problem and writes the result file; one plain line per epoch when not a terminal", function()
      local out, rc = cli(("%s %s --lr 0.1 -N 2 --output_dir %s --momentum 0.9 --use_nesterov false -r 5 --wd 0.001"):format(P, O, TMP))
      assert.are.equal(0, rc)
      local files = files_under(TMP)
      assert.are.equal(1, #files)
      assert.matches("/fake_softmax/FakeSGD/num_epochs__2__batch_size__8__weight_decay__1%.e%-03__momentum__9%.e%-01__use_nesterov__False__lr__1%.e%-01/random_seed__5__%d%d%d%d%-%d%d%-%d%d%-%d%d%-%d%d%-%d%d%.json$", files[1])
      assert.matches("epoch 0/2  train loss %d%.%d+  test loss %d%.%d+  train acc %d%.%d+  test acc %d%.%d+\n", out)
      assert.matches("epoch 2/2  train loss [%d.]+  test loss [%d.]+  train acc [%d.]+  test acc [%d.]+  %d+%.%ds\n", out)
      assert.is_nil(out:find("\r", 1, true))
      local d = cjson.decode(read(files[1]))
      assert.are.equal(0.001, d.weight_decay)
      assert.are.same({ momentum = 0.9, use_nesterov = false }, d.hyperparams)
   end)

   it("--print_train_iter prints each logged loss; --no_logs writes nothing", function()
      local out, rc = cli(("%s %s --lr 0.1 -N 1 --output_dir %s --no_logs --print_train_iter --train_log_interval 2"):format(P, O, TMP))
      assert.are.equal(0, rc)
      local n = 0
      for _ in out:gmatch("minibatch train loss") do n = n + 1 end
      assert.are.equal(3, n)
      assert.are.same({}, files_under(TMP))
   end)

   it("bad arguments: one line naming the fix, exit status 2, no traceback", function()
      local cases = {
         { ("%s %s --lr 0.1 --bogus 3"):format(P, O), "unknown flag %-%-bogus" },
         { ("%s %s --lr"):format(P, O), "%-%-lr needs a value" },
         { ("%s %s --lr abc"):format(P, O), "%-%-lr needs a number, got 'abc'" },
         { ("%s %s --lr 0.1 -N 2.5"):format(P, O), "%-N needs an integer" },
         { ("nosuchproblem %s --lr 0.1"):format(O), "nosuchproblem" },
         { ("%s --optimizer nosuchopt --lr 0.1"):format(P), "nosuchopt" },
         { ("%s %s"):format(P, O), "needs a learning rate: add %-%-lr" },
         { O .. " --lr 0.1", "no test problem given" },
      }
      for _, c in ipairs(cases) do
         local out, rc = cli(c[1])
         assert.are.equal(2, rc, c[1] .. " -> " .. out)
         assert.matches("^run%.lua: error: [^\n]*" .. c[2], out)
         assert.is_nil(out:find("traceback", 1, true))
         assert.matches("^[^\n]*\n$", out) -- one line
      end
      assert.are.same({}, files_under(TMP))
   end)

   it("--help lists the runner flags, and with --optimizer the hyperparameters", function()
      local out, rc = cli("--help")
      assert.are.equal(0, rc)
      assert.matches("%-%-lr_sched_factors", out)
      out, rc = cli(O .. " --help")
      assert.are.equal(0, rc)
      assert.matches("optimizer FakeSGD", out)
      assert.matches("%-%-momentum%s+number%s+default 0%s+unused", out)
      assert.matches("%-%-use_nesterov%s+boolean%s+default false", out)
      assert.matches("%-%-lr%s+number%s+required", out)
   end)

   it("--info prints the layers, output shapes and parameter counts", function()
      local out, rc = cli("--info " .. P)
      assert.are.equal(0, rc, out)
      assert.matches("Linear%(4 %-> 3%)", out)
      assert.matches("output shapes", out)
      assert.matches("%[8, 3%]", out)
      assert.matches("weight%s+%[3, 4%]%s+12\n", out)
      assert.matches("bias%s+%[3%]%s+3\n", out)
      assert.matches("total parameters: 15\n", out)
   end)

   it("--list works or says why not, with status 0 or 1 (never a traceback)", function()
      local out, rc = cli("--list")
      assert.is_true(rc == 0 or rc == 1)
      assert.is_nil(out:find("traceback", 1, true))
      if rc == 0 then assert.matches("problem%s+dataset", out)
      else assert.matches("^run%.lua: error: no test problems", out) end
   end)
end)
