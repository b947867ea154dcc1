--- ptb_gpt_micro: deepobs/pytorch/testproblems/ptb_gpt_micro.py and _gpt_micro.py of the
-- PyTorch fork of DeepOBS (github.com/govorunov/deepobs).
--
-- V is the vocabulary of the data set (the runner passes it to build); 50
-- when built without data. GELU is the exact (erf) one, as PyTorch's
-- nn.GELU; LayerNorm eps 1e-5. The model is stateless: every sequence of a
-- batch is read from its start.
local dob = require "deepobs"
local A = require "problems._arch"
local define = require "problems._define"

local M = {}

M.DEFAULT_VOCAB = 50
local D, HEADS, BLOCKS, MLP, MAX_T = 128, 4, 6, 512, 128
local P_DROP = 0.1

local function normal(t) dob.no_grad(function() t:normal_(0, 0.02) end); return t end

local function linear(nin, nout)
   return dob.nn.Linear(nin, nout, { weight_init = normal, bias_init = function(t) return dob.nn.init.constant_(t, 0) end })
end

function M.build_model(opts)
   opts = opts or {}
   local v = opts.vocab_size or M.DEFAULT_VOCAB
   local m = A.module("GPTMicro")
   m.vocab_size = v
   m:param("tok_emb", normal(dob.empty(v, D)))
   m:param("pos_emb", normal(dob.empty(MAX_T, D)))
   m.blocks = {}
   for b = 1, BLOCKS do
      local blk = A.module("Block")
      blk:child("ln1", dob.nn.LayerNorm(D, { eps = 1e-5 }))
      blk:child("qkv", linear(D, 3 * D))
      blk:child("o_proj", linear(D, D))
      blk:child("ln2", dob.nn.LayerNorm(D, { eps = 1e-5 }))
      blk:child("fc1", linear(D, MLP))
      blk:child("fc2", linear(MLP, D))
      m:child("block" .. b, blk)
      m.blocks[b] = blk
   end
   m:child("ln_f", dob.nn.LayerNorm(D, { eps = 1e-5 }))
   m.dropout = dob.dropout
   return m
end

--- logits [B T, V] of x int64 [B, T] (row (b - 1) T + t: position t of sequence b)
function M.logits(model, x, training)
   local B, T = x:size(1), x:size(2)
   if T > MAX_T then error(("ptb_gpt_micro: sequences of %d characters, at most %d"):format(T, MAX_T), 0) end
   local drop = model.dropout
   local h = dob.embedding(model.tok_emb, x) + model.pos_emb:narrow(1, 1, T)
   h = drop(h, P_DROP, training)
   for _, blk in ipairs(model.blocks) do
      local qkv = blk.qkv(blk.ln1(h))                           -- [B, T, 3D]: q, k, v, heads within each
      local a = dob.self_attention(qkv, HEADS, { causal = true, dropout = P_DROP, training = training })
      h = h + blk.o_proj(a)
      h = h + drop(blk.fc2(blk.fc1(blk.ln2(h)):gelu()), P_DROP, training)
   end
   h = model.ln_f(h)
   return dob.linear(h:reshape(B * T, D), model.tok_emb) -- tied output layer, no bias
end

--- x, y int64 [B, T] -> per-sequence mean CE [B], nil, accuracy over B x T
function M.forward(model, batch, phase)
   local B, T = batch.x:size(1), batch.x:size(2)
   local logits = M.logits(model, batch.x, phase == "train")
   local labels = batch.y:reshape(B * T)
   local ce = dob.softmax_cross_entropy(logits, labels):view(B, T)
   return ce:mean(2), nil, dob.accuracy(logits, labels)
end

return define({
   name = "ptb_gpt_micro",
   dataset = "ptb",
   dataset_opts = { seq_length = 128 },
   batch_size = 64, num_epochs = 30,
   weight_decay = nil,
   has_accuracy = true,
   description = "Penn Treebank characters, sequences of 128; token + learned position embeddings, 6 pre-LayerNorm "
      .. "blocks (causal attention 4 x 32 heads, MLP 128->512 GELU ->128, dropout 0.1), final LayerNorm, output tied "
      .. "to the token embedding; N(0, 0.02) weights; per-sequence mean cross-entropy "
      .. "(DeepOBS fork; 1,206,272 + 128 V parameters)",
   build = function(opts) return M.build_model { vocab_size = opts.vocab_size } end,
   forward = M.forward,
}, { model = M })
