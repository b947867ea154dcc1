--- Character-level text data shared by Tolstoi and Penn Treebank: UTF-8
-- decoding, the frequency-ranked vocabulary of DeepOBS's
-- `_tolstoi_preprocess.py`, and the contiguous-stream batching of DeepOBS's
-- `tolstoi.py` (spec §B.6).
--
--    local text = require "datasets.pipeline.stream"
--    local cps = text.codepoints(s)                 -- Lua array of code points
--    local vocab = text.vocab_by_frequency(cps)     -- code points, most frequent first
--    local ids = text.encode(cps, vocab)            -- int64 tensor
--    local s = text.stream_split { name = "train", ids = ids, batch_size = 50, seq_length = 50 }
--    for batch in s:batches() do ... batch.x, batch.y: int64 [B, L] ... end
--    for batch in s:batches(nil, 7) do ... end       -- from batch 7 on (resuming)
local ffi = require "ffi"
local dob = require "deepobs"
local split = require "datasets.pipeline.split"

local M = {}

--- the Unicode code points of a UTF-8 string (what Python 3 iterates over
-- after reading the file as utf-8). Invalid UTF-8 is an error naming `what`
-- and the byte offset.
function M.codepoints(s, what)
   local out, n = {}, 0
   local p = ffi.cast("const uint8_t *", s)
   local len, i = #s, 0
   while i < len do
      local b = p[i]
      local cp, extra
      if b < 0x80 then cp, extra = b, 0
      elseif b >= 0xC2 and b < 0xE0 then cp, extra = b - 0xC0, 1
      elseif b >= 0xE0 and b < 0xF0 then cp, extra = b - 0xE0, 2
      elseif b >= 0xF0 and b < 0xF5 then cp, extra = b - 0xF0, 3
      else
         error(("%s: not valid UTF-8 (byte 0x%02x at offset %d)"):format(what or "text", b, i), 0)
      end
      if i + extra > len - 1 then
         error(("%s: not valid UTF-8 (truncated sequence at offset %d)"):format(what or "text", i), 0)
      end
      for k = 1, extra do
         local c = p[i + k]
         if c < 0x80 or c >= 0xC0 then
            error(("%s: not valid UTF-8 (byte 0x%02x at offset %d)"):format(what or "text", c, i + k), 0)
         end
         cp = cp * 64 + (c - 0x80)
      end
      n = n + 1
      out[n] = cp
      i = i + extra + 1
   end
   return out
end

local function utf8_char(cp)
   if cp < 0x80 then return string.char(cp) end
   if cp < 0x800 then return string.char(0xC0 + math.floor(cp / 64), 0x80 + cp % 64) end
   if cp < 0x10000 then
      return string.char(0xE0 + math.floor(cp / 4096), 0x80 + math.floor(cp / 64) % 64, 0x80 + cp % 64)
   end
   return string.char(0xF0 + math.floor(cp / 262144), 0x80 + math.floor(cp / 4096) % 64,
      0x80 + math.floor(cp / 64) % 64, 0x80 + cp % 64)
end
M.utf8_char = utf8_char

