--[[ AdamW: Adam with decoupled weight decay (Loshchilov & Hutter).

   θ ← θ − lr · wd · θ                  (decay, scaled by the learning rate)
   then the Adam step of adam.lua on the gradient g of the loss:
   t ← t + 1
   lr_t ← lr · sqrt(1 − β2^t) / (1 − β1^t)
   m ← β1 · m + (1 − β1) · g
   v ← β2 · v + (1 − β2) · g²
   θ ← θ − lr_t · m / (sqrt(v) + ε)

The decay does not pass through m and v (that is the "decoupled" part: L2 regularization
in the loss would be rescaled by Adam's per-coordinate step). Which form: the decay is
multiplied by lr, as in PyTorch's torch.optim.AdamW (so --lr schedules scale it too); the
Adam part is TensorFlow's (ε outside the bias correction). TensorFlow's contrib
AdamWOptimizer instead subtracts wd·θ unscaled: its weight_decay equals lr·weight_decay here.
The gradient g is the gradient of the problem's objective, which still includes the
problem's own L2 regularizer unless you run with --weight_decay 0.

Hyperparameters:
   lr             learning rate (required)
   beta1          decay of the first-moment average m (default 0.9)
   beta2          decay of the second-moment average v (default 0.999)
   epsilon        added to sqrt(v) (default 1e-8)
   weight_decay   decoupled decay factor wd (default 0.01, PyTorch's default)

Reference: Loshchilov & Hutter, "Decoupled Weight Decay Regularization" (ICLR 2019),
https://arxiv.org/abs/1711.05101

State: state.t, state.m, state.v, state.denom (a scratch buffer).
]]
return {
   name = "AdamWOptimizer",
   description = "Adam with decoupled weight decay (decay scaled by lr, as PyTorch's AdamW)",
   hyperparams = {
      { name = "lr", type = "number", help = "learning rate" },
      { name = "beta1", type = "number", default = 0.9, domain = "[0, 1)", help = "decay rate of the first-moment estimate" },
      { name = "beta2", type = "number", default = 0.999, domain = "[0, 1)", help = "decay rate of the second-moment estimate" },
      { name = "epsilon", type = "number", default = 1e-8, domain = "(0, inf)", help = "added to sqrt(v) for numerical stability" },
      { name = "weight_decay", type = "number", default = 0.01, domain = "[0, inf)", help = "decoupled weight decay (theta -= lr*wd*theta)" },
   },
   step = function(closure, params, hp, state)
      local theta, g = params.flat, params.grad_flat
      local b1, b2 = hp.beta1, hp.beta2
      -- (1) forward + backward (at the current θ, before the decay)
      local loss = closure()
      -- (2) lazy state, created once
      if not state.m then
         state.t = 0
         state.m = theta:clone():zero_()
         state.v = theta:clone():zero_()
         state.denom = theta:clone()
      end
      local m, v, denom = state.m, state.v, state.denom
      -- (3) decoupled weight decay: θ ← (1 − lr·wd)·θ
      if hp.weight_decay ~= 0 then theta:mul_(1 - hp.lr * hp.weight_decay) end
      -- (4) Adam: step count, bias-corrected step size, moments, update
      state.t = state.t + 1
      local lr_t = hp.lr * math.sqrt(1 - b2 ^ state.t) / (1 - b1 ^ state.t)
      m:lerp_(g, 1 - b1)                   -- m ← β1·m + (1−β1)·g
      v:mul_(b2):addcmul_(g, g, 1 - b2)    -- v ← β2·v + (1−β2)·g²
      denom:copy_(v):sqrt_():add_(hp.epsilon)
      theta:addcdiv_(m, denom, -lr_t)      -- θ ← θ − lr_t·m/(sqrt(v)+ε)
      return loss
   end,
}
