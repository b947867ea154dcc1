--- Generated data for bench/epoch.lua, in the official file formats and at the real sizes,
-- for the datasets that cannot be downloaded here; both sides of the bench read these files.
--
--    local data = require "bench.epoch_data"
--    data.ensure(dir)   -- writes what is missing: dir/cifar-10/*.bin, dir/tolstoi/*.npy + vocab.txt
--
-- CIFAR-10 (datasets/cifar10.lua): data_batch_1..5.bin and test_batch.bin, 10,000 records of
-- 1 label byte + 3,072 pixel bytes each (50,000 training, 10,000 test images), uniform random
-- pixels and labels. Tolstoi (datasets/tolstoi.lua): int64 ids uniform in 0..82, as many as
-- DeepOBS's War and Peace gives: 3,266,187 characters, train = the first ceil(0.8 N) =
-- 2,612,950 (1,045 batches of 50 x 50), test = the other 653,237 (261 batches).
local ffi = require "ffi"
local dob = require "deepobs"
local npy = require "datasets.formats.npy"
local cifar10 = require "datasets.cifar10"
local tolstoi = require "datasets.tolstoi"

local M = {}

M.TOLSTOI_TRAIN, M.TOLSTOI_TEST = 2612950, 653237
local SEED = 1234

local function exists(path)
   local f = io.open(path, "rb")
   if f then f:close() end
   return f ~= nil
end

local function mkdir(dir)
   assert(os.execute(("mkdir -p '%s'"):format(dir:gsub("'", "'\\''"))) == 0, "cannot create " .. dir)
end

local function write(path, s)
   local f = assert(io.open(path .. ".tmp", "wb"))
   f:write(s)
   f:close()
   assert(os.rename(path .. ".tmp", path))
end

-- one CIFAR binary file of `n` random records; state: the generator's uint32 state
local function cifar_file(path, n, state)
   local rec = cifar10.SPEC.record
   local buf = ffi.new("uint8_t[?]", n * rec)
   local x = state[1]
   for i = 0, n * rec - 1 do
      x = bit.bxor(x, bit.lshift(x, 13)); x = bit.bxor(x, bit.rshift(x, 17)); x = bit.bxor(x, bit.lshift(x, 5))
      buf[i] = bit.band(x, 255)
   end
   state[1] = x
   for r = 0, n - 1 do buf[r * rec] = buf[r * rec] % 10 end
   write(path, ffi.string(buf, n * rec))
end

local function cifar(dir)
   local spec = cifar10.SPEC
   local d = dir .. "/" .. spec.folder
   local names = {}
   for _, f in ipairs(spec.train_files) do names[#names + 1] = f end
   names[#names + 1] = spec.test_files[1]
   if exists(d .. "/" .. names[#names]) then return end
   mkdir(d)
   local state = { SEED }
   for _, f in ipairs(names) do cifar_file(d .. "/" .. f, spec.records_per_file, state) end
end

local function chars(dir)
   local d = dir .. "/tolstoi"
   if exists(d .. "/vocab.txt") then return end
   mkdir(d)
   dob.manual_seed(SEED)
   npy.write(d .. "/train.npy", dob.empty(M.TOLSTOI_TRAIN, "int64"):random_(0, tolstoi.VOCAB_SIZE))
   npy.write(d .. "/test.npy", dob.empty(M.TOLSTOI_TEST, "int64"):random_(0, tolstoi.VOCAB_SIZE))
   local v = {}
   for i = 0, tolstoi.VOCAB_SIZE - 1 do v[#v + 1] = string.char(40 + i) end -- the 83 characters '(' .. 'z'
   write(d .. "/vocab.txt", table.concat(v))
end

--- Writes the files that are not in `dir` yet (vocab.txt and test_batch.bin are written
-- last, so their presence means a complete set).
function M.ensure(dir)
   cifar(dir)
   chars(dir)
end

return M
