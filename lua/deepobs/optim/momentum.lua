--[[ Heavy-ball momentum: TensorFlow's MomentumOptimizer (tf.train.MomentumOptimizer).

TensorFlow's form keeps an accumulator a (not a velocity scaled by lr):

   a ← μ · a + g
   θ ← θ − lr · a                       (use_nesterov = false)
   θ ← θ − lr · (g + μ · a)             (use_nesterov = true, with the new a)

a starts at 0. Unlike the "v ← μv − lr·g" form, changing lr mid-run rescales the whole
accumulated step at once; with a constant lr the two forms give the same iterates.

Hyperparameters:
   lr             learning rate (required)
   momentum       μ, the decay of the accumulator (default 0.9; DeepOBS's baselines used 0.99)
   use_nesterov   Nesterov's look-ahead in TensorFlow's form (default false)

One of DeepOBS's three baseline optimizers (folder "MomentumOptimizer").
References: Polyak, "Some methods of speeding up the convergence of iteration methods" (1964),
https://doi.org/10.1016/0041-5553(64)90137-5 ; Sutskever et al., "On the importance of
initialization and momentum in deep learning" (ICML 2013),
http://proceedings.mlr.press/v28/sutskever13.html

State: state.accum (a, same size as params.flat).
]]
return {
   name = "MomentumOptimizer",
   description = "heavy ball momentum (TensorFlow's MomentumOptimizer)",
   hyperparams = {
      { name = "lr", type = "number", help = "learning rate" },
      { name = "momentum", type = "number", default = 0.9, domain = "[0, 1)", help = "momentum (decay of the accumulator)" },
      { name = "use_nesterov", type = "boolean", default = false, help = "use Nesterov momentum (TensorFlow's form)" },
   },
   step = function(closure, params, hp, state)
      local theta, g = params.flat, params.grad_flat
      -- (1) forward + backward
      local loss = closure()
      -- (2) lazy state, created once
      state.accum = state.accum or theta:clone():zero_()
      local a = state.accum
      -- (3) a ← μ·a + g
      a:mul_(hp.momentum):add_(g)
      -- (4) the update
      if hp.use_nesterov then
         theta:add_(g, -hp.lr):add_(a, -hp.lr * hp.momentum)   -- θ ← θ − lr·g − lr·μ·a
      else
         theta:add_(a, -hp.lr)                                  -- θ ← θ − lr·a
      end
      return loss
   end,
}
