--- Penn Treebank as characters (the DeepOBS fork's `penn_treebank` dataset,
-- spec §B.10), batched as contiguous streams like Tolstoi (spec §B.6).
--
--    local ds = require("datasets.ptb").load { data_dir = nil, batch_size = 64, seq_length = 50 }
--    ds.train, ds.train_eval, ds.test, ds.vocab_size, ds.vocab (code points, id order)
--    batch.x, batch.y: int64 [B, L], y = x shifted by one character
--
-- Files: ptb.train.txt and ptb.test.txt (Zaremba's copies of Mikolov's
-- word-level PTB text, read as characters) in <data_dir>/penn_treebank (the
-- fork's folder name), else $DEEPOBS_DATA_DIR/penn_treebank, else
-- ./data_deepobs/penn_treebank; scripts/prepare_data.sh ptb downloads them.
-- The vocabulary is the fork's: the sorted set of the characters of the
-- training and the test text (id = rank by code point), built when loading.
--
-- Where we differ from the fork on purpose: the fork cuts the text into
-- non-overlapping sequences of L (+1) characters and shuffles them, while its
-- LSTM carries its state from one (unrelated) sequence to the next; we batch
-- both splits as Tolstoi's contiguous streams (row b of batch i+1 continues
-- row b of batch i, no shuffling), so a carried state continues the text it
-- has read, and the runner resets it at every phase. train_eval is, as in the
-- fork, train_eval_size // B batches with train_eval_size = the test text's
-- length in characters, which covers all training batches.
--
-- validation = true: the fork has none, so we follow DeepOBS 1.2's Tolstoi
-- (deepobs/tensorflow/datasets/tolstoi.py, datasets/pipeline/stream.lua stream_splits):
-- valid = a stream over the first train_eval_size characters of ptb.train.txt
-- (the test text's length, as above), train = a stream over the rest,
-- train_eval = the first train_eval_size // (B L) batches of that train.
local text = require "datasets.pipeline.stream"
local split = require "datasets.pipeline.split"

local M = {}

M.FOLDER = "penn_treebank"
M.FILES = { train = "ptb.train.txt", test = "ptb.test.txt" }
local HINT = "Download them with: scripts/prepare_data.sh ptb\nor pass --data_dir DIR (the folder holding penn_treebank/)."

local function exists(path)
   local f = io.open(path, "rb")
   if f then f:close(); return true end
   return false
end

--- opts: data_dir, batch_size (64), seq_length (50), train_eval_size (the test
-- text's length), validation (hold out ds.valid, see above).
function M.load(opts)
   opts = opts or {}
   local dirs = split.search_dirs(opts.data_dir, M.FOLDER)
   local dir
   for _, d in ipairs(dirs) do
      if exists(d .. "/" .. M.FILES.train) and exists(d .. "/" .. M.FILES.test) then dir = d; break end
   end
   if not dir then
      error(("Penn Treebank not found: expected %s and %s in one of these folders:\n  %s\n%s"):format(M.FILES.train,
         M.FILES.test, table.concat(dirs, "\n  "), HINT), 0)
   end
   local tpath, epath = dir .. "/" .. M.FILES.train, dir .. "/" .. M.FILES.test
   local train_cps = text.codepoints(text.read_file(tpath), tpath)
   local test_cps = text.codepoints(text.read_file(epath), epath)
   local all = {}
   for i = 1, #train_cps do all[i] = train_cps[i] end
   for i = 1, #test_cps do all[#train_cps + i] = test_cps[i] end
   local vocab = text.vocab_sorted(all)
   local bs = opts.batch_size or 64
   local L = opts.seq_length or 50
   local te = opts.train_eval_size or #test_cps
   local train = text.encode(train_cps, vocab, tpath)
   local test = text.encode(test_cps, vocab, epath)
   local splits = text.stream_splits { train = train, test = test, batch_size = bs, seq_length = L,
      train_eval_size = te, validation = opts.validation, train_path = tpath, test_path = epath }
   splits.name, splits.dir, splits.vocab, splits.vocab_size = "ptb", dir, vocab, #vocab
   return splits
end

return M
