--- One training run as one state: the DeepOBS protocol (evaluate, train an epoch, check
-- divergence, record) over a state that can be saved at any step boundary and restored
-- bit for bit.
--
--    local train = require "deepobs.train"
--    local t = train.new(run, progress)        -- run: deepobs.resolve's; loads data, builds the model
--    t:restore(saved)                          -- optional: a state from t:snapshot()
--    local outcome = t:run_to_end(checkpointer) -- { finished = true } or { interrupted = sig }
--    t.results.train_losses, ...
--
-- run.stopwatch (optional, deepobs.progress.stopwatch): the trainer's laps record where the
-- wall time goes (train_steps, data_<split>, eval_<split>, logging, checkpoint) for
-- bench/epoch.lua; they only read the clock.
--
-- The whole state (t:snapshot()): the position (epoch, step within it, whether the epoch's
-- evaluation is recorded, the last logged loss), the engine's random stream, the
-- parameters, the model's buffers (batch-norm running statistics), the optimizer's
-- `state` and `hp`, a char-RNN's carried LSTM state, and the results so far. Everything
-- else is a function of the run's settings: the data order of epoch n is drawn from
-- seed * 1000 + n and batch augmentation from (that seed, batch index), so a resumed
-- epoch continues with ds.train:batches(seed * 1000 + n, step).
local dob = require "deepobs"
local batch_done = require("deepobs.tensor").batch_done   -- paces the collector to our batches
-- DEEPOBS_DEBUG=1: errors keep their whole traceback
local DEBUG = require("deepobs.env").flag("DEEPOBS_DEBUG")
local errors = require "deepobs.errors"
local progress = require "deepobs.progress"

local M = {}

local Trainer = {}
Trainer.__index = Trainer

local SPLITS = { "train_eval", "valid", "test" }
local isfinite = function(x) return x == x and x ~= math.huge and x ~= -math.huge end

local function module_missing(err, name)
   return tostring(err):find("module '" .. name:gsub("%p", "%%%0") .. "' not found", 1) ~= nil
end

--- The dataset of a problem for a run (data_dir, batch size, seed, validation split).
function M.load_dataset(problem, o)
   if o.dataset then return o.dataset end
   local d = problem.dataset
   local mod
   if type(d) == "table" then
      if d.train then return d end -- already loaded
      mod = d
   else
      local ok, res = pcall(require, "datasets." .. tostring(d))
      if not ok then
         if module_missing(res, "datasets." .. tostring(d)) then
            error(("problem %s needs the dataset module datasets/%s.lua, which is missing"):format(problem.name, tostring(d)), 0)
         end
         error(res, 0)
      end
      mod = res
   end
   -- seed: the shuffle that train_eval takes its first batches from (as 1.1 took them from training)
   local lopts = { data_dir = o.data_dir, batch_size = o.batch_size, seed = o.seed,
      deepobs_compat = o.deepobs_compat, validation = o.validation or nil }
   for k, v in pairs(problem.dataset_opts or {}) do lopts[k] = v end
   local ds = mod.load(lopts)
   for _, s in ipairs { "train", "train_eval", "test" } do
      if not ds[s] then error(("dataset %s has no '%s' split"):format(tostring(d), s), 0) end
   end
   if o.validation and not ds.valid then
      errors.usage(("--validation: the dataset of %s has no validation split"):format(problem.name))
   end
   return ds
end

local function new_results(run)
   local acc = run.problem.has_accuracy
   return {
      train_losses = {}, test_losses = {}, minibatch_train_losses = {},
      train_accuracies = acc and {} or nil, test_accuracies = acc and {} or nil,
      valid_losses = run.validation and {} or nil,
      valid_accuracies = (run.validation and acc) and {} or nil,
      epoch_times = {}, diverged = false,
   }
end

