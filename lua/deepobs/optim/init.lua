--- deepobs.optim: the optimizers, and the loader for a user's own.
--
--    local optim = require "deepobs.optim"
--    optim.list()                          --> { "adagrad", "adam", "adamw", "momentum", "rmsprop", "sgd" }
--    local opt = optim.load("momentum")    -- a built-in (or its TF class name, "MomentumOptimizer")
--    local opt = optim.load("examples/my_sgd.lua")   -- a user's file, by path
--    local hp = optim.hyperparams(opt, { lr = 0.1 })  -- defaults filled in, types checked
--
-- An optimizer is a table { name, description, hyperparams, step } (see template.lua for
-- what each field means). The runner calls opt.step(closure, params, hp, state) inside
-- dob.no_grad once per training batch.
--
-- For PyTorch-minded use there is a small object form:
--
--    local o = optim.object("adam", nn.ParamSet(model), { lr = 1e-3 })
--    for step = 1, 100 do
--       local loss = o:step(function()
--          local l = loss_fn(model(x), y)     -- forward (grad recording is on in here)
--          l:backward()                       -- gradients go into params.grad_flat
--          return l                           -- a tensor or a number
--       end)
--    end
--    o.hp.lr = 1e-4                          -- change the rate at will; o.state is the optimizer's state
local M = {}

-- deepobs/init.lua requires this module while it loads, so "deepobs" is required lazily
local A = require "deepobs.argcheck"
local function get_dob() return require "deepobs" end

-- the built-ins: file name -> loaded lazily from deepobs/optim/<name>.lua
local BUILTINS = { "adagrad", "adam", "adamw", "momentum", "rmsprop", "sgd" }
local IS_BUILTIN = {}
for _, n in ipairs(BUILTINS) do IS_BUILTIN[n] = true end

local TYPES = { number = true, boolean = true, integer = true, string = true }

--- The words a boolean hyperparameter accepts (case does not matter), on the command
-- line and in sweep files alike.
M.BOOL_WORDS = { ["true"] = true, ["false"] = false, ["1"] = true, ["0"] = false,
                 yes = true, no = false, on = true, off = false }

--- optim.list(): the built-in optimizers' short names, sorted
function M.list()
   local out = {}
   for i, n in ipairs(BUILTINS) do out[i] = n end
   return out
end

local function fail(msg) error("optimizer: " .. msg, 0) end

local function value_ok(kind, v)
   if kind == "integer" then return type(v) == "number" and v == math.floor(v) and v == v end
   return type(v) == kind
end

---------------------------------------------------------------------------------------
-- domains: a hyperparameter may declare the interval its values must lie in, written
-- as in mathematics: domain = "[0, 1)", "(0, inf)", "[1, 10]".

local function parse_bound(s)
   s = s:match("^%s*(.-)%s*$")
   if s == "inf" or s == "+inf" then return math.huge end
   if s == "-inf" then return -math.huge end
   return tonumber(s)
end

--- optim.parse_domain(text): the interval of a domain string such as "[0, 1)"
-- The interval of a domain string: { lo, hi, lo_open, hi_open }, or nil and a message.
function M.parse_domain(text)
   if type(text) ~= "string" then return nil, "'domain' must be a string such as \"[0, 1)\"" end
   local open, a, b, close = text:match("^%s*([%[%(])([^,]+),([^%]%)]+)([%]%)])%s*$")
   local lo, hi = a and parse_bound(a), b and parse_bound(b)
   if not (lo and hi) or lo ~= lo or hi ~= hi or lo > hi then
      return nil, ("'domain' must be an interval such as \"[0, 1)\" or \"(0, inf)\", got %q"):format(text)
   end
   return { lo, hi, open == "(", close == ")" }
end

local function in_domain(d, v)
   if v ~= v then return false end
   if v < d[1] or (d[3] and v == d[1]) then return false end
   if v > d[2] or (d[4] and v == d[2]) then return false end
   return true
end

