-- Losses (src/ops/loss.c): per-example values of shape [N]; reduce them with
-- mean/sum. Labels are int64 class indices (0-based) or float32 targets.
local T = require "deepobs.tensor"
local A = require "deepobs.argcheck"
local C = require("deepobs.C").lib
local Tensor, wrap, H = T.Tensor, T.wrap, T.H

local dob = {}

--- x:softmax_cross_entropy(labels, opts): the per-example cross-entropy of softmax(logits x) [N]
-- softmax_cross_entropy(logits [N,C], labels int64 [N] or float32 [N,C],
-- {label_smoothing = s}) -> [N]
function dob.softmax_cross_entropy(logits, labels, opts)
   local s = 0
   if type(opts) == "number" then s = opts
   elseif type(opts) == "table" then s = opts.label_smoothing or 0
   elseif opts ~= nil then A.raise("softmax_cross_entropy: options must be a table") end
   return wrap(C.dob_softmax_cross_entropy(H(logits, "logits"),
      H(labels, "labels"), s))
end

--- dob.sigmoid_cross_entropy(logits, targets): per-example binary cross-entropy of sigmoid(logits), [N]
-- sigmoid_cross_entropy(logits, targets [N,...]) -> [N] (summed over non-batch dims)
function dob.sigmoid_cross_entropy(logits, targets)
   return wrap(C.dob_sigmoid_cross_entropy(H(logits, "logits"),
      H(targets, "targets")))
end

--- dob.squared_error(pred, target): per-example squared error, [N]
-- squared_error(pred, target [N,...]) -> [N] (summed over non-batch dims)
function dob.squared_error(pred, target)
   return wrap(C.dob_squared_error(H(pred, "pred"), H(target, "target")))
end

--- dob.accuracy(logits, labels): the fraction of rows whose argmax is the label, a Lua number
-- accuracy(logits [N,C], labels int64 [N] or one-hot float32 [N,C]) -> number
function dob.accuracy(logits, labels)
   local a = C.dob_accuracy(H(logits, "logits"), H(labels, "labels"))
   if a ~= a then A.raise(T.last_error()) end
   return a
end

Tensor.softmax_cross_entropy = dob.softmax_cross_entropy

return dob
