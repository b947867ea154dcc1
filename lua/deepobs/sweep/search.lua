--- Hyperparameter search spaces, and the algorithms that propose settings from them: grid,
-- random, quasirandom (scrambled Halton) and Bayesian (a Gaussian process with expected
-- improvement). Pure functions of their arguments: no files, no global random stream.
--
--    local search = require "deepobs.sweep.search"
--    local space = { lr = search.log_uniform(1e-5, 1e-1), momentum = { 0.5, 0.9 }, nesterov = false }
--    search.check(space, "optimizers.momentum")     -- usage error naming the key, or nothing
--    search.grid{ lr = { 0.01, 0.1 }, momentum = { 0.5, 0.9 } }   -- 4 points
--    search.random(space, 20, 42)                   -- 20 points from seed 42
--    search.quasirandom(space, 20, 42)              -- 20 scrambled Halton points
--    search.bayes(space, { { point = p, value = 0.31 }, ... }, 2, { seed = 42 })  -- 2 new points
--
-- A space maps hyperparameter names to
--   a value (number, string or boolean)  the same in every point;
--   a list of values                     a grid axis; random, quasirandom and bayes treat it
--                                        as choice{...} of its values;
--   a distribution                       log_uniform(a, b), 0 < a < b: uniform in log(value);
--                                        uniform(a, b), a < b; int(a, b): the integers a..b,
--                                        each as likely; choice{ v1, v2, ... }: one of them.
-- A point maps every name of the space to a value. Lists and choices hold distinct numbers
-- (finite), strings or booleans. Every generator checks its space first (search.check) and
-- takes an optional `where` ("optimizers.sgd"; bayes: opts.where) that prefixes the key in
-- its messages.
--
-- Orders. grid: the names sorted, the last name varying fastest (nested loops over the
-- names in sorted order), each list in its written order. random and quasirandom: point i
-- of n is point i of any longer run with the same seed, so raising a sweep's trial count
-- keeps the points already run. Each draws one number in [0, 1) per searched name (sorted)
-- and maps it to the name's domain, as AlgoPerf's algoperf/halton.py maps Halton points:
-- log_uniform a * exp(u * log(b / a)); uniform a + u * (b - a); int a + floor(u * (b - a + 1));
-- choice the value in bucket floor(u * k) + 1 of k. random's numbers are MT19937's
-- (lua/deepobs/mt19937.lua, seeded with `seed`).
--
-- quasirandom: the randomised Halton sequence of Bousquet et al., "Critical
-- Hyper-Parameters: No Random, No Cry" (arXiv:1706.03200), in the form AlgoPerf's external
-- tuning ruleset generates its trials with (algoperf/halton.py): coordinate k is the
-- van der Corput sequence in a prime base b_k whose digits 1..b_k-1 go through one random
-- permutation (0 stays 0, so every expansion stays finite), plus a random shift modulo 1,
-- and the first SKIP = 100 indices are skipped. Two choices differ from AlgoPerf's, both
-- for discrepancy: the bases are the first primes (2, 3, 5, ...) where AlgoPerf takes the
-- primes just below 1000 (whose first ~900 points put each coordinate on a shuffled 1-D grid
-- and leave the joint distribution as uneven as random points), and the points keep their
-- sequence order where AlgoPerf shuffles them (every prefix of a Halton sequence is itself
-- even, which is what makes trials extendable). The permutations and shifts come from
-- MT19937 seeded with `seed`, one permutation then one shift per coordinate.
--
-- bayes: as DeepOBS 1.2's tuner (deepobs/tuner/bayesian.py, through the bayes_opt package):
-- first `initial` points (default 5, its n_init_samples) of the quasirandom design, where the
-- tuner drew them at random; then a Gaussian process (deepobs/sweep/gp.lua: Matern 5/2,
-- normalised targets) over the space mapped to the unit cube by the same maps (log scale for
-- log_uniform; an int or a choice at its bucket's centre, a choice compared only for
-- equality), and the candidate of largest expected improvement (the tuner's acq_type "ei";
-- its default was "ucb") with margin opts.xi (default 0, as its acq_xi). The acquisition is
-- maximised over opts.candidates random points of the cube (default 1000) refined by three
-- rounds of Gaussian steps (0.1, 0.03, 0.01 of the side) around the best five, as bayes_opt
-- warms up on random points before its local search. A batch of n > 1 is proposed by the
-- kriging believer heuristic (Ginsbourger, Le Riche & Carraro, "Kriging is well-suited to
-- parallelize optimization", 2010): after each pick the model takes its own posterior mean
-- there as an observation (same length scale) and picks again. Proposals are distinct from
-- each other and from the observed points; a finite space with nothing new left gives fewer
-- than n.
--
-- Observations: { { point = { name = value, ... }, value = number }, ... }; value is
-- minimised (opts.maximize: maximised). A diverged run's NaN or infinite value counts as the
-- worst finite value seen (as bad as anything observed, no worse: an infinite target would
-- flatten the model everywhere else). An observation whose point lies outside the space (a
-- value beyond the bounds by more than 1e-6 relative, not among the choices, or a fixed
-- name with another value) belongs to another search and is left out; one missing a
-- searched name, or whose value is not a number, is a usage error.
local errors = require "deepobs.errors"
local RandomState = require "deepobs.mt19937"

local M = {}

-- loaded on first use: it loads the engine's library (for LAPACK), which checking a sweep
-- file, a grid and the random searches do without
local function gp() return require "deepobs.sweep.gp" end

local floor, log, exp, abs, min, max = math.floor, math.log, math.exp, math.abs, math.min, math.max
local huge = math.huge
local usage = errors.usage

--- Indices skipped at the start of the Halton sequence (algoperf/halton.py's `skip`).
M.SKIP = 100

---------------------------------------------------------------------------------------
-- distributions

local Distribution = {}
Distribution.__index = Distribution

local function show(v)
   if type(v) == "string" then return ("%q"):format(v) end
   return tostring(v)
end

Distribution.__tostring = function(d)
   if d.kind == "choice" then
      if type(d.values) ~= "table" then return "choice(" .. show(d.values) .. ")" end
      local parts = {}
      for i, v in ipairs(d.values) do parts[i] = show(v) end
      return "choice{ " .. table.concat(parts, ", ") .. " }"
   end
   return ("%s(%s, %s)"):format(d.kind, show(d.a), show(d.b))
end

--- log(value) uniform on [log a, log b]; needs 0 < a < b.
function M.log_uniform(a, b) return setmetatable({ kind = "log_uniform", a = a, b = b }, Distribution) end

--- value uniform on [a, b]; needs a < b.
function M.uniform(a, b) return setmetatable({ kind = "uniform", a = a, b = b }, Distribution) end

--- one of the integers a, a + 1, ..., b, each as likely; needs integers a <= b.
function M.int(a, b) return setmetatable({ kind = "int", a = a, b = b }, Distribution) end

--- one of the listed values (numbers, strings, booleans), each as likely.
function M.choice(values)
   local copy = values
   if type(values) == "table" and not M.is_distribution(values) then
      copy = {}
      for k, v in pairs(values) do copy[k] = v end
   end
   return setmetatable({ kind = "choice", values = copy }, Distribution)
end

function M.is_distribution(v) return getmetatable(v) == Distribution end

---------------------------------------------------------------------------------------
-- checks

local function is_finite(x) return x == x and x ~= huge and x ~= -huge end

-- why v cannot be a hyperparameter value, or nil
local function value_problem(v)
   local t = type(v)
   if t == "number" then
      if not is_finite(v) then return "must be a finite number, got " .. tostring(v) end
      return nil
   end
   if t == "string" or t == "boolean" then return nil end
   return "must be a number, a string or a boolean, got a " .. t
end

-- why table t is not a list { v1, ..., vn }, or nil; the same reason on every call
local function list_problem(t)
   local n, count, strays = #t, 0, {}
   for k in pairs(t) do
      if type(k) ~= "number" or k % 1 ~= 0 or k < 1 or k > n then strays[#strays + 1] = show(k) end
      count = count + 1
   end
   if #strays > 0 then
      table.sort(strays)
      return "it has the key [" .. strays[1] .. "]"
   end
   if count < n then
      for i = 1, n do
         if t[i] == nil then return ("it has no value at [%d]"):format(i) end
      end
   end
   return nil
end

local function is_list(t) return list_problem(t) == nil end

-- a list's (or a choice's) values: non-empty, each a value, no repeats
local function check_values(key, list, what)
   if type(list) ~= "table" then
      usage(("%s: %s needs a list of values such as { 0.1, 0.01 }, got %s"):format(key, what, show(list)))
   end
   local problem = list_problem(list)
   if problem then
      local alternative = what == "a table" and ", or a distribution such as log_uniform(1e-5, 1e-1)" or ""
      usage(("%s: %s must be a list of values such as { 0.1, 0.01 }%s; %s"):format(key, what, alternative, problem))
   end
   if #list == 0 then usage(("%s: %s is empty; give at least one value"):format(key, what == "a table" and "the list" or what)) end
   local seen = {}
   for i, v in ipairs(list) do
      local problem = value_problem(v)
      if problem then usage(("%s[%d]: %s"):format(key, i, problem)) end
      if seen[v] then
         usage(("%s[%d]: %s is listed twice (also at [%d]); give each value once"):format(key, i, show(v), seen[v]))
      end
      seen[v] = i
   end
end

local function check_distribution(key, d)
   local a, b = d.a, d.b
   if d.kind == "choice" then return check_values(key, d.values, "choice{...}") end
   if type(a) ~= "number" or type(b) ~= "number" or not is_finite(a) or not is_finite(b) then
      usage(("%s: %s needs two finite numbers, got %s"):format(key, d.kind, tostring(d)))
   end
   if d.kind == "log_uniform" and not (0 < a and a < b) then
      usage(("%s: log_uniform(a, b) needs 0 < a < b, got %s"):format(key, tostring(d)))
   elseif d.kind == "uniform" and not (a < b) then
      usage(("%s: uniform(a, b) needs a < b, got %s"):format(key, tostring(d)))
   elseif d.kind == "int" then
      if a % 1 ~= 0 or b % 1 ~= 0 or abs(a) > 2 ^ 52 or abs(b) > 2 ^ 52 then
         usage(("%s: int(a, b) needs whole numbers (below 2^52 in size), got %s"):format(key, tostring(d)))
      end
      if not (a <= b) then usage(("%s: int(a, b) needs a <= b, got %s"):format(key, tostring(d))) end
   end
end

local function key_of(where, name) return where and (where .. "." .. name) or name end

--- Raises a usage error naming the first bad entry of space (where .. "." .. name), or
-- returns nothing.
function M.check(space, where)
   if type(space) ~= "table" or M.is_distribution(space) then
      usage(("%s: a search space is a table of name = value, list or distribution, got %s")
         :format(where or "search space", show(space)))
   end
   local names = {}
   for name in pairs(space) do
      if type(name) ~= "string" or name == "" then
         usage(("%s: hyperparameter names are strings, got [%s]"):format(where or "search space", show(name)))
      end
      names[#names + 1] = name
   end
   table.sort(names)
   for _, name in ipairs(names) do
      local v, key = space[name], key_of(where, name)
      if M.is_distribution(v) then
         check_distribution(key, v)
      elseif type(v) == "table" then
         check_values(key, v, "a table")
      else
         local problem = value_problem(v)
         if problem then usage(("%s: %s"):format(key, problem)) end
      end
   end
end

---------------------------------------------------------------------------------------
-- dimensions: the searched names, each with its map from [0, 1)

-- the searched names, sorted, as { name, kind, a, b, values }, and the fixed values
local function dimensions(space)
   local names = {}
   for name in pairs(space) do names[#names + 1] = name end
   table.sort(names)
   local dims, fixed = {}, {}
   for _, name in ipairs(names) do
      local v = space[name]
      if M.is_distribution(v) then
         dims[#dims + 1] = { name = name, kind = v.kind, a = v.a, b = v.b, values = v.values }
      elseif type(v) == "table" then
         dims[#dims + 1] = { name = name, kind = "choice", values = v }
      else
         fixed[name] = v
      end
   end
   return dims, fixed
end

local function clamp(x, lo, hi) return min(hi, max(lo, x)) end

-- the value of dimension d at u in [0, 1]
local function from_unit(d, u)
   if d.kind == "log_uniform" then return clamp(d.a * exp(u * log(d.b / d.a)), d.a, d.b) end
   if d.kind == "uniform" then return clamp(d.a + u * (d.b - d.a), d.a, d.b) end
   if d.kind == "int" then return min(d.b, d.a + floor(u * (d.b - d.a + 1))) end
   local k = #d.values
   return d.values[min(k, floor(u * k) + 1)]
end

local TOLERANCE = 1e-6

-- the coordinate in [0, 1] of value v of dimension d (an int or a choice at its bucket's
-- centre), or nil when v lies outside d
local function to_unit(d, v)
   if d.kind == "choice" then
      for i, x in ipairs(d.values) do
         if x == v then return (i - 0.5) / #d.values end
      end
      return nil
   end
   if type(v) ~= "number" or not is_finite(v) then return nil end
   if d.kind == "int" then
      if v % 1 ~= 0 or v < d.a or v > d.b then return nil end
      return (v - d.a + 0.5) / (d.b - d.a + 1)
   end
   local slack = TOLERANCE * max(abs(d.a), abs(d.b))
   if v < d.a - slack or v > d.b + slack then return nil end
   if d.kind == "log_uniform" then return clamp(log(v / d.a) / log(d.b / d.a), 0, 1) end
   return clamp((v - d.a) / (d.b - d.a), 0, 1)
end

local function point_of(dims, fixed, us)
   local p = {}
   for name, v in pairs(fixed) do p[name] = v end
   for k, d in ipairs(dims) do p[d.name] = from_unit(d, us[k]) end
   return p
end

-- a text that two points share exactly when their searched values are equal
local function identity(dims, p)
   local parts = {}
   for k, d in ipairs(dims) do
      local v = p[d.name]
      parts[k] = type(v) == "number" and ("%.17g"):format(v) or show(v)
   end
   return table.concat(parts, "\0")
end

---------------------------------------------------------------------------------------
-- arguments

local function check_count(n, what)
   if type(n) ~= "number" or n < 0 or n % 1 ~= 0 or n > 2 ^ 31 then
      usage(("%s: the number of points must be a whole number >= 0, got %s"):format(what, show(n)))
   end
end

local function rng_of(seed, what)
   if type(seed) ~= "number" or seed < 0 or seed >= 2 ^ 32 or seed % 1 ~= 0 then
      usage(("%s: the seed must be a whole number from 0 to 4294967295, got %s"):format(what, show(seed)))
   end
   return RandomState(seed)
end

---------------------------------------------------------------------------------------
-- grid

--- The Cartesian product of the space's lists, every fixed value in every point: one point
-- when there is no list. A distribution is a usage error naming its key.
function M.grid(space, where)
   M.check(space, where)
   local names = {}
   for name in pairs(space) do names[#names + 1] = name end
   table.sort(names)
   local axes, fixed = {}, {}
   for _, name in ipairs(names) do
      local v = space[name]
      if M.is_distribution(v) then
         usage(("%s: a grid needs a list of values, got %s; list the values, or search it with "
            .. "search = \"random\", \"quasirandom\" or \"bayes\""):format(key_of(where, name), tostring(v)))
      elseif type(v) == "table" then
         axes[#axes + 1] = { name = name, values = v }
      else
         fixed[name] = v
      end
   end
   local points, index = {}, {}
   for k = 1, #axes do index[k] = 1 end
   repeat
      local p = {}
      for name, v in pairs(fixed) do p[name] = v end
      for k, axis in ipairs(axes) do p[axis.name] = axis.values[index[k]] end
      points[#points + 1] = p
      local k = #axes   -- advance the odometer, the last axis fastest
      while k >= 1 do
         index[k] = index[k] + 1
         if index[k] <= #axes[k].values then break end
         index[k] = 1
         k = k - 1
      end
   until k == 0
   return points
end

---------------------------------------------------------------------------------------
-- random

--- n points, each searched value drawn independently from its distribution (a list as a
-- choice), reproducible from seed (0 .. 2^32 - 1).
function M.random(space, n, seed, where)
   M.check(space, where)
   check_count(n, "random search")
   local rng = rng_of(seed, "random search")
   local dims, fixed = dimensions(space)
   local points = {}
   for i = 1, n do
      local us = {}
      for k = 1, #dims do us[k] = rng:random_sample() end
      points[i] = point_of(dims, fixed, us)
   end
   return points
end

---------------------------------------------------------------------------------------
-- quasirandom

local function first_primes(count)
   local primes, c = {}, 2
   while #primes < count do
      local prime = true
      for _, p in ipairs(primes) do
         if p * p > c then break end
         if c % p == 0 then prime = false; break end
      end
      if prime then primes[#primes + 1] = c end
      c = c + 1
   end
   return primes
end

-- the scrambled Halton sequence in d dimensions: a function of the index i >= 1 returning
-- the list of d coordinates of point i in [0, 1)
local function halton(d, seed)
   local rng = rng_of(seed, "quasirandom search")
   local bases, perms, shifts = first_primes(d), {}, {}
   for k = 1, d do
      local b, perm = bases[k], { [0] = 0 }
      for digit = 1, b - 1 do perm[digit] = digit end
      for j = b - 1, 2, -1 do   -- Fisher-Yates over the digits 1..b-1
         local r = 1 + floor(rng:random_sample() * j)
         perm[j], perm[r] = perm[r], perm[j]
      end
      perms[k], shifts[k] = perm, rng:random_sample()
   end
   return function(i)
      local us = {}
      for k = 1, d do
         local b, perm = bases[k], perms[k]
         local x, scale, rest = 0, 1 / b, M.SKIP + i
         while rest > 0 do
            local digit = rest % b
            x = x + perm[digit] * scale
            rest = (rest - digit) / b
            scale = scale / b
         end
         us[k] = (x + shifts[k]) % 1
      end
      return us
   end
end

--- n points of the scrambled Halton sequence mapped to the space, reproducible from seed.
function M.quasirandom(space, n, seed, where)
   M.check(space, where)
   check_count(n, "quasirandom search")
   local dims, fixed = dimensions(space)
   local sequence = halton(#dims, seed)
   local points = {}
   for i = 1, n do points[i] = point_of(dims, fixed, sequence(i)) end
   return points
end

---------------------------------------------------------------------------------------
-- bayes

local BAYES_OPTIONS = { seed = true, maximize = true, initial = true, xi = true, candidates = true, where = true }
local REFINE_STEPS, REFINE_TOP, REFINE_TRIES = { 0.1, 0.03, 0.01 }, 5, 10

local function check_bayes_options(opts)
   if type(opts) ~= "table" then usage("bayes search: opts must be a table such as { seed = 42 }") end
   for k in pairs(opts) do
      if not BAYES_OPTIONS[k] then
         usage(("bayes search: unknown option %s; the options are seed, maximize, initial, xi, candidates, where")
            :format(show(k)))
      end
   end
   local function whole(name, v, lo)
      if type(v) ~= "number" or v % 1 ~= 0 or v < lo then
         usage(("bayes search: %s must be a whole number >= %d, got %s"):format(name, lo, show(v)))
      end
   end
   whole("initial", opts.initial or 5, 1)
   whole("candidates", opts.candidates or 1000, 1)
   local xi = opts.xi or 0
   if type(xi) ~= "number" or not is_finite(xi) or xi < 0 then
      usage(("bayes search: xi must be a finite number >= 0, got %s"):format(show(xi)))
   end
   if opts.maximize ~= nil and type(opts.maximize) ~= "boolean" then
      usage(("bayes search: maximize must be true or false, got %s"):format(show(opts.maximize)))
   end
end

-- the usable observations as unit coordinates and targets to minimise (diverged ones as
-- the worst finite target), and the identities of all observed points
local function read_observations(dims, fixed, observations, maximize, where)
   local what = where and ("bayes search (" .. where .. ")") or "bayes search"
   if type(observations) ~= "table" or not is_list(observations) then
      usage(what .. ": observations must be a list of { point = {...}, value = number }")
   end
   local X, y, seen = {}, {}, {}
   for i, obs in ipairs(observations) do
      if type(obs) ~= "table" or type(obs.point) ~= "table" or type(obs.value) ~= "number" then
         usage(("%s: observation %d must be { point = {...}, value = number }, got %s")
            :format(what, i, errors.describe(obs)))
      end
      local us = {}
      for k, d in ipairs(dims) do
         local v = obs.point[d.name]
         if v == nil then usage(("%s: observation %d has no value for %s"):format(what, i, d.name)) end
         us[k] = to_unit(d, v)
         if not us[k] then us = nil; break end
      end
      for name, v in pairs(fixed) do
         if us and obs.point[name] ~= nil and obs.point[name] ~= v then us = nil end
      end
      if us then
         X[#X + 1] = us
         y[#y + 1] = maximize and -obs.value or obs.value
         seen[identity(dims, obs.point)] = true
      end
   end
   local worst = -huge
   for _, v in ipairs(y) do
      if is_finite(v) and v > worst then worst = v end
   end
   if worst == -huge then worst = 0 end   -- nothing finite: every target alike
   for i, v in ipairs(y) do
      if not is_finite(v) then y[i] = worst end
   end
   return X, y, seen
end

-- the point of coordinates us snapped to a value and back: its canonical coordinates
local function canonical(dims, us)
   local out = {}
   for k, d in ipairs(dims) do out[k] = to_unit(d, from_unit(d, us[k])) end
   return out
end

local function identity_of_units(dims, us)
   local p = {}
   for k, d in ipairs(dims) do p[d.name] = from_unit(d, us[k]) end
   return identity(dims, p)
end

-- the unexcluded candidate of largest expected improvement (canonical coordinates), or nil
local function maximise_acquisition(model, dims, best, xi, rng, count, excluded)
   local pool, ids = {}, {}
   local function offer(us)
      local c = canonical(dims, us)
      local id = identity_of_units(dims, c)
      if not excluded[id] and not ids[id] then
         pool[#pool + 1] = c
         ids[id] = true
      end
   end
   local function score(list)
      local mu, sd = model:predict(list)
      local scored = {}
      for j, us in ipairs(list) do
         scored[j] = { us = us, ei = gp().expected_improvement(mu[j], sd[j], best, xi), sd = sd[j], order = j }
      end
      table.sort(scored, function(p, q)
         if p.ei ~= q.ei then return p.ei > q.ei end
         if p.sd ~= q.sd then return p.sd > q.sd end
         return p.order < q.order
      end)
      return scored
   end
   for _ = 1, count do
      local us = {}
      for k = 1, #dims do us[k] = rng:random_sample() end
      offer(us)
   end
   if #pool == 0 then return nil end
   local ranked = score(pool)
   for _, step in ipairs(REFINE_STEPS) do
      pool = {}
      for t = 1, min(REFINE_TOP, #ranked) do
         pool[#pool + 1] = ranked[t].us
         for _ = 1, REFINE_TRIES do
            local us = {}
            for k, d in ipairs(dims) do
               us[k] = d.kind == "choice" and ranked[t].us[k] or clamp(ranked[t].us[k] + step * rng:gauss(), 0, 1)
            end
            offer(us)
         end
      end
      ranked = score(pool)
   end
   return ranked[1].us
end

-- n points of the quasirandom design from index `from` on, skipping the excluded ones;
-- fewer when a scan of 64 n + 1024 indices finds no more
local function initial_design(dims, fixed, n, from, seed, excluded)
   local sequence = halton(#dims, seed)
   local points = {}
   local i, last = from, from + 64 * n + 1024
   while #points < n and i <= last do
      local p = point_of(dims, fixed, sequence(i))
      local id = identity(dims, p)
      if not excluded[id] then
         points[#points + 1] = p
         excluded[id] = true
      end
      i = i + 1
   end
   return points
end

--- n new points by Gaussian-process search given observations (see the module's notes);
-- opts: seed (default 0), maximize, initial (5), xi (0), candidates (1000), where.
function M.bayes(space, observations, n, opts)
   opts = opts or {}
   check_bayes_options(opts)
   M.check(space, opts.where)
   check_count(n, "bayes search")
   local seed = opts.seed or 0
   local rng = rng_of(seed, "bayes search")
   local dims, fixed = dimensions(space)
   local X, y, excluded = read_observations(dims, fixed, observations, opts.maximize, opts.where)
   if #X < (opts.initial or 5) or #dims == 0 then
      return initial_design(dims, fixed, n, #X + 1, seed, excluded)
   end
   local categorical = {}
   for k, d in ipairs(dims) do categorical[k] = d.kind == "choice" end
   local model = gp().fit(X, y, { categorical = categorical })
   local points = {}
   for b = 1, n do
      local best = huge
      for _, v in ipairs(y) do best = min(best, v) end
      local us = maximise_acquisition(model, dims, best, opts.xi or 0, rng, opts.candidates or 1000, excluded)
      if not us then break end
      points[b] = point_of(dims, fixed, us)
      excluded[identity(dims, points[b])] = true
      if b < n then   -- kriging believer: the model's mean there, taken as observed
         local mu = model:predict({ us })
         X[#X + 1], y[#y + 1] = us, mu[1]
         model = gp().fit(X, y, { categorical = categorical, length_scale = model.length_scale })
      end
   end
   return points
end

return M
