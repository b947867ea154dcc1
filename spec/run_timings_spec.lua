-- runner.run's `timings` option (bench/epoch.lua's breakdown of an epoch): the run fills the
-- table with seconds per phase that add up to about its wall time, and timing a run changes
-- none of its numbers.
local runner = require "deepobs.runner"
local progress = require "deepobs.progress"
local fs = require "helpers.fs"

local TMP = fs.sh("pwd"):match("[^\n]+") .. "/.spec_tmp_run_timings"
local PHASES = { "setup", "train_steps", "data_train", "eval_train_eval", "data_train_eval", "eval_test",
   "data_test", "logging", "checkpoint", "results" }

local function run(problem, epochs, bs, timings)
   return runner.run { problem = problem, optimizer = "momentum", lr = 1e-4, hyperparams = { momentum = 0.9 },
      num_epochs = epochs, batch_size = bs, output_dir = TMP, quiet = true, threads = 1, timings = timings, time = 0,
      checkpoint_minutes = 0 }
end

local KEYS = { "train_losses", "test_losses", "train_accuracies", "test_accuracies", "minibatch_train_losses" }

describe("runner.run timings", function()
   before_each(function() fs.rmrf(TMP) end)
   teardown(function() fs.rmrf(TMP) end)

   for _, case in ipairs { { "quadratic_deep", 2 }, { "two_d_rosenbrock", 1, 128 } } do
      local problem, epochs, bs = case[1], case[2], case[3]
      it(problem .. ": every phase timed, the phases cover the run, the numbers as without timings", function()
         local plain = run(problem, epochs, bs, nil)
         fs.rmrf(TMP)
         local timings = {}
         local t0 = progress.now()
         local timed = run(problem, epochs, bs, timings)
         local wall = progress.now() - t0
         for _, k in ipairs(KEYS) do
            assert.are.same(plain[k], timed[k], k .. " differs when the run is timed")
         end
         local sum = 0
         for _, k in ipairs(PHASES) do
            assert.is_number(timings[k], "no time for phase " .. k)
            assert.is_true(timings[k] >= 0, k .. " is negative")
            sum = sum + timings[k]
         end
         for k in pairs(timings) do
            assert.is_true(({ setup = 1, train_steps = 1, data_train = 1, eval_train_eval = 1, data_train_eval = 1,
               eval_test = 1, data_test = 1, logging = 1, checkpoint = 1, results = 1 })[k] ~= nil, "unexpected phase " .. k)
         end
         assert.is_true(sum <= wall + 1e-6, ("the phases (%g s) exceed the run's wall time (%g s)"):format(sum, wall))
         assert.is_true(sum >= 0.5 * wall, ("the phases (%g s) cover under half the run (%g s)"):format(sum, wall))
         -- checkpoint_minutes = 0 saves at every evaluation before the last: that time is the checkpoint's
         if epochs > 1 then assert.is_true(timings.checkpoint > 0, "the checkpoint saves took no time") end
      end)
   end
end)