--- optim.validate(opt, where): opt if it is a valid optimizer table, else a clear error
-- Checks that opt is a valid optimizer table; `where` names it in messages.
-- Returns opt; raises a clear error (no traceback position) otherwise.
function M.validate(opt, where)
   if where ~= nil and (type(where) ~= "string" or where == "") then
      fail("validate: argument 'where' must be a non-empty string (a name for messages), got " .. A.describe(where))
   end
   where = where or "optimizer"
   if type(opt) ~= "table" then
      fail(("%s must return a table { name =, hyperparams =, step = }, got a %s"):format(where, type(opt)))
   end
   if type(opt.name) ~= "string" or opt.name == "" then
      fail(("%s: 'name' must be a non-empty string (the results folder name, e.g. \"MySGD\")"):format(where))
   end
   if not opt.name:match("^[%w_.+-]+$") or opt.name:match("^%.") then
      fail(("%s: 'name' %q is the results folder's name: use letters, digits and _ . + - only, "
         .. "not starting with a dot (it must stay inside --output_dir)"):format(where, opt.name))
   end
   if opt.description ~= nil and type(opt.description) ~= "string" then
      fail(("%s: 'description' must be a string"):format(where))
   end
   if type(opt.step) ~= "function" then
      fail(("%s: 'step' must be a function step(closure, params, hp, state), got a %s"):format(where, type(opt.step)))
   end
   if type(opt.hyperparams) ~= "table" then
      fail(("%s: 'hyperparams' must be a list of { name =, type =, default =, help = } (may be empty)"):format(where))
   end
   local seen = {}
   local n = #opt.hyperparams
   for k in pairs(opt.hyperparams) do
      if type(k) ~= "number" or k < 1 or k > n or k ~= math.floor(k) then
         fail(("%s: 'hyperparams' must be a list (ordered array), found key %s"):format(where, tostring(k)))
      end
   end
   for i, h in ipairs(opt.hyperparams) do
      local at = ("%s: hyperparams[%d]"):format(where, i)
      if type(h) ~= "table" then fail(at .. " must be a table { name =, type =, default =, help = }") end
      if type(h.name) ~= "string" or not h.name:match("^[%a_][%w_]*$") then
         fail(at .. ": 'name' must be an identifier (letters, digits, _), got " .. tostring(h.name))
      end
      at = ("%s: hyperparameter '%s'"):format(where, h.name)
      if seen[h.name] then fail(at .. " is declared twice") end
      seen[h.name] = true
      if not TYPES[h.type] then
         fail(at .. ": 'type' must be one of number, integer, boolean, string; got " .. tostring(h.type))
      end
      if h.default ~= nil and not value_ok(h.type, h.default) then
         fail(("%s: default %s is not a %s"):format(at, tostring(h.default), h.type))
      end
      if type(h.help) ~= "string" then fail(at .. ": 'help' must be a string (it shows in --help)") end
      if h.search ~= nil then
         local search = require "deepobs.sweep.search"
         if h.type ~= "number" and h.type ~= "integer" and not (type(h.search) == "table" and h.search.kind == "choice") then
            fail(at .. ": a boolean or string hyperparameter's 'search' must be choice{ ... }")
         end
         if not search.is_distribution(h.search) then
            fail(at .. ": 'search' must be a distribution: log_uniform(a, b), uniform(a, b), int(a, b) or choice{ ... }")
         end
         local ok, e = pcall(search.check, { [h.name] = h.search }, where)
         if not ok then fail(tostring(e)) end
      end
      if h.domain ~= nil then
         if h.type ~= "number" and h.type ~= "integer" then
            fail(at .. ": only number and integer hyperparameters can have a 'domain'")
         end
         local d, msg = M.parse_domain(h.domain)
         if not d then fail(at .. ": " .. msg) end
         if h.default ~= nil and not in_domain(d, h.default) then
            fail(("%s: default %s is outside its domain %s"):format(at, tostring(h.default), h.domain))
         end
      end
   end
   return opt
end

-- where a built-in's source file is (for the run's provenance)
local function builtin_path(name)
   return package.searchpath("deepobs.optim." .. name, package.path)
end

local function load_builtin(name)
   local opt = require("deepobs.optim." .. name)
   return M.validate(opt, "deepobs/optim/" .. name .. ".lua"), builtin_path(name)
end

local function load_path(path)
   local f = io.open(path, "r")
   if not f then
      fail(("no optimizer file '%s' (a path to a .lua file returning an optimizer table, or a built-in: %s)")
         :format(path, table.concat(BUILTINS, ", ")))
   end
   f:close()
   local chunk, err = loadfile(path)
   if not chunk then fail(("could not load '%s': %s"):format(path, tostring(err))) end
   -- the search-space distributions are in scope, for declarations `search = log_uniform(a, b)`
   local search = require "deepobs.sweep.search"
   setfenv(chunk, setmetatable({ log_uniform = search.log_uniform, uniform = search.uniform, int = search.int,
      choice = search.choice }, { __index = _G }))
   local ok, opt = pcall(chunk, path)
   if not ok then fail(("'%s' raised an error while loading: %s"):format(path, tostring(opt))) end
   return M.validate(opt, path), path
end

