-- The optimizers: each update against values computed by hand here in Lua doubles
-- (TensorFlow 1's update rules), the loader's validation and its errors, the object form,
-- and a loose convergence check on Rosenbrock's function.
local dob = require "deepobs"
local optim = require "deepobs.optim"

-- a ParamSet over one vector, and a closure whose gradient we know:
--   grad = "quadratic": loss ½Σθ², g = θ;   grad = a table: a fixed gradient
local function problem(theta0, grad)
   local ps = dob.nn.ParamSet { dob.tensor(theta0) }
   local calls = 0
   local function closure(args)
      calls = calls + 1
      local th = ps.flat:totable()
      local loss = 0
      for i = 1, #th do loss = loss + 0.5 * th[i] * th[i] end
      if not (args and args.grad == false) then
         ps.grad_flat:copy_(grad == "quadratic" and ps.flat or dob.tensor(grad))
      end
      return loss, { losses = dob.tensor { loss } }
   end
   return ps, closure, function() return calls end
end

-- runs `steps` steps of a built-in optimizer; returns θ after each step (tables)
local function run(name, hp_given, theta0, grad, steps)
   local opt = optim.load(name)
   local hp = optim.hyperparams(opt, hp_given)
   local ps, closure, calls = problem(theta0, grad)
   local state, out = {}, {}
   for s = 1, steps do
      dob.no_grad(opt.step, closure, ps, hp, state)
      out[s] = ps.flat:totable()
      assert.are.equal(s, calls(), name .. ": the closure is called exactly once per step")
   end
   return out, state, hp
end

local function close(expected, got, what)
   assert.are.equal(#expected, #got)
   for i = 1, #expected do
      local e, g = expected[i], got[i]
      local err = math.abs(g - e)
      assert(err <= 1e-6 * math.abs(e) + 1e-9,
         ("%s[%d]: expected %.10g, got %.10g (rel err %.2e)"):format(what or "value", i, e, g, err / math.abs(e)))
   end
end

local T0 = { 1, -2, 3 }

-- the reference gradient at θ: g = θ (quadratic) or fixed
local function gradient(grad, th)
   if grad == "quadratic" then return th end
   return grad
end

describe("optim: update rules (TensorFlow 1) against hand-computed values", function()
   it("sgd: θ ← θ − lr·g, reading hp.lr at every step (schedules)", function()
      local opt = optim.load("sgd")
      assert.are.equal("GradientDescentOptimizer", opt.name)
      local hp = optim.hyperparams(opt, { lr = 0.1 })
      local ps, closure = problem(T0, "quadratic")
      local state = {}
      dob.no_grad(opt.step, closure, ps, hp, state)
      close({ 0.9, -1.8, 2.7 }, ps.flat:totable(), "step 1")
      hp.lr = 0.5                                        -- the runner's schedule changed it
      local loss = dob.no_grad(opt.step, closure, ps, hp, state)
      close({ 0.45, -0.9, 1.35 }, ps.flat:totable(), "step 2")
      assert.is_true(math.abs(loss - 0.5 * (0.81 + 3.24 + 7.29)) < 1e-5, "returns the loss before the update")
   end)

   it("momentum: a ← μa + g; θ ← θ − lr·a (three steps)", function()
      local lr, mu = 0.1, 0.9
      local th, a, exp = { 1, -2, 3 }, { 0, 0, 0 }, {}
      for s = 1, 3 do
         for i = 1, 3 do
            local g = th[i]
            a[i] = mu * a[i] + g
            th[i] = th[i] - lr * a[i]
         end
         exp[s] = { th[1], th[2], th[3] }
      end
      local got, state = run("momentum", { lr = lr }, T0, "quadratic", 3)
      for s = 1, 3 do close(exp[s], got[s], "momentum step " .. s) end
      close(a, state.accum:totable(), "accumulator")
      -- by hand for θ0 = 1: a1 = 1, θ1 = 0.9; a2 = 0.9·1 + 0.9 = 1.8, θ2 = 0.9 − 0.18 = 0.72
      close({ 0.9, 0.72 }, { got[1][1], got[2][1] }, "by hand")
   end)

   it("momentum with use_nesterov: θ ← θ − lr·(g + μ·a_new), which differs from plain", function()
      local lr, mu = 0.1, 0.9
      local th, a, exp = { 1, -2, 3 }, { 0, 0, 0 }, {}
      for s = 1, 3 do
         for i = 1, 3 do
            local g = th[i]
            a[i] = mu * a[i] + g
            th[i] = th[i] - lr * (g + mu * a[i])
         end
         exp[s] = { th[1], th[2], th[3] }
      end
      local got = run("momentum", { lr = lr, use_nesterov = true }, T0, "quadratic", 3)
      for s = 1, 3 do close(exp[s], got[s], "nesterov step " .. s) end
      -- first step of TF's Nesterov moves lr·(1+μ)·g, plain moves lr·g
      close({ 1 - 0.1 * 1.9, -2 + 0.2 * 1.9, 3 - 0.3 * 1.9 }, got[1], "nesterov step 1")
      local plain = run("momentum", { lr = lr }, T0, "quadratic", 3)
      for s = 1, 3 do
         assert.is_true(math.abs(plain[s][1] - got[s][1]) > 1e-3, "nesterov and plain differ at step " .. s)
      end
   end)

   local function adam_ref(hp, th, grad, steps, wd)
      local m, v, out = { 0, 0, 0 }, { 0, 0, 0 }, {}
      for t = 1, steps do
         local g = { unpack(gradient(grad, th)) }
         local lr_t = hp.lr * math.sqrt(1 - hp.beta2 ^ t) / (1 - hp.beta1 ^ t)
         for i = 1, #th do
            if wd then th[i] = th[i] - hp.lr * wd * th[i] end
            m[i] = hp.beta1 * m[i] + (1 - hp.beta1) * g[i]
            v[i] = hp.beta2 * v[i] + (1 - hp.beta2) * g[i] * g[i]
            th[i] = th[i] - lr_t * m[i] / (math.sqrt(v[i]) + hp.epsilon)
         end
         out[t] = { unpack(th) }
      end
      return out
   end

   it("adam: TF's form with the bias correction in lr_t and ε outside it (three steps)", function()
      local hp = { lr = 0.1, beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8 }
      local exp = adam_ref(hp, { 1, -2, 3 }, "quadratic", 3)
      local got, state, filled = run("adam", { lr = 0.1 }, T0, "quadratic", 3)
      assert.are.same(hp, filled, "defaults beta1 0.9, beta2 0.999, epsilon 1e-8")
      for s = 1, 3 do close(exp[s], got[s], "adam step " .. s) end
      assert.are.equal(3, state.t)
   end)

   it("adam: the bias correction makes the first step lr·sign(g) whatever |g| is", function()
      local got = run("adam", { lr = 0.01 }, T0, { 1000, -0.1, 5 }, 1)
      close({ 1 - 0.01, -2 + 0.01, 3 - 0.01 }, got[1], "first step")
      -- a large ε (outside the correction) shrinks the step: lr·sqrt(1−β2)·g/(sqrt(1−β2)|g| + ε)
      local got2 = run("adam", { lr = 0.01, epsilon = 0.1 }, T0, { 1, 1, 1 }, 1)
      local c = math.sqrt(0.001)
      local d = 0.01 * c / (c + 0.1)
      close({ 1 - d, -2 - d, 3 - d }, got2[1], "epsilon hat")
   end)

   it("adamw: θ ← θ − lr·wd·θ, then Adam (three steps), and pure decay when g = 0", function()
      local hp = { lr = 0.1, beta1 = 0.8, beta2 = 0.99, epsilon = 1e-8 }
      local exp = adam_ref(hp, { 1, -2, 3 }, "quadratic", 3, 0.05)
      local got = run("adamw", { lr = 0.1, beta1 = 0.8, beta2 = 0.99, weight_decay = 0.05 }, T0, "quadratic", 3)
      for s = 1, 3 do close(exp[s], got[s], "adamw step " .. s) end
      local decayed = run("adamw", { lr = 0.5 }, T0, { 0, 0, 0 }, 2)   -- default wd 0.01
      local f = (1 - 0.5 * 0.01) ^ 2
      close({ f, -2 * f, 3 * f }, decayed[2], "decay only")
      assert.are.equal(0.01, optim.hyperparams(optim.load("adamw"), { lr = 1 }).weight_decay)
   end)

   local function rmsprop_ref(lr, rho, mu, eps, th, grad, steps, ms0)
      local ms, mom, out = { ms0, ms0, ms0 }, { 0, 0, 0 }, {}
      for s = 1, steps do
         local g = { unpack(gradient(grad, th)) }
         for i = 1, #th do
            ms[i] = rho * ms[i] + (1 - rho) * g[i] * g[i]
            mom[i] = mu * mom[i] + lr * g[i] / math.sqrt(ms[i] + eps)
            th[i] = th[i] - mom[i]
         end
         out[s] = { unpack(th) }
      end
      return out
   end

   it("rmsprop: TF1's form, ms starting at 1.0 (three steps, with and without momentum)", function()
      local exp = rmsprop_ref(0.1, 0.9, 0, 1e-10, { 1, -2, 3 }, "quadratic", 3, 1.0)
      local got, state, hp = run("rmsprop", { lr = 0.1 }, T0, "quadratic", 3)
      assert.are.same({ lr = 0.1, decay = 0.9, momentum = 0.0, epsilon = 1e-10 }, hp)
      for s = 1, 3 do close(exp[s], got[s], "rmsprop step " .. s) end
      -- step 1 by hand: ms = 0.9 + 0.1·g², θ − 0.1·g/sqrt(ms)
      close({ 1 - 0.1 / math.sqrt(1.0), -2 + 0.2 / math.sqrt(1.3), 3 - 0.3 / math.sqrt(1.8) }, got[1], "step 1")
      -- ms started at 0 would have given θ − lr·g/sqrt(0.1 g²) = θ − 0.316·sign(g)
      local zero_init = rmsprop_ref(0.1, 0.9, 0, 1e-10, { 1, -2, 3 }, "quadratic", 1, 0.0)
      assert.is_true(math.abs(zero_init[1][1] - got[1][1]) > 0.1)
      local _, st1 = run("rmsprop", { lr = 0.1 }, T0, "quadratic", 1)
      close({ 1.0, 1.3, 1.8 }, st1.ms:totable(), "ms after one step")

      local expm = rmsprop_ref(0.05, 0.8, 0.5, 1e-3, { 1, -2, 3 }, "quadratic", 3, 1.0)
      local gotm = run("rmsprop", { lr = 0.05, decay = 0.8, momentum = 0.5, epsilon = 1e-3 }, T0, "quadratic", 3)
      for s = 1, 3 do close(expm[s], gotm[s], "rmsprop+momentum step " .. s) end
   end)

   it("adagrad: accum from 0.1, accum += g², θ ← θ − lr·g/sqrt(accum) (three steps)", function()
      local function ref(lr, a0, steps)
         local th, acc, out = { 1, -2, 3 }, { a0, a0, a0 }, {}
         for s = 1, steps do
            for i = 1, 3 do
               local g = th[i]
               acc[i] = acc[i] + g * g
               th[i] = th[i] - lr * g / math.sqrt(acc[i])
            end
            out[s] = { unpack(th) }
         end
         return out
      end
      local got = run("adagrad", { lr = 0.1 }, T0, "quadratic", 3)
      local exp = ref(0.1, 0.1, 3)
      for s = 1, 3 do close(exp[s], got[s], "adagrad step " .. s) end
      close({ 1 - 0.1 / math.sqrt(1.1), -2 + 0.2 / math.sqrt(4.1), 3 - 0.3 / math.sqrt(9.1) }, got[1], "step 1")
      local got5 = run("adagrad", { lr = 0.1, initial_accumulator_value = 5 }, T0, "quadratic", 2)
      close(ref(0.1, 5, 2)[2], got5[2], "initial_accumulator_value 5")
      local ok, err = pcall(run, "adagrad", { lr = 0.1, initial_accumulator_value = 0 }, T0, "quadratic", 1)
      assert.is_false(ok)
      assert.matches("--initial_accumulator_value must be in (0, inf), got 0", err, 1, true)
   end)

   it("per-tensor views see the update: params.params[i].value are views into flat", function()
      local ps = dob.nn.ParamSet { dob.tensor { 1, 2 }, dob.tensor { 3 } }
      local opt, state = optim.load("sgd"), {}
      dob.no_grad(opt.step, function() ps.grad_flat:fill_(1); return 0 end, ps, { lr = 0.5 }, state)
      assert.are.same({ 0.5, 1.5 }, ps.params[1].value:totable())
      assert.are.same({ 2.5 }, ps.params[2].value:totable())
   end)

   it("after the first step, updates allocate no tensor memory at all (every built-in)", function()
      local cases = { { "momentum", { use_nesterov = true } } }
      for _, n in ipairs(optim.list()) do cases[#cases + 1] = { n, {} } end
      for _, c in ipairs(cases) do
         local opt = optim.load(c[1])
         local given = { lr = 1e-3 }
         for k, v in pairs(c[2]) do given[k] = v end
         local hp = optim.hyperparams(opt, given)
         local ps = dob.nn.ParamSet { dob.randn(1000) }
         local function closure() ps.grad_flat:copy_(ps.flat); return 0 end
         local state = {}
         dob.no_grad(opt.step, closure, ps, hp, state)
         local a0 = dob.memory_stats().allocated_total
         for _ = 1, 5 do dob.no_grad(opt.step, closure, ps, hp, state) end
         assert.are.equal(0, dob.memory_stats().allocated_total - a0, c[1] .. " allocated in the steady state")
      end
   end)

   it("state tensors are created once and reused (steady state allocates no state)", function()
      for _, name in ipairs(optim.list()) do
         local opt = optim.load(name)
         local hp = optim.hyperparams(opt, { lr = 0.01 })
         local ps, closure = problem(T0, "quadratic")
         local state = {}
         dob.no_grad(opt.step, closure, ps, hp, state)
         local before = {}
         for k, v in pairs(state) do before[k] = v end
         for _ = 1, 3 do dob.no_grad(opt.step, closure, ps, hp, state) end
         for k, v in pairs(state) do
            if dob.is_tensor(v) then assert.are.equal(before[k], v, name .. ": state." .. k .. " replaced") end
         end
      end
   end)
end)

describe("optim: user files and the template", function()
   it("examples/my_sgd.lua loads by path and does sign-SGD (with momentum: Signum)", function()
      local opt = optim.load("examples/my_sgd.lua")
      assert.are.equal("SignSGD", opt.name)
      local hp = optim.hyperparams(opt, { lr = 0.1 })
      assert.are.same({ lr = 0.1, momentum = 0, print_every = 0 }, hp)
      local ps, closure, calls = problem(T0, { 5, -0.01, 0 })
      local state = {}
      dob.no_grad(opt.step, closure, ps, hp, state)
      close({ 0.9, -1.9 }, { ps.flat:totable()[1], ps.flat:totable()[2] }, "sign step")
      assert.are.equal(3, ps.flat:totable()[3], "sign(0) = 0: no move")
      assert.are.equal(1, calls())
      -- Signum: m = 0.5 m + 0.5 g with g = θ
      local hpm = optim.hyperparams(opt, { lr = 0.1, momentum = 0.5 })
      local ps2, closure2 = problem({ 0.05, -2, 3 }, "quadratic")
      local st2 = {}
      dob.no_grad(opt.step, closure2, ps2, hpm, st2)     -- m = 0.5θ0: θ = (−0.05, −1.9, 2.9)
      dob.no_grad(opt.step, closure2, ps2, hpm, st2)     -- m1 = 0.25θ0 + 0.5θ1 = (−0.0125, ...)
      close({ 0.05 - 0.1 + 0.1, -1.8, 2.8 }, ps2.flat:totable(), "signum")
      close({ 0.25 * 0.05 + 0.5 * -0.05, 0.25 * -2 + 0.5 * -1.9, 0.25 * 3 + 0.5 * 2.9 }, st2.m:totable(), "m")
   end)

   it("the template loads by path, is valid, and its rule is the documented one", function()
      local opt = optim.load("lua/deepobs/optim/template.lua")
      local hp = optim.hyperparams(opt, { lr = 0.3, damping = 0.5 })
      local ps, closure = problem(T0, "quadratic")
      dob.no_grad(opt.step, closure, ps, hp, {})
      close({ 0.8, -1.6, 2.4 }, ps.flat:totable(), "template step")
   end)

   it("a TF class name loads the matching built-in", function()
      assert.are.equal(optim.load("momentum"), optim.load("MomentumOptimizer"))
      assert.are.equal(optim.load("adam"), optim.load("AdamOptimizer"))
   end)

   it("list() gives the six built-ins, sorted; each validates", function()
      assert.are.same({ "adagrad", "adam", "adamw", "momentum", "rmsprop", "sgd" }, optim.list())
      local names = {}
      for _, n in ipairs(optim.list()) do names[#names + 1] = optim.validate(optim.load(n)).name end
      assert.are.same({ "AdagradOptimizer", "AdamOptimizer", "AdamWOptimizer", "MomentumOptimizer",
         "RMSPropOptimizer", "GradientDescentOptimizer" }, names)
   end)
end)

describe("optim: clear errors", function()
   local tmpfiles = {}
   local function write(text)
      local path = ("./.optim_spec_%d_%d.lua"):format(os.time(), #tmpfiles + math.random(1, 1e6))
      local f = assert(io.open(path, "w"))
      f:write(text)
      f:close()
      tmpfiles[#tmpfiles + 1] = path
      return path
   end
   teardown(function() for _, p in ipairs(tmpfiles) do os.remove(p) end end)

   local function err_of(fn, ...)
      local ok, e = pcall(fn, ...)
      assert.is_false(ok, "expected an error")
      assert.are.equal("string", type(e))
      assert.is_nil(e:match("^[^:]*%.lua:%d+:"), "no source position in a user error: " .. e)
      return e
   end

   it("an unknown built-in lists the built-ins", function()
      local e = err_of(optim.load, "adamm")
      assert.matches("unknown optimizer 'adamm'", e, 1, true)
      assert.matches("adagrad, adam, adamw, momentum, rmsprop, sgd", e, 1, true)
   end)

   it("a missing file, a syntax error and a runtime error while loading are named", function()
      assert.matches("no optimizer file 'no/such/opt.lua'", err_of(optim.load, "no/such/opt.lua"), 1, true)
      local p = write("return { name = 'X', hyperparams = {}, step = function( end }")
      local e = err_of(optim.load, p)
      assert.matches("could not load '" .. p .. "'", e, 1, true)
      p = write("local x = nil; return x.field")
      e = err_of(optim.load, p)
      assert.matches("'" .. p .. "' raised an error while loading", e, 1, true)
      assert.matches("attempt to index", e, 1, true)
   end)

   it("malformed optimizer tables are rejected, saying what is wrong", function()
      local cases = {
         { "return 42", "must return a table" },
         { "return { hyperparams = {}, step = function() end }", "'name' must be a non-empty string" },
         { "return { name = 'X', hyperparams = {} }", "'step' must be a function" },
         { "return { name = 'X', step = function() end }", "'hyperparams' must be a list" },
         { "return { name = 'X', hyperparams = { { name = 'lr', type = 'float', help = '' } }, step = function() end }",
           "'type' must be one of number, integer, boolean, string; got float" },
         { "return { name = 'X', hyperparams = { { name = 'lr', type = 'number' } }, step = function() end }",
           "hyperparameter 'lr': 'help' must be a string" },
         { "return { name = 'X', hyperparams = { { name = 'k', type = 'integer', default = 1.5, help = '' } }, step = function() end }",
           "default 1.5 is not a integer" },
         { "return { name = 'X', hyperparams = { { name = 'a', type = 'number', help = '' }, { name = 'a', type = 'number', help = '' } }, step = function() end }",
           "hyperparameter 'a' is declared twice" },
         { "return { name = 'X', hyperparams = { { name = 'bad name', type = 'number', help = '' } }, step = function() end }",
           "'name' must be an identifier" },
         { "return { name = 'X', hyperparams = { lr = { type = 'number' } }, step = function() end }",
           "'hyperparams' must be a list" },
      }
      for _, c in ipairs(cases) do
         local p = write(c[1])
         local e = err_of(optim.load, p)
         assert.matches(c[2], e, 1, true)
         assert.matches(p, e, 1, true)
      end
   end)

   it("hyperparams(): defaults, strings from the command line, required and unknown names", function()
      local opt = optim.load("momentum")
      assert.are.same({ lr = 0.25, momentum = 0.99, use_nesterov = true },
         optim.hyperparams(opt, { lr = "0.25", momentum = "0.99", use_nesterov = "true" }))
      assert.are.same({ lr = 1, momentum = 0.9, use_nesterov = false }, optim.hyperparams(opt, { lr = 1 }))
      assert.matches("MomentumOptimizer needs a learning rate: add --lr X", err_of(optim.hyperparams, opt, {}), 1, true)
      local e = err_of(optim.hyperparams, opt, { lr = 1, momentun = 0.9 })
      assert.matches("no hyperparameter 'momentun'; it has: lr, momentum, use_nesterov", e, 1, true)
      assert.matches("--use_nesterov needs true or false, got 'maybe'",
         err_of(optim.hyperparams, opt, { lr = 1, use_nesterov = "maybe" }), 1, true)
      for word, value in pairs(optim.BOOL_WORDS) do -- one vocabulary, any case
         assert.are.equal(value, optim.hyperparams(opt, { lr = 1, use_nesterov = word:upper() }).use_nesterov)
      end
      assert.matches("--lr needs a number, got 'fast'", err_of(optim.hyperparams, opt, { lr = "fast" }), 1, true)
      local my = optim.load("examples/my_sgd.lua")
      assert.are.equal(7, optim.hyperparams(my, { lr = 1, print_every = "7" }).print_every)
      assert.matches("--print_every needs an integer, got 2.5",
         err_of(optim.hyperparams, my, { lr = 1, print_every = "2.5" }), 1, true)
   end)
end)

describe("optim: object form and convergence with autograd closures", function()
   local function rosenbrock()
      local ps = dob.nn.ParamSet { dob.tensor { -1.2 }, dob.tensor { 1.0 } }
      local x, y = ps.params[1].value, ps.params[2].value
      local n = 0
      local function f()                        -- PyTorch style: forward, backward, return the loss
         n = n + 1
         local l = ((1 - x) ^ 2 + (y - x ^ 2) ^ 2 * 100):sum()
         l:backward()
         return l
      end
      return ps, f, function() return n end
   end

   it("o:step runs the closure with grad on, zeroes grads first, and updates in place", function()
      local ps, f, calls = rosenbrock()
      local o = optim.object("sgd", ps, { lr = 1e-3 })
      local loss = o:step(f)
      assert.is_true(math.abs(loss - 24.2) < 1e-4, "loss at (-1.2, 1) is 24.2")
      -- ∂f/∂x = −2(1−x) − 400x(y−x²) = −4.4 − 400·(−1.2)·(−0.44) = −215.6; ∂f/∂y = 200(y−x²) = −88
      close({ -1.2 + 1e-3 * 215.6, 1 + 1e-3 * 88 }, ps.flat:totable(), "sgd on Rosenbrock")
      o:step(f)   -- gradients were zeroed between steps (else this step would use the sum)
      local x1, y1 = -1.2 + 0.2156, 1.088
      local gx = -2 * (1 - x1) - 400 * x1 * (y1 - x1 * x1)
      local gy = 200 * (y1 - x1 * x1)
      close({ x1 - 1e-3 * gx, y1 - 1e-3 * gy }, ps.flat:totable(), "second step")
      assert.are.equal(2, calls())
      assert.is_true(dob.is_grad_enabled(), "grad mode restored")
   end)

   it("o.state holds the optimizer's state; o.hp.lr can be changed between steps", function()
      local ps, f = rosenbrock()
      local o = optim.object("adam", ps, { lr = 0.01 })
      o:step(f)
      assert.are.equal(1, o.state.t)
      assert.is_true(dob.is_tensor(o.state.m))
      o.hp.lr = 0
      local before = ps.flat:totable()
      o:step(f)
      assert.are.same(before, ps.flat:totable())
      assert.are.equal(2, o.state.t)
   end)

   it("closure{ grad = false } evaluates without touching the gradient (line searches)", function()
      local ps, f = rosenbrock()
      local seen = {}
      local backtrack = {                  -- Armijo backtracking on the current batch
         name = "Backtrack", hyperparams = { { name = "lr", type = "number", help = "first trial step" } },
         step = function(closure, params, hp, state)
            local loss = closure()
            local g = params.grad_flat
            local gg = g:totable()
            local sq = 0
            for i = 1, #gg do sq = sq + gg[i] ^ 2 end
            local t = hp.lr
            params.flat:add_(g, -t)
            local trial = closure { grad = false }
            seen[#seen + 1] = { g = g:totable(), before = gg }
            while trial > loss - 0.5 * t * sq do
               params.flat:add_(g, t / 2)
               t = t / 2
               trial = closure { grad = false }
            end
            return loss
         end,
      }
      local o = optim.object(backtrack, ps, { lr = 1 })
      local first = o:step(f)
      assert.are.same(seen[1].before, seen[1].g, "grad unchanged by the evaluations")
      local last
      for _ = 1, 20 do last = o:step(f) end
      assert.is_true(last < first)
   end)

   local SETTINGS = {
      sgd = { lr = 1e-3 }, momentum = { lr = 1e-3 }, adam = { lr = 0.05 }, adamw = { lr = 0.05 },
      rmsprop = { lr = 1e-2 }, adagrad = { lr = 0.5 }, ["examples/my_sgd.lua"] = { lr = 0.01 },
   }
   for name, hp in pairs(SETTINGS) do
      it(name .. " reduces Rosenbrock's function over 200 steps (from 24.2 to under a quarter)", function()
         local ps, f, calls = rosenbrock()
         local o = optim.object(name, ps, hp)
         local first, last = o:step(f), nil
         for _ = 2, 200 do last = o:step(f) end
         assert.are.equal(200, calls())
         assert.is_true(last == last and last < first / 4,
            ("%s: loss %.4g after 200 steps, from %.4g"):format(name, last, first))
      end)
   end

   it("object() rejects a non-ParamSet and unknown hyperparameters", function()
      local ok, e = pcall(optim.object, "sgd", {}, { lr = 1 })
      assert.is_false(ok)
      assert.matches("params must be a ParamSet", e, 1, true)
      local ps = rosenbrock()
      ok, e = pcall(optim.object, "sgd", ps, { lr = 1, momentum = 0.9 })
      assert.is_false(ok)
      assert.matches("GradientDescentOptimizer has no hyperparameter 'momentum'; it has: lr", e, 1, true)
   end)
end)

describe("optim: hyperparameter domains and the learning rate", function()
   local function opt_with(h)
      h.name, h.help = h.name or "x", h.help or "a hyperparameter"
      return { name = "D", hyperparams = { { name = "lr", type = "number", help = "lr" }, h }, step = function() end }
   end

   it("values on either side of every kind of bound (generated)", function()
      local bounds = { { "[0, 1)", { 0, 0.5, 0.999 }, { -1e-9, 1, 2, -1 } }, { "(0, inf)", { 1e-300, 5, 1e300 }, { 0, -1 } },
         { "[1, 10]", { 1, 10, 5.5 }, { 0.999, 10.001 } }, { "(-1, 1)", { -0.5, 0, 0.5 }, { -1, 1 } },
         { "[-inf, 0]", { -1e300, 0 }, { 1e-300 } } }
      for _, b in ipairs(bounds) do
         local opt = optim.validate(opt_with { type = "number", domain = b[1] })
         for _, v in ipairs(b[2]) do
            assert.are.equal(v, optim.hyperparams(opt, { lr = 1, x = v }).x, b[1] .. " " .. v)
            assert.are.equal(v, optim.hyperparams(opt, { lr = 1, x = ("%.17g"):format(v) }).x)
         end
         for _, v in ipairs(b[3]) do
            local ok, e = pcall(optim.hyperparams, opt, { lr = 1, x = v })
            assert.is_false(ok, b[1] .. " " .. v)
            assert.matches("--x must be in " .. b[1]:gsub("%p", "%%%0") .. ", got", e)
         end
         for _, v in ipairs { 0 / 0, 1 / 0, -1 / 0 } do
            assert.is_false((pcall(optim.hyperparams, opt, { lr = 1, x = v })))
         end
      end
   end)

   it("a malformed domain, one on a boolean or a default outside it is an error in the declaration", function()
      for _, c in ipairs {
         { { type = "number", domain = "0..1" }, "'domain' must be an interval" },
         { { type = "number", domain = "[1, 0]" }, "'domain' must be an interval" },
         { { type = "number", domain = "[a, 1]" }, "'domain' must be an interval" },
         { { type = "number", domain = 3 }, "'domain' must be a string" },
         { { type = "boolean", domain = "[0, 1]" }, "only number and integer" },
         { { type = "number", domain = "(0, 1)", default = 1 }, "default 1 is outside its domain (0, 1)" },
      } do
         local ok, e = pcall(optim.validate, opt_with(c[1]))
         assert.is_false(ok)
         assert.matches(c[2], e, 1, true)
      end
   end)

   it("the learning rate: positive, finite, not below float32's smallest normal", function()
      local sgd = optim.load("sgd")
      for _, lr in ipairs { 0, -1, -0.0, 1 / 0, 0 / 0, 1e-39, 1e-300 } do
         local ok, e = pcall(optim.hyperparams, sgd, { lr = lr })
         assert.is_false(ok, tostring(lr))
         assert.matches("--lr ", e)
      end
      for _, lr in ipairs { 2 ^ -126, 1e-30, 1e-5, 1e3 } do
         assert.are.equal(lr, optim.hyperparams(sgd, { lr = lr }).lr)
      end
   end)

   it("names that would leave the results folder are refused", function()
      for _, name in ipairs { "../x", "a/b", ".", "..", ".x", "a b", "" } do
         local ok, e = pcall(optim.validate, { name = name, hyperparams = {}, step = function() end })
         assert.is_false(ok, name)
      end
      assert.are.equal("Adam-W_2.0+", optim.validate({ name = "Adam-W_2.0+", hyperparams = {}, step = function() end }).name)
   end)
end)
