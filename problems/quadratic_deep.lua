--- quadratic_deep: DeepOBS's deepobs/tensorflow/testproblems/quadratic_deep.py and
-- _quadratic.py; the data rows x are datasets/quadratic.lua's.
--
-- The Hessian Q is built exactly as TF DeepOBS built it, with numpy's
-- RandomState(42) (lua/deepobs/mt19937.lua reproduces its draws):
--   1. eigenvalues: 90 draws U(0, 1), then 10 draws U(30, 60);
--   2. R: a random rotation by the Diaconis-Shahshahani subgroup algorithm,
--      continuing the same generator: t = 2 pi U(), R = [[cos t, sin t],
--      [-sin t, cos t]]; for d = 2 .. 99: v ~ N(0, 1)^(d+1), v = v / |v|,
--      e = (1, 0, ..., 0), x = (e - v) / |e - v|, D = blockdiag(1, R),
--      R = D - 2 x (x^T D); finally R = -R;
--   3. Q = R^T diag(eigenvalues) R.
-- Built once per process in doubles, kept as a float32 tensor (TF converted
-- it to float32 too). In TF the generator was a module-level global, so only
-- the first instance in a process got this Q; every instance here gets it.
local dob = require "deepobs"
local RandomState = require "deepobs.mt19937"
local A = require "problems._arch"
local define = require "problems._define"

local DIM = 100

-- a Diaconis-Shahshahani random rotation in SO(D) from `rng`; rows 0-based
local function random_rotation(D, rng)
   local t = 2 * math.pi * rng:uniform()
   local R = { [0] = { [0] = math.cos(t), math.sin(t) }, { [0] = -math.sin(t), math.cos(t) } }
   for d = 2, D - 1 do
      -- v ~ N(0, 1)^(d+1), normalised
      local v, nv = {}, 0
      for i = 0, d do v[i] = rng:normal(); nv = nv + v[i] * v[i] end
      nv = math.sqrt(nv)
      for i = 0, d do v[i] = v[i] / nv end
      -- x = (e - v) / |e - v|
      local x, nx = {}, 0
      for i = 0, d do x[i] = (i == 0 and 1 or 0) - v[i]; nx = nx + x[i] * x[i] end
      nx = math.sqrt(nx)
      for i = 0, d do x[i] = x[i] / nx end
      -- Dm = blockdiag(1, R), (d+1) x (d+1)
      local Dm = {}
      for i = 0, d do
         local row = {}
         for j = 0, d do
            if i == 0 or j == 0 then row[j] = (i == j) and 1 or 0 else row[j] = R[i - 1][j - 1] end
         end
         Dm[i] = row
      end
      -- w = x^T Dm; R = Dm - 2 x w
      local w = {}
      for j = 0, d do
         local s = 0
         for i = 0, d do s = s + x[i] * Dm[i][j] end
         w[j] = s
      end
      local Rn = {}
      for i = 0, d do
         local row, Di, xi = {}, Dm[i], 2 * x[i]
         for j = 0, d do row[j] = Di[j] - xi * w[j] end
         Rn[i] = row
      end
      R = Rn
   end
   for i = 0, D - 1 do
      for j = 0, D - 1 do R[i][j] = -R[i][j] end
   end
   return R
end

local cached

--- The Hessian: returns Q (float32 tensor [100, 100]), the eigenvalues (Lua
-- array, 1-based) and R (0-based rows of doubles, Q = R^T diag(eig) R).
local function hessian()
   if cached then return cached.Q, cached.eigenvalues, cached.R end
   local rng = RandomState(42)
   local eig = {}
   for i = 1, 90 do eig[i] = rng:uniform(0.0, 1.0) end
   for i = 91, 100 do eig[i] = rng:uniform(30.0, 60.0) end
   local R = random_rotation(DIM, rng)
   local Q = dob.empty(DIM, DIM)
   local p = Q:data()
   for i = 0, DIM - 1 do
      for j = 0, DIM - 1 do
         local s = 0
         for k = 0, DIM - 1 do s = s + R[k][i] * eig[k + 1] * R[k][j] end
         p[i * DIM + j] = s
      end
   end
   Q:mark_modified()
   cached = { Q = Q, eigenvalues = eig, R = R }
   return Q, eig, R
end

return define({
   name = "quadratic_deep",
   dataset = "quadratic",
   batch_size = 128, num_epochs = 100,
   weight_decay = nil,
   has_accuracy = false,
   description = "noisy quadratic 1/2 (theta - x)^T Q (theta - x) in 100 dimensions, Q with 90 eigenvalues in (0, 1) "
      .. "and 10 in (30, 60) (benchmark P1)",
   build = function()
      local m = A.module("quadratic_deep: theta [100] (initialised to 1), loss 1/2 (theta - x)^T Q (theta - x)")
      m:param("theta", dob.ones(DIM))
      m.hessian = hessian()
      return m
   end,
   forward = function(model, batch, phase)
      local d = model.theta - batch.x                          -- [B, 100]
      local losses = (d:matmul(model.hessian) * d):sum(2) * 0.5 -- Q symmetric: d Q d^T row-wise
      return losses, nil, nil
   end,
}, { hessian = hessian })
