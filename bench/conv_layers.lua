-- Forward + backward timings of conv2d at the layer shapes of the DeepOBS
-- conv nets (2c2d, 3c3d, All-CNN-C, WRN-16-4).
--   luajit bench/conv_layers.lua [threads] [repeats] [filter]
-- Prints ms per fwd+bwd (best of `repeats` medians) and GFLOP/s, counting
-- 2*N*OC*OH*OW*C*KH*KW per pass and 3 passes (forward, dX, dW).
package.path = "./lua/?.lua;./lua/?/init.lua;" .. package.path
local ffi = require "ffi"
local dob = require "deepobs"

ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } dob_bench_timespec;
int clock_gettime(int clk, dob_bench_timespec *ts);
]]
local ts = ffi.new("dob_bench_timespec")
-- On 1 thread the clock is the thread's CPU time (CLOCK_THREAD_CPUTIME_ID),
-- which other jobs on this shared 2-core machine disturb far less than wall
-- time; with more threads it is wall time. The torch script does the same.
local clock_id = 1
local function now()
   ffi.C.clock_gettime(clock_id, ts)
   return tonumber(ts.tv_sec) + tonumber(ts.tv_nsec) * 1e-9
end

local threads = tonumber(arg[1] or "1")
local repeats = tonumber(arg[2] or "5")
local filter = arg[3]
dob.set_threads(threads)
if threads == 1 and os.getenv("BENCH_WALL") ~= "1" then clock_id = 3 end

-- name, N, C, H, W, OC, K, stride, padding
local layers = {
   { "2c2d conv1 1->32 5x5 28 SAME", 128, 1, 28, 28, 32, 5, 1, "SAME" },
   { "2c2d conv2 32->64 5x5 14 SAME", 128, 32, 14, 14, 64, 5, 1, "SAME" },
   { "3c3d conv1 3->64 5x5 32 VALID", 128, 3, 32, 32, 64, 5, 1, "VALID" },
   { "3c3d conv2 64->96 3x3 14 VALID", 128, 64, 14, 14, 96, 3, 1, "VALID" },
   { "3c3d conv3 96->128 3x3 6 SAME", 128, 96, 6, 6, 128, 3, 1, "SAME" },
   { "allcnnc 3->96 3x3 32 SAME", 256, 3, 32, 32, 96, 3, 1, "SAME" },
   { "allcnnc 96->96 3x3 s2 32 SAME", 256, 96, 32, 32, 96, 3, 2, "SAME" },
   { "allcnnc 96->192 3x3 16 SAME", 256, 96, 16, 16, 192, 3, 1, "SAME" },
   { "allcnnc 192->192 3x3 8 VALID", 256, 192, 8, 8, 192, 3, 1, "VALID" },
   { "wrn 16->64 3x3 32 SAME", 128, 16, 32, 32, 64, 3, 1, "SAME" },
   { "wrn 64->64 3x3 32 SAME", 128, 64, 32, 32, 64, 3, 1, "SAME" },
   { "wrn 128->128 3x3 16 SAME", 128, 128, 16, 16, 128, 3, 1, "SAME" },
   { "wrn 256->256 3x3 8 SAME", 128, 256, 8, 8, 256, 3, 1, "SAME" },
}

local function median(t)
   table.sort(t)
   return t[math.ceil(#t / 2)]
end

print(("threads %d, OpenBLAS core %s, %s time"):format(threads, dob.blas_info().corename,
   clock_id == 3 and "thread CPU" or "wall"))
print(("%-34s %9s %8s %9s %9s %9s"):format("layer", "ms", "GFLOP/s", "fwd ms", "bwd ms", "GF fwd"))
for _, L in ipairs(layers) do
   local name, N, C, Hh, W, OC, K, s, pad = unpack(L)
   if not filter or name:find(filter, 1, true) then
      local x = dob.randn and dob.randn(N, C, Hh, W) or dob.full({ N, C, Hh, W }, 0.5)
      local w = dob.full({ OC, C, K, K }, 0.01)
      local b = dob.zeros(OC)
      x:requires_grad_(); w:requires_grad_(); b:requires_grad_()
      local opts = { stride = s, padding = pad }
      local y = dob.no_grad(function() return dob.conv2d(x, w, b, opts) end)
      local sz = y:size()
      local flops = 2 * N * OC * sz[3] * sz[4] * C * K * K
      local gy = dob.full(sz, 0.001)
      y = nil
      local iters = math.max(1, math.min(20, math.floor(2e9 / (3 * flops))))
      local best, bestf, bestb = math.huge, math.huge, math.huge
      for r = 1, repeats do
         local tt, tf, tb = {}, {}, {}
         for i = 1, iters + 1 do
            x:set_grad(nil); w:set_grad(nil); b:set_grad(nil)
            local t0 = now()
            local out = dob.conv2d(x, w, b, opts)
            local t1 = now()
            out:backward(gy)
            local t2 = now()
            out:free()   -- give buffers back to the cache now (the GC would later)
            if i > 1 or r > 1 then
               tt[#tt + 1], tf[#tf + 1], tb[#tb + 1] = t2 - t0, t1 - t0, t2 - t1
            end
         end
         if #tt > 0 then
            best = math.min(best, median(tt))
            bestf = math.min(bestf, median(tf))
            bestb = math.min(bestb, median(tb))
         end
      end
      print(("%-34s %9.2f %8.1f %9.2f %9.2f %9.1f"):format(name, best * 1e3, 3 * flops / best / 1e9,
         bestf * 1e3, bestb * 1e3, flops / bestf / 1e9))
      io.stdout:flush()
   end
   dob.collect()
end
