-- deepobs.sweep.search and deepobs.sweep.gp: space checks (generated bad cases, each naming
-- its key), grid order, random and quasirandom draws (reproducible, in bounds, log-uniform
-- in log space), the scrambled Halton points' centered L2 discrepancy against random
-- points, the Gaussian process against a hand computation, and Bayesian search
-- (reproducible, distinct batches, diverged runs, faster than random search to a minimum).
local search = require "deepobs.sweep.search"
local gp = require "deepobs.sweep.gp"
local errors = require "deepobs.errors"

local NAN, INF = 0 / 0, 1 / 0
local log, abs, sqrt, exp, floor = math.log, math.abs, math.sqrt, math.exp, math.floor
local function log10(x) return log(x) / log(10) end

-- the message of the usage error fn raises (fails the test when it raises none or another)
local function usage_message(fn)
   local ok, e = pcall(fn)
   assert(not ok, "expected a usage error, got none")
   assert(errors.is_usage(e), "expected a usage error, got: " .. errors.describe(e))
   return e.msg
end

local function has(text, part) return text:find(part, 1, true) ~= nil end

local function same_points(a, b)
   if #a ~= #b then return false end
   for i = 1, #a do
      for k, v in pairs(a[i]) do
         if b[i][k] ~= v then return false end
      end
      for k in pairs(b[i]) do
         if a[i][k] == nil then return false end
      end
   end
   return true
end

