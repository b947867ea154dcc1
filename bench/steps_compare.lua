-- Seconds per training step and peak memory of every test problem, ours next to
-- PyTorch 1.13 (`make bench-steps`). The step is bench/steps.lua's (forward,
-- backward, SGD update, the runner's objective, synthetic inputs), at the problem's
-- default batch size (bench/steps.lua's batch_size: 32 for the 224x224 networks
-- without one, 128 for the rest); the PyTorch model (bench/steps_torch.py) has the
-- same architecture and parameter count, checked on every measurement.
--
--   luajit bench/steps_compare.lua [--threads 1,2] [--rounds 3] [--steps 3]
--                                  [--filter NAME[,NAME]] [--json FILE] [--check]
--
-- Each measurement runs in a process of its own, so that its peak resident memory
-- (VmHWM after the timed steps) is that problem's; ours and PyTorch alternate,
-- problem by problem, for `--rounds` rounds, and the best round of each is kept
-- (this machine is shared and noisy). In the first round PyTorch runs a conv net
-- in both NCHW and channels_last, and keeps the faster for the other rounds.
-- GFLOP/s: the step's conv and dense FLOPs as direct convolutions and GEMMs would do
-- them (counted on the PyTorch model) over our time, for the conv nets, with its
-- share of the peak, PEAK_PER_CORE x threads. This is an effective rate: a 3x3 conv
-- done by Winograd (src/ops/winograd.c) does fewer flops, so a share can pass 100%.
-- --check builds every model on both sides and compares the parameter counts and
-- the parameter tensors' shapes (as sorted lists) without running a step.
package.path = "./lua/?.lua;./lua/?/init.lua;./?.lua;./?/init.lua;" .. package.path
local cjson = require "cjson"
local args = require "bench.args"

-- fp32 GFLOP/s of one core: AVX-512 FMA, 64 flops a cycle at about 3.5 GHz under load
local PEAK_PER_CORE = 224
local PYTHON = "/usr/bin/python3"

local USAGE = [==[
usage: luajit bench/steps_compare.lua [--threads 1,2] [--rounds 3] [--steps 3]
                                      [--filter NAME[,NAME]] [--json FILE] [--check]
  --threads LIST   thread counts to measure (default 1,2)
  --rounds N       rounds of ours-then-PyTorch per problem; the best is kept (default 3)
  --steps N        timed steps per measurement, median taken (default 3)
  --filter NAMES   only the comma-separated problems NAMES (a part of a name: every
                   problem whose name contains it, e.g. vgg)
  --json FILE      also write the rows as JSON
  --check          build every model on both sides, compare parameter counts and shapes
]==]

local function usage_error(msg) args.fail("bench/steps_compare.lua", USAGE, msg) end

local function parse(argv)
   local o = { threads = { 1, 2 }, rounds = 3, steps = 3, filter = nil }
   local r = args.reader("bench/steps_compare.lua", USAGE, argv)
   for a in r:each() do
      if a == "--threads" then o.threads = r:counts(a, "1,2")
      elseif a == "--rounds" then o.rounds = r:count(a)
      elseif a == "--steps" then o.steps = r:count(a)
      elseif a == "--filter" then o.filter = r:list(a)
      elseif a == "--json" then o.json = r:value(a)
      elseif a == "--check" then o.check = true
      elseif a == "--ours" then o.ours = r:value(a)   -- child mode: one measurement of ours
      elseif a == "--bs" then o.bs = r:count(a)
      elseif a == "--build-only" then o.build_only = true
      elseif a == "--help" or a == "-h" then r:help()
      else r:fail("unknown argument " .. a) end
   end
   return o
end

---------------------------------------------------------------------------------------
-- child: one measurement of ours, one JSON line on stdout

local function measure_ours(o)
   local dob = require "deepobs"
   local steps = require "bench.steps"
   local out = { problem = o.ours }
   local ok, err = pcall(function()
      local p = require("problems").get(o.ours)
      dob.set_threads(o.threads[1])
      local run = steps.prepare(p, o.bs)
      out.params = run.ps.n
      out.shapes = {}
      for i, t in ipairs(run.model:parameters()) do out.shapes[i] = table.concat(t:size(), "x") end
      table.sort(out.shapes)
      if not o.build_only then
         out.s_per_step = steps.time(run.step, o.steps)
         out.peak_mb = steps.peak_rss_mb()
      end
   end)
   if not ok then out.error = tostring(err):gsub("\n.*", "") end
   io.stdout:write(cjson.encode(out), "\n")
   os.exit(ok and 0 or 1)
end

---------------------------------------------------------------------------------------
-- driver

