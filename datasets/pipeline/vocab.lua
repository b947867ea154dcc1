--- Character vocabularies of the text datasets: DeepOBS's frequency-ranked
-- one (deepobs/scripts/_tolstoi_preprocess.py) and the PyTorch fork's sorted
-- one (datasets/ptb.lua), and the text as ids under a vocabulary.
--
--    local vocab = require "datasets.pipeline.vocab"
--    local v = vocab.by_frequency(cps)         -- code points, most frequent first
--    local ids = vocab.encode(cps, v, path)    -- int64 tensor, id = position in v - 1
--    vocab.to_string(v)                        -- the vocab.txt format
local ffi = require "ffi"
local dob = require "deepobs"
local utf8 = require "datasets.formats.utf8"

local M = {}

--- DeepOBS's vocabulary: characters sorted by descending count, ties in
-- order of first occurrence (Python's Counter keeps insertion order and
-- `sorted(..., key=lambda x: -x[1])` is stable). Returns the list of code
-- points; id = position - 1.
function M.by_frequency(cps)
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
function M.sorted(cps)
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
            utf8.char(cps[i]), cps[i], i), 0)
      end
      p[i - 1] = v
   end
   return t
end

--- the vocabulary as one UTF-8 string, the characters in id order (the
-- vocabulary file format: no separators, each character once, newline included)
function M.to_string(vocab)
   local parts = {}
   for i, c in ipairs(vocab) do parts[i] = utf8.char(c) end
   return table.concat(parts)
end

return M
