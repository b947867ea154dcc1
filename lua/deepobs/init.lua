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
local A = require "deepobs.argcheck"

local dob = {
   Tensor = T.Tensor,
   is_tensor = T.is_tensor,
   version = ffi.string(C.dob_version()),
   set_printoptions = require("deepobs.tensor_format").set_printoptions,
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

--- dob.no_grad(fn, ...): fn(...) run with gradient recording off; returns fn's results
-- Runs fn(...) with gradient recording off and returns its results; the
-- previous mode is restored even if fn raises.
function dob.no_grad(fn, ...)
   A.callable("no_grad", "fn", fn)
   local old = C.dob_set_grad_enabled(0)
   local res = { pcall(fn, ...) }
   C.dob_set_grad_enabled(old)
   if not res[1] then error(res[2], 0) end
   return unpack(res, 2, table.maxn(res))
end

--- dob.set_grad_enabled(flag): turns gradient recording on (true) or off (false); returns the previous mode
function dob.set_grad_enabled(flag)
   if type(flag) ~= "boolean" then A.wrong("set_grad_enabled", "flag", "true or false", flag) end
   return C.dob_set_grad_enabled(flag and 1 or 0) ~= 0
end
--- dob.is_grad_enabled(): true while ops are recorded for autograd
function dob.is_grad_enabled() return C.dob_grad_enabled() ~= 0 end

---------------------------------------------------------------------------------------
-- threads, BLAS, memory

--- dob.set_threads(n): the number of threads of the engine's kernels and OpenBLAS together (1 to the maximum)
-- Also set by DEEPOBS_THREADS at load. Same seed, same thread count: the same numbers.
function dob.set_threads(n) T.check(C.dob_set_threads(A.int("set_threads", "n", n, 1, C.dob_max_threads()))) end
--- dob.get_threads(): the number of threads in use
function dob.get_threads() return C.dob_get_threads() end

--- dob.blas_info(): the OpenBLAS in use: { corename, config, inherited_coretype, library }
-- Which OpenBLAS kernels are in use, and what the environment asked for.
function dob.blas_info()
   return {
      corename = ffi.string(C.dob_blas_corename()),
      config = ffi.string(C.dob_blas_config()),
      inherited_coretype = Cmod.inherited_coretype,
      library = Cmod.path,
   }
end

--- dob.memory_stats(): the C allocator's counters
-- { live_bytes, cached_bytes, peak_live_bytes, allocated_total, obtained_total (bytes taken
-- from the OS: cache misses), evicted_total (cached bytes given back to keep the cache's
-- bound), live_tensors, live_nodes }.
function dob.memory_stats()
   local s = ffi.new("dob_mem_stats")
   C.dob_mem_get_stats(s)
   return {
      live_bytes = tonumber(s.live_bytes), cached_bytes = tonumber(s.cached_bytes),
      peak_live_bytes = tonumber(s.peak_live_bytes), allocated_total = tonumber(s.allocated_total),
      obtained_total = tonumber(s.obtained_total), evicted_total = tonumber(s.evicted_total),
      live_tensors = tonumber(s.live_tensors), live_nodes = tonumber(s.live_nodes),
   }
end

--- dob.reset_peak_memory_stats(): peak_live_bytes := live_bytes (to measure one phase's peak)
-- The automatic cache bound follows the new peak.
function dob.reset_peak_memory_stats() C.dob_mem_reset_peak() end

--- dob.set_cache_limit(bytes): caps the allocator's cache of freed blocks (nil: automatic)
-- Freed blocks are kept for reuse (a fresh page costs a page fault). Automatic (the default,
-- or DEEPOBS_CACHE_MB unset): live + cached bytes stay within the peak of live bytes plus
-- an eighth or 256 MB, whichever is more, what was used least recently going back to the OS
-- first. A number of bytes (0: no cache) is a fixed cap instead. Also set by
-- DEEPOBS_CACHE_MB at load.
function dob.set_cache_limit(bytes)
   if bytes == nil then T.check(C.dob_mem_set_cache_limit(-1)); return end
   T.check(C.dob_mem_set_cache_limit(A.int("set_cache_limit", "bytes", bytes, 0, 2 ^ 53)))
end
--- dob.cache_limit(): the cap set by set_cache_limit in bytes, or nil when automatic
function dob.cache_limit()
   local b = tonumber(C.dob_mem_cache_limit())
   return b >= 0 and b or nil
end

--- dob.collect(): two full Lua collections, then cached C memory returned to the OS
-- Frees unreachable tensors now and returns cached blocks to the OS.
function dob.collect()
   collectgarbage("collect")
   collectgarbage("collect")
   C.dob_mem_trim()
end

local threads = require("deepobs.env").integer("DEEPOBS_THREADS", nil, 1, C.dob_max_threads(),
   ("an integer from 1 to %d (the number of threads)"):format(C.dob_max_threads()))
if threads then dob.set_threads(threads) end
local cache_mb = require("deepobs.env").number("DEEPOBS_CACHE_MB", nil, 0, 2 ^ 33,
   "a size in megabytes from 0 to 8589934592 (the allocator's cache of freed blocks)")
if cache_mb then dob.set_cache_limit(math.floor(cache_mb * 2 ^ 20)) end

local serialize = require "deepobs.serialize"
dob.save, dob.load, dob.check_saveable = serialize.save, serialize.load, serialize.check_saveable

dob.nn = require "deepobs.nn"
dob.optim = require "deepobs.optim"

-- names for messages from helpers that many functions share
A.name_functions(T.Tensor)
A.name_functions(dob)
for _, op in ipairs { "__add", "__sub", "__mul", "__div", "__pow", "__unm", "__mod", "__lt", "__le", "__concat",
   "__call", "__index", "__newindex" } do
   if T.mt[op] then A.name_function(T.mt[op], (op == "__index" or op == "__newindex") and "index" or op:sub(3)) end
end

return dob