-- Runs `cmd`, returns its JSON result line decoded, or { error = why }.
local function run_child(cmd)
   local p = io.popen(cmd .. " 2>&1")
   local text = p:read("*a")
   p:close()
   local last_other
   for line in text:gmatch("[^\n]+") do
      if line:sub(1, 1) == "{" then
         local ok, r = pcall(cjson.decode, line)
         if ok and type(r) == "table" then return r end
      end
      last_other = line
   end
   return { error = "no result" .. (last_other and (": " .. last_other) or " (killed: out of memory?)") }
end

local function ours_cmd(name, bs, threads, steps, build_only)
   return ("luajit bench/steps_compare.lua --ours %s --bs %d --threads %d --steps %d%s"):format(name, bs, threads, steps,
      build_only and " --build-only" or "")
end

local function torch_cmd(name, bs, threads, steps, params, layout, build_only)
   return ("%s bench/steps_torch.py %s --bs %d --threads %d --steps %d%s%s%s"):format(PYTHON, name, bs, threads, steps,
      params and (" --params " .. params) or "", layout and (" --layout " .. layout) or "",
      build_only and " --build-only" or "")
end

local function have_torch()
   local p = io.popen(PYTHON .. " -c 'import torch' 2>/dev/null && echo yes")
   local yes = p:read("*a"):find("yes") ~= nil
   p:close()
   return yes
end

