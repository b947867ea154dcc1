-- Sweeps: sweep files and their errors, the runs they expand to, skip / resume / retry,
-- --status from the files alone, the local pool (and its Ctrl-C), the commands file, Bayesian
-- rounds, and the `benchmark` command end to end.
local cjson = require "cjson"
local errors = require "deepobs.errors"
local file = require "deepobs.sweep.file"
local search = require "deepobs.sweep.search"
local sweep = require "deepobs.sweep"
local fs = require "helpers.fs"
local proc = require "helpers.proc"

local ROOT = fs.sh("pwd"):match("[^\n]+")
local RUN = "luajit " .. ROOT .. "/run.lua"
local TMP = ROOT .. "/.spec_tmp_sweep"
local FMNIST = "/usr/share/datasets/fashion-mnist"
local BASELINES = fs.BASELINES:sub(1, 1) == "/" and fs.BASELINES or (ROOT .. "/" .. fs.BASELINES)

setup(function() fs.rmrf(TMP); fs.mkdir(TMP) end)
teardown(function() fs.rmrf(TMP) end)

local workdir = fs.workdirs(TMP)

local function write_sweep(dir, text, name)
   local path = ("%s/%s.lua"):format(dir, name or "s")
   fs.write(path, text)
   return path
end

-- runs the command line in dir; returns the exit status and the output
local function cli(dir, args)
   local out = fs.sh(("cd '%s' && %s %s 2>&1; echo \"rc=$?\""):format(dir, RUN, args))
   return tonumber(out:match("rc=(%d+)%s*$")), out:gsub("rc=%d+%s*$", "")
end

