--- Checkpoints of a running run: when to write them, where, and what a resume checks.
--
--    local checkpoint = require "deepobs.checkpoint"
--    local ck = checkpoint.new(run, { interrupt = require "deepobs.interrupt", progress = p })
--    local saved = ck:load(trainer)        -- --resume: the saved state, or nil when there is none
--    trainer:run_to_end(ck)                -- calls ck:after_step / ck:after_evaluation / ck:stop
--    ck:remove()                           -- a finished run's checkpoint goes
--
-- A run's checkpoint is <run folder>/random_seed__<seed>.checkpoint, next to where its
-- result file will go, so a run is found again from its problem, optimizer, setting and
-- seed alone. It is written (dob.save: a temporary file, then a rename) after the
-- evaluation of every --checkpoint_every-th epoch, every --checkpoint_minutes within an
-- epoch, and when SIGINT or SIGTERM arrive (after the step in progress). Any checkpoint of
-- a run is a valid point to continue it from: same seed and thread count give the same
-- numbers from there as the uninterrupted run.
local ffi = require "ffi"
local dob = require "deepobs"
local errors = require "deepobs.errors"
local progress = require "deepobs.progress"
local results = require "deepobs.results"
local runstate = require "deepobs.runstate"

local M = {}

-- Version 2: the problems' layers fused their ReLUs (conv2d/linear/batch_norm with an
-- activation), so the models' parameter paths moved (net.3.weight became net.2.weight);
-- a version 1 checkpoint is refused with the message below rather than half-loaded.
local FORMAT, VERSION = "deepobs-checkpoint", 2

pcall(ffi.cdef, "int kill(int pid, int sig);")
local ESRCH = 3