--- DeepOBS's vocabulary: characters sorted by descending count, ties in
-- order of first occurrence (Python's Counter keeps insertion order and
-- `sorted(..., key=lambda x: -x[1])` is stable). Returns the list of code
-- points; id = position - 1.
function M.vocab_by_frequency(cps)
   local count, first, chars = {}, {}, {}
   for i = 1, #cps do
      local c = cps[i]
      local k = count[c]
      if k then count[c] = k + 1
      else
         count[c] = 1
         first[c] = i
         chars[#chars + 1] = c
      end
   end
   table.sort(chars, function(a, b)
      if count[a] ~= count[b] then return count[a] > count[b] end
      return first[a] < first[b]
   end)
   return chars
end

--- DeepOBS fork's PTB vocabulary: the sorted set of characters (by code point).
function M.vocab_sorted(cps)
   local seen, chars = {}, {}
   for i = 1, #cps do
      local c = cps[i]
      if not seen[c] then seen[c] = true; chars[#chars + 1] = c end
   end
   table.sort(chars)
   return chars
end

--- ids (int64 tensor [#cps]) of the code points under `vocab` (a list of
-- code points); a character outside the vocabulary is an error.
function M.encode(cps, vocab, what)
   local id = {}
   for i, c in ipairs(vocab) do id[c] = i - 1 end
   local n = #cps
   local t = dob.empty(math.max(n, 1), "int64")
   if n == 0 then return t:narrow(1, 1, 0) end
   local p = ffi.cast("int64_t *", t:data())
   for i = 1, n do
      local v = id[cps[i]]
      if not v then
         error(("%s: character %q (U+%04X) at position %d is not in the vocabulary"):format(what or "text",
            utf8_char(cps[i]), cps[i], i), 0)
      end
      p[i - 1] = v
   end
   return t
end

--- the vocabulary as one UTF-8 string, the characters in id order (the
-- vocabulary file format: no separators, each character once, newline included)
function M.vocab_string(vocab)
   local parts = {}
   for i, c in ipairs(vocab) do parts[i] = utf8_char(c) end
   return table.concat(parts)
end

function M.read_file(path)
   local f, err = io.open(path, "rb")
   if not f then error(("%s: cannot open (%s)"):format(path, tostring(err)), 0) end
   local s = f:read("*a")
   f:close()
   return s
end

function M.write_file(path, s)
   local tmp = path .. ".part"
   local f, err = io.open(tmp, "wb")
   if not f then error(("cannot create %s (%s)"):format(tmp, tostring(err)), 0) end
   f:write(s)
   f:close()
   assert(os.rename(tmp, path))
end

---------------------------------------------------------------------------------------
-- contiguous-stream batching (DeepOBS tolstoi.py, spec §B.6)

local Stream = {}
Stream.__index = Stream

--- stream_split { name, ids (int64 [N]), batch_size B, seq_length L, num_batches (optional cap) }
-- nb = floor((N - 1) / (B L)); x = ids[0 .. nb B L), y = ids[1 .. nb B L];
-- both reshaped to (B, nb L) and cut along the columns into nb batches of
-- (B, L): row b of batch i + 1 continues row b of batch i. No shuffling.
function M.stream_split(o)
   local ids, B, L = o.ids, o.batch_size, o.seq_length or 50
   if type(B) ~= "number" or B < 1 or B % 1 ~= 0 then
      error(("batch size must be a positive integer, got %s"):format(tostring(B)), 2)
   end
   if ids:dtype() ~= "int64" or ids:dim() ~= 1 then error("stream_split: ids must be a 1-D int64 tensor", 2) end
   local n = ids:size(1)
   local nb = math.floor((n - 1) / (B * L))
   if nb < 1 then
      error(("the %s split (%d characters) is too short for one batch of %d x %d (+1) characters")
         :format(o.name or "?", n, B, L), 2)
   end
   local x = ids:narrow(1, 1, nb * B * L):view(B, nb * L)
   local y = ids:narrow(1, 2, nb * B * L):view(B, nb * L)
   local shown = nb
   if o.num_batches then shown = math.min(o.num_batches, nb) end
   return setmetatable({ name = o.name, batch_size = B, seq_length = L, num_batches = shown,
      size = n, x = x, y = y }, Stream)
end

--- for batch in split:batches() do ... end; batch.x, batch.y int64 [B, L].
-- The seed argument is accepted and ignored (the order is fixed); start
-- (0-based, default 0) is the first batch yielded (see datasets/pipeline/split.lua).
function Stream:batches(seed, start)
   local i = split.check_start(self.name, start, self.num_batches)
   local nb, L = self.num_batches, self.seq_length
   local x, y = self.x, self.y
   return function()
      if i >= nb then return nil end
      local b = { x = x:narrow(2, i * L + 1, L):contiguous(), y = y:narrow(2, i * L + 1, L):contiguous() }
      i = i + 1
      return b
   end
end

--- The dataset's streams over the ids of its training and test texts:
-- { train, train_eval, test, valid (only with o.validation) }.
-- o = { train, test (int64 ids), batch_size, seq_length, train_eval_size (in
-- characters), validation, train_path, test_path (named in errors) }.
-- Without validation, train_eval = the first train_eval_size // B training
-- batches (DeepOBS 1.1 tolstoi.py). With validation (DeepOBS 1.2
-- deepobs/tensorflow/datasets/tolstoi.py): valid = a stream over the first
-- train_eval_size characters of the training text, train = a stream over the
-- rest, train_eval = the first train_eval_size // (B L) batches of that train.
function M.stream_splits(o)
   local train, bs, L, te = o.train, o.batch_size, o.seq_length, o.train_eval_size
   local valid, te_batches
   if not o.validation then
      te_batches = math.floor(te / bs)
   else
      local n = train:size(1)
      if type(te) ~= "number" or te < 1 or te % 1 ~= 0 or te >= n then
         error(("%s: cannot hold out %s of its %d characters for validation; give a train_eval_size from 1 to %d")
            :format(o.train_path, tostring(te), n, n - 1), 0)
      end
      valid, train = train:narrow(1, 1, te), train:narrow(1, te + 1, n - te)
      te_batches = math.floor(te / (bs * L))
   end
   local function stream(name, ids, path, nb)
      local ok, s = pcall(M.stream_split, { name = name, ids = ids, batch_size = bs, seq_length = L, num_batches = nb })
      if not ok then error(("%s: %s"):format(path, s), 0) end
      return s
   end
   return {
      train = stream("train", train, o.train_path),
      train_eval = stream("train_eval", train, o.train_path, te_batches),
      valid = valid and stream("valid", valid, o.train_path),
      test = stream("test", o.test, o.test_path),
   }
end

return M