local function results_under(dir)
   local out = {}
   for _, f in ipairs(fs.files_under(dir)) do
      if f:match("/random_seed__%d+__[^/]*%.json$") then out[#out + 1] = f end
   end
   return out
end

local EXAMPLE = [[
return {
   problems = { "quadratic_deep" },
   optimizers = { sgd = { lr = { 0.01, 0.1 } }, momentum = { lr = { 0.01 }, momentum = 0.9 } },
   seeds = { 42, 43 },
   num_epochs = 3,
   output_dir = "sweep_results",
}
]]

describe("sweep files", function()
   it("the example sweep file: 6 runs, each identified by its DeepOBS result path", function()
      local dir = workdir()
      local s = sweep.open(write_sweep(dir, EXAMPLE:gsub('"sweep_results"', ('"%s/sweep_results"'):format(dir))))
      local runs = s:runs()
      assert.are.equal(6, #runs)
      local keys = {}
      for _, r in ipairs(runs) do
         keys[r.key] = true
         assert.matches("^" .. dir:gsub("%p", "%%%0") .. "/sweep_results/quadratic_deep/%a+Optimizer/num_epochs__3__", r.key)
         assert.matches("/random_seed__4[23]$", r.key)
         assert.are.equal("pending", r.status.state)
      end
      local n = 0
      for _ in pairs(keys) do n = n + 1 end
      assert.are.equal(6, n)
   end)

   local function rejects(text, pattern)
      local ok, e = pcall(file.check, text, "s.lua", "s")
      assert.is_false(ok, pattern)
      assert.is_true(errors.is_usage(e), tostring(e))
      assert.matches(pattern, e.msg)
   end

   it("bad sweep files are rejected before anything runs, naming the key (generated)", function()
      local base = function() return { problems = { "quadratic_deep" }, optimizers = { sgd = { lr = { 0.1 } } } } end
      local cases = {
         { function(t) t.problems = { "nosuch" } end, "s%.lua%.problems%[1%]: unknown test problem 'nosuch'" },
         { function(t) t.problems = "quadratic_deep" end, "s%.lua%.problems: a list" },
         { function(t) t.num_epoch = 3 end, "unknown key 'num_epoch' %(did you mean num_epochs%?%)" },
         { function(t) t.optimizers = { sgd = { lr = search.log_uniform(1, 0.1) } } end, "s%.lua%.optimizers%.sgd%.lr" },
         { function(t) t.optimizers = { sgd = { lr = search.uniform(0.1, 0.01), search = "random", trials = 2 } } end,
           "s%.lua%.optimizers%.sgd%.lr" },
         { function(t) t.optimizers = { sgd = { lr = { 0.1 }, momentum = 0.9 } } end, "optimizers%.sgd: unknown key 'momentum'" },
         { function(t) t.optimizers = { momentum = { lr = { 0.1 }, momentun = 0.9 } } end, "did you mean momentum" },
         { function(t) t.optimizers = { sgd = { lr = search.log_uniform(1e-3, 1), search = "random" } } end,
           "optimizers%.sgd%.trials: random search needs a positive number of trials" },
         { function(t) t.optimizers = { sgd = { lr = { 0.1 }, search = "annealing" } } end, "optimizers%.sgd%.search" },
         { function(t) t.optimizers = { sgd = { lr = search.log_uniform(1e-3, 1) } } end, "optimizers%.sgd%.lr" },
         { function(t) t.optimizers = { "nosuchopt" } end, "optimizers%[1%]: .*unknown optimizer 'nosuchopt'" },
         { function(t) t.seeds = { 42, 42 } end, "seeds%[2%]: seed 42 is listed twice" },
         { function(t) t.seeds = { -1 } end, "seeds%[1%]: a seed is an integer" },
         { function(t) t.seeds = 0 end, "seeds: a count of seeds" },
         { function(t) t.problems = { "quadratic_deep", "quadratic_deep" } end, "listed twice" },
         { function(t) t.problems = { quadratic_deep = { num_epoch = 2 } } end, "problems%.quadratic_deep: unknown key 'num_epoch'" },
         { function(t) t.optimizers.sgd.options = { batch_sise = 3 } end, "optimizers%.sgd%.options: unknown key 'batch_sise'" },
         { function(t) t.optimizers = { sgd = { lr = { 0.1 } }, GradientDescentOptimizer = { lr = { 1 } } } end,
           "two entries are optimizer GradientDescentOptimizer" },
         { function(t) t.name = "../x" end, "s%.lua%.name" },
         { function(t) t.optimizers = { sgd = { lr = { 0.1 }, trials = 3 } } end, "a grid runs every combination" },
         { function(t) t.num_epochs = { "a" } end, "s%.lua%.num_epochs: a list of numbers" },
      }
      for _, c in ipairs(cases) do
         local t = base()
         c[1](t)
         rejects(t, c[2])
      end
   end)

   it("a benchmark set expands to its problems; problem and optimizer options reach their runs", function()
      local spec = file.check({ problems = { "small" }, optimizers = { "sgd" } }, "s", "s")
      local names = {}
      for i, p in ipairs(spec.problems) do names[i] = p.name end
      assert.are.same({ "quadratic_deep", "mnist_vae", "fmnist_2c2d", "cifar10_3c3d" }, names)
      local dir = workdir()
      local s = sweep.from_spec(file.check({ problems = { quadratic_deep = { num_epochs = 2 } },
         optimizers = { adamw = { lr = { 0.1 }, weight_decay = 0.5, options = { weight_decay = 0.25, batch_size = 100 } } },
         output_dir = dir }, "s", "s"), {})
      local r = s:runs()[1]
      assert.are.equal(2, r.opts.num_epochs)
      assert.are.equal(100, r.opts.batch_size)
      assert.are.equal(0.25, r.opts.weight_decay)             -- the problem's L2 factor
      assert.are.equal(0.5, r.opts.hyperparams.weight_decay)  -- AdamW's decoupled decay
      assert.matches("num_epochs__2__batch_size__100__weight_decay__2%.5e%-01__", r.key)
   end)

   it("random and quasirandom settings are the same in every invocation; grid settings are the product", function()
      local dir = workdir()
      local function runs(kind)
         return sweep.from_spec(file.check({ problems = { "quadratic_deep" }, output_dir = dir,
            optimizers = { momentum = { lr = search.log_uniform(1e-4, 1), momentum = search.uniform(0.5, 0.99),
               search = kind, trials = 5 } } }, "s", "s"), {}):runs()
      end
      for _, kind in ipairs { "random", "quasirandom" } do
         local a, b = runs(kind), runs(kind)
         assert.are.equal(5, #a)
         for i = 1, 5 do
            assert.are.equal(a[i].key, b[i].key)
            assert.is_true(a[i].point.lr >= 1e-4 and a[i].point.lr <= 1)
         end
      end
      local g = sweep.from_spec(file.check({ problems = { "quadratic_deep" }, output_dir = dir, seeds = 2,
         optimizers = { momentum = { lr = { 0.1, 0.01, 0.001 }, momentum = { 0.5, 0.9 } } } }, "s", "s"), {}):runs()
      assert.are.equal(3 * 2 * 2, #g)
   end)
end)

describe("running a sweep", function()
   it("runs everything; again, it skips what is done and reruns what is missing; --status and --dry-run", function()
      local dir = workdir()
      write_sweep(dir, EXAMPLE)
      local rc, out = cli(dir, "sweep s.lua --jobs 2")
      assert.are.equal(0, rc, out)
      local files = results_under(dir .. "/sweep_results")
      assert.are.equal(6, #files)
      -- the same runs by hand give the same numbers (the sweep adds nothing to a run)
      local one = cjson.decode(fs.read(files[1]))
      local solo = workdir()
      local r2, o2 = cli(solo, ("quadratic_deep --optimizer %s --lr %s -N 3 -r %d %s"):format(
         one.optimizer == "MomentumOptimizer" and "momentum --momentum 0.9" or "sgd", tostring(one.learning_rate),
         one.random_seed, ""))
      assert.are.equal(0, r2, o2)
      assert.are.same(one.test_losses, cjson.decode(fs.read(results_under(solo)[1])).test_losses)
      -- again: nothing to do
      rc, out = cli(dir, "sweep s.lua --jobs 2")
      assert.are.equal(0, rc)
      assert.is_nil(out:find("started", 1, true))
      assert.are.equal(6, #results_under(dir .. "/sweep_results"))
      -- one result lost: only that run again
      os.remove(files[3])
      rc, out = cli(dir, "sweep s.lua --status")
      assert.are.equal(0, rc)
      assert.matches("all%s+5%s+0%s+0%s+0%s+1%s+6", out)
      rc, out = cli(dir, "sweep s.lua --dry-run")
      assert.matches("6 runs: 5 done, 1 to run", out)
      rc, out = cli(dir, "sweep s.lua --jobs 2")
      local started = 0
      for _ in out:gmatch("started") do started = started + 1 end
      assert.are.equal(1, started)
      assert.are.equal(6, #results_under(dir .. "/sweep_results"))
   end)

   it("a failing run is retried --retries times, never stops the others, and the exit status counts it", function()
      local dir = workdir()
      fs.write(dir .. "/flaky.lua", [[
return {
   name = "Flaky", hyperparams = { { name = "lr", type = "number", help = "lr" } },
   step = function(closure, params, hp, state)
      if hp.lr > 0.5 then error("diverges on purpose") end
      local loss = closure()
      params.flat:add_(params.grad_flat, -hp.lr)
      return loss
   end,
}
]])
      write_sweep(dir, [[
return { problems = { "quadratic_deep" }, optimizers = { ["flaky.lua"] = { lr = { 0.01, 1, 0.1 } } },
         num_epochs = 1, output_dir = "res" }
]])
      local rc, out = cli(dir, "sweep s.lua --jobs 2 --retries 2")
      assert.are.equal(1, rc, out)
      local attempts = 0
      for _ in out:gmatch("failed   quadratic_deep | Flaky | lr 1%.e%+00") do attempts = attempts + 1 end
      assert.are.equal(3, attempts)
      assert.matches("exit 1 after 3 attempt%(s%)", out)
      assert.are.equal(2, #results_under(dir .. "/res"))
      rc, out = cli(dir, "sweep s.lua --status")
      assert.matches("all%s+2%s+0%s+0%s+1%s+0%s+3", out)
      -- the failure's message is kept beside the run
      local failed = fs.sh("find " .. dir .. "/res -name '*.failed'"):match("[^\n]+")
      assert.matches("attempts=3", fs.read(failed))
      assert.matches("diverges on purpose", fs.read(failed))
   end)

   it("the commands file (--executor print): one command per unfinished run, each a complete run", function()
      local dir = workdir()
      write_sweep(dir, EXAMPLE)
      local rc, out = cli(dir, "sweep s.lua --executor print")
      assert.are.equal(0, rc)
      local lines = {}
      for l in out:gmatch("[^\n]+") do lines[#lines + 1] = l end
      assert.are.equal(6, #lines)
      for _, l in ipairs({ lines[1], lines[4] }) do
         assert.matches("^luajit '[^']*/run%.lua' 'quadratic_deep' .* %-%-resume$", l)
         local r = fs.sh(("cd '%s' && %s > /dev/null 2>&1; echo $?"):format(dir, l))
         assert.are.equal("0", r:match("%d+"))
      end
      rc, out = cli(dir, "sweep s.lua --executor print")
      local n = 0
      for _ in out:gmatch("[^\n]+") do n = n + 1 end
      assert.are.equal(4, n)
   end)

   it("--status reads a sweep that runs elsewhere: running runs are counted as running", function()
      local dir = workdir()
      write_sweep(dir, ([[
return { problems = { "quadratic_deep" }, optimizers = { ["%s/spec/fixtures/stateful_sgd.lua"] = { lr = { 0.01, 0.02 } } },
         num_epochs = 2, output_dir = "res", checkpoint_minutes = 0.0005 }
]]):format(ROOT))
      local p = proc.start(RUN .. " sweep s.lua --jobs 2", { cwd = dir, env = { DEEPOBS_SPEC_SLEEP = "0.05" } })
      local out = proc.wait_for(function()
         local o = select(2, cli(dir, "sweep s.lua --status"))
         return o:match("all%s+0%s+2%s+") and o
      end, 60, "two running runs")
      assert.matches("all%s+0%s+2%s+0%s+0%s+0%s+2", out)
      -- Ctrl-C on the sweep: every run checkpoints, the sweep exits 130
      p:signal("INT")
      local rc, text = p:wait(60)
      assert.are.equal(130, rc, text)
      assert.matches("stopping the 2 running run%(s%)", text)
      local _, st = cli(dir, "sweep s.lua --status")
      assert.matches("all%s+0%s+0%s+2%s+0%s+0%s+2", st)
      -- run again: both resume from their checkpoints and finish
      local rc2, out2 = cli(dir, "sweep s.lua --jobs 2")
      assert.are.equal(0, rc2, out2)
      for _, f in ipairs(results_under(dir .. "/res")) do
         assert.is_table(cjson.decode(fs.read(f)).resumed)
      end
      assert.are.equal(2, #results_under(dir .. "/res"))
   end)

   it("Bayesian search proposes in rounds, keeps its proposals and continues where it stopped", function()
      local dir = workdir()
      write_sweep(dir, [[
return { problems = { "quadratic_deep" },
         optimizers = { sgd = { lr = log_uniform(1e-3, 1), search = "bayes", trials = 7 } },
         num_epochs = 1, output_dir = "res" }
]])
      local rc, out = cli(dir, "sweep s.lua --jobs 2")
      assert.are.equal(0, rc, out)
      assert.are.equal(7, #results_under(dir .. "/res"))
      local stored = cjson.decode(fs.read(dir .. "/res/.sweeps/s/trials/quadratic_deep__GradientDescentOptimizer.json"))
      assert.are.equal(7, #stored)
      rc, out = cli(dir, "sweep s.lua --jobs 2")
      assert.is_nil(out:find("started", 1, true))
   end)
end)

describe("benchmark", function()
   it("quadratic_deep: the lr grid with one seed, the best setting with three, tables and report", function()
      if not fs.exists(BASELINES) then
         pending("the DeepOBS baselines are not at " .. BASELINES .. " (set DEEPOBS_BASELINES)")
         return
      end
      local dir = workdir()
      local rc, out = cli(dir, ("benchmark --optimizer %s/spec/fixtures/stateful_sgd.lua --set quadratic_deep -N 1 "
         .. "--seeds 3 --jobs 2 --output_dir res --baselines %s"):format(ROOT, BASELINES))
      assert.are.equal(0, rc, out)
      assert.matches("tuning %(36 learning rates, 10%^%-5 to 10%^2%)", out)
      local files = results_under(dir .. "/res/quadratic_deep")
      assert.are.equal(36 + 2, #files)
      -- the chosen setting is the best final test loss of the tuning runs, and it has 3 seeds
      local best, best_lr = math.huge, nil
      local by_lr = {}
      for _, f in ipairs(files) do
         local d = cjson.decode(fs.read(f))
         by_lr[d.learning_rate] = (by_lr[d.learning_rate] or 0) + 1
         local v = d.test_losses[#d.test_losses]
         if d.random_seed == 42 and v == v and v < best then best, best_lr = v, d.learning_rate end
      end
      assert.are.equal(3, by_lr[best_lr])
      assert.matches("quadratic_deep: best setting [^\n]*lr " .. tostring(best_lr):gsub("%p", "%%%0"), out)
      assert.matches("StatefulSGD", out)
      assert.is_true(fs.exists(dir .. "/res/report/index.html"))
      -- again: nothing runs, the same report
      rc, out = cli(dir, ("benchmark --optimizer %s/spec/fixtures/stateful_sgd.lua --set quadratic_deep -N 1 "
         .. "--seeds 3 --jobs 2 --output_dir res"):format(ROOT))
      assert.are.equal(0, rc, out)
      assert.is_nil(out:find("started", 1, true))
   end)

   local fit = (fs.exists(FMNIST .. "/train-images-idx3-ubyte.gz") or fs.exists(FMNIST .. "/train-images-idx3-ubyte"))
      and it or pending
   fit("fmnist_logreg on the real Fashion-MNIST with --budget random trials over the declared search space", function()
      local dir = workdir()
      fs.write(dir .. "/declared.lua", [[
return {
   name = "DeclaredSGD",
   hyperparams = { { name = "lr", type = "number", help = "lr", search = log_uniform(1e-3, 1) } },
   step = function(closure, params, hp)
      local loss = closure()
      params.flat:add_(params.grad_flat, -hp.lr)
      return loss
   end,
}
]])
      local rc, out = cli(dir, "benchmark --optimizer declared.lua --set fmnist_logreg -N 1 --bs 1000 --budget 3 "
         .. "--seeds 2 --jobs 2 --output_dir res")
      assert.are.equal(0, rc, out)
      assert.matches("tuning %(3 random trials%)", out)
      local files = results_under(dir .. "/res/fmnist_logreg")
      assert.are.equal(3 + 1, #files)
      for _, f in ipairs(files) do
         local lr = cjson.decode(fs.read(f)).learning_rate
         assert.is_true(lr >= 1e-3 and lr <= 1, tostring(lr))
      end
   end)
end)
