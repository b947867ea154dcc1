-- The install (Makefile's install/uninstall, rockspec/deepobs-scm-1.rockspec): the whole suite
-- and the `deepobs` command, used from another folder with a clean environment
-- (`env -i PATH=/usr/bin:/bin HOME=...`), as a new user would after installing.
local fs = require "helpers.fs"
local problems = require "problems"

local ROOT = io.popen("pwd"):read("*l")
local TMP = ROOT .. "/.spec_tmp_install"

local function shq(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

-- runs cmd in dir with only PATH and HOME set; returns exit status, stdout+stderr
local function clean_env(dir, cmd)
   local p = io.popen(("cd %s && env -i PATH=/usr/bin:/bin HOME=%s sh -c %s 2>&1; echo \"rc=$?\"")
      :format(shq(dir), shq(TMP .. "/home"), shq(cmd)))
   local out = p:read("*a")
   p:close()
   local rc = tonumber(out:match("rc=(%d+)\n$"))
   return rc, out:gsub("rc=%d+\n$", "")
end

local function files_under(dir)
   local p = io.popen(("find %s -type f -o -type l 2>/dev/null"):format(shq(dir)))
   local t = {}
   for l in p:lines() do t[#t + 1] = l end
   p:close()
   return t
end

-- what an installed `deepobs` (path: the command) must do from an unrelated folder
local function check_installed(deepobs)
   local work = TMP .. "/work"
   fs.rmrf(work)
   fs.mkdir(work)
   fs.mkdir(TMP .. "/home")

   local rc, out = clean_env(work, deepobs .. " --list")
   assert.are.equal(0, rc, out)
   for _, name in ipairs(problems.list()) do
      assert.matches("\n" .. name .. " ", out, 1, true)
   end

   rc, out = clean_env(work, deepobs .. " quadratic_deep --optimizer adam --lr 0.01 -N 2")
   assert.are.equal(0, rc, out)
   local written = out:match("wrote (results/quadratic_deep/AdamOptimizer/%S+%.json)")
   assert.truthy(written, out)
   assert.truthy(fs.exists(work .. "/" .. written))

   rc, out = clean_env(work, deepobs .. " analyze results --no_report")
   assert.are.equal(0, rc, out)
   assert.matches("quadratic_deep", out, 1, true)
   assert.matches("AdamOptimizer", out, 1, true)

   rc, out = clean_env(work, deepobs .. " --version")
   assert.are.equal(0, rc, out)
   assert.matches("^deepobs %d+%.%d+%.%d+\nlibrary /.-libdeepobs%.so\nLuaJIT .*OpenBLAS", out)

   -- a sweep's runs are started by the installed command too
   fs.write(work .. "/sweep.lua", [[return { name = "tiny", problems = { "quadratic_deep" },
      optimizers = { sgd = { lr = { 0.01, 0.02 } } }, num_epochs = 1 }]])
   rc, out = clean_env(work, deepobs .. " sweep sweep.lua --jobs 2")
   assert.are.equal(0, rc, out)
   local runs = 0
   for _, f in ipairs(files_under(work .. "/results/quadratic_deep/GradientDescentOptimizer")) do
      if f:match("%.json$") then runs = runs + 1 end
   end
   assert.are.equal(2, runs, out)

   -- the user's own problem, by folder
   fs.mkdir(work .. "/mine")
   fs.write(work .. "/mine/my_quadratic.lua", [[
local define = require "problems._define"
local base = require "problems.quadratic_deep"
return define {
   name = "my_quadratic", dataset = "quadratic", batch_size = 32, num_epochs = 1, has_accuracy = false,
   description = "quadratic_deep at batch size 32",
   build = base.build, forward = base.forward,
}]])
   rc, out = clean_env(work, deepobs .. " my_quadratic --problems_dir mine --lr 0.01 --no_logs")
   assert.are.equal(0, rc, out)
   assert.matches("my_quadratic | GradientDescentOptimizer", out, 1, true)
   rc, out = clean_env(work, "DEEPOBS_PROBLEMS_PATH=mine " .. deepobs .. " --list")
   assert.matches("\nmy_quadratic ", out, 1, true)

   rc, out = clean_env(work, "printf 'dob.ones(2):sum()\\n' | " .. deepobs .. " repl --no-rc")
   assert.are.equal(0, rc, out)
   assert.matches("> 2\n", out, 1, true)
end

describe("make install", function()
   setup(function() fs.rmrf(TMP); fs.mkdir(TMP) end)
   teardown(function() fs.rmrf(TMP) end)

   it("installs the suite and a deepobs command that works from anywhere; uninstall removes it", function()
      local prefix = TMP .. "/prefix"
      assert.are.equal(0, os.execute(("make -s install PREFIX=%s >/dev/null"):format(shq(prefix))))
      check_installed(prefix .. "/bin/deepobs")
      assert.are.equal(0, os.execute(("make -s uninstall PREFIX=%s >/dev/null"):format(shq(prefix))))
      assert.are.same({}, files_under(prefix))
   end)
end)

describe("luarocks make", function()
   local have = os.execute("command -v luarocks >/dev/null 2>&1") == 0

   it("passes luarocks lint and installs into a tree whose deepobs command works", function()
      if not have then
         pending("luarocks is not installed (scripts/setup.sh installs it)")
         return
      end
      local rockspec = "rockspec/deepobs-scm-1.rockspec"
      assert.are.equal(0, os.execute("luarocks lint " .. rockspec .. " >/dev/null 2>&1"))
      local tree = TMP .. "/tree"
      -- lua-cjson comes from Debian here, which luarocks does not know about
      local cmd = ("luarocks --lua-version=5.1 make --deps-mode=none --tree %s %s >/dev/null 2>&1")
         :format(shq(tree), rockspec)
      assert.are.equal(0, os.execute(cmd))
      check_installed(tree .. "/bin/deepobs")
      assert.are.equal(0, os.execute(("luarocks --lua-version=5.1 remove --tree %s deepobs >/dev/null 2>&1")
         :format(shq(tree))))
      for _, f in ipairs(files_under(tree)) do
         assert.is_nil(f:match("deepobs"), f .. " is left after luarocks remove")
      end
   end)
end)

describe("a user's own problems (--problems_dir, DEEPOBS_PROBLEMS_PATH)", function()
   local cjson = require "cjson"
   setup(function() fs.rmrf(TMP); fs.mkdir(TMP) end)
   teardown(function() fs.rmrf(TMP) end)

   local function run(cmd)
      local p = io.popen(cmd .. " 2>&1; echo \"rc=$?\"")
      local out = p:read("*a")
      p:close()
      return tonumber(out:match("rc=(%d+)\n$")), out
   end

   it("examples/problems/noisy_regression.lua trains on its own data from a checkout", function()
      local rc, out = run(("luajit run.lua noisy_regression --problems_dir examples/problems --optimizer adam "
         .. "--lr 0.01 -N 2 --output_dir %s/res"):format(shq(TMP)))
      assert.are.equal(0, rc, out)
      local path = out:match("wrote (%S+%.json)")
      local r = cjson.decode(fs.read(path))
      assert.are.equal("noisy_regression", r.testproblem)
      assert.are.equal(3, #r.test_losses)
      assert.is_true(r.test_losses[3] < r.test_losses[1] / 10, out)
   end)

   it("lists them, refuses a name the suite has, and a folder that does not exist", function()
      local rc, out = run("DEEPOBS_PROBLEMS_PATH=examples/problems luajit run.lua --list")
      assert.are.equal(0, rc, out)
      assert.matches("\nnoisy_regression ", out, 1, true)
      fs.mkdir(TMP .. "/dup")
      fs.write(TMP .. "/dup/fmnist_2c2d.lua", fs.read("problems/fmnist_2c2d.lua"))
      rc, out = run(("luajit run.lua fmnist_2c2d --problems_dir %s/dup --lr 0.1"):format(shq(TMP)))
      assert.are.equal(2, rc, out)
      assert.matches("problem 'fmnist_2c2d' is defined twice, by problems/fmnist_2c2d.lua and .*dup/fmnist_2c2d.lua", out)
      rc, out = run("luajit run.lua noisy_regression --problems_dir no/such/dir --lr 0.1")
      assert.are.equal(2, rc, out)
      assert.matches("--problems_dir no/such/dir: no such folder", out, 1, true)
   end)
end)

describe("--version", function()
   it("prints the engine version, the checkout's commit and the BLAS from every command", function()
      local commit = require("deepobs.provenance").git_commit()
      assert.truthy(commit, "these specs run from a git checkout")
      for _, cmd in ipairs { "luajit run.lua --version", "luajit run.lua sweep --version",
         "luajit run.lua benchmark --version", "luajit run.lua analyze --version", "luajit run.lua repl --version",
         "luajit scripts/analyze.lua --version" } do
         local p = io.popen(cmd .. " 2>&1; echo \"rc=$?\"")
         local out = p:read("*a")
         p:close()
         assert.matches("^deepobs %d+%.%d+%.%d+ %(git " .. commit:sub(1, 12) .. "%)\n", out, 1, false, cmd)
         assert.matches("OpenBLAS %d", out, 1, false, cmd)
         assert.matches("rc=0\n$", out, 1, false, cmd)
      end
   end)
end)
