-- deepobs.runstate: a run's state from the files in its setting folder alone.
local ffi = require "ffi"
local runner = require "deepobs.runner"
local runstate = require "deepobs.runstate"
local fake = require "fixtures.fake"
local fs = require "helpers.fs"

pcall(ffi.cdef, "int getpid(void);")

local TMP = "./.spec_tmp_runstate"
local DIR = TMP .. "/setting"

before_each(function() fs.rmrf(TMP); fs.mkdir(DIR) end)
teardown(function() fs.rmrf(TMP) end)

local function hostname() return fs.sh("hostname"):match("[^\n]+") end

describe("runstate.read", function()
   it("pending, done, interrupted, failed and running, from the files", function()
      assert.are.equal("pending", runstate.read(DIR, 42).state)
      fs.write(DIR .. "/random_seed__42.checkpoint", "x")
      assert.are.equal("interrupted", runstate.read(DIR, 42).state)
      fs.write(DIR .. "/random_seed__42.failed", "attempts=2\nmessage=boom\n")
      local s = runstate.read(DIR, 42)
      assert.are.equal("failed", s.state)
      assert.are.equal(2, s.attempts)
      assert.are.equal("boom", s.message)
      fs.write(DIR .. "/random_seed__42.running", ("host=%s\npid=%d\nsince=1\n"):format(hostname(), ffi.C.getpid()))
      assert.are.equal("running", runstate.read(DIR, 42).state)
      fs.write(DIR .. "/random_seed__42__2020-01-01-00-00-00.json", "{}")
      s = runstate.read(DIR, 42)
      assert.are.equal("done", s.state)
      assert.are.equal(DIR .. "/random_seed__42__2020-01-01-00-00-00.json", s.result)
      -- another seed of the folder is another run; seed 4 is not seed 42's prefix
      assert.are.equal("pending", runstate.read(DIR, 4).state)
      assert.are.equal("pending", runstate.read(DIR, 43).state)
   end)

   it("a .running file of a dead process on this host, or a silent one elsewhere, is not running", function()
      local dead = tonumber(fs.sh("sh -c 'echo $$'"):match("%d+")) -- that shell has exited
      fs.write(DIR .. "/random_seed__1.running", ("host=%s\npid=%d\nsince=1\n"):format(hostname(), dead))
      assert.are.equal("pending", runstate.read(DIR, 1).state)
      local now = os.time()
      fs.write(DIR .. "/random_seed__2.running", ("host=elsewhere\npid=1\nsince=%d\n"):format(now - 60))
      assert.are.equal("running", runstate.read(DIR, 2).state)
      fs.write(DIR .. "/random_seed__3.running", ("host=elsewhere\npid=1\nsince=1\nalive=%d\n")
         :format(now - runstate.STALE_SECONDS - 10))
      assert.are.equal("pending", runstate.read(DIR, 3).state)
   end)
end)

describe("a run keeps its state files", function()
   it("failures are counted across attempts; success removes them", function()
      local function attempt(fail)
         return pcall(runner.run, { problem = fake.problem { fail_at_forward = fail and 2 or nil }, optimizer = fake.sgd(),
            lr = 0.1, num_epochs = 1, output_dir = TMP, quiet = true, checkpoint_every = 0 })
      end
      local ok = attempt(true)
      assert.is_false(ok)
      local dir = fs.sh("find " .. TMP .. " -type d -name 'num_epochs__*'"):match("[^\n]+")
      local s = runstate.read(dir, 42)
      assert.are.equal("failed", s.state)
      assert.are.equal(1, s.attempts)
      assert.matches("forward failed on purpose", s.message)
      assert.is_false((attempt(true)))
      assert.are.equal(2, runstate.read(dir, 42).attempts)
      assert.is_true((attempt(false)))
      assert.are.equal("done", runstate.read(dir, 42).state)
      assert.is_false(fs.exists(dir .. "/random_seed__42.failed"))
      assert.is_false(fs.exists(dir .. "/random_seed__42.running"))
   end)

   it("while it trains, the run is running", function()
      local seen
      local opt = fake.sgd()
      local inner = opt.step
      opt.step = function(...)
         if not seen then
            local dir = fs.sh("find " .. TMP .. " -type d -name 'num_epochs__*'"):match("[^\n]+")
            seen = runstate.read(dir, 42)
         end
         return inner(...)
      end
      runner.run { problem = fake.problem(), optimizer = opt, lr = 0.1, num_epochs = 1, output_dir = TMP, quiet = true }
      assert.are.equal("running", seen.state)
      assert.are.equal(ffi.C.getpid(), seen.pid)
   end)
end)
