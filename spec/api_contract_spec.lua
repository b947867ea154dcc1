-- The engine's contract, tested from outside: thousands of invalid calls, generated from
-- a fixed seed, to every public function of the Lua package (dob.*, the Tensor methods
-- and operators, dob.nn's classes and their methods, dob.nn.init, ParamSet, dob.optim,
-- an optimizer's step), each in a child process (spec/helpers/api_contract.lua). Every
-- call must end in a clear error that names the function, or succeed: no crash, no hang,
-- no raw Lua or FFI message. The counts per outcome are printed for the record.
local contract = require "helpers.api_contract"
local dob = require "deepobs"

local DIR = "./.spec_tmp_api_contract"

local function summary(counts, bad)
   local lines = {}
   for i = 1, math.min(#bad, 15) do lines[i] = table.concat(bad[i], " | ") end
   return table.concat(lines, "\n")
end

describe("the API contract", function()
   teardown(function() os.execute("rm -rf " .. DIR) end)

   it("classifies a raw error as raw, a segfault as crash and an endless loop as hang", function()
      local plan = { { "fake.raw", "n_1" }, { "dob.zeros", "n_2" }, { "fake.crash" }, { "fake.hang" },
         { "dob.zeros", "n_m1" } }
      local counts, bad = contract.run(plan, DIR .. "/fakes", { fakes = true })
      assert.are.same({ ok = 1, success = 1, raw = 1, crash = 1, hang = 1 }, counts)
      local by_case = {}
      for _, b in ipairs(bad) do by_case[b[2]] = b[1] end
      assert.are.same({ ["fake.raw n_1"] = "raw", ["fake.crash"] = "crash", ["fake.hang"] = "hang" }, by_case)
   end)

   it("tells clear messages from raw ones", function()
      for _, msg in ipairs { "narrow: argument 'length' must be a non-negative integer, got -1",
         "x.lua:3: conv2d: input [4x3x28x28] has 3 channels but weight [8x1x3x3] expects 1",
         "optimizer: step: the closure must return the loss", "cannot save state: it is nil" } do
         assert.are.equal("ok", contract.classify(msg), msg)
      end
      for _, msg in ipairs { "attempt to compare number with nil",
         "bad argument #2 to 'dob_fill_' (cannot convert 'nil' to 'double')",
         "/x/lua/deepobs/tensor.lua:12: sizes must be integers", "deepobs: argument 'other' must be a Tensor",
         "out of memory allocating 8 bytes", "", 42 } do
         assert.are.equal("raw", contract.classify(msg), tostring(msg))
      end
   end)

   it("answers every generated invalid call to every public function with a clear error", function()
      local plan = contract.plan(dob, 20)
      local entries = contract.entries(dob)
      assert.is_true(#entries > 250, "the walk found the API (" .. #entries .. " entries)")
      local counts, bad = contract.run(plan, DIR .. "/all")
      io.stderr:write(("\napi contract: %d entries, %d calls, %d crash, %d hang, %d raw, %d clear errors, %d legal\n")
         :format(#entries, #plan, counts.crash, counts.hang, counts.raw, counts.ok, counts.success))
      assert.are.equal(#plan, counts.ok + counts.success + counts.raw + counts.crash + counts.hang)
      assert.is_true(counts.ok > 10000, "most calls are invalid")
      assert.are.same({ crash = 0, hang = 0, raw = 0 }, { crash = counts.crash, hang = counts.hang, raw = counts.raw },
         summary(counts, bad))
   end)
end)