describe("search spaces", function()
   local BAD_DISTRIBUTIONS = {
      search.log_uniform(0, 1), search.log_uniform(-1, 1), search.log_uniform(1, 1),
      search.log_uniform(2, 1), search.log_uniform(NAN, 1), search.log_uniform(1e-5, INF),
      search.log_uniform(-INF, 1), search.log_uniform("1e-5", 1), search.log_uniform(nil, 1),
      search.log_uniform(1e-5), search.log_uniform({}, 1),
      search.uniform(1, 1), search.uniform(2, 1), search.uniform(NAN, 1), search.uniform(0, INF),
      search.uniform(-INF, 0), search.uniform("0", 1), search.uniform(), search.uniform(0, true),
      search.int(1.5, 3), search.int(1, 2.5), search.int(3, 1), search.int(NAN, 1), search.int(0, INF),
      search.int(0, 2 ^ 60), search.int("1", 2), search.int(1),
      search.choice {}, search.choice "abc", search.choice(5), search.choice(), search.choice { 1, 1 },
      search.choice { 1, NAN }, search.choice { 1, {} }, search.choice { x = 1 },
      search.choice { true, true }, search.choice { "a", "a" }, search.choice { INF },
      search.choice { 1, 2, [4] = 4 }, search.choice { print },
   }
   local BAD_LISTS = { {}, { 1, 1 }, { NAN }, { 1, { 2 } }, { a = 1 }, { print }, { -INF, 0 },
                       { 0.1, 0.1 }, { "x", "y", "x" }, { 1, nil, 3 } }
   local BAD_VALUES = { NAN, INF, -INF, print, coroutine.create(print) }
   local GOOD = { a = 0.9, b = { 1, 2 }, c = search.uniform(0, 1), z = "fixed" }

   local function with(bad_key, bad)
      local space = {}
      for k, v in pairs(GOOD) do space[k] = v end
      space[bad_key] = bad
      return space
   end

   it("rejects every bad distribution, list and value, naming its key", function()
      local cases = {}
      for _, d in ipairs(BAD_DISTRIBUTIONS) do cases[#cases + 1] = d end
      for _, l in ipairs(BAD_LISTS) do cases[#cases + 1] = l end
      for _, v in ipairs(BAD_VALUES) do cases[#cases + 1] = v end
      for i, bad in ipairs(cases) do
         local key = "h" .. i
         local msg = usage_message(function() search.check(with(key, bad), "optimizers.sgd") end)
         assert(has(msg, "optimizers.sgd." .. key), ("case %d: %q does not name the key"):format(i, msg))
         -- the generators check the space too, and the message then names the key alone
         local msg2 = usage_message(function() search.random(with(key, bad), 3, 1) end)
         assert(has(msg2, key), ("case %d: random search's %q does not name the key"):format(i, msg2))
      end
      assert.is_true(#cases > 50)
   end)

   it("says what is wrong with a distribution", function()
      assert.is_true(has(usage_message(function() search.check({ lr = search.log_uniform(0.1, 1e-5) }, "s") end),
         "s.lr: log_uniform(a, b) needs 0 < a < b, got log_uniform(0.1, 1e-05)"))
      assert.is_true(has(usage_message(function() search.check({ n = search.int(3, 1) }) end),
         "n: int(a, b) needs a <= b"))
      assert.is_true(has(usage_message(function() search.check({ c = search.choice { 1, 2, 1 } }) end),
         "c[3]: 1 is listed twice (also at [1])"))
      assert.is_true(has(usage_message(function() search.check({ c = {} }) end), "c: the list is empty"))
      assert.is_true(has(usage_message(function() search.check({ c = { min = 1, max = 2 } }) end),
         'c: a table must be a list of values such as { 0.1, 0.01 }, or a distribution such as log_uniform(1e-5, 1e-1); it has the key ["max"]'))
      assert.is_true(has(usage_message(function() search.check({ c = search.choice { 1, 2, [4] = 4 } }) end),
         "c: choice{...} must be a list of values such as { 0.1, 0.01 }; it has "))  -- the key [4] or no value at [3]: either is a border of the table
   end)

   it("rejects a space that is not a table of named entries", function()
      for _, bad in ipairs { 5, "lr", true, search.uniform(0, 1), { 1, 2 }, { [true] = 1 } } do
         local msg = usage_message(function() search.check(bad, "optimizers.adam") end)
         assert.is_true(has(msg, "optimizers.adam"), msg)
      end
   end)

   it("accepts good spaces, and shows distributions as written", function()
      search.check({ lr = search.log_uniform(1e-5, 1), m = search.uniform(-1, 1), n = search.int(2, 2),
                     opt = search.choice { "a", true, 3 }, grid = { 1, 2, 3 }, fixed = false, s = "x" }, "w")
      search.check({})
      assert.are.equal("log_uniform(1e-05, 0.1)", tostring(search.log_uniform(1e-5, 0.1)))
      assert.are.equal("int(1, 4)", tostring(search.int(1, 4)))
      assert.are.equal('choice{ "a", true, 3 }', tostring(search.choice { "a", true, 3 }))
      assert.is_true(search.is_distribution(search.uniform(0, 1)))
      assert.is_false(search.is_distribution({ 0, 1 }))
      assert.is_false(search.is_distribution(0.5))
   end)

   it("copies a choice's values, so a later change of the list does not leak in", function()
      local values = { 1, 2 }
      local d = search.choice(values)
      values[3] = 3
      assert.are.equal("choice{ 1, 2 }", tostring(d))
   end)
end)

describe("grid", function()
   it("is the product of the lists, names sorted, the last varying fastest", function()
      local points = search.grid { b = { "x", "y", "z" }, a = { 2, 1 }, c = true, d = { false } }
      assert.are.equal(6, #points)
      local expect = { { 2, "x" }, { 2, "y" }, { 2, "z" }, { 1, "x" }, { 1, "y" }, { 1, "z" } }
      for i, p in ipairs(points) do
         assert.are.same({ a = expect[i][1], b = expect[i][2], c = true, d = false }, p)
      end
   end)

   it("has as many points as the product of the list lengths", function()
      for n1 = 1, 4 do
         for n2 = 1, 3 do
            local l1, l2 = {}, {}
            for i = 1, n1 do l1[i] = i end
            for i = 1, n2 do l2[i] = "v" .. i end
            local points = search.grid { p = l1, q = l2, r = 0.5 }
            assert.are.equal(n1 * n2, #points)
            local distinct = {}
            for _, p in ipairs(points) do distinct[p.p .. "/" .. p.q] = true end
            local count = 0
            for _ in pairs(distinct) do count = count + 1 end
            assert.are.equal(n1 * n2, count)
         end
      end
   end)

   it("is one point when nothing is listed", function()
      assert.are.same({ { lr = 0.1, nesterov = true } }, search.grid { lr = 0.1, nesterov = true })
      assert.are.same({ {} }, search.grid {})
   end)

   it("rejects a distribution, naming the key", function()
      for _, d in ipairs { search.log_uniform(1e-5, 1), search.uniform(0, 1), search.int(1, 3),
                           search.choice { 1, 2 } } do
         local msg = usage_message(function() search.grid({ lr = { 0.1 }, mom = d }, "optimizers.momentum") end)
         assert.is_true(has(msg, "optimizers.momentum.mom: a grid needs a list of values"), msg)
      end
   end)
end)

-- a space over every kind of entry, and a check that a point lies in it
local SPACE = {
   lr = search.log_uniform(1e-5, 1e-1), beta = search.uniform(-2, 3), n = search.int(-2, 5),
   opt = search.choice { "a", "b", true }, m = { 0.5, 0.9, 0.99 }, fixed = "f", flag = false,
}
local function check_point(p)
   assert.are.equal("number", type(p.lr))
   assert.is_true(p.lr >= 1e-5 and p.lr <= 1e-1, "lr " .. p.lr)
   assert.is_true(p.beta >= -2 and p.beta <= 3, "beta " .. p.beta)
   assert.is_true(p.n % 1 == 0 and p.n >= -2 and p.n <= 5, "n " .. p.n)
   assert.is_true(p.opt == "a" or p.opt == "b" or p.opt == true, "opt " .. tostring(p.opt))
   assert.is_true(p.m == 0.5 or p.m == 0.9 or p.m == 0.99, "m " .. tostring(p.m))
   assert.are.equal("f", p.fixed)
   assert.are.equal(false, p.flag)
   local keys = 0
   for _ in pairs(p) do keys = keys + 1 end
   assert.are.equal(7, keys)
end

-- counts of each int and choice value, and log10(lr) binned into 10 equal bins
local function histograms(points)
   local n, opt, m, bins = {}, {}, {}, {}
   for b = 1, 10 do bins[b] = 0 end
   for _, p in ipairs(points) do
      n[p.n] = (n[p.n] or 0) + 1
      opt[tostring(p.opt)] = (opt[tostring(p.opt)] or 0) + 1
      m[p.m] = (m[p.m] or 0) + 1
      local b = math.min(10, floor((log10(p.lr) + 5) / 4 * 10) + 1)
      bins[b] = bins[b] + 1
   end
   return n, opt, m, bins
end

for _, method in ipairs { "random", "quasirandom" } do
   describe(method .. " search", function()
      local draw = search[method]

      it("is reproducible from its seed and differs across seeds", function()
         for _, seed in ipairs { 0, 1, 42, 2 ^ 32 - 1 } do
            local a, b = draw(SPACE, 20, seed), draw(SPACE, 20, seed)
            assert.is_true(same_points(a, b))
            local other = draw(SPACE, 20, (seed + 1) % 2 ^ 32)
            local differ = 0
            for i = 1, 20 do
               if a[i].lr ~= other[i].lr then differ = differ + 1 end
            end
            assert.is_true(differ >= 18, ("seed %d: only %d of 20 points differ"):format(seed, differ))
         end
      end)

      it("keeps its first points when asked for more", function()
         local short, long = draw(SPACE, 7, 5), draw(SPACE, 30, 5)
         for i = 1, 7 do assert.are.same(short[i], long[i]) end
         assert.are.same({}, draw(SPACE, 0, 5))
      end)

      it("draws every value in its domain and of its type, each value of an int and a choice", function()
         local points = draw(SPACE, 4000, 3)
         assert.are.equal(4000, #points)
         for _, p in ipairs(points) do check_point(p) end
         local n, opt, m = histograms(points)
         for v = -2, 5 do
            assert.is_true(abs(n[v] - 500) < 100, ("int value %d drawn %d times of 4000"):format(v, n[v] or 0))
         end
         for _, v in ipairs { "a", "b", "true" } do
            assert.is_true(abs(opt[v] - 4000 / 3) < 150, ("choice %s drawn %d times"):format(v, opt[v]))
         end
         for _, v in ipairs { 0.5, 0.9, 0.99 } do
            assert.is_true(abs(m[v] - 4000 / 3) < 150, ("list value %s drawn %d times"):format(v, m[v]))
         end
      end)

      it("draws log_uniform values uniformly in log space", function()
         local _, _, _, bins = histograms(draw(SPACE, 4000, 11))
         -- 400 expected per bin, standard deviation 19; uniform in the value itself would
         -- put over 3900 in the last bin
         for b = 1, 10 do
            assert.is_true(abs(bins[b] - 400) < 100, ("log10(lr) bin %d holds %d of 4000"):format(b, bins[b]))
         end
      end)

      it("rejects bad counts and seeds", function()
         for _, n in ipairs { -1, 1.5, NAN, "3", INF } do
            assert.is_true(has(usage_message(function() draw(SPACE, n, 1) end), "number of points"))
         end
         for _, seed in ipairs { -1, 0.5, 2 ^ 32, NAN, "1" } do
            assert.is_true(has(usage_message(function() draw(SPACE, 2, seed) end), "seed"))
         end
      end)
   end)
end

describe("scrambled Halton points", function()
   -- Hickernell's centered L2 discrepancy of points in [0, 1]^d ("A generalized
   -- discrepancy and quadrature error bound", Math. Comp. 67, 1998)
   local function centered_l2(points, d)
      local n = #points
      local sum1, sum2 = 0, 0
      for i = 1, n do
         local prod = 1
         for k = 1, d do
            local a = abs(points[i][k] - 0.5)
            prod = prod * (1 + a / 2 - a * a / 2)
         end
         sum1 = sum1 + prod
         for j = 1, n do
            local pp = 1
            for k = 1, d do
               local a, b = abs(points[i][k] - 0.5), abs(points[j][k] - 0.5)
               pp = pp * (1 + a / 2 + b / 2 - abs(points[i][k] - points[j][k]) / 2)
            end
            sum2 = sum2 + pp
         end
      end
      return sqrt((13 / 12) ^ d - 2 / n * sum1 + sum2 / (n * n))
   end

   local NAMES = { "a", "b", "c", "d" }
   local function unit_points(method, d, n, seed)
      local space = {}
      for k = 1, d do space[NAMES[k]] = search.uniform(0, 1) end
      local out = {}
      for i, p in ipairs(search[method](space, n, seed)) do
         out[i] = {}
         for k = 1, d do out[i][k] = p[NAMES[k]] end
      end
      return out
   end

   it("checks the discrepancy against its closed form for one point", function()
      -- one point at the centre of [0, 1]: (13/12)^d - 2 + 1
      assert.is_true(abs(centered_l2({ { 0.5 } }, 1) - sqrt(13 / 12 - 1)) < 1e-12)
   end)

   it("have a lower centered L2 discrepancy than random points, in 1 to 4 dimensions", function()
      local SEEDS = { 1, 2, 3, 4, 5 }
      for d = 1, 4 do
         for _, n in ipairs { 16, 32, 64, 128 } do
            local random_mean = 0
            for _, seed in ipairs(SEEDS) do
               random_mean = random_mean + centered_l2(unit_points("random", d, n, seed), d) / #SEEDS
            end
            for _, seed in ipairs(SEEDS) do
               local halton = centered_l2(unit_points("quasirandom", d, n, seed), d)
               assert.is_true(halton < 0.75 * random_mean,
                  ("d = %d, n = %d, seed %d: Halton %.4f, random %.4f on average"):format(d, n, seed, halton, random_mean))
            end
         end
      end
   end)
end)

describe("the Gaussian process", function()
   -- the posterior by hand: Gauss-Jordan elimination, no LAPACK
   local function matern52(r, l)
      local t = sqrt(5) * r / l
      return (1 + t + t * t / 3) * exp(-t)
   end
   local function solve(A, b)   -- A x = b for a small dense A (copied)
      local n = #b
      local M = {}
      for i = 1, n do
         M[i] = {}
         for j = 1, n do M[i][j] = A[i][j] end
         M[i][n + 1] = b[i]
      end
      local logdet = 0
      for c = 1, n do
         local piv = c
         for r = c + 1, n do if abs(M[r][c]) > abs(M[piv][c]) then piv = r end end
         M[c], M[piv] = M[piv], M[c]
         logdet = logdet + log(abs(M[c][c]))
         for r = 1, n do
            if r ~= c then
               local f = M[r][c] / M[c][c]
               for j = c, n + 1 do M[r][j] = M[r][j] - f * M[c][j] end
            end
         end
      end
      local x = {}
      for i = 1, n do x[i] = M[i][n + 1] / M[i][i] end
      return x, logdet
   end
   local function by_hand(X, y, l, at)
      local n = #X
      local mean, var = 0, 0
      for i = 1, n do mean = mean + y[i] / n end
      for i = 1, n do var = var + (y[i] - mean) ^ 2 / n end
      local sd = sqrt(var)
      local K, z = {}, {}
      for i = 1, n do
         K[i] = {}
         for j = 1, n do
            local r = 0
            for k = 1, #X[i] do r = r + (X[i][k] - X[j][k]) ^ 2 end
            K[i][j] = matern52(sqrt(r), l) + (i == j and gp.NOISE or 0)
         end
         z[i] = (y[i] - mean) / sd
      end
      local alpha, logdet = solve(K, z)
      local lml = -0.5 * logdet - 0.5 * n * log(2 * math.pi)
      for i = 1, n do lml = lml - 0.5 * z[i] * alpha[i] end
      local ks = {}
      for i = 1, n do
         local r = 0
         for k = 1, #at do r = r + (X[i][k] - at[k]) ^ 2 end
         ks[i] = matern52(sqrt(r), l)
      end
      local m, v = 0, 0
      local w = solve(K, ks)
      for i = 1, n do m, v = m + ks[i] * alpha[i], v + ks[i] * w[i] end
      return mean + sd * m, sd * sqrt(math.max(0, 1 - v)), lml
   end

   local X = { { 0.1, 0.2 }, { 0.4, 0.9 }, { 0.8, 0.5 }, { 0.35, 0.3 }, { 0.95, 0.05 } }
   local y = { 1.0, 3.0, 2.0, 0.5, 2.5 }
   local AT = { { 0.5, 0.5 }, { 0.1, 0.2 }, { 0.0, 1.0 }, { 0.3, 0.31 } }

   it("predicts the mean and deviation of a hand computation, for every length scale", function()
      for _, l in ipairs(gp.LENGTH_SCALES) do
         local model = gp.fit(X, y, { length_scale = l })
         local mu, sd = model:predict(AT)
         for j, at in ipairs(AT) do
            local m, s = by_hand(X, y, l, at)
            assert.is_true(abs(mu[j] - m) < 1e-8, ("l = %g, point %d: mean %.12g, by hand %.12g"):format(l, j, mu[j], m))
            assert.is_true(abs(sd[j] - s) < 1e-6, ("l = %g, point %d: sd %.12g, by hand %.12g"):format(l, j, sd[j], s))
         end
      end
   end)

   it("picks the length scale of largest marginal likelihood", function()
      local best, best_lml = nil, -INF
      for _, l in ipairs(gp.LENGTH_SCALES) do
         local _, _, lml = by_hand(X, y, l, { 0, 0 })
         if lml > best_lml then best, best_lml = l, lml end
      end
      assert.are.equal(best, gp.fit(X, y).length_scale)
   end)

   it("interpolates its observations and is unsure far from them", function()
      local model = gp.fit(X, y, { length_scale = 0.2 })
      local mu, sd = model:predict(X)
      for i = 1, #X do
         assert.is_true(abs(mu[i] - y[i]) < 1e-3, ("observation %d: mean %g, value %g"):format(i, mu[i], y[i]))
         assert.is_true(sd[i] < 1e-2)
      end
      local _, far = model:predict({ { 0.1, 0.95 } })
      assert.is_true(far[1] > 0.5)
   end)

   it("counts a categorical coordinate as equal or a whole side apart", function()
      local cat = gp.fit({ { 0.25 }, { 0.75 } }, { 1, 2 }, { categorical = { true }, length_scale = 0.5 })
      local cont = gp.fit({ { 0 }, { 1 } }, { 1, 2 }, { length_scale = 0.5 })
      local m1, s1 = cat:predict({ { 0.75 }, { 0.5 } })
      local m2, s2 = cont:predict({ { 1 }, { 1 } })   -- 0.5 is neither category: distance 1 from both
      assert.is_true(abs(m1[1] - m2[1]) < 1e-12 and abs(s1[1] - s2[1]) < 1e-12)
      assert.is_true(s1[2] > s1[1])
   end)

   it("survives repeated points with different values", function()
      local model = gp.fit({ { 0.5 }, { 0.5 }, { 0.5 }, { 0.2 } }, { 1, 2, 3, 0 })
      local mu, sd = model:predict({ { 0.5 }, { 0.9 } })
      assert.is_true(mu[1] == mu[1] and sd[2] == sd[2])
      assert.is_true(abs(mu[1] - 2) < 0.1, "the mean of repeats is their average, got " .. mu[1])
   end)

   it("computes expected improvement in closed form", function()
      local phi0 = 1 / sqrt(2 * math.pi)
      assert.is_true(abs(gp.expected_improvement(0, 1, 0, 0) - phi0) < 1e-15)
      -- (best - mu) Phi(-1) + phi(-1) with best - mu = -1
      assert.is_true(abs(gp.expected_improvement(1, 1, 0, 0) - 0.0833154705876863) < 1e-14)
      assert.is_true(abs(gp.expected_improvement(0, 2, 0, 0.5) - (-0.5 * 0.4012936743170763 + 2 * 0.3866681168028493)) < 1e-14)
      assert.are.equal(0.75, gp.expected_improvement(0.25, 0, 1, 0))
      assert.are.equal(0, gp.expected_improvement(2, 0, 1, 0))
      assert.is_true(gp.expected_improvement(0, 1, 0, 0) < gp.expected_improvement(-0.1, 1, 0, 0))
      assert.is_true(gp.expected_improvement(0, 1, 0, 0) < gp.expected_improvement(0, 1.1, 0, 0))
   end)
end)

describe("bayes search", function()
   local SPACE1 = { lr = search.log_uniform(1e-5, 1) }
   local SPACE2 = { lr = search.log_uniform(1e-5, 1), m = search.uniform(0, 1) }
   -- minima at lr = 10^-2.5 (and m = 0.7)
   local function f1(p) return (log10(p.lr) + 2.5) ^ 2 end
   local function f2(p) return (log10(p.lr) + 2.5) ^ 2 + 4 * (p.m - 0.7) ^ 2 end

   local function observe(space, f, count, seed)
      local obs = {}
      for i, p in ipairs(search.quasirandom(space, count, seed)) do obs[i] = { point = p, value = f(p) } end
      return obs
   end

   it("starts with the quasirandom design", function()
      local q = search.quasirandom(SPACE2, 9, 7)
      assert.is_true(same_points({ q[1], q[2], q[3] }, search.bayes(SPACE2, {}, 3, { seed = 7 })))
      local obs = { { point = q[1], value = 1 }, { point = q[2], value = 2 } }
      assert.is_true(same_points({ q[3], q[4] }, search.bayes(SPACE2, obs, 2, { seed = 7 })))
      -- with initial = 2 the model takes over: no longer the design's next points
      local model_points = search.bayes(SPACE2, obs, 2, { seed = 7, initial = 2 })
      assert.is_false(same_points({ q[3], q[4] }, model_points))
   end)

   it("is reproducible for the same observations and seed, and varies with the seed", function()
      local obs = observe(SPACE2, f2, 8, 3)
      local a = search.bayes(SPACE2, obs, 4, { seed = 9 })
      assert.is_true(same_points(a, search.bayes(SPACE2, obs, 4, { seed = 9 })))
      assert.is_false(same_points(a, search.bayes(SPACE2, obs, 4, { seed = 10 })))
   end)

   it("proposes batches of distinct points in the space, apart from the observed ones", function()
      for _, n in ipairs { 1, 2, 5, 8 } do
         local obs = {}
         for i, p in ipairs(search.quasirandom(SPACE, 10, n)) do
            obs[i] = { point = p, value = p.beta ^ 2 + (p.opt == "b" and 0 or 1) + abs(p.n - 1) + log10(p.lr) }
         end
         local points = search.bayes(SPACE, obs, n, { seed = n })
         assert.are.equal(n, #points)
         local ids = {}
         for _, o in ipairs(obs) do ids[o.point.lr .. tostring(o.point.opt) .. o.point.n .. o.point.beta .. o.point.m] = true end
         for _, p in ipairs(points) do
            check_point(p)
            local id = p.lr .. tostring(p.opt) .. p.n .. p.beta .. p.m
            assert.is_nil(ids[id], "a point proposed twice or already observed")
            ids[id] = true
         end
      end
   end)

   it("spreads a batch out (kriging believer) where the best single point would repeat", function()
      -- without the believer the four picks land within 0.002 decades of each other
      for seed = 1, 4 do
         local points = search.bayes(SPACE1, observe(SPACE1, f1, 6, seed), 4, { seed = seed })
         local lo, hi = INF, -INF
         for _, p in ipairs(points) do lo, hi = math.min(lo, log10(p.lr)), math.max(hi, log10(p.lr)) end
         assert.is_true(hi - lo > 0.05, ("seed %d: the batch spans %.4f decades"):format(seed, hi - lo))
      end
   end)

   it("gives fewer points when a finite space has no more", function()
      local space = { a = { 1, 2, 3 }, b = search.choice { true, false }, c = 0.5 }
      local obs = {}
      for _, p in ipairs(search.grid { a = { 1, 2, 3 }, b = { true, false }, c = 0.5 }) do
         if not (p.a == 2 and p.b == false) then obs[#obs + 1] = { point = p, value = p.a } end
      end
      assert.are.same({ { a = 2, b = false, c = 0.5 } }, search.bayes(space, obs, 3, { seed = 1 }))
      obs[#obs + 1] = { point = { a = 2, b = false, c = 0.5 }, value = 0 }
      assert.are.same({}, search.bayes(space, obs, 3, { seed = 1 }))
   end)

   it("counts a diverged run as the worst value seen", function()
      local obs = observe(SPACE2, f2, 10, 4)
      local worst = -INF
      for _, o in ipairs(obs) do worst = math.max(worst, o.value) end
      for _, diverged in ipairs { NAN, INF, -INF } do
         local with_nan, with_worst = {}, {}
         for i, o in ipairs(obs) do
            local bad = o.point.lr > 0.1 or i == 3
            with_nan[i] = { point = o.point, value = bad and diverged or o.value }
            with_worst[i] = { point = o.point, value = bad and worst or o.value }
         end
         local a = search.bayes(SPACE2, with_nan, 3, { seed = 2 })
         assert.is_true(same_points(a, search.bayes(SPACE2, with_worst, 3, { seed = 2 })))
         for _, p in ipairs(a) do assert.is_true(p.lr >= 1e-5 and p.lr <= 1 and p.m >= 0 and p.m <= 1) end
      end
      -- every run diverged: still points, distinct and in the space
      local all_bad = {}
      for i, o in ipairs(obs) do all_bad[i] = { point = o.point, value = NAN } end
      local points = search.bayes(SPACE2, all_bad, 4, { seed = 2 })
      assert.are.equal(4, #points)
      assert.are_not.equal(points[1].lr, points[2].lr)
   end)

   it("maximises when asked", function()
      local obs, neg = observe(SPACE2, f2, 8, 5), {}
      for i, o in ipairs(obs) do neg[i] = { point = o.point, value = -o.value } end
      assert.is_true(same_points(search.bayes(SPACE2, obs, 2, { seed = 1 }),
                                 search.bayes(SPACE2, neg, 2, { seed = 1, maximize = true })))
   end)

   it("leaves out observations from another search, and rejects malformed ones", function()
      local obs = observe(SPACE2, f2, 8, 6)
      local more = {}
      for i, o in ipairs(obs) do more[i] = o end
      more[#more + 1] = { point = { lr = 3, m = 0.5 }, value = -100 }           -- beyond the bounds
      more[#more + 1] = { point = { lr = 1e-3, m = 1.5 }, value = -100 }
      assert.is_true(same_points(search.bayes(SPACE2, obs, 2, { seed = 1 }), search.bayes(SPACE2, more, 2, { seed = 1 })))
      local fixed = { lr = search.log_uniform(1e-5, 1), m = search.uniform(0, 1), nesterov = true }
      local other = {}
      for i, o in ipairs(obs) do other[i] = { point = { lr = o.point.lr, m = o.point.m, nesterov = i > 4 }, value = o.value } end
      local kept = {}
      for i = 5, 8 do kept[#kept + 1] = other[i] end
      assert.is_true(same_points(search.bayes(fixed, other, 2, { seed = 1, initial = 3 }),
                                 search.bayes(fixed, kept, 2, { seed = 1, initial = 3 })))
      for _, bad in ipairs { 5, { 5 }, { { value = 1 } }, { { point = { lr = 1e-3 }, value = 1 } },
                             { { point = { lr = 1e-3, m = 0.5 }, value = "1" } }, { { point = { m = 0.5 }, value = 1 } } } do
         usage_message(function() search.bayes(SPACE2, bad, 1, { seed = 1 }) end)
      end
   end)

   it("rejects bad options", function()
      for _, opts in ipairs { { sed = 1 }, { seed = -1 }, { seed = 1.5 }, { initial = 0 }, { initial = 2.5 },
                              { xi = -1 }, { xi = NAN }, { candidates = 0 }, { maximize = "yes" }, 5 } do
         usage_message(function() search.bayes(SPACE2, {}, 1, opts) end)
      end
   end)

   -- evaluations until f drops below target (budget + 1 when it never does)
   local function evaluations(propose, f, target, budget)
      local obs = {}
      while #obs < budget do
         for _, p in ipairs(propose(obs)) do
            obs[#obs + 1] = { point = p, value = f(p) }
            if obs[#obs].value < target then return #obs end
         end
      end
      return budget + 1
   end

   -- Random search needs 1 / p evaluations on average to land in a region of probability p:
   -- 25 for the 1-D target (0.2 of 5 decades), 64 for the 2-D ellipse.
   for _, case in ipairs {
      { "1-D", SPACE1, f1, 0.01 }, { "2-D", SPACE2, f2, 0.05 },
   } do
      local name, space, f, target = case[1], case[2], case[3], case[4]
      for _, batch in ipairs { 1, 4 } do
         it(("finds the minimum of a %s quadratic in log(lr) in fewer evaluations than random search "
            .. "(batches of %d)"):format(name, batch), function()
            local BUDGET, SEEDS = 80, { 1, 2, 3, 4, 5, 6 }
            local bayes_total, random_total = 0, 0
            for _, seed in ipairs(SEEDS) do
               bayes_total = bayes_total + evaluations(function(obs)
                  return search.bayes(space, obs, batch, { seed = seed })
               end, f, target, BUDGET)
               local drawn = search.random(space, BUDGET, seed)
               random_total = random_total + evaluations(function(obs) return { drawn[#obs + 1] } end, f, target, BUDGET)
            end
            local bayes_mean, random_mean = bayes_total / #SEEDS, random_total / #SEEDS
            assert.is_true(bayes_mean < random_mean / 2,
               ("%s: %.1f evaluations by bayes, %.1f by random search"):format(name, bayes_mean, random_mean))
         end)
      end
   end
end)

describe("search randomness", function()
   it("leaves math.random and the engine's random stream alone", function()
      local dob = require "deepobs"
      dob.manual_seed(123)
      local before = dob.get_rng_state()
      math.randomseed(77)
      local expect = math.random()
      math.randomseed(77)
      search.random(SPACE, 50, 1)
      search.quasirandom(SPACE, 50, 1)
      local obs = {}
      for i, p in ipairs(search.random(SPACE, 8, 2)) do obs[i] = { point = p, value = p.beta } end
      search.bayes(SPACE, obs, 3, { seed = 1 })
      assert.are.equal(expect, math.random())
      assert.are.same(before, dob.get_rng_state())
   end)
end)
