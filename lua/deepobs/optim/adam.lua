--[[ Adam: TensorFlow's AdamOptimizer (tf.train.AdamOptimizer), in TensorFlow's form.

   t ← t + 1
   lr_t ← lr · sqrt(1 − β2^t) / (1 − β1^t)
   m ← β1 · m + (1 − β1) · g
   v ← β2 · v + (1 − β2) · g²
   θ ← θ − lr_t · m / (sqrt(v) + ε)

m and v start at 0, t at 0. The bias correction is folded into the step size, so ε is
added to sqrt(v) *outside* the correction (the paper's "epsilon hat", end of its §2):
for the same ε this differs slightly from PyTorch's Adam, which divides by
sqrt(v / (1 − β2^t)) + ε. With ε small the two agree except in the first steps where v ≈ 0.

Hyperparameters (names as in the baseline folders):
   lr        learning rate (required)
   beta1     decay of the first-moment average m (default 0.9)
   beta2     decay of the second-moment average v (default 0.999)
   epsilon   added to sqrt(v) (default 1e-8)

One of DeepOBS's three baseline optimizers (folder "AdamOptimizer").
Reference: Kingma & Ba, "Adam: A Method for Stochastic Optimization" (ICLR 2015),
https://arxiv.org/abs/1412.6980

State: state.t (step count), state.m, state.v, state.denom (a scratch buffer).
]]
return {
   name = "AdamOptimizer",
   description = "Adam (TensorFlow's AdamOptimizer, epsilon outside the bias correction)",
   hyperparams = {
      { name = "lr", type = "number", help = "learning rate" },
      { name = "beta1", type = "number", default = 0.9, domain = "[0, 1)", help = "decay rate of the first-moment estimate" },
      { name = "beta2", type = "number", default = 0.999, domain = "[0, 1)", help = "decay rate of the second-moment estimate" },
      { name = "epsilon", type = "number", default = 1e-8, domain = "(0, inf)", help = "added to sqrt(v) for numerical stability" },
   },
   step = function(closure, params, hp, state)
      local theta, g = params.flat, params.grad_flat
      local b1, b2 = hp.beta1, hp.beta2
      -- (1) forward + backward
      local loss = closure()
      -- (2) lazy state, created once
      if not state.m then
         state.t = 0
         state.m = theta:clone():zero_()
         state.v = theta:clone():zero_()
         state.denom = theta:clone()
      end
      local m, v, denom = state.m, state.v, state.denom
      -- (3) step count and the bias-corrected step size (in Lua doubles)
      state.t = state.t + 1
      local lr_t = hp.lr * math.sqrt(1 - b2 ^ state.t) / (1 - b1 ^ state.t)
      -- (4) moment estimates
      m:lerp_(g, 1 - b1)                   -- m ← β1·m + (1−β1)·g
      v:mul_(b2):addcmul_(g, g, 1 - b2)    -- v ← β2·v + (1−β2)·g²
      -- (5) θ ← θ − lr_t · m / (sqrt(v) + ε)
      denom:copy_(v):sqrt_():add_(hp.epsilon)
      theta:addcdiv_(m, denom, -lr_t)
      return loss
   end,
}
