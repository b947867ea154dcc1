-- The DEEPOBS_* environment variables (lua/deepobs/env.lua): a value that does not fit is
-- one clear line naming the variable and what it expects, from run.lua (exit status 2,
-- 1 for a library that does not load) and from require "deepobs" (the error's text),
-- never a stack trace and never silently ignored. Each case runs in a child process.
local ROOT = io.popen("pwd"):read("*l")

local function quote(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

-- runs `luajit <args>` in the checkout with name=value set; returns exit status, output
local function run(name, value, args)
   local cmd = ("cd %s && env %s=%s luajit %s 2>&1; echo \"EXIT $?\""):format(quote(ROOT), name, quote(value), args)
   local p = io.popen(cmd)
   local out = p:read("*a")
   p:close()
   local body, rc = out:match("^(.-)EXIT (%d+)%s*$")
   return tonumber(rc), body
end

local RUN = "run.lua --list"
local REQUIRE = quote("package.path = './lua/?.lua;./lua/?/init.lua;' .. package.path; "
   .. "local ok, e = pcall(require, 'deepobs'); io.write(tostring(e)); os.exit(ok and 0 or 3)")

-- each variable, the values it refuses, and a value it takes (with what shows it took it)
local VARS = {
   DEEPOBS_THREADS = { bad = { "0", "-1", "abc", "2.5", "1e9", "0x", "nan", "inf", " 2 x" },
      good = "2", shows = "print(dob.get_threads())", expect = "2" },
   DEEPOBS_GC_MIN_MB = { bad = { "-1", "0", "abc", "1e12", "nan", "inf", "64MB" },
      good = "128", shows = "print('loaded')", expect = "loaded" },
   DEEPOBS_CACHE_MB = { bad = { "-1", "abc", "1e12", "nan", "inf", "64MB" },
      good = "16", shows = "print(dob.cache_limit())", expect = tostring(16 * 2 ^ 20) },
   DEEPOBS_LIB = { bad = { "/nowhere/libdeepobs.so", "./no_such_dir/x.so" },
      good = ROOT .. "/build/libdeepobs.so", shows = "print(dob.blas_info().library)", expect = ROOT .. "/build/libdeepobs.so" },
   DEEPOBS_BLAS_CORETYPE = { bad = { "a;b", "../x", "Has well" },
      good = "auto", shows = "print('loaded')", expect = "loaded" },
   -- read by the command line only (run.lua, the training loop), not by the library
   DEEPOBS_DEBUG = { bad = { "maybe", "2", "yes please" }, good = "0", shows = "print('loaded')", expect = "loaded",
      cli_only = true },
}

local function sorted_names()
   local names = {}
   for k in pairs(VARS) do names[#names + 1] = k end
   table.sort(names)
   return names
end

describe("DEEPOBS_* environment variables", function()
   it("a bad value stops run.lua with one line naming the variable and what it expects (exit 2)", function()
      local n = 0
      for _, name in ipairs(sorted_names()) do
         for _, value in ipairs(VARS[name].bad) do
            local rc, out = run(name, value, RUN)
            local case = ("%s=%s: %s"):format(name, value, out)
            assert.are.equal(2, rc, case)
            assert.is_nil(out:find("traceback", 1, true), case)
            assert.matches("^run%.lua: error: " .. name .. "=", out, 1, case)
            assert.are.equal(1, select(2, out:gsub("\n", "")), case)
            assert.matches("expected ", out, 1, case)
            n = n + 1
         end
      end
      assert.is_true(n >= 20)
   end)

   it("a bad value makes require 'deepobs' fail with the same line", function()
      for _, name in ipairs(sorted_names()) do
         if VARS[name].cli_only then goto next end
         local value = VARS[name].bad[1]
         local rc, out = run(name, value, "-e " .. REQUIRE)
         assert.are.equal(3, rc, out)
         assert.matches("^" .. name .. "=", out)
         assert.is_nil(out:find("\n", 1, true), out)
         ::next::
      end
   end)

   it("a file that is not a library is a clear error naming DEEPOBS_LIB (exit 1)", function()
      local rc, out = run("DEEPOBS_LIB", ROOT .. "/run.lua", RUN)
      assert.are.equal(1, rc, out)
      assert.matches("^run%.lua: error: deepobs: cannot load .*DEEPOBS_LIB", out)
      assert.is_nil(out:find("traceback", 1, true), out)
   end)

   it("a good value is taken", function()
      for _, name in ipairs(sorted_names()) do
         local v = VARS[name]
         local code = quote("package.path = './lua/?.lua;./lua/?/init.lua;' .. package.path; "
            .. "local dob = require 'deepobs'; " .. v.shows)
         local rc, out = run(name, v.good, "-e " .. code)
         assert.are.equal(0, rc, out)
         assert.are.equal(v.expect .. "\n", out)
      end
   end)
end)
