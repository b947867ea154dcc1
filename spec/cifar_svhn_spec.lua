-- CIFAR-10, CIFAR-100 and SVHN readers on small files this spec writes in the
-- official formats (plain records, the tar.gz archives, broken variants), and
-- DeepOBS 1.1's splits with augmentation.
local ffi = require "ffi"
local dob = require "deepobs"
local record_images = require "datasets.pipeline.record_images"
local records = require "datasets.formats.records"
local tar = require "datasets.formats.tar"
local cifar10 = require "datasets.cifar10"
local cifar100 = require "datasets.cifar100"
local svhn = require "datasets.svhn"
local resume = require "fixtures.resume"

local TMP = "spec/tmp_cifar"

local function sh(cmd) assert(os.execute(cmd) == 0, cmd) end
local fs = require "helpers.fs"
local write, readall = fs.write, fs.read

-- pixel value of image i (0-based, counted over the whole split), channel c, row r, column k
local function pixel(i, c, r, k) return (i * 7 + c * 50 + r * 3 + k) % 256 end

-- CIFAR record: labels then the R, G, B planes (row-major 32x32)
local function cifar_record(i, labels)
   local parts = { labels }
   for c = 0, 2 do
      local plane = {}
      for r = 0, 31 do for k = 0, 31 do plane[#plane + 1] = string.char(pixel(i, c, r, k)) end end
      parts[#parts + 1] = table.concat(plane)
   end
   return table.concat(parts)
end

-- SVHN record (1.1 prepared): label then HWC interleaved pixels
local function svhn_record(i, label)
   local px = { string.char(label) }
   for r = 0, 31 do for k = 0, 31 do for c = 0, 2 do px[#px + 1] = string.char(pixel(i, c, r, k)) end end end
   return table.concat(px)
end

local function c10_label(i) return i % 10 end
local function c100_fine(i) return (i * 3) % 100 end
local function c100_coarse(i) return i % 20 end

local N_PER = 6   -- CIFAR-10 training records per file; 30 training images in all
local N_TEST = 7

local function cifar10_bytes(first, n)
   local recs = {}
   for i = first, first + n - 1 do recs[#recs + 1] = cifar_record(i, string.char(c10_label(i))) end
   return table.concat(recs)
end

local function write_cifar10(dir, overrides)
   sh("mkdir -p '" .. dir .. "'")
   local files = {}
   for f = 1, 5 do files["data_batch_" .. f .. ".bin"] = cifar10_bytes((f - 1) * N_PER, N_PER) end
   -- test image j gets pattern number 1000 + j
   local t = {}
   for j = 0, N_TEST - 1 do t[#t + 1] = cifar_record(1000 + j, string.char(c10_label(j))) end
   files["test_batch.bin"] = table.concat(t)
   for k, v in pairs(overrides or {}) do files[k] = v end
   for name, bytes in pairs(files) do
      if bytes then write(dir .. "/" .. name, bytes) end
   end
end

local function cifar100_bytes(first, n, test)
   local recs = {}
   for i = first, first + n - 1 do
      local j = test and i - 1000 or i
      recs[#recs + 1] = cifar_record(i, string.char(c100_coarse(j), c100_fine(j)))
   end
   return table.concat(recs)
end

local function load_err(fn, ...)
   local ok, err = pcall(fn, ...)
   assert.is_false(ok)
   return tostring(err)
end

-- expected uint8 image tensor [n,3,32,32] of pattern numbers first .. first+n-1
local function expected_images(first, n)
   local t = dob.empty({ n, 3, 32, 32 }, "uint8")
   local p = ffi.cast("uint8_t*", t:data())
   local q = 0
   for i = first, first + n - 1 do
      for c = 0, 2 do for r = 0, 31 do for k = 0, 31 do p[q] = pixel(i, c, r, k); q = q + 1 end end end
   end
   return t
end

local function same(a, b) return a:numel() == b:numel() and (a:float() - b:float()):abs():max():item() == 0 end

setup(function() sh("rm -rf '" .. TMP .. "' && mkdir -p '" .. TMP .. "'") end)
teardown(function() os.execute("rm -rf '" .. TMP .. "'") end)

describe("CIFAR-10 reader", function()
   local dir = TMP .. "/c10/cifar-10"
   setup(function() write_cifar10(dir) end)

   it("decodes the planar records in file order, labels from byte 0", function()
      local ds = cifar10.load { data_dir = TMP .. "/c10", batch_size = 4, any_size = true, train_eval_size = 9 }
      assert.are.equal("files", ds.source)
      local tx, ty = ds.train.tensors.x, ds.train.tensors.y
      assert.are.same({ 5 * N_PER, 3, 32, 32 }, tx:size())
      assert.are.equal("uint8", tx:dtype())
      assert.is_true(same(tx, expected_images(0, 5 * N_PER)))
      for i = 0, 5 * N_PER - 1 do assert.are.equal(c10_label(i), ty:get(i + 1)) end
      assert.is_true(same(ds.test.tensors.x, expected_images(1000, N_TEST)))
      assert.are.equal(7, ds.train.num_batches)          -- 30 // 4, drop remainder
      assert.are.equal(1, ds.test.num_batches)           -- 7 // 4
      assert.are.equal(2, ds.train_eval.num_batches)     -- 9 // 4
   end)

   it("loading holds the data set plus about one file, reading and decoding file by file", function()
      local per, big = 400, TMP .. "/c10big/cifar-10"
      sh("mkdir -p '" .. big .. "'")
      for f = 1, 5 do write(big .. "/data_batch_" .. f .. ".bin", cifar10_bytes((f - 1) * per, per)) end
      write(big .. "/test_batch.bin", cifar10_bytes(5000, per))
      collectgarbage(); collectgarbage()
      local base = dob.memory_stats().live_bytes
      dob.reset_peak_memory_stats()
      local ds = cifar10.load { data_dir = TMP .. "/c10big", any_size = true, train_eval_size = 10 }
      local peak = dob.memory_stats().peak_live_bytes - base
      local n, file_bytes = 6 * per, per * 3073
      local data = n * (3072 + 8)                     -- uint8 images, int64 labels
      -- all six files at once would be 7.4 MB over the data; one file is 1.2 MB
      assert.is_true(peak <= data + 2 * file_bytes,
         ("loading peaked %.2f MB over the data (one file: %.2f MB)"):format((peak - data) / 2 ^ 20, file_bytes / 2 ^ 20))
      assert.is_true(same(ds.train.tensors.x, expected_images(0, 5 * per)))
   end)

   it("test batches: file order, per-image standardisation of the 0..255 values only", function()
      local ds = cifar10.load { data_dir = TMP .. "/c10", batch_size = 3, any_size = true }
      local n = 0
      for b in ds.test:batches() do
         local want = expected_images(1000 + n * 3, 3):float():per_image_standardize()
         assert.are.equal("float32", b.x:dtype())
         assert.are.equal(0, (b.x - want):abs():max():item())
         assert.are.same({ c10_label(n * 3), c10_label(n * 3 + 1), c10_label(n * 3 + 2) }, b.y:totable())
         n = n + 1
      end
      assert.are.equal(2, n)
   end)

   it("train batches: the shuffled images augmented as 1.1, reproducible, without touching the model's RNG", function()
      local ds = cifar10.load { data_dir = TMP .. "/c10", batch_size = 4, any_size = true, seed = 7,
         train_eval_size = 8 }
      dob.manual_seed(123)
      local before = dob.get_rng_state()
      local batches = {}
      for b in ds.train:batches(7) do batches[#batches + 1] = b end
      assert.are.same(before, dob.get_rng_state())
      assert.are.equal(7, #batches)
      -- batch 2 rebuilt by hand: the images of the permutation, the 1.1 draws from the batch's seed
      local perm = ds.train:order(7)
      local idx = perm:narrow(1, 5, 4)
      local x = expected_images(0, 30):index_select(1, idx):float()
      dob.manual_seed(record_images.batch_seed(7, 1))
      local want = record_images.augment(x, true)
      dob.manual_seed(123)
      assert.are.equal(0, (batches[2].x - want):abs():max():item())
      for k = 1, 4 do assert.are.equal(c10_label(idx:get(k)), batches[2].y:get(k)) end
      -- augmented images are standardised: mean 0, population std 1 per image
      for k = 1, 4 do
         local im = batches[2].x[k]
         assert.is_true(math.abs(im:mean():item()) < 1e-4)
         assert.is_true(math.abs((im * im):mean():item() - 1) < 1e-3)
      end
      -- and not just the standardised originals (crop / flip / colour changed them)
      local plain = x:per_image_standardize()
      assert.is_true((batches[2].x - plain):abs():max():item() > 0.1)
      -- same seed, same batches; another seed, other batches
      local again = ds.train:batches(7)()
      assert.are.equal(0, (again.x - batches[1].x):abs():max():item())
      local other = ds.train:batches(8)()
      assert.is_true((other.x - batches[1].x):abs():max():item() > 0)
      -- train_eval = the first batches of the augmented training pipeline for the run's seed
      local n = 0
      for b in ds.train_eval:batches() do
         n = n + 1
         assert.are.equal(0, (b.x - batches[n].x):abs():max():item())
         assert.are.same(batches[n].y:totable(), b.y:totable())
      end
      assert.are.equal(2, n)
   end)

   it("augment = false gives standardised, unaugmented training batches", function()
      local ds = cifar10.load { data_dir = TMP .. "/c10", batch_size = 5, any_size = true, augment = false }
      local b = ds.train:batches(3)()
      local idx = ds.train:order(3):narrow(1, 1, 5)
      local want = expected_images(0, 30):index_select(1, idx):float():per_image_standardize()
      assert.are.equal(0, (b.x - want):abs():max():item())
   end)

   it("batches(seed, start) resumes every split bit for bit: augmented training, train_eval, test, valid", function()
      for _, o in ipairs { { augment = true }, { augment = false }, { validation = true, train_eval_size = 8 } } do
         o.data_dir, o.batch_size, o.any_size, o.seed = TMP .. "/c10", 3, true, 7
         local ds = cifar10.load(o)
         for _, seed in ipairs { 7, 7001 } do resume.check(ds.train, seed) end
         resume.check(ds.train_eval)
         resume.check(ds.test)
         if ds.valid then resume.check(ds.valid) end
         resume.check_bad_starts(ds.train, 7)
      end
      -- the resumed augmentation is the one batch i of batches(seed) draws: record_images.batch_seed(seed, i)
      local ds = cifar10.load { data_dir = TMP .. "/c10", batch_size = 4, any_size = true }
      local b = ds.train:batches(9, 5)()
      local x = expected_images(0, 30):index_select(1, ds.train:order(9):narrow(1, 21, 4)):float()
      dob.manual_seed(record_images.batch_seed(9, 5))
      assert.are.equal(0, (b.x - record_images.augment(x, true)):abs():max():item())
   end)

   it("reads cifar-10-binary.tar.gz straight from the data dir, giving the same data", function()
      local src = TMP .. "/c10tar_src/cifar-10-batches-bin"
      write_cifar10(src, { ["batches.meta.txt"] = "airplane\nautomobile\n", ["readme.html"] = ("<html>"):rep(300) })
      sh("mkdir -p '" .. TMP .. "/c10tar/cifar-10' && tar czf '" .. TMP .. "/c10tar/cifar-10/cifar-10-binary.tar.gz' -C '"
         .. TMP .. "/c10tar_src' cifar-10-batches-bin")
      local a = cifar10.load { data_dir = TMP .. "/c10tar", batch_size = 4, any_size = true }
      local b = cifar10.load { data_dir = TMP .. "/c10", batch_size = 4, any_size = true }
      assert.are.equal("archive", a.source)
      assert.is_true(same(a.train.tensors.x, b.train.tensors.x))
      assert.is_true(same(a.train.tensors.y, b.train.tensors.y))
      assert.is_true(same(a.test.tensors.x, b.test.tensors.x))
      -- the archive may also sit in the data dir itself
      sh("mkdir -p '" .. TMP .. "/c10tar2' && cp '" .. TMP .. "/c10tar/cifar-10/cifar-10-binary.tar.gz' '" .. TMP .. "/c10tar2/'")
      local c = cifar10.load { data_dir = TMP .. "/c10tar2", batch_size = 4, any_size = true }
      assert.is_true(same(c.train.tensors.x, b.train.tensors.x))
   end)

   it("scripts/prepare_data.d/cifar10.sh extracts the archive as 1.1 does (download stubbed)", function()
      local d = TMP .. "/prep10"
      sh("mkdir -p '" .. d .. "/cifar-10' && cp '" .. TMP .. "/c10tar/cifar-10/cifar-10-binary.tar.gz' '" .. d .. "/cifar-10/'")
      -- `get` (prepare_data.sh's checked download) is replaced by a no-op: the archive is already there
      sh(("sh -c 'get() { :; }; DATA_DIR=%s; HERE=scripts; . scripts/prepare_data.d/cifar10.sh; prepare_cifar10' >/dev/null")
         :format(d))
      assert.is_nil(io.open(d .. "/cifar-10/cifar-10-binary.tar.gz", "rb"))
      local a = cifar10.load { data_dir = d, any_size = true, batch_size = 4 }
      assert.are.equal("files", a.source)
      assert.is_true(same(a.train.tensors.x, expected_images(0, 5 * N_PER)))
      assert.is_truthy(io.open(d .. "/cifar-10/batches.meta.txt", "rb"))
   end)

   it("tar reader: members by base name, long names, skipping the rest", function()
      local long = TMP .. "/tarlong/" .. ("d"):rep(120)
      sh("mkdir -p '" .. long .. "'")
      write(long .. "/a.bin", ("xyz"):rep(1000))
      write(long .. "/b.bin", "hello")
      write(long .. "/empty.bin", "")
      sh("tar cf '" .. TMP .. "/long.tar' -C '" .. TMP .. "/tarlong' .")
      local got = tar.read_members(TMP .. "/long.tar", { "b.bin", "a.bin", "missing.bin" })
      assert.are.equal(3000, got["a.bin"]:numel())
      assert.are.equal("hello", ffi.string(got["b.bin"]:data(), 5))
      assert.are.equal(("xyz"):rep(1000), ffi.string(got["a.bin"]:data(), 3000))
      assert.is_nil(got["missing.bin"])
   end)

   it("broken archives: clear errors naming the file", function()
      local good = readall(TMP .. "/c10tar/cifar-10/cifar-10-binary.tar.gz")
      local d = TMP .. "/badtar/cifar-10"
      sh("mkdir -p '" .. d .. "'")
      local path = d .. "/cifar-10-binary.tar.gz"
      -- cut short
      write(path, good:sub(1, math.floor(#good * 0.6)))
      local e = load_err(cifar10.load, { data_dir = TMP .. "/badtar", any_size = true })
      assert.matches("cifar%-10%-binary%.tar%.gz", e)
      assert.is_truthy(e:find("truncated") or e:find("corrupt"), e)
      assert.matches("prepare_data%.sh", e)
      -- bytes flipped in the middle of the compressed stream
      local mid = math.floor(#good / 2)
      write(path, good:sub(1, mid) .. ("\255"):rep(64) .. good:sub(mid + 65))
      e = load_err(cifar10.load, { data_dir = TMP .. "/badtar", any_size = true })
      assert.matches("cifar%-10%-binary%.tar%.gz: ", e)
      assert.is_truthy(e:find("corrupt") or e:find("truncated"), e)
      -- not a tar at all
      write(path, ("not a tar archive "):rep(100))
      e = load_err(cifar10.load, { data_dir = TMP .. "/badtar", any_size = true })
      assert.matches("corrupt archive", e)
      assert.matches("is this a tar archive", e)
      -- a tar that lacks a member
      local src = TMP .. "/c10part_src/cifar-10-batches-bin"
      write_cifar10(src, {})
      os.remove(src .. "/data_batch_4.bin")
      sh("tar czf '" .. path .. "' -C '" .. TMP .. "/c10part_src' cifar-10-batches-bin")
      e = load_err(cifar10.load, { data_dir = TMP .. "/badtar", any_size = true })
      assert.matches("the archive lacks data_batch_4%.bin", e)
   end)

   it("missing files: names the files, the folders searched and the download command", function()
      sh("mkdir -p '" .. TMP .. "/none'")
      local e = load_err(cifar10.load, { data_dir = TMP .. "/none" })
      assert.matches("CIFAR%-10 not found", e)
      assert.matches("data_batch_5%.bin", e)
      assert.matches("test_batch%.bin", e)
      assert.matches("cifar%-10%-binary%.tar%.gz", e)
      assert.matches(TMP .. "/none/cifar%-10", e)
      assert.matches("scripts/prepare_data%.sh cifar10", e)
      -- a folder with some of the files says which are missing
      write_cifar10(TMP .. "/part/cifar-10", { ["data_batch_3.bin"] = false })
      e = load_err(cifar10.load, { data_dir = TMP .. "/part" })
      assert.matches("lacks data_batch_3%.bin", e)
      -- also when the next folder searched (data_dir itself) holds every file: no silent switch of copies
      write_cifar10(TMP .. "/part")
      e = load_err(cifar10.load, { data_dir = TMP .. "/part", any_size = true })
      assert.matches(TMP .. "/part/cifar%-10 lacks data_batch_3%.bin", e)
   end)

   it("truncated, oversized or corrupt record files: errors naming the file", function()
      write_cifar10(TMP .. "/trunc/cifar-10", { ["data_batch_2.bin"] = cifar10_bytes(6, 6):sub(1, -100) })
      local e = load_err(cifar10.load, { data_dir = TMP .. "/trunc", any_size = true })
      assert.matches("data_batch_2%.bin: %d+ bytes is not a whole number of 3073%-byte records", e)
      assert.matches("truncated", e)
      -- the official files hold 10,000 records each
      e = load_err(cifar10.load, { data_dir = TMP .. "/c10" })
      assert.matches("data_batch_1%.bin: expected 10000 records of 3073 bytes, the file holds 6", e)
      -- a label byte outside 0..9
      local bad = cifar10_bytes(0, 6)
      bad = bad:sub(1, 3073 * 2) .. string.char(10) .. bad:sub(3073 * 2 + 2)
      write_cifar10(TMP .. "/badlabel/cifar-10", { ["data_batch_1.bin"] = bad })
      e = load_err(cifar10.load, { data_dir = TMP .. "/badlabel", any_size = true })
      assert.matches("record 2 has label 10, outside 0%.%.9", e)
      assert.matches("data_batch_1%.bin", e)
      -- an empty file
      write_cifar10(TMP .. "/empty/cifar-10", { ["test_batch.bin"] = "" })
      e = load_err(cifar10.load, { data_dir = TMP .. "/empty", any_size = true })
      assert.matches("test_batch%.bin: the file holds no records", e)
   end)
end)

describe("CIFAR-100 reader", function()
   local function write_c100(base)
      sh("mkdir -p '" .. base .. "'")
      write(base .. "/train.bin", cifar100_bytes(0, 12))
      write(base .. "/test.bin", cifar100_bytes(1000, 5, true))
   end
   setup(function() write_c100(TMP .. "/c100/cifar-100") end)

   it("fine labels from byte 1, images from byte 2 by default", function()
      local ds = cifar100.load { data_dir = TMP .. "/c100", batch_size = 4, any_size = true }
      assert.is_true(same(ds.train.tensors.x, expected_images(0, 12)))
      assert.is_true(same(ds.test.tensors.x, expected_images(1000, 5)))
      for i = 0, 11 do assert.are.equal(c100_fine(i), ds.train.tensors.y:get(i + 1)) end
      for j = 0, 4 do assert.are.equal(c100_fine(j), ds.test.tensors.y:get(j + 1)) end
   end)

   it("deepobs_compat reproduces 1.1's offset-1 image bytes", function()
      local ds = cifar100.load { data_dir = TMP .. "/c100", batch_size = 4, any_size = true, deepobs_compat = true }
      local recs = records.read(TMP .. "/c100/cifar-100/train.bin", 3074, "")
      local want = recs:narrow(2, 2, 3072):contiguous():view(12, 3, 32, 32)
      assert.is_true(same(ds.train.tensors.x, want))
      -- the first red byte is the fine label; every plane is shifted by one byte
      for i = 0, 11 do
         assert.are.equal(c100_fine(i), ds.train.tensors.x:get(i + 1, 1, 1, 1))
         assert.are.equal(pixel(i, 0, 31, 31), ds.train.tensors.x:get(i + 1, 2, 1, 1))
         assert.are.equal(pixel(i, 1, 0, 0), ds.train.tensors.x:get(i + 1, 2, 1, 2))
      end
      assert.are.equal(c100_fine(3), ds.train.tensors.y:get(4))
   end)

   it("reads cifar-100-binary.tar.gz; checks coarse labels and sizes", function()
      write_c100(TMP .. "/c100tar_src/cifar-100-binary")
      write(TMP .. "/c100tar_src/cifar-100-binary/fine_label_names.txt", "apple\n")
      sh("mkdir -p '" .. TMP .. "/c100tar' && tar czf '" .. TMP .. "/c100tar/cifar-100-binary.tar.gz' -C '"
         .. TMP .. "/c100tar_src' cifar-100-binary")
      local ds = cifar100.load { data_dir = TMP .. "/c100tar", any_size = true, batch_size = 4 }
      assert.are.equal("archive", ds.source)
      assert.is_true(same(ds.train.tensors.x, expected_images(0, 12)))
      local e = load_err(cifar100.load, { data_dir = TMP .. "/c100" })
      assert.matches("expected 10000 test images, the files hold 5", e)
      local bad = cifar100_bytes(0, 12)
      bad = bad:sub(1, 3074) .. string.char(20) .. bad:sub(3076)
      sh("mkdir -p '" .. TMP .. "/c100bad/cifar-100'")
      write(TMP .. "/c100bad/cifar-100/train.bin", bad)
      write(TMP .. "/c100bad/cifar-100/test.bin", cifar100_bytes(1000, 5, true))
      e = load_err(cifar100.load, { data_dir = TMP .. "/c100bad", any_size = true })
      assert.matches("train%.bin: record 1 has coarse label 20, outside 0%.%.19", e)
      e = load_err(cifar100.load, { data_dir = TMP .. "/nothing_here" })
      assert.matches("scripts/prepare_data%.sh cifar100", e)
      assert.matches("cifar%-100%-binary%.tar%.gz", e)
   end)
end)

describe("SVHN reader", function()
   local base = TMP .. "/svhn/svhn"
   setup(function()
      sh("mkdir -p '" .. base .. "'")
      local n = 0
      for f = 0, 4 do
         local recs = {}
         for _ = 1, 3 + f do recs[#recs + 1] = svhn_record(n, n % 10); n = n + 1 end   -- 25 images, uneven files
         write(base .. "/data_batch_" .. f .. ".bin", table.concat(recs))
      end
      local t = {}
      for j = 0, 8 do t[#t + 1] = svhn_record(1000 + j, (j * 3) % 10) end
      write(base .. "/test_batch.bin", table.concat(t))
   end)

   it("turns the HWC records into NCHW images, all training images by default", function()
      local ds = svhn.load { data_dir = TMP .. "/svhn", batch_size = 4, any_size = true }
      assert.is_true(same(ds.train.tensors.x, expected_images(0, 25)))
      assert.is_true(same(ds.test.tensors.x, expected_images(1000, 9)))
      for i = 0, 24 do assert.are.equal(i % 10, ds.train.tensors.y:get(i + 1)) end
      assert.are.equal(6, ds.train.num_batches)
      assert.are.equal(2, ds.test.num_batches)
   end)

   it("deepobs_compat keeps the first 64,000 (here: compat_train_size) training images", function()
      local ds = svhn.load { data_dir = TMP .. "/svhn", batch_size = 4, any_size = true, deepobs_compat = true,
         compat_train_size = 10 }
      assert.are.equal(10, ds.train.size)
      assert.is_true(same(ds.train.tensors.x, expected_images(0, 10)))
      assert.are.equal(64000, svhn.TRAIN_COMPAT)
   end)

   it("augments without the flip; checks sizes and reports missing files", function()
      local ds = svhn.load { data_dir = TMP .. "/svhn", batch_size = 5, any_size = true, seed = 3 }
      local b = ds.train:batches(3)()
      local idx = ds.train:order(3):narrow(1, 1, 5)
      local x = expected_images(0, 25):index_select(1, idx):float()
      dob.manual_seed(record_images.batch_seed(3, 0))
      local want = record_images.augment(x, false)
      assert.are.equal(0, (b.x - want):abs():max():item())
      local e = load_err(svhn.load, { data_dir = TMP .. "/svhn" })
      assert.matches("expected 26032 test images, the files hold 9", e)
      e = load_err(svhn.load, { data_dir = TMP .. "/nothing_here" })
      assert.matches("SVHN not found", e)
      assert.matches("data_batch_0%.bin", e)
      assert.matches("scripts/prepare_data%.sh svhn", e)
   end)
end)

describe("SVHN .mat converter (scripts/svhn_convert.lua)", function()
   local conv = require "scripts.svhn_convert"
   local mat = require "datasets.formats.mat"
   ffi.cdef [[
   int compress2(uint8_t *dest, unsigned long *destLen, const uint8_t *source, unsigned long sourceLen, int level);
   unsigned long compressBound(unsigned long sourceLen);
   ]]
   local zl = ffi.load("z")

   local function le32(n) return string.char(n % 256, math.floor(n / 256) % 256, math.floor(n / 65536) % 256, math.floor(n / 16777216) % 256) end
   local function pad8(s) return s .. ("\0"):rep((8 - #s % 8) % 8) end
   local function element(t, data) return le32(t) .. le32(#data) .. pad8(data) end
   local function compressed(elem)
      local bound = zl.compressBound(#elem)
      local out = ffi.new("uint8_t[?]", bound)
      local len = ffi.new("unsigned long[1]", bound)
      assert(zl.compress2(out, len, elem, #elem, 6) == 0)
      return le32(15) .. le32(tonumber(len[0])) .. ffi.string(out, len[0])
   end
   local function double_le(v)
      -- exact for the small integers used here: a double with its bytes written out
      local d = ffi.new("double[1]", v)
      return ffi.string(d, 8)
   end
   -- a miMATRIX element: class code, dims, name (small element form), data element
   local function matrix(class, dims, name, data_elem)
      local dimbytes = {}
      for i, d in ipairs(dims) do dimbytes[i] = le32(d) end
      local body = element(6, le32(class) .. le32(0)) .. element(5, table.concat(dimbytes))
         .. le32(65536 * #name + 1) .. name .. ("\0"):rep(4 - #name) .. data_elem
      return le32(14) .. le32(#body) .. body
   end
   local function header()
      local text = "MATLAB 5.0 MAT-file, Platform: GLNXA64, Created on: Fri Dec  4 2026"
      return text .. (" "):rep(116 - #text) .. ("\0"):rep(8) .. "\0\1" .. "IM"
   end
   -- X (32x32x3xN uint8, column-major: X(r, c, ch, i) = pixel(first + i, ch, r, c)), y (N x 1 double)
   local function mat_bytes(first, labels, opts)
      local N = #labels
      local xs = {}
      for i = 0, N - 1 do
         for ch = 0, 2 do
            for c = 0, 31 do
               local col = {}
               for r = 0, 31 do col[r + 1] = string.char(pixel(first + i, ch, r, c)) end
               xs[#xs + 1] = table.concat(col)
            end
         end
      end
      -- column-major: r fastest, then c, then ch, then i — the loops above give i, ch, c, r
      local X = matrix(9, { 32, 32, 3, N }, "X", element(2, table.concat(xs)))
      local ys = {}
      local y
      if opts.y_as_uint8 then   -- MATLAB's compact storage of a double array
         for i = 1, N do ys[i] = string.char(labels[i]) end
         y = matrix(6, { N, 1 }, "y", element(2, table.concat(ys)))
      else
         for i = 1, N do ys[i] = double_le(labels[i]) end
         y = matrix(6, { N, 1 }, "y", element(9, table.concat(ys)))
      end
      return header() .. (opts.compress_x and compressed(X) or X) .. (opts.compress_y and compressed(y) or y)
   end

   local dir = TMP .. "/mat"
   local train_labels = { 10, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 3 }   -- 12 images, 10 is the digit 0
   local test_labels = { 4, 10, 1, 9, 2 }
   setup(function()
      sh("mkdir -p '" .. dir .. "/out/svhn'")
      write(dir .. "/train_32x32.mat", mat_bytes(0, train_labels, { compress_x = true }))
      write(dir .. "/test_32x32.mat", mat_bytes(1000, test_labels, { compress_y = true, y_as_uint8 = true }))
   end)

   it("reads v5 variables, compressed or not, and converts to 1.1's HWC records the loader reads back", function()
      local vars = mat.read(dir .. "/train_32x32.mat")
      assert.are.same({ 32, 32, 3, 12 }, vars.X.dims)
      assert.are.equal("uint8", vars.X.class)
      assert.are.equal("double", vars.y.class)
      assert.are.equal(10, vars.y.ptr[0])
      local ntr, nte = conv.convert(dir .. "/train_32x32.mat", dir .. "/test_32x32.mat", dir .. "/out/svhn")
      assert.are.equal(12, ntr)
      assert.are.equal(5, nte)
      -- five nearly equal training files: 2, 2, 3, 2, 3 records
      local total = 0
      for k = 0, 4 do
         local f = io.open(dir .. "/out/svhn/data_batch_" .. k .. ".bin", "rb")
         local n = f:seek("end"); f:close()
         assert.are.equal(({ 2, 2, 3, 2, 3 })[k + 1] * 3073, n)
         total = total + n / 3073
      end
      assert.are.equal(12, total)
      -- the record bytes: label, then row-major pixels with RGB interleaved
      local rec = readall(dir .. "/out/svhn/data_batch_0.bin")
      assert.are.equal(0, rec:byte(1))           -- label 10 -> 0
      assert.are.equal(pixel(0, 0, 0, 0), rec:byte(2))
      assert.are.equal(pixel(0, 1, 0, 0), rec:byte(3))
      assert.are.equal(pixel(0, 2, 0, 0), rec:byte(4))
      assert.are.equal(pixel(0, 0, 0, 1), rec:byte(5))
      assert.are.equal(pixel(0, 0, 1, 0), rec:byte(2 + 32 * 3))
      assert.are.equal(1, rec:byte(3074))        -- second record's label
   end)

   it("the converted files load as the images and labels of the .mat files", function()
      local ds = svhn.load { data_dir = dir .. "/out", batch_size = 2, any_size = true }
      assert.is_true(same(ds.train.tensors.x, expected_images(0, 12)))
      assert.is_true(same(ds.test.tensors.x, expected_images(1000, 5)))
      for i = 1, 12 do assert.are.equal(train_labels[i] % 10, ds.train.tensors.y:get(i)) end
      for i = 1, 5 do assert.are.equal(test_labels[i] % 10, ds.test.tensors.y:get(i)) end
   end)

   it("runs as a command (as scripts/prepare_data.d/svhn.sh calls it)", function()
      sh("mkdir -p '" .. dir .. "/cli'")
      local out = dir .. "/cli"
      local p = io.popen(("luajit scripts/svhn_convert.lua '%s/train_32x32.mat' '%s/test_32x32.mat' '%s' 2>&1; echo rc=$?")
         :format(dir, dir, out))
      local text = p:read("*a")
      p:close()
      assert.matches("12 training and 5 test images written", text)
      assert.matches("rc=0", text)
      assert.are.equal(readall(dir .. "/out/svhn/test_batch.bin"), readall(out .. "/test_batch.bin"))
      p = io.popen(("luajit scripts/svhn_convert.lua '%s/missing.mat' '%s/test_32x32.mat' '%s' 2>&1; echo rc=$?")
         :format(dir, dir, out))
      text = p:read("*a")
      p:close()
      assert.matches("svhn_convert: .*missing%.mat: cannot open %(No such file or directory%); download it again %(scripts/prepare_data%.sh svhn%)", text)
      assert.matches("rc=1", text)
   end)

   it("scripts/prepare_data.d/svhn.sh converts and deletes the .mat files (download stubbed)", function()
      local d = TMP .. "/prepsvhn"
      sh("mkdir -p '" .. d .. "/svhn' && cp '" .. dir .. "/train_32x32.mat' '" .. dir .. "/test_32x32.mat' '" .. d .. "/svhn/'")
      sh(("sh -c 'DATA_DIR=%s; HERE=scripts; . scripts/prepare_data.d/svhn.sh; get() { :; }; prepare_svhn' >/dev/null")
         :format(d))
      assert.is_nil(io.open(d .. "/svhn/train_32x32.mat", "rb"))
      local ds = svhn.load { data_dir = d, any_size = true, batch_size = 2 }
      assert.is_true(same(ds.train.tensors.x, expected_images(0, 12)))
      assert.is_true(same(ds.test.tensors.x, expected_images(1000, 5)))
   end)

   it("broken .mat files give errors naming the file", function()
      local good = mat_bytes(0, train_labels, { compress_x = true })
      local bad = dir .. "/bad.mat"
      local function err(bytes)
         write(bad, bytes)
         local ok, e = pcall(conv.convert, bad, dir .. "/test_32x32.mat", dir .. "/out")
         assert.is_false(ok)
         assert.matches("bad%.mat: ", tostring(e))
         return tostring(e)
      end
      assert.matches("truncated %.mat file", err(good:sub(1, #good - 50)))
      -- garbage inside the compressed X element (its zlib stream starts at byte 137)
      local clen = good:byte(133) + 256 * good:byte(134) + 65536 * good:byte(135)
      assert.is_true(clen > 100)
      local mid = 136 + math.floor(clen / 2)
      assert.matches("corrupt", err(good:sub(1, mid) .. ("\0"):rep(40) .. good:sub(mid + 41)))
      assert.matches("not a MATLAB v5 %.mat file", err(("x"):rep(300)))
      assert.matches("big%-endian", err(good:sub(1, 126) .. "MI" .. good:sub(129)))
      assert.matches("label 11 of image 0 is outside 1%.%.10", err(mat_bytes(0, { 11, 1, 1, 1, 1 }, {})))
      assert.matches("no numeric variable 'y'", err(header() .. matrix(9, { 32, 32, 3, 1 }, "X", element(2, ("\0"):rep(3072)))))
   end)
end)

describe("the image problems train on these readers' data (runner, one epoch at batch 2)", function()
   local runner = require "deepobs.runner"
   local problems = require "problems"
   local sgd = require("deepobs.optim").load("sgd")
   -- the registered problem, with the loader told to accept the spec's small files
   local function small(name)
      local p = {}
      for k, v in pairs(problems.get(name)) do p[k] = v end
      p.dataset_opts = { any_size = true, train_eval_size = 4 }
      return p
   end
   local function check(name, dir)
      local res = runner.run { problem = small(name), optimizer = sgd, lr = 0.01, batch_size = 2, num_epochs = 1,
         data_dir = dir, quiet = true, no_logs = true }
      assert.are.equal(2, #res.test_losses)
      for _, l in ipairs(res.train_losses) do assert.is_true(l == l and l < math.huge, name) end
      for _, a in ipairs(res.test_accuracies) do assert.is_true(a >= 0 and a <= 1, name) end
      assert.is_true(#res.minibatch_train_losses > 0)
   end

   it("cifar10_3c3d on CIFAR-10 records", function()
      write_cifar10(TMP .. "/run_c10/cifar-10")
      check("cifar10_3c3d", TMP .. "/run_c10")
   end)

   it("cifar100_allcnnc on CIFAR-100 records and svhn_wrn164 on SVHN records", function()
      sh("mkdir -p '" .. TMP .. "/run_c100/cifar-100' '" .. TMP .. "/run_svhn/svhn'")
      write(TMP .. "/run_c100/cifar-100/train.bin", cifar100_bytes(0, 12))
      write(TMP .. "/run_c100/cifar-100/test.bin", cifar100_bytes(1000, 5, true))
      check("cifar100_allcnnc", TMP .. "/run_c100")
      for f = 0, 4 do
         local recs = {}
         for i = 2 * f, 2 * f + 1 do recs[#recs + 1] = svhn_record(i, i % 10) end
         write(TMP .. "/run_svhn/svhn/data_batch_" .. f .. ".bin", table.concat(recs))
      end
      local t = {}
      for j = 0, 4 do t[#t + 1] = svhn_record(1000 + j, j % 10) end
      write(TMP .. "/run_svhn/svhn/test_batch.bin", table.concat(t))
      check("svhn_wrn164", TMP .. "/run_svhn")
   end)
end)
