--- Fixed-length binary records: the .bin files of CIFAR-10, CIFAR-100 and
-- DeepOBS 1.1's SVHN, which it read with tf.data.FixedLengthRecordDataset
-- (deepobs/tensorflow/datasets/cifar10.py). A file is a whole number of
-- records and nothing else, so its size alone is checked.
--
--    local records = require "datasets.formats.records"
--    local recs = records.read(path, 3073, "the fix")            -- uint8 [N, 3073]
--    local n = records.count_file(path, 3073, "the fix")         -- N, from the size alone
--    local recs = records.of_bytes(member, 3073, "x.tar.gz:data_batch_1.bin", "the fix")
--    records.check_byte(recs, 0, 10, path, "label", "the fix")  -- every record's byte 0 is below 10
local ffi = require "ffi"
local dob = require "deepobs"
local file = require "datasets.formats.file"

local M = {}

-- the record count of `bytes` bytes, or an error naming `where`
local function count(bytes, record, where, fix)
   if type(record) ~= "number" or record < 1 or record % 1 ~= 0 then
      error(("records: the record size must be a positive integer, got %s"):format(tostring(record)), 3)
   end
   if bytes % record ~= 0 then
      error(("%s: %d bytes is not a whole number of %d-byte records; the file is truncated or corrupt, %s")
         :format(where, bytes, record, fix), 0)
   end
   if bytes == 0 then error(("%s: the file holds no records; %s"):format(where, fix), 0) end
   return bytes / record
end

--- The number of records in the regular file at path, from its size (an error unless whole).
function M.count_file(path, record, fix)
   return count(file.check(path, fix), record, path, fix)
end

--- The records of the regular file at path: uint8 [N, record].
function M.read(path, record, fix)
   local size = file.check(path, fix)
   local n = count(size, record, path, fix)
   local t = dob.empty({ n, record }, "uint8")
   local f, err = io.open(path, "rb")
   if not f then error(("%s: cannot open (%s)"):format(path, tostring(err)), 0) end
   local p, got = ffi.cast("uint8_t *", t:data()), 0
   while got < size do
      local s = f:read(math.min(size - got, 2 ^ 20))
      if not s then break end
      ffi.copy(p + got, s, #s)
      got = got + #s
   end
   local extra = f:read(1)
   f:close()
   if got ~= size or extra then
      error(("%s: changed while being read (%d bytes expected, %d read); read it again when nothing writes it")
         :format(path, size, got), 0)
   end
   return t
end

--- The records in a uint8 tensor of bytes (an archive member): uint8 [N, record] view.
function M.of_bytes(bytes, record, where, fix)
   local n = count(bytes:numel(), record, where, fix)
   return bytes:view(n, record)
end

--- Raises unless byte `offset` (0-based) of every record is below `limit`,
-- naming the first record (0-based) that is not.
function M.check_byte(recs, offset, limit, where, what, fix)
   local n, rec = recs:size(1), recs:size(2)
   local c = recs:contiguous()   -- a local, so the copy outlives the loop (p does not hold it)
   local p = ffi.cast("const uint8_t *", c:data())
   for i = 0, n - 1 do
      local v = p[i * rec + offset]
      if v >= limit then
         error(("%s: record %d has %s %d, outside 0..%d; %s"):format(where, i, what, v, limit - 1, fix), 0)
      end
   end
   c:free()   -- it holds the records' memory (or a copy of it) until freed or collected
end

return M
