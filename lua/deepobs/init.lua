--- deepobs: float32 tensors, CPU kernels and reverse-mode autograd for
-- LuaJIT, with the DeepOBS optimizer benchmark on top.
--
--    local dob = require "deepobs"
--    local x = dob.randn(3, 4):requires_grad_()
--    local y = (x * x):sum()
--    y:backward()
--    print(x:grad())
local ffi = require "ffi"
local Cmod = require "deepobs.C"
local C = Cmod.lib
local T = require "deepobs.tensor"

local dob = {
   Tensor = T.Tensor,
   is_tensor = T.is_tensor,
   version = ffi.string(C.dob_version()),
}

for _, k in ipairs { "empty", "zeros", "ones", "full", "arange", "scalar", "tensor", "cat", "stack" } do
   dob[k] = T[k]
end

-- op families: each returns a table of functions for the package namespace
for _, family in ipairs { "elementwise", "random", "reduce", "matmul", "conv", "pool", "norm", "nnops", "loss", "augment", "image" } do
   local ok, fns = pcall(require, "deepobs.ops." .. family)
   if not ok then error(fns, 0) end
   for k, v in pairs(fns) do dob[k] = v end
end

---------------------------------------------------------------------------------------
-- grad mode

--- Runs fn(...) with gradient recording off and returns its results; the
-- previous mode is restored even if fn raises.
function dob.no_grad(fn, ...)
   local old = C.dob_set_grad_enabled(0)
   local res = { pcall(fn, ...) }
   C.dob_set_grad_enabled(old)
   if not res[1] then error(res[2], 0) end
   return unpack(res, 2, table.maxn(res))
end

function dob.set_grad_enabled(flag) return C.dob_set_grad_enabled(flag and 1 or 0) ~= 0 end
function dob.is_grad_enabled() return C.dob_grad_enabled() ~= 0 end

---------------------------------------------------------------------------------------
-- threads, BLAS, memory

function dob.set_threads(n)
   -- checked here: the C int parameter would truncate 2.5 to 2 and wrap 2^32 + 2 to 2
   local most = C.dob_max_threads()
   if type(n) ~= "number" or n % 1 ~= 0 or n < 1 or n > most then
      error(("set_threads: need an integer 1 <= n <= %d (4 per CPU, at least 16, at most 256), got %s")
         :format(most, tostring(n)), 2)
   end
   T.check(C.dob_set_threads(n))
end
function dob.get_threads() return C.dob_get_threads() end

--- Which OpenBLAS kernels are in use, and what the environment asked for.
function dob.blas_info()
   return {
      corename = ffi.string(C.dob_blas_corename()),
      config = ffi.string(C.dob_blas_config()),
      inherited_coretype = Cmod.inherited_coretype,
      library = Cmod.path,
   }
end

function dob.memory_stats()
   local s = ffi.new("dob_mem_stats")
   C.dob_mem_get_stats(s)
   return {
      live_bytes = tonumber(s.live_bytes), cached_bytes = tonumber(s.cached_bytes),
      peak_live_bytes = tonumber(s.peak_live_bytes), allocated_total = tonumber(s.allocated_total),
      live_tensors = tonumber(s.live_tensors), live_nodes = tonumber(s.live_nodes),
   }
end

--- Frees unreachable tensors now and returns cached blocks to the OS.
function dob.collect()
   collectgarbage("collect")
   collectgarbage("collect")
   C.dob_mem_trim()
end

local threads = tonumber(os.getenv("DEEPOBS_THREADS") or "")
if threads then dob.set_threads(threads) end

local serialize = require "deepobs.serialize"
dob.save, dob.load, dob.check_saveable = serialize.save, serialize.load, serialize.check_saveable

dob.nn = require "deepobs.nn"
dob.optim = require "deepobs.optim"

return dob
