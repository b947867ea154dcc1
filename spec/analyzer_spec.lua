-- deepobs.analyzer: loading results (ours/1.1, 1.2, the port, corrupt files), per-epoch
-- aggregation, best-setting modes, the performance/speed/tuneability table, runtime
-- estimation and the command line (scripts/analyze.lua).
local an = require "deepobs.analyzer"
local results = require "deepobs.analyzer.results"
local select = require "deepobs.analyzer.select"
local tables = require "deepobs.analyzer.tables"
local runtime = require "deepobs.analyzer.runtime"
local rw = require "deepobs.results"
local cjson = require "cjson"
local fs = require "helpers.fs"
local fake = require "fixtures.fake"

local BASE = fs.BASELINES
local TMP = "./.spec_tmp_analyzer"

local function have_baselines()
   local f = io.open(BASE .. "/README.md")
   if f then f:close() return true end
   return false
end

local function close(a, b, tol) return math.abs(a - b) <= (tol or 1e-12) * math.max(1, math.abs(b)) end

-- population mean / std / min / max of a list, by hand
local function stats(xs)
   local s, lo, hi = 0, math.huge, -math.huge
   for _, x in ipairs(xs) do s, lo, hi = s + x, math.min(lo, x), math.max(hi, x) end
   local m = s / #xs
   local q = 0
   for _, x in ipairs(xs) do q = q + (x - m) ^ 2 end
   return m, math.sqrt(q / #xs), lo, hi
end

-- a result file in our / 1.1's format
local function write_11(dir, o)
   fs.mkdir(dir)
   local obj = rw.result_object {
      train_losses = o.train_losses, test_losses = o.test_losses,
      minibatch_train_losses = o.mb or { 1, 2 }, train_accuracies = o.train_acc, test_accuracies = o.test_acc,
      optimizer = o.optimizer or "MomentumOptimizer", testproblem = o.problem or "fmnist_2c2d",
      batch_size = 128, num_epochs = #o.test_losses - 1, learning_rate = o.lr or 0.01,
      random_seed = o.seed, train_log_interval = 1,
      hyperparams = { { "momentum", 0.99, "number" }, { "use_nesterov", false, "boolean" } },
      extra = o.extra,
   }
   local path = ("%s/random_seed__%d__%s.json"):format(dir, o.seed, o.stamp or "2026-01-01-00-00-00")
   fs.write(path, rw.encode(obj))
   return path
end

describe("loading the DeepOBS 1.1 baselines", function()
   local col
   setup(function()
      if have_baselines() then col = results.load(BASE) end
   end)

   it("finds every problem, optimizer, setting and seed file, none skipped", function()
      if not have_baselines() then pending("no " .. BASE) return end
      local files = fs.files_under(BASE)
      local json, settings, optimizers, problems = 0, {}, {}, {}
      for _, f in ipairs(files) do
         local p, o, s = f:match("^" .. BASE:gsub("%p", "%%%0") .. "/([^/]+)/([^/]+)/([^/]+)/[^/]+%.json$")
         if p then
            json = json + 1
            problems[p], optimizers[p .. "/" .. o], settings[p .. "/" .. o .. "/" .. s] = true, true, true
         end
      end
      local function count(t) local n = 0 for _ in pairs(t) do n = n + 1 end return n end
      local c = results.counts(col)
      assert.are.equal(0, #col.skipped)
      assert.are.same({ problems = count(problems), optimizers = count(optimizers),
         settings = count(settings), runs = json }, c)
      assert.are.equal(8, c.problems)
      assert.are.equal(24, c.optimizers)
      -- one setting per optimizer except the lr sweeps (quadratic_deep, fmnist_2c2d Adam)
      assert.are.equal(18, #col.problems.fmnist_2c2d.optimizers.AdamOptimizer.settings)
      assert.are.equal(1, #col.problems.svhn_wrn164.optimizers.MomentumOptimizer.settings)
   end)

   it("loads a problem or optimizer folder on its own too (problem and optimizer come from the files)", function()
      if not have_baselines() then pending("no " .. BASE) return end
      local one = results.load(BASE .. "/fmnist_2c2d/AdamOptimizer")
      assert.are.same({ problems = 1, optimizers = 1, settings = 18, runs = 20 }, results.counts(one))
      assert.are.same({ "fmnist_2c2d" }, results.names(one.problems))
   end)

   it("sorts settings by lr and runs by seed, with hyperparameters and aggregates (README table)", function()
      if not have_baselines() then pending("no " .. BASE) return end
      local adam = col.problems.fmnist_2c2d.optimizers.AdamOptimizer
      for i = 2, #adam.settings do assert.is_true(adam.settings[i - 1].lr < adam.settings[i].lr) end
      local s
      for _, x in ipairs(adam.settings) do if #x.runs == 3 then s = x end end
      assert.are.equal("num_epochs__100__batch_size__128__beta1__9.e-01__beta2__9.99e-01__epsilon__1.e-08__lr__2.5118864315e-04", s.folder)
      assert.are.same({ beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8 }, s.hyperparams)
      assert.are.same({ 42, 43, 44 }, { s.runs[1].seed, s.runs[2].seed, s.runs[3].seed })
      assert.are.equal(100, s.num_epochs)
      assert.are.equal(128, s.batch_size)
      assert.is_nil(s.weight_decay)
      local finals = {}
      for i, r in ipairs(s.runs) do
         local d = cjson.decode(fs.read(r.path))
         finals[i] = d.test_accuracies[101]
      end
      -- the README's rounded values
      assert.are.same({ "0.9294", "0.9229", "0.9253" },
         { ("%.4f"):format(finals[1]), ("%.4f"):format(finals[2]), ("%.4f"):format(finals[3]) })
      local m, sd, lo, hi = stats(finals)
      local st = s.stats.test_accuracies
      assert.are.equal(101, #st.mean)
      assert.are.equal(3, st.n)
      assert.is_true(close(st.mean[101], m) and close(st.std[101], sd))
      assert.are.equal(lo, st.min[101])
      assert.are.equal(hi, st.max[101])
      -- the minibatch losses are the reduced files' first 200
      assert.are.equal(200, #s.stats.minibatch_train_losses.mean)
      -- diverged runs (NaN / inf final loss in 1.1's files): the README's nan and inf rows
      local function div(o)
         local n = 0
         for _, x in ipairs(col.problems.quadratic_deep.optimizers[o].settings) do n = n + x.diverged end
         return n
      end
      assert.are.same({ 9, 8, 0 }, { div("GradientDescentOptimizer"), div("MomentumOptimizer"), div("AdamOptimizer") })
      local summary = results.summary(col)
      assert.matches("quadratic_deep | GradientDescentOptimizer: 18 setting%(s%) with 1%-3 seed%(s%), 9 diverged run%(s%)", summary)
      assert.matches("svhn_wrn164 | AdamOptimizer: 1 setting%(s%) with 3 seed%(s%)\n", summary)
      -- quadratic_deep and the VAEs have no accuracy lists
      assert.is_nil(col.problems.mnist_vae.optimizers.AdamOptimizer.settings[1].stats.test_accuracies)
   end)
end)

describe("loading ours, DeepOBS 1.2's and the port's files, and broken ones", function()
   local col
   setup(function()
      fs.rmrf(TMP)
      local d = TMP .. "/r/fmnist_2c2d/MomentumOptimizer/num_epochs__2__batch_size__128__momentum__9.9e-01__use_nesterov__False__lr__1.e-02"
      -- three seeds with hand-checkable curves; seed 44 logged fewer minibatch losses
      write_11(d, { seed = 42, train_losses = { 2, 1, 0.5 }, test_losses = { 2.5, 1.5, 1.0 },
         train_acc = { 0.1, 0.5, 0.8 }, test_acc = { 0.1, 0.4, 0.7 }, mb = { 3, 2, 1 },
         extra = { { "epoch_times", { 10, 12 } } } })
      write_11(d, { seed = 43, train_losses = { 2, 1.2, 0.7 }, test_losses = { 2.5, 1.7, 1.2 },
         train_acc = { 0.1, 0.45, 0.7 }, test_acc = { 0.1, 0.5, 0.6 }, mb = { 4, 3, 2 },
         extra = { { "epoch_times", { 11, 13 } } } })
      write_11(d, { seed = 44, train_losses = { 2, 0.9, 0.4 }, test_losses = { 2.5, 1.4, 0.9 },
         train_acc = { 0.1, 0.6, 0.9 }, test_acc = { 0.1, 0.6, 0.8 }, mb = { 5, 1 },
         extra = { { "epoch_times", { 9, 11 } } } })

      -- DeepOBS 1.2: optimizer_name, optimizer_hyperparams with the lr, training_params, valid_*
      local d12 = TMP .. "/r/quadratic_deep/SGD/num_epochs__2__batch_size__128__lr__1.e-01__momentum__0.e+00"
      fs.mkdir(d12)
      for seed, tl in pairs { [42] = { 300, 200, 100 }, [43] = { 310, 190, 110 } } do
         fs.write(("%s/random_seed__%d__2020-01-01-00-00-00.json"):format(d12, seed), cjson.encode {
            testproblem = "quadratic_deep", batch_size = 128, num_epochs = 2, random_seed = seed,
            weight_decay = cjson.null, optimizer_name = "SGD",
            optimizer_hyperparams = { lr = 0.1, momentum = 0 },
            training_params = { lr_sched_epochs = { 1 }, lr_sched_factors = { 0.1 } },
            train_losses = { 1, 2, 3 }, valid_losses = { 4, 5, 6 }, test_losses = tl,
            minibatch_train_losses = { 1, 1 } })
      end

      -- the PyTorch port: 1.1's keys, folder floats without the dot; seed 42 rerun later
      local dp = TMP .. "/r/mnist_mlp/AdamW/num_epochs__1__batch_size__128__betas__[0.9, 0.999]__lr__1e-03"
      fs.mkdir(dp)
      local function port(seed, stamp, acc)
         fs.write(("%s/random_seed__%d__%s.json"):format(dp, seed, stamp), cjson.encode {
            train_losses = { 2, 1 }, test_losses = { 2, 1 }, minibatch_train_losses = { 2 },
            train_accuracies = { 0.1, acc }, test_accuracies = { 0.1, acc }, optimizer = "AdamW",
            testproblem = "mnist_mlp", weight_decay = cjson.null, batch_size = 128, num_epochs = 1,
            learning_rate = 0.001, lr_sched_epochs = cjson.null, lr_sched_factors = cjson.null,
            random_seed = seed, train_log_interval = 100, hyperparams = { betas = { 0.9, 0.999 }, weight_decay = 0.01 } })
      end
      port(42, "2025-12-01-10-00-00", 0.5)
      port(42, "2025-12-02-10-00-00", 0.9)

      -- broken files
      local db = TMP .. "/r/fmnist_2c2d/Broken/x"
      fs.mkdir(db)
      fs.write(db .. "/random_seed__1__a.json", '{"train_losses": [1, 2')
      fs.write(db .. "/random_seed__2__a.json", cjson.encode { testproblem = "fmnist_2c2d", optimizer = "Broken",
         num_epochs = 3, learning_rate = 0.1, test_losses = { 1, 2 } })
      fs.write(db .. "/random_seed__3__a.json", cjson.encode { optimizer = "Broken", num_epochs = 1, test_losses = { 1, 2 } })
      fs.write(db .. "/random_seed__4__a.json", cjson.encode { testproblem = "fmnist_2c2d", optimizer = "Broken",
         num_epochs = 1, learning_rate = 0.1, test_losses = { 1, "x" } })
      fs.write(db .. "/random_seed__5__a.json", "")
      -- a problem folder linked in from elsewhere is followed
      local dl = TMP .. "/elsewhere/two_d_beale/SGD/num_epochs__1__batch_size__128__lr__1.e-01"
      write_11(dl, { seed = 42, problem = "two_d_beale", optimizer = "SGD", lr = 0.1, train_losses = { 3, 2 },
         test_losses = { 3, 2 } })
      os.execute("ln -s ../elsewhere/two_d_beale '" .. TMP .. "/r/two_d_beale'")
      col = results.load(TMP .. "/r")
   end)
   teardown(function() fs.rmrf(TMP) end)

   it("aggregates the seeds per epoch: mean, population std, min, max (by hand)", function()
      local s = col.problems.fmnist_2c2d.optimizers.MomentumOptimizer.settings[1]
      assert.are.equal(3, #s.runs)
      assert.are.equal(0.01, s.lr)
      assert.are.same({ momentum = 0.99, use_nesterov = false }, s.hyperparams)
      local st = s.stats.test_accuracies
      local m, sd = stats { 0.7, 0.6, 0.8 }
      assert.is_true(close(st.mean[3], m) and close(st.std[3], sd))
      assert.is_true(close(st.std[3], math.sqrt(2 / 3) * 0.1, 1e-12))
      assert.are.equal(0.6, st.min[3])
      assert.are.equal(0.8, st.max[3])
      assert.is_true(st.std[1] < 1e-15) -- identical values (0.1 three times)
      local tl = s.stats.test_losses
      assert.is_true(close(tl.mean[2], (1.5 + 1.7 + 1.4) / 3))
      -- minibatch losses: aligned to the shortest run (2 values)
      assert.are.same({ 4, 2 }, s.stats.minibatch_train_losses.mean)
      assert.are.same({ 10, 12 }, s.runs[1].data.epoch_times)
   end)

   it("follows symlinked folders and falls back to test_losses without accuracies", function()
      local s = col.problems.two_d_beale.optimizers.SGD.settings[1]
      assert.are.same({ 3, 2 }, s.stats.test_losses.mean)
      assert.are.equal("test_losses", select.metric("two_d_beale", s))
      local t = tables.build(col, nil, { problems = { "two_d_beale" } })
      assert.are.equal("test_losses", t.problems[1].metric)
      assert.are.equal(2, t.problems[1].rows[1].performance)
      assert.are.equal(1, t.problems[1].rows[1].speed)
   end)

   it("reads DeepOBS 1.2's keys into 1.1's names", function()
      local sgd = col.problems.quadratic_deep.optimizers.SGD
      local s = sgd.settings[1]
      assert.are.equal(0.1, s.lr)
      assert.are.same({ momentum = 0 }, s.hyperparams)
      assert.are.same({ 1 }, s.lr_sched_epochs)
      assert.are.same({ 0.1 }, s.lr_sched_factors)
      assert.are.equal("SGD", s.runs[1].data.optimizer)
      assert.are.same({ 305, 195, 105 }, s.stats.test_losses.mean)
      assert.are.same({ 4, 5, 6 }, s.stats.valid_losses.mean)
      assert.is_nil(s.stats.test_accuracies)
   end)

   it("reads the port's files and keeps the newest file of a repeated seed", function()
      local s = col.problems.mnist_mlp.optimizers.AdamW.settings[1]
      assert.are.equal(1, #s.runs)
      assert.are.equal(0.9, s.stats.test_accuracies.mean[2])
      assert.are.same({ 0.9, 0.999 }, s.hyperparams.betas)
      local superseded = false
      for _, k in ipairs(col.skipped) do
         if k.path:find("2025%-12%-01") and k.reason:find("newer") then superseded = true end
      end
      assert.is_true(superseded)
   end)

   it("lists every broken file in skipped with the reason, and never aborts", function()
      local reasons = {}
      for _, k in ipairs(col.skipped) do reasons[k.path:match("random_seed__(%d)__a") or "other"] = k.reason end
      assert.matches("not valid JSON", reasons["1"])
      assert.matches("has 2 values where num_epochs 3 needs 4", reasons["2"])
      assert.matches("testproblem", reasons["3"])
      assert.matches("not a list of numbers", reasons["4"])
      assert.matches("not valid JSON", reasons["5"])
      assert.is_nil(col.problems.fmnist_2c2d.optimizers.Broken)
   end)

   it("raises a clean error for a missing folder", function()
      local ok, err = pcall(results.load, TMP .. "/nope")
      assert.is_false(ok)
      assert.matches("does not exist", err)
   end)
end)

describe("choosing the metric and the best setting", function()
   local function setting(problem, n, curve, metric)
      local runs = {}
      for i = 1, n do runs[i] = { seed = 41 + i, data = {} } end
      return { problem = problem, runs = runs, folder = tostring(n) .. table.concat(curve, "_"),
               stats = { [metric or "test_accuracies"] = { mean = curve, std = {}, n = n } } }
   end

   it("ranks by test loss for the quadratic and the VAEs, test accuracy elsewhere, with 1.2's fallbacks", function()
      assert.are.equal("test_losses", select.metric("quadratic_deep"))
      assert.are.equal("test_losses", select.metric("mnist_vae"))
      assert.are.equal("test_losses", select.metric("fmnist_vae"))
      assert.are.equal("test_accuracies", select.metric("cifar10_3c3d"))
      -- a problem without accuracy falls back to test_losses
      assert.are.equal("test_losses", select.metric("two_d_beale", { stats = { test_losses = {} } }))
      assert.are.equal("valid_losses", select.metric("x", { stats = { valid_losses = {}, test_losses = {} } }, "valid_accuracies"))
      assert.is_true(select.higher_is_better("test_accuracies"))
      assert.is_false(select.higher_is_better("test_losses"))
   end)

   it("final, best and most pick different settings where they should", function()
      local a = setting("p", 1, { 0.1, 0.9, 0.5 })   -- best ever 0.9, final 0.5
      local b = setting("p", 3, { 0.1, 0.6, 0.6 })   -- final 0.6, most seeds
      local c = setting("p", 1, { 0.1, 0.7, 0.7 })   -- best final
      local e = { name = "O", settings = { a, b, c } }
      assert.are.equal(c, select.best(e, "final"))
      assert.are.equal(a, select.best(e, "best"))
      assert.are.equal(b, select.best(e, "most"))
      local _, ranking = select.best(e, "final")
      assert.are.same({ c, b, a }, ranking)
      -- equal seed counts: most falls back to final
      local e2 = { name = "O", settings = { setting("p", 2, { 0, 0.3 }), setting("p", 2, { 0, 0.4 }) } }
      assert.are.equal(e2.settings[2], select.best(e2, "most"))
      -- losses: lower wins; a NaN setting never wins
      local l1 = setting("q", 1, { 5, 0 / 0 }, "test_losses")
      local l2 = setting("q", 1, { 5, 3 }, "test_losses")
      local l3 = setting("q", 1, { 5, 4 }, "test_losses")
      local el = { name = "O", settings = { l1, l2, l3 } }
      assert.are.equal(l2, select.best(el, "final", "test_losses"))
      assert.are.equal(l2, select.best(el, "best", "test_losses"))
      assert.has_error(function() select.best(el, "fastest") end)
      assert.is_nil(select.best({ settings = {} }, "final"))
   end)

   it("on the baselines, final picks Adam's tuned lr on fmnist_2c2d and lr 1e-1 of Adam on quadratic_deep", function()
      if not have_baselines() then pending("no " .. BASE) return end
      local col = results.load(BASE)
      local s = an.best(col.problems.fmnist_2c2d.optimizers.AdamOptimizer, "final")
      assert.are.equal("2.5118864315e-04", rw.float2str(s.lr))
      local q = select.best(col.problems.quadratic_deep.optimizers.AdamOptimizer, "most")
      assert.are.equal("3.9810717055e-02", rw.float2str(q.lr)) -- the only 3-seed setting
      -- by final value every single-seed setting competes: compute the winner by hand
      local want, wv = nil, math.huge
      for _, x in ipairs(col.problems.quadratic_deep.optimizers.AdamOptimizer.settings) do
         local v = x.stats.test_losses.mean[#x.stats.test_losses.mean]
         if v < wv then want, wv = x, v end
      end
      assert.are.equal(want, select.best(col.problems.quadratic_deep.optimizers.AdamOptimizer, "final"))
   end)
end)

describe("the performance / speed / tuneability table", function()
   it("gives the baselines' numbers for fmnist_2c2d, with speed computed by hand", function()
      if not have_baselines() then pending("no " .. BASE) return end
      local base = results.load(BASE)
      local t = an.tables(base, nil, { mode = "final", problems = { "fmnist_2c2d" } })
      assert.are.equal(1, #t.problems)
      local p = t.problems[1]
      assert.are.equal("test_accuracies", p.metric)
      local names = {}
      for i, r in ipairs(p.rows) do names[i] = r.optimizer end
      assert.are.same({ "GradientDescentOptimizer", "MomentumOptimizer", "AdamOptimizer" }, names)
      local adam = p.rows[3]
      assert.are.equal("2.5118864315e-04", rw.float2str(adam.lr))
      assert.are.equal(3, adam.seeds)
      assert.are.equal(18, adam.n_settings)
      -- performance = mean of the three seeds' final accuracies (0.9294, 0.9229, 0.9253 rounded)
      assert.are.equal("0.9258", ("%.4f"):format(adam.performance))
      assert.are.equal("lr 2.51e-04, beta1 0.9, beta2 0.999, epsilon 1e-08", adam.tuneability)
      -- the target is the best final performance among the optimizers: Adam's
      assert.are.equal(adam.performance, p.target)
      -- speed by hand: first epoch index reaching the target, N + 1 = 101 when never
      local sum = 0
      for _, r in ipairs(adam.setting.runs) do
         local curve = cjson.decode(fs.read(r.path)).test_accuracies
         local k = 101
         for i = #curve, 1, -1 do if curve[i] >= p.target then k = i - 1 end end
         sum = sum + k
      end
      assert.are.equal(sum / 3, adam.speed)
      assert.is_true(adam.speed < 101)
      assert.are.equal(101, p.rows[1].speed) -- SGD never reaches Adam's mean (0.9233)
      assert.is_nil(adam.speed_seconds)       -- the baselines have no epoch_times
   end)

   it("measures speed in epochs and seconds against the baselines, in four formats", function()
      fs.rmrf(TMP)
      local d = TMP .. "/mine/fmnist_2c2d/MyOpt/num_epochs__3__batch_size__128__lr__1.e-02"
      write_11(d, { seed = 42, optimizer = "MyOpt", train_losses = { 2, 1, 1, 1 }, test_losses = { 2, 1, 1, 1 },
         train_acc = { 0, 0.5, 0.8, 0.9 }, test_acc = { 0, 0.5, 0.8, 0.9 }, extra = { { "epoch_times", { 10, 20, 30 } } } })
      write_11(d, { seed = 43, optimizer = "MyOpt", train_losses = { 2, 1, 1, 1 }, test_losses = { 2, 1, 1, 1 },
         train_acc = { 0, 0.8, 0.8, 0.8 }, test_acc = { 0, 0.8, 0.8, 0.8 }, extra = { { "epoch_times", { 5, 5, 5 } } } })
      local bd = TMP .. "/base/fmnist_2c2d/AdamOptimizer/num_epochs__3__batch_size__128__lr__1.e-03"
      write_11(bd, { seed = 42, optimizer = "AdamOptimizer", lr = 0.001, train_losses = { 2, 1, 1, 1 },
         test_losses = { 2, 1, 1, 1 }, train_acc = { 0, 0.7, 0.75, 0.75 }, test_acc = { 0, 0.7, 0.75, 0.75 } })
      local mine, base = results.load(TMP .. "/mine"), results.load(TMP .. "/base")
      local t = tables.build(mine, base, { mode = "final" })
      local p = t.problems[1]
      assert.are.equal(0.75, p.target)
      assert.matches("baseline AdamOptimizer", p.target_source)
      assert.are.equal("AdamOptimizer", p.rows[1].optimizer)
      assert.is_true(p.rows[1].baseline)
      local r = p.rows[2]
      assert.are.equal("MyOpt", r.optimizer)
      assert.is_false(r.baseline)
      assert.is_true(close(r.performance, 0.85))
      -- seed 42 reaches 0.75 at epoch 2 (10 + 20 s), seed 43 at epoch 1 (5 s)
      assert.are.equal(1.5, r.speed)
      assert.are.equal(17.5, r.speed_seconds)
      assert.are.equal(2, r.reached)
      -- another metric: train losses (lower is better), 1 for both -> equal
      local tm = tables.build(mine, base, { metric = "train_losses" })
      assert.are.equal("train_losses", tm.problems[1].metric)
      assert.are.equal(1, tm.problems[1].rows[2].performance)
      -- a metric nobody has falls back as 1.2 does (valid_accuracies -> valid_losses -> test_losses)
      assert.are.equal("test_losses", tables.build(mine, base, { metric = "valid_accuracies" }).problems[1].metric)
      -- a target nobody reaches: N + 1 epochs, no seconds
      local t2 = tables.build(mine, base, { targets = { fmnist_2c2d = 0.95 } })
      assert.are.equal(4, t2.problems[1].rows[2].speed)
      assert.is_nil(t2.problems[1].rows[2].speed_seconds)

      local text = an.format(t, "text")
      assert.matches("MyOpt", text)
      assert.matches("AdamOptimizer %(baseline%)", text)
      assert.matches("0%.8500 ± 0%.0500", text)
      local md = an.format(t, "md")
      assert.matches("\n| optimizer | performance |", md)
      assert.matches("\n|---|", md)
      local csv = fs.lines(an.format(t, "csv"))
      assert.are.equal(3, #csv)
      assert.matches("^fmnist_2c2d,test_accuracies,final,0%.75,MyOpt,false,0%.85", csv[3])
      assert.matches(",0%.85%d*,0%.0%d+,1%.5,17%.5,2,2,1,0%.01,\"lr 1%.00e%-02, momentum 0%.99", csv[3])
      local j = cjson.decode(an.format(t, "json"))
      assert.are.equal("final", j.mode)
      assert.are.equal(1.5, j.problems[1].rows[2].speed_epochs)
      assert.are.equal(17.5, j.problems[1].rows[2].speed_seconds)
      assert.are.equal(cjson.null, j.problems[1].rows[1].speed_seconds)
      assert.has_error(function() an.format(t, "xml") end)
      fs.rmrf(TMP)
   end)
end)

describe("runtime estimation", function()
   it("alternates SGD and the optimizer through the runner and reports the ratio", function()
      local order = {}
      local slow = fake.sgd { name = "SlowSGD" }
      local step = slow.step
      slow.step = function(...)
         order[#order + 1] = "slow"
         local t = os.clock()
         while os.clock() - t < 0.002 do end -- a measurable overhead per step
         return step(...)
      end
      local sgd = fake.sgd()
      local sstep = sgd.step
      sgd.step = function(...)
         order[#order + 1] = "sgd"
         return sstep(...)
      end
      local r = runtime.estimate { problem = fake.problem(), optimizer = slow, sgd = sgd, lr = 0.1,
                                   num_epochs = 2, runs = 3, warmup = false }
      assert.are.equal(3, #r.ratios)
      assert.are.equal("SlowSGD", r.optimizer)
      assert.are.equal("fake_softmax", r.problem)
      -- 40 examples / batch 8 = 5 steps per epoch, 2 epochs, alternating per run
      assert.are.equal(60, #order)
      assert.are.same({ "sgd", "sgd" }, { order[1], order[10] })
      assert.are.same({ "slow", "slow", "sgd" }, { order[11], order[20], order[21] })
      local m, sd = runtime.mean_std(r.ratios)
      assert.are.equal(m, r.ratio_mean)
      assert.are.equal(sd, r.ratio_std)
      for i = 1, 3 do assert.is_true(close(r.ratios[i], r.times[i] / r.sgd_times[i])) end
      assert.is_true(r.ratio_mean > 1) -- 10 x 2 ms of busy waiting per run
      assert.is_true(r.train_ratio_mean > r.ratio_mean) -- the overhead is all in the steps
      for i = 1, 3 do
         assert.is_true(r.train_times[i] < r.times[i] and r.sgd_train_times[i] < r.sgd_times[i])
         assert.is_true(close(r.train_ratios[i], r.train_times[i] / r.sgd_train_times[i]))
      end
      assert.matches("training steps only", runtime.format(r))
      assert.matches("overhead: %d+%.%d%d ± %d+%.%d%d", runtime.format(r))
   end)

   it("warms up with one untimed epoch of each unless told not to", function()
      local sgd, n = fake.sgd(), 0
      local step = sgd.step
      sgd.step = function(...) n = n + 1 return step(...) end
      local r = runtime.estimate { problem = fake.problem(), optimizer = fake.sgd(), sgd = sgd, lr = 0.1,
                                   num_epochs = 1, runs = 2 }
      assert.are.equal(2, #r.sgd_times)
      assert.are.equal(5 * 3, n) -- 5 steps per epoch: warm-up + 2 timed runs
   end)
end)

describe("scripts/analyze.lua", function()
   local function run(args)
      local out = fs.sh("luajit scripts/analyze.lua " .. args .. " 2>" .. TMP .. "/err; echo \"rc=$?\"")
      local rc = tonumber(out:match("rc=(%d+)%s*$"))
      return rc, out:gsub("rc=%d+%s*$", ""), fs.read(TMP .. "/err")
   end
   setup(function() fs.rmrf(TMP) fs.mkdir(TMP .. "/empty") end)
   teardown(function() fs.rmrf(TMP) end)

   it("exits 2 with a clear message on bad flags, missing folders and empty ones; --help exits 0", function()
      local rc, out, err = run("--help")
      assert.are.equal(0, rc)
      assert.matches("usage: luajit scripts/analyze.lua RESULTS_DIR", out)
      rc, _, err = run(TMP .. "/missing")
      assert.are.equal(2, rc)
      assert.matches("does not exist", err)
      rc, _, err = run(TMP .. "/empty")
      assert.are.equal(2, rc)
      assert.matches("no result files under", err)
      rc, _, err = run(TMP .. "/empty --frobnicate")
      assert.are.equal(2, rc)
      assert.matches("unknown option %-%-frobnicate", err)
      rc, _, err = run(TMP .. "/empty --mode fastest")
      assert.are.equal(2, rc)
      assert.matches("final, best or most", err)
      rc, _, err = run(TMP .. "/empty --format xml")
      assert.are.equal(2, rc)
      rc, _, err = run("")
      assert.are.equal(2, rc)
      assert.matches("give a results folder", err)
      rc = run(TMP .. "/empty --runtime_epochs 0")
      assert.are.equal(2, rc)
      rc, out = run(TMP .. "/empty --check")
      assert.are.equal(2, rc)
   end)

   it("runs the runtime estimation for optimizer names and files", function()
      local rc, out, err = run("--runtime sgd spec/fixtures/fake_sgd.lua --runtime_problem spec/fixtures/fake_problem.lua"
         .. " --runtime_epochs 1 --runtime_runs 2 --runtime_bs 8 --runtime_lr 0.1")
      assert.are.equal(0, rc, err)
      assert.matches("runtime of GradientDescentOptimizer against SGD on fake_softmax %(1 epochs, batch 8, 2 runs each%)", out)
      assert.matches("runtime of FakeSGD against SGD", out)
      local n = 0
      for _ in out:gmatch("overhead: %d+%.%d+ ± %d+%.%d+") do n = n + 1 end
      assert.are.equal(2, n)
      rc, _, err = run("--runtime nosuchopt --runtime_problem spec/fixtures/fake_problem.lua")
      assert.are.equal(2, rc)
      assert.matches("unknown optimizer 'nosuchopt'", err)
   end)

   it("writes the HTML report through deepobs.analyzer.report when that module is installed", function()
      if not have_baselines() then pending("no " .. BASE) return end
      local has_report = pcall(require, "deepobs.analyzer.report")
      local rc, _, err = run(BASE .. " --problems fmnist_2c2d --out " .. TMP .. "/rep")
      assert.are.equal(0, rc, err)
      if has_report then
         assert.is_truthy(io.open(TMP .. "/rep/index.html"))
      else
         assert.matches("report module %(deepobs%.analyzer%.report%) is not installed", err)
      end
   end)

   it("prints the tables of the baselines in the chosen formats and reports skipped files", function()
      if not have_baselines() then pending("no " .. BASE) return end
      local rc, out, err = run(BASE .. " --problems fmnist_2c2d --no_report --format text,json")
      assert.are.equal(0, rc, err)
      assert.matches("fmnist_2c2d %(P3 F%-MNIST %- CNN%): test_accuracies, mode final", out)
      assert.matches("AdamOptimizer%s+0%.9258 ± 0%.0027%s+89%.33", out)
      assert.not_matches("mnist_vae", out)
      local j = cjson.decode(out:match("\n(%{.*)$"))
      assert.are.equal("fmnist_2c2d", j.problems[1].problem)
      -- a corrupt file beside good ones is named on stderr, the rest still analysed
      local d = TMP .. "/mix/fmnist_2c2d/X/s"
      fs.mkdir(d)
      fs.write(d .. "/random_seed__1__a.json", "{oops")
      os.execute("cp -r '" .. BASE .. "/fmnist_2c2d/MomentumOptimizer' '" .. TMP .. "/mix/fmnist_2c2d/'")
      rc, out, err = run(TMP .. "/mix --no_report --mode most --format md")
      assert.are.equal(0, rc, err)
      assert.matches("skipped .*random_seed__1__a%.json: not valid JSON", err)
      assert.matches("| MomentumOptimizer | 0%.9225 ± 0%.0011 |", out)
      assert.matches("mode most", out)
      rc, out = run(TMP .. "/mix --no_report --target fmnist_2c2d=0.5")
      assert.are.equal(0, rc)
      assert.matches("target 0%.5000 %(given%)", out)
      rc, _, err = run(TMP .. "/mix --no_report --target fmnist_2c2d")
      assert.are.equal(2, rc)
      assert.matches("PROBLEM=NUMBER", err)
      rc, out = run(TMP .. "/mix --no_report --metric train_losses")
      assert.are.equal(0, rc)
      assert.matches("fmnist_2c2d %(P3 F%-MNIST %- CNN%): train_losses", out)
      rc, _, err = run(TMP .. "/mix --metric accuracy")
      assert.are.equal(2, rc)
      assert.matches("unknown %-%-metric", err)
      rc, out = run(TMP .. "/mix --check")
      assert.are.equal(0, rc)
      assert.matches("^fmnist_2c2d | MomentumOptimizer: 1 setting%(s%) with 3 seed%(s%)\nskipped .*: not valid JSON", out)
   end)
end)

describe("the Lua API (require 'deepobs.analyzer')", function()
   it("loads, chooses, tabulates and times through one table of functions", function()
      fs.rmrf(TMP)
      local d = TMP .. "/api/mnist_mlp/MyOpt/num_epochs__1__batch_size__128__lr__1.e-01"
      write_11(d, { seed = 42, problem = "mnist_mlp", optimizer = "MyOpt", lr = 0.1, train_losses = { 2, 1 },
         test_losses = { 2, 1 }, train_acc = { 0.1, 0.9 }, test_acc = { 0.1, 0.9 } })
      local col = an.load(TMP .. "/api")
      assert.are.equal(TMP .. "/api", col.root)
      assert.are.same({ problems = 1, optimizers = 1, settings = 1, runs = 1 }, an.counts(col))
      local s = an.best(col.problems.mnist_mlp.optimizers.MyOpt, "most")
      assert.are.equal(0.1, s.lr)
      assert.are.equal("test_accuracies", an.metric("mnist_mlp", s))
      local t = an.tables(col, nil, { mode = "best" })
      assert.are.equal(0.9, t.problems[1].rows[1].performance)
      assert.matches("MyOpt", an.format(t))
      local r = an.runtime { problem = fake.problem(), optimizer = fake.sgd(), sgd = fake.sgd(), lr = 0.1,
                             num_epochs = 1, runs = 1, warmup = false }
      assert.are.equal(1, #r.ratios)
      fs.rmrf(TMP)
   end)
end)

describe("end to end: the runner's own files", function()
   it("are read back with their hyperparameters, seeds and epoch_times", function()
      local runner = require "deepobs.runner"
      fs.rmrf(TMP)
      local res = {}
      for i, seed in ipairs { 42, 43 } do
         res[i] = runner.run { problem = fake.problem(), optimizer = fake.sgd(), lr = 0.1, num_epochs = 2,
                               random_seed = seed, output_dir = TMP .. "/own", quiet = true, time = 0 }
      end
      local col = an.load(TMP .. "/own")
      assert.are.equal(0, #col.skipped)
      local s = col.problems.fake_softmax.optimizers.FakeSGD.settings[1]
      assert.are.equal(res[1].folder, s.folder)
      assert.are.same({ momentum = 0, use_nesterov = false }, s.hyperparams)
      assert.are.same({ 42, 43 }, { s.runs[1].seed, s.runs[2].seed })
      for e = 1, 3 do
         assert.is_true(close(s.stats.test_losses.mean[e], (res[1].test_losses[e] + res[2].test_losses[e]) / 2))
      end
      assert.are.same(res[2].epoch_times, s.runs[2].data.epoch_times)
      -- a target every seed reaches at epoch 1: seconds = mean of the first epoch times
      local target = math.min(res[1].test_accuracies[2], res[2].test_accuracies[2])
      local t = an.tables(col, nil, { targets = { fake_softmax = target } })
      local r = t.problems[1].rows[1]
      local ks, secs = 0, 0
      for i = 1, 2 do
         local k = res[i].test_accuracies[1] >= target and 0 or 1
         ks = ks + k
         if k == 1 then secs = secs + res[i].epoch_times[1] end
      end
      assert.are.equal(ks / 2, r.speed)
      assert.is_true(close(r.speed_seconds, secs / 2))
      fs.rmrf(TMP)
   end)
end)

describe("scripts/get_baselines.sh", function()
   local T2 = TMP .. "_get"
   local function run(args)
      local ok = os.execute("sh scripts/get_baselines.sh " .. args .. " >" .. T2 .. "/out.txt 2>&1")
      return ok == 0, fs.read(T2 .. "/out.txt")
   end

   it("unpacks the archive's problem folders where --baselines finds them; refuses other archives", function()
      if not have_baselines() then pending("no " .. BASE) return end
      fs.rmrf(T2)
      fs.mkdir(T2 .. "/src/DeepOBS_Baselines-1.0")
      assert(os.execute(("cp -r '%s/fmnist_2c2d' '%s/quadratic_deep' '%s/src/DeepOBS_Baselines-1.0/'"):format(BASE, BASE, T2)) == 0)
      assert(os.execute(("tar czf '%s/b.tar.gz' -C '%s/src' DeepOBS_Baselines-1.0"):format(T2, T2)) == 0)
      local ok, out = run(("--dir=%s/got --from=%s/b.tar.gz"):format(T2, T2))
      assert(ok, out)
      local got, want = results.load(T2 .. "/got"), results.load(BASE)
      for _, p in ipairs { "fmnist_2c2d", "quadratic_deep" } do
         for name, o in pairs(want.problems[p].optimizers) do
            assert.are.equal(#o.settings, #got.problems[p].optimizers[name].settings, p .. " " .. name)
         end
      end
      assert.truthy(out:find("result files in", 1, true))
      -- not a tar.gz, and a tar.gz without result folders
      fs.write(T2 .. "/junk.tar.gz", "not an archive")
      ok, out = run(("--dir=%s/got2 --from=%s/junk.tar.gz"):format(T2, T2))
      assert.is_false(ok)
      assert.truthy(out:find("not a readable .tar.gz", 1, true), out)
      fs.mkdir(T2 .. "/empty/x")
      assert(os.execute(("tar czf '%s/e.tar.gz' -C '%s/empty' x"):format(T2, T2)) == 0)
      ok, out = run(("--dir=%s/got3 --from=%s/e.tar.gz"):format(T2, T2))
      assert.is_false(ok)
      assert.truthy(out:find("holds no DeepOBS result folders", 1, true), out)
      fs.rmrf(T2)
   end)
end)

describe("settings whose runs come from different optimizer files (optimizer_sha256)", function()
   local T3 = TMP .. "_sha"
   local FOLDER = "num_epochs__1__batch_size__128__momentum__9.9e-01__use_nesterov__False__lr__1.e-02"
   local A, B, C = ("a1"):rep(32), ("b2"):rep(32), ("c3"):rep(32)

   -- one setting per case: the optimizer_sha256 of each seed's file (false: no such key,
   -- rw.null: JSON null, a number: not a hash) and the hash counts the warning must name
   local cases = {
      { name = "OneFile", hashes = { A, A, A } },
      { name = "NoKeys", hashes = { false, false } },
      { name = "OneFileSomeWithout", hashes = { A, false, rw.null, A } },
      { name = "NotStrings", hashes = { A, 7, false } },
      { name = "TwoFiles", hashes = { A, B, A }, want = { { A, 2 }, { B, 1 } } },
      { name = "TwoFilesSomeWithout", hashes = { false, B, rw.null, A, B }, want = { { B, 2 }, { A, 1 } } },
      { name = "TwoFilesTie", hashes = { B, A }, want = { { A, 1 }, { B, 1 } } },
      { name = "ThreeFiles", hashes = { C, A, B, C, C, A }, want = { { C, 3 }, { A, 2 }, { B, 1 } } },
   }

   local function run(args)
      local out = fs.sh("luajit scripts/analyze.lua " .. args .. " 2>" .. T3 .. "/err; echo \"rc=$?\"")
      local rc = tonumber(out:match("rc=(%d+)%s*$"))
      return rc, out:gsub("rc=%d+%s*$", ""), fs.read(T3 .. "/err")
   end

   local function pat(s) return (s:gsub("%p", "%%%0")) end

   -- the warning's text for a case, as the user reads it
   local function expected(c)
      local parts = {}
      for i, w in ipairs(c.want) do
         parts[i] = ("%s: %d run%s"):format(w[1]:sub(1, 12), w[2], w[2] == 1 and "" or "s")
      end
      return ("fmnist_2c2d | %s | %s: the runs have %d different optimizer_sha256 values (%s): the optimizer "
         .. "file changed between these runs; the setting mixes %d optimizers"):format(c.name, FOLDER, #c.want,
         table.concat(parts, ", "), #c.want)
   end

   local col
   setup(function()
      fs.rmrf(T3)
      for _, c in ipairs(cases) do
         for i, h in ipairs(c.hashes) do
            write_11(T3 .. "/r/fmnist_2c2d/" .. c.name .. "/" .. FOLDER, { seed = i, optimizer = c.name,
               train_losses = { 2, 1 }, test_losses = { 2, 1 }, train_acc = { 0.1, 0.5 }, test_acc = { 0.1, 0.5 },
               extra = h and { { "optimizer_sha256", h } } or nil })
         end
      end
      col = results.load(T3 .. "/r")
   end)
   teardown(function() fs.rmrf(T3) end)

   it("warns for each setting with two or more hashes, naming them with their run counts", function()
      assert.are.equal(0, #col.skipped)
      local by_optimizer = {}
      for _, w in ipairs(col.warnings) do by_optimizer[w.optimizer] = w end
      local n = 0
      for _, c in ipairs(cases) do
         local s = col.problems.fmnist_2c2d.optimizers[c.name].settings[1]
         assert.are.equal(#c.hashes, #s.runs)
         local w = by_optimizer[c.name]
         if c.want then
            n = n + 1
            assert.is_table(w, c.name)
            assert.are.equal("fmnist_2c2d", w.problem)
            assert.are.equal(FOLDER, w.folder)
            assert.matches("^" .. pat(expected(c)) .. " %(rerun its seeds with one version of the file", w.message)
            local counts = {}
            for i, h in ipairs(s.optimizer_sha256) do counts[i] = { h.hash, h.runs } end
            assert.are.same(c.want, counts)
         else
            assert.is_nil(w, c.name)
         end
      end
      assert.are.equal(n, #col.warnings)
      assert.are.same(results.warnings(col), (function()
         local m = {}
         for i, w in ipairs(col.warnings) do m[i] = w.message end
         return m
      end)())
      assert.are.same({}, results.warnings(col, { "fmnist_2c2d" }, { "OneFile", "NoKeys" }))
      assert.are.same({}, results.warnings(col, { "mnist_mlp" }))
      assert.are.equal(1, #results.warnings(col, nil, { "TwoFiles", "OneFile" }))
   end)

   it("lists the warnings in --check and on stderr beside the tables, only for the chosen optimizers", function()
      local rc, out, err = run(T3 .. "/r --check")
      assert.are.equal(0, rc, err)
      for _, c in ipairs(cases) do
         if c.want then
            assert.matches("\nwarning: " .. pat(expected(c)), out)
         else
            assert.not_matches("warning: fmnist_2c2d | " .. c.name .. " ", out)
         end
      end
      assert.matches("^fmnist_2c2d | NoKeys: 1 setting%(s%) with 2 seed%(s%)\n", out)
      assert.are.equal("", err)

      rc, out, err = run(T3 .. "/r --no_report")
      assert.are.equal(0, rc, err)
      assert.not_matches("warning", out)
      local lines = fs.lines(err)
      local warned = 0
      for _, c in ipairs(cases) do
         if c.want then
            warned = warned + 1
            assert.matches("\nanalyze: warning: " .. pat(expected(c)), "\n" .. err)
         end
      end
      assert.are.equal(warned, #lines)

      rc, out, err = run(T3 .. "/r --no_report --optimizers OneFile NoKeys")
      assert.are.equal(0, rc, err)
      assert.are.equal("", err)
      rc, out, err = run(T3 .. "/r --no_report --optimizers ThreeFiles")
      assert.are.equal(0, rc, err)
      assert.are.same({ "analyze: warning: " .. expected(cases[8]) }, { err:match("^(.-) %(rerun") })
   end)

   it("lists the warnings in the HTML report", function()
      if not pcall(require, "deepobs.analyzer.report") then pending("no deepobs.analyzer.report") return end
      local rc, _, err = run(T3 .. "/r --out " .. T3 .. "/rep --optimizers TwoFiles OneFile")
      assert.are.equal(0, rc, err)
      local html = fs.read(T3 .. "/rep/index.html")
      assert.matches('<h2 id="warnings">Warnings</h2><ul>\n<li>' .. pat(expected(cases[5])), html)
      assert.not_matches(pat(expected(cases[8])), html)
      rc, _, err = run(T3 .. "/r --out " .. T3 .. "/rep2 --optimizers OneFile")
      assert.are.equal(0, rc, err)
      assert.not_matches('id="warnings"', fs.read(T3 .. "/rep2/index.html"))
   end)
end)