-- dob.save writes <path>.tmp<pid> and renames it; a process killed while writing leaves
-- its temporary file behind: remove those whose process is gone
local function remove_stale_temporaries(path)
   local dir, base = path:match("^(.*)/([^/]*)$")
   local p = io.popen(("ls -A '%s' 2>/dev/null"):format(dir:gsub("'", "'\\''")))
   if not p then return end
   for name in p:lines() do
      local pid = tonumber(name:sub(#base + 1):match("^%.tmp(%d+)$"))
      if pid and name:sub(1, #base) == base and ffi.C.kill(pid, 0) ~= 0 and ffi.errno() == ESRCH then
         os.remove(dir .. "/" .. name)
      end
   end
   p:close()
end

local Checkpointer = {}
Checkpointer.__index = Checkpointer

function M.path(run)
   return ("%s/random_seed__%s.checkpoint"):format(run.run_dir, results.pyint(run.seed))
end

local exists = require("deepobs.files").exists

--- opts: interrupt (deepobs.interrupt, when signals are handled), progress, provenance
-- (the ordered {key, value} list of the run's start).
function M.new(run, opts)
   opts = opts or {}
   if not run.no_logs then remove_stale_temporaries(M.path(run)) end
   return setmetatable({
      run = run, path = M.path(run), enabled = not run.no_logs,
      interrupt = opts.interrupt, progress = opts.progress, provenance = opts.provenance or {},
      resumed = {}, last_saved = progress.now(), saves = 0, seconds = 0, bytes = 0,
   }, Checkpointer)
end

function Checkpointer:exists() return self.enabled and exists(self.path) end

-- what must match between the run that wrote a checkpoint and the one resuming it
-- (the folder already names problem, optimizer, hyperparameters, schedule, epochs, batch size)
function Checkpointer:identity(trainer)
   local run = self.run
   local sha
   for _, kv in ipairs(self.provenance) do if kv[1] == "optimizer_sha256" then sha = kv[2] end end
   return {
      problem = run.problem.name, optimizer = run.optimizer.name, folder = run.folder, seed = run.seed,
      validation = run.validation, deepobs_compat = run.deepobs_compat,
      train_log_interval = run.train_log_interval, steps_per_epoch = trainer.steps_per_epoch,
      num_parameters = trainer.params.flat:numel(),
      optimizer_sha256 = type(sha) == "string" and sha or nil,
   }
end

-- provenance as a saveable table (JSON nulls are left out) and back
local function pack_provenance(list)
   local keys, values = {}, {}
   for i, kv in ipairs(list) do
      keys[i] = kv[1]
      if kv[2] ~= results.null then values[kv[1]] = kv[2] end
   end
   return { keys = keys, values = values }
end

local function unpack_provenance(p)
   local list = {}
   for i, k in ipairs(p.keys) do
      local v = p.values[k]
      if v == nil then v = results.null end
      list[i] = { k, v }
   end
   return list
end

--- Writes the trainer's state now.
function Checkpointer:save(trainer)
   if not self.enabled then return end
   local t0 = progress.now()
   dob.save(self.path, {
      format = FORMAT, version = VERSION,
      identity = self:identity(trainer),
      start_time = self.run.start_time, file_name = self.run.file_name, threads = dob.get_threads(),
      provenance = pack_provenance(self.provenance), resumed = self.resumed,
      trainer = trainer:snapshot(),
   }, { refs = trainer:live_tensors() })
   runstate.heartbeat(self.run)
   self.last_saved = progress.now()
   self.saves = self.saves + 1
   self.seconds = self.seconds + (self.last_saved - t0)
end

local function describe_position(p)
   if not p.evaluated then
      return p.epoch == 0 and "the first evaluation" or ("the evaluation after epoch %d"):format(p.epoch)
   end
   if p.step > 0 then return ("epoch %d, step %d"):format(p.epoch + 1, p.step) end
   return ("the start of epoch %d"):format(p.epoch + 1)
end
M.describe_position = describe_position

--- The saved state of this run (--resume), checked against the run, or nil when there is
-- no checkpoint. A checkpoint of another run, or one the run cannot continue from
-- exactly, is a usage error saying why.
function Checkpointer:load(trainer)
   if not self:exists() then return nil end
   local ok, c = pcall(dob.load, self.path, { refs = trainer:live_tensors() })
   if not ok then
      error(("cannot resume from %s: %s; delete it to start the run over"):format(self.path,
         errors.clean(errors.describe(c))), 0)
   end
   if type(c) ~= "table" or c.format ~= FORMAT then
      errors.usage(("%s is not a deepobs checkpoint; delete it to start the run over"):format(self.path))
   end
   if c.version ~= VERSION then
      errors.usage(("%s is a checkpoint of format version %s, this deepobs reads version %d; "
         .. "finish the run with the deepobs that started it, or delete the checkpoint"):format(self.path,
         tostring(c.version), VERSION))
   end
   local want = self:identity(trainer)
   for _, k in ipairs { "problem", "optimizer", "folder", "seed", "validation", "deepobs_compat",
      "train_log_interval", "steps_per_epoch", "num_parameters", "optimizer_sha256" } do
      if c.identity[k] ~= want[k] then
         errors.usage(("cannot resume from %s: it was written with %s = %s, this run has %s%s; "
            .. "run with the same settings, or delete the checkpoint to start over"):format(self.path, k,
            tostring(c.identity[k]), tostring(want[k]),
            k == "optimizer_sha256" and " (the optimizer file changed)" or ""))
      end
   end
   if c.threads ~= dob.get_threads() and self.progress then
      self.progress:warn(("resuming at %d threads a run that was checkpointed at %d: from here on its numbers "
         .. "may differ in the last bits from an uninterrupted run (use --threads %d)"):format(
         dob.get_threads(), c.threads, c.threads))
   end
   self.provenance = unpack_provenance(c.provenance)
   self.resumed = c.resumed
   return c
end

--- Records this resume (time, host, position) for the result file's "resumed" list.
function Checkpointer:note_resume(host, position)
   self.resumed[#self.resumed + 1] = { at = os.date("!%Y-%m-%dT%H:%M:%SZ"), host = host or "",
      epoch = position.epoch, step = position.step }
end

function Checkpointer:interrupt_pending()
   if not self.interrupt then return nil end
   return self.interrupt.pending()
end

-- saves (when the state can be saved exactly here) and remembers the signal
function Checkpointer:stop(trainer)
   self.signal = self:interrupt_pending()
   if self.enabled and trainer:can_save_here() then
      self:save(trainer)
      self.stopped_at = trainer.position
   end
   return self.signal
end

--- After every training step: on an interrupt, save and return true (the run stops);
-- otherwise save when --checkpoint_minutes have passed since the last checkpoint.
function Checkpointer:after_step(trainer)
   if self:interrupt_pending() then
      self:stop(trainer)
      return true
   end
   local minutes = self.run.checkpoint_minutes
   if minutes > 0 and progress.now() - self.last_saved >= minutes * 60 and trainer:can_save_here() then
      self:save(trainer)
   end
   return false
end

--- After the evaluation of epoch n: save at every --checkpoint_every-th epoch.
function Checkpointer:after_evaluation(trainer)
   local n, every = trainer.position.epoch, self.run.checkpoint_every
   if n > 0 and every > 0 and n % every == 0 then self:save(trainer) end
end

function Checkpointer:remove()
   if self.enabled then os.remove(self.path) end
end

return M
