--- Invalid calls to every public Lua function of the engine, generated, and classified.
--
--    local contract = require "helpers.api_contract"
--    local plan = contract.plan(dob, 20)        -- { {entry, tok1, tok2, ...}, ... } for every entry
--    local counts, bad = contract.run(plan, dir) -- child processes; { class = count }, bad outcomes
--    contract.run({ { "fake.crash" } }, dir, { fakes = true })   -- test-only misbehaving entries
--    contract.classify(msg)                      -- "ok", "raw" or "hang" for an error message
--
-- The API is found by walking the package (deepobs.api: dob.*, the Tensor methods, the
-- Tensor metatable's operators, dob.nn's classes, their methods, dob.nn.init, ParamSet,
-- dob.optim, deepobs.gradcheck), so a new function is covered without being listed here.
-- Each call gets arguments from a pool of tokens (nil, wrong types, NaN, inf, -1, 0, 2^53,
-- fractions, freed tensors, tensors of other dtypes and shapes, strings, tables,
-- functions, and plausible values so that later arguments are reached too), drawn by a
-- fixed pseudo-random sequence. Calls run in child processes (`luajit -e`) so that a
-- crash or a hang is seen and counted instead of ending the spec: the child prints a line
-- before and after each call; the call that started but did not finish is the one that
-- crashed (or hung: a per-call CPU limit through a count hook, and `timeout` for C loops).
-- Outcomes: ok (a clear error), success (the call was legal), raw (a message from Lua or
-- the FFI rather than from an argument check), crash, hang.
local M = {}

---------------------------------------------------------------------------------------
-- the value pool

local ffi = require "ffi"

-- token -> constructor of a fresh value (tensors are made anew for every call: calls
-- modify them in place or free them)
local function tensors(dob)
   local function f(...) return dob.randn(...) end
   return {
      t_f23 = function() return f(2, 3) end,
      t_f3 = function() return f(3) end,
      t_f0 = function() return dob.scalar(0.5) end,
      t_fempty = function() return dob.zeros(0) end,
      t_f234 = function() return f(2, 3, 4) end,
      t_f4d = function() return f(2, 3, 4, 4) end,
      t_fw = function() return f(3, 3, 2, 2) end,
      t_fnan = function() return dob.tensor({ 0 / 0, 1, -math.huge }) end,
      t_fexp = function() return f(1, 3):expand(2, 3) end,
      t_ft = function() return f(3, 2):t() end,
      t_grad = function() return f(2, 3):requires_grad_() end,
      t_i64 = function() return dob.tensor({ 0, 1 }, "int64") end,
      t_i64bad = function() return dob.tensor({ 5, -1 }, "int64") end,
      t_i2 = function() return dob.tensor({ { 0, 1 }, { 1, 0 } }, "int64") end,
      t_u8 = function() return dob.tensor({ { 1, 0, 1 }, { 0, 1, 0 } }, "uint8") end,
      t_img = function() return dob.ones(3, 8, 8, "uint8") end,
      t_freed = function() local t = f(2, 3); t:free(); return t end,
   }
end

-- what a user's function (the f_err token) raises: passed through unchanged, it is a
-- correct outcome
local USER_ERROR = "API_CONTRACT_USER_ERROR"

local SCALARS = {
   n_nil = function() return nil end, n_true = function() return true end, n_false = function() return false end,
   n_0 = function() return 0 end, n_1 = function() return 1 end, n_2 = function() return 2 end,
   n_3 = function() return 3 end, n_m1 = function() return -1 end, n_m2 = function() return -2 end,
   n_half = function() return 0.5 end, n_1p5 = function() return 1.5 end, n_mhalf = function() return -0.5 end,
   n_nan = function() return 0 / 0 end, n_inf = function() return math.huge end,
   n_minf = function() return -math.huge end, n_2p31 = function() return 2 ^ 31 end,
   n_2p32 = function() return 2 ^ 32 + 1 end, n_2p53 = function() return 2 ^ 53 end,
   n_2p63 = function() return 2 ^ 63 end, n_m2p53 = function() return -2 ^ 53 end,
   n_1e30 = function() return 1e30 end, n_300 = function() return 300 end, n_tiny = function() return 1e-300 end,
   s_empty = function() return "" end, s_abc = function() return "abc" end, s_f32 = function() return "float32" end,
   s_i64 = function() return "int64" end, s_same = function() return "SAME" end, s_tf = function() return "tf" end,
   s_num = function() return "2" end,
   x_tab = function() return {} end, x_12 = function() return { 1, 2 } end, x_23 = function() return { 2, 3 } end,
   x_m1 = function() return { -1 } end, x_nan = function() return { 0 / 0 } end, x_nest = function() return { {} } end,
   x_frac = function() return { 1.5, 2 } end, x_huge = function() return { 2 ^ 32, 2 ^ 32 } end,
   x_strs = function() return { "a", "b" } end,
   x_opts = function() return { kernel = 2, stride = 1, padding = 1 } end,
   x_optsbad = function() return { kernel = 0.5, stride = -1, padding = 0 / 0 } end,
   x_train = function() return { training = true } end,
   f_one = function() return function() return 1 end end,
   f_nil = function() return function() end end,
   f_err = function() return function() error(USER_ERROR) end end,
   u_proxy = function() return newproxy() end,
   c_ptr = function() return ffi.new("int[1]") end,
   c_co = function() return coroutine.create(function() end) end,
}

