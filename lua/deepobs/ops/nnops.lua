-- Neural-network building blocks (src/ops/nnops.c, src/ops/lstm.c, src/ops/attention.c):
-- dropout, softmax / log_softmax, embedding, one_hot, index_select, a fused
-- LSTM layer and scaled dot-product attention (also on packed q, k, v). Dims
-- are 1-based; the CONTENTS of index tensors are 0-based.
local ffi = require "ffi"
local T = require "deepobs.tensor"
local A = require "deepobs.argcheck"
local C = require("deepobs.C").lib
local Tensor, wrap, H, cdim, is_tensor = T.Tensor, T.wrap, T.H, T.cdim, T.is_tensor

local dob = {}

local out_t = ffi.typeof("dob_tensor *[1]")

local function num(v, what, default)
   if v == nil then return default end
   if type(v) ~= "number" then A.raise(("%s must be a number, got %s"):format(what, A.describe(v))) end
   return v
end

-- optional tensor argument: nil passes NULL
local function opt(t, what)
   if t == nil then return nil end
   return H(t, what)
end

--- dob.dropout(x, p, training): x with each element zeroed with probability p (default 0.5), the rest scaled by 1/(1-p)
-- training == false (or p == 0) returns x unchanged; differentiable.
function dob.dropout(x, p, training)
   if training == nil then training = true end
   return wrap(C.dob_dropout(H(x, "x"), num(p, "dropout: p", 0.5), training and 1 or 0))
end
--- x:dropout(p, training): dob.dropout(x, p, training), as a method
function Tensor:dropout(p, training) return dob.dropout(self, p, training) end

--- x:softmax(dim): e^x / sum(e^x) along dim (default -1, the last); differentiable
function Tensor:softmax(d) return wrap(C.dob_softmax(H(self), cdim(d or -1, "softmax"))) end
--- x:log_softmax(dim): log(softmax(x)) along dim (default -1), computed stably; differentiable
function Tensor:log_softmax(d) return wrap(C.dob_log_softmax(H(self), cdim(d or -1, "log_softmax"))) end
dob.softmax, dob.log_softmax = Tensor.softmax, Tensor.log_softmax

--- dob.embedding(weight, idx): the rows of weight [V, D] at idx (int64 [...], 0-based) -> [..., D]
-- differentiable in weight.
function dob.embedding(weight, idx)
   return wrap(C.dob_embedding(H(weight, "weight"), H(idx, "indices")))
end

--- dob.one_hot(idx, depth): float32 [..., depth] with 1 at each 0-based index of idx (int64 [...])
function dob.one_hot(idx, depth)
   return wrap(C.dob_one_hot(H(idx, "indices"), A.int("one_hot", "depth", depth)))
end
--- idx:one_hot(depth): dob.one_hot(idx, depth), as a method
function Tensor:one_hot(depth) return dob.one_hot(self, depth) end

--- x:index_select(dim, idx): the slices of x along dim at idx (int64 [K], 0-based), a new tensor
function Tensor:index_select(d, idx)
   return wrap(C.dob_index_select(H(self), cdim(d, "index_select"), H(idx, "indices")))
end
dob.index_select = Tensor.index_select

--- dob.lstm(x, w_ih, w_hh, bias, h0, c0, forget_bias): a fused LSTM layer -> outputs [T,B,H], hn [B,H], cn [B,H]
-- x [T,B,I], w_ih [4H,I], w_hh [4H,H], bias [4H] or nil, h0, c0 [B,H] or nil (zeros),
-- forget_bias (default 0) added to the forget gate. Gates in the order [i, f, g, o].
function dob.lstm(x, w_ih, w_hh, bias, h0, c0, forget_bias)
   local hn, cn = out_t(), out_t()
   local out = C.dob_lstm(H(x, "x"), H(w_ih, "w_ih"), H(w_hh, "w_hh"),
      opt(bias, "lstm: bias"), opt(h0, "lstm: h0"), opt(c0, "lstm: c0"),
      num(forget_bias, "lstm: forget_bias", 0), hn, cn)
   local o = wrap(out)
   return o, wrap(hn[0]), wrap(cn[0])
end

--- dob.attention(q, k, v, opts): scaled dot-product attention softmax(q k^T * scale) v, [B,H,T,D]
-- opts: causal (mask future positions), scale (default 1/sqrt(D)), dropout (probability),
-- training (default true).
function dob.attention(q, k, v, opts)
   opts = opts or {}
   if type(opts) ~= "table" then A.raise("attention: options must be a table") end
   local training = opts.training
   if training == nil then training = true end
   return wrap(C.dob_attention(H(q, "q"), H(k, "k"), H(v, "v"),
      opts.causal and 1 or 0, num(opts.scale, "attention: scale", 0),
      num(opts.dropout, "attention: dropout", 0), training and 1 or 0))
end

--- dob.self_attention(qkv, heads, opts): attention on packed projections, qkv [B,T,3 heads D] -> [B,T,heads D]
-- q, k, v are the thirds of qkv's last dim, each split into `heads` heads of D (qkv:view(B,T,3,heads,D));
-- head h of the result is columns h D + 1 .. (h + 1) D. The numbers of dob.attention on the permuted
-- thirds, transposed back, without the copies. opts as dob.attention's.
function dob.self_attention(qkv, heads, opts)
   opts = opts or {}
   if type(opts) ~= "table" then A.raise("self_attention: options must be a table") end
   local training = opts.training
   if training == nil then training = true end
   return wrap(C.dob_self_attention(H(qkv, "qkv"), A.cint("self_attention", "heads", heads, 1),
      opts.causal and 1 or 0, num(opts.scale, "self_attention: scale", 0),
      num(opts.dropout, "self_attention: dropout", 0), training and 1 or 0))
end

return dob
