-- What a run checks and records around the training itself: values it cannot use are usage
-- errors before any data is read, errors in a user's optimizer point into the user's file,
-- result files never replace each other, each records where it came from, and the
-- validation split reaches the result file and the analyzer.
local ffi = require "ffi"
local dob = require "deepobs"
local runner = require "deepobs.runner"
local errors = require "deepobs.errors"
local results = require "deepobs.results"
local sha256 = require "deepobs.sha256"
local fake = require "fixtures.fake"
local cjson = require "cjson"
local fs = require "helpers.fs"
local proc = require "helpers.proc"

pcall(ffi.cdef, "int setenv(const char *name, const char *value, int overwrite); int unsetenv(const char *name);")

local TMP = "./.spec_tmp_run_checks"

local function run(o)
   o.quiet = o.quiet ~= false
   o.output_dir = o.output_dir or TMP
   return runner.run(o)
end

local function json_files(dir)
   local out = {}
   for _, f in ipairs(fs.files_under(dir)) do if f:match("%.json$") then out[#out + 1] = f end end
   return out
end

before_each(function() fs.rmrf(TMP) end)
teardown(function() fs.rmrf(TMP) end)

describe("values a run cannot use: usage errors before any data is read", function()
   local PLAIN = { lr = 0.1, num_epochs = 1 }
   local function with(extra)
      local o = {}
      for k, v in pairs(PLAIN) do o[k] = v end
      for k, v in pairs(extra) do o[k] = v end
      return o
   end
   local cases = {}
   local function case(extra, pattern) cases[#cases + 1] = { with(extra), pattern } end
   for _, lr in ipairs { -1, 0, -0.0, 1 / 0, -1 / 0, 0 / 0, 1e-50, 2 ^ -130 } do
      case({ lr = lr }, "%-%-lr ")
   end
   local domains = {
      momentum = { momentum = { 1, 1.5, -0.1, 0 / 0 } },
      adam = { beta1 = { 1, -0.01 }, beta2 = { 1, 2 }, epsilon = { 0, -1e-8, 1 / 0 } },
      adamw = { beta1 = { 1 }, weight_decay = { -0.01 } },
      rmsprop = { decay = { 1.01, -1 }, momentum = { 1 }, epsilon = { 0 } },
      adagrad = { initial_accumulator_value = { 0, -1 } },
   }
   for opt, hps in pairs(domains) do
      for name, values in pairs(hps) do
         for _, v in ipairs(values) do
            case({ optimizer = opt, hyperparams = { [name] = v } }, "%-%-" .. name .. " ")
         end
      end
   end
   for _, wd in ipairs { -1e-4, 0 / 0, 1 / 0 } do case({ weight_decay = wd }, "%-%-weight_decay") end
   for _, c in ipairs {
      { { output_dir = "" }, "%-%-output_dir needs a folder name" },
      { { batch_size = 0 }, "%-%-bs must be at least 1" },
      { { batch_size = 1.5 }, "%-%-bs needs an integer" },
      { { num_epochs = -1 }, "%-N must be at least 0" },
      { { random_seed = -1 }, "%-%-random_seed must be at least 0" },
      { { random_seed = 2 ^ 31 }, "%-%-random_seed must be at most" },
      { { train_log_interval = 0 }, "%-%-train_log_interval must be at least 1" },
      { { threads = 0 }, "%-%-threads must be at least 1" },
      { { checkpoint_every = -1 }, "%-%-checkpoint_every must be at least 0" },
      { { checkpoint_minutes = -1 }, "%-%-checkpoint_minutes must be at least 0" },
      { { checkpoint_minutes = 0 / 0 }, "%-%-checkpoint_minutes needs a finite number" },
      { { resume = true, no_logs = true }, "%-%-resume needs the run's folder" },
      { { data_dir = TMP .. "/no/such/folder" }, "%-%-data_dir [^ ]* does not exist" },
      { { lr_schedule = "cosine", lr_min = 0.2 }, "%-%-lr_min" },
      { { lr_sched_epochs = { 1 }, lr_sched_factors = { 0.1 } }, "beyond %-N" },
      { { lr_schedule = "warm" }, "%-%-lr_schedule" },
   } do case(c[1], c[2]) end
   -- names that would put results outside --output_dir
   for _, bad in ipairs { "../evil", "..", ".", "a/b", ".hidden", "", "x y" } do
      case({ optimizer = fake.sgd { name = bad } }, "")
      case({ problem_name = bad }, "")
   end

   it(("%d generated cases, each with a message naming the fix; nothing read or written"):format(#cases), function()
      for _, c in ipairs(cases) do
         local loaded = false
         local o = c[1]
         o.problem = fake.problem { name = o.problem_name, on_load = function() loaded = true end }
         o.problem_name = nil
         o.optimizer = o.optimizer or fake.sgd()
         local ok, e = pcall(run, o)
         local label = cjson.encode(setmetatable({}, { __index = o })) .. " " .. c[2]
         assert.is_false(ok, label)
         assert.is_true(errors.is_usage(e), label .. ": " .. errors.describe(e))
         assert.matches(c[2], e.msg, nil, false, label)
         assert.is_false(loaded, label)
         assert.are.same({}, fs.files_under(TMP), label)
      end
   end)

   it("DEEPOBS_DATA_DIR naming a missing folder is an error, never a fall-back to another copy", function()
      ffi.C.setenv("DEEPOBS_DATA_DIR", TMP .. "/missing", 1)
      local ok, e = pcall(run, { problem = fake.problem(), optimizer = fake.sgd(), lr = 0.1 })
      ffi.C.unsetenv("DEEPOBS_DATA_DIR")
      assert.is_false(ok)
      assert.is_true(errors.is_usage(e))
      assert.matches("DEEPOBS_DATA_DIR=[^ ]*missing does not exist", e.msg)
   end)

   it("an output folder that cannot be written is found before training", function()
      fs.mkdir(TMP)
      fs.write(TMP .. "/file", "x")
      for _, dir in ipairs { TMP .. "/file/results", "/proc/deepobs_results" } do
         local loaded = false
         local ok, e = pcall(run, { problem = fake.problem { on_load = function() loaded = true end },
            optimizer = fake.sgd(), lr = 0.1, output_dir = dir })
         assert.is_false(ok)
         assert.is_true(errors.is_usage(e), errors.describe(e))
         assert.matches("output folder", e.msg)
         assert.is_false(loaded)
      end
   end)

   it("--validation on a dataset without a validation split", function()
      local ok, e = pcall(run, { problem = fake.problem(), optimizer = fake.sgd(), lr = 0.1, validation = true })
      assert.is_false(ok)
      assert.is_true(errors.is_usage(e))
      assert.matches("%-%-validation: the dataset of fake_softmax has no validation split", e.msg)
   end)

   it("on the command line: exit status 2 and one line", function()
      for _, args in ipairs {
         "quadratic_deep --lr -0.1", "quadratic_deep --lr 1e-60", "quadratic_deep --optimizer adam --lr 1 --beta2 1",
         "quadratic_deep --lr 1 --wd -1", "quadratic_deep --lr 1 --output_dir ''",
         "quadratic_deep --lr 1 --data_dir /no/such", "quadratic_deep --lr 1 --lr_schedule cosine --lr_min 2",
         "quadratic_deep --lr 1 --output_dir /proc/x", "quadratic_deep --lr 1 --resume --no_logs",
      } do
         local out = fs.sh("luajit run.lua " .. args .. " 2>&1; echo rc=$?")
         assert.matches("rc=2%s*$", out, nil, false, args)
         assert.matches("^run%.lua: error: [^\n]*\nrc=2", out, nil, false, args)
      end
   end)
end)

describe("an error inside the user's optimizer", function()
   local path = TMP .. "_opt.lua"
   after_each(function() os.remove(path) end)

   local function fail_with(body)
      fs.write(path, ([[
local function helper(x)
   %s
end
return {
   name = "Broken", hyperparams = { { name = "lr", type = "number", help = "lr" } },
   step = function(closure, params, hp, state)
      local loss = closure()
      helper(params)
      return loss
   end,
}
]]):format(body))
      local ok, e = pcall(run, { problem = fake.problem(), optimizer = path, lr = 0.1, no_logs = true })
      assert.is_false(ok)
      assert.is_false(errors.is_usage(e))
      return errors.describe(e)
   end

   it("names the user's file and line, with a traceback into the user's code only", function()
      local msg = fail_with("local t = nil; return t.field")
      assert.matches("^optimizer Broken failed in step%(%): " .. path:gsub("%p", "%%%0") .. ":2: attempt to index", msg)
      assert.matches("stack traceback %(the optimizer's code", msg)
      assert.matches(path:gsub("%p", "%%%0") .. ":2: in function 'helper'", msg)
      assert.matches(path:gsub("%p", "%%%0") .. ":8: in function", msg)
      assert.is_nil(msg:find("train.lua", 1, true))
   end)

   it("a non-string error object is shown readably; DEEPOBS_DEBUG shows the whole traceback", function()
      local msg = fail_with("error()")
      assert.matches("error object nil", msg)
      msg = fail_with("error({ code = 7, why = 'bad' })")
      assert.matches("failed in step%(%): error object {code = 7, why = \"bad\"}", msg)
      local out = fs.sh(("DEEPOBS_DEBUG=1 luajit run.lua spec/fixtures/fake_problem.lua --optimizer %s --lr 0.1 --no_logs 2>&1; echo rc=$?")
         :format(path))
      assert.matches("rc=1%s*$", out)
      assert.matches("lua/deepobs/train%.lua:%d+: in function", out)
      out = fs.sh(("luajit run.lua spec/fixtures/fake_problem.lua --optimizer %s --lr 0.1 --no_logs 2>&1"):format(path))
      assert.matches("\nrun%.lua: error: optimizer Broken failed in step%(%): error object {code = 7", out)
      assert.is_nil(out:find("train.lua", 1, true))
   end)

   it("an optimizer whose state cannot be saved fails after its first step, naming the key", function()
      fs.write(path, [[
return {
   name = "Unsaveable", hyperparams = { { name = "lr", type = "number", help = "lr" } },
   step = function(closure, params, hp, state)
      state.log = state.log or { print }
      _G.UNSAVEABLE_STEPS = (_G.UNSAVEABLE_STEPS or 0) + 1
      return closure()
   end,
}
]])
      local ok, e = pcall(run, { problem = fake.problem(), optimizer = path, lr = 0.1, no_logs = true, num_epochs = 50 })
      assert.is_false(ok)
      assert.matches("cannot save state%.log%[1%]: a function", errors.describe(e))
      assert.are.equal(1, rawget(_G, "UNSAVEABLE_STEPS")) -- found after the first step, not epochs later
   end)
end)

describe("result files", function()
   it("two runs of one setting and seed started in the same second both keep their result", function()
      local t = os.time { year = 2021, month = 3, day = 4, hour = 5, min = 6, sec = 7 }
      local a = run { problem = fake.problem(), optimizer = fake.sgd(), lr = 0.1, num_epochs = 1, time = t }
      local b = run { problem = fake.problem(), optimizer = fake.sgd(), lr = 0.1, num_epochs = 1, time = t }
      assert.matches("random_seed__42__2021%-03%-04%-05%-06%-07%.json$", a.path)
      assert.are.equal(a.path:gsub("%.json$", "_2.json"), b.path)
      assert.are.equal(2, #json_files(TMP))
      assert.are.same(cjson.decode(fs.read(a.path)).test_losses, cjson.decode(fs.read(b.path)).test_losses)
   end)

   it("processes writing the same name at once each get their own file, whole", function()
      fs.mkdir(TMP)
      local target = TMP .. "/random_seed__1__2020-01-01-00-00-00.json"
      local ps = {}
      for k = 1, 6 do
         ps[k] = proc.start(("luajit -e 'package.path=\"lua/?.lua;lua/?/init.lua;\"..package.path; "
            .. "local r = require \"deepobs.results\"; r.write_new(\"%s\", (\"%d\"):rep(100000))'"):format(target, k))
      end
      for _, p in ipairs(ps) do assert.are.equal(0, (p:wait(30))) end
      local got = {}
      for _, f in ipairs(fs.files_under(TMP)) do
         local s = fs.read(f)
         assert.are.equal(100000, #s)
         assert.are.equal(s:sub(1, 1):rep(100000), s)
         got[s:sub(1, 1)] = true
      end
      assert.are.same({ ["1"] = true, ["2"] = true, ["3"] = true, ["4"] = true, ["5"] = true, ["6"] = true }, got)
   end)

   it("a temporary file left by a kill is hidden and not a .json: neither the analyzer nor a run takes it", function()
      local res = run { problem = fake.problem(), optimizer = fake.sgd(), lr = 0.1, num_epochs = 1 }
      local dir = res.path:match("^(.*)/")
      local stale = ("%s/.%s.%d.tmp"):format(dir, res.path:match("[^/]*$"), 999999)
      fs.write(stale, fs.read(res.path):sub(1, 50))
      local col = require("deepobs.analyzer").load(TMP)
      local setting = col.problems.fake_softmax.optimizers.FakeSGD.settings[1]
      assert.are.equal(1, #setting.runs)
      assert.are.equal(0, #col.skipped)
   end)
end)

describe("provenance in the result file", function()
   it("command line, optimizer file and its SHA-256, engine version, git commit, host, start time", function()
      local t = os.time { year = 2022, month = 6, day = 7, hour = 8, min = 9, sec = 10 }
      local res = run { problem = fake.problem(), optimizer = "examples/my_sgd.lua", lr = 0.01, num_epochs = 1, time = t }
      local d = cjson.decode(fs.read(res.path))
      local abs = fs.sh("readlink -f examples/my_sgd.lua"):match("[^\n]+")
      assert.are.equal(abs, d.optimizer_file)
      assert.are.equal(fs.sh("sha256sum examples/my_sgd.lua"):match("^%x+"), d.optimizer_sha256)
      assert.are.equal(sha256.file("examples/my_sgd.lua"), d.optimizer_sha256)
      assert.are.equal(dob.version, d.engine_version)
      assert.are.equal(os.date("!%Y-%m-%dT%H:%M:%SZ", t), d.start_time)
      assert.is_string(d.command_line)
      assert.is_string(d.host)
      local head = fs.sh("git rev-parse HEAD 2>/dev/null"):match("^%x+")
      if head then assert.are.equal(head, d.git_commit) end
      -- an optimizer given as a table has no file
      res = run { problem = fake.problem(), optimizer = fake.sgd(), lr = 0.01, num_epochs = 1 }
      d = cjson.decode(fs.read(res.path))
      assert.are.equal(cjson.null, d.optimizer_sha256)
      assert.are.equal(cjson.null, d.optimizer_file)
   end)
end)

describe("the validation split through the runner and the analyzer", function()
   it("valid_losses every epoch, the folder says so, and the analyzer chooses by it", function()
      local paths = {}
      for _, lr in ipairs { 0.01, 0.2 } do
         local res = run { problem = "quadratic_deep", optimizer = "sgd", lr = lr, num_epochs = 2, validation = true }
         paths[lr] = res.path
         assert.matches("__validation__True__lr__", res.folder)
         local d = cjson.decode(fs.read(res.path))
         assert.are.equal(3, #d.valid_losses)
         assert.is_nil(d.valid_accuracies)
         local text = fs.read(res.path)
         assert.is_truthy(text:find('"train_losses": %b[], "valid_losses": %b[], "test_losses"'))
      end
      -- the same run without validation trains on the same points but is another setting
      local plain = run { problem = "quadratic_deep", optimizer = "sgd", lr = 0.01, num_epochs = 2 }
      assert.is_nil(plain.folder:find("validation", 1, true))
      local an = require "deepobs.analyzer"
      local entry = an.load(TMP).problems.quadratic_deep.optimizers.GradientDescentOptimizer
      local best = an.best(entry, "final", "valid_losses")
      local function final(lr) local v = cjson.decode(fs.read(paths[lr])).valid_losses; return v[#v] end
      local want = final(0.01) < final(0.2) and paths[0.01] or paths[0.2]
      assert.are.equal(want:match("([^/]*)/[^/]*$"), best.folder)
   end)
end)
