--[[ TEMPLATE: copy this file to start your own optimizer, e.g.

      cp lua/deepobs/optim/template.lua my_opt.lua
      luajit run.lua fmnist_2c2d --optimizer my_opt.lua --lr 0.1 --my_flag 3

As written it is plain SGD with an optional constant "damping" — replace step() with your
rule. Keep a doc block like this one: what the method is, the update rule as math, every
hyperparameter (meaning, default) and a paper link.

   θ ← θ − lr · g / (1 + damping)

------------------------------------------------------------------------------------------
The five things step() receives

closure   closure() runs forward + backward on the current batch. It zeroes and then fills
          params.grad_flat, and returns
             loss  a Lua number: mean(per-example losses) + the problem's regularizer, at the
                   parameters as they were when closure() was called
             info  { losses = per-example losses [B] (a detached tensor), accuracy = number
                   or nil }
          closure{ grad = false } only evaluates the loss (no backward, grad_flat untouched).
          You may call it several times in one step (line searches, extrapolation): every
          call sees the SAME batch and the CURRENT params.flat.
params    a ParamSet: params.flat (every parameter in one 1-D float32 tensor) and
          params.grad_flat (its gradient, same size). Per tensor: params.params[i] =
          { name, value, grad, shape } where value / grad are views into flat / grad_flat.
          Update θ IN PLACE (flat:add_(...), value:copy_(...)); never replace params.flat.
hp        your hyperparameters by name, defaults filled in, types and domains checked.
          hp.lr is set by the runner before every step from the schedule (--lr_schedule,
          --lr_sched_epochs / --lr_sched_factors, warm-up): read it every step, never cache it.
state     a table that is yours for the whole run (empty at the first step). Keep buffers
          and counters here, and everything else you carry from step to step: checkpoints
          save it and --resume restores it exactly. It may hold tensors (any dtype, views of
          params.flat too), numbers, strings, booleans and tables of them; a function or any
          other value is an error after the first step.
ctx       where the run is: ctx.step (0-based, counting every step of the run), ctx.epoch,
          ctx.num_steps and ctx.steps_per_epoch, for schedule-aware methods.

step() runs with gradient recording off (inside dob.no_grad), so in-place tensor updates
are allowed; closure() turns recording back on for its own forward/backward. Return the
loss (the number closure() gave you for the current parameters).

------------------------------------------------------------------------------------------
Memory and speed (see README, "memory rules")

- Create state tensors ONCE, at the first step (`state.v = state.v or flat:clone():zero_()`)
  and update them in place afterwards (mul_, add_(t, alpha), addcmul_, addcdiv_, lerp_,
  sqrt_, copy_, fill_). Then the steady state allocates nothing.
- Temporaries in expressions (`local d = g * 2 + v`) are fine and their memory is reused;
  they are merely slower than in-place updates.
- Do arithmetic on scalars in Lua numbers (doubles); only tensors touch memory.
- The hyperparameter types are number, integer, boolean and string; a hyperparameter with
  no default is required on the command line. A number or integer may declare its domain,
  an interval as in mathematics ("[0, 1)", "(0, inf)"): values outside it are refused.
]]
return {
   name = "MyOptimizer",              -- the results folder name: make it unique and stable
   description = "template: SGD with a constant damping factor",
   hyperparams = {                    -- ordered; each becomes a --<name> flag
      { name = "lr", type = "number", help = "learning rate" },   -- no default: required
      { name = "damping", type = "number", default = 0.0, domain = "[0, inf)",
        help = "divide the step by 1 + damping" },
   },
   step = function(closure, params, hp, state, ctx)
      local theta, g = params.flat, params.grad_flat
      -- (1) forward + backward on this batch: fills g
      local loss = closure()
      -- (2) lazy state, created once (this rule needs only a counter)
      state.t = (state.t or 0) + 1
      -- (3) the update, in place
      theta:add_(g, -hp.lr / (1 + hp.damping))
      return loss
   end,
}
