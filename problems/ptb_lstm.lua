--- ptb_lstm: deepobs/pytorch/testproblems/ptb_lstm.py (its CharRNN) of the PyTorch fork of
-- DeepOBS (github.com/govorunov/deepobs).
--
-- V is the vocabulary of the data set (the runner passes it to build); 50
-- when built without data (--info, the parameter-count spec).
-- PyTorch's defaults, which the fork keeps: nn.Embedding N(0, 1); nn.LSTM
-- every weight and both biases U(+-1/sqrt(128)); nn.Linear weight and bias
-- U(+-1/sqrt(128)). The engine's fused dob.lstm takes one bias: the two
-- PyTorch biases are added before the call (the same sum PyTorch forms).
-- The fork carries the state across shuffled sequences and never resets it;
-- we read contiguous streams (datasets/ptb.lua) and reset at every phase, as
-- tolstoi_char_rnn does.
local dob = require "deepobs"
local A = require "problems._arch"
local define = require "problems._define"

local M = {}

M.DEFAULT_VOCAB = 50
local H, LAYERS, P_DROP = 128, 2, 0.2

function M.build_model(opts)
   opts = opts or {}
   local v = opts.vocab_size or M.DEFAULT_VOCAB
   local m = A.module("PTBCharLSTM")
   m.vocab_size, m.hidden = v, H
   m:param("embedding", dob.empty(v, H))
   dob.no_grad(function() m.embedding:normal_(0, 1) end)
   local k = 1 / math.sqrt(H)
   m.layers = {}
   for l = 1, LAYERS do
      local cell = A.module("LSTM")
      for _, name in ipairs { "w_ih", "w_hh" } do cell:param(name, dob.empty(4 * H, H)) end
      for _, name in ipairs { "b_ih", "b_hh" } do cell:param(name, dob.empty(4 * H)) end
      dob.no_grad(function()
         for _, name in ipairs { "w_ih", "w_hh", "b_ih", "b_hh" } do cell[name]:uniform_(-k, k) end
      end)
      m:child("lstm" .. l, cell)
      m.layers[l] = cell
   end
   m:param("fc_w", dob.empty(v, H))
   m:param("fc_b", dob.empty(v))
   dob.no_grad(function() m.fc_w:uniform_(-k, k); m.fc_b:uniform_(-k, k) end)
   m.dropout = dob.dropout
   return m
end

M.reset_state = A.reset_state

--- x, y int64 [B, L] -> per-sequence mean CE [B], nil, accuracy over B x L
function M.forward(model, batch, phase)
   local training = phase == "train"
   local x, y = batch.x, batch.y
   local B, T = x:size(1), x:size(2)
   local st = A.carried_state("ptb_lstm", model, batch, B)
   local drop = model.dropout
   local seq = drop(dob.embedding(model.embedding, x:t():contiguous()), P_DROP, training) -- [T, B, H]
   local new = {}
   for l, cell in ipairs(model.layers) do
      local h0, c0
      if st then h0, c0 = st[2 * l - 1], st[2 * l] end
      local out, hn, cn = dob.lstm(seq, cell.w_ih, cell.w_hh, cell.b_ih + cell.b_hh, h0, c0, 0)
      -- nn.LSTM's dropout acts between the layers only; the model's own dropout follows the last
      seq = drop(out, P_DROP, training)
      new[2 * l - 1], new[2 * l] = hn:detach(), cn:detach()
   end
   model.state = new
   return A.sequence_losses(dob.linear(seq:reshape(T * B, H), model.fc_w, model.fc_b), y)
end

return define({
   name = "ptb_lstm",
   dataset = "ptb",
   dataset_opts = { seq_length = 50 },
   batch_size = 64, num_epochs = 30,
   weight_decay = nil,
   has_accuracy = true,
   description = "Penn Treebank characters, sequences of 50; embedding Vx128, dropout 0.2, 2-layer LSTM(128) "
      .. "with dropout 0.2 between the layers, dropout 0.2, linear 128->V; PyTorch default initialisers; "
      .. "per-sequence mean cross-entropy; state carried across batches, reset at each phase "
      .. "(DeepOBS fork; 257 V + 264,192 parameters)",
   build = function(opts) return M.build_model { vocab_size = opts.vocab_size } end,
   forward = M.forward,
   start_phase = A.reset_state,
   -- a checkpoint inside an epoch saves the LSTM state carried to the next batch
   get_carried = A.get_carried, set_carried = A.set_carried,
}, { model = M })
