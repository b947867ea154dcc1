--- Penn Treebank as characters (Marcus et al., "Building a Large Annotated
-- Corpus of English: The Penn Treebank", 1993; the DeepOBS PyTorch fork's
-- `penn_treebank` dataset), batched as contiguous streams like Tolstoi
-- (datasets/tolstoi.lua).
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
-- (deepobs/tensorflow/datasets/tolstoi.py, datasets/pipeline/split_rule.lua):
-- valid = a stream over the first train_eval_size characters of ptb.train.txt
-- (the test text's length, as above), train = a stream over the rest,
-- train_eval = the first train_eval_size // (B L) batches of that train.
local file = require "datasets.formats.file"
local utf8 = require "datasets.formats.utf8"
local locate = require "datasets.pipeline.locate"
local split_rule = require "datasets.pipeline.split_rule"
local stream = require "datasets.pipeline.stream"
local vocab_of = require "datasets.pipeline.vocab"

local M = {}

M.FOLDER = "penn_treebank"
M.FILES = { train = "ptb.train.txt", test = "ptb.test.txt" }
local HINT = "Download them with: scripts/prepare_data.sh ptb\nor pass --data_dir DIR (the folder holding penn_treebank/)."

--- opts: data_dir, batch_size (64), seq_length (50), train_eval_size (the test
-- text's length), validation (hold out ds.valid, see above).
function M.load(opts)
   opts = opts or {}
   local dirs = locate.search_dirs(opts.data_dir, M.FOLDER)
   local dir = locate.with_files(dirs, { M.FILES.train, M.FILES.test }, "Penn Treebank",
      "download them again with scripts/prepare_data.sh ptb")
   if not dir then
      error(("Penn Treebank not found: expected %s and %s in one of these folders:\n  %s\n%s"):format(M.FILES.train,
         M.FILES.test, table.concat(dirs, "\n  "), HINT), 0)
   end
   local tpath, epath = dir .. "/" .. M.FILES.train, dir .. "/" .. M.FILES.test
   local fix = "download it again with scripts/prepare_data.sh ptb"
   local train_cps = utf8.codepoints(file.read_all(tpath, fix), tpath, fix)
   local test_cps = utf8.codepoints(file.read_all(epath, fix), epath, fix)
   local all = {}
   for i = 1, #train_cps do all[i] = train_cps[i] end
   for i = 1, #test_cps do all[#train_cps + i] = test_cps[i] end
   local vocab = vocab_of.sorted(all)
   local ds = split_rule.splits { kind = stream.kind(opts.seq_length or 50, fix),
      train = { ids = vocab_of.encode(train_cps, vocab, tpath), path = tpath },
      test = { ids = vocab_of.encode(test_cps, vocab, epath), path = epath },
      batch_size = opts.batch_size or 64, train_eval_size = opts.train_eval_size or #test_cps,
      validation = opts.validation, what = tpath }
   ds.name, ds.dir, ds.vocab, ds.vocab_size = "ptb", dir, vocab, #vocab
   return ds
end

return M
