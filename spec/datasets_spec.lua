-- Datasets: numpy's generator, the IDX readers on files this spec writes
-- (gzipped and plain, good and broken), batching, and the synthetic sets.
local ffi = require "ffi"
local dob = require "deepobs"
local RandomState = require "deepobs.mt19937"
local mnist = require "datasets.mnist"
local fmnist = require "datasets.fmnist"
local quadratic = require "datasets.quadratic"
local two_d = require "datasets.two_d"
local split = require "datasets.pipeline.split"
local resume = require "fixtures.resume"

ffi.cdef [[
typedef struct dob_spec_gzFile *dob_spec_gzFile;
dob_spec_gzFile gzopen(const char *path, const char *mode);
int gzwrite(dob_spec_gzFile file, const void *buf, unsigned int len);
int gzclose(dob_spec_gzFile file);
]]
local z = ffi.load("z")

local TMP = "spec/tmp_datasets"

local function be32(n)
   return string.char(math.floor(n / 2 ^ 24) % 256, math.floor(n / 2 ^ 16) % 256, math.floor(n / 2 ^ 8) % 256, n % 256)
end

local function write(path, bytes, gz)
   if gz then
      local f = z.gzopen(path, "wb")
      assert(f ~= nil, "gzopen " .. path)
      assert(z.gzwrite(f, bytes, #bytes) == #bytes)
      z.gzclose(f)
   else
      local f = assert(io.open(path, "wb"))
      f:write(bytes)
      f:close()
   end
end

-- pixel (i, r, c) of the test images (0-based): a pattern from which the
-- image number can be read back at (0, 0)
local function pixel(i, r, c) return (i * 7 + r * 3 + c) % 256 end

local function images_bytes(n, rows, cols)
   local parts = { "\0\0\8\3", be32(n), be32(rows or 28), be32(cols or 28) }
   for i = 0, n - 1 do
      local row = {}
      for r = 0, (rows or 28) - 1 do
         for c = 0, (cols or 28) - 1 do row[#row + 1] = string.char(pixel(i, r, c)) end
      end
      parts[#parts + 1] = table.concat(row)
   end
   return table.concat(parts)
end

local function labels_bytes(n, f)
   local parts = { "\0\0\8\1", be32(n) }
   for i = 0, n - 1 do parts[#parts + 1] = string.char(f and f(i) or i % 10) end
   return table.concat(parts)
end

-- writes a complete MNIST-style folder: 10 training and 5 test images
local function make_set(dir, gz, overrides)
   os.execute("mkdir -p '" .. dir .. "'")
   local ext = gz and ".gz" or ""
   local files = {
      ["train-images-idx3-ubyte"] = images_bytes(10), ["train-labels-idx1-ubyte"] = labels_bytes(10),
      ["t10k-images-idx3-ubyte"] = images_bytes(5), ["t10k-labels-idx1-ubyte"] = labels_bytes(5),
   }
   for k, v in pairs(overrides or {}) do files[k] = v end
   for name, bytes in pairs(files) do write(dir .. "/" .. name .. ext, bytes, gz) end
end

local function load_err(fn, ...)
   local ok, err = pcall(fn, ...)
   assert.is_false(ok)
   return tostring(err)
end

-- the image number of each row of a batch, read back from pixel (0, 0)
local function ids_of(batch)
   local ids = {}
   for b = 1, batch.x:size(1) do
      local v = math.floor(batch.x:get(b, 1, 1, 1) * 255 + 0.5)
      -- pixel(i, 0, 0) = 7 i mod 256, i < 37 here: i = v / 7
      ids[b] = v / 7
   end
   return ids
end

describe("numpy RandomState (MT19937, legacy seeding and gauss)", function()
   it("reproduces numpy's published draws", function()
      -- np.random.RandomState(42).random_sample(3)
      local r = RandomState(42)
      assert.are.equal(0.3745401188473625, r:random_sample())
      assert.are.equal(0.9507143064099162, r:random_sample())
      assert.are.equal(0.7319939418114051, r:random_sample())
      -- np.random.RandomState(42).randn(3): polar Box-Muller, cached second value
      r = RandomState(42)
      assert.are.equal(0.4967141530112327, r:gauss())
      assert.are.equal(-0.13826430117118466, r:gauss())
      assert.are.equal(0.6476885381006925, r:gauss())
      -- the reference MT19937 (init_genrand(5489)) first output
      assert.are.equal(3499211612, RandomState(5489):random_uint32())
      assert.has_error(function() RandomState(-1) end)
      assert.has_error(function() RandomState(2 ^ 32) end)
   end)
end)

describe("MNIST / Fashion-MNIST readers", function()
   setup(function() os.execute("rm -rf '" .. TMP .. "'; mkdir -p '" .. TMP .. "'") end)
   teardown(function() os.execute("rm -rf '" .. TMP .. "'") end)

   it("read gzipped and plain IDX files: pixels / 255 as float32 [N,1,28,28], int64 labels", function()
      make_set(TMP .. "/gz/mnist", true)
      make_set(TMP .. "/plain/mnist", false)
      for _, which in ipairs { "gz", "plain" } do
         local ds = mnist.load { data_dir = TMP .. "/" .. which, batch_size = 3, train_eval_size = 6, any_size = true }
         local x, y = ds.train.tensors.x, ds.train.tensors.y
         assert.are.same({ 10, 1, 28, 28 }, x:size())
         assert.are.equal("float32", x:dtype())
         assert.are.equal("int64", y:dtype())
         for _, p in ipairs { { 0, 0, 0 }, { 3, 5, 7 }, { 9, 27, 27 } } do
            local i, r, c = p[1], p[2], p[3]
            local want = ffi.new("float[1]", pixel(i, r, c))[0] / 255   -- float32(v) / 255 ...
            want = ffi.new("float[1]", want)[0]                          -- ... rounded to float32
            assert.are.equal(want, x:get(i + 1, 1, r + 1, c + 1))
         end
         assert.are.same({ 0, 1, 2, 3, 4, 5, 6, 7, 8, 9 }, y:totable())
         assert.are.same({ 5, 1, 28, 28 }, ds.test.tensors.x:size())
      end
   end)

   it("read images larger than one read chunk into floats as the whole bytes divided would be", function()
      -- 1500 images are 1.2 MB: the floats are made a 1 MiB chunk at a time, across a boundary
      local idx = require "datasets.formats.idx"
      for _, gz in ipairs { true, false } do
         local path = TMP .. "/big-images" .. (gz and ".gz" or "")
         write(path, images_bytes(1500), gz)
         local floats, bytes = idx.read(path, 255), idx.read(path)
         assert.are.same({ 1500, 28, 28 }, floats:size())
         assert.are.equal("float32", floats:dtype())
         assert.are.equal(0, (floats - bytes:float():div_(255)):abs():max():item())
         assert.is_true(math.abs(pixel(1499, 27, 27) / 255 - floats:get(1500, 28, 28)) < 1e-6)
      end
   end)

   it("batches: drop remainder, seeded shuffles, train_eval = first batches of the training order, test in file order", function()
      local ds = mnist.load { data_dir = TMP .. "/gz", batch_size = 3, train_eval_size = 6, any_size = true }
      assert.are.equal(3, ds.train.num_batches)       -- 10 // 3
      assert.are.equal(2, ds.train_eval.num_batches)  -- 6 // 3
      assert.are.equal(1, ds.test.num_batches)        -- 5 // 3
      local function collect(split, seed)
         local out = {}
         for b in split:batches(seed) do
            assert.are.same({ 3, 1, 28, 28 }, b.x:size())
            local ids = ids_of(b)
            for k, id in ipairs(ids) do
               assert.are.equal(id % 10, b.y:get(k))   -- labels travel with their images
               out[#out + 1] = id
            end
         end
         return out
      end
      local a, a2, b = collect(ds.train, 7), collect(ds.train, 7), collect(ds.train, 8)
      assert.are.equal(9, #a)
      assert.are.same(a, a2)                 -- same seed, same order
      assert.are_not.same(a, b)              -- another seed, another order
      local seen = {}
      for _, id in ipairs(a) do assert.is_nil(seen[id]); seen[id] = true end   -- no repeats
      local te = collect(ds.train_eval, 7)
      assert.are.same({ a[1], a[2], a[3], a[4], a[5], a[6] }, te)
      assert.are.same({ 0, 1, 2 }, collect(ds.test, 7))
      assert.are.same(collect(ds.train), collect(ds.train))   -- nil seed: the default seed, fixed
   end)

   it("drawing the data order leaves the model's random numbers alone", function()
      local ds = mnist.load { data_dir = TMP .. "/gz", batch_size = 3, any_size = true }
      dob.manual_seed(5)
      local a = dob.rand(4):totable()
      dob.manual_seed(5)
      for _ in ds.train:batches(123) do end
      local b = dob.rand(4):totable()
      assert.are.same(a, b)
   end)

   it("requires the real sizes unless told otherwise", function()
      local err = load_err(mnist.load, { data_dir = TMP .. "/gz", batch_size = 3 })
      assert.truthy(err:find("expected 60000 images, the file holds 10", 1, true))
   end)

   it("missing files: names the files, the folders searched and the command that fetches them", function()
      local err = load_err(mnist.load, { data_dir = TMP .. "/nothing", batch_size = 3 })
      assert.truthy(err:find("train-images-idx3-ubyte.gz", 1, true))
      assert.truthy(err:find("t10k-labels-idx1-ubyte.gz", 1, true))
      assert.truthy(err:find(TMP .. "/nothing/mnist", 1, true))
      assert.truthy(err:find("scripts/prepare_data.sh mnist", 1, true))
      -- Fashion-MNIST's message (without Debian's folder, which may be installed here)
      local spec = {}
      for k, v in pairs(fmnist.SPEC) do spec[k] = v end
      spec.extra_dirs = { TMP .. "/no-debian" }
      err = load_err(mnist.load_idx_dataset, spec, { data_dir = TMP .. "/nothing" })
      assert.truthy(err:find("Fashion-MNIST not found", 1, true))
      assert.truthy(err:find(TMP .. "/nothing/fmnist", 1, true))
      assert.truthy(err:find(TMP .. "/no-debian", 1, true))
      assert.truthy(err:find("apt-get install dataset-fashion-mnist", 1, true))
      assert.truthy(err:find("scripts/prepare_data.sh fmnist", 1, true))
      -- a folder with some of the four files is an error naming the missing ones, for each one
      -- missing, also when a later folder (Debian's) holds all four: no silent switch of copies
      make_set(TMP .. "/complete", true)
      for _, gone in ipairs { "train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
         "t10k-labels-idx1-ubyte" } do
         make_set(TMP .. "/three/fmnist", true)
         os.remove(TMP .. "/three/fmnist/" .. gone .. ".gz")
         spec.extra_dirs = { TMP .. "/complete" }
         err = load_err(mnist.load_idx_dataset, spec, { data_dir = TMP .. "/three", any_size = true })
         assert.truthy(err:find(TMP .. "/three/fmnist: Fashion-MNIST's files are incomplete, " .. gone
            .. ".gz missing", 1, true), err)
         assert.truthy(err:find("scripts/prepare_data.sh fmnist", 1, true))
      end
      -- all four there: loads
      spec.extra_dirs = { TMP .. "/no-debian" }
      assert.are.equal(TMP .. "/complete", mnist.load_idx_dataset(spec, { data_dir = TMP .. "/complete",
         any_size = true, batch_size = 1, train_eval_size = 1 }).dir)
   end)

   it("truncated and corrupt files are clear errors", function()
      local good = images_bytes(10)
      local cases = {
         { "truncated", { ["train-images-idx3-ubyte"] = good:sub(1, #good - 100) }, "truncated file" },
         { "badmagic", { ["train-images-idx3-ubyte"] = "\1\2" .. good:sub(3) }, "bad magic number" },
         { "badtype", { ["train-images-idx3-ubyte"] = "\0\0\13\3" .. good:sub(5) }, "not supported" },
         { "shortheader", { ["train-labels-idx1-ubyte"] = "\0\0\8" }, "truncated file" },
         { "longer", { ["t10k-labels-idx1-ubyte"] = labels_bytes(5) .. "xyz" }, "longer than its header" },
         { "swapped", { ["train-images-idx3-ubyte"] = labels_bytes(10) }, "expected an IDX image file" },
         { "size27", { ["train-images-idx3-ubyte"] = images_bytes(10, 27, 28) }, "expected an IDX image file" },
         { "count", { ["train-labels-idx1-ubyte"] = labels_bytes(9) }, "holds 9 labels but" },
         { "label10", { ["t10k-labels-idx1-ubyte"] = labels_bytes(5, function(i) return i == 3 and 10 or 1 end) },
            "label 10 out of range" },
      }
      for _, c in ipairs(cases) do
         for _, gz in ipairs { true, false } do
            local dir = TMP .. "/" .. c[1] .. (gz and "gz" or "")
            make_set(dir .. "/mnist", gz, c[2])
            local err = load_err(mnist.load, { data_dir = dir, batch_size = 3, any_size = true })
            assert.truthy(err:find(c[3], 1, true), c[1] .. ": " .. err)
            assert.is_nil(err:find("traceback", 1, true))
         end
      end
      -- a gzip stream with a corrupted body
      local dir = TMP .. "/corruptgz/mnist"
      make_set(dir, true)
      local f = assert(io.open(dir .. "/train-images-idx3-ubyte.gz", "rb"))
      local bytes = f:read("*a")
      f:close()
      local mid = math.floor(#bytes / 2)
      bytes = bytes:sub(1, mid) .. string.rep("\255", 64) .. bytes:sub(mid + 65)
      write(dir .. "/train-images-idx3-ubyte.gz", bytes, false)
      local err = load_err(mnist.load, { data_dir = TMP .. "/corruptgz", any_size = true })
      assert.truthy(err:find("corrupt", 1, true) or err:find("truncated", 1, true), err)
   end)

   it("Debian's Fashion-MNIST, when installed, loads with the 1.1 split sizes", function()
      local f = io.open(fmnist.DEBIAN_DIR .. "/train-images-idx3-ubyte.gz", "rb")
      if not f then pending("dataset-fashion-mnist not installed"); return end
      f:close()
      local ds = fmnist.load { data_dir = TMP .. "/nothing", batch_size = 128 }
      assert.are.equal(fmnist.DEBIAN_DIR, ds.dir)
      assert.are.equal(468, ds.train.num_batches)
      assert.are.equal(78, ds.train_eval.num_batches)
      assert.are.equal(78, ds.test.num_batches)   -- 9,984 of the 10,000 test images
      local y = ds.train.tensors.y
      assert.are.equal(60000, y:size(1))
      -- Fashion-MNIST is balanced: 6,000 training images per class
      assert.are.equal(6000, y:float():eq(3):float():sum():item())
      local x = ds.test.tensors.x
      assert.are.equal(1, x:max():item())
      assert.are.equal(0, x:min():item())
   end)
end)

describe("quadratic dataset", function()
   it("is numpy's N(0, 0.6^2) draws from seeds 42 (train) and 43 (test), 7 batches of 128", function()
      local ds = quadratic.load { batch_size = 128 }
      local x = ds.train.tensors.x
      assert.are.same({ 1000, 100 }, x:size())
      local f32 = function(v) return ffi.new("float[1]", v)[0] end
      assert.are.equal(f32(0.6 * 0.4967141530112327), x:get(1, 1))
      assert.are.equal(f32(0.6 * -0.13826430117118466), x:get(1, 2))
      assert.are.equal(f32(0.6 * 0.6476885381006925), x:get(1, 3))
      local r43 = RandomState(43)
      assert.are.equal(f32(0.6 * r43:gauss()), ds.test.tensors.x:get(1, 1))
      assert.are.equal(7, ds.train.num_batches)
      assert.are.equal(7, ds.train_eval.num_batches)   -- take(-1): the whole (dropped-remainder) train order
      assert.are.equal(7, ds.test.num_batches)
      local sd = x:std():item()
      assert.is_true(math.abs(sd - 0.6) < 0.01)
      local first = ds.test:batches()()
      assert.are.equal(0, (first.x - ds.test.tensors.x:narrow(1, 1, 128)):abs():max():item())
   end)
end)

describe("two_d dataset", function()
   it("x then y from one RandomState(42), 10,000 each; test is zeros", function()
      local ds = two_d.load { batch_size = 128 }
      local f32 = function(v) return ffi.new("float[1]", v)[0] end
      local x, y = ds.train.tensors.x, ds.train.tensors.y
      assert.are.equal(10000, x:size(1))
      assert.are.equal(f32(0.4967141530112327), x:get(1))
      assert.are.equal(f32(-0.13826430117118466), x:get(2))
      local r = RandomState(42)
      for _ = 1, 10000 do r:gauss() end
      assert.are.equal(f32(r:gauss()), y:get(1))   -- y continues the stream after the 10,000 x draws
      assert.are.equal(78, ds.train.num_batches)
      assert.are.equal(78, ds.train_eval.num_batches)
      assert.are.equal(78, ds.test.num_batches)
      local b = ds.test:batches()()
      assert.are.equal(0, b.x:abs():sum():item() + b.y:abs():sum():item())
      local tb = ds.train:batches(3)()
      assert.are.same({ 128 }, tb.x:size())
      assert.is_true(tb.x:abs():sum():item() > 0)
   end)
end)

describe("resuming an in-memory split: batches(seed, start)", function()
   setup(function() os.execute("rm -rf '" .. TMP .. "'; mkdir -p '" .. TMP .. "'") end)
   teardown(function() os.execute("rm -rf '" .. TMP .. "'") end)

   -- 23 examples: x[i] = i, y[i] = 3 i; batch size 4 (5 batches, 3 dropped)
   local function tensors()
      local x, y = dob.empty(23), dob.empty(23)
      for i = 1, 23 do x:set(i - 1, i); y:set(3 * (i - 1), i) end
      return { x = x, y = y }
   end

   -- a per-batch transform seeded from (seed, batch), as the CIFAR/SVHN augmentation is; counts its calls
   local calls = 0
   local function noisy(batch, seed, i)
      calls = calls + 1
      local saved = dob.get_rng_state()
      dob.manual_seed((seed or 0) * 1000 + i)
      batch.x = batch.x + dob.rand(batch.x:size(1))
      dob.set_rng_state(saved)
      return batch
   end

   it("yields exactly the tail of batches(seed): shuffled or not, transformed or not, capped or not", function()
      local t = tensors()
      for _, o in ipairs {
         { shuffle = true }, { shuffle = false }, { shuffle = true, transform = noisy },
         { shuffle = false, transform = noisy }, { shuffle = true, num_batches = 3 },
      } do
         local s = split.new { name = "train", tensors = t, batch_size = 4, shuffle = o.shuffle,
            transform = o.transform, num_batches = o.num_batches }
         for _, seed in ipairs { 7, 8 } do resume.check(s, seed) end
         resume.check_bad_starts(s, 7)
      end
   end)

   it("transforms only the batches it yields, with the draws batches(seed) gives them", function()
      local s = split.new { name = "train", tensors = tensors(), batch_size = 4, shuffle = true, transform = noisy }
      calls = 0
      local n = 0
      for _ in s:batches(5, 3) do n = n + 1 end
      assert.are.equal(2, n)
      assert.are.equal(2, calls)
      -- another seed gives another order and other draws, so the check above can tell them apart
      assert.is_false(resume.same_batch(s:batches(5, 3)(), s:batches(6, 3)()))
   end)

   it("the loaders' splits resume too: MNIST train / test, quadratic, 2-D", function()
      make_set(TMP .. "/resume/mnist", false)
      local ds = mnist.load { data_dir = TMP .. "/resume", batch_size = 2, train_eval_size = 6, any_size = true, seed = 4 }
      resume.check(ds.train, 11)
      resume.check(ds.train_eval)
      resume.check(ds.test)
      local q = quadratic.load { batch_size = 128 }
      resume.check(q.train, 3, { 0, 6, 7 })
      resume.check(two_d.load { batch_size = 1000 }.train, 3, { 0, 4, 10 })
   end)
end)

describe("quadratic_deep's Hessian and its epoch-0 loss", function()
   local p = require "problems.quadratic_deep"

   it("Q = R^T diag(lambda) R: symmetric, numpy's eigenvalues, R's rows are eigenvectors", function()
      local Q, eig, R = p.hessian()
      assert.are.same({ 100, 100 }, Q:size())
      assert.are.equal(0, (Q - Q:t()):abs():max():item())
      -- the first 90 eigenvalues are U(0, 1) draws, the last 10 U(30, 60), in numpy's order
      assert.are.equal(0.3745401188473625, eig[1])
      assert.are.equal(0.9507143064099162, eig[2])
      local trace, frob2 = 0, 0
      for i = 1, 100 do
         if i <= 90 then assert.is_true(eig[i] > 0 and eig[i] < 1) else assert.is_true(eig[i] > 30 and eig[i] < 60) end
         trace, frob2 = trace + eig[i], frob2 + eig[i] ^ 2
      end
      local qt = 0
      for i = 1, 100 do qt = qt + Q:get(i, i) end
      assert.is_true(math.abs(qt - trace) < 1e-4 * trace)
      assert.is_true(math.abs(Q:dot(Q) - frob2) < 1e-5 * frob2)       -- Frobenius^2 = sum lambda^2
      -- R orthogonal, and Q r_k = lambda_k r_k for rows r_k of R
      for _, k in ipairs { 0, 37, 95 } do
         local nk = 0
         for j = 0, 99 do nk = nk + R[k][j] ^ 2 end
         assert.is_true(math.abs(nk - 1) < 1e-12)
         local r = dob.empty(100, 1)
         for j = 0, 99 do r:set(R[k][j], j + 1, 1) end
         local qr = Q:matmul(r)
         local err = (qr - r * eig[k + 1]):abs():max():item()
         assert.is_true(err < 1e-5 * 60, ("k = %d: |Q r - lambda r| = %g"):format(k, err))
      end
   end)

   it("reproduces the TensorFlow baseline's epoch-0 test loss (353.44676) and, closely, the train loss", function()
      -- ../shared/baselines/quadratic_deep/*/*/random_seed__42__*.json: test_losses[1] and
      -- train_losses[1] (the same in every file: the untrained model)
      local TF_TEST, TF_TRAIN = 353.44676426478793, 353.9337594168527
      local ds = quadratic.load { batch_size = 128 }
      local m = p.build {}
      local function mean_loss(split, seed)
         local s, n = 0, 0
         for b in split:batches(seed) do
            local l = p.forward(m, b, "test")
            s, n = s + l:mean():item(), n + 1
         end
         return s / n
      end
      local test = mean_loss(ds.test)
      assert.is_true(math.abs(test - TF_TEST) < 1e-5 * TF_TEST, "test loss " .. test)
      -- train_eval: 896 of the 1,000 training points in a shuffled order that
      -- differs from TF's, so only close
      local train = mean_loss(ds.train_eval, 42)
      assert.is_true(math.abs(train - TF_TRAIN) < 0.01 * TF_TRAIN, "train loss " .. train)
      -- hand check of one example: 1/2 (1 - x)^T Q (1 - x) in doubles
      local Q = p.hessian()
      local x = ds.test.tensors.x
      local want = 0
      for i = 1, 100 do
         local di = 1 - x:get(1, i)
         for j = 1, 100 do want = want + 0.5 * di * Q:get(i, j) * (1 - x:get(1, j)) end
      end
      local got = p.forward(m, { x = x:narrow(1, 1, 2) }, "test"):get(1)
      assert.is_true(math.abs(got - want) < 1e-5 * want)
   end)
end)
