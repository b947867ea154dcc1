--- Tolstoi: War and Peace as characters (DeepOBS 1.1,
-- deepobs/tensorflow/datasets/tolstoi.py and deepobs/scripts/_tolstoi_preprocess.py).
--
--    local ds = require("datasets.tolstoi").load { data_dir = nil, batch_size = 50 }
--    ds.train, ds.train_eval, ds.test     -- stream splits (datasets/pipeline/stream.lua)
--    batch.x, batch.y: int64 [B, 50], y = x shifted by one character
--
-- Files in <data_dir>/tolstoi (else $DEEPOBS_DATA_DIR/tolstoi, else
-- ./data_deepobs/tolstoi): train.npy and test.npy (int64 character ids, numpy
-- format), written by prepare() from input.txt (scripts/prepare_data.sh tolstoi).
-- prepare() is DeepOBS's preprocessing: the 83 characters ranked by
-- descending frequency (ties: first occurrence), the text as ids, train =
-- the first ceil(0.8 N) ids, test = the rest; the vocabulary goes to
-- vocab.txt (the characters in id order, UTF-8, no separators) where DeepOBS
-- pickled it to vocab.pkl.
--
-- Splits (contiguous streams, no shuffling): train = all floor((N-1)/(B 50))
-- batches in order; train_eval = the first train_eval_size // B batches of
-- the training stream (default 653,237 // B, which DeepOBS meant as a
-- character count; it exceeds the number of training batches, so all of them
-- are evaluated, as in 1.1); test = all test batches.
--
-- validation = true (DeepOBS 1.2, deepobs/tensorflow/datasets/tolstoi.py:
-- `valid_data = data[0:train_eval_size]`, `train_data =
-- data[train_eval_size:]`, train_eval = `train_data.take(train_eval_size //
-- (batch_size * seq_length))`): valid = a stream over the first
-- train_eval_size (653,237) characters of train.npy, the same batches for
-- every seed (261 batches at B = 50); train = a stream over the rest (about
-- 1,959,713 characters of the real set: 783 batches); train_eval = its first
-- train_eval_size // (B L) batches (261 at B = 50), 1.2's count, which reads
-- the size as characters as its docstring meant.
local ffi = require "ffi"
local file = require "datasets.formats.file"
local npy = require "datasets.formats.npy"
local utf8 = require "datasets.formats.utf8"
local locate = require "datasets.pipeline.locate"
local split_rule = require "datasets.pipeline.split_rule"
local stream = require "datasets.pipeline.stream"
local vocab_of = require "datasets.pipeline.vocab"

local M = {}

M.VOCAB_SIZE = 83
M.SEQ_LENGTH = 50
M.TRAIN_EVAL_SIZE = 653237
local HINT = "Prepare it with: scripts/prepare_data.sh tolstoi  (downloads War and Peace and runs scripts/tolstoi_prepare.lua)\n"
   .. "or pass --data_dir DIR (the folder holding tolstoi/)."

--- DeepOBS's preprocessing of DIR/input.txt into DIR/train.npy, DIR/test.npy
-- and DIR/vocab.txt. opts.expect_vocab (default 83; false: any) checks the
-- vocabulary size the char-RNN is built for. Returns a summary table.
function M.prepare(dir, opts)
   opts = opts or {}
   local input = dir .. "/input.txt"
   local again = "run scripts/prepare_data.sh tolstoi again"
   local cps = utf8.codepoints(file.read_all(input, again), input, again)
   if #cps < 2 then error(input .. ": the text is empty; run scripts/prepare_data.sh tolstoi again", 0) end
   local vocab = vocab_of.by_frequency(cps)
   local expect = opts.expect_vocab
   if expect == nil then expect = M.VOCAB_SIZE end
   if expect and #vocab ~= expect then
      error(("%s: %d distinct characters, DeepOBS's War and Peace has %d; the download or the line deletions "
         .. "differ from DeepOBS's (delete the folder and run scripts/prepare_data.sh tolstoi again)")
         :format(input, #vocab, expect), 0)
   end
   local ids = vocab_of.encode(cps, vocab, input)
   local n = #cps
   local n_train = math.ceil(0.8 * n)
   npy.write(dir .. "/train.npy", ids:narrow(1, 1, n_train))
   npy.write(dir .. "/test.npy", ids:narrow(1, n_train + 1, n - n_train))
   file.write_atomic(dir .. "/vocab.txt", vocab_of.to_string(vocab))
   return { chars = n, train = n_train, test = n - n_train, vocab = vocab }
end

-- checks that every id lies in [0, vocab)
local function check_ids(t, path, vocab, fix)
   local p = ffi.cast("const int64_t *", t:data())
   for i = 0, t:numel() - 1 do
      local v = p[i]
      if v < 0 or v >= vocab then
         error(("%s: id %d at position %d is outside the vocabulary 0..%d; the file may be corrupt: %s"):format(path,
            tonumber(v), i, vocab - 1, fix), 0)
      end
   end
end

--- reads one .npy id file: 1-D int64 ids below `vocab`; fix (what to do
-- about a bad file) ends the errors
function M.read_ids(path, vocab, fix)
   fix = fix or "delete the folder and run scripts/prepare_data.sh tolstoi again"
   local t = npy.read(path)
   if t:dtype() ~= "int64" or t:dim() ~= 1 then
      error(("%s: expected a 1-D int64 array of character ids, got a %d-D %s array; %s")
         :format(path, t:dim(), t:dtype(), fix), 0)
   end
   check_ids(t, path, vocab, fix)
   return t
end

--- Generic loader for the character-stream datasets (Tolstoi, PTB).
-- spec = { name, title, vocab_size, seq_length, train_eval_size, hint }
function M.load_stream_dataset(spec, opts)
   opts = opts or {}
   local dirs = locate.search_dirs(opts.data_dir, spec.name)
   local dir = locate.with_files(dirs, { "train.npy", "test.npy" }, spec.title,
      ("delete the folder and run scripts/prepare_data.sh %s again"):format(spec.name))
   if not dir then
      error(("%s not found: expected train.npy and test.npy in one of these folders:\n  %s\n%s")
         :format(spec.title, table.concat(dirs, "\n  "), spec.hint), 0)
   end
   local vocab = opts.vocab_size or spec.vocab_size
   local train_path, test_path = dir .. "/train.npy", dir .. "/test.npy"
   local fix = ("delete the folder and run scripts/prepare_data.sh %s again"):format(spec.name)
   local ds = split_rule.splits { kind = stream.kind(opts.seq_length or spec.seq_length, fix),
      train = { ids = M.read_ids(train_path, vocab, fix), path = train_path },
      test = { ids = M.read_ids(test_path, vocab, fix), path = test_path },
      batch_size = opts.batch_size or 50, train_eval_size = opts.train_eval_size or spec.train_eval_size,
      validation = opts.validation, what = train_path }
   ds.name, ds.dir, ds.vocab_size = spec.name, dir, vocab
   return ds
end

--- opts: data_dir, batch_size (50), train_eval_size (653,237), seq_length (50),
-- validation (hold out ds.valid, see above); vocab_size (83) bounds the ids.
function M.load(opts)
   return M.load_stream_dataset({ name = "tolstoi", title = "Tolstoi (War and Peace)", vocab_size = M.VOCAB_SIZE,
      seq_length = M.SEQ_LENGTH, train_eval_size = M.TRAIN_EVAL_SIZE, hint = HINT }, opts)
end

return M
