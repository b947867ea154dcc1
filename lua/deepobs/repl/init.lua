--- The deepobs REPL, after Torch7's `th`: `dob` loaded, line editing and history (kept in
-- ~/.deepobs_history), tab completion of globals, fields and tensor methods, expressions
-- printed without `=`, every result printed, errors as one short message, `help(x)`,
-- and ~/.deepobsrc.lua run at start.
--
--    make repl                    -- in a checkout
--    luajit run.lua repl          -- the same
--    require("deepobs.repl").start { history_file = false, rc_file = false }
local readline = require "deepobs.repl.readline"
local complete = require "deepobs.repl.complete"
local show = require "deepobs.repl.show"
local help = require "deepobs.repl.help"

local M = {}

local function home_file(name)
   local home = os.getenv("HOME")
   if not home or home == "" then return nil end
   return home .. "/" .. name
end

-- the message of an error without the REPL's own position, e.g.
-- `stdin:1: attempt to ...` -> `attempt to ...` (a user's file and line stay)
local function short_error(e)
   local msg = type(e) == "string" and e or (pcall(tostring, e) and tostring(e)) or "(error object)"
   return (msg:gsub("^stdin:%d+: ", ""))
end

-- compiles a chunk: an expression first (so that `x` prints x), then a statement;
-- returns fn, or nil + "incomplete" when more lines are needed, or nil + message
local function compile(src)
   local body = src:gsub("^%s*=", "")   -- Lua 5.1's `= expr` still works
   local fn = loadstring("return " .. body, "=stdin")
   if fn then return fn end
   local err
   fn, err = loadstring(body, "=stdin")
   if fn then return fn end
   if err:match("<eof>'?$") then return nil, "incomplete" end
   return nil, err:gsub("^stdin:%d+: ", "")
end

local function print_results(out, n, res)
   for i = 1, n do out:write(show.show(res[i]), "\n") end
end

-- runs fn, printing its results or its error; returns true when it succeeded
local function run(out, fn)
   local res = { xpcall(fn, function(e) return short_error(e) end) }
   if not res[1] then
      out:write("error: ", res[2], "\n")
      return false
   end
   print_results(out, table.maxn(res) - 1, { select(2, unpack(res, 1, table.maxn(res))) })
   return true
end

local function run_rc(out, path)
   local f = path and io.open(path, "r")
   if not f then return end
   f:close()
   local fn, err = loadfile(path)
   if not fn then out:write("error in ", path, ": ", err, "\n"); return end
   local ok, e = pcall(fn)
   if not ok then out:write("error in ", path, ": ", short_error(e), "\n") end
end

local function banner(dob)
   local blas = dob.blas_info().corename
   return ("deepobs %s on %s (OpenBLAS %s, %d threads). help() for help, Tab completes, Ctrl-D quits.")
      :format(dob.version, jit and jit.version or _VERSION, blas, dob.get_threads())
end

--- Runs the REPL until end of input (M.main parses a command line into these). opts: history_file (a path, or false for none;
-- default ~/.deepobs_history or $DEEPOBS_HISTORY), rc_file (default ~/.deepobsrc.lua),
-- plain = true (no readline), input/output for tests (a reader with :read(prompt) and a
-- file with :write). Returns 0.
function M.start(opts)
   opts = opts or {}
   local out = opts.output or io.stdout
   local dob = require "deepobs"
   _G.dob = dob
   _G.help = help.help
   local history = opts.history_file
   if history == nil then
      local env = os.getenv("DEEPOBS_HISTORY")
      history = env ~= "" and env or home_file(".deepobs_history")
   end
   local rc = opts.rc_file
   if rc == nil then rc = home_file(".deepobsrc.lua") end
   out:write(banner(dob), "\n")
   if rc then run_rc(out, rc) end
   local input = opts.input or readline.open {
      history_file = history or nil,
      plain = opts.plain,
      complete = function(word) return complete.candidates(word, _G) end,
   }
   local pending = nil
   while true do
      local line = input:read(pending and ">> " or "> ")
      if line == nil then
         out:write("\n")
         break
      end
      local src = pending and (pending .. "\n" .. line) or line
      if src:match("^%s*$") then
         pending = nil
      else
         local fn, err = compile(src)
         if fn then
            input:add_history(src)
            pending = nil
            run(out, fn)
         elseif err == "incomplete" then
            pending = src
         else
            input:add_history(src)
            pending = nil
            out:write("syntax error: ", err, "\n")
         end
      end
      out:flush()
   end
   input:close()
   return 0
end

local USAGE = [[
usage: luajit run.lua repl [--plain] [--no-history] [--no-rc]

An interactive Lua prompt with dob = require "deepobs" loaded. Expressions print their
value; help(x) shows the documentation of a function, module, layer, tensor, optimizer
("adam") or problem ("fmnist_2c2d"); Tab completes; arrow-up recalls lines from earlier
sessions (~/.deepobs_history, or $DEEPOBS_HISTORY); ~/.deepobsrc.lua runs at start.

  --plain        read plain lines (no line editing), as when input is not a terminal
  --no-history   neither read nor write the history file
  --no-rc        do not run ~/.deepobsrc.lua]]

--- The `repl` subcommand: argv (the words after `repl`) -> exit status.
function M.main(argv)
   local opts = {}
   for _, a in ipairs(argv or {}) do
      if a == "--help" or a == "-h" then
         io.stdout:write(require("deepobs.resolve").prog_text(USAGE), "\n")
         return 0
      elseif a == "--plain" then opts.plain = true
      elseif a == "--no-history" then opts.history_file = false
      elseif a == "--no-rc" then opts.rc_file = false
      else
         io.stderr:write(("repl: unknown argument '%s'\n%s\n"):format(a, require("deepobs.resolve").prog_text(USAGE)))
         return 2
      end
   end
   return M.start(opts)
end

return M
