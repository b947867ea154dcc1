--- tolstoi_char_rnn: DeepOBS's deepobs/tensorflow/testproblems/tolstoi_char_rnn.py.
--
-- TF1's LSTMCell computes [i, j, f, o] = [x, h] K + b with K [in + 128, 512],
-- c' = sigmoid(f + 1.0) c + sigmoid(i) tanh(j), h' = sigmoid(o) tanh(c').
-- The engine's fused dob.lstm keeps the same numbers as w_ih [512, in] and
-- w_hh [512, 128] with the gate blocks ordered [i, f, g=j, o] and adds the
-- forget bias itself; M.tf_kernel rebuilds TF's K from them. Glorot-uniform
-- on K has fans (in + 128, 512), so both halves draw from U(+-sqrt(6/768)).
-- The DropoutWrapper drops each input and each output element independently
-- per time step and never the carried state, so dropping the whole [T, B, D]
-- input and output sequences of the fused layer is the same computation.
local dob = require "deepobs"
local A = require "problems._arch"
local define = require "problems._define"
local init = dob.nn.init

local M = {}

local V, H, LAYERS = 83, 128, 2
local KEEP = 0.8
local FORGET_BIAS = 1.0

--- the model: embedding, two LSTM layers, softmax layer; vocab / hidden sizes
-- may be overridden for tests (opts.vocab_size, opts.hidden)
function M.build_model(opts)
   opts = opts or {}
   local v, h = opts.vocab_size or V, opts.hidden or H
   local m = A.module("CharRNN")
   m.vocab_size, m.hidden = v, h
   m:param("embedding", dob.empty(v, h))
   init.glorot_uniform_(m.embedding)
   m.layers = {}
   for l = 1, LAYERS do
      local cell = A.module("LSTMCell")
      local w_ih = cell:param("w_ih", dob.empty(4 * h, h))
      local w_hh = cell:param("w_hh", dob.empty(4 * h, h))
      local fans = { fan_in = h + h, fan_out = 4 * h }
      init.glorot_uniform_(w_ih, fans)
      init.glorot_uniform_(w_hh, fans)
      cell:param("bias", dob.zeros(4 * h))
      m:child("lstm" .. l, cell)
      m.layers[l] = cell
   end
   -- softmax_w [128, 83] in TF; stored [83, 128] (a Linear weight), same fans
   m:param("softmax_w", dob.empty(v, h))
   init.glorot_uniform_(m.softmax_w)
   -- get_variable's default initializer gives the 1-D bias U(+-sqrt(6/(83+83))) too
   m:param("softmax_b", dob.empty(v))
   init.glorot_uniform_(m.softmax_b)
   m.dropout = dob.dropout -- replaceable in tests to observe where dropout applies
   m.state = nil           -- { h1, c1, h2, c2 } [B, H] after the last batch, no gradient; nil = zeros
   return m
end

--- TF's LSTMCell kernel [in + H, 4H] (gate columns i, j, f, o) and bias [4H]
-- rebuilt from a layer's fused weights (gate rows i, f, g = j, o).
function M.tf_kernel(cell)
   local h = cell.w_hh:size(2)
   local function blocks(w) -- [4H, n] -> i, f, g, o blocks [H, n]
      return w:narrow(1, 1, h), w:narrow(1, h + 1, h), w:narrow(1, 2 * h + 1, h), w:narrow(1, 3 * h + 1, h)
   end
   local ii, fi, gi, oi = blocks(cell.w_ih)
   local ih, fh, gh, oh = blocks(cell.w_hh)
   local rows = dob.cat({ dob.cat({ ii, ih }, 2), dob.cat({ gi, gh }, 2), dob.cat({ fi, fh }, 2), dob.cat({ oi, oh }, 2) }, 1)
   local b = cell.bias
   local bias = dob.cat({ b:narrow(1, 1, h), b:narrow(1, 2 * h + 1, h), b:narrow(1, h + 1, h), b:narrow(1, 3 * h + 1, h) }, 1)
   return rows:t():contiguous():detach(), bias:detach()
end

--- Zero the carried LSTM state (TF's train/train_eval/test init ops do).
M.reset_state = A.reset_state

--- forward over one batch: x, y int64 [B, 50]. Returns per-sequence losses
-- [B] (mean over the time steps), no regularizer, the accuracy over all B x 50
-- predictions; the final state is kept (detached) for the next batch (a
-- different batch table; the same table again restarts from its own initial
-- state).
function M.forward(model, batch, phase)
   local training = phase == "train"
   local x, y = batch.x, batch.y
   local B, T = x:size(1), x:size(2)
   local h = model.hidden
   local st = A.carried_state("tolstoi_char_rnn", model, batch, B)
   local drop = model.dropout
   local p = 1 - KEEP
   local seq = dob.embedding(model.embedding, x:t():contiguous()) -- [T, B, H]
   local new = {}
   for l, cell in ipairs(model.layers) do
      seq = drop(seq, p, training) -- DropoutWrapper input_keep_prob
      local h0, c0
      if st then h0, c0 = st[2 * l - 1], st[2 * l] end
      local out, hn, cn = dob.lstm(seq, cell.w_ih, cell.w_hh, cell.bias, h0, c0, FORGET_BIAS)
      seq = drop(out, p, training) -- DropoutWrapper output_keep_prob
      new[2 * l - 1], new[2 * l] = hn:detach(), cn:detach()
   end
   model.state = new
   return A.sequence_losses(dob.linear(seq:reshape(T * B, h), model.softmax_w, model.softmax_b), y)
end

return define({
   name = "tolstoi_char_rnn",
   dataset = "tolstoi",
   batch_size = 50, num_epochs = 200,
   weight_decay = nil,
   has_accuracy = true,
   description = "War and Peace, 83 characters, sequences of 50; embedding 83x128, 2 x LSTMCell(128) "
      .. "(forget bias 1.0, dropout keep 0.8 on the input and output of each layer in training), softmax layer "
      .. "with Glorot-uniform weights and bias; per-sequence mean cross-entropy; LSTM state carried across "
      .. "batches, reset at each phase; 284,499 parameters (benchmark P8)",
   build = function() return M.build_model() end,
   forward = M.forward,
   -- the runner calls this when a train epoch, train_eval or test pass starts
   start_phase = A.reset_state,
   -- a checkpoint inside an epoch saves the LSTM state carried to the next batch
   get_carried = A.get_carried, set_carried = A.set_carried,
}, { model = M })
