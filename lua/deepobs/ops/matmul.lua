-- Matrix products (src/ops/matmul.c): matmul with numpy broadcasting, bmm,
-- addmm and the dense layer linear(x, W, b) = x W^T + b.
local T = require "deepobs.tensor"
local A = require "deepobs.argcheck"
local C = require("deepobs.C").lib
local Tensor, wrap, H = T.Tensor, T.wrap, T.H

local dob = {}

--- x:matmul(y): the matrix product x @ y, a new tensor
-- 2-D x 2-D, batched [..., n, k] x [..., k, m] with broadcast batch dims, 1-D operands as
-- in numpy; differentiable.
function dob.matmul(a, b) return wrap(C.dob_matmul(H(a, "a"), H(b, "b"))) end
Tensor.matmul = dob.matmul

--- x:mm(y): the product of two 2-D tensors [n, k] x [k, m] -> [n, m] (an error for other ranks)
function Tensor.mm(a, b)
   local ha, hb = H(a, "a"), H(b, "b")
   if C.dob_ndim(ha) ~= 2 or C.dob_ndim(hb) ~= 2 then
      A.raise(("mm: expects two 2-D tensors, got %d-D and %d-D"):format(C.dob_ndim(ha), C.dob_ndim(hb)))
   end
   return wrap(C.dob_matmul(ha, hb))
end
dob.mm = Tensor.mm

--- x:bmm(y): batched matrix product [B, n, k] x [B, k, m] -> [B, n, m]
function dob.bmm(a, b) return wrap(C.dob_bmm(H(a, "a"), H(b, "b"))) end
Tensor.bmm = dob.bmm

--- c:addmm(a, b, beta, alpha): beta * c + alpha * a @ b, a new tensor
-- c broadcast to [n, m]; beta and alpha default to 1.
function dob.addmm(c, a, b, beta, alpha)
   return wrap(C.dob_addmm(H(c, "c"), H(a, "a"), H(b, "b"), A.number("addmm", "beta", beta, 1),
      A.number("addmm", "alpha", alpha, 1)))
end
Tensor.addmm = dob.addmm

--- dob.linear(x, w, b, opts): x w^T + b, the dense layer: x [..., in], w [out, in], b [out] or nil -> [..., out]
-- opts.activation = "relu" gives relu(x w^T + b) bit for bit, in one op that never keeps the
-- pre-activation tensor ("none", the default, the plain layer).
function dob.linear(x, w, b, opts)
   opts = A.table("linear", "options", opts, {})
   local act = T.activation("linear", "options.activation", opts.activation)
   return wrap(C.dob_linear(H(x, "input"), H(w, "weight"), b and H(b, "bias") or nil, act))
end

return dob
