-- make bench-steps (bench/steps_compare.lua, bench/steps_torch.py): its options refuse what
-- does not fit with one line and exit status 2, and its PyTorch models have our models'
-- parameter counts and tensor shapes (--check; pending where /usr/bin/python3 has no torch).
-- No timing is asserted: timings belong to the benchmark run, not to the specs.
local cjson = require "cjson"
local ROOT = io.popen("pwd"):read("*l")

local function quote(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

-- runs `cmd` in the checkout; returns the exit status and the output (stdout + stderr)
local function run(cmd)
   local p = io.popen(("cd %s && %s 2>&1; echo \"EXIT $?\""):format(quote(ROOT), cmd))
   local out = p:read("*a")
   p:close()
   local body, rc = out:match("^(.-)EXIT (%d+)%s*$")
   return tonumber(rc), body
end

local function have_torch()
   local rc = run("/usr/bin/python3 -c 'import torch'")
   return rc == 0
end

describe("bench/steps_compare.lua options", function()
   local BAD = {
      { "--threads 0", "--threads" }, { "--threads 1,x", "--threads" }, { "--threads ,", "--threads" },
      { "--threads", "--threads" }, { "--rounds 0", "--rounds" }, { "--rounds 1.5", "--rounds" },
      { "--rounds", "--rounds" }, { "--steps -1", "--steps" }, { "--steps abc", "--steps" },
      { "--json", "--json" }, { "--filter", "--filter" }, { "--filter no_such_problem", "--filter" },
      { "--bogus", "--bogus" }, { "extra", "extra" }, { "--ours mnist_mlp", "--bs" },
   }
   for _, case in ipairs(BAD) do
      it("refuses " .. case[1] .. " with a usage line and exit status 2", function()
         local rc, out = run("luajit bench/steps_compare.lua " .. case[1])
         assert.are.equal(2, rc, out)
         assert.truthy(out:find(case[2], 1, true), out)
         assert.truthy(out:find("usage: luajit bench/steps_compare.lua", 1, true), out)
         assert.falsy(out:find("traceback", 1, true), out)
      end)
   end

   it("--help prints the usage and exits 0", function()
      local rc, out = run("luajit bench/steps_compare.lua --help")
      assert.are.equal(0, rc, out)
      for _, opt in ipairs { "--threads", "--rounds", "--steps", "--filter", "--json", "--check" } do
         assert.truthy(out:find(opt, 1, true), opt)
      end
   end)
end)

describe("bench/steps_torch.py against our models", function()
   -- one problem of each kind that builds in a second, in the order of the table (by name)
   local PROBLEMS = { "mnist_2c2d", "mnist_logreg", "mnist_vae", "ptb_gpt_micro", "ptb_lstm", "quadratic_deep",
      "tolstoi_char_rnn", "two_d_beale" }

   it("--check: the same parameter counts and tensor shapes on both sides", function()
      if not have_torch() then pending("/usr/bin/python3 has no torch (Debian python3-torch)") return end
      local json = os.tmpname()
      local rc, out = run(("luajit bench/steps_compare.lua --check --filter %s --json %s")
         :format(table.concat(PROBLEMS, ","), json))
      local f = io.open(json)
      local rows = cjson.decode(f:read("*a"))
      f:close()
      os.remove(json)
      assert.are.equal(0, rc, out)
      assert.are.equal(#PROBLEMS, #rows, out)
      for i, r in ipairs(rows) do
         assert.are.equal(PROBLEMS[i], r.problem)
         assert.are.equal("equal", r.verdict, out)
         assert.is_true(r.ours_params > 0 and r.ours_params == r.torch_params, r.problem)
      end
   end)

   it("refuses a model whose parameter count is not ours, naming both counts", function()
      if not have_torch() then pending("/usr/bin/python3 has no torch (Debian python3-torch)") return end
      local rc, out = run("/usr/bin/python3 bench/steps_torch.py mnist_logreg --bs 2 --steps 1 --params 7851")
      assert.are.equal(1, rc, out)
      local r = cjson.decode(out:match("{.*}"))
      assert.truthy(r.error:find("7850", 1, true) and r.error:find("7851", 1, true), r.error)
      assert.is_nil(r.s_per_step)
   end)
end)
