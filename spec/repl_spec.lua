-- The REPL (lua/deepobs/repl) driven through a pseudo-terminal (util-linux `script`), as a
-- user types into it: readline editing, history across restarts, completion, printing,
-- help, errors that do not end the session, ~/.deepobsrc.lua; and plain input from a pipe.
local fs = require "helpers.fs"
local complete = require "deepobs.repl.complete"
local show = require "deepobs.repl.show"
local help = require "deepobs.repl.help"

local TMP = ".spec_tmp_repl"
local ROOT = io.popen("pwd"):read("*l")

local function shq(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

-- runs the REPL on a terminal fed with `keys`, HOME = home; returns what the terminal showed
-- (readline's bracketed-paste switches and carriage returns removed)
local function session(home, keys, args)
   fs.mkdir(home)
   local keyfile = home .. "/keys"
   fs.write(keyfile, keys)
   local cmd = ("cd %s && HOME=%s DEEPOBS_HISTORY= timeout 60 script -qfec %s /dev/null < %s 2>&1")
      :format(shq(ROOT), shq(ROOT .. "/" .. home),
         shq("luajit run.lua repl " .. (args or "")), shq(keyfile))
   local p = io.popen(cmd)
   local out = p:read("*a")
   p:close()
   return (out:gsub("\27%[%?2004[hl]", ""):gsub("\r", ""))
end

-- the output printed between the echo of input line `line` and the next prompt
local function output_after(text, line)
   local at = text:find("> " .. line .. "\n", 1, true)
   assert(at, ("the session never echoed %q:\n%s"):format(line, text))
   local from = at + #line + 3
   local to = text:find("\n>>? ", from - 1) or #text
   return text:sub(from, to)
end

describe("the REPL on a terminal", function()
   setup(function() fs.rmrf(TMP); fs.mkdir(TMP) end)
   teardown(function() fs.rmrf(TMP) end)

   it("prints expressions without '=', every result, and goes on after errors", function()
      local t = session(TMP .. "/print", table.concat({
         "x = dob.ones(2, 3) * 2",
         "x",
         "x:size()",
         "1, 'two', nil, 3.5",
         "x:no_such_method()",
         "if then",
         "for i = 1, 2 do",
         "  io.write('line ', i, '\\n')",
         "end",
         "= 6 * 7",
         "",
      }, "\n"))
      assert.matches("^ *2 +2 +2\n *2 +2 +2\n%[deepobs.FloatTensor of size 2x3%]", output_after(t, "x"))
      assert.are.equal("{2, 3}\n", output_after(t, "x:size()"))
      assert.are.equal('1\n"two"\nnil\n3.5\n', output_after(t, "1, 'two', nil, 3.5"))
      assert.matches("^error: index: a Tensor has no method or field 'no_such_method'\n$",
         output_after(t, "x:no_such_method()"))
      assert.matches("^syntax error: .*near 'then'", output_after(t, "if then"))
      assert.matches("line 1\nline 2\n", t, 1, true)
      assert.are.equal("42\n", output_after(t, "= 6 * 7"))
   end)

   it("summarises a 1000x1000 tensor in under 5 KB, first and last entries shown", function()
      local t = session(TMP .. "/big", "dob.manual_seed(3); x = dob.randn(1000, 1000)\nx\nx[1][1], x[1000][1000]\n")
      local shown = output_after(t, "x")
      assert.is_true(#shown < 5000, #shown .. " bytes")
      assert.matches("%[deepobs.FloatTensor of size 1000x1000%]", shown)
      local first, last = output_after(t, "x[1][1], x[1000][1000]"):match("^(%S+)\n(%S+)\n$")
      local rows = {}
      for l in shown:gmatch("[^\n]+") do rows[#rows + 1] = l end
      assert.are.equal(("%.4f"):format(tonumber(first)), rows[1]:match("^%s*(%S+)"))
      assert.are.equal(("%.4f"):format(tonumber(last)), rows[#rows - 1]:match("(%S+)$"))
      assert.are.equal(7, #rows - 1)   -- 3 rows, "...", 3 rows
   end)

   it("completes tensor methods and module fields with Tab", function()
      local t = session(TMP .. "/complete", "x = dob.ones(2, 2)\nx:addcm\t(x, x, 1)\nx\ndob.nn.Lin\t(2, 3)\n")
      assert.matches("> x:addcmul_%(x, x, 1%)\n", t)
      assert.matches("^ *2 +2\n *2 +2\n", output_after(t, "x"))
      assert.matches("> dob.nn.Linear%(2, 3%)\nLinear%(2 %-> 3%)\n", t)
   end)

   it("keeps history across sessions: arrow-up recalls the last session's line", function()
      local home = TMP .. "/history"
      session(home, "secret = 6 * 7\n")
      assert.matches("secret = 6 %* 7", fs.read(home .. "/.deepobs_history"))
      local t = session(home, "\27[A\nsecret\n")
      assert.are.equal("42\n", output_after(t, "secret"))
   end)

   it("runs ~/.deepobsrc.lua at start (and reports its errors without stopping)", function()
      local home = TMP .. "/rc"
      fs.mkdir(home)
      fs.write(home .. "/.deepobsrc.lua", "greeting = 'hello from rc'\n")
      assert.are.equal('"hello from rc"\n', output_after(session(home, "greeting\n"), "greeting"))
      fs.write(home .. "/.deepobsrc.lua", "error('rc broke')\n")
      local t = session(home, "1 + 1\n")
      assert.matches("error in .*%.deepobsrc%.lua: .*rc broke", t)
      assert.are.equal("2\n", output_after(t, "1 + 1"))
      assert.not_matches("greeting", session(home, "greeting\n", "--no-rc"):match("> greeting\n(.*)$"))
   end)

   it("shows help for a function, a layer, an optimizer and a problem", function()
      local t = session(TMP .. "/help",
         "help(dob.set_printoptions)\nhelp(dob.nn.Linear)\nhelp('adam')\nhelp('quadratic_deep')\nhelp('nope')\n")
      assert.matches("set_printoptions.*threshold", output_after(t, "help(dob.set_printoptions)"))
      assert.matches("deepobs.nn.Linear", output_after(t, "help(dob.nn.Linear)"))
      local adam = output_after(t, "help('adam')")
      for _, h in ipairs { "AdamOptimizer", "beta1", "beta2", "epsilon", "default 0.9" } do
         assert.matches(h, adam, 1, true)
      end
      local q = output_after(t, "help('quadratic_deep')")
      assert.matches("quadratic_deep", q, 1, true)
      assert.matches("100", q, 1, true)   -- its 100 parameters
      assert.matches("is not a problem, an optimizer or a module", output_after(t, "help('nope')"), 1, true)
   end)
end)

describe("the REPL on a pipe", function()
   it("reads plain lines without readline and prints results", function()
      local p = io.popen("printf 'y = 20\\ny + 1\\n' | luajit run.lua repl --no-history --no-rc 2>&1; echo rc=$?")
      local out = p:read("*a")
      p:close()
      assert.matches("> > 21\n", out, 1, true)
      assert.matches("rc=0", out, 1, true)
   end)

   it("refuses unknown arguments with its usage", function()
      local p = io.popen("luajit run.lua repl --frobnicate 2>&1; echo rc=$?")
      local out = p:read("*a")
      p:close()
      assert.matches("repl: unknown argument '--frobnicate'", out, 1, true)
      assert.matches("usage: luajit run.lua repl", out, 1, true)
      assert.matches("rc=2", out, 1, true)
   end)
end)

describe("completion candidates", function()
   it("lists globals, fields and methods by prefix, sorted, without running __index functions", function()
      local called = false
      local obj = setmetatable({}, { __index = function() called = true end,
         __class = { alpha = function() end, alps = function() end, beta = function() end, data = 1 } })
      local env = { obj = obj, alpine = 1, pkg = { sub = { leaf = 1, leap = 2 } } }
      assert.are.same({ "obj:alpha", "obj:alps" }, complete.candidates("obj:al", env))
      assert.are.same({}, complete.candidates("obj:da", env))   -- not a method
      assert.are.same({ "pkg.sub.leaf", "pkg.sub.leap" }, complete.candidates("pkg.sub.le", env))
      assert.are.same({ "alpine", "and" }, complete.candidates("a", env))
      assert.are.same({}, complete.candidates("nothing.here.", env))
      assert.is_false(called)
   end)
end)

describe("how the REPL shows values", function()
   it("writes numbers exactly, strings quoted, tables as short literals", function()
      assert.are.equal("0.1", show.show(0.1))
      assert.are.equal("0.30000000000000004", show.show(0.1 + 0.2))
      assert.are.equal("1e+300", show.show(1e300))
      assert.are.equal('"a\\"b"', show.show('a"b'))
      assert.are.equal('{1, 2, lr = 0.5, name = "x"}', show.show({ 1, 2, lr = 0.5, name = "x" }))
      assert.are.equal("{{{...}}}", show.show({ { { 1 } } }))
      local big = {}
      for i = 1, 100 do big[i] = i end
      assert.matches("^{1, 2, .*, 20, %.%.%. %(80 more%)}$", show.show(big))
   end)
end)

describe("help text", function()
   it("reads a function's doc comment and a module's header from the source", function()
      local dob = require "deepobs"
      assert.matches("Sets print options", help.text(dob.set_printoptions), 1, true)
      assert.matches("deepobs.repl.show", help.text(show), 1, true)
      assert.matches("How the REPL shows a value", help.text(show), 1, true)
      local x = dob.zeros(2, 3)
      local t = help.text(x)
      assert.matches("deepobs.FloatTensor of size 2x3, no grad", t, 1, true)
      assert.matches(" add_ ", t, 1, true)
   end)
end)
