-- `make bench`: op-level timings of the engine next to PyTorch 1.13 in the same
-- run, at 1 and 2 threads. Prints one table per thread count: ours (ms,
-- forward + backward, median), PyTorch's, the ratio PyTorch/ours (> 1: we are
-- faster), our GFLOP/s, and that as a share of OpenBLAS's own sgemm rate
-- measured in this run (the first case).
--
--   luajit bench/ops.lua [--threads 1,2] [--min-time 0.4] [--filter conv] [--no-torch]
package.path = "./lua/?.lua;./lua/?/init.lua;" .. package.path
local dob = require "deepobs"
local cjson = require "cjson"

local opts = { threads = { 1, 2 }, min_time = 0.4, torch = true }
do
   local i = 1
   while i <= #arg do
      local a = arg[i]
      if a == "--threads" then
         opts.threads = {}
         for t in arg[i + 1]:gmatch("%d+") do opts.threads[#opts.threads + 1] = tonumber(t) end
         i = i + 1
      elseif a == "--min-time" then opts.min_time = tonumber(arg[i + 1]); i = i + 1
      elseif a == "--filter" then opts.filter = arg[i + 1]; i = i + 1
      elseif a == "--no-torch" then opts.torch = false
      else
         io.stderr:write("usage: luajit bench/ops.lua [--threads 1,2] [--min-time S] [--filter PATTERN] [--no-torch]\n")
         os.exit(a == "--help" and 0 or 2)
      end
      i = i + 1
   end
end

local cases = {}
for _, c in ipairs(dofile("bench/cases.lua")) do
   if not opts.filter or c.name:find(opts.filter, 1, true) or c.kind == "gemm" then cases[#cases + 1] = c end
end

local clock = require("ffi")
clock.cdef [[
typedef struct { long tv_sec; long tv_nsec; } dob_bench_timespec;
int clock_gettime(int clk, dob_bench_timespec *ts);
]]
local ts = clock.new("dob_bench_timespec")
local function now()
   clock.C.clock_gettime(1, ts)
   return tonumber(ts.tv_sec) + tonumber(ts.tv_nsec) * 1e-9
end

-- Each iteration's garbage is collected outside the timed region, so every
-- iteration reuses the cached blocks of the one before (as a training step does
-- once the collector has paced itself) and no timing includes first-touch page
-- faults of memory that a later collection would have recycled.
local function timeit(fn)
   fn(); collectgarbage(); fn(); collectgarbage()
   local times, start = {}, now()
   while #times < 5 or (now() - start < opts.min_time and #times < 200) do
      local t0 = now()
      fn()
      times[#times + 1] = now() - t0
      collectgarbage()
   end
   table.sort(times)
   return times[math.floor(#times / 2) + 1] * 1e3
end

-- a conv case's kernel: K (square) or {KH, KW}
local function kernel_sides(k)
   if type(k) == "table" then return k[1], k[2] end
   return k, k
end

local function conv_out(n, k, s, pad)
   if pad == "SAME" then return math.ceil(n / s) end
   return math.floor((n - k) / s) + 1
end

-- returns fn (one timed iteration) and its flops (nil for memory-bound ops)
local function our_case(c)
   if c.kind == "gemm" then
      local a, b = dob.randn(c.m, c.k), dob.randn(c.k, c.n)
      return function() dob.matmul(a, b) end, 2 * c.m * c.n * c.k
   elseif c.kind == "linear" then
      local x = dob.randn(c.b, c.i):requires_grad_()
      local w = dob.randn(c.o, c.i):requires_grad_()
      local b = dob.randn(c.o):requires_grad_()
      local g = dob.randn(c.b, c.o)
      return function()
         x:set_grad(nil); w:set_grad(nil); b:set_grad(nil)
         dob.linear(x, w, b):backward(g)
      end, 3 * 2 * c.b * c.i * c.o
   elseif c.kind == "conv" then
      local n, ci, h, wd, co, k, s, pad = unpack(c.shape)
      local kh, kw = kernel_sides(k)
      local x = dob.randn(n, ci, h, wd):requires_grad_()
      local w = (dob.randn(co, ci, kh, kw) * 0.05):detach():requires_grad_()
      local b = dob.zeros(co):requires_grad_()
      local oh, ow = conv_out(h, kh, s, pad), conv_out(wd, kw, s, pad)
      local g = dob.randn(n, co, oh, ow)
      return function()
         x:set_grad(nil); w:set_grad(nil); b:set_grad(nil)
         dob.conv2d(x, w, b, { stride = s, padding = pad }):backward(g)
      end, 3 * 2 * n * co * oh * ow * ci * kh * kw
   elseif c.kind == "maxpool" then
      local n, ci, h, wd, k, s = unpack(c.shape)
      local x = dob.randn(n, ci, h, wd):requires_grad_()
      local g = dob.ones(n, ci, conv_out(h, k, s, "SAME"), conv_out(wd, k, s, "SAME"))
      return function()
         x:set_grad(nil)
         dob.max_pool2d(x, { kernel = k, stride = s, padding = "SAME" }):backward(g)
      end
   elseif c.kind == "batchnorm" then
      local n, ci, h, wd = unpack(c.shape)
      local x = dob.randn(n, ci, h, wd):requires_grad_()
      local gamma, beta = dob.ones(ci):requires_grad_(), dob.zeros(ci):requires_grad_()
      local rm, rv = dob.zeros(ci), dob.ones(ci)
      local g = dob.randn(n, ci, h, wd)
      return function()
         x:set_grad(nil); gamma:set_grad(nil); beta:set_grad(nil)
         dob.batch_norm(x, gamma, beta, rm, rv, true, 0.1, 1e-5):backward(g)
      end
   elseif c.kind == "lstm" then
      local x = dob.randn(c.t, c.b, c.i):requires_grad_()
      local wih = (dob.randn(4 * c.h, c.i) * 0.1):detach():requires_grad_()
      local whh = (dob.randn(4 * c.h, c.h) * 0.1):detach():requires_grad_()
      local bias = dob.zeros(4 * c.h):requires_grad_()
      local g = dob.randn(c.t, c.b, c.h)
      return function()
         x:set_grad(nil); wih:set_grad(nil); whh:set_grad(nil); bias:set_grad(nil)
         local out = dob.lstm(x, wih, whh, bias, nil, nil, 0)
         out:backward(g)
      end, 3 * 2 * c.t * c.b * 4 * c.h * (c.i + c.h), c.t
   end
   error("unknown case kind " .. tostring(c.kind))
end

local function torch_times(threads)
   if not opts.torch then return {} end
   local probe = io.popen("/usr/bin/python3 -c 'import torch' 2>/dev/null && echo yes")
   local has = probe:read("*a"):find("yes")
   probe:close()
   if not has then
      io.stderr:write("PyTorch (Debian python3-torch) not found; timing our side only\n")
      opts.torch = false
      return {}
   end
   local tmp = os.tmpname()
   local f = io.open(tmp, "w")
   f:write(cjson.encode(cases))
   f:close()
   local p = io.popen(("/usr/bin/python3 bench/ops_torch.py %d %g < %s"):format(threads, opts.min_time, tmp))
   local out = { by_name = {} }
   for line in p:lines() do
      local ok, r = pcall(cjson.decode, line)
      if ok and r.name then out.by_name[r.name] = r.ms
      elseif ok and r.corename then out.info = r end
   end
   p:close()
   os.remove(tmp)
   return out
end

local blas = dob.blas_info()
print(("deepobs %s | OpenBLAS core %s (inherited OPENBLAS_CORETYPE=%s) | %s"):format(dob.version, blas.corename,
   tostring(blas.inherited_coretype), os.date("%Y-%m-%d %H:%M")))

for _, threads in ipairs(opts.threads) do
   dob.set_threads(threads)
   local ours = {}
   for i, c in ipairs(cases) do
      local fn, flops, per = our_case(c)
      local ms = timeit(fn) / (per or 1)
      ours[i] = { ms = ms, flops = flops and flops / (per or 1) }
      fn = nil
      dob.collect()   -- each case starts from an empty cache
   end
   local torch = torch_times(threads)
   print()
   print(("threads = %d%s"):format(threads, torch.info and (" | PyTorch " .. torch.info.torch .. ", OpenBLAS core "
      .. torch.info.corename .. ", tcmalloc, channels_last where faster") or ""))
   local header = ("%-34s %10s %10s %8s %9s %8s"):format("case", "ours ms", "torch ms", "torch/us", "GFLOP/s", "% sgemm")
   print(header)
   print(("-"):rep(#header))
   local sgemm_rate
   for i, c in ipairs(cases) do
      local o = ours[i]
      local gf = o.flops and o.flops / (o.ms * 1e-3) / 1e9
      if c.kind == "gemm" then sgemm_rate = gf end
      local t = torch.by_name and torch.by_name[c.name]
      local per = c.kind == "lstm" and c.t or 1
      if t then t = t / per end
      print(("%-34s %10.3f %10s %8s %9s %8s"):format(c.name, o.ms, t and ("%.3f"):format(t) or "-",
         t and ("%.2f"):format(t / o.ms) or "-", gf and ("%.1f"):format(gf) or "-",
         (gf and sgemm_rate) and ("%.0f%%"):format(100 * gf / sgemm_rate) or "-"))
   end
end
