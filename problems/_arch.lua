--- Shared pieces of the DeepOBS architectures (the layer helpers of
-- deepobs/tensorflow/testproblems/_*.py in the DeepOBS repository), written against
-- deepobs.nn. Layout: our tensors are NCHW (PyTorch-style weights), TF's
-- were NHWC. Every layer, padding, initialiser and parameter count is TF's;
-- the only visible difference is the order in which a flatten before a dense
-- layer enumerates (channel, row, column), which permutes the rows of that
-- dense kernel: the same function class and the same parameter count.
--
--    local A = require "problems._arch"
--    local net = nn.Sequential(A.conv(1, 32, 5, 1, A.truncated_normal(0.05), nil, "relu"))
--    forward = A.classify   -- softmax cross-entropy, model:regularizer(), accuracy
local dob = require "deepobs"
local nn = dob.nn
local init = nn.init

local A = {}

--- A bare module to hang parameters and children on (for the models that are
-- not a plain Sequential). forward is supplied by the problem.
function A.module(name)
   local m = setmetatable({ _params = {}, _buffers = {}, _children = {}, training = true }, nn.Module)
   m.describe = function() return name end
   return m
end

--- TF's tf.layers.dense(units) on a flattened input; kernel/bias initialisers
-- are functions of the tensor (default: Glorot-uniform kernel, zero bias).
-- activation "relu" is TF's activation=tf.nn.relu, fused into the layer's op.
function A.dense(nin, nout, kernel_init, bias_init, activation)
   return nn.Linear(nin, nout, { weight_init = kernel_init, bias_init = bias_init, activation = activation })
end

--- TF conv2d with padding "same" (asymmetric where TF pads asymmetrically);
-- activation as A.dense's
function A.conv(cin, cout, k, stride, kernel_init, bias_init, activation)
   return nn.Conv2d(cin, cout, k, { stride = stride or 1, padding = "SAME", weight_init = kernel_init,
      bias_init = bias_init, activation = activation })
end

--- TF conv2d_transpose with padding "same": output = input * stride; activation as A.dense's
function A.conv_transpose(cin, cout, k, stride, activation)
   return nn.ConvTranspose2d(cin, cout, k, { stride = stride or 1, padding = "SAME", activation = activation })
end

function A.truncated_normal(std) return function(t) return init.truncated_normal_(t, std) end end
function A.constant(v) return function(t) return init.constant_(t, v) end end

--- Classification forward: per-example softmax cross-entropy [B], the model's
-- regularizer (model:regularizer(), nil for a model without one), mini-batch
-- accuracy. The model maps batch.x to logits [B, C].
function A.classify(model, batch, phase)
   model:train(phase == "train")
   local logits = model(batch.x)
   local losses = dob.softmax_cross_entropy(logits, batch.y)
   local reg = model.regularizer and model:regularizer() or nil
   return losses, reg, dob.accuracy(logits, batch.y)
end

---------------------------------------------------------------------------------------
-- char-RNN streams: the LSTM state carried from batch to batch

--- Forgets the carried state (at the start of every phase, as TF's init ops did).
function A.reset_state(model) model.state, model.state_in, model.state_batch = nil, nil, nil end

--- The state carried into the next batch (nil at the start of a phase), for a checkpoint
-- taken between two training steps; set_carried puts it back when the run resumes.
function A.get_carried(model) return model.state end
function A.set_carried(model, state) model.state, model.state_in, model.state_batch = state, nil, nil end

--- The state this batch starts from (nil: zeros). An optimizer may evaluate one batch
-- several times (line searches): each call starts from the state the batch started with.
function A.carried_state(name, model, batch, B)
   if model.state_batch ~= batch then model.state_in, model.state_batch = model.state, batch end
   local st = model.state_in
   if st and st[1]:size(1) ~= B then
      error(("%s: the carried LSTM state has batch size %d, this batch has %d; "
         .. "the state is reset only at the start of a phase"):format(name, st[1]:size(1), B), 0)
   end
   return st
end

--- Per-sequence mean cross-entropy [B] and the accuracy over all predictions, from
-- time-major logits [T B, V] and targets y [B, T].
function A.sequence_losses(logits, y)
   local B, T = y:size(1), y:size(2)
   local labels = y:t():contiguous():view(T * B)
   local ce = dob.softmax_cross_entropy(logits, labels):view(T, B)
   return ce:mean(1), nil, dob.accuracy(logits, labels)
end

return A
