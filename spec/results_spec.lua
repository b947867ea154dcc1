-- deepobs.results: DeepOBS 1.1 number formatting, setting-folder names, JSON text, atomic writes.
local results = require "deepobs.results"
local cjson = require "cjson"
local fs = require "helpers.fs"
local sh, lines, read = fs.sh, fs.lines, fs.read
local BASE = fs.BASELINES

local TMP = "./.spec_tmp_results"

local function have_baselines()
   local f = io.open(BASE .. "/README.md")
   if f then f:close() return true end
   return false
end

describe("float2str (DeepOBS 1.1: {:.10e}, trailing mantissa zeros stripped, dot kept)", function()
   it("formats the documented examples", function()
      assert.are.equal("1.e-03", results.float2str(0.001))
      assert.are.equal("9.e-01", results.float2str(0.9))
      assert.are.equal("9.99e-01", results.float2str(0.999))
      assert.are.equal("1.5848931925e-01", results.float2str(10 ^ -0.8))
      assert.are.equal("1.e+00", results.float2str(1.0))
      assert.are.equal("1.e+02", results.float2str(100))
      assert.are.equal("3.9810717055e-03", results.float2str(3.9810717055e-03))
      assert.are.equal("3.9810717055e-03", results.float2str(10 ^ -2.4))
      assert.are.equal("2.5118864315e-03", results.float2str(0.002511886431509582))
      assert.are.equal("9.9e-01", results.float2str(0.99))
      assert.are.equal("1.e-08", results.float2str(1e-8))
      assert.are.equal("6.3095734448e+01", results.float2str(10 ^ 1.8))
      assert.are.equal("0.e+00", results.float2str(0))
      assert.are.equal("-2.5e-01", results.float2str(-0.25))
      assert.are.equal("1.2345678901e+04", results.float2str(12345.678901234))
      assert.are.equal("1.25e+00", results.float2str(1.25)) -- no spurious rounding
      assert.are.equal("2.5e-11", results.float2str(2.5e-11))
   end)
end)