--- Loads the data and builds the model with an empty optimizer state, at epoch 0.
-- The engine is seeded before each, so the initial weights do not depend on the data loader.
function M.new(run, prog)
   if run.threads then dob.set_threads(run.threads) end
   dob.manual_seed(run.seed)
   local ds = M.load_dataset(run.problem, { data_dir = run.data_dir, batch_size = run.batch_size,
      dataset = run.dataset, seed = run.seed, deepobs_compat = run.deepobs_compat, validation = run.validation })
   dob.manual_seed(run.seed)
   local model = run.problem.build { weight_decay = run.wd_effective, batch_size = run.batch_size,
      vocab_size = ds.vocab_size }
   local steps_per_epoch = ds.train.num_batches
   run.schedule:bind(steps_per_epoch)
   local self = setmetatable({
      run = run, problem = run.problem, optimizer = run.optimizer, ds = ds, model = model,
      params = dob.nn.ParamSet(model), hp = run.hp, state = {},
      progress = prog or progress.new { quiet = true }, clock = run.stopwatch or progress.stopwatch(),
      steps_per_epoch = steps_per_epoch, num_steps = steps_per_epoch * run.num_epochs,
      position = { epoch = 0, step = 0, evaluated = false, last_logged = nil, epoch_seconds = 0 },
      results = new_results(run),
   }, Trainer)
   -- what step() gets as its fifth argument, updated in place every step
   self.context = { step = 0, epoch = 0, num_steps = self.num_steps, steps_per_epoch = steps_per_epoch }
   self:make_closure()
   -- what loading and building left behind (the parameters' first tensors, now in ParamSet's
   -- flat buffer; reading buffers) is never asked for again: back to the OS, not cached
   dob.collect()
   return self
end

---------------------------------------------------------------------------------------
-- the whole state

--- The tensors that an optimizer's state may alias: saved by name, restored as the live ones.
function Trainer:live_tensors()
   local ps = self.params
   local refs = { ["params.flat"] = ps.flat, ["params.grad_flat"] = ps.grad_flat }
   for i, p in ipairs(ps.params) do
      refs[("params.params[%d].value"):format(i)] = p.value
      refs[("params.params[%d].grad"):format(i)] = p.grad
   end
   return refs
end

--- The state as one table of tensors, numbers, strings and booleans (for dob.save with
-- refs = self:live_tensors()). Its tensors are the live ones or copies: save it at once.
function Trainer:snapshot()
   local buffers = {}
   for _, b in ipairs(self.model:named_buffers()) do buffers[b.name] = b.value end
   local p = self.position
   return {
      position = { epoch = p.epoch, step = p.step, evaluated = p.evaluated, last_logged = p.last_logged,
         epoch_seconds = p.epoch_seconds },
      rng = dob.get_rng_state(),
      params = self.params.flat:detach():clone(),
      buffers = buffers,
      optimizer_state = self.state,
      hp = self.hp,
      carried = (p.step > 0 and self.problem.get_carried) and self.problem.get_carried(self.model) or nil,
      results = self.results,
   }
end

--- Whether the state at this point can be saved exactly: inside an epoch, a problem that
-- carries state from batch to batch must say how to save it.
function Trainer:can_save_here()
   return self.position.step == 0 or not self.problem.start_phase or self.problem.get_carried ~= nil
end

--- Puts a saved state (from snapshot(), through dob.save/dob.load) in place.
function Trainer:restore(saved)
   local flat = self.params.flat
   if not dob.is_tensor(saved.params) or saved.params:numel() ~= flat:numel() then
      error(("the checkpoint holds %s parameters, the model has %d"):format(
         dob.is_tensor(saved.params) and tostring(saved.params:numel()) or "no", flat:numel()), 0)
   end
   local live = {}
   for _, b in ipairs(self.model:named_buffers()) do live[b.name] = b.value end
   for name, t in pairs(live) do
      local s = saved.buffers[name]
      if not dob.is_tensor(s) or s:numel() ~= t:numel() then
         error(("the checkpoint has no buffer %s of %d values for this model"):format(name, t:numel()), 0)
      end
   end
   dob.no_grad(function()
      flat:copy_(saved.params)
      for name, t in pairs(live) do t:copy_(saved.buffers[name]) end
   end)
   self.state = saved.optimizer_state
   for k in pairs(self.hp) do self.hp[k] = nil end
   for k, v in pairs(saved.hp) do self.hp[k] = v end
   dob.set_rng_state(saved.rng)
   self.position = saved.position
   self.results = saved.results
   self.carried = saved.carried
end

---------------------------------------------------------------------------------------
-- evaluation

local function objective(losses, reg)
   local obj = losses:mean()
   if reg ~= nil then obj = obj + reg end
   return obj
end

