--- Contiguous-stream batching of character ids (DeepOBS 1.1,
-- deepobs/tensorflow/datasets/tolstoi.py), for Tolstoi and Penn Treebank.
--
--    local stream = require "datasets.pipeline.stream"
--    local s = stream.new { name = "train", ids = ids, batch_size = 50, seq_length = 50 }
--    for batch in s:batches() do ... batch.x, batch.y: int64 [B, L] ... end
--    for batch in s:batches(nil, 7) do ... end       -- from batch 7 on (resuming)
--    stream.kind(50, fix) -- the split kind of datasets/pipeline/split_rule.lua; fix ends its errors
local split = require "datasets.pipeline.split"

local M = {}

local Stream = {}
Stream.__index = Stream

--- new { name, ids (int64 [N]), batch_size B, seq_length L, num_batches (optional cap) }
-- nb = floor((N - 1) / (B L)); x = ids[0 .. nb B L), y = ids[1 .. nb B L];
-- both reshaped to (B, nb L) and cut along the columns into nb batches of
-- (B, L): row b of batch i + 1 continues row b of batch i. No shuffling.
function M.new(o)
   local ids, B, L = o.ids, o.batch_size, o.seq_length or 50
   if type(B) ~= "number" or B < 1 or B % 1 ~= 0 then
      error(("batch size must be a positive integer, got %s"):format(tostring(B)), 2)
   end
   if type(L) ~= "number" or L < 1 or L % 1 ~= 0 then
      error(("sequence length must be a positive integer, got %s"):format(tostring(L)), 2)
   end
   if ids:dtype() ~= "int64" or ids:dim() ~= 1 then error("stream.new: ids must be a 1-D int64 tensor", 2) end
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

--- The kind of id streams for datasets/pipeline/split_rule.lua, cut into
-- rows of seq_length characters: examples are { ids = int64 [N], path = the
-- file named in errors }, never shuffled. train_eval counts train_eval_size //
-- batch_size batches as DeepOBS 1.1 did (deepobs/tensorflow/datasets/
-- tolstoi.py: the size meant as characters, read as sequences), and with
-- validation train_eval_size // (batch_size seq_length), DeepOBS 1.2's count.
-- fix (optional) says how to get the file again, for a split too short.
function M.kind(seq_length, fix)
   return {
      unit = "characters",
      count = function(ex) return ex.ids:size(1) end,
      slice = function(ex, first, n) return { ids = ex.ids:narrow(1, first, n), path = ex.path } end,
      train_eval_batches = function(te, bs, validation)
         if validation then return math.floor(te / (bs * seq_length)) end
         return math.floor(te / bs)
      end,
      split = function(name, ex, o)
         local ok, s = pcall(M.new, { name = name, ids = ex.ids, batch_size = o.batch_size, seq_length = seq_length,
            num_batches = o.num_batches })
         if not ok then
            local hint = fix and ("; the file may be truncated (%s), or ask for smaller batches"):format(fix) or ""
            error(("%s: %s%s"):format(ex.path, s, hint), 0)
         end
         return s
      end,
   }
end

return M