--- All tokens, sorted (the order the generator draws from).
function M.tokens(dob)
   local list = {}
   for k in pairs(SCALARS) do list[#list + 1] = k end
   for k in pairs(tensors(dob)) do list[#list + 1] = k end
   table.sort(list)
   return list
end

-- tokens whose values are valid-looking (drawn more often so later arguments are reached)
local PLAUSIBLE = { "n_1", "n_2", "n_3", "n_m1", "n_half", "s_same", "x_12", "x_opts", "t_f23", "t_f3", "t_f4d",
   "t_fw", "t_i64", "t_f234", "t_u8", "t_grad", "n_nil" }

---------------------------------------------------------------------------------------
-- the API surface

-- the operators that reach the Tensor metatable, as calls (made here, in the caller's code,
-- so that messages name the operator as they do for a user's line)
local OPERATORS = {
   __add = function(a, b) return a + b end, __sub = function(a, b) return a - b end,
   __mul = function(a, b) return a * b end, __div = function(a, b) return a / b end,
   __pow = function(a, b) return a ^ b end, __mod = function(a, b) return a % b end,
   __unm = function(a) return -a end, __len = function(a) return #a end,
   __concat = function(a, b) return a .. b end, __call = function(a, ...) return a(...) end,
   __eq = function(a, b) return a == b end, __lt = function(a, b) return a < b end,
   __le = function(a, b) return a <= b end, __tostring = function(a) return tostring(a) end,
   __index = function(a, k) return a[k] end, __newindex = function(a, k, v) a[k] = v end,
}

-- argument tuples that construct a module, tried in order (the first that works is
-- the instance whose methods are called)
local CONSTRUCT = { {}, { 3 }, { 3, 4 }, { 3, 4, 2 }, { 0.5 }, { function(x) return x end } }

-- Test-only entries that misbehave on purpose, to show that the classification can fail:
-- a raw Lua error, a segfault (a NULL read through the FFI) and an endless loop.
local FAKES = {
   ["fake.raw"] = function(x) return x + nil end,
   ["fake.crash"] = function() return ffi.cast("int *", 0)[0] end,
   ["fake.hang"] = function() local n = 0; while true do n = n + 1 end end,
}

--- Every entry of deepobs.api (the walk the API reference documents too), sorted by name;
-- with fakes, the FAKES too.
function M.entries(dob, fakes)
   local list = require("deepobs.api").entries(dob)
   for _, e in ipairs(list) do
      if e.kind == "operator" then e.fn = assert(OPERATORS[e.name:match("__%w+$")], e.name) end
   end
   if fakes then
      for name, fn in pairs(FAKES) do list[#list + 1] = { name = name, fn = fn, kind = "function" } end
      table.sort(list, function(a, b) return a.name < b.name end)
   end
   return list
end

---------------------------------------------------------------------------------------
-- the plan: deterministic argument tuples

local COMPARISONS = { ["operator __lt"] = true, ["operator __le"] = true, ["operator __eq"] = true }

--- A deterministic generator of case parameters: lcg(seed)(n) is an integer in [1, n].
local function lcg(seed)
   local s = seed
   return function(n)
      s = (s * 1103515245 + 12345) % 2147483648
      return math.floor(s / 2147483648 * n) + 1
   end
end
M.lcg = lcg

--- { {entry name, token, token, ...}, ... }: per entry, every token alone (for methods,
-- on a valid self), then `per_entry` random tuples of 0 to 4 arguments.
function M.plan(dob, per_entry)
   local tokens = M.tokens(dob)
   local tensor_tokens = {}
   for _, k in ipairs(tokens) do if k:match("^t_") then tensor_tokens[#tensor_tokens + 1] = k end end
   local cases = {}
   for ei, e in ipairs(M.entries(dob)) do
      local rnd = lcg(ei * 7919)
      local function pick()
         if rnd(2) == 1 then return PLAUSIBLE[rnd(#PLAUSIBLE)] end
         return tokens[rnd(#tokens)]
      end
      local self_first = e.kind == "method" or e.kind == "operator"
      -- an operator is reached only with a tensor operand; <, <= and == reach the
      -- metamethod only when both operands are tables (Lua compares mixed types itself)
      local operand_pool = e.kind == "operator" and tensor_tokens or tokens
      local second_pool = COMPARISONS[e.name] and tensor_tokens or tokens
      if e.kind ~= "operator" then cases[#cases + 1] = { e.name } end
      for _, tok in ipairs(second_pool) do
         cases[#cases + 1] = self_first and { e.name, "t_f23", tok } or { e.name, tok }
      end
      for _ = 1, per_entry do
         local c = { e.name }
         local n = rnd(5) - 1
         if COMPARISONS[e.name] then n = 1 end
         if self_first then
            -- mostly a valid tensor
            c[2] = rnd(6) == 1 and operand_pool[rnd(#operand_pool)] or PLAUSIBLE[8 + rnd(7)]
            n = n + 1
         end
         for i = #c + 1, n + 1 do
            c[i] = (i == 3 and COMPARISONS[e.name]) and tensor_tokens[rnd(#tensor_tokens)] or pick()
         end
         cases[#cases + 1] = c
      end
   end
   return cases
end

---------------------------------------------------------------------------------------
-- classification

-- messages that come from Lua or the FFI, not from an argument check
local RAW = { "attempt to", "bad argument", "cannot convert", "nil value", "stack overflow", "table index is",
   "invalid key", "%(tail call%)" }

--- "ok" (a clear error), "raw", or "hang" for an error message.
function M.classify(msg)
   if type(msg) ~= "string" then return "raw" end
   if msg:find("API_CONTRACT_HANG", 1, true) then return "hang" end
   if msg:find(USER_ERROR, 1, true) then return "ok" end
   for _, p in ipairs(RAW) do if msg:find(p) then return "raw" end end
   -- a position inside the package: the message escaped from a function's own code
   if msg:find("deepobs/[%w_/]+%.lua:%d+:") then return "raw" end
   -- a clear error names the function first ("narrow: ..."; "optimizer: step: ..."),
   -- after the position of the user's line when there is one
   local text = msg:gsub("^[^\n]-%.lua:%d+: ", "")
   -- (save and load name themselves by their verb: "cannot save state: it is nil")
   local op = text:match("^([%w_.:%[%]<>=+%-*/%%^()]+): %S") or text:match("^(cannot [sl][ao][va][ed]) ")
   if not op or op == "deepobs" then return "raw" end
   return "ok"
end

---------------------------------------------------------------------------------------
-- the child

local function instance_of(dob, cls)
   for _, args in ipairs(CONSTRUCT) do
      local ok, m = pcall(cls, unpack(args))
      if ok then return m end
   end
   error("api_contract: no way to construct this module")
end

local function paramset_of(dob)
   return dob.nn.ParamSet { dob.randn(2, 3), dob.randn(3) }
end

-- runs one case; returns "success" or the error value
local function call(dob, case, value)
   local e = case.entry
   local args = {}
   for i = 1, case.n do args[i] = value(case.tokens[i]) end
   local n = case.n
   if e.kind == "constructor" or e.kind == "function" or e.kind == "method" or e.kind == "operator" then
      return e.fn(unpack(args, 1, n))
   elseif e.kind == "module_method" then
      local m = instance_of(dob, dob.nn[e.class])
      return e.fn(m, unpack(args, 1, n))
   elseif e.kind == "paramset_method" then
      return e.fn(paramset_of(dob), unpack(args, 1, n))
   elseif e.kind == "optim_step" then
      local ps = paramset_of(dob)
      local o = dob.optim.object("sgd", ps, { lr = 0.1 })
      return o:step(args[1])
   end
   error("unknown kind " .. tostring(e.kind))
end

--- Runs cases[first..] of the plan in file `path` (one case a line: entry and tokens,
-- tab-separated), printing "S i" before and "R i class message" after each.
function M.child(path, first, fakes)
   local dob = require "deepobs"
   jit.off()   -- so that the count hook sees every loop
   io.stdout:setvbuf("line")
   local by_name = {}
   for _, e in ipairs(M.entries(dob, fakes)) do by_name[e.name] = e end
   local makers = tensors(dob)
   for k, v in pairs(SCALARS) do makers[k] = v end
   local function value(tok) return assert(makers[tok], tok)() end
   local threads = dob.get_threads()
   local deadline = math.huge
   debug.sethook(function()
      if os.clock() > deadline then
         deadline = math.huge
         error("API_CONTRACT_HANG: the call ran past its time limit", 2)
      end
   end, "", 1000)
   local i = 0
   for line in io.lines(path) do
      i = i + 1
      if i >= first then
         local parts = {}
         for p in line:gmatch("[^\t]+") do parts[#parts + 1] = p end
         local case = { entry = assert(by_name[parts[1]], parts[1]), tokens = { unpack(parts, 2) }, n = #parts - 1 }
         io.stdout:write("S ", i, "\n")
         deadline = os.clock() + 2
         local ok, err = pcall(call, dob, case, value)
         deadline = math.huge
         local class = ok and "success" or M.classify(err)
         local msg = ok and "" or tostring(err):gsub("[\r\n]", " ")
         io.stdout:write("R ", i, " ", class, " ", msg:sub(1, 300), "\n")
         dob.set_grad_enabled(true)
         if dob.get_threads() ~= threads then dob.set_threads(threads) end
      end
   end
   io.stdout:write("DONE\n")
end

---------------------------------------------------------------------------------------
-- the parent

local function shell_quote(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

--- Runs the plan in child processes in folder `dir` (created; calls may write files
-- there). Returns counts { ok =, success =, raw =, crash =, hang = } and a list of the
-- bad outcomes { class, case text, message }.
function M.run(plan, dir, opts)
   opts = opts or {}
   os.execute("mkdir -p " .. shell_quote(dir))
   local root = io.popen("pwd"):read("*l")
   local path = dir .. "/plan.txt"
   local f = assert(io.open(path, "w"))
   for _, c in ipairs(plan) do f:write(table.concat(c, "\t"), "\n") end
   f:close()
   local counts = { ok = 0, success = 0, raw = 0, crash = 0, hang = 0 }
   local bad = {}
   local lpath = ("%s/lua/?.lua;%s/lua/?/init.lua;%s/spec/?.lua;%s/?.lua"):format(root, root, root, root)
   -- an address-space limit turns huge allocations into clean failures instead of swapping
   -- (not under AddressSanitizer, which reserves terabytes of shadow memory)
   local limit = os.getenv("DEEPOBS_ASAN") and "" or "ulimit -v 6000000; "
   local first = 1
   while first <= #plan do
      local code = ("package.path=%q..package.path; require('helpers.api_contract').child(%q, %d, %s)")
         :format(lpath, "plan.txt", first, tostring(opts.fakes == true))
      local cmd = ("cd %s && %stimeout -s KILL %d luajit -e %s 2>&1; echo \"EXIT $?\"")
         :format(shell_quote(dir), limit, opts.batch_seconds or 120, shell_quote(code))
      local p = io.popen(cmd)
      local started, finished, exit, tail = nil, nil, nil, {}
      for line in p:lines() do
         local s = line:match("^S (%d+)$")
         local r, class, msg = line:match("^R (%d+) (%a+) ?(.*)$")
         if s then started = tonumber(s)
         elseif r then
            r = tonumber(r)
            finished = r
            counts[class] = counts[class] + 1
            if class ~= "ok" and class ~= "success" then
               bad[#bad + 1] = { class, table.concat(plan[r], " "), msg }
            end
         elseif line:match("^EXIT ") then exit = tonumber(line:match("%d+"))
         elseif line ~= "DONE" then tail[#tail + 1] = line; if #tail > 20 then table.remove(tail, 1) end end
      end
      p:close()
      if exit == 0 and finished == #plan then break end
      if not started or (finished and finished >= started) then
         error("api_contract: the child failed before a call (exit " .. tostring(exit) .. "):\n"
            .. table.concat(tail, "\n"))
      end
      -- the call that started and did not finish crashed the process or hung it
      local class = exit == 137 and "hang" or "crash"
      counts[class] = counts[class] + 1
      bad[#bad + 1] = { class, table.concat(plan[started], " "), ("exit status %s; %s"):format(tostring(exit),
         table.concat(tail, " | "):sub(1, 300)) }
      first = started + 1
   end
   return counts, bad
end

return M