--- optim.load(name_or_path): the validated optimizer table and its source file's path
-- A built-in short name ("adam"), a built-in's TF class name
-- ("AdamOptimizer"), or a path to a user's .lua file (anything with a '/' or ending in .lua).
-- Returns the validated optimizer table and the path of its source file (nil for a table).
function M.load(what)
   if type(what) == "table" then return M.validate(what), nil end
   if type(what) ~= "string" or what == "" then
      fail("expected a built-in optimizer name or a path to a .lua file, got " .. tostring(what))
   end
   if IS_BUILTIN[what] then return load_builtin(what) end
   if what:find("/", 1, true) or what:match("%.lua$") then return load_path(what) end
   for _, n in ipairs(BUILTINS) do                     -- by TF class name
      local opt, path = load_builtin(n)
      if opt.name == what then return opt, path end
   end
   fail(("unknown optimizer '%s'; the built-ins are %s (or give the path to your own .lua file, e.g. examples/my_sgd.lua)")
      :format(what, table.concat(BUILTINS, ", ")))
end

---------------------------------------------------------------------------------------
-- values

local function an(kind) return (kind == "integer" and "an " or "a ") .. kind end

--- optim.coerce(h, v): v converted to hyperparameter spec h's type, its domain checked
-- Converts a value (a command-line string, or a Lua value) to hyperparameter spec h's
-- type and checks its domain; returns nil and a message when it does not fit.
function M.coerce(h, v)
   if type(h) ~= "table" or type(h.name) ~= "string" or not TYPES[h.type] then
      fail("coerce: argument 'h' must be a hyperparameter declaration { name =, type =, ... }, got " .. A.describe(h))
   end
   local flag = "--" .. h.name
   if type(v) == "string" and h.type ~= "string" then
      if h.type == "boolean" then
         local b = M.BOOL_WORDS[v:lower()]
         if b == nil then return nil, ("%s needs true or false, got '%s'"):format(flag, v) end
         return b
      end
      local x = tonumber(v)
      if x == nil then return nil, ("%s needs %s, got '%s'"):format(flag, an(h.type), v) end
      v = x
   end
   if not value_ok(h.type, v) then
      return nil, ("%s needs %s, got %s"):format(flag, an(h.type), tostring(v))
   end
   if type(v) == "number" and (v ~= v or v == math.huge or v == -math.huge) then
      return nil, ("%s needs a finite number, got %s"):format(flag, tostring(v))
   end
   if h.domain then
      local d = assert(M.parse_domain(h.domain))
      if not in_domain(d, v) then
         return nil, ("%s must be in %s, got %s"):format(flag, h.domain, tostring(v))
      end
   end
   return v
end

-- the smallest normal float32: a smaller step size is lost when parameters are updated
local FLOAT32_MIN_NORMAL = 2 ^ -126

--- optim.check_lr(lr): lr if it is a usable learning rate, else nil and a message
-- Checks a learning rate: positive, finite, and representable as a normal float32
-- (parameters are float32: a smaller rate underflows). Returns nil and a message otherwise.
function M.check_lr(lr)
   if type(lr) ~= "number" then return nil, ("--lr needs a number, got %s"):format(tostring(lr)) end
   if lr ~= lr or lr == math.huge or lr == -math.huge then
      return nil, ("--lr needs a finite number, got %s"):format(tostring(lr))
   end
   if lr <= 0 then return nil, ("--lr must be positive, got %s"):format(tostring(lr)) end
   if lr < FLOAT32_MIN_NORMAL then
      return nil, ("--lr %s underflows float32 (the parameters' type; smallest normal 1.18e-38)")
         :format(tostring(lr))
   end
   return lr
end

