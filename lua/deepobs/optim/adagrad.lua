--[[ Adagrad: TensorFlow 1's AdagradOptimizer (tf.train.AdagradOptimizer).

   accum ← accum + g²
   θ     ← θ − lr · g / sqrt(accum)

accum starts at initial_accumulator_value (TensorFlow's 0.1), which also keeps the
first division finite; there is no ε.

Hyperparameters:
   lr                          learning rate (required)
   initial_accumulator_value   starting value of accum, > 0 (default 0.1)

Reference: Duchi, Hazan & Singer, "Adaptive Subgradient Methods for Online Learning and
Stochastic Optimization" (JMLR 2011), https://jmlr.org/papers/v12/duchi11a.html

State: state.accum, state.denom (a scratch buffer).
]]
return {
   name = "AdagradOptimizer",
   description = "Adagrad (TensorFlow 1's AdagradOptimizer)",
   hyperparams = {
      { name = "lr", type = "number", help = "learning rate" },
      { name = "initial_accumulator_value", type = "number", default = 0.1, domain = "(0, inf)",
        help = "starting value of the sum of squared gradients" },
   },
   step = function(closure, params, hp, state)
      local theta, g = params.flat, params.grad_flat
      -- (1) forward + backward
      local loss = closure()
      -- (2) lazy state, created once
      if not state.accum then
         state.accum = theta:clone():fill_(hp.initial_accumulator_value)
         state.denom = theta:clone()
      end
      local accum, denom = state.accum, state.denom
      -- (3) accum ← accum + g²
      accum:addcmul_(g, g)
      -- (4) θ ← θ − lr·g/sqrt(accum)
      denom:copy_(accum):sqrt_()
      theta:addcdiv_(g, denom, -hp.lr)
      return loss
   end,
}
