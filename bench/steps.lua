-- Seconds per training step (forward, backward, SGD update) of DeepOBS test problems
-- at their default batch size, on synthetic inputs of the shape their dataset
-- delivers (no data files needed). The objective is the runner's: mean of the
-- per-example losses plus the problem's regularizer.
--
--   luajit bench/steps.lua [--threads N] [--bs N] [--steps K] [problem ...]
--
-- Without problem names it times the small benchmark set (lua/deepobs/sets.lua). --bs
-- overrides every problem's batch size (and times problems that have none);
-- problems without a default batch size are skipped otherwise, as are datasets
-- this script has no synthetic input for. Each problem runs one untimed warm-up
-- step, then K timed steps (default 3); the median is printed.
--
-- Required as a module (bench/steps_compare.lua does), it returns the pieces
-- without running anything: the synthetic inputs and the step, in one place.
--
--    local steps = require "bench.steps"
--    local run = steps.prepare(problems.get("mnist_mlp"), 128)   -- model, ps, batch, step
--    local secs = steps.time(run.step, 5)                         -- median seconds per step
package.path = "./lua/?.lua;./lua/?/init.lua;./?.lua;./?/init.lua;" .. package.path
local dob = require "deepobs"
local problems = require "problems"
local ffi = require "ffi"

ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } dob_steps_timespec;
int clock_gettime(int clk, dob_steps_timespec *ts);
]]
local ts = ffi.new("dob_steps_timespec")
local function now()
   ffi.C.clock_gettime(1, ts)
   return tonumber(ts.tv_sec) + tonumber(ts.tv_nsec) * 1e-9
end

local M = {}

-- dataset name -> function(bs, problem): a batch of `bs` synthetic examples in
-- the loader's format (sizes from the problem's dataset_opts where it has them)
local function images(c, h, w, classes)
   return function(bs, p)
      local side = p.dataset_opts and p.dataset_opts.image_size
      local y = dob.empty(bs, "int64")
      for i = 1, bs do y:set((i * 7) % classes, i) end
      return { x = dob.randn(bs, c, side or h, side or w), y = y }
   end
end
local INPUTS = {
   mnist = images(1, 28, 28, 10), fmnist = images(1, 28, 28, 10),
   cifar10 = images(3, 32, 32, 10), cifar100 = images(3, 32, 32, 100), svhn = images(3, 32, 32, 10),
   imagenet = images(3, 224, 224, 1001), food101 = images(3, 224, 224, 101),
   quadratic = function(bs) return { x = dob.randn(bs, 100) * 0.6 } end,
   two_d = function(bs) return { x = dob.randn(bs), y = dob.randn(bs) } end,
}
-- character streams: ids [bs, seq_length] and the next character as targets
local function chars(vocab)
   return function(bs, p)
      local T = p.dataset_opts and p.dataset_opts.seq_length or 50
      local x = dob.empty({ bs, T }, "int64"):random_(0, vocab)
      return { x = x, y = dob.empty({ bs, T }, "int64"):random_(0, vocab) }
   end, vocab
end
local VOCAB = {}
INPUTS.tolstoi, VOCAB.tolstoi = chars(83)
INPUTS.ptb, VOCAB.ptb = chars(50)
M.INPUTS, M.VOCAB = INPUTS, VOCAB

function M.median(t)
   table.sort(t)
   local n = #t
   return n % 2 == 1 and t[(n + 1) / 2] or (t[n / 2] + t[n / 2 + 1]) / 2
end

--- The batch size of the step benchmark: the problem's default, else 32 for the
-- 224x224 networks (VGG, Inception; a step of theirs holds 2.5-4 GB at 32) and 128
-- for the rest.
function M.batch_size(p)
   if p.batch_size then return p.batch_size end
   local big = p.name:match("vgg") or p.name:match("inception")
   return big and 32 or 128
end

