--- Gaussian-process regression on the unit cube and expected improvement: the surrogate of
-- deepobs.sweep.search's Bayesian search.
--
--    local gp = require "deepobs.sweep.gp"
--    local model = gp.fit({ {0.1}, {0.5}, {0.9} }, { 3.0, 1.0, 2.5 })
--    local mu, sd = model:predict({ {0.3}, {0.7} })   -- posterior mean and standard deviation
--    gp.expected_improvement(mu[1], sd[1], 1.0, 0)     -- EI below the best value 1.0
--    gp.fit(X, y, { length_scale = model.length_scale })  -- refit with the scale kept
--
-- The model is the one DeepOBS 1.2's tuner (deepobs/tuner/bayesian.py) got from the
-- bayes_opt package (bayes_opt/bayesian_optimization.py: GaussianProcessRegressor with
-- kernel Matern(nu=2.5), alpha=1e-6, normalize_y=True): a Matern kernel with nu = 5/2 and
-- unit amplitude on targets scaled to mean 0 and standard deviation 1, and 1e-6 added to the
-- diagonal. Where bayes_opt fits the one length scale by L-BFGS from several starts, this
-- picks it from LENGTH_SCALES by the log marginal likelihood: few evaluations never pin the
-- scale down more finely. A categorical coordinate (opts.categorical[k]) contributes
-- distance 0 to a point with the same category and 1 (the whole side of the cube) to any
-- other, so the order of a choice's values means nothing.
--
-- The Cholesky factorization and the triangular solves are LAPACK's (dpotrf, dpotrs,
-- dtrtrs, from the OpenBLAS the engine links); a kernel matrix that is not numerically
-- positive definite (repeated points with different values) is retried with 10 times the
-- diagonal term, up to 1e-2.
local ffi = require "ffi"
local lib = require("deepobs.C").lib

-- Fortran interfaces; the trailing size_t are gfortran's hidden lengths of the character
-- arguments (harmless to pass to OpenBLAS's C implementations, needed by Fortran ones).
pcall(ffi.cdef, [[void dpotrf_(const char *uplo, const int *n, double *a, const int *lda, int *info,
                                size_t uplo_len);]])
pcall(ffi.cdef, [[void dpotrs_(const char *uplo, const int *n, const int *nrhs, const double *a,
                                const int *lda, double *b, const int *ldb, int *info, size_t uplo_len);]])
pcall(ffi.cdef, [[void dtrtrs_(const char *uplo, const char *trans, const char *diag, const int *n,
                                const int *nrhs, const double *a, const int *lda, double *b,
                                const int *ldb, int *info, size_t, size_t, size_t);]])
pcall(ffi.cdef, "double erfc(double x);")

local M = {}

local sqrt, exp, log = math.sqrt, math.exp, math.log

--- The length scales tried, in units of the cube's side.
M.LENGTH_SCALES = { 0.03, 0.05, 0.1, 0.2, 0.3, 0.5, 1, 2 }
--- What the kernel matrix's diagonal gets on top of the kernel (bayes_opt's alpha).
M.NOISE = 1e-6

local SQRT5 = sqrt(5)
local LOG_2PI = log(2 * math.pi)

local function distance(x, z, categorical)
   local s = 0
   for k = 1, #x do
      local d
      if categorical[k] then d = (x[k] == z[k]) and 0 or 1 else d = x[k] - z[k] end
      s = s + d * d
   end
   return sqrt(s)
end

-- Matern nu = 5/2 at distance r with length scale l
local function matern52(r, l)
   local t = SQRT5 * r / l
   return (1 + t + t * t / 3) * exp(-t)
end

local function int1(v) local p = ffi.new("int[1]"); p[0] = v; return p end

-- the lower Cholesky factor of K(X, X) + noise I, column-major, or nil when even the
-- largest diagonal term leaves it indefinite
local function cholesky(X, l, categorical, noise)
   local n = #X
   local a = ffi.new("double[?]", n * n)
   local info = ffi.new("int[1]")
   while noise <= 1e-2 do
      for j = 1, n do
         for i = j, n do
            local k = matern52(distance(X[i], X[j], categorical), l)
            if i == j then k = k + noise end
            a[(j - 1) * n + (i - 1)] = k
         end
      end
      lib.dpotrf_("L", int1(n), a, int1(n), info, 1)
      if info[0] == 0 then return a, noise end
      if info[0] < 0 then error(("gp: dpotrf rejected argument %d"):format(-info[0])) end
      noise = noise * 10
   end
   return nil
end