describe("pyfloat (Python repr, what json.dump writes)", function()
   it("matches Python's text for these values (taken from python3 repr)", function()
      local cases = {
         { 0.30322559292499834, "0.30322559292499834" }, { 0.99, "0.99" }, { 1e-05, "1e-05" },
         { 0.0001, "0.0001" }, { 1e16, "1e+16" }, { 1e15, "1000000000000000.0" },
         { 4.087747617168871e+19, "4.087747617168871e+19" }, { 1.0, "1.0" }, { 100, "100.0" },
         { 123456.789, "123456.789" }, { -2.5e-7, "-2.5e-07" }, { 0.1, "0.1" },
         { 1 / 3, "0.3333333333333333" }, { 5e-324, "5e-324" },
         { 1.7976931348623157e308, "1.7976931348623157e+308" }, { 0, "0.0" },
         -- exact ties at 17 digits go to even, as in Python (LuaJIT's %.16e would give ...563)
         { 2.66056060791015625, "2.6605606079101562" }, { 3.56906890869140625, "3.5690689086914062" },
         { 0 / 0, "NaN" }, { math.huge, "Infinity" }, { -math.huge, "-Infinity" },
      }
      for _, c in ipairs(cases) do assert.are.equal(c[2], results.pyfloat(c[1])) end
   end)

   it("round-trips random doubles exactly", function()
      math.randomseed(7)
      for _ = 1, 2000 do
         local x = (math.random() - 0.5) * 10 ^ math.random(-30, 30)
         assert.are.equal(x, tonumber(results.pyfloat(x)))
      end
   end)
end)

describe("setting folder (DeepOBS 1.1)", function()
   it("builds the documented example and the schedule / weight-decay forms", function()
      assert.are.equal(
         "num_epochs__350__batch_size__256__momentum__9.9e-01__use_nesterov__False__lr__3.9810717055e-03",
         results.setting_folder { num_epochs = 350, batch_size = 256, lr = 10 ^ -2.4,
            hyperparams = { use_nesterov = false, momentum = 0.99 } })
      assert.are.equal(
         "num_epochs__200__batch_size__128__weight_decay__5.e-04__momentum__9.e-01__lr_schedule__0_3.e-01_50_3.e-02_100_3.e-03",
         results.setting_folder { num_epochs = 200, batch_size = 128, lr = 0.3, weight_decay = 5e-4,
            hyperparams = { momentum = 0.9 }, lr_sched_epochs = { 50, 100 }, lr_sched_factors = { 0.1, 0.01 } })
      -- integer hyperparameters as str(int), strings as is, lr never among the hyperparameters
      assert.are.equal("num_epochs__1__batch_size__2__k__5__mode__fast__lr__1.e-01",
         results.setting_folder { num_epochs = 1, batch_size = 2, lr = 0.1,
            hyperparams = { mode = "fast", k = 5, lr = 0.1 }, hp_types = { k = "integer" } })
   end)

   it("rebuilds every baseline folder name from the hyperparameters in its JSON files", function()
      if not have_baselines() then pending("no " .. BASE) return end
      local files = lines(sh("find " .. BASE .. " -name '*.json' | sort"))
      assert.is_true(#files >= 100)
      local checked = 0
      for _, path in ipairs(files) do
         local problem, opt, folder, file = path:match("([^/]+)/([^/]+)/([^/]+)/([^/]+)$")
         local d = cjson.decode(read(path))
         assert.are.equal(problem, d.testproblem)
         assert.are.equal(opt, d.optimizer)
         local hp = {}
         for k, v in pairs(d.hyperparams) do hp[k] = v end
         local built = results.setting_folder {
            num_epochs = d.num_epochs, batch_size = d.batch_size, lr = d.learning_rate,
            weight_decay = d.weight_decay ~= cjson.null and d.weight_decay or nil, hyperparams = hp,
         }
         assert.are.equal(folder, built)
         assert.are.equal(("random_seed__%d__"):format(d.random_seed), file:match("^random_seed__%d+__"))
         checked = checked + 1
      end
      assert.are.equal(#files, checked)
   end)

   it("file name: random_seed__N__YYYY-MM-DD-HH-MM-SS.json in local time", function()
      local t = os.time { year = 2019, month = 2, day = 13, hour = 15, min = 5, sec = 1 }
      assert.are.equal("random_seed__42__2019-02-13-15-05-01.json", results.file_name(42, t))
   end)
end)

describe("JSON text", function()
   it("writes the 1.1 keys in the 1.1 order with Python's separators and number forms", function()
      local o = results.result_object {
         train_losses = { 2.5, 0 / 0 }, test_losses = { 1e-05, math.huge },
         minibatch_train_losses = { 0.1 }, train_accuracies = { 0.1, 1 }, test_accuracies = { 0.25, 0.5 },
         optimizer = "MomentumOptimizer", testproblem = "fmnist_2c2d", weight_decay = nil,
         batch_size = 128, num_epochs = 1, learning_rate = 1, lr_sched_epochs = { 1 },
         lr_sched_factors = { 0.5 }, random_seed = 42, train_log_interval = 10,
         hyperparams = { { "momentum", 0.99, "number" }, { "use_nesterov", false, "boolean" }, { "k", 3, "integer" } },
         extra = { { "threads", results.int(2) }, { "cpu", 'A "quoted"\tname' } },
      }
      assert.are.equal('{"train_losses": [2.5, NaN], "test_losses": [1e-05, Infinity], '
         .. '"minibatch_train_losses": [0.1], "train_accuracies": [0.1, 1.0], "test_accuracies": [0.25, 0.5], '
         .. '"optimizer": "MomentumOptimizer", "testproblem": "fmnist_2c2d", "weight_decay": null, '
         .. '"batch_size": 128, "num_epochs": 1, "learning_rate": 1.0, "lr_sched_epochs": [1], '
         .. '"lr_sched_factors": [0.5], "random_seed": 42, "train_log_interval": 10, '
         .. '"hyperparams": {"momentum": 0.99, "use_nesterov": false, "k": 3}, '
         .. '"threads": 2, "cpu": "A \\"quoted\\"\\tname"}', results.encode(o))
   end)

   it("leaves out the accuracy keys when the problem has no accuracy; empty lists stay lists", function()
      local s = results.encode(results.result_object {
         train_losses = {}, test_losses = {}, minibatch_train_losses = {}, optimizer = "X",
         testproblem = "quadratic_deep", batch_size = 128, num_epochs = 0, learning_rate = 0.1,
         random_seed = 1, train_log_interval = 1, hyperparams = {},
      })
      assert.is_nil(s:find("accurac", 1, true))
      assert.are.equal('{"train_losses": [], "test_losses": [], "minibatch_train_losses": [], '
         .. '"optimizer": "X", "testproblem": "quadratic_deep", "weight_decay": null, "batch_size": 128, '
         .. '"num_epochs": 0, "learning_rate": 0.1, "lr_sched_epochs": null, "lr_sched_factors": null, '
         .. '"random_seed": 1, "train_log_interval": 1, "hyperparams": {}}', s)
   end)

   it("reproduces baseline files byte for byte from their decoded values", function()
      if not have_baselines() then pending("no " .. BASE) return end
      local files = lines(sh("find " .. BASE .. " -name '*.json' | sort"))
      local n = 0
      for i = 1, #files do -- Adam/SGD/Momentum, NaN/Infinity runs, problems without accuracy
         local text = read(files[i])
         local d = cjson.decode(text)
         local hp = {}
         for k, v in pairs(d.hyperparams) do hp[#hp + 1] = { k, v, type(v) } end
         table.sort(hp, function(a, b) return text:find('"' .. a[1] .. '"', 1, true) < text:find('"' .. b[1] .. '"', 1, true) end)
         local function opt(v) if v == cjson.null then return nil end return v end
         local o = results.result_object {
            train_losses = d.train_losses, test_losses = d.test_losses,
            minibatch_train_losses = d.minibatch_train_losses,
            train_accuracies = d.train_accuracies, test_accuracies = d.test_accuracies,
            optimizer = d.optimizer, testproblem = d.testproblem, weight_decay = opt(d.weight_decay),
            batch_size = d.batch_size, num_epochs = d.num_epochs, learning_rate = d.learning_rate,
            lr_sched_epochs = opt(d.lr_sched_epochs), lr_sched_factors = opt(d.lr_sched_factors),
            random_seed = d.random_seed, train_log_interval = d.train_log_interval, hyperparams = hp,
         }
         local expected = text:gsub(', "minibatch_train_losses_truncated": true', "")
         local got = results.encode(o)
         if got ~= expected then -- show where, not two 20 kB strings
            local k = 1
            while got:byte(k) == expected:byte(k) do k = k + 1 end
            assert.are.equal(files[i] .. ": " .. expected:sub(k - 30, k + 30), files[i] .. ": " .. got:sub(k - 30, k + 30))
         end
         n = n + 1
      end
      assert.is_true(n >= 100)
   end)
end)

describe("write_atomic", function()
   before_each(function() os.execute("rm -rf " .. TMP .. " && mkdir -p " .. TMP) end)
   after_each(function() os.execute("rm -rf " .. TMP) end)

   it("writes the file and leaves no temporary file beside it", function()
      local p = results.write_atomic(TMP .. "/a.json", '{"x": 1}')
      assert.are.equal(TMP .. "/a.json", p)
      assert.are.equal('{"x": 1}', read(p))
      assert.are.same({ "a.json" }, lines(sh("ls -A " .. TMP)))
      -- replacing an existing file is atomic too
      results.write_atomic(TMP .. "/a.json", "[]")
      assert.are.equal("[]", read(p))
      assert.are.same({ "a.json" }, lines(sh("ls -A " .. TMP)))
   end)

   it("fails with a clear message into a missing folder and leaves nothing", function()
      local ok, err = pcall(results.write_atomic, TMP .. "/no/such/dir/a.json", "{}")
      assert.is_false(ok)
      assert.matches("cannot write", err)
      assert.are.same({}, lines(sh("find " .. TMP .. " -type f")))
   end)

   it("mkdir_p creates nested folders", function()
      results.mkdir_p(TMP .. "/x y/z")
      results.write_atomic(TMP .. "/x y/z/f.json", "{}")
      assert.are.equal("{}", read(TMP .. "/x y/z/f.json"))
   end)
end)
