--- SVHN .mat -> DeepOBS 1.1 record files (DeepOBS 1.1's
-- deepobs/scripts/_svhn_preprocess.py), reading the .mat files with
-- datasets/formats/mat.lua.
--
--    luajit scripts/svhn_convert.lua train_32x32.mat test_32x32.mat OUTDIR
--
-- writes OUTDIR/data_batch_0.bin .. data_batch_4.bin (all 73,257 training
-- images, split into five nearly equal files; 1.1 wrote only the first
-- 64,000, 12,800 per file, and datasets/svhn.lua's deepobs_compat keeps those)
-- and OUTDIR/test_batch.bin (26,032). Each record: 1 label byte (the .mat's
-- 10, the digit 0, becomes 0) and the image X[:, :, :, i] in C order, i.e.
-- rows, columns, RGB interleaved (HWC). Each file is written through
-- FILE.part and a rename.
--
-- As a module (require "scripts.svhn_convert"): M.convert(train_mat, test_mat, outdir).
local RUN_AS_SCRIPT = arg and arg[0] and arg[0]:match("svhn_convert%.lua$")
if RUN_AS_SCRIPT then   -- the repository's modules, wherever it is run from
   package.path = (arg[0]:match("^(.*)/scripts/[^/]*$") or ".") .. "/?.lua;" .. package.path
end
local ffi = require "ffi"
local file = require "datasets.formats.file"
local mat = require "datasets.formats.mat"

local M = {}

local function fail(path, msg) error(("%s: %s"):format(path, msg), 0) end

local function need(vars, name, path)
   local v = vars[name]
   if not v or not v.ptr then fail(path, ("no numeric variable '%s' (SVHN .mat files hold X and y)"):format(name)) end
   return v
end

-- writes the records of one .mat as files: make_outs(N) gives the list of
-- { path =, count = } (count nil: the rest)
local function write_records(path, make_outs)
   local vars = mat.read(path)
   local X, y = need(vars, "X", path), need(vars, "y", path)
   local d = X.dims
   if #d ~= 4 or d[1] ~= 32 or d[2] ~= 32 or d[3] ~= 3 then
      fail(path, ("X is %s, expected 32x32x3xN"):format(table.concat(d, "x")))
   end
   local N = d[4]
   if y.n ~= N then fail(path, ("y holds %d labels for %d images"):format(y.n, N)) end
   if X.ctype ~= "uint8_t" then fail(path, ("X is stored as %s, expected uint8"):format(X.ctype)) end
   local px, py = X.ptr, y.ptr
   local first = 0
   for _, o in ipairs(make_outs(N)) do
      local count = o.count or (N - first)
      local buf = ffi.new("uint8_t[?]", math.max(count, 1) * 3073)
      for i = first, first + count - 1 do
         local lab = tonumber(py[i])
         if lab ~= math.floor(lab) or lab < 1 or lab > 10 then
            fail(path, ("label %s of image %d is outside 1..10"):format(tostring(lab), i))
         end
         local r = (i - first) * 3073
         buf[r] = lab % 10
         local base = i * 3072
         local q = r + 1
         for row = 0, 31 do
            for col = 0, 31 do
               local src = base + row + 32 * col
               buf[q] = px[src]; buf[q + 1] = px[src + 1024]; buf[q + 2] = px[src + 2048]
               q = q + 3
            end
         end
      end
      file.write_atomic(o.path, ffi.string(buf, count * 3073))
      first = first + count
   end
   return N
end

--- Converts SVHN's train and test .mat files into outdir's record files.
-- Returns the number of training and test images.
function M.convert(train_mat, test_mat, outdir)
   local n_train = write_records(train_mat, function(N)
      local outs = {}
      for k = 0, 4 do   -- five nearly equal parts (73,257: 14,651 or 14,652 each)
         local count = math.floor((k + 1) * N / 5) - math.floor(k * N / 5)
         outs[#outs + 1] = { path = ("%s/data_batch_%d.bin"):format(outdir, k), count = count }
      end
      return outs
   end)
   collectgarbage("collect")
   local n_test = write_records(test_mat, function() return { { path = outdir .. "/test_batch.bin" } } end)
   return n_train, n_test
end

if RUN_AS_SCRIPT then
   if #arg ~= 3 then
      io.stderr:write("usage: luajit scripts/svhn_convert.lua train_32x32.mat test_32x32.mat OUTDIR\n")
      os.exit(2)
   end
   local ok, a, b = pcall(M.convert, arg[1], arg[2], arg[3])
   if not ok then
      io.stderr:write("svhn_convert: " .. tostring(a) .. "\n")
      os.exit(1)
   end
   print(("svhn_convert: %d training and %d test images written to %s"):format(a, b, arg[3]))
end

return M
