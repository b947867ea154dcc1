-- deepobs.analyzer: loading results (ours/1.1, 1.2, the port, corrupt files), per-epoch
-- aggregation, best-setting modes, the performance/speed/tuneability table and the command
-- line (scripts/analyze.lua); the analyzer loads without the training code.
local an = require "deepobs.analyzer"
local results = require "deepobs.analyzer.results"
local select = require "deepobs.analyzer.select"
local tables = require "deepobs.analyzer.tables"
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
      -- speed by hand: first epoch index reaching the target, averaged over the seeds that do
      local sum, reached = 0, 0
      for _, r in ipairs(adam.setting.runs) do
         local curve = cjson.decode(fs.read(r.path)).test_accuracies
         local k
         for i = #curve, 1, -1 do if curve[i] >= p.target then k = i - 1 end end
         if k then sum, reached = sum + k, reached + 1 end
      end
      assert.are.equal(2, reached)             -- the mean of three seeds: one stays below it
      assert.are.equal(2, adam.reached)
      assert.are.equal(sum / reached, adam.speed)
      -- SGD never reaches Adam's mean (0.9233): no speed at all, never a number
      assert.is_nil(p.rows[1].speed)
      assert.are.equal(0, p.rows[1].reached)
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
      -- a target nobody reaches: no speed, in every format "not reached" / empty / null
      local t2 = tables.build(mine, base, { targets = { fmnist_2c2d = 0.95 } })
      assert.is_nil(t2.problems[1].rows[2].speed)
      assert.is_nil(t2.problems[1].rows[2].speed_seconds)
      assert.are.equal(0, t2.problems[1].rows[2].reached)
      local row2 = an.format(t2, "text"):match("\n  (MyOpt [^\n]*)")
      assert.matches("^MyOpt%s+0%.8500 ± 0%.0500%s+not reached%s+not reached%s+0/2 ", row2)
      assert.matches("\nfmnist_2c2d,test_accuracies,final,0%.95,MyOpt,false,0%.85%d*,0%.0%d+,,,0,2,", an.format(t2, "csv"))
      local j2 = cjson.decode(an.format(t2, "json"))
      assert.are.equal(cjson.null, j2.problems[1].rows[2].speed_epochs)
      -- a target one seed of two reaches (0.85: seed 42 at epoch 3): the mean of that seed, marked (1/2)
      local t3 = tables.build(mine, base, { targets = { fmnist_2c2d = 0.85 } })
      assert.are.equal(3, t3.problems[1].rows[2].speed)
      assert.are.equal(60, t3.problems[1].rows[2].speed_seconds)
      assert.matches("\n  MyOpt%s+0%.8500 ± 0%.0500%s+3%.00 %(1/2%)%s+60%.0 %(1/2%)%s+1/2 ", an.format(t3, "text"))
      -- the rule the settings were chosen by is printed with the table, and is in the JSON
      assert.matches("\n  setting per optimizer: mode final: the setting with the highest final test accuracies %(mean over seeds%)",
         an.format(t, "text"))
      assert.are.equal(select.rule("final", "test_accuracies"), cjson.decode(an.format(t, "json")).problems[1].rule)

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
      for _, bad in ipairs({ 1, "text", {}, { kind = "nonsense", problems = {} }, { problems = 3 } }) do
         assert.has_error(function() an.format(bad, "text") end)
      end
      fs.rmrf(TMP)
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
      assert.matches("AdamOptimizer%s+0%.9258 ± 0%.0027%s+83%.50 %(2/3%)", out)
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
   it("loads, chooses and tabulates through one table of functions", function()
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

---------------------------------------------------------------------------------------------
-- many runs: time to target, performance profiles, tuning curves, the budget, and the
-- printed table and the report choosing the same settings
local target = require "deepobs.analyzer.target"
local profiles = require "deepobs.analyzer.profiles"
local tuning = require "deepobs.analyzer.tuning"
local budget = require "deepobs.analyzer.budget"
local built = require "helpers.plots_results"
local svg_esc = require("deepobs.analyzer.svg").esc

describe("time to target", function()
   -- targets: the baselines' best final mean is Adam's (40 + 42) / 2 = 41 (a loss: <= 41)
   local base = built.collection({ quadratic_deep = {
      AdamOptimizer = { { lr = 1e-3, runs = { { seed = 1, loss = { 100, 60, 50, 40 } }, { seed = 2, loss = { 100, 70, 50, 42 } } } } },
      MomentumOptimizer = { { lr = 1e-2, runs = { { seed = 1, loss = { 100, 80, 50, 45 } } } } },
   } }, "base")
   local col = built.collection({ quadratic_deep = {
      MyOpt = { { lr = 0.1, runs = {
         { seed = 42, loss = { 100, 40, 35, 30 }, epoch_times = { 2, 3, 4 }, threads = 2 },  -- epoch 1, 2 s
         { seed = 43, loss = { 100, 50, 41, 39 }, epoch_times = { 2, 3, 4 }, threads = 2 },  -- epoch 2, 2 + 3 s
         { seed = 44, loss = { 100, 90, 80, 70 }, epoch_times = { 2, 3, 4 }, threads = 2 },  -- never
      } } },
      -- two epochs where the baselines ran three: one seed of two gets there
      ShortOpt = { { lr = 0.5, runs = { { seed = 42, loss = { 100, 45, 43 }, epoch_times = { 1, 1 } },
                                        { seed = 43, loss = { 100, 41, 40 }, epoch_times = { 1, 1 } } } } },
   } }, "mine")

   it("per seed: epochs, training seconds, or 'not reached in N epochs'; the share and the medians (by hand)", function()
      local tt = an.time_to_target(col, base, { mode = "final" })
      local p = tt.problems[1]
      assert.are.equal(41, p.target)
      assert.are.equal("best baseline AdamOptimizer", p.target_source)
      local rows = {}
      for _, r in ipairs(p.rows) do rows[(r.baseline and "b:" or "") .. r.optimizer] = r end
      local my = rows.MyOpt
      assert.are.same({ { seed = 42, epochs = 1, seconds = 2, num_epochs = 3 }, { seed = 43, epochs = 2, seconds = 5, num_epochs = 3 },
         { seed = 44, num_epochs = 3 } }, my.seeds)
      assert.are.equal(2, my.reached); assert.are.equal(3, my.n); assert.are.equal(2 / 3, my.share)
      assert.are.equal(2, my.median_epochs)        -- of 1, 2 and never
      assert.are.equal(5, my.median_seconds)
      assert.are.equal(1.5, my.mean_epochs)
      -- one seed of two: the median seed never got there
      local short = rows.ShortOpt
      assert.are.equal(1, short.reached)
      assert.is_nil(short.median_epochs)
      assert.are.same({ seed = 42, num_epochs = 2 }, short.seeds[1])
      -- the baseline has no epoch_times: epochs but no seconds
      local adam = rows["b:AdamOptimizer"]
      assert.are.same({ { seed = 1, epochs = 3, num_epochs = 3 }, { seed = 2, num_epochs = 3 } }, adam.seeds)
      assert.are.equal(0, rows["b:MomentumOptimizer"].reached)

      local text = an.format(tt, "text")
      assert.matches("^quadratic_deep %(P1 Quadratic Deep%): time until test_losses <= 41%.0000 %(best baseline AdamOptimizer%)", text)
      assert.matches("\n  MyOpt%s+2/3 %(67%%%)%s+2%s+5%.0%s+42: 1 %(2%.0 s%), 43: 2 %(5%.0 s%), 44: not reached in 3 epochs\n", text)
      assert.matches("\n  ShortOpt%s+1/2 %(50%%%)%s+not reached%s+not reached%s+42: not reached in 2 epochs, 43: 1 %(1%.0 s%)", text)
      assert.matches("\n  AdamOptimizer %(baseline%)%s+1/2 %(50%%%)%s+not reached%s+not reached%s+1: 3, 2: not reached in 3 epochs", text)
      assert.matches("| MyOpt | 2/3 (67%) | 2 | 5.0 |", an.format(tt, "md"), 1, true)
      local csv = fs.lines(an.format(tt, "csv"))
      assert.are.equal("problem,metric,target,target_source,optimizer,baseline,setting,seed,reached,epochs,seconds,num_epochs", csv[1])
      local mine = {}
      for _, l in ipairs(csv) do if l:find(",MyOpt,", 1, true) then mine[#mine + 1] = l end end
      assert.are.same({ "quadratic_deep,test_losses,41,best baseline AdamOptimizer,MyOpt,false,setting1,42,true,1,2,3",
         "quadratic_deep,test_losses,41,best baseline AdamOptimizer,MyOpt,false,setting1,43,true,2,5,3",
         "quadratic_deep,test_losses,41,best baseline AdamOptimizer,MyOpt,false,setting1,44,false,,,3" }, mine)
      local j = cjson.decode(an.format(tt, "json"))
      assert.are.equal("time_to_target", j.kind)
      local jr
      for _, r in ipairs(j.problems[1].rows) do if r.optimizer == "MyOpt" then jr = r end end
      assert.are.equal(2, jr.seeds_reached)
      assert.are.same({ seed = 44, reached = false, epochs = cjson.null, seconds = cjson.null, num_epochs = 3 }, jr.per_seed[3])
   end)

   it("a given target replaces the baselines'; without baselines the best of the results sets it", function()
      local tt = an.time_to_target(col, base, { targets = { quadratic_deep = 80 } })
      assert.are.equal("given", tt.problems[1].target_source)
      for _, r in ipairs(tt.problems[1].rows) do
         if r.optimizer == "MyOpt" then assert.are.same({ 1, 1, 2 }, { r.seeds[1].epochs, r.seeds[2].epochs, r.seeds[3].epochs }) end
      end
      local own = an.time_to_target(col, nil)
      -- ShortOpt's final mean (43 + 40) / 2 beats MyOpt's (30 + 39 + 70) / 3
      assert.are.equal("best ShortOpt", own.problems[1].target_source)
      assert.are.equal(41.5, own.problems[1].target)
   end)

   it("median: nil stands for never; the median seed decides (more than half must reach)", function()
      local cases = {
         { {}, 0, nil }, { { 3 }, 1, 3 }, { { nil }, 1, nil }, { { 1, 3 }, 2, 2 }, { { 1, nil }, 2, nil },
         { { 5, 1, nil }, 3, 5 }, { { nil, nil, 2 }, 3, nil }, { { 4, 1, 2, 3 }, 4, 2.5 }, { { 4, nil, 2, 3 }, 4, 3.5 },
      }
      for _, c in ipairs(cases) do
         assert.are.equal(c[3], target.median(c[1], c[2]), cjson.encode(c))
      end
   end)
end)

describe("performance profiles", function()
   -- a time-to-target table by hand: problem -> optimizer -> median epochs (false: not
   -- reached; absent: no runs) and seconds
   local function tt_of(spec, order)
      local tt = { problems = {} }
      for _, pn in ipairs(order) do
         local rows = {}
         for _, on in ipairs({ "A", "B", "C" }) do
            local v = spec[pn][on]
            if v ~= nil then
               rows[#rows + 1] = { optimizer = on, baseline = false, median_epochs = v[1] or nil, median_seconds = v[2] }
            end
         end
         tt.problems[#tt.problems + 1] = { name = pn, rows = rows }
      end
      return tt
   end
   local spec = {
      P1 = { A = { 10, 100 }, B = { 20 }, C = { 40, 200 } },        -- B reached, without seconds
      P2 = { A = { false }, B = { 5, 50 }, C = { 6, 30 } },
      P3 = { A = { false }, B = { false }, C = { false } },          -- nobody
      P4 = { A = { 0, 0 }, B = { 3, 9 }, C = { false } },            -- met before training
      P5 = { A = { 8, 80 }, B = { 12, 90 } },                        -- C has no runs
   }
   local order = { "P1", "P2", "P3", "P4", "P5" }

   it("epochs: ratios to the fastest, rho(tau) and the notes, against a hand computation", function()
      local pr = profiles.build(tt_of(spec, order))
      assert.are.equal("epochs", pr.time)
      assert.are.same({ "P1", "P2", "P3", "P5" }, pr.problems)      -- P4 left out
      local e = {}
      for _, x in ipairs(pr.entries) do e[x.optimizer] = x end
      local inf = math.huge
      assert.are.same({ P1 = 1, P2 = inf, P3 = inf, P5 = 1 }, e.A.ratios)
      assert.are.same({ P1 = 2, P2 = 1, P3 = inf, P5 = 1.5 }, e.B.ratios)
      assert.are.same({ P1 = 4, P2 = 1.2, P3 = inf, P5 = inf }, e.C.ratios)
      local want = {   -- tau = 1, 1.25, 1.5, 2, 4, and reached at all
         A = { 0.5, 0.5, 0.5, 0.5, 0.5, 0.5 },
         B = { 0.25, 0.25, 0.5, 0.75, 0.75, 0.75 },
         C = { 0, 0.25, 0.25, 0.25, 0.5, 0.5 },
      }
      for name, w in pairs(want) do
         local got = {}
         for i, tau in ipairs({ 1, 1.25, 1.5, 2, 4, math.huge }) do got[i] = profiles.rho(e[name], tau, 4) end
         assert.are.same(w, got, name)
      end
      local notes = table.concat(pr.notes, "\n")
      assert.matches("C has no runs on P5: counted as not reaching the target there", notes)
      assert.matches("no optimizer reaches the target on P3: it counts as failed for every optimizer", notes)
      assert.matches("P4 is left out: its target is met before training", notes)
      -- the staircase of B: up at 1.5 and 2; tau_max past C's ratio 4
      assert.are.equal(5, profiles.tau_max(pr))
      local xs, ys = profiles.steps(pr, e.B, 5)
      assert.are.same({ 1, 1.5, 1.5, 2, 2, 5 }, xs)
      assert.are.same({ 0.25, 0.25, 0.5, 0.5, 0.75, 0.75 }, ys)
      -- the table
      local text = profiles.text(pr)
      assert.matches("\n  B%s+0%.25%s+0%.25%s+0%.50%s+0%.75%s+0%.75%s+0%.75%s+2%.00%s+1%.00%s+not reached%s+1%.50\n", text)
      local csv = fs.lines(profiles.csv(pr))
      assert.are.equal("C,false,P5,epochs,inf,8,inf", csv[#csv])
      local j = cjson.decode(profiles.json(pr))
      assert.are.same({ 0.25, 0.25, 0.5, 0.75, 0.75 }, j.entries[2].rho)
      assert.are.equal(cjson.null, j.entries[1].ratios.P2)
   end)

   it("seconds: an optimizer without seconds where it reached the target is left out, and said so", function()
      local pr = profiles.build(tt_of(spec, order), { time = "seconds" })
      local names = {}
      for i, x in ipairs(pr.entries) do names[i] = x.optimizer end
      assert.are.same({ "A", "C" }, names)
      assert.matches("B is left out: its runs have no epoch_times", table.concat(pr.notes, "\n"))
      assert.are.same({ P1 = 1, P2 = math.huge, P3 = math.huge, P5 = 1 }, pr.entries[1].ratios)
      assert.are.same({ P1 = 2, P2 = 1, P3 = math.huge, P5 = math.huge }, pr.entries[2].ratios)
   end)

   it("rejects an unknown time unit, and is built end to end from results", function()
      for _, bad in ipairs({ "minutes", "", "Epochs", 3, true }) do
         assert.has_error(function() profiles.build({ problems = {} }, { time = bad }) end)
      end
      local col = built.collection({
         quadratic_deep = { X = { { lr = 1, runs = { { loss = { 9, 5, 1 } } } } }, Y = { { lr = 1, runs = { { loss = { 9, 3, 2 } } } } } },
         mnist_vae = { X = { { lr = 1, runs = { { loss = { 9, 8, 7, 6, 5 } } } } }, Y = { { lr = 1, runs = { { loss = { 9, 5, 4, 3, 2 } } } } } },
      })
      -- targets: best own final, 1 on P1 (X at epoch 2, Y never), 2 on P2 (Y at epoch 4, X never)
      local pr = an.profiles(col, nil)
      assert.are.same({ "quadratic_deep", "mnist_vae" }, pr.problems)
      assert.are.same({ quadratic_deep = 1, mnist_vae = math.huge }, pr.entries[1].ratios)
      assert.are.same({ quadratic_deep = math.huge, mnist_vae = 1 }, pr.entries[2].ratios)
      assert.are.equal("profile", pr.kind)
      assert.matches("rho%(1%)", an.format(pr))
   end)
end)

describe("tuning curves", function()
   -- every order of the values, by brute force: the best of the first k, sorted best first;
   -- the q-quantile is the first of those at which the share reaches q
   local function brute(values, higher, k)
      local n, outcomes = #values, {}
      local perm, used = {}, {}
      local function better(a, b)
         if a ~= a then return false end
         if b ~= b then return true end
         return higher and a > b or (not higher and a < b)
      end
      local function rec(d)
         if d > n then
            local best = perm[1]
            for i = 2, k do if better(perm[i], best) then best = perm[i] end end
            outcomes[#outcomes + 1] = best
            return
         end
         for i = 1, n do
            if not used[i] then
               used[i], perm[d] = true, values[i]
               rec(d + 1)
               used[i] = false
            end
         end
      end
      rec(1)
      table.sort(outcomes, better)
      local function q(p)
         for i, v in ipairs(outcomes) do
            if i / #outcomes >= p - 1e-12 then return v end
         end
      end
      return q(0.25), q(0.5), q(0.75)
   end
   local function same(a, b) return a == b or (a ~= a and b ~= b) end

   it("by hand for four losses: the median of one trial is the second best, of two the best", function()
      local c = tuning.curve({ 3, 1, 4, 2 }, false)
      assert.are.same({ 1, 2, 3, 4 }, c.sorted)
      assert.are.same({ 1, 1, 1, 1 }, c.good)
      assert.are.same({ 2, 1, 1, 1 }, c.median)
      assert.are.same({ 3, 2, 1, 1 }, c.bad)
      -- P(best of 2 among the best 1) = 1 - C(3,2)/C(4,2) = 1/2
      assert.are.equal(0.5, tuning.p_within(4, 2, 1))
   end)

   it("equals the quartiles over all n! orders, for losses and accuracies, with ties and diverged trials", function()
      local cases = {
         { { 5, 3, 8, 1, 9, 2 }, false }, { { 0.7, 0.9, 0.1, 0.9, 0.5 }, true }, { { 2, 0 / 0, 1, 3, 0 / 0 }, false },
         { { 0.3, 0 / 0, 0.6, 0.6, 0.2, 0.8 }, true }, { { 4 }, false }, { { 1, 1, 1 }, true },
      }
      for _, case in ipairs(cases) do
         local values, higher = case[1], case[2]
         local c = tuning.curve(values, higher)
         assert.are.equal(#values, c.n)
         for k = 1, #values do
            local g, m, b = brute(values, higher, k)
            local label = ("%s k=%d"):format(cjson.encode((function()
               local t = {}
               for i, v in ipairs(values) do t[i] = v == v and v or "nan" end
               return t
            end)()), k)
            assert.is_true(same(g, c.good[k]), label .. " good")
            assert.is_true(same(m, c.median[k]), label .. " median")
            assert.is_true(same(b, c.bad[k]), label .. " bad")
         end
         -- all n trials: every order has found the best
         assert.is_true(same(c.sorted[1], c.median[#values]))
      end
   end)

   it("per problem and optimizer from the results: trials are settings valued as the mode ranks them", function()
      local col = built.collection({ fmnist_2c2d = {
         X = { { lr = 0.1, runs = { { acc = { 0.1, 0.9, 0.5 }, loss = { 2, 1, 1 } } } },
               { lr = 0.2, runs = { { acc = { 0.1, 0.6, 0.6 }, loss = { 2, 1, 1 } } } },
               { lr = 0.3, runs = { { acc = { 0.1, 0.7, 0.7 }, loss = { 2, 1, 1 } } } } },
      } })
      local tc = an.tuning(col, nil, { mode = "final" })
      assert.are.equal("tuning", tc.kind)
      local r = tc.problems[1].rows[1]
      assert.are.same({ 0.5, 0.6, 0.7 }, r.values)
      assert.are.same({ 0.6, 0.7, 0.7 }, r.curve.median)
      local best = an.tuning(col, nil, { mode = "best" }).problems[1].rows[1]
      assert.are.same({ 0.9, 0.6, 0.7 }, best.values)
      assert.are.same({ 0.7, 0.9, 0.9 }, best.curve.median)
      local text = an.format(tc)
      assert.matches("best final test_accuracies after k tuning trials", text)
      -- [good, bad]: for an accuracy the higher value first
      assert.matches("\n  X%s+3%s+k=1: 0%.6000 %[0%.7000, 0%.5000%]; k=2: 0%.7000 %[0%.7000, 0%.6000%]; k=3: 0%.7000 %[0%.7000, 0%.7000%]", text)
      local csv = fs.lines(an.format(tc, "csv"))
      assert.are.equal(4, #csv)
      assert.are.equal("fmnist_2c2d,test_accuracies,X,false,3,1,0.6,0.7,0.5", csv[2])
      assert.are.same({ 0.6, 0.7, 0.7 }, cjson.decode(an.format(tc, "json")).problems[1].rows[1].median)
   end)
end)

describe("the budget", function()
   it("counts trials, seeds and runs, and CPU hours as epoch_times x threads (by hand)", function()
      local col = built.collection({
         quadratic_deep = { Opt1 = {
            { lr = 1, runs = { { seed = 42, loss = { 3, 2, 1 }, epoch_times = { 1, 2 }, threads = 2 },
                               { seed = 43, loss = { 3, 2, 1 }, epoch_times = { 1, 2 }, threads = 2 } } },
            { lr = 2, runs = { { seed = 44, loss = { 3, 2 }, epoch_times = { 10 }, threads = 4 } } },
            { lr = 3, runs = { { seed = 45, loss = { 3, 2 }, epoch_times = { 7 } } } },   -- no threads: not counted
         } },
         mnist_vae = { Opt2 = { { lr = 1, runs = { { seed = 42, loss = { 3, 2 }, epoch_times = { 3600 }, threads = 1 },
                                                  { seed = 50, loss = { 3, 2 } } } } } },     -- no epoch_times
      })
      local b = an.budget(col)
      assert.are.equal("budget", b.kind)
      local r1, r2 = b.rows[2], b.rows[1]            -- sorted by problem name
      assert.are.equal("quadratic_deep", r1.problem)
      assert.are.same({ 3, { 42, 43, 44, 45 }, 4, 1, 2, 1 }, { r1.trials, r1.seeds, r1.runs, r1.min_seeds, r1.max_seeds, r1.uncounted })
      assert.is_true(close(r1.train_hours, (3 + 3 + 10) / 3600))
      assert.is_true(close(r1.cpu_hours, (6 + 6 + 40) / 3600))
      assert.are.same({ "mnist_vae", 1, { 42, 50 }, 2, 1 }, { r2.problem, r2.trials, r2.seeds, r2.runs, r2.uncounted })
      assert.are.equal(1, r2.cpu_hours)
      local t = b.total
      assert.are.same({ 2, 2, 4, 6, 2 }, { t.problems, t.optimizers, t.trials, t.runs, t.uncounted })
      assert.is_true(close(t.cpu_hours, 1 + 52 / 3600))
      local text = an.format(b)
      assert.matches("^budget: trials = settings tried, seeds = distinct random seeds; CPU hours = training time", text)
      assert.matches("evaluation, data loading and start%-up are not counted", text)
      assert.matches("\n  quadratic_deep%s+Opt1%s+3%s+42%-45%s+1%-2%s+4%s+0%.00444%s+0%.0144%s+1\n", text)
      assert.matches("\n  total%s+2 optimizers%s+4%s+6%s+", text)
      assert.matches("^total,,4,,6,,,1%.00444%d*,1%.01444%d*,2$", fs.lines(an.format(b, "csv"))[4])
      local j = cjson.decode(an.format(b, "json"))
      assert.are.same({ 42, 43, 44, 45 }, j.rows[2].seeds)
      assert.are.equal(2, j.total.runs_not_counted)
      -- filters as the tables
      assert.are.equal(1, #an.budget(col, { problems = { "mnist_vae" } }).rows)
      assert.are.equal(0, #an.budget(col, { optimizers = { "Nobody" } }).rows)
      -- times or threads that make no sense are never summed: the run is not counted, and
      -- time to target has epochs but no seconds
      local bad = { { { 1, 0 / 0 }, 1 }, { { 1, -2 }, 1 }, { { math.huge }, 1 }, { { 1, 2 }, 0 }, { { 1, 2 }, -1 },
                    { { 1, 2 }, 1.5 }, { { 1, 2 }, "2" }, { { 1, 2 }, math.huge }, { { 1, 2 }, 0 / 0 }, { { 1, "x" }, 1 } }
      for i, case in ipairs(bad) do
         local c = built.collection({ quadratic_deep = { O = { { lr = 1, runs = {
            { seed = 1, loss = { 3, 1, 1 }, epoch_times = case[1], threads = case[2] } } } } } })
         local bb = an.budget(c)
         assert.are.same({ 1, 0, 0 }, { bb.total.uncounted, bb.total.cpu_hours, bb.total.train_hours }, "case " .. i)
         local tt = an.time_to_target(c, nil, { targets = { quadratic_deep = 1 } })
         local sd = tt.problems[1].rows[1].seeds[1]
         assert.are.equal(1, sd.epochs)
         if type(case[1][1]) ~= "number" or case[1][1] ~= case[1][1] or case[1][1] < 0 or case[1][1] == math.huge then
            assert.is_nil(sd.seconds, "case " .. i)
         end
      end
      assert.are.equal("42, 50", budget.seeds_text({ 42, 50 }))
      assert.are.equal("1-3, 7, 9, 10", budget.seeds_text({ 1, 2, 3, 7, 9, 10 }))
   end)
end)

describe("the printed table and the report choose the same setting by the same rule", function()
   local T4 = TMP .. "_same"
   local function run(args)
      local out = fs.sh("luajit scripts/analyze.lua " .. args .. " 2>" .. T4 .. "/err; echo \"rc=$?\"")
      local rc = tonumber(out:match("rc=(%d+)%s*$"))
      return rc, out:gsub("rc=%d+%s*$", ""), fs.read(T4 .. "/err")
   end
   -- one setting per folder: { lr, seeds, accuracy curve }; final / best / most pick different ones
   local function write_setting(root, optimizer, lr, seeds, acc)
      local d = ("%s/fmnist_2c2d/%s/lr_%g"):format(root, optimizer, lr)
      for i = 1, seeds do
         write_11(d, { seed = 41 + i, optimizer = optimizer, lr = lr, train_losses = { 2, 1, 1 }, test_losses = { 2, 1, 1 },
            train_acc = acc, test_acc = acc })
      end
   end
   setup(function()
      fs.rmrf(T4)
      write_setting(T4 .. "/r", "MyOpt", 0.1, 1, { 0.1, 0.9, 0.5 })   -- best ever
      write_setting(T4 .. "/r", "MyOpt", 0.2, 3, { 0.1, 0.6, 0.6 })   -- most seeds
      write_setting(T4 .. "/r", "MyOpt", 0.3, 1, { 0.1, 0.7, 0.7 })   -- best final
      write_setting(T4 .. "/b", "AdamOptimizer", 0.01, 3, { 0.1, 0.55, 0.55 }) -- most seeds
      write_setting(T4 .. "/b", "AdamOptimizer", 0.02, 1, { 0.1, 0.65, 0.65 }) -- best final and best
   end)
   teardown(function() fs.rmrf(T4) end)

   -- the cells of the row of an optimizer in an HTML table of a class
   local function html_row(html, class, label)
      local tbl = html:match('<table class="' .. class .. '">(.-)</table>')
      for tr in tbl:gmatch("<tr>(.-)</tr>") do
         local cells = {}
         for td in tr:gmatch("<td[^>]*>(.-)</td>") do cells[#cells + 1] = td:gsub("<[^>]*>", "") end
         if cells[1] == label then return cells end
      end
   end

   it("in every mode, for the results and the baselines alike, and both name the rule", function()
      local want = { final = { 0.3, 0.02 }, best = { 0.1, 0.02 }, most = { 0.2, 0.01 } }
      for mode, lrs in pairs(want) do
         local rc, out, err = run(("%s/r --baselines %s/b --mode %s --out %s/rep_%s"):format(T4, T4, mode, T4, mode))
         assert.are.equal(0, rc, err)
         local rule = select.rule(mode, "test_accuracies")
         assert.matches("setting per optimizer: " .. rule:gsub("%p", "%%%0"), out)
         local my = out:match("\n  (MyOpt [^\n]*)")
         local adam = out:match("\n  (AdamOptimizer %(baseline%)[^\n]*)")
         assert.is_truthy(my:find(("lr %.2e, momentum"):format(lrs[1]), 1, true), mode .. ": " .. my)
         assert.is_truthy(adam:find(("lr %.2e, momentum"):format(lrs[2]), 1, true), mode .. ": " .. adam)
         local index = fs.read(("%s/rep_%s/index.html"):format(T4, mode))
         local page = fs.read(("%s/rep_%s/fmnist_2c2d.html"):format(T4, mode))
         for _, html in ipairs({ index, page }) do
            assert.is_truthy(html:find(svg_esc(rule), 1, true), mode)
            -- the report's rows are the printed rows, cell for cell
            local hm = html_row(html, "chosen", "MyOpt")
            local ha = html_row(html, "chosen", "AdamOptimizer (baseline)")
            assert.is_truthy(hm[#hm]:find(("lr %.2e, momentum"):format(lrs[1]), 1, true), mode)
            assert.is_truthy(ha[#ha]:find(("lr %.2e, momentum"):format(lrs[2]), 1, true), mode)
            for _, c in ipairs(hm) do assert.is_truthy(my:find(c:gsub("&plusmn;", "±"), 1, true), c) end
         end
         -- the figures draw those settings: the legend names their lr and seed count
         assert.is_truthy(page:find(("MyOpt (lr %.2e, %d run"):format(lrs[1], lrs[1] == 0.2 and 3 or 1), 1, true), mode)
         assert.is_truthy(page:find(("AdamOptimizer (baseline, lr %.2e"):format(lrs[2]), 1, true), mode)
      end
   end)

   it("--show prints the chosen tables in each format; bad values of --show and --profile_time exit 2", function()
      local rc, out, err = run(T4 .. "/r --baselines " .. T4 .. "/b --no_report --show all")
      assert.are.equal(0, rc, err)
      assert.matches("fmnist_2c2d %(P3 F%-MNIST %- CNN%): test_accuracies, mode final", out)
      assert.matches("\nfmnist_2c2d %(P3 F%-MNIST %- CNN%): time until test_accuracies >= 0%.6500", out)
      assert.matches("\nperformance profile over 1 problem: time = median over seeds of the epochs", out)
      assert.matches("\nfmnist_2c2d %(P3 F%-MNIST %- CNN%): best final test_accuracies after k tuning trials", out)
      assert.matches("\nbudget: trials = settings tried", out)
      rc, out = run(T4 .. "/r --no_report --show budget,target --format json")
      assert.are.equal(0, rc)
      local kinds = {}
      for l in out:gmatch("[^\n]+") do kinds[#kinds + 1] = cjson.decode(l).kind end
      assert.are.same({ "budget", "time_to_target" }, kinds)
      rc, out = run(T4 .. "/r --no_report --show profile --profile_time seconds")
      assert.are.equal(0, rc)
      assert.matches("seconds of training %(epoch_times%)", out)
      assert.matches("MyOpt is left out: its runs have no epoch_times", out)
      for _, bad in ipairs({ "--show", "--show perf", "--show all,bogus", "--show ''", "--profile_time",
                             "--profile_time hours", "--profile_time Epochs", "--show target --profile_time 3" }) do
         rc, _, err = run(T4 .. "/r --no_report " .. bad)
         assert.are.equal(2, rc, bad)
         assert.matches("analyze: .*see luajit scripts/analyze.lua %-%-help", err, nil, bad)
      end
   end)
end)

describe("the analyzer depends on results only (spec/fixtures/analyzer_guard.lua)", function()
   local T5 = TMP .. "_rule"
   local LUA_PATH = "package.path = './lua/?.lua;./lua/?/init.lua;./?.lua;./?/init.lua;' .. package.path"
   local GUARD = "dofile('spec/fixtures/analyzer_guard.lua')"

   -- runs `script` (a file) in a fresh luajit under the guard; returns rc, stdout, stderr
   local function guarded(script, args)
      local out = fs.sh(("luajit -e %q -e %q %s %s 2>%s/err; echo \"rc=$?\""):format(LUA_PATH, GUARD, script, args or "", T5))
      return tonumber(out:match("rc=(%d+)%s*$")), out:gsub("rc=%d+%s*$", ""), fs.read(T5 .. "/err")
   end

   -- module names of the .lua files in `dir` (a folder under lua/ or the repository root)
   local function modules_in(dir, prefix)
      local names = {}
      for _, l in ipairs(fs.lines(fs.sh("ls " .. dir))) do
         local base = l:match("^(.+)%.lua$")
         if base then names[#names + 1] = base == "init" and prefix or (prefix .. "." .. base) end
      end
      table.sort(names)
      return names
   end

   setup(function()
      fs.rmrf(T5)
      for _, p in ipairs({ { "fmnist_2c2d", "MyOpt", 0.1 }, { "fmnist_2c2d", "MyOpt", 0.01 }, { "quadratic_deep", "MyOpt", 0.1 } }) do
         local d = ("%s/r/%s/%s/%s"):format(T5, p[1], p[2], rw.setting_folder { num_epochs = 2, batch_size = 128, lr = p[3] })
         for seed = 42, 43 do
            write_11(d, { seed = seed, problem = p[1], optimizer = p[2], lr = p[3], train_losses = { 2, 1.5, 1 },
               test_losses = { 2, 1.4, 1.1 + seed / 1000 }, train_acc = { 0.1, 0.5, 0.8 }, test_acc = { 0.1, 0.6, 0.7 + p[3] } })
         end
      end
   end)
   teardown(function() fs.rmrf(T5) end)

   it("refuses every module outside the rule, so the check below is not vacuous", function()
      local refused = { "deepobs", "deepobs.runtime", "deepobs.cdef" }
      local allowed = { deepobs = true, ["deepobs.results"] = true, ["deepobs.sets"] = true, ["deepobs.errors"] = true }
      for _, m in ipairs(modules_in("lua/deepobs", "deepobs")) do
         if not allowed[m] then refused[#refused + 1] = m end
      end
      for _, sub in ipairs({ "nn", "optim", "ops", "sweep" }) do
         for _, m in ipairs(modules_in("lua/deepobs/" .. sub, "deepobs." .. sub)) do refused[#refused + 1] = m end
      end
      for _, m in ipairs(modules_in("problems", "problems")) do refused[#refused + 1] = m end
      for _, m in ipairs(modules_in("datasets", "datasets")) do refused[#refused + 1] = m end
      for _, must in ipairs({ "deepobs.runner", "deepobs.train", "deepobs.tensor", "deepobs.C", "problems", "problems._define",
                              "problems.fmnist_2c2d", "datasets.mnist", "datasets.cifar10" }) do
         local found = false
         for _, m in ipairs(refused) do found = found or m == must end
         assert.is_true(found, must)
      end
      local child = T5 .. "/refused.lua"
      fs.write(child, [[
for _, name in ipairs(arg) do
   local ok, e = pcall(require, name)
   io.write(name, "\t", ok and "loaded" or tostring(e), "\n")
end
local ok, e = pcall(require("ffi").load, "deepobs")
io.write("ffi.load\t", ok and "loaded" or tostring(e), "\n")
for _, name in ipairs({ "deepobs.results", "deepobs.sets", "deepobs.errors", "cjson" }) do
   io.write(name, "\t", pcall(require, name) and "loaded" or "refused", "\n")
end]])
      local rc, out, err = guarded(child, table.concat(refused, " "))
      assert.are.equal(0, rc, err)
      local got = {}
      for _, l in ipairs(fs.lines(out)) do
         local name, what = l:match("^([^\t]+)\t(.*)$")
         got[name] = what
      end
      for _, m in ipairs(refused) do
         assert.are.equal(("analyzer dependency rule: require '%s' is refused (the analyzer reads results only)"):format(m), got[m])
      end
      assert.are.equal("analyzer dependency rule: ffi.load('deepobs') is refused (the analyzer loads no engine library)",
         got["ffi.load"])
      for _, m in ipairs({ "deepobs.results", "deepobs.sets", "deepobs.errors", "cjson" }) do assert.are.equal("loaded", got[m], m) end
   end)

   it("loads every analyzer module and builds a table, a plot and the HTML report from a results folder", function()
      local modules = modules_in("lua/deepobs/analyzer", "deepobs.analyzer")
      assert.is_true(#modules >= 13)
      local child = T5 .. "/analyze.lua"
      fs.write(child, [[
local out_dir = table.remove(arg, 1)
local results_dir = table.remove(arg, 1)
for _, name in ipairs(arg) do assert(type(require(name)) == "table", name) end
local an = require "deepobs.analyzer"
local col = an.load(results_dir)
io.write(an.format(an.tables(col, nil, { mode = "final" })), "\n")
local svg = require("deepobs.analyzer.plots").problem_figure(col.problems.fmnist_2c2d, nil, {})
local f = assert(io.open(out_dir .. "/figure.svg", "w"))
f:write(svg)
f:close()
io.write("index ", require("deepobs.analyzer.report").write(out_dir .. "/report", col, nil, {}), "\n")
local loaded = {}
for name in pairs(package.loaded) do
   if name:find("^deepobs") or name:find("^problems") or name:find("^datasets") then loaded[#loaded + 1] = name end
end
table.sort(loaded)
io.write("loaded ", table.concat(loaded, " "), "\n")]])
      local rc, out, err = guarded(child, T5 .. " " .. T5 .. "/r " .. table.concat(modules, " "))
      assert.are.equal(0, rc, err)
      -- the table: both problems, MyOpt's chosen setting
      assert.matches("fmnist_2c2d %(P3 F%-MNIST %- CNN%): test_accuracies, mode final", out)
      assert.matches("quadratic_deep %(P1 Quadratic Deep%): test_losses, mode final", out)
      assert.matches("MyOpt", out)
      -- the plot: an SVG document with the problem's title
      local svg = fs.read(T5 .. "/figure.svg")
      assert.matches("^<svg", svg)
      assert.truthy(svg:find("P3 F-MNIST - CNN", 1, true))
      -- the report: index.html and a page per problem
      local index = out:match("\nindex ([^\n]+)")
      assert.are.equal(T5 .. "/report/index.html", index)
      local page = fs.read(index)
      assert.truthy(page:find("<h1>DeepOBS results</h1>", 1, true))
      assert.truthy(page:find("<svg", 1, true))
      assert.truthy(page:find("fmnist_2c2d", 1, true) and page:find("quadratic_deep", 1, true))
      -- what was loaded: analyzer modules and the allowed helpers, nothing else
      local loaded = out:match("\nloaded ([^\n]*)")
      for name in loaded:gmatch("%S+") do
         assert.is_truthy(name == "deepobs.results" or name == "deepobs.sets" or name == "deepobs.errors"
            or name == "deepobs.analyzer" or name:find("^deepobs%.analyzer%."), name)
      end
      for _, m in ipairs(modules) do assert.truthy((" " .. loaded .. " "):find(" " .. m:gsub("%p", "%%%0") .. " "), m) end
   end)

   it("scripts/analyze.lua prints the table and writes the report under the guard; --runtime is refused there", function()
      local rc, out, err = guarded("scripts/analyze.lua", T5 .. "/r --out " .. T5 .. "/cli_report --format md")
      assert.are.equal(0, rc, err)
      assert.matches("| MyOpt |", out, nil, true)
      assert.truthy(fs.exists(T5 .. "/cli_report/index.html"))
      rc, _, err = guarded("scripts/analyze.lua", "--runtime sgd --runtime_problem spec/fixtures/fake_problem.lua")
      assert.are.equal(1, rc)
      assert.matches("analyzer dependency rule: require 'deepobs.runtime' is refused", err, nil, true)
   end)
end)
