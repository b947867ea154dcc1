--- One definition per test problem: checks the fields of the problem interface and fills
-- the part every problem shares (the default weight decay and DeepOBS's warning), so that
-- each fact about a problem is written once, in its own file.
--
--    local define = require "problems._define"
--    return define {
--       name = "mnist_mlp", dataset = "mnist", batch_size = 128, num_epochs = 100,
--       weight_decay = nil, has_accuracy = true,
--       description = "MNIST, MLP 784-1000-500-100-10 ..., 1,336,610 parameters",
--       build = function(opts) return models.mlp(10) end,
--       forward = A.classify,
--    }
--
-- The fields (what the runner and --list read; lua/deepobs/resolve.lua checks a user's own
-- problem file against the same interface):
--   name          the problem's name, its file problems/<name>.lua
--   dataset       the data module datasets/<dataset>.lua (or a dataset table)
--   dataset_opts  optional: a table handed to that module's load
--   batch_size, num_epochs   DeepOBS's defaults: positive integers, or nil where DeepOBS
--                 gives none (the user then passes --bs / -N)
--   weight_decay  the default L2 factor, or nil for a problem without weight decay
--   has_accuracy  whether forward returns an accuracy
--   description   one line for --list and --info
--   build(opts)   the model; opts.weight_decay is the caller's value, else the field's
--   forward(model, batch, phase)   per-example losses [B], the regularizer or nil, the
--                 accuracy or nil
--   start_phase(model, phase), get_carried(model), set_carried(model, state)   optional
--                 (a state carried from batch to batch: lua/deepobs/train.lua)
-- A second table, `exports`, adds what a problem offers its specs and scripts besides the
-- interface (a Hessian, its model module); its keys may not shadow a field.
local FIELDS = {
   name = true, dataset = true, dataset_opts = true, batch_size = true, num_epochs = true,
   weight_decay = true, has_accuracy = true, description = true, build = true, forward = true,
   start_phase = true, get_carried = true, set_carried = true,
}

local function is_count(v) return type(v) == "number" and v >= 1 and v == math.floor(v) and v < math.huge end
local function is_decay(v) return type(v) == "number" and v >= 0 and v < math.huge end

local function check(p)
   if type(p) ~= "table" then error("problems._define: give a table of fields, got a " .. type(p), 3) end
   local function bad(what, key)
      local got = ""
      if key then got = ", got " .. (type(p[key]) == "string" and ("%q"):format(p[key]) or tostring(p[key])) end
      error(("problems._define: problem %s: %s%s"):format(tostring(p.name), what, got), 4)
   end
   for k in pairs(p) do
      if not FIELDS[k] then bad(("unknown field %q (a typo? extra values go in define's second argument)"):format(tostring(k))) end
   end
   if type(p.name) ~= "string" or not p.name:match("^[%a][%w_]*$") then bad("name must be a word (letters, digits, _)", "name") end
   if type(p.dataset) ~= "string" and type(p.dataset) ~= "table" then bad("dataset must name a datasets/ module", "dataset") end
   if p.dataset_opts ~= nil and type(p.dataset_opts) ~= "table" then bad("dataset_opts must be a table", "dataset_opts") end
   for _, k in ipairs { "batch_size", "num_epochs" } do
      if p[k] ~= nil and not is_count(p[k]) then bad(k .. " must be a positive integer or nil", k) end
   end
   if p.weight_decay ~= nil and not is_decay(p.weight_decay) then
      bad("weight_decay must be a number >= 0 or nil (no weight decay)", "weight_decay")
   end
   if type(p.has_accuracy) ~= "boolean" then bad("has_accuracy must be true or false", "has_accuracy") end
   if type(p.description) ~= "string" or p.description == "" then bad("description must be a non-empty string", "description") end
   for _, k in ipairs { "build", "forward", "start_phase", "get_carried", "set_carried" } do
      if (k == "build" or k == "forward" or p[k] ~= nil) and type(p[k]) ~= "function" then bad(k .. " must be a function", k) end
   end
   if (p.get_carried == nil) ~= (p.set_carried == nil) then bad("get_carried and set_carried come together") end
end

-- DeepOBS's problems without weight decay print this when given one (e.g.
-- deepobs/tensorflow/testproblems/mnist_mlp.py) and go on without it
local function warn_no_weight_decay(name, wd)
   if wd ~= 0 then
      io.stderr:write(("WARNING: %s has no weight decay (L2 regularization); --weight_decay %s is ignored\n")
         :format(name, tostring(wd)))
   end
end

-- build(opts) with opts.weight_decay filled from the problem's default
local function with_weight_decay(name, default, build)
   return function(opts)
      if opts ~= nil and type(opts) ~= "table" then
         error(("%s.build: opts must be a table or nil, got a %s"):format(name, type(opts)), 2)
      end
      local o = {}
      for k, v in pairs(opts or {}) do o[k] = v end
      if o.weight_decay == nil then
         o.weight_decay = default
      elseif not is_decay(o.weight_decay) then
         error(("%s.build: weight_decay must be a number >= 0, got %s"):format(name, tostring(o.weight_decay)), 2)
      elseif default == nil then
         warn_no_weight_decay(name, o.weight_decay)
      end
      return build(o)
   end
end

--- The problem table of `fields` (checked) with `exports` merged in.
return function(fields, exports)
   check(fields)
   local p = {}
   for k, v in pairs(fields) do p[k] = v end
   p.build = with_weight_decay(fields.name, fields.weight_decay, fields.build)
   for k, v in pairs(exports or {}) do
      if FIELDS[k] then
         error(("problems._define: problem %s: export %q shadows a field of the interface"):format(fields.name, k), 2)
      end
      p[k] = v
   end
   return p
end
