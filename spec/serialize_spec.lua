-- dob.save / dob.load / dob.check_saveable (lua/deepobs/serialize.lua) and the
-- as_strided view they restore tensors with: exact round trips with sharing and
-- references, unsaveable values named by key path, damaged and foreign files
-- (every truncation, every single-byte change, hand-built bodies with a valid
-- checksum), and atomic writes that fail.
local ffi = require "ffi"
local dob = require "deepobs"
local fs = require "helpers.fs"
local C = require("deepobs.C").lib

pcall(ffi.cdef, "unsigned long crc32(unsigned long crc, const void *buf, unsigned int len);")
pcall(ffi.cdef, "int getpid(void);")
local z = ffi.load("z")

local TMP = "./.spec_tmp_serialize"
local ITEM = { float32 = 4, int64 = 8, uint8 = 1 }

local function tmp(name) return TMP .. "/" .. name end

-- the bytes of a tensor's elements in row-major order
local function raw(t)
   local c = t:contiguous()
   return ffi.string(C.dob_data(c.h), c:numel() * ITEM[c:dtype()])
end

local function bits(x)
   local u = ffi.new("union { double d; uint64_t u; }")
   u.d = x
   return tostring(u.u)
end

local function load_error(path, opts)
   local ok, err = pcall(dob.load, path, opts)
   assert(not ok, "loading " .. path .. " did not fail")
   return tostring(err)
end

local function round_trip(value, opts)
   dob.save(tmp("rt.dob"), value, opts)
   return dob.load(tmp("rt.dob"), opts)
end

