-- The problem definitions: problems/_define.lua checks every field and fills the default
-- weight decay, and problems/init.lua builds the registry from the files in problems/.
local define = require "problems._define"
local problems = require "problems"
local fs = require "helpers.fs"

local TMP = os.tmpname()
os.remove(TMP)

local function fields(over)
   local p = {
      name = "toy", dataset = "mnist", batch_size = 8, num_epochs = 2, weight_decay = 0.5,
      has_accuracy = true, description = "a toy", build = function(opts) return opts end,
      forward = function() end,
   }
   for k, v in pairs(over or {}) do p[k] = v end
   return p
end

local function err_of(f, ...)
   local ok, e = pcall(f, ...)
   assert.is_false(ok, "expected an error")
   return tostring(e)
end

-- what a caller sees on stderr while f runs
local function stderr_of(f)
   local saved, got = io.stderr, {}
   io.stderr = { write = function(_, ...) for _, s in ipairs { ... } do got[#got + 1] = s end end }
   local ok, e = pcall(f)
   io.stderr = saved
   assert(ok, e)
   return table.concat(got)
end

describe("problems._define", function()
   it("refuses each bad value of each field, naming the problem and the field", function()
      local NAN = 0 / 0
      local BAD = {
         name = { false, 1, "", "two words", "1st", "a-b", "a.b", {} },
         dataset = { false, 1, true, function() end },
         dataset_opts = { 1, "x", true },
         batch_size = { 0, -1, 1.5, "128", NAN, math.huge, -math.huge, true, {} },
         num_epochs = { 0, -3, 0.5, "100", NAN, math.huge, true },
         weight_decay = { -1, -1e-12, "0.1", NAN, math.huge, true, {} },
         has_accuracy = { 1, "true", 0, {} },
         description = { false, "", 1, {} },
         build = { false, 1, "f", {} },
         forward = { false, 1, {} },
         start_phase = { 1, "f", true },
      }
      local count = 0
      for field, values in pairs(BAD) do
         for _, v in ipairs(values) do
            local e = err_of(define, fields { [field] = v })
            assert.truthy(e:find("problems._define: problem ", 1, true), e)
            assert.truthy(e:find(field, 1, true), field .. ": " .. e)
            count = count + 1
         end
         -- a required field left out
         if field ~= "dataset_opts" and field ~= "start_phase" and field ~= "batch_size"
            and field ~= "num_epochs" and field ~= "weight_decay" then
            local p = fields()
            p[field] = nil
            assert.truthy(err_of(define, p):find(field, 1, true), field)
            count = count + 1
         end
      end
      assert.is_true(count > 50)
   end)

   it("refuses unknown fields (typos), half a carried-state pair, exports that shadow a field, and non-tables", function()
      for _, typo in ipairs { "weight_deacy", "batchsize", "Name", "descripton", "hessian" } do
         local e = err_of(define, fields { [typo] = 1 })
         assert.truthy(e:find(("unknown field %q"):format(typo), 1, true), e)
      end
      local f = function() end
      assert.matches("get_carried and set_carried come together", err_of(define, fields { get_carried = f }))
      assert.matches("get_carried and set_carried come together", err_of(define, fields { set_carried = f }))
      for _, k in ipairs { "name", "build", "weight_decay", "forward" } do
         assert.matches("export \"" .. k .. "\" shadows a field", err_of(define, fields(), { [k] = 1 }))
      end
      for _, v in ipairs { "toy", 1, true, false } do
         assert.matches("give a table of fields", err_of(define, v))
      end
      assert.matches("give a table of fields", err_of(define))
   end)

   it("points its errors at the problem file that called it", function()
      local ok, e = pcall(function()
         local p = define(fields { batch_size = 0 })
         return p
      end)
      assert.is_false(ok)
      assert.truthy(tostring(e):find("problems_define_spec.lua:%d+:"), e)
   end)

   it("accepts the optional forms: no defaults, weight decay 0, a dataset table, dataset_opts, a carried state", function()
      local f = function() end
      for _, over in ipairs {
         { batch_size = false, num_epochs = false, weight_decay = false },
         { weight_decay = 0 }, { dataset = { name = "mine" } }, { dataset_opts = { seq_length = 5 } },
         { start_phase = f, get_carried = f, set_carried = f },
      } do
         local p = fields()
         for k, v in pairs(over) do p[k] = v or nil end
         local d = define(p, { extra = 7 })
         for k, v in pairs(p) do
            if k ~= "build" then assert.are.equal(v, d[k], k) end
         end
         assert.are.equal(7, d.extra)
      end
   end)

   it("build gets the default weight decay unless the caller gives one, and leaves the caller's table alone", function()
      local p = define(fields { weight_decay = 0.25 })
      assert.are.equal(0.25, p.build().weight_decay)
      assert.are.equal(0.25, p.build({}).weight_decay)
      local opts = { batch_size = 3, vocab_size = 19 }
      local got = p.build(opts)
      assert.are.same({ batch_size = 3, vocab_size = 19, weight_decay = 0.25 }, got)
      assert.is_nil(opts.weight_decay)
      assert.are.equal(0, p.build({ weight_decay = 0 }).weight_decay)
      assert.are.equal(3e-3, p.build({ weight_decay = 3e-3 }).weight_decay)
      local none = fields()
      none.weight_decay = nil
      assert.is_nil(define(none).build().weight_decay)
   end)

   it("build refuses bad options with its problem's name", function()
      local p = define(fields())
      for _, opts in ipairs { 1, "x", true } do
         assert.matches("^toy%.build: opts must be a table or nil", err_of(p.build, opts))
      end
      for _, wd in ipairs { -1, "0.1", 0 / 0, math.huge, true, {} } do
         assert.matches("^toy%.build: weight_decay must be a number >= 0", err_of(p.build, { weight_decay = wd }))
      end
   end)

   it("warns as DeepOBS does when a problem without weight decay is given one, and only then", function()
      local spec = fields()
      spec.weight_decay = nil
      local none = define(spec)
      local out = stderr_of(function() none.build { weight_decay = 0.1 } end)
      assert.matches("WARNING: toy has no weight decay %(L2 regularization%); %-%-weight_decay 0%.1 is ignored", out)
      assert.are.equal("", stderr_of(function() none.build { weight_decay = 0 } end))
      assert.are.equal("", stderr_of(function() none.build {} end))
      local with = define(fields { weight_decay = 0.5 })
      assert.are.equal("", stderr_of(function() with.build { weight_decay = 0.1 } end))
   end)
end)

describe("the problem registry", function()
   it("lists exactly the problem files of problems/ and each file's problem has that name", function()
      local files = {}
      for _, f in ipairs(fs.lines(fs.sh("ls problems"))) do
         local n = f:match("^([^_][%w_]*)%.lua$")
         if n and n ~= "init" then files[#files + 1] = n end
      end
      table.sort(files)
      assert.are.same(files, problems.list())
      assert.is_true(#files >= 32)
      for _, n in ipairs(files) do
         local p = problems.get(n)
         assert.are.equal(n, p.name)
         assert.is_function(p.build)
         assert.is_function(p.forward)
         assert.is_string(p.description)
         assert.is_boolean(p.has_accuracy)
         -- every problem file defines its problem through problems/_define.lua (directly or
         -- through the 2-D problems' shared form)
         local src = fs.read("problems/" .. n .. ".lua")
         assert.truthy(src:find('require "problems._define"', 1, true) or src:find('require "problems._two_d"', 1, true), n)
      end
   end)

   it("refuses what is not a problem with the list of the known ones", function()
      local known = table.concat(problems.list(), ", ")
      local count = 0
      for _, name in ipairs { "init", "sets", "_arch", "_define", "_convnets", "", "cifar10_3c3d.lua",
         "problems.cifar10_3c3d", "../problems/cifar10_3c3d", "CIFAR10_3C3D", " mnist_mlp", "mnist_mlp ", "mnist" } do
         local e = err_of(problems.get, name)
         assert.are.equal(("unknown test problem '%s'; known problems: %s"):format(name, known), e)
         count = count + 1
      end
      for _, v in ipairs { 1, true, {}, function() end } do
         assert.truthy(err_of(problems.get, v):find("; known problems: " .. known, 1, true))
         count = count + 1
      end
      assert.truthy(err_of(problems.get):find("unknown test problem 'nil'", 1, true))
      assert.is_true(count > 15)
   end)

   describe("in a folder of its own", function()
      local saved_path, saved_loaded = package.path, {}
      local registry
      setup(function()
         os.execute(("mkdir -p '%s/problems'"):format(TMP))
         fs.write(TMP .. "/problems/init.lua", fs.read("problems/init.lua"))
         local plain = 'return { name = "%s", build = function() end, forward = function() end }'
         fs.write(TMP .. "/problems/alpha.lua", plain:format("alpha"))
         fs.write(TMP .. "/problems/zeta_2.lua", plain:format("zeta_2"))
         fs.write(TMP .. "/problems/misnamed.lua", plain:format("other"))
         fs.write(TMP .. "/problems/_helper.lua", "return {}")
         fs.write(TMP .. "/problems/notes.md", "not a problem")
         fs.write(TMP .. "/problems/alpha.lua.orig", "not a problem")
         fs.write(TMP .. "/problems/with-dash.lua", "return {}")
         for _, n in ipairs { "problems", "problems.alpha", "problems.misnamed" } do saved_loaded[n] = package.loaded[n] end
         package.path = TMP .. "/?.lua;" .. package.path
         for n in pairs(saved_loaded) do package.loaded[n] = nil end
         registry = assert(loadfile(TMP .. "/problems/init.lua"))()
      end)
      teardown(function()
         package.path = saved_path
         for _, n in ipairs { "problems", "problems.alpha", "problems.misnamed" } do package.loaded[n] = saved_loaded[n] end
         os.execute(("rm -rf '%s'"):format(TMP))
      end)

      it("takes every .lua file but init and the underscored ones, and checks each problem's name", function()
         assert.are.same({ "alpha", "misnamed", "zeta_2" }, registry.list())
         assert.are.equal("alpha", registry.get("alpha").name)
         assert.are.equal("problems/misnamed.lua defines a problem named 'other'; a problem's name is its file's name",
            err_of(registry.get, "misnamed"))
         for _, n in ipairs { "_helper", "init", "notes", "with-dash", "alpha.lua" } do
            assert.are.equal(("unknown test problem '%s'; known problems: alpha, misnamed, zeta_2"):format(n),
               err_of(registry.get, n))
         end
      end)
   end)
end)
