--[[ Plain (stochastic) gradient descent: TensorFlow's GradientDescentOptimizer.

   θ ← θ − lr · g

Hyperparameters:
   lr   learning rate (required; the runner's --lr)

One of DeepOBS's three baseline optimizers (folder "GradientDescentOptimizer").
Reference: Robbins & Monro, "A Stochastic Approximation Method" (1951),
https://doi.org/10.1214/aoms/1177729586

State: none.
]]
return {
   name = "GradientDescentOptimizer",
   description = "stochastic gradient descent (TensorFlow's GradientDescentOptimizer)",
   hyperparams = {
      { name = "lr", type = "number", help = "learning rate" },
   },
   step = function(closure, params, hp, state)
      -- (1) forward + backward: fills params.grad_flat
      local loss = closure()
      -- (2) θ ← θ − lr·g, in place
      params.flat:add_(params.grad_flat, -hp.lr)
      return loss
   end,
}
