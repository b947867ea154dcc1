-- The C engine keeps the layers of src/README.md (its "Engine layers" table is
-- the rule): no file under src/ includes a header of a layer its row does not
-- list, no object file needs a symbol that such a layer defines, and no .c file
-- declares another file's symbols with `extern`. Each check also runs on
-- generated bad trees, to show it fails where it should. Last, the storage's
-- allocator seam: storage frees through the allocator that made it.
local ffi = require "ffi"
local fs = require "helpers.fs"
local C = require "deepobs.C"
local dob = require "deepobs"

local SRC = "src"

--- The layer table of src/README.md: rows in order, and for each layer the set
-- of layers it may use (its own is always allowed).
local function parse_layers(text)
   local order, uses = {}, {}
   for line in text:gmatch("[^\n]+") do
      local name, rest = line:match("^|%s*`([%w_]+)`%s*|(.*)|%s*$")
      if name then
         order[#order + 1] = name
         uses[name] = {}
         for used in rest:gmatch("`([%w_]+)`") do uses[name][used] = true end
      end
   end
   return { order = order, uses = uses }
end

--- The layer a path under src/ belongs to ("tensor/tensor.c" -> "tensor"),
-- or nil for a path outside every layer.
local function layer_of(layers, rel)
   if rel == "deepobs.h" then return "api" end
   local top = rel:match("^([%w_]+)/")
   return top and layers.uses[top] and top or nil
end

local function allowed(layers, from, to)
   return from == to or layers.uses[from][to] == true
end

local function strip_comments(text)
   return (text:gsub("/%*.-%*/", " "):gsub("//[^\n]*", ""))
end

--- Violations of the include rule in files = { {path = "ops/conv.c", text = ...} }.
local function include_violations(layers, files)
   local bad = {}
   for _, f in ipairs(files) do
      local from = layer_of(layers, f.path)
      if not from then
         bad[#bad + 1] = f.path .. ": not in a layer folder of src/README.md"
      else
         for inc in strip_comments(f.text):gmatch('#%s*include%s*"([^"]+)"') do
            local to = layer_of(layers, inc)
            if not to then
               bad[#bad + 1] = ("%s: includes \"%s\", not by a layer path (\"tensor/tensor.h\")"):format(f.path, inc)
            elseif not allowed(layers, from, to) then
               bad[#bad + 1] = ("%s: layer %s includes %s of layer %s"):format(f.path, from, inc, to)
            end
         end
      end
   end
   return bad
end

--- Violations of the call rule in objects = { {path, layer, defined = {sym...}, undefined = {sym...}} }:
-- an engine symbol an object needs must be defined by its layer or one it may use.
local function symbol_violations(layers, objects)
   local home = {}
   for _, o in ipairs(objects) do
      for _, s in ipairs(o.defined) do home[s] = o.layer end
   end
   local bad = {}
   for _, o in ipairs(objects) do
      for _, s in ipairs(o.undefined) do
         if s:match("^dob") then
            local to = home[s]
            if not to then
               bad[#bad + 1] = ("%s: needs %s, which no engine object defines"):format(o.path, s)
            elseif not allowed(layers, o.layer, to) then
               bad[#bad + 1] = ("%s: layer %s calls %s of layer %s"):format(o.path, o.layer, s, to)
            end
         end
      end
   end
   return bad
end

--- .c files that declare with `extern` (a symbol of another file belongs in its layer's header).
local function extern_violations(files)
   local bad = {}
   for _, f in ipairs(files) do
      if f.path:match("%.c$") and strip_comments(f.text):match("%f[%w_]extern%f[^%w_]") then
         bad[#bad + 1] = f.path .. ": declares with extern"
      end
   end
   return bad
end

local function source_files(root)
   local files = {}
   for _, p in ipairs(fs.files_under(root)) do
      if p:match("%.[ch]$") then files[#files + 1] = { path = p:sub(#root + 2), text = fs.read(p) } end
   end
   return files
end

--- The engine's object files: those next to DEEPOBS_LIB when it is a build of
-- this tree (make test-asan), else build/obj (make test).
local function object_dir()
   local lib = os.getenv("DEEPOBS_LIB")
   local dir = lib and lib:match("^(.*)/[^/]+$")
   if dir and fs.sh("ls " .. dir .. "/base/*.o 2>/dev/null") ~= "" then return dir end
   return "build/obj"
end

local function objects(layers, dir)
   local by_path, list = {}, {}
   for _, line in ipairs(fs.lines(fs.sh("nm -P -A " .. dir .. "/*/*.o"))) do
      local path, sym, kind = line:match("^(%S+):%s+(%S+)%s+(%a)")
      if path then
         local o = by_path[path]
         if not o then
            o = { path = path, layer = path:sub(#dir + 2):match("^([%w_]+)/"), defined = {}, undefined = {} }
            by_path[path] = o
            list[#list + 1] = o
         end
         if kind == "U" then o.undefined[#o.undefined + 1] = sym
         elseif kind:match("%u") then o.defined[#o.defined + 1] = sym end
      end
   end
   return list
end

local layers = parse_layers(fs.read(SRC .. "/README.md"))

local function forbidden_pairs()
   local pairs_ = {}
   for _, a in ipairs(layers.order) do
      for _, b in ipairs(layers.order) do
         if not allowed(layers, a, b) then pairs_[#pairs_ + 1] = { a, b } end
      end
   end
   return pairs_
end

--- an include line that names a header of layer `to`
local function include_of(to)
   return to == "api" and '#include "deepobs.h"\n' or ('#include "%s/x.h"\n'):format(to)
end

describe("layers of the C engine", function()
   it("the table of src/README.md is a layering: rows bottom to top, no cycles, base at the bottom", function()
      assert.is_true(#layers.order >= 6, "expected the layer table of src/README.md")
      local seen = {}
      for _, name in ipairs(layers.order) do
         for used in pairs(layers.uses[name]) do
            assert.is_true(seen[used] == true, ("%s may use %s, which is not a row above it"):format(name, used))
         end
         seen[name] = true
      end
      for _, name in ipairs { "base", "tensor", "autograd", "ops", "data" } do
         assert.is_true(seen[name] == true, "no row for layer " .. name)
      end
      assert.is_false(allowed(layers, "base", "tensor"))
      assert.is_false(allowed(layers, "tensor", "autograd"))
      assert.is_false(allowed(layers, "autograd", "ops"))
      for _, name in ipairs(layers.order) do
         if name ~= "data" then assert.is_false(allowed(layers, name, "data"), name .. " may use data") end
      end
   end)

   it("every file under src/ includes only headers of its own layer and the layers below", function()
      local files = source_files(SRC)
      assert.is_true(#files > 30)
      assert.are.same({}, include_violations(layers, files))
      assert.are.same({}, extern_violations(files))
   end)

   it("every engine object needs only symbols of its own layer and the layers below", function()
      local dir = object_dir()
      local objs = objects(layers, dir)
      local seen = {}
      for _, o in ipairs(objs) do seen[o.layer] = true end
      for _, name in ipairs { "base", "tensor", "autograd", "ops", "data" } do
         assert.is_true(seen[name] == true, ("no objects of layer %s under %s (run make)"):format(name, dir))
      end
      assert.are.same({}, symbol_violations(layers, objs))
   end)

   it("the include check flags every forbidden edge and no allowed one (generated)", function()
      local forbidden = forbidden_pairs()
      assert.is_true(#forbidden >= 15)
      for _, from in ipairs(layers.order) do
         for _, to in ipairs(layers.order) do
            local dir = from == "api" and "api" or from
            local bad = include_violations(layers, { { path = dir .. "/x.c", text = include_of(to) } })
            assert.are.equal(allowed(layers, from, to) and 0 or 1, #bad, from .. " -> " .. to)
         end
      end
      local odd = { '#include "core.h"', '#include "../ops/ops.h"', '# include "ops/ops.h"', '#include "nolayer/x.h"' }
      for _, line in ipairs(odd) do
         assert.are.equal(1, #include_violations(layers, { { path = "tensor/t.c", text = line .. "\n" } }), line)
      end
      assert.are.equal(0, #include_violations(layers, { { path = "tensor/t.c", text = '/* #include "ops/ops.h" */\n' } }))
      assert.are.equal(1, #include_violations(layers, { { path = "stray.c", text = "" } }))
      local ext = { "int f(void) { extern int n; return n; }", "extern void g(void);", "static int x;\nextern  int y;" }
      for _, text in ipairs(ext) do
         assert.are.equal(1, #extern_violations { { path = "base/x.c", text = text } }, text)
      end
      assert.are.equal(0, #extern_violations { { path = "base/x.c", text = "/* extern */ int externals;" } })
   end)

   it("the include check fails on a copy of src/ with an upward include", function()
      local tmp = os.tmpname()
      os.remove(tmp)
      fs.mkdir(tmp)
      assert(os.execute(("cp -r %s/. '%s'"):format(SRC, tmp)) == 0)
      local target = tmp .. "/tensor/tensor.c"
      fs.write(target, '#include "autograd/autograd.h"\n' .. fs.read(target))
      local bad = include_violations(layers, source_files(tmp))
      fs.rmrf(tmp)
      assert.are.same({ 'tensor/tensor.c: layer tensor includes autograd/autograd.h of layer autograd' }, bad)
   end)

   it("the symbol check flags a call into every forbidden layer (generated)", function()
      local objs = objects(layers, object_dir())
      local one_symbol = {}
      for _, o in ipairs(objs) do
         for _, s in ipairs(o.defined) do
            if s:match("^dob") then one_symbol[o.layer] = one_symbol[o.layer] or s end
         end
      end
      local flagged = 0
      for _, from in ipairs { "base", "tensor", "autograd", "ops", "data" } do
         for to, sym in pairs(one_symbol) do
            local with_caller = { { path = from .. "/fake.o", layer = from, defined = {}, undefined = { sym } } }
            for _, o in ipairs(objs) do with_caller[#with_caller + 1] = o end
            local bad = symbol_violations(layers, with_caller)
            assert.are.equal(allowed(layers, from, to) and 0 or 1, #bad, from .. " calls " .. sym)
            flagged = flagged + #bad
         end
      end
      assert.is_true(flagged >= 8)
      local ghost = { path = "ops/fake.o", layer = "ops", defined = {}, undefined = { "dob__no_such_function" } }
      assert.are.equal(1, #symbol_violations(layers, { ghost }))
   end)

   it("storage is freed through the allocator that made it, whichever is current then", function()
      ffi.cdef [[
         typedef struct dob_allocator {
            void *(*alloc)(void *ctx, size_t nbytes);
            void (*free)(void *ctx, void *p, size_t nbytes);
            void *ctx;
         } dob_allocator;
         const dob_allocator *dob__allocator(void);
         void dob__set_allocator(const dob_allocator *a);
      ]]
      local lib = C.lib
      local default = lib.dob__allocator()
      local live, made, foreign = {}, 0, 0
      -- the engine calls these on this thread, from C called by the interpreter;
      -- they must not raise (an error cannot unwind through the engine)
      jit.off()
      local alloc_cb = ffi.cast("void *(*)(void *, size_t)", function(_, n)
         local p = default.alloc(default.ctx, n)
         live[tostring(ffi.cast("uintptr_t", p))] = tonumber(n)
         made = made + 1
         return p
      end)
      local free_cb = ffi.cast("void (*)(void *, void *, size_t)", function(_, p, n)
         local key = tostring(ffi.cast("uintptr_t", p))
         if live[key] ~= tonumber(n) then foreign = foreign + 1 end
         live[key] = nil
         default.free(default.ctx, p, n)
      end)
      finally(function()
         lib.dob__set_allocator(nil)
         jit.on()
      end)
      local counting = ffi.new("dob_allocator", { alloc_cb, free_cb, nil })
      lib.dob__set_allocator(counting)
      local a, b = dob.zeros(100), dob.ones(7, 9)
      lib.dob__set_allocator(nil)
      assert.are.equal(default, lib.dob__allocator())
      local c = dob.zeros(100)          -- the default's again
      assert.are.equal(2, made)
      local held = 0
      for _ in pairs(live) do held = held + 1 end
      assert.are.equal(2, held)
      assert.are.equal(63, (b * 1):sum():item())
      a, b, c = nil, nil, nil
      collectgarbage()
      collectgarbage()
      assert.are.same({}, live)
      assert.are.equal(0, foreign)
      alloc_cb:free()
      free_cb:free()
   end)
end)