-- the mean loss and accuracy over a split, or nil when an interrupt arrived meanwhile
function Trainer:evaluate_split(split, phase, interrupted)
   local problem, model = self.problem, self.model
   local sl, sa, nb = 0, 0, 0
   if problem.start_phase then problem.start_phase(model, phase) end
   local stopped = false
   local clock, data_key, eval_key = self.clock, "data_" .. phase, "eval_" .. phase
   dob.no_grad(function()
      clock:lap()
      for batch in split:batches() do
         clock:lap(data_key)
         local losses, reg, acc = problem.forward(model, batch, phase)
         local o = objective(losses, reg)
         sl = sl + (type(o) == "number" and o or o:item())
         sa = sa + (acc or 0)
         nb = nb + 1
         batch_done()
         clock:lap(eval_key)
         if interrupted and interrupted() then stopped = true; return end
      end
      clock:lap(data_key)
   end)
   if stopped then return nil end
   if nb == 0 then
      error(("the %s split has no batches (batch size %d larger than the split?)"):format(phase, self.run.batch_size), 0)
   end
   return sl / nb, sa / nb
end

-- evaluates train_eval, valid (with a validation split) and test, and records them; false
-- when interrupted, with the engine's random stream as it was before
function Trainer:evaluate(interrupted)
   local rng = dob.get_rng_state()
   local m, r = {}, self.results
   for _, phase in ipairs(SPLITS) do
      local split = self.ds[phase]
      if phase ~= "valid" or self.run.validation then
         local l, a = self:evaluate_split(split, phase, interrupted)
         if l == nil then
            dob.set_rng_state(rng)
            return false
         end
         local key = phase == "train_eval" and "train" or phase
         m[key .. "_loss"], m[key .. "_acc"] = l, self.problem.has_accuracy and a or nil
      end
   end
   local k = self.position.epoch + 1
   r.train_losses[k], r.test_losses[k] = m.train_loss, m.test_loss
   if r.valid_losses then r.valid_losses[k] = m.valid_loss end
   if r.train_accuracies then r.train_accuracies[k], r.test_accuracies[k] = m.train_acc, m.test_acc end
   if r.valid_accuracies then r.valid_accuracies[k] = m.valid_acc end
   self.position.evaluated = true
   self.progress:evaluation(self.position.epoch, self.run.num_epochs, m, r.epoch_times[k - 1])
   return true
end

---------------------------------------------------------------------------------------
-- training

-- the closure an optimizer calls: forward + backward on the current batch
function Trainer:make_closure()
   local want_grad = true
   local function fb()
      local losses, reg, acc = self.problem.forward(self.model, self.batch, "train")
      local obj = objective(losses, reg)
      if want_grad then obj:backward() end
      return obj:item(), losses, acc
   end
   self.closure = function(o)
      want_grad = not (type(o) == "table" and o.grad == false)
      if want_grad then self.params.grad_flat:zero_() end
      local prev = dob.set_grad_enabled(want_grad)
      local ok, loss, losses, acc = pcall(fb)
      dob.set_grad_enabled(prev)
      if not ok then error(loss, 0) end
      if self.first_loss == nil then self.first_loss = loss end
      return loss, { losses = losses:detach(), accuracy = acc }
   end
end

