--[[ An example of a user's own optimizer: sign-SGD with momentum ("Signum").

Run it on any problem by path:

   luajit run.lua fmnist_2c2d --optimizer examples/my_sgd.lua --lr 1e-4 --momentum 0.9

or in Lua:  local opt = require("deepobs.optim").load("examples/my_sgd.lua")

The update takes only the sign of the (averaged) gradient, so every coordinate moves by
exactly lr per step:

   m ← β · m + (1 − β) · g            (m starts at 0; with β = 0, m = g: plain sign-SGD)
   θ ← θ − lr · sign(m)

Hyperparameters:
   lr            step length per coordinate (required)
   momentum      β, the averaging of the gradient (default 0.0: plain sign-SGD)
   print_every   print step, loss and gradient norm to stderr every this many steps
                 (integer; default 0: never)

Reference: Bernstein, Wang, Azizzadenesheli & Anandkumar, "signSGD: Compressed Optimisation
for Non-Convex Problems" (ICML 2018), https://arxiv.org/abs/1802.04434

State: state.t (steps taken), state.m (the averaged gradient), state.dir (scratch buffer).
]]
return {
   name = "SignSGD",
   description = "sign-SGD with momentum (Signum), an example of a user's optimizer",
   hyperparams = {
      { name = "lr", type = "number", help = "step length per coordinate" },
      { name = "momentum", type = "number", default = 0.0, help = "averaging of the gradient (0: plain sign-SGD)" },
      { name = "print_every", type = "integer", default = 0, help = "print progress every N steps (0: never)" },
   },
   step = function(closure, params, hp, state)
      local theta, g = params.flat, params.grad_flat
      -- (1) forward + backward: fills g, returns the loss at the current θ
      local loss = closure()
      -- (2) lazy state, created once
      if not state.m then
         state.t = 0
         state.m = theta:clone():zero_()
         state.dir = theta:clone()
      end
      local m, dir = state.m, state.dir
      state.t = state.t + 1
      -- (3) m ← β·m + (1−β)·g
      m:lerp_(g, 1 - hp.momentum)
      -- (4) θ ← θ − lr·sign(m)
      dir:copy_(m):sign_()
      theta:add_(dir, -hp.lr)
      -- (5) optional progress line
      if hp.print_every > 0 and state.t % hp.print_every == 0 then
         io.stderr:write(("SignSGD step %d  loss %.6g  |g| %.4g\n"):format(state.t, loss, g:norm():item()))
      end
      return loss
   end,
}