-- alpha = K^-1 y from the factor
local function solve(a, n, y)
   local b = ffi.new("double[?]", n)
   for i = 1, n do b[i - 1] = y[i] end
   local info = ffi.new("int[1]")
   lib.dpotrs_("L", int1(n), int1(1), a, int1(n), b, int1(n), info, 1)
   if info[0] ~= 0 then error(("gp: dpotrs failed with info %d"):format(info[0])) end
   return b
end

local function log_marginal_likelihood(a, n, y, alpha)
   local fit, logdet = 0, 0
   for i = 1, n do
      fit = fit + y[i] * alpha[i - 1]
      logdet = logdet + log(a[(i - 1) * n + (i - 1)])
   end
   return -0.5 * fit - logdet - 0.5 * n * LOG_2PI
end

local Model = {}
Model.__index = Model

-- the model for targets already scaled, with a given length scale; nil if no diagonal
-- term makes the matrix positive definite
local function build(X, z, l, categorical)
   local a, noise = cholesky(X, l, categorical, M.NOISE)
   if not a then return nil end
   local n = #X
   local alpha = solve(a, n, z)
   return setmetatable({ X = X, n = n, chol = a, alpha = alpha, length_scale = l, noise = noise,
                         categorical = categorical,
                         lml = log_marginal_likelihood(a, n, z, alpha) }, Model)
end

--- Fits the model to points X (a list of coordinate lists in [0, 1]) and finite targets y.
-- opts.categorical: a list of booleans by coordinate; opts.length_scale: the scale to use
-- (otherwise the likeliest of LENGTH_SCALES). Returns the model; model.length_scale is the
-- scale used.
function M.fit(X, y, opts)
   opts = opts or {}
   local n = #X
   assert(n >= 1 and #y == n, "gp.fit: needs as many targets as points, and at least one")
   local mean = 0
   for i = 1, n do mean = mean + y[i] end
   mean = mean / n
   local var = 0
   for i = 1, n do var = var + (y[i] - mean) ^ 2 end
   local sd = sqrt(var / n)
   if not (sd > 0) then sd = 1 end      -- all targets equal: nothing to scale
   local z = {}
   for i = 1, n do z[i] = (y[i] - mean) / sd end
   local categorical = opts.categorical or {}
   local best
   for _, l in ipairs(opts.length_scale and { opts.length_scale } or M.LENGTH_SCALES) do
      local m = build(X, z, l, categorical)
      if m and (not best or m.lml > best.lml) then best = m end
   end
   if not best then error("gp.fit: the kernel matrix is not positive definite even with 1e-2 on its diagonal") end
   best.mean, best.sd = mean, sd
   return best
end

--- Posterior mean and standard deviation at the points xs (lists of coordinates), in the
-- units of the targets: two lists as long as xs.
function Model:predict(xs)
   local n, m = self.n, #xs
   if m == 0 then return {}, {} end
   local kstar = ffi.new("double[?]", n * m)   -- column j: k(X, xs[j])
   local mu, sd = {}, {}
   for j = 1, m do
      local s = 0
      for i = 1, n do
         local k = matern52(distance(self.X[i], xs[j], self.categorical), self.length_scale)
         kstar[(j - 1) * n + (i - 1)] = k
         s = s + k * self.alpha[i - 1]
      end
      mu[j] = self.mean + self.sd * s
   end
   local info = ffi.new("int[1]")
   lib.dtrtrs_("L", "N", "N", int1(n), int1(m), self.chol, int1(n), kstar, int1(n), info, 1, 1, 1)
   if info[0] ~= 0 then error(("gp: dtrtrs failed with info %d"):format(info[0])) end
   for j = 1, m do
      local v = 0
      for i = 1, n do
         local x = kstar[(j - 1) * n + (i - 1)]
         v = v + x * x
      end
      sd[j] = self.sd * sqrt(math.max(0, 1 - v))
   end
   return mu, sd
end

local INV_SQRT2 = 1 / sqrt(2)
local INV_SQRT2PI = 1 / sqrt(2 * math.pi)

--- Expected improvement below best of a normal posterior N(mu, sd^2), less a margin xi >= 0:
-- E[max(0, best - xi - f)] = (best - xi - mu) Phi(u) + sd phi(u), u = (best - xi - mu) / sd.
function M.expected_improvement(mu, sd, best, xi)
   local gain = best - (xi or 0) - mu
   if not (sd > 0) then return math.max(0, gain) end
   local u = gain / sd
   local cdf = 0.5 * ffi.C.erfc(-u * INV_SQRT2)
   local pdf = INV_SQRT2PI * exp(-0.5 * u * u)
   return math.max(0, gain * cdf + sd * pdf)
end

return M
