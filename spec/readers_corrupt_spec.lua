-- Corrupt and odd files thrown at every reader in datasets/formats/, at the
-- JPEG decoder behind the image pipelines, and at every dataset loader that
-- reads files (spec/fixtures/corrupt_targets.lua lists them and their cases):
-- a FIFO, a directory, symbolic-link loops, /dev/zero, an empty file, every
-- truncation of a small valid file (every few bytes for the larger ones),
-- single-byte flips in headers, headers claiming sizes no file holds, and
-- trailing garbage. Each case must end in an error that names the file (and,
-- for a loader, the scripts/prepare_data.sh fix), or in the valid file's
-- result where the change is one the format ignores; never a crash, a hang,
-- a raw Lua/FFI message or a different result. Each target runs in a child
-- process under `timeout`, so a hang or a crash fails a case, not the suite.
-- quadratic and two_d read no files and have no target.
local fs = require "helpers.fs"
local targets = require "fixtures.corrupt_targets"

local ROOT = "spec/tmp_corrupt"
-- a whole target's cases take a few seconds (more under AddressSanitizer, `make test-asan`);
-- a FIFO that blocks makes a child wait for this
local TIMEOUT = os.getenv("DEEPOBS_ASAN") and 300 or 90

local function shq(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

-- Runs the listed targets' children in parallel from their `from` cases;
-- returns name -> { lines of output, rc }.
local function run_children(jobs)
   local script = {}
   for i, job in ipairs(jobs) do
      local base = ("%s/job%d"):format(ROOT, i)
      job.out, job.rc = base .. ".out", base .. ".rc"
      script[#script + 1] = ("( timeout -s KILL %d luajit spec/fixtures/corrupt_child.lua %s %s %d > %s 2>&1; echo $? > %s ) &")
         :format(TIMEOUT, shq(job.name), shq(("%s/w%d_%d"):format(ROOT, i, job.from)), job.from, job.out, job.rc)
   end
   script[#script + 1] = "wait"
   fs.write(ROOT .. "/run.sh", table.concat(script, "\n") .. "\n")
   os.execute("sh " .. ROOT .. "/run.sh")
   for _, job in ipairs(jobs) do
      job.text = fs.read(job.out)
      job.status = tonumber((fs.read(job.rc):match("%d+")))
   end
end

-- every target's outcomes: results[name] = { { i, outcome, case name, message }, ... }
local function run_all()
   local results, todo = {}, {}
   for _, name in ipairs(targets.NAMES) do
      results[name] = {}
      todo[#todo + 1] = { name = name, from = 1 }
   end
   local rounds = 0
   while #todo > 0 do
      rounds = rounds + 1
      assert(rounds <= 20, "more than 20 rounds of children: something crashes or hangs over and over")
      run_children(todo)
      local again = {}
      for _, job in ipairs(todo) do
         local res, started, done = results[job.name], nil, false
         for line in job.text:gmatch("[^\n]+") do
            local i = tonumber(line:match("^start (%d+)$"))
            if i then started = i end
            local ci, outcome, rest = line:match("^case (%d+) (%a+) (.*)$")
            if ci then
               local cname, msg = rest:match("^(.-) | (.*)$")
               res[#res + 1] = { tonumber(ci), outcome, cname or rest, msg or "" }
               started = nil
            end
            if line:match("^done ") then done = true end
            local setup_err = line:match("^setup%-failed (.*)")
            if setup_err then error(job.name .. ": the valid files do not load: " .. setup_err) end
         end
         if not done then
            -- killed by timeout (SIGKILL: 137) while a case ran: a hang; any other end: a crash
            local outcome = job.status == 137 and "hang" or "crash"
            local tail = job.text:sub(-300):gsub("\n", " ")
            if started then
               res[#res + 1] = { started, outcome, "case " .. started, ("exit status %s; %s"):format(job.status, tail) }
               again[#again + 1] = { name = job.name, from = started + 1 }
            else
               res[#res + 1] = { job.from, outcome, "before the first case", tail }
            end
         end
      end
      todo = again
   end
   return results
end

local OUTCOMES = { "clear", "same", "valid", "crash", "hang", "raw", "accepted" }
local BAD = { crash = true, hang = true, raw = true, accepted = true }

describe("corrupt and odd data files", function()
   local results
   setup(function()
      fs.rmrf(ROOT)
      fs.mkdir(ROOT)
      results = run_all()
   end)
   teardown(function() fs.rmrf(ROOT) end)

   it("end in a clear error naming the file (or the valid file's result), never a crash, hang, raw message or wrong result", function()
      local total, by = 0, {}
      for _, o in ipairs(OUTCOMES) do by[o] = 0 end
      local lines, bad = {}, {}
      for _, name in ipairs(targets.NAMES) do
         local counts = {}
         for _, r in ipairs(results[name]) do
            counts[r[2]] = (counts[r[2]] or 0) + 1
            by[r[2]] = (by[r[2]] or 0) + 1
            total = total + 1
            if BAD[r[2]] and #bad < 30 then bad[#bad + 1] = ("%s, %s: %s: %s"):format(name, r[3], r[2], r[4]:sub(1, 300)) end
         end
         local parts = {}
         for _, o in ipairs(OUTCOMES) do
            if counts[o] then parts[#parts + 1] = ("%d %s"):format(counts[o], o) end
         end
         lines[#lines + 1] = ("  %-28s %s"):format(name, table.concat(parts, ", "))
         -- every target got cases, and the ones it must refuse were refused
         assert.is_true((counts.clear or 0) >= 4, name .. " refused fewer than 4 cases")
      end
      io.write("\n", table.concat(lines, "\n"), "\n")
      io.write(("readers: %d corrupt files, %d crash, %d hang, %d raw, %d accepted (%d refused clearly, %d unchanged, "
         .. "%d valid input)\n"):format(total, by.crash, by.hang, by.raw, by.accepted, by.clear, by.same, by.valid))
      assert.are.same({}, bad)
      assert.are.same({ crash = 0, hang = 0, raw = 0, accepted = 0 },
         { crash = by.crash, hang = by.hang, raw = by.raw, accepted = by.accepted })
      assert.is_true(total > 2000)
   end)

   it("a FIFO in place of any data file fails at once with an error naming it", function()
      for _, name in ipairs(targets.NAMES) do
         for _, r in ipairs(results[name]) do
            if r[3] == "fifo in place of the file" then
               assert.are.equal("clear", r[2], name .. ": " .. r[4])
               assert.matches("named pipe %(FIFO%)", r[4], 1, false)
            end
         end
      end
   end)

end)

describe("the datasets' layering", function()
   local function read(path) return fs.read(path) end
   local function lua_files(dir)
      return fs.lines(fs.sh("ls " .. dir .. "/*.lua"))
   end

   it("the train / train_eval / test split rule lives in datasets/pipeline/split_rule.lua alone", function()
      -- what stating the rule takes: batch counts, shuffling, train_eval_size arithmetic, hold-out seeds
      local rule_words = { "num_batches", "shuffle%s*=", "randperm", "train_eval_size%s*/", "VALID_SEED%s*=",
         "skip%(", "take%(" }
      local rule = read("datasets/pipeline/split_rule.lua"):gsub("%-%-[^\n]*", "")
      for _, w in ipairs { "num_batches", "shuffle%s*=", "VALID_SEED%s*=" } do assert.is_truthy(rule:find(w), w) end
      -- the dataset definitions and the pipelines that are not split kinds (split.lua,
      -- image_folder.lua and stream.lua are: they batch what the rule hands them)
      local files = lua_files("datasets")
      for _, f in ipairs { "record_images", "locate", "vocab" } do files[#files + 1] = "datasets/pipeline/" .. f .. ".lua" end
      assert.is_true(#files >= 14)
      for _, f in ipairs(files) do
         local code = read(f):gsub("%-%-[^\n]*", "")
         for _, w in ipairs(rule_words) do
            assert.is_nil(code:find(w), f .. " restates the split rule (" .. w .. ")")
         end
      end
   end)

   it("datasets/*.lua define datasets; byte-level parsing lives in datasets/formats/", function()
      local parsing = { "ffi%.cdef", "io%.open", ":read%(", "string%.byte", ":byte%(", "ffi%.string" }
      for _, f in ipairs(lua_files("datasets")) do
         local code = read(f):gsub("%-%-[^\n]*", "")
         for _, w in ipairs(parsing) do
            assert.is_nil(code:find(w), f .. " parses a file format itself (" .. w .. ")")
         end
      end
   end)
end)