--- optim.hyperparams(opt, given): the full hyperparameter table of optimizer opt
-- The full hyperparameter table for opt: `given` (name -> value; strings are converted)
-- with defaults filled in, types and domains checked. An lr given to an optimizer that does
-- not declare one is kept (the runner schedules it). Unknown names, missing required values,
-- wrong types and values outside their domain are clear errors.
function M.hyperparams(opt, given)
   if type(opt) ~= "table" or type(opt.hyperparams) ~= "table" or type(opt.name) ~= "string" then
      fail("hyperparams: argument 'opt' must be an optimizer table (from optim.load), got " .. A.describe(opt))
   end
   given = given or {}
   if type(given) ~= "table" then
      fail("hyperparams: argument 'given' must be a table name -> value, got " .. A.describe(given))
   end
   local known, out = {}, {}
   for _, h in ipairs(opt.hyperparams) do known[h.name] = h end
   for k in pairs(given) do
      if not known[k] and k ~= "lr" then
         local names = {}
         for i, h in ipairs(opt.hyperparams) do names[i] = h.name end
         fail(("%s has no hyperparameter '%s'; it has: %s"):format(opt.name, tostring(k),
            #names > 0 and table.concat(names, ", ") or "none"))
      end
   end
   for _, h in ipairs(opt.hyperparams) do
      local v = given[h.name]
      if v == nil then
         if h.default == nil then
            if h.name == "lr" then fail(("%s needs a learning rate: add --lr X"):format(opt.name)) end
            fail(("%s needs --%s (%s)"):format(opt.name, h.name, h.help))
         end
         v = h.default
      end
      local ok, msg = M.coerce(h, v)
      if ok == nil then fail(opt.name .. ": " .. msg) end
      out[h.name] = ok
   end
   if not known.lr and given.lr ~= nil then out.lr = given.lr end
   if out.lr ~= nil then
      local ok, msg = M.check_lr(tonumber(out.lr) or out.lr)
      if not ok then fail(opt.name .. ": " .. msg) end
      out.lr = ok
   end
   return out
end

---------------------------------------------------------------------------------------
-- object form

local Object = {}
Object.__index = Object

--- optim.object(opt, params, hp): a PyTorch-style optimizer object over a ParamSet
-- optim.object(opt, params, hp): opt is a name, a path or an optimizer table; params a
-- ParamSet; hp the hyperparameters (defaults filled in). Returns o with o:step(closure),
-- o:zero_grad(), o.hp, o.state, o.opt, o.params.
function M.object(opt, params, hp)
   opt = M.load(opt)
   if type(params) ~= "table" or not params.flat or not params.grad_flat then
      fail("object: params must be a ParamSet (dob.nn.ParamSet(model) or dob.nn.ParamSet{ tensors })")
   end
   return setmetatable({ opt = opt, params = params, hp = M.hyperparams(opt, hp), state = {} }, Object)
end

function Object:zero_grad()
   if getmetatable(self) ~= Object then fail("zero_grad: call it as o:zero_grad() on an optim.object") end
   self.params:zero_grad()
   return self
end

--- o:step(closure): one update of the optimizer object o; returns the loss
-- One update. closure() is the PyTorch kind: it computes the loss and calls backward
-- (returning a tensor or a number). It runs with grad recording on and the gradients
-- zeroed first. When the optimizer asks for a loss only (closure{ grad = false }, line
-- searches) the same closure runs, and params.grad_flat is restored afterwards, so such
-- evaluations never change the gradient the optimizer is working with (the closure gets
-- the args table too, and may skip its backward when args.grad == false).
-- Returns what opt.step returns (the loss as a number).
function Object:step(closure)
   if getmetatable(self) ~= Object then fail("step: call it as o:step(closure) on an optim.object") end
   A.callable("step", "closure", closure)
   local params, dob = self.params, get_dob()
   local function wrapped(args)
      local loss_only = args and args.grad == false
      if loss_only then
         self.saved_grad = self.saved_grad or params.grad_flat:clone()
         self.saved_grad:copy_(params.grad_flat)
      end
      params.grad_flat:zero_()
      local old = dob.is_grad_enabled()
      dob.set_grad_enabled(true)
      local res = { pcall(closure, args) }
      dob.set_grad_enabled(old)
      if loss_only then params.grad_flat:copy_(self.saved_grad) end
      if not res[1] then error(res[2], 0) end
      local loss = res[2]
      if dob.is_tensor(loss) and loss:numel() == 1 then loss = loss:item() end
      if type(loss) ~= "number" then
         fail(("step: the closure must return the loss (a number or a one-element tensor), got %s")
            :format(A.describe(res[2])))
      end
      return loss, res[3]
   end
   return dob.no_grad(self.opt.step, wrapped, params, self.hp, self.state)
end


--- optim.describe(opt, flag_of): the optimizer's name, description and hyperparameters, one per line
-- For `run.lua --optimizer X --help` and the REPL's help("x"). opt: an optimizer table
-- (checked as load checks it); flag_of(h) (optional) gives the name shown for
-- hyperparameter h, the command line's flag there; without it, h.name.
function M.describe(opt, flag_of)
   opt = M.validate(opt)
   if flag_of ~= nil then A.callable("describe", "flag_of", flag_of) end
   local lines = { ("optimizer %s%s"):format(opt.name, opt.description and (": " .. opt.description) or "") }
   lines[#lines + 1] = flag_of and "hyperparameters (flags):" or "hyperparameters:"
   for _, h in ipairs(opt.hyperparams) do
      local def = h.default == nil and "required" or ("default " .. tostring(h.default))
      local domain = h.domain and ("in " .. h.domain .. "; ") or ""
      lines[#lines + 1] = ("  %-22s %-8s %-16s %s%s"):format(flag_of and flag_of(h) or h.name, h.type, def, domain,
         h.help or "")
   end
   return table.concat(lines, "\n")
end

return M