-- stray temporary files a save left in TMP
local function temporaries()
   local found = {}
   for _, f in ipairs(fs.files_under(TMP)) do
      if f:match("%.tmp%d+$") then found[#found + 1] = f end
   end
   return found
end

---------------------------------------------------------------------------------------
-- a hand encoder of the documented format, for files the writer would never make

local scalar = ffi.new("union { double f64; int64_t i64; uint64_t u64; uint32_t u32; uint8_t u8; }")
local function enc(field, v, n) scalar[field] = v; return ffi.string(scalar, n) end
local E = {
   u8 = function(v) return enc("u8", v, 1) end,
   u32 = function(v) return enc("u32", v, 4) end,
   u64 = function(v) return enc("u64", v, 8) end,
   i64 = function(v) return enc("i64", v, 8) end,
   f64 = function(v) return enc("f64", v, 8) end,
}
function E.str(s) return E.u64(#s) .. s end
function E.tensor(source, sizes, strides, offset, flag)
   local parts = { E.u8(5), E.u32(source), E.u8(#sizes), E.u8(flag or 0) }
   for _, s in ipairs(sizes) do parts[#parts + 1] = E.i64(s) end
   for _, s in ipairs(strides) do parts[#parts + 1] = E.i64(s) end
   parts[#parts + 1] = E.i64(offset)
   return table.concat(parts)
end
function E.data(dtype, n, bytes) return E.u8(1) .. E.u8(dtype) .. E.i64(n) .. bytes end

-- a whole file around body; fields of the header may be overridden
local function file_with(body, h)
   h = h or {}
   local crc = tonumber(z.crc32(0, body, #body))
   return (h.magic or "\137DOB\r\n\26\n") .. E.u32(h.version or 1) .. E.u32(h.byte_order or 0x01020304)
      .. E.u64(h.length or #body) .. E.u32(h.crc or crc) .. E.u32(h.reserved or 0) .. body
end

---------------------------------------------------------------------------------------

describe("dob.save and dob.load", function()
   setup(function() fs.rmrf(TMP); fs.mkdir(TMP) end)
   teardown(function() fs.rmrf(TMP) end)

   describe("round trips", function()
      it("keep every dtype's bytes, including NaN, infinities, -0, denormals and int64 extremes", function()
         local f = dob.zeros(8)
         local fp = f:data()
         fp[0], fp[1], fp[2], fp[3], fp[4], fp[5] = 0 / 0, 1 / 0, -1 / 0, -0.0, 1.4e-45, 3.4028235e38
         fp[6], fp[7] = -1.17549435e-38, 0.1
         local l = dob.zeros(5, "int64")
         local lp = l:data()
         lp[0], lp[1], lp[2], lp[3], lp[4] = -9223372036854775807LL - 1, 9223372036854775807LL, -1, 2 ^ 53 + 1, 0
         local b = dob.arange(0, 256, 1, "uint8")
         local back = round_trip({ f = f, l = l, b = b })
         for k, t in pairs { f = f, l = l, b = b } do
            assert.are.equal(t:dtype(), back[k]:dtype())
            assert.are.same(t:size(), back[k]:size())
            assert.are.equal(raw(t), raw(back[k]))
         end
      end)

      it("keep the geometry of views: narrow, transpose, select, slice steps, expand, 0-element, 0-dim", function()
         local base = dob.randn(6, 5)
         local cases = {
            narrow = base:narrow(2, 2, 3), transpose = base:t(), select = base:select(2, 4),
            slice = base:slice(1, 2, 6, 2), expand = dob.randn(3, 1):expand(3, 4),
            expand_lead = dob.randn(4):expand(2, 3, 4), empty = base:narrow(1, 3, 0),
            empty_alone = dob.zeros(0, 3, "int64"), scalar = dob.scalar(2.5), scalar_of = base:select(1, 3):select(1, 2),
            unsqueezed = base:unsqueeze(2),
         }
         local back = round_trip(cases)
         for name, t in pairs(cases) do
            local r = back[name]
            assert.are.same(t:size(), r:size(), name)
            assert.are.equal(raw(t), raw(r), name)
            if t:numel() > 0 then assert.are.same(t:stride(), r:stride(), name) end
         end
         assert.are.same({ 1, 0 }, back.expand:stride())
      end)

      it("load views of one storage as views of one storage, with their offsets apart kept", function()
         local x = dob.randn(10, 10)
         local v = { whole = x, row = x[4], col = x:select(2, 7), block = x:narrow(1, 2, 3):narrow(2, 5, 4) }
         local back = round_trip(v)
         for name in pairs(v) do
            assert.is_true(back[name]:is_same_storage(back.whole), name)
            assert.are.equal(v[name]:storage_offset() - x:storage_offset(),
               back[name]:storage_offset() - back.whole:storage_offset(), name)
         end
         back.whole:set(123, 4, 7)
         assert.are.equal(123, back.row:get(7))
         assert.are.equal(123, back.col:get(4))
      end)

      it("write only the span of a storage that the saved tensors touch", function()
         local huge = dob.zeros(25 * 2 ^ 20)   -- 100 MB
         huge:narrow(1, 1000001, 2):copy_(dob.tensor { 3, 4 })
         dob.save(tmp("span.dob"), { t = huge:narrow(1, 1000001, 2) })
         dob.save(tmp("two.dob"), { t = dob.tensor { 3, 4 } })
         assert.are.equal(#fs.read(tmp("two.dob")), #fs.read(tmp("span.dob")))
         local back = dob.load(tmp("span.dob")).t
         assert.are.same({ 3, 4 }, back:totable())
         assert.are.equal(1, back:storage_offset())
         huge:free()
      end)

      it("keep numbers bit for bit and strings byte for byte", function()
         local all_bytes = {}
         for i = 0, 255 do all_bytes[#all_bytes + 1] = string.char(i) end
         local numbers = { 0 / 0, 1 / 0, -1 / 0, -0.0, 0.0, 5e-324, 2.2250738585072014e-308, -2.225073858507201e-308,
            2 ^ 53 + 2, 2 ^ 63, -2 ^ 70, 1.7976931348623157e308, 0.1, math.pi, -1, 3 }
         local strings = { "", "\0", "a\0b", table.concat(all_bytes), ("\255\0"):rep(70000), "\r\n\26" }
         local back = round_trip({ numbers = numbers, strings = strings })
         assert.are.equal(#numbers, #back.numbers)
         for i, x in ipairs(numbers) do assert.are.equal(bits(x), bits(back.numbers[i]), "number " .. i) end
         for i, s in ipairs(strings) do assert.are.equal(s, back.strings[i], "string " .. i) end
      end)

      it("keep keys of every kind and large tables", function()
         local v = { [true] = "t", [false] = "f", [-3] = 1, [0.5] = 2, [2 ^ 60] = 3, [-0.0] = 4, ["a key"] = 5,
            ["\0"] = 6, list = {} }
         for i = 1, 20000 do v.list[i] = i * 0.5 end
         local back = round_trip(v)
         assert.are.same(v, back)
      end)

      it("load a table or tensor reached twice as one object, cycles included", function()
         local t = dob.randn(3)
         local shared = { 1, 2 }
         local a, b = { name = "a" }, { name = "b" }
         a.b, b.a, a.self = b, a, a
         local back = round_trip({ p = shared, q = shared, t1 = t, t2 = t, a = a, nested = { { t } } })
         assert.are.equal(back.p, back.q)
         assert.are.equal(back.t1, back.t2)
         assert.are.equal(back.t1, back.nested[1][1])
         assert.are.equal(back.a, back.a.self)
         assert.are.equal(back.a, back.a.b.a)
         assert.are.equal("b", back.a.b.name)
      end)

      it("keep requires_grad on leaves and save non-leaves as detached data", function()
         local leaf = dob.randn(4):requires_grad_()
         local plain = dob.randn(4)
         local nonleaf = leaf * 2
         local back = round_trip({ leaf = leaf, plain = plain, nonleaf = nonleaf })
         assert.is_true(back.leaf:requires_grad())
         assert.is_true(back.leaf:is_leaf())
         assert.is_false(back.plain:requires_grad())
         assert.is_false(back.nonleaf:requires_grad())
         assert.is_true(back.nonleaf:is_leaf())
         assert.are.equal(raw(nonleaf:detach()), raw(back.nonleaf))
      end)

      it("write the same bytes for equal values, whatever order the keys were set in", function()
         local x = dob.randn(5)
         local one, two = {}, {}
         for i = 1, 200 do one["k" .. i] = i end
         for i = 200, 1, -1 do two["k" .. i] = i end
         one.t, two.t = x, x
         dob.save(tmp("one.dob"), one)
         dob.save(tmp("two.dob"), two)
         assert.are.equal(fs.read(tmp("one.dob")), fs.read(tmp("two.dob")))
      end)

      it("replace an existing file and leave no temporary file", function()
         dob.save(tmp("over.dob"), { v = 1 })
         dob.save(tmp("over.dob"), { v = 2 })
         assert.are.equal(2, dob.load(tmp("over.dob")).v)
         assert.are.same({}, temporaries())
      end)
   end)

   describe("opts.refs", function()
      local function model()
         return dob.nn.ParamSet(dob.nn.Sequential(dob.nn.Linear(3, 4), dob.nn.Linear(4, 2)))
      end

      it("turns the live tensor and views of its storage into the load's live tensor and views of it", function()
         local ps = model()
         local state = { flat = ps.flat, w = ps.params[1].value, part = ps.flat:narrow(1, 5, 7),
            m = ps.flat:clone(), again = ps.flat }
         dob.save(tmp("refs.dob"), state, { refs = { flat = ps.flat } })
         -- the file holds no parameter data: only the clone's 26 floats
         dob.save(tmp("norefs.dob"), { m = state.m })
         assert.is_true(#fs.read(tmp("refs.dob")) < #fs.read(tmp("norefs.dob")) + 200)
         local ps2 = model()
         local back = dob.load(tmp("refs.dob"), { refs = { flat = ps2.flat } })
         assert.are.equal(ps2.flat, back.flat)
         assert.are.equal(ps2.flat, back.again)
         for _, name in ipairs { "w", "part" } do
            assert.is_true(back[name]:is_same_storage(ps2.flat), name)
            assert.are.same(state[name]:size(), back[name]:size(), name)
            assert.are.same(state[name]:stride(), back[name]:stride(), name)
            assert.are.equal(state[name]:storage_offset(), back[name]:storage_offset(), name)
         end
         assert.is_true(back.w:requires_grad())
         assert.is_false(back.m:is_same_storage(ps2.flat))
         assert.are.equal(raw(ps.flat), raw(back.m))
         dob.no_grad(function() ps2.flat:fill_(7) end)
         assert.are.equal(7, back.part:get(1))
      end)

      it("keeps views relative to a live tensor that is itself a view", function()
         local storage = dob.randn(20)
         local ref = storage:narrow(1, 6, 10)
         dob.save(tmp("rel.dob"), { v = ref:narrow(1, 3, 4) }, { refs = { r = ref } })
         local storage2 = dob.randn(30)
         local ref2 = storage2:narrow(1, 11, 10)
         local v = dob.load(tmp("rel.dob"), { refs = { r = ref2 } }).v
         assert.are.equal(ref2:storage_offset() + 2, v:storage_offset())
         assert.are.equal(raw(ref2:narrow(1, 3, 4)), raw(v))
      end)

      it("refuses a missing name, another shape, dtype or layout, and a view that leaves the live storage", function()
         local flat = dob.randn(10)
         dob.save(tmp("need.dob"), { v = flat:narrow(1, 2, 3) }, { refs = { flat = flat } })
         local p = tmp("need.dob")
         assert.matches("pass that tensor as opts.refs.flat", load_error(p), 1, true)
         assert.matches("pass that tensor as opts.refs.flat", load_error(p, { refs = { other = flat } }), 1, true)
         local wrong = { dob.randn(11), dob.zeros(10, "int64"), dob.randn(20):slice(1, 1, 20, 2), dob.randn(2, 5) }
         for i, live in ipairs(wrong) do
            local err = load_error(p, { refs = { flat = live } })
            assert.matches("opts.refs.flat is .* but was float32 %[10%], strides %[1%] when saved", err)
            assert.matches(p, err, 1, true)
            assert.truthy(err, "case " .. i)
         end
         -- a saved view outside the live tensor's own elements, where the new storage ends
         local storage = dob.randn(20)
         dob.save(tmp("out.dob"), { v = storage:narrow(1, 15, 4) }, { refs = { r = storage:narrow(1, 1, 10) } })
         local err = load_error(tmp("out.dob"), { refs = { r = dob.randn(12):narrow(1, 1, 10) } })
         assert.matches("a saved view of opts.refs.r does not fit the live tensor", err, 1, true)
      end)

      it("must be a table of live tensors", function()
         for _, refs in ipairs { 3, { x = 1 }, { [1] = dob.randn(2) }, { x = setmetatable({}, {}) } } do
            assert.has_error(function() dob.save(tmp("x.dob"), 1, { refs = refs }) end)
            assert.has_error(function() dob.load(tmp("over.dob"), { refs = refs }) end)
         end
         local freed = dob.randn(2)
         freed:free()
         local ok, err = pcall(dob.save, tmp("x.dob"), 1, { refs = { f = freed } })
         assert.is_false(ok)
         assert.matches("opts.refs.f must be a live tensor, got a tensor that was freed", err, 1, true)
      end)
   end)

   describe("unsaveable values", function()
      local bad = {
         { function() end, "a function" },
         { coroutine.create(function() end), "a coroutine" },
         { io.stdout, "an open file" },
         { newproxy(false), "a userdata" },
         { 1LL, "a cdata of ctype<int64_t>" },
         { ffi.new("int[3]"), "a cdata of ctype<int [3]>" },
         { setmetatable({}, {}), "a table with a metatable" },
         { (function() local t = dob.randn(2); t:free(); return t end)(), "a tensor that was freed" },
      }
      local places = {   -- a value holding x, and the path to x under the root "state"
         { function(x) return x end, "state" },
         { function(x) return { fn = x } end, "state.fn" },
         { function(x) return { buffers = { 1, 2, { fn = x } } } end, "state.buffers[3].fn" },
         { function(x) return { ["odd key"] = { [2.5] = { [true] = x } } } end, 'state["odd key"][2.5][true]' },
         { function(x) return { list = { dob.randn(2), x } } end, "state.list[2]" },
         { function(x) return { a = { b = { c = { d = { [-7] = x } } } } } end, "state.a.b.c.d[-7]" },
      }

      it("raise an error naming the key path and the value, from save and from check_saveable", function()
         local n = 0
         for _, b in ipairs(bad) do
            for _, place in ipairs(places) do
               local value, path = place[1](b[1]), place[2]
               local want = "cannot save " .. path .. ": " .. b[2]
               local ok, err = pcall(dob.check_saveable, value, "state")
               assert.is_false(ok)
               assert.are.equal(want, err:sub(1, #want))
               assert.matches("(only tensors, numbers, strings, booleans and tables of them can be saved)", err, 1, true)
               local ok2, err2 = pcall(dob.save, tmp("bad.dob"), value, { name = "state" })
               assert.is_false(ok2)
               assert.are.equal(err, err2)
               n = n + 1
            end
         end
         assert.is_nil(io.open(tmp("bad.dob")))
         assert.are.equal(#bad * #places, n)
      end)

      it("name a table whose keys cannot be saved", function()
         local keys = { { {}, "a table" }, { dob.randn(1), "a tensor" }, { print, "a function" }, { 2LL, "a cdata" } }
         for _, k in ipairs(keys) do
            for _, place in ipairs(places) do
               local holder = { [k[1]] = 1 }
               local value, path = place[1](holder), place[2]
               local ok, err = pcall(dob.check_saveable, value, "state")
               assert.is_false(ok)
               local want = "cannot save " .. path .. ": it has a key that is " .. k[2]
               assert.are.equal(want, err:sub(1, #want))
            end
         end
      end)

      it("refuse nil and tables nested past the limit; check_saveable accepts what save accepts", function()
         assert.has_error(function() dob.check_saveable(nil, "x") end, "cannot save x: it is nil")
         local deep = {}
         local at = deep
         for _ = 1, 1200 do at.next = {}; at = at.next end
         local ok, err = pcall(dob.check_saveable, deep)
         assert.is_false(ok)
         assert.matches("^cannot save value%.next%.next.*: tables nested more than 1000 deep", err)
         assert.is_true(dob.check_saveable({ t = dob.randn(2), s = "x", n = 1, b = false, l = { {} } }))
      end)
   end)

   describe("damaged and foreign files", function()
      local sample
      setup(function()
         local x = dob.arange(0, 6):view(2, 3)
         dob.save(tmp("sample.dob"), { x = x, xt = x:t(), n = 0.25, s = "text", flag = true,
            ids = dob.tensor({ 4, 5 }, "int64"), nested = { [1] = "one", [2.5] = -0.0 } })
         sample = fs.read(tmp("sample.dob"))
      end)

      local function expect_error(bytes, pattern, opts)
         local p = tmp("damaged.dob")
         fs.write(p, bytes)
         local err = load_error(p, opts)
         assert.matches("cannot load " .. p .. ": ", err, 1, true)
         if pattern then assert.matches(pattern, err) end
         return err
      end

      it("fail clearly at every truncation length", function()
         assert.is_true(#sample > 100 and #sample < 600)
         for n = 0, #sample - 1 do
            local err = expect_error(sample:sub(1, n))
            assert.matches(n == 0 and "empty" or "truncated", err)
         end
      end)

      it("fail clearly at every single-byte change", function()
         for i = 1, #sample do
            for _, flip in ipairs { 0x01, 0x80, 0xFF } do
               local byte = string.char(bit.bxor(sample:byte(i), flip))
               expect_error(sample:sub(1, i - 1) .. byte .. sample:sub(i + 1))
            end
         end
      end)

      it("fail clearly on trailing bytes, missing files, folders and foreign files", function()
         expect_error(sample .. "\0", "header promises")
         assert.matches("cannot open it %(No such file or directory%)", load_error(tmp("missing.dob")))
         assert.matches("Is a directory", load_error(TMP))
         for _, foreign in ipairs { "hello world\n", "\137PNG\r\n\26\n" .. ("\0"):rep(40), "\31\139\8\0",
            "\147NUMPY\1\0", ("\0"):rep(64) } do
            expect_error(foreign, "not a deepobs save file")
         end
      end)

      it("name a newer format version and another byte order", function()
         local body = sample:sub(33)
         expect_error(file_with(body, { version = 2 }), "format version 2 by a newer deepobs.*update deepobs")
         expect_error(file_with(body, { byte_order = 0x04030201 }), "other byte order")
         expect_error(file_with(body, { reserved = 1 }), "corrupt header")
         assert.are.equal(sample, file_with(body))
      end)

      it("check every count in a body with a valid checksum before allocating", function()
         local before = dob.memory_stats().allocated_total
         local sources1 = E.u32(1) .. E.data(0, 4, ("\0"):rep(16))
         local cases = {
            { E.u32(1) .. E.data(0, 2 ^ 40, "") .. E.u8(0), "storage of" },
            { E.u32(1) .. E.data(0, 2 ^ 22, "") .. E.u8(0), "storage of" },
            { E.u32(1) .. E.data(0, -1, "") .. E.u8(0), "storage of" },
            { E.u32(1) .. E.data(7, 0, "") .. E.u8(0), "unknown dtype" },
            { E.u32(1) .. E.u8(9) .. ("\0"):rep(20), "unknown source kind" },
            { E.u32(2 ^ 31), "sources cannot fit" },
            { E.u32(0) .. E.u8(3) .. E.u64(2 ^ 50) .. "abc", "string length" },
            { E.u32(0) .. E.u8(4) .. E.u64(2 ^ 40), "table size" },
            { E.u32(0) .. E.u8(4) .. E.u64(1) .. E.u8(4) .. E.u64(0) .. E.u8(0), "key with tag 4" },
            { E.u32(0) .. E.u8(4) .. E.u64(1) .. E.u8(2) .. E.f64(0 / 0) .. E.u8(0), "NaN key" },
            { E.u32(0) .. E.u8(4) .. E.u64(2) .. E.u8(1) .. E.u8(0) .. E.u8(1) .. E.u8(0), "key twice" },
            { E.u32(0) .. E.u8(99), "unknown value tag" },
            { E.u32(0) .. E.u8(7) .. E.u64(0), "object 0 before 0" },
            { E.u32(0) .. E.u8(6) .. E.u32(0), "live tensor source" },
            { E.u32(0) .. E.u8(0) .. E.u8(0), "bytes after the value" },
            { E.u32(0), "a value tag needs 1 bytes" },
            { sources1 .. E.tensor(1, { 2 }, { 1 }, 0), "source 1 of 1" },
            { sources1 .. E.tensor(0, { 1, 1, 1, 1, 1, 1, 1, 1, 1 }, { 1, 1, 1, 1, 1, 1, 1, 1, 1 }, 0), "9 dims" },
            { sources1 .. E.tensor(0, { 5 }, { 1 }, 0), "reach past the storage" },
            { sources1 .. E.tensor(0, { 2 }, { 1 }, 3), "reach past the storage" },
            { sources1 .. E.tensor(0, { 2 }, { -1 }, 1), "must be >= 0" },
            { sources1 .. E.tensor(0, { -2 }, { 1 }, 0), "must be >= 0" },
            { sources1 .. E.tensor(0, { 2 }, { 1 }, -1), "storage offset -1" },
            { sources1 .. E.tensor(0, { 2 ^ 31, 2 ^ 31 }, { 0, 0 }, 0), "too many elements" },
            { sources1 .. E.tensor(0, { 2, 2 }, { 2 ^ 62, 2 ^ 62 }, 0), "reach past the storage" },
            { sources1 .. E.tensor(0, { 2 }, { 1 }, 0, 2), "requires_grad flag 2" },
            { E.u32(1) .. E.data(1, 1, ("\0"):rep(8)) .. E.tensor(0, { 1 }, { 1 }, 0, 1), "only float32" },
         }
         for i, case in ipairs(cases) do
            local err = expect_error(file_with(case[1]), "corrupt contents")
            assert.matches(case[2], err, 1, true, "case " .. i)
         end
         -- deep nesting stops at the limit
         expect_error(file_with(E.u32(0) .. (E.u8(4) .. E.u64(1) .. E.u8(0)):rep(1100) .. E.u8(0)),
            "nested more than 1000")
         assert.is_true(dob.memory_stats().allocated_total < before + 2 ^ 20)
         -- the encoder above is the documented format: a valid body loads
         fs.write(tmp("hand.dob"), file_with(sources1 .. E.u8(4) .. E.u64(2) .. E.u8(3) .. E.str("t")
            .. E.tensor(0, { 2, 2 }, { 1, 2 }, 0) .. E.u8(3) .. E.str("u") .. E.u8(7) .. E.u64(1)))
         local hand = dob.load(tmp("hand.dob"))
         assert.are.same({ 2, 2 }, hand.t:size())
         assert.are.same({ 1, 2 }, hand.t:stride())
         assert.are.equal(hand.t, hand.u)
      end)
   end)

   describe("atomic writes", function()
      it("that fail leave no temporary file and the old target untouched", function()
         fs.write(tmp("file"), "a regular file")
         local targets = {
            { tmp("file") .. "/under_a_file.dob", "Not a directory" },
            { "/proc/deepobs_cannot_write_here.dob", "cannot create the temporary file" },
         }
         for _, t in ipairs(targets) do
            local ok, err = pcall(dob.save, t[1], { x = dob.randn(3) })
            assert.is_false(ok)
            assert.matches("cannot save " .. t[1], err, 1, true)
            assert.matches(t[2], err, 1, true)
         end
         -- the rename fails: the target is a folder that is not empty
         fs.mkdir(tmp("folder/inside"))
         local ok, err = pcall(dob.save, tmp("folder"), { x = dob.randn(3) })
         assert.is_false(ok)
         assert.matches("cannot save " .. tmp("folder") .. ": cannot rename", err, 1, true)
         assert.matches("the previous file, if any, is unchanged", err, 1, true)
         assert.are.equal(tmp("folder/inside"), fs.sh("find " .. tmp("folder") .. " -mindepth 1"):gsub("\n$", ""))
         assert.are.same({}, temporaries())
      end)

      it("that fail in mid-write (file size limit) leave the old file as it was", function()
         dob.save(tmp("old.dob"), { v = "old" })
         local before = fs.read(tmp("old.dob"))
         fs.write(tmp("big.lua"), ("local dob = require 'deepobs'\n"
            .. "local ok, err = pcall(dob.save, %q, { big = dob.randn(2 ^ 18) })\n"
            .. "io.write(tostring(ok), '|', err)\n"):format(tmp("old.dob")))
         -- past 64 blocks a write fails with EFBIG instead of raising SIGXFSZ
         local out = fs.sh("sh -c 'trap \"\" XFSZ; ulimit -f 64; "
            .. "LUA_PATH=\"./lua/?.lua;./lua/?/init.lua;;\" luajit " .. tmp("big.lua") .. "' 2>&1")
         assert.matches("^false|cannot save " .. tmp("old.dob"):gsub("%p", "%%%0") .. ": write failed %(File too large%)", out)
         assert.are.equal(before, fs.read(tmp("old.dob")))
         assert.are.same({}, temporaries())
      end)
   end)
end)

describe("Tensor:as_strided", function()
   it("views any in-bounds geometry of the storage, with a 1-based offset", function()
      local x = dob.arange(0, 12):view(3, 4)
      local v = x:as_strided({ 2, 2 }, { 4, 1 }, 6)
      assert.are.same({ { 5, 6 }, { 9, 10 } }, v:totable())
      assert.is_true(v:is_same_storage(x))
      assert.are.equal(6, v:storage_offset())
      local r = x:as_strided({ 3, 2 }, { 0, 5 })
      assert.are.same({ { 0, 5 }, { 0, 5 }, { 0, 5 } }, r:totable())
      assert.are.same({ 0, 3 }, x:as_strided({ 0, 3 }, { 1, 1 }, 13):size())
      assert.are.equal(11, x:as_strided({}, {}, 12):item())
   end)

   it("refuses geometries outside the storage and tensors autograd tracks", function()
      local x = dob.arange(0, 12)
      local bad = {
         { { 13 }, { 1 }, 1 }, { { 2 }, { 1 }, 12 }, { { 2, 2 }, { 6, 6 }, 1 }, { {}, {}, 13 }, { { 1 }, { 1 }, 0 },
         { { -1 }, { 1 }, 1 }, { { 2 }, { -1 }, 2 }, { { 2 ^ 40, 2 ^ 40 }, { 0, 0 }, 1 }, { { 3 }, { 2 ^ 62 }, 1 },
         { { 0 }, { 1 }, 14 }, { { 1, 1, 1, 1, 1, 1, 1, 1, 1 }, { 1, 1, 1, 1, 1, 1, 1, 1, 1 }, 1 }, { { 2 }, {}, 1 },
      }
      for i, b in ipairs(bad) do
         local ok, err = pcall(x.as_strided, x, b[1], b[2], b[3])
         assert.is_false(ok, "case " .. i)
         assert.matches("as_strided", err)
      end
      local w = dob.randn(4):requires_grad_()
      assert.has_error(function() w:as_strided({ 2 }, { 1 }) end)
      local v = dob.no_grad(function() return w:as_strided({ 2 }, { 1 }, 3) end)
      assert.is_false(v:requires_grad())
      assert.are.equal(w:get(3), v:get(1))
   end)
end)