--- Builds problem `p`'s model (seed 42) and a synthetic batch of `bs`; returns
-- { model, ps (its nn.ParamSet), batch, step }, where step() runs one training
-- step (forward, backward, p -= 1e-4 grad) and returns the objective. Errors when
-- the dataset has no synthetic input here.
function M.prepare(p, bs)
   local make = type(p.dataset) == "string" and INPUTS[p.dataset]
   if not make then error(("no synthetic input for dataset '%s'"):format(tostring(p.dataset)), 0) end
   dob.manual_seed(42)
   local model = p.build { weight_decay = p.weight_decay, batch_size = bs, vocab_size = VOCAB[p.dataset] }
   local ps = dob.nn.ParamSet(model)
   local batch = make(bs, p)
   local function step()
      ps:zero_grad()
      local losses, reg = p.forward(model, batch, "train")
      local obj = losses:mean()
      if reg ~= nil then obj = obj + reg end
      obj:backward()
      dob.no_grad(function() ps.flat:add_(ps.grad_flat, -1e-4) end)
      return obj:item()
   end
   return { model = model, ps = ps, batch = batch, step = step }
end

--- One untimed warm-up step, then `n` timed steps: their median in seconds.
function M.time(step, n)
   step()
   collectgarbage()
   local times = {}
   for k = 1, n do
      local t0 = now()
      step()
      times[k] = now() - t0
      collectgarbage()
   end
   return M.median(times)
end

--- This process's peak resident memory in MB (VmHWM of /proc/self/status), or nil.
function M.peak_rss_mb()
   local f = io.open("/proc/self/status")
   if not f then return nil end
   local kb = f:read("*a"):match("VmHWM:%s*(%d+)")
   f:close()
   return kb and tonumber(kb) / 1024
end

if ... == "bench.steps" then return M end

local USAGE = "usage: luajit bench/steps.lua [--threads N] [--bs N] [--steps K] [problem ...]\n"
local opts = { steps = 3, names = {} }
do
   local r = require("bench.args").reader("bench/steps.lua", USAGE, arg)
   for a in r:each() do
      if a == "--threads" then opts.threads = r:count(a)
      elseif a == "--bs" then opts.bs = r:count(a)
      elseif a == "--steps" then opts.steps = r:count(a)
      elseif a == "--help" or a == "-h" then r:help()
      elseif a:sub(1, 1) == "-" then r:fail("unknown option " .. a)
      else opts.names[#opts.names + 1] = a end
   end
end
if #opts.names == 0 then
   for _, m in ipairs(require("deepobs.sets").small) do opts.names[#opts.names + 1] = m.name end
end

if opts.threads then dob.set_threads(opts.threads) end

io.stdout:write(("%d threads, OpenBLAS %s; seconds per training step (forward, backward, SGD update), median of %d\n")
   :format(dob.get_threads(), dob.blas_info().corename, opts.steps))
io.stdout:write(("%-24s %-10s %5s %12s %10s\n"):format("problem", "dataset", "bs", "parameters", "s/step"))
for _, name in ipairs(opts.names) do
   local ok, p = pcall(problems.get, name)
   local bs = opts.bs or (ok and p.batch_size)
   if not ok then
      io.stdout:write(("%-24s skipped: %s\n"):format(name, (tostring(p):gsub(";.*$", ""))))
   elseif not (type(p.dataset) == "string" and INPUTS[p.dataset]) then
      io.stdout:write(("%-24s skipped: no synthetic input for dataset '%s'\n"):format(name, tostring(p.dataset)))
   elseif not bs then
      io.stdout:write(("%-24s skipped: no default batch size (give --bs N)\n"):format(name))
   else
      local run = M.prepare(p, bs)
      local secs = M.time(run.step, opts.steps)
      io.stdout:write(("%-24s %-10s %5d %12d %10.4f\n"):format(name, p.dataset, bs, run.ps.n, secs))
      io.stdout:flush()
      run = nil
      collectgarbage(); collectgarbage(); dob.collect()
   end
end
