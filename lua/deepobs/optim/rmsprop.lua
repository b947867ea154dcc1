--[[ RMSProp: TensorFlow 1's RMSPropOptimizer (tf.train.RMSPropOptimizer, centered = false).

   ms  ← ρ · ms + (1 − ρ) · g²
   mom ← μ · mom + lr · g / sqrt(ms + ε)
   θ   ← θ − mom

TensorFlow initialises ms to 1 (not 0), so the first steps are small rather than huge
(PyTorch's RMSprop starts ms at 0); mom starts at 0. ε is inside the square root.
With μ = 0 this is plain RMSProp: θ ← θ − lr · g / sqrt(ms + ε).

Hyperparameters:
   lr         learning rate (required)
   decay      ρ, discount of the running average of g² (default 0.9)
   momentum   μ (default 0.0)
   epsilon    added to ms inside the square root (default 1e-10)

Reference: Tieleman & Hinton, "Lecture 6.5 - RMSProp", COURSERA: Neural Networks for
Machine Learning (2012), https://www.cs.toronto.edu/~tijmen/csc321/slides/lecture_slides_lec6.pdf

State: state.ms, state.mom, state.denom (a scratch buffer).
]]
return {
   name = "RMSPropOptimizer",
   description = "RMSProp (TensorFlow 1's RMSPropOptimizer: ms starts at 1, epsilon inside the sqrt)",
   hyperparams = {
      { name = "lr", type = "number", help = "learning rate" },
      { name = "decay", type = "number", default = 0.9, domain = "[0, 1]", help = "discount of the running average of squared gradients" },
      { name = "momentum", type = "number", default = 0.0, domain = "[0, 1)", help = "momentum" },
      { name = "epsilon", type = "number", default = 1e-10, domain = "(0, inf)", help = "added to the mean square inside the sqrt" },
   },
   step = function(closure, params, hp, state)
      local theta, g = params.flat, params.grad_flat
      local rho = hp.decay
      -- (1) forward + backward
      local loss = closure()
      -- (2) lazy state, created once: ms = 1 (TensorFlow), mom = 0
      if not state.ms then
         state.ms = theta:clone():fill_(1)
         state.mom = theta:clone():zero_()
         state.denom = theta:clone()
      end
      local ms, mom, denom = state.ms, state.mom, state.denom
      -- (3) ms ← ρ·ms + (1−ρ)·g²
      ms:mul_(rho):addcmul_(g, g, 1 - rho)
      -- (4) mom ← μ·mom + lr·g/sqrt(ms + ε)
      denom:copy_(ms):add_(hp.epsilon):sqrt_()
      mom:mul_(hp.momentum):addcdiv_(g, denom, hp.lr)
      -- (5) θ ← θ − mom
      theta:sub_(mom)
      return loss
   end,
}
