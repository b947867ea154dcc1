--- Describing the test problems: `--list` (problems, datasets, defaults, benchmark sets)
-- and `--info PROBLEM` (layers, output shapes, parameter counts).
local dob = require "deepobs"
local errors = require "deepobs.errors"
local resolve = require "deepobs.resolve"
local train = require "deepobs.train"

local M = {}

local clean = errors.clean

--- Prints the test problems with their dataset and defaults, and the benchmark sets.
function M.list(out)
   require("deepobs.suite").use()
   local ok, problems = pcall(require, "problems")
   if not ok or type(problems) ~= "table" or type(problems.list) ~= "function" then
      error(("no test problems are installed (problems/init.lua is missing or broken%s)")
         :format(ok and "" or (": " .. clean(problems):match("^[^\n]*"))), 0)
   end
   out:write(("%-24s %-10s %6s %7s %9s  %s\n"):format("problem", "dataset", "bs", "epochs", "wd", "description"))
   for _, name in ipairs(problems.list()) do
      local pok, p = pcall(problems.get, name)
      if pok and type(p) == "table" then
         out:write(("%-24s %-10s %6s %7s %9s  %s\n"):format(name, tostring(p.dataset),
            tostring(p.batch_size or "-"), tostring(p.num_epochs or "-"),
            p.weight_decay and ("%g"):format(p.weight_decay) or "-", p.description or ""))
      else
         out:write(("%-24s (cannot load: %s)\n"):format(name, clean(p):match("^[^\n]*")))
      end
   end
   local sets = require "deepobs.sets"
   out:write(resolve.prog_text("\nbenchmark sets (luajit run.lua SET --optimizer X --lr Y runs each member with its defaults):\n"))
   for _, set in ipairs(sets.order) do
      local t = {}
      for _, m in ipairs(sets[set]) do
         local pok = pcall(problems.get, m.name)
         t[#t + 1] = m.name .. (pok and "" or " (not installed)")
      end
      out:write(("%-24s %s\n"):format(set, table.concat(t, ", ")))
   end
end

local function shape_str(s) return "[" .. table.concat(s, ", ") .. "]" end

--- Prints a problem's model, output shapes (when its data can be loaded) and parameters.
function M.info(problem, opts, out)
   opts = opts or {}
   out = out or io.stdout
   problem = resolve.load_problem(problem)
   local wd = opts.weight_decay
   if wd == nil then wd = problem.weight_decay end
   local bs = opts.batch_size or problem.batch_size
   dob.manual_seed(opts.random_seed or 42)
   local model = problem.build { weight_decay = wd, batch_size = bs }
   out:write(("%s: %s\n"):format(problem.name, problem.description or ""))
   local dsname = type(problem.dataset) == "table" and (problem.dataset.name or "(custom)") or tostring(problem.dataset)
   out:write(("dataset %s, batch size %s, %s epochs, weight decay %s\n\n"):format(dsname,
      tostring(bs or "-"), tostring(problem.num_epochs or "-"), wd and ("%g"):format(wd) or "none"))
   out:write(model.describe and model:describe() or tostring(model), "\n\n")

   -- output shapes: one forward pass on a test batch, recording each module's output
   local rows = {}
   local sok, serr = pcall(function()
      local ds = train.load_dataset(problem, { data_dir = opts.data_dir, batch_size = bs, dataset = opts.dataset })
      local batch = ds.test:batches()()
      local wrapped = {}
      local function wrap(m, name)
         if type(m) ~= "table" or type(m.forward) ~= "function" then return end
         local orig = m.forward
         wrapped[#wrapped + 1] = m
         m.forward = function(self, ...)
            local y = orig(self, ...)
            if dob.is_tensor(y) then
               rows[#rows + 1] = { name, (m.describe and m:describe() or "?"):match("^[^\n]*"), y:size() }
            end
            return y
         end
         for _, c in ipairs(m._children or {}) do wrap(m[c], name == "" and c or (name .. "." .. c)) end
      end
      wrap(model, "")
      local ok, err = pcall(dob.no_grad, problem.forward, model, batch, "test")
      for _, m in ipairs(wrapped) do m.forward = nil end
      if not ok then error(err, 0) end
      if rows[#rows] and rows[#rows][1] == "" then rows[#rows][1] = "(model)" end
   end)
   if sok and #rows > 0 then
      out:write("output shapes (one test batch, in call order):\n")
      -- calls complete inner-first; show them in completion order
      for _, r in ipairs(rows) do
         out:write(("  %-24s %-40s %s\n"):format(r[1], r[2], shape_str(r[3])))
      end
      out:write("\n")
   elseif not sok then
      out:write(("output shapes: not available (%s)\n\n"):format(clean(serr):match("^[^\n]*")))
   end

   local total = 0
   out:write("parameters:\n")
   for _, p in ipairs(model:named_parameters()) do
      local n = p.value:numel()
      total = total + n
      out:write(("  %-32s %-20s %d\n"):format(p.name, shape_str(p.value:size()), n))
   end
   out:write(("total parameters: %d\n"):format(total))
   return total
end


return M
