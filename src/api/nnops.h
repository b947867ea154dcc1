/* Neural-network building blocks. */
/* dropout: zero with probability p, scale the rest by 1/(1-p); training = 0 is
   the identity. Uses the global generator. */
dob_tensor *dob_dropout(dob_tensor *x, double p, int training);
/* softmax / log-softmax along dim */
dob_tensor *dob_softmax(dob_tensor *x, int dim);
dob_tensor *dob_log_softmax(dob_tensor *x, int dim);
/* embedding: weight [V, D], indices I64 of any shape -> [..., D] */
dob_tensor *dob_embedding(dob_tensor *weight, const dob_tensor *indices);
/* one_hot: I64 indices -> F32 [..., depth] (not differentiable) */
dob_tensor *dob_one_hot(const dob_tensor *indices, int64_t depth);
/* index_select along dim with I64 indices (differentiable w.r.t. t) */
dob_tensor *dob_index_select(dob_tensor *t, int dim, const dob_tensor *indices);
/* LSTM layer over a sequence, gates stacked [i, f, g, o] (PyTorch layout):
   x [T,B,I], w_ih [4H,I], w_hh [4H,H], bias [4H] or NULL, h0,c0 [B,H] or NULL
   (zeros). forget_bias is added to the forget gate pre-activation (TF1
   LSTMCell uses 1.0). Returns the outputs [T,B,H]; *hn, *cn (if not NULL)
   get the final states [B,H], differentiable too. */
dob_tensor *dob_lstm(dob_tensor *x, dob_tensor *w_ih, dob_tensor *w_hh, dob_tensor *bias,
                     dob_tensor *h0, dob_tensor *c0, double forget_bias,
                     dob_tensor **hn, dob_tensor **cn);
/* scaled dot-product attention: q,k,v [B,H,T,D] -> [B,H,T,D];
   causal masks j > i; scale <= 0 means 1/sqrt(D); dropout_p on the
   attention probabilities when training. */
dob_tensor *dob_attention(dob_tensor *q, dob_tensor *k, dob_tensor *v, int causal,
                          double scale, double dropout_p, int training);
/* self-attention on packed projections: qkv [B,T,3 heads D] holds q, k, v as
   its thirds (qkv.view(B,T,3,heads,D)); -> [B,T,heads D], head h in columns
   [h D, (h+1) D). The same numbers as attention on the permuted thirds, without
   the copies. Arguments as attention's. */
dob_tensor *dob_self_attention(dob_tensor *qkv, int heads, int causal, double scale, double dropout_p,
                               int training);