local function selected(o)
   local names, all = {}, require("problems").list()
   local exact = {}
   for _, n in ipairs(all) do exact[n] = true end
   for _, n in ipairs(all) do
      local keep = o.filter == nil
      for _, f in ipairs(o.filter or {}) do keep = keep or (exact[f] and n == f or not exact[f] and n:find(f, 1, true) ~= nil) end
      if keep then names[#names + 1] = n end
   end
   if #names == 0 then usage_error("--filter matches no problem (luajit run.lua --list names them)") end
   return names
end

local function batch_size(name)
   return require("bench.steps").batch_size(require("problems").get(name))
end

local function better(a, b, key)
   if a == nil or a[key] == nil then return b end
   if b == nil or b[key] == nil then return a end
   return b[key] < a[key] and b or a
end

-- Best of `rounds` measurements of one problem at one thread count: a row. A side
-- that fails (out of memory at that batch, say) fails in every round: its reason
-- goes in the row (ours_error, torch_error) and the other side is still measured.
local function measure(o, name, bs, threads, torch)
   local row = { problem = name, bs = bs, threads = threads }
   local best_ours, best_torch, mem_ours, mem_torch, layout
   local torch_runs = {}
   for _ = 1, o.rounds do
      if not row.ours_error then
         local ours = run_child(ours_cmd(name, bs, threads, o.steps))
         row.ours_error = ours.error
         if not ours.error then
            best_ours, mem_ours = better(best_ours, ours, "s_per_step"), better(mem_ours, ours, "peak_mb")
            row.params = ours.params
         end
      end
      if torch and not row.torch_error then
         for _, l in ipairs(layout and { layout } or { "channels_last", "nchw" }) do
            local t = run_child(torch_cmd(name, bs, threads, o.steps, row.params, l))
            row.torch_error = t.error
            if t.error then break end
            best_torch = better(best_torch, t, "s_per_step")
            torch_runs[#torch_runs + 1] = t
            row.flops = t.flops
            if not t.layout then break end   -- not a conv net: the layout is moot
         end
         layout = best_torch and best_torch.layout
      end
   end
   if best_ours then row.ours_s, row.ours_mb = best_ours.s_per_step, mem_ours.peak_mb end
   -- PyTorch's memory in the layout it is timed in
   for _, t in ipairs(torch_runs) do
      if t.layout == best_torch.layout then mem_torch = better(mem_torch, t, "peak_mb") end
   end
   if best_torch then
      row.torch_s, row.torch_mb, row.torch_layout = best_torch.s_per_step, mem_torch.peak_mb, best_torch.layout
   end
   if best_ours and best_torch then
      row.ratio, row.mem_ratio = row.torch_s / row.ours_s, row.ours_mb / row.torch_mb
   end
   if row.flops and row.ours_s then
      row.gflops = row.flops / row.ours_s / 1e9
      row.peak_share = row.gflops / (PEAK_PER_CORE * threads)
   end
   return row
end

local function fmt(v, f) return v and f:format(v) or "-" end

local HEADER = ("%-22s %4s %2s %10s %10s %6s %8s %8s %6s %8s %6s")
   :format("problem", "bs", "th", "ours ms", "torch ms", "ratio", "ours MB", "torch MB", "mem", "GFLOP/s", "peak")

local function row_line(r)
   local line = ("%-22s %4d %2d"):format(r.problem, r.bs, r.threads)
   line = line .. (" %10s %10s %6s %8s %8s %6s %8s %6s"):format(fmt(r.ours_s and r.ours_s * 1e3, "%.2f"),
      fmt(r.torch_s and r.torch_s * 1e3, "%.2f"), fmt(r.ratio, "%.2f"), fmt(r.ours_mb, "%.0f"), fmt(r.torch_mb, "%.0f"),
      fmt(r.mem_ratio, "%.2f"), fmt(r.gflops, "%.1f"), fmt(r.peak_share and r.peak_share * 100, "%.0f%%"))
   if r.ours_error then line = line .. "  ours: " .. r.ours_error end
   if r.torch_error then line = line .. "  torch: " .. r.torch_error end
   return line
end

local function summary(rows, threads)
   local by = {}
   local order = {}
   for _, r in ipairs(rows) do
      if not by[r.problem] then by[r.problem] = {}; order[#order + 1] = r.problem end
      by[r.problem][r.threads] = r
   end
   local head, rule = { "| problem" }, { "|---" }
   for _, t in ipairs(threads) do
      head[#head + 1] = ("| %d thread%s | mem"):format(t, t == 1 and "" or "s")
      rule[#rule + 1] = "|---|---"
   end
   io.stdout:write("\nratio = PyTorch s/step / ours (> 1: we are faster); mem = our peak RSS / PyTorch's\n\n",
      table.concat(head, " "), " |\n", table.concat(rule), "|\n")
   for _, name in ipairs(order) do
      local cells = { "| " .. name }
      for _, t in ipairs(threads) do
         local r = by[name][t]
         cells[#cells + 1] = ("| %s | %s"):format(fmt(r and r.ratio, "%.2f"), fmt(r and r.mem_ratio, "%.2f"))
      end
      io.stdout:write(table.concat(cells, " "), " |\n")
   end
end

local function write_json(path, value)
   local f, err = io.open(path, "w")
   if not f then io.stderr:write("bench/steps_compare.lua: cannot write ", path, ": ", tostring(err), "\n"); os.exit(1) end
   f:write(cjson.encode(value), "\n")
   f:close()
end

local function check(o, names, torch)
   io.stdout:write(("%-22s %4s %12s %12s  %s\n"):format("problem", "bs", "ours", "PyTorch", "parameters"))
   local rows, bad = {}, 0
   for _, name in ipairs(names) do
      local bs = batch_size(name)
      local ours = run_child(ours_cmd(name, bs, 1, 1, true))
      local t = torch and run_child(torch_cmd(name, 2, 1, 1, nil, nil, true)) or { error = "PyTorch not found" }
      local verdict = ours.error and ("ours: " .. ours.error) or t.error and ("torch: " .. t.error)
         or ours.params ~= t.params and "MISMATCH"
         or table.concat(ours.shapes, " ") ~= table.concat(t.shapes, " ") and "MISMATCH of the tensor shapes"
         or "equal"
      if verdict ~= "equal" then bad = bad + 1 end
      rows[#rows + 1] = { problem = name, bs = bs, ours_params = ours.params, torch_params = t.params, verdict = verdict }
      io.stdout:write(("%-22s %4d %12s %12s  %s\n"):format(name, bs, tostring(ours.params or "-"),
         tostring(t.params or "-"), verdict))
      io.stdout:flush()
   end
   io.stdout:write(("%d problems, %d with equal parameter counts and tensor shapes\n"):format(#names, #names - bad))
   if o.json then write_json(o.json, rows) end
   os.exit(bad == 0 and 0 or 1)
end

local function main(o)
   local names = selected(o)
   local torch = have_torch()
   if not torch then io.stderr:write("PyTorch (Debian python3-torch) not found; timing our side only\n") end
   if o.check then return check(o, names, torch) end
   local steps = require "bench.steps"
   local dob = require "deepobs"
   io.stdout:write(("deepobs %s, OpenBLAS %s, %s; seconds per training step (forward, backward, SGD update), "
      .. "median of %d steps, best of %d rounds; peak RSS after the steps; peak %d GFLOP/s per thread\n")
      :format(dob.version, dob.blas_info().corename, os.date("%Y-%m-%d %H:%M"), o.steps, o.rounds, PEAK_PER_CORE))
   io.stdout:write(HEADER, "\n")
   local rows = {}
   for _, name in ipairs(names) do
      local bs = steps.batch_size(require("problems").get(name))
      for _, threads in ipairs(o.threads) do
         local r = measure(o, name, bs, threads, torch)
         rows[#rows + 1] = r
         io.stdout:write(row_line(r), "\n")
         io.stdout:flush()
      end
   end
   summary(rows, o.threads)
   if o.json then write_json(o.json, rows) end
end

local o = parse(arg)
if o.ours then
   if not o.bs then usage_error("--ours needs --bs") end
   measure_ours(o)
else
   main(o)
end