-- An error inside the optimizer's step: its message (whatever the error value) and the
-- frames of the optimizer's own file, or the whole traceback with DEEPOBS_DEBUG set.
local function step_error_handler(optimizer, source)
   return function(e)
      local msg = errors.describe(e)
      local tb = debug.traceback("", 2)
      local lines = {}
      if DEBUG then
         lines[1] = tb:gsub("^\n", "")
      else
         for line in tb:gmatch("[^\n]+") do
            if source and line:find(source, 1, true) then lines[#lines + 1] = line end
         end
         if #lines > 0 then table.insert(lines, 1, "stack traceback (the optimizer's code; DEEPOBS_DEBUG=1 shows all):") end
      end
      return ("optimizer %s failed in step(): %s%s"):format(optimizer.name, msg,
         #lines > 0 and ("\n" .. table.concat(lines, "\n")) or "")
   end
end

-- one optimizer step on self.batch; returns the loss to log
function Trainer:step()
   local opt = self.optimizer
   self.step_handler = self.step_handler or step_error_handler(opt, debug.getinfo(opt.step, "S").short_src)
   self.first_loss = nil
   local prev = dob.set_grad_enabled(false)
   local ok, ret = xpcall(opt.step, self.step_handler, self.closure, self.params, self.hp, self.state, self.context)
   dob.set_grad_enabled(prev)
   if not ok then error(ret, 0) end
   return self.first_loss or ret
end

-- the DeepOBS 1.2 abort routine: every remaining epoch gets the epoch-0 values
local function fill_diverged(r, from, num_epochs)
   for _ = from, num_epochs do
      local k = #r.train_losses + 1
      for _, key in ipairs { "train_losses", "valid_losses", "test_losses", "train_accuracies",
         "valid_accuracies", "test_accuracies" } do
         if r[key] then r[key][k] = r[key][1] end
      end
      local mb = r.minibatch_train_losses
      mb[#mb + 1] = mb[1]
   end
   r.diverged = true
end

-- trains the rest of the current epoch; "interrupted", or "done" at its end
function Trainer:train_epoch(ckpt)
   local run, pos, r, prog = self.run, self.position, self.results, self.progress
   local n, S = pos.epoch, self.steps_per_epoch
   local model, problem = self.model, self.problem
   if type(model.train) == "function" then model:train() end -- forward(phase) decides too
   if problem.start_phase then problem.start_phase(model, "train") end
   if self.carried then problem.set_carried(model, self.carried); self.carried = nil end
   local ctx, interval, clock = self.context, run.train_log_interval, self.clock
   local t0, before, steps_here = progress.now(), pos.epoch_seconds, 0
   clock:lap()
   for batch in self.ds.train:batches(run.seed * 1000 + n, pos.step) do
      clock:lap("data_train")
      local t = n * S + pos.step
      self.hp.lr = run.schedule:lr_at(t)
      ctx.step, ctx.epoch = t, n
      self.batch = batch
      local loss = self:step()
      batch_done()
      clock:lap("train_steps")
      if pos.step % interval == 0 then
         if type(loss) ~= "number" then
            error(("optimizer %s: step did not call closure() nor return the loss"):format(self.optimizer.name), 0)
         end
         local mb = r.minibatch_train_losses
         mb[#mb + 1] = loss
         pos.last_logged = loss
         prog:minibatch(n + 1, pos.step, loss)
      end
      pos.step = pos.step + 1
      steps_here = steps_here + 1
      local elapsed = progress.now() - t0
      pos.epoch_seconds = before + elapsed
      prog:training(n + 1, run.num_epochs, pos.step, S, pos.last_logged, steps_here / elapsed,
         self.num_steps - t - 1)
      clock:lap("logging")
      if not self.checked_state then -- now, not at the first checkpoint an epoch later
         dob.check_saveable(self.state, "state")
         dob.check_saveable(self.hp, "hp")
         self.checked_state = true
      end
      local stop = ckpt and ckpt:after_step(self)
      clock:lap("checkpoint")
      if stop then return "interrupted" end
   end
   clock:lap("data_train")
   r.epoch_times[n + 1] = before + (progress.now() - t0)
   prog:clear_live()
   if pos.last_logged ~= nil and not isfinite(pos.last_logged) then
      prog:warn(("loss is %s after epoch %d; the run diverged, the remaining epochs are filled with the epoch-0 values")
         :format(tostring(pos.last_logged), n + 1))
      fill_diverged(r, n + 1, run.num_epochs)
      return "diverged"
   end
   pos.epoch, pos.step, pos.evaluated, pos.epoch_seconds = n + 1, 0, false, 0
   return "done"
end

--- Runs the protocol from the current position to the end. ckpt (optional): the
-- checkpointer, asked after every step and evaluation whether to save or stop.
-- Returns { finished = true } or { interrupted = signal number }.
function Trainer:run_to_end(ckpt)
   local pos, N = self.position, self.run.num_epochs
   local interrupted = ckpt and function() return ckpt:interrupt_pending() end
   while true do
      if not pos.evaluated then
         if not self:evaluate(interrupted) then return { interrupted = ckpt:stop(self) } end
         self.clock:lap()
         if ckpt and pos.epoch < N then ckpt:after_evaluation(self) end
         self.clock:lap("checkpoint")
      end
      if pos.epoch >= N or self.results.diverged then break end
      local how = self:train_epoch(ckpt)
      if how == "interrupted" then return { interrupted = ckpt.signal } end
      if how == "diverged" then break end
   end
   return { finished = true }
end

--- The learning rate at the first step of each training epoch.
function Trainer:learning_rates()
   local out = {}
   for n = 0, self.run.num_epochs - 1 do out[n + 1] = self.run.schedule:lr_at(n * self.steps_per_epoch) end
   return out
end

return M
