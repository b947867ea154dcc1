--- dob.save / dob.load: Torch7's torch.save / torch.load for checkpoints. A value is
-- a tensor, a number, a string, a boolean or a table of them (keys: strings,
-- numbers, booleans); it comes back bit for bit, with the same sharing: an object
-- reached twice loads as one object (cycles too), tensors that share storage load
-- sharing storage.
--
--    dob.save("run/ckpt.dob", { state = state, step = 1200 }, { refs = { flat = ps.flat } })
--    local ck = dob.load("run/ckpt.dob", { refs = { flat = ps.flat } })
--    dob.check_saveable(state, "state")     -- raises what save would raise; writes nothing
--
-- opts.refs (save and load): name -> live tensor. A saved tensor that is one of
-- them, or a view into its storage, is written as the name plus the view's
-- geometry; load turns it into that live tensor, or the same view of it, so an
-- optimizer state holding views of ps.flat keeps aliasing the live parameters
-- after a resume. Only the span of a storage that the saved tensors touch is
-- written. A leaf's requires_grad is kept; a non-leaf is saved as detached data.
--
-- File format, version 1. Integers are in the writer's byte order (checked on load).
--   offset  size  field
--   0       8     magic 89 44 4F 42 0D 0A 1A 0A ("\x89DOB\r\n\x1a\n", after PNG's: a
--                 text-mode or 7-bit copy changes it)
--   8       4     uint32 format version (1)
--   12      4     uint32 0x01020304, the byte-order check
--   16      8     uint64 body length: the file is 32 + this many bytes
--   24      4     uint32 CRC-32 (zlib's crc32) of the body
--   28      4     uint32 0, reserved
--   32            body: uint32 number of sources, the sources, then one value.
--   source   uint8 1 (data): uint8 dtype (0 float32, 1 int64, 2 uint8), int64 n, then
--                n elements: the span of one storage from the first to the last
--                element any saved tensor touches
--            uint8 2 (live tensor): string name, uint8 dtype, uint8 ndim, int64
--                sizes[ndim], int64 strides[ndim] (opts.refs[name] when saved)
--   string   uint64 length, the bytes
--   value    uint8 tag, then by tag:
--            0 false, 1 true; 2 number: an IEEE double; 3 string
--            4 table: uint64 n, then n pairs of key and value (keys: tags 0-3)
--            5 tensor: uint32 source, uint8 ndim, uint8 requires_grad, int64
--              sizes[ndim], int64 strides[ndim], int64 offset in elements from the
--              start of a data source's span, or from a live tensor's own offset
--            6 a live tensor itself: uint32 source
--            7 an object seen before: uint64 its id (tables and tensors, tags 4-6,
--              are numbered from 0 in the order they appear)
-- Keys are written in sorted order, so equal values give equal files.
--
-- Writing streams through C stdio from tensor memory into a temporary file in the
-- target's folder (named with the process id), fsyncs it and renames it over the
-- target, then fsyncs the folder; on failure the temporary file is removed and the
-- old target is untouched. Loading streams too and checks every count against the
-- bytes left before it allocates; any fault in the body is reported as a checksum
-- mismatch when the checksum disagrees, which it does for every single-byte change.
local ffi = require "ffi"
local C = require("deepobs.C").lib
local T = require "deepobs.tensor"
local doc = require "deepobs.doc"
local A = require "deepobs.argcheck"

for _, decl in ipairs {
   "void *fopen(const char *path, const char *mode);",
   "int fclose(void *f);",
   "size_t fread(void *ptr, size_t size, size_t n, void *f);",
   "size_t fwrite(const void *ptr, size_t size, size_t n, void *f);",
   "int fflush(void *f);",
   "int ferror(void *f);",
   "int fileno(void *f);",
   "int fseeko(void *f, int64_t offset, int whence);",
   "int64_t ftello(void *f);",
   "int fsync(int fd);",
   "int open(const char *path, int flags, ...);",
   "int close(int fd);",
   "int rename(const char *from, const char *to);",
   "int remove(const char *path);",
   "int getpid(void);",
   "char *strerror(int errnum);",
} do
   pcall(ffi.cdef, decl)
end
pcall(ffi.cdef, "unsigned long crc32(unsigned long crc, const void *buf, unsigned int len);")
ffi.cdef [[
   typedef struct {
      uint8_t magic[8];
      uint32_t version, byte_order;
      uint64_t body_length;
      uint32_t crc, reserved;
   } dob_save_header;
   typedef union { double f64; int64_t i64; uint64_t u64; uint32_t u32; uint8_t u8; } dob_save_scalar;
]]
local libc = ffi.C
local z = ffi.load("z")

local M = {}

local MAGIC = "\137DOB\r\n\26\n"
local VERSION = 1
local BYTE_ORDER = 0x01020304
local HEADER_BYTES = ffi.sizeof("dob_save_header")
assert(HEADER_BYTES == 32)
local SEEK_SET, SEEK_END = 0, 2
local EISDIR = 21
local STAGE_BYTES = 65536           -- small records go through a buffer of this size
local CHUNK_BYTES = 4 * 2 ^ 20      -- tensor data moves in chunks that stay in cache for the CRC
local MAX_DEPTH = 1000              -- nested tables; also bounds the recursion on load
local ITEM_BYTES = { [0] = 4, [1] = 8, [2] = 1 }

local TAG = { FALSE = 0, TRUE = 1, NUMBER = 2, STRING = 3, TABLE = 4, TENSOR = 5, LIVE = 6, SEEN = 7 }
local SOURCE_DATA, SOURCE_LIVE = 1, 2

local scalar = ffi.new("dob_save_scalar")
local sizes_buf = ffi.new("int64_t[?]", 8)
local strides_buf = ffi.new("int64_t[?]", 8)

local function strerror() return ffi.string(libc.strerror(ffi.errno())) end

---------------------------------------------------------------------------------------
-- what may be saved, and the key paths that errors name

local function key_text(k)
   if type(k) == "string" then
      if k:match("^[%a_][%w_]*$") then return "." .. k end
      return "[" .. ("%q"):format(k):gsub("\\\n", "\\n") .. "]"
   end
   if type(k) == "number" and k % 1 == 0 and math.abs(k) < 2 ^ 63 then return ("[%d]"):format(k) end
   if type(k) == "number" then return ("[%.17g]"):format(k) end
   return "[" .. tostring(k) .. "]"
end

local function path_text(root, keys, n)
   local parts = { root }
   for i = 1, n do parts[i + 1] = key_text(keys[i]) end
   return table.concat(parts)
end

-- why v cannot be saved, or nil when it can (its contents are checked by the walk)
local function unsaveable(v)
   local tv = type(v)
   if tv == "number" or tv == "string" or tv == "boolean" then return nil end
   if tv == "table" then
      local mt = getmetatable(v)
      if mt == T.mt then
         if C.dob_is_valid(v.h) == 0 then return "a tensor whose handle is no longer valid" end
         return nil
      end
      if mt == T.Freed then return "a tensor that was freed (:free() was called on it)" end
      if mt ~= nil then return "a table with a metatable (an object; save its plain fields instead)" end
      return nil
   end
   if tv == "function" then return "a function" end
   if tv == "thread" then return "a coroutine" end
   if tv == "userdata" then return io.type(v) and "an open file" or "a userdata" end
   if tv == "cdata" then return "a cdata of " .. tostring(ffi.typeof(v)) end
   return tv
end

local KEY_RANK = { boolean = 1, number = 2, string = 3 }

local function key_kind(k)
   if T.is_tensor(k) then return "a tensor" end
   return unsaveable(k) or "a " .. type(k)
end

local function key_before(a, b)
   local ta, tb = type(a), type(b)
   if ta ~= tb then return KEY_RANK[ta] < KEY_RANK[tb] end
   if ta == "boolean" then return not a and b end
   return a < b
end

---------------------------------------------------------------------------------------
-- the plan: every table's sorted keys, every tensor's geometry and source

local function geometry(t)
   local h = t.h
   local g = { dtype = C.dob_dtype(h), ndim = C.dob_ndim(h), sizes = {}, strides = {},
      offset = tonumber(C.dob_storage_offset(h)), numel = tonumber(C.dob_numel(h)),
      storage = tonumber(ffi.cast("uintptr_t", C.dob_storage_id(h))) }
   local last = g.offset
   for d = 1, g.ndim do
      g.sizes[d] = tonumber(C.dob_size(h, d - 1))
      g.strides[d] = tonumber(C.dob_stride(h, d - 1))
      last = last + (g.sizes[d] - 1) * g.strides[d]
   end
   g.last = g.numel > 0 and last or nil
   return g
end

-- opts.refs checked: name -> { name =, tensor =, geometry = }; the same entries by
-- storage, and as a list, both sorted by name
local function live_refs(refs, op)
   local by_name, by_storage, sorted = {}, {}, {}
   if refs == nil then return by_name, by_storage, sorted end
   if type(refs) ~= "table" or getmetatable(refs) ~= nil then
      error(("%s: opts.refs must be a table of name = tensor, got %s"):format(op, type(refs)), 3)
   end
   local names = {}
   for name, t in pairs(refs) do
      if type(name) ~= "string" then
         error(("%s: opts.refs keys must be names (strings), got a %s"):format(op, type(name)), 3)
      end
      if not T.is_tensor(t) or C.dob_is_valid(t.h) == 0 then
         error(("%s: opts.refs.%s must be a live tensor, got %s"):format(op, name,
            unsaveable(t) or type(t)), 3)
      end
      names[#names + 1] = name
   end
   table.sort(names)
   for i, name in ipairs(names) do
      local ref = { name = name, tensor = refs[name], geometry = geometry(refs[name]) }
      by_name[name] = ref
      sorted[i] = ref
      local list = by_storage[ref.geometry.storage] or {}
      list[#list + 1] = ref
      by_storage[ref.geometry.storage] = list
   end
   return by_name, by_storage, sorted
end

-- the ref a view of shared storage is expressed through: the first (by name) whose
-- elements cover the view's, else the first
local function ref_for(g, candidates)
   for _, ref in ipairs(candidates) do
      local r = ref.geometry
      if g.last == nil or (r.last and r.offset <= g.offset and g.last <= r.last) then return ref end
   end
   return candidates[1]
end

-- Walks value as save writes it; raises for anything unsaveable, naming its path.
-- Returns { keys = table -> sorted keys, tensors = tensor -> entry, sources = list }.
local function plan(value, root, refs)
   local by_ref_tensor = {}
   local _, by_storage, sorted = live_refs(refs, "save")
   for _, ref in ipairs(sorted) do by_ref_tensor[ref.tensor] = by_ref_tensor[ref.tensor] or ref end
   local p = { keys = {}, tensors = {}, sources = {} }
   local source_of_storage, source_of_ref = {}, {}
   local path, depth = {}, 0

   local function fail(what, is_key)
      local where = path_text(root, path, depth)
      if is_key then
         error(("cannot save %s: it has a key that is %s (keys must be strings, numbers or booleans)")
            :format(where, what), 0)
      end
      error(("cannot save %s: %s (only tensors, numbers, strings, booleans and tables of them can be saved)")
         :format(where, what), 0)
   end

   -- one source per live tensor referred to, one per storage written
   local function source(entry)
      local index, key = source_of_storage, entry.geometry.storage
      if entry.ref then index, key = source_of_ref, entry.ref end
      if not index[key] then
         index[key] = { index = #p.sources, ref = entry.ref, dtype = entry.geometry.dtype }
         p.sources[#p.sources + 1] = index[key]
      end
      return index[key]
   end

   local function add_tensor(t)
      local g = geometry(t)
      local entry = { geometry = g, requires_grad = C.dob_is_leaf(t.h) ~= 0 and C.dob_requires_grad(t.h) ~= 0 }
      entry.ref = by_ref_tensor[t]
      entry.is_ref = entry.ref ~= nil
      if not entry.ref and by_storage[g.storage] then entry.ref = ref_for(g, by_storage[g.storage]) end
      entry.source = source(entry)
      local s = entry.source
      if not s.ref then
         s.tensor = s.tensor or t
         if g.last then
            s.first = math.min(s.first or g.offset, g.offset)
            s.last = math.max(s.last or g.last, g.last)
         end
      end
      p.tensors[t] = entry
   end

   local function walk(v)
      local why = unsaveable(v)
      if why then fail(why) end
      if type(v) ~= "table" or p.keys[v] or p.tensors[v] then return end
      if T.is_tensor(v) then return add_tensor(v) end
      if depth >= MAX_DEPTH then fail(("tables nested more than %d deep"):format(MAX_DEPTH)) end
      local keys = {}
      for k in pairs(v) do
         if not KEY_RANK[type(k)] then fail(key_kind(k), true) end
         keys[#keys + 1] = k
      end
      table.sort(keys, key_before)
      p.keys[v] = keys
      depth = depth + 1
      for _, k in ipairs(keys) do
         path[depth] = k
         walk(v[k])
      end
      path[depth] = nil
      depth = depth - 1
   end

   if value == nil then error(("cannot save %s: it is nil"):format(root), 0) end
   walk(value)
   return p
end

--- dob.check_saveable(value, name): raises the error dob.save would raise for value, writing nothing
-- Raises the error save would raise for value (naming the key path under
-- root_name, default "value"), without writing anything.
function M.check_saveable(value, root_name)
   if root_name ~= nil and type(root_name) ~= "string" then A.wrong("check_saveable", "name", "a string", root_name) end
   plan(value, root_name or "value", nil)
   return true
end

---------------------------------------------------------------------------------------
-- writing

local Writer = {}
Writer.__index = Writer

local function new_writer(f)
   return setmetatable({ f = f, stage = ffi.new("uint8_t[?]", STAGE_BYTES), used = 0, crc = 0, length = 0 },
      Writer)
end

function Writer:emit(ptr, n)
   self.crc = tonumber(z.crc32(self.crc, ptr, n))
   if libc.fwrite(ptr, 1, n, self.f) ~= n then error("write failed (" .. strerror() .. ")", 0) end
   self.length = self.length + n
end

function Writer:flush()
   if self.used > 0 then self:emit(self.stage, self.used) end
   self.used = 0
end

function Writer:put(ptr, n)
   if self.used + n > STAGE_BYTES then self:flush() end
   if n > STAGE_BYTES then
      self:emit(ptr, n)
   else
      ffi.copy(self.stage + self.used, ptr, n)
      self.used = self.used + n
   end
end

-- a large block straight from memory, in chunks
function Writer:block(ptr, n)
   self:flush()
   ptr = ffi.cast("const uint8_t *", ptr)
   local at = 0
   while at < n do
      local len = math.min(CHUNK_BYTES, n - at)
      self:emit(ptr + at, len)
      at = at + len
   end
end

function Writer:u8(v) scalar.u8 = v; self:put(scalar, 1) end
function Writer:u32(v) scalar.u32 = v; self:put(scalar, 4) end
function Writer:u64(v) scalar.u64 = v; self:put(scalar, 8) end
function Writer:i64(v) scalar.i64 = v; self:put(scalar, 8) end
function Writer:f64(v) scalar.f64 = v; self:put(scalar, 8) end
function Writer:str(s) self:u64(#s); self:put(s, #s) end

function Writer:shape(sizes, strides)
   for d = 1, #sizes do self:i64(sizes[d]) end
   for d = 1, #strides do self:i64(strides[d]) end
end

local function write_sources(w, sources)
   w:u32(#sources)
   for _, s in ipairs(sources) do
      if s.ref then
         local g = s.ref.geometry
         w:u8(SOURCE_LIVE)
         w:str(s.ref.name)
         w:u8(g.dtype)
         w:u8(g.ndim)
         w:shape(g.sizes, g.strides)
      else
         local n = s.first and s.last - s.first + 1 or 0
         w:u8(SOURCE_DATA)
         w:u8(s.dtype)
         w:i64(n)
         local item = ITEM_BYTES[s.dtype]
         local base = ffi.cast("const uint8_t *", C.dob_data(s.tensor.h))
            - tonumber(C.dob_storage_offset(s.tensor.h)) * item
         if n > 0 then w:block(base + s.first * item, n * item) end
      end
   end
end

local function write_value(w, p, value)
   local ids, next_id = {}, 0
   local function put(v)
      local tv = type(v)
      if tv == "boolean" then
         w:u8(v and TAG.TRUE or TAG.FALSE)
      elseif tv == "number" then
         w:u8(TAG.NUMBER)
         w:f64(v)
      elseif tv == "string" then
         w:u8(TAG.STRING)
         w:str(v)
      elseif ids[v] then
         w:u8(TAG.SEEN)
         w:u64(ids[v])
      else
         ids[v] = next_id
         next_id = next_id + 1
         local entry = p.tensors[v]
         if entry and entry.is_ref then
            w:u8(TAG.LIVE)
            w:u32(entry.source.index)
         elseif entry then
            local g, s = entry.geometry, entry.source
            local offset = 0
            if s.ref then offset = g.offset - s.ref.geometry.offset
            elseif g.last then offset = g.offset - s.first end
            w:u8(TAG.TENSOR)
            w:u32(s.index)
            w:u8(g.ndim)
            w:u8(entry.requires_grad and 1 or 0)
            w:shape(g.sizes, g.strides)
            w:i64(offset)
         else
            local keys = p.keys[v]
            w:u8(TAG.TABLE)
            w:u64(#keys)
            for _, k in ipairs(keys) do
               put(k)
               put(v[k])
            end
         end
      end
   end
   put(value)
end

-- makes the rename itself durable; failing that is not worth failing the save for
local function sync_folder(path)
   local dir = path:match("^(.*)/[^/]*$") or "."
   local fd = libc.open(dir == "" and "/" or dir, 0)
   if fd >= 0 then
      libc.fsync(fd)
      libc.close(fd)
   end
end

local function write_file(f, p, value)
   local header = ffi.new("dob_save_header")
   if libc.fwrite(header, HEADER_BYTES, 1, f) ~= 1 then error("write failed (" .. strerror() .. ")", 0) end
   local w = new_writer(f)
   write_sources(w, p.sources)
   write_value(w, p, value)
   w:flush()
   ffi.copy(header.magic, MAGIC, 8)
   header.version = VERSION
   header.byte_order = BYTE_ORDER
   header.body_length = w.length
   header.crc = w.crc
   if libc.fseeko(f, 0, SEEK_SET) ~= 0 or libc.fwrite(header, HEADER_BYTES, 1, f) ~= 1 then
      error("write failed (" .. strerror() .. ")", 0)
   end
   if libc.fflush(f) ~= 0 then error("write failed (" .. strerror() .. ")", 0) end
   if libc.fsync(libc.fileno(f)) ~= 0 then error("fsync failed (" .. strerror() .. ")", 0) end
end

--- Writes value to path atomically. opts.refs: name -> live tensor (see the top);
-- opts.name: what error messages call the value (default "value").
function M.save(path, value, opts)
   opts = opts or {}
   if type(path) ~= "string" or path == "" then error("save: path must be a file name, got " .. tostring(path), 2) end
   local p = plan(value, opts.name or "value", opts.refs)
   local tmp = ("%s.tmp%d"):format(path, libc.getpid())
   local f = libc.fopen(tmp, "wb")
   if f == nil then
      error(("cannot save %s: cannot create the temporary file %s (%s)"):format(path, tmp, strerror()), 0)
   end
   local ok, err = pcall(write_file, f, p, value)
   if libc.fclose(f) ~= 0 and ok then ok, err = false, "close failed (" .. strerror() .. ")" end
   if ok and libc.rename(tmp, path) ~= 0 then ok, err = false, "cannot rename " .. tmp .. " over it (" .. strerror() .. ")" end
   if not ok then
      libc.remove(tmp)
      error(("cannot save %s: %s; the previous file, if any, is unchanged"):format(path, tostring(err)), 0)
   end
   sync_folder(path)
   return path
end

---------------------------------------------------------------------------------------
-- reading

-- A problem with the caller's opts.refs rather than with the file.
local RefError = {}
RefError.__tostring = function(e) return e.msg end
local function ref_error(msg) error(setmetatable({ msg = msg }, RefError), 0) end

local Reader = {}
Reader.__index = Reader

local function new_reader(f, body_length)
   return setmetatable({ f = f, stage = ffi.new("uint8_t[?]", STAGE_BYTES), at = 0, have = 0,
      unread = body_length, crc = 0 }, Reader)
end

-- bytes of the body not consumed yet
function Reader:left() return self.have - self.at + self.unread end

function Reader:fread(ptr, n)
   local got = tonumber(libc.fread(ptr, 1, n, self.f))
   if got < n then
      error(libc.ferror(self.f) ~= 0 and "read failed (" .. strerror() .. ")"
         or "the file ended early (it changed while being read?)", 0)
   end
   self.crc = tonumber(z.crc32(self.crc, ptr, n))
   self.unread = self.unread - n
end

-- makes n (<= STAGE_BYTES) bytes available at self.stage + self.at
function Reader:need(n, what)
   if n > self:left() then error(("%s needs %d bytes, %d are left"):format(what, n, self:left()), 0) end
   local have = self.have - self.at
   if have >= n then return end
   ffi.copy(self.stage, self.stage + self.at, have)
   self.at, self.have = 0, have
   local more = math.min(STAGE_BYTES - have, self.unread)
   self:fread(self.stage + have, more)
   self.have = have + more
end

function Reader:scalar(n, what)
   self:need(n, what)
   ffi.copy(scalar, self.stage + self.at, n)
   self.at = self.at + n
   return scalar
end

function Reader:u8(what) return self:scalar(1, what).u8 end
function Reader:u32(what) return self:scalar(4, what).u32 end
function Reader:i64(what) return self:scalar(8, what).i64 end
function Reader:f64(what) return self:scalar(8, what).f64 end
-- a count or length, checked against the bytes left (each item takes at least `each`)
function Reader:count(what, each)
   local n = tonumber(self:scalar(8, what).u64)
   if n > self:left() / each then error(("%s of %.0f is more than the %d bytes left"):format(what, n, self:left()), 0) end
   return n
end

-- n bytes into ptr: what is staged first, the rest straight from the file
function Reader:block(ptr, n, what)
   if n > self:left() then error(("%s needs %d bytes, %d are left"):format(what, n, self:left()), 0) end
   ptr = ffi.cast("uint8_t *", ptr)
   local staged = math.min(n, self.have - self.at)
   ffi.copy(ptr, self.stage + self.at, staged)
   self.at = self.at + staged
   local at = staged
   while at < n do
      local len = math.min(CHUNK_BYTES, n - at)
      self:fread(ptr + at, len)
      at = at + len
   end
end

function Reader:str(what)
   local n = self:count(what .. " length", 1)
   if n <= STAGE_BYTES then
      self:need(n, what)
      local s = ffi.string(self.stage + self.at, n)
      self.at = self.at + n
      return s
   end
   local buf = ffi.new("uint8_t[?]", n)
   self:block(buf, n, what)
   return ffi.string(buf, n)
end

-- the CRC of the whole body, reading what is left
function Reader:finish_crc()
   self.at = self.have
   while self.unread > 0 do
      local n = math.min(STAGE_BYTES, self.unread)
      self:fread(self.stage, n)
   end
   return self.crc
end

function Reader:shape(ndim)
   for d = 0, ndim - 1 do sizes_buf[d] = self:i64("a size") end
   for d = 0, ndim - 1 do strides_buf[d] = self:i64("a stride") end
end

local function dtype_of(code)
   if not ITEM_BYTES[code] then error(("unknown dtype code %d"):format(code), 0) end
   return code
end

local function ndim_of(n)
   if n > 8 then error(("%d dims (at most 8)"):format(n), 0) end
   return n
end

local function shape_text(ndim, arr)
   local parts = {}
   for d = 0, ndim - 1 do parts[#parts + 1] = tostring(tonumber(arr[d])) end
   return "[" .. table.concat(parts, "x") .. "]"
end

-- the live tensor opts.refs[name], checked against what it was when saved
local function live_source(r, refs)
   local name = r:str("a live tensor's name")
   local dtype = dtype_of(r:u8("a dtype"))
   local ndim = ndim_of(r:u8("a dim count"))
   r:shape(ndim)
   local saved = ("%s %s, strides %s"):format(T.DTYPE_NAMES[dtype], shape_text(ndim, sizes_buf),
      shape_text(ndim, strides_buf))
   local ref = refs[name]
   if not ref then
      ref_error(("it was saved with a reference to the live tensor '%s' (%s): pass that tensor as "
         .. "opts.refs.%s to load"):format(name, saved, name))
   end
   local g = ref.geometry
   local same = g.dtype == dtype and g.ndim == ndim
   for d = 1, ndim do
      same = same and g.sizes[d] == tonumber(sizes_buf[d - 1]) and g.strides[d] == tonumber(strides_buf[d - 1])
   end
   if not same then
      ref_error(("opts.refs.%s is %s %s, strides %s, but was %s when saved: it is not the tensor the file refers to")
         :format(name, T.DTYPE_NAMES[g.dtype], "[" .. table.concat(g.sizes, "x") .. "]",
            "[" .. table.concat(g.strides, "x") .. "]", saved))
   end
   return { ref = ref }
end

local function data_source(r)
   local dtype = dtype_of(r:u8("a dtype"))
   local item = ITEM_BYTES[dtype]
   local n = tonumber(r:i64("a storage length"))
   if n < 0 or n > r:left() / item then
      error(("a storage of %.0f elements does not fit in the %d bytes left"):format(n, r:left()), 0)
   end
   local scratch = ffi.new("int64_t[1]", n)
   local h = C.dob_empty(dtype, 1, scratch)
   if h == nil then error(T.last_error(), 0) end
   local base = T.wrap(h)
   r:block(C.dob_data(base.h), n * item, "a storage")
   return { base = base }
end

local function read_sources(r, refs)
   local n = r:u32("the source count")
   if n > r:left() / 10 then error(("%d sources cannot fit in %d bytes"):format(n, r:left()), 0) end
   local sources = {}
   for i = 1, n do
      local kind = r:u8("a source kind")
      if kind == SOURCE_DATA then sources[i] = data_source(r)
      elseif kind == SOURCE_LIVE then sources[i] = live_source(r, refs)
      else error(("unknown source kind %d"):format(kind), 0) end
   end
   return sources
end

local function read_tensor(r, sources)
   local index = r:u32("a source index")
   local s = sources[index + 1]
   if not s then error(("source %d of %d"):format(index, #sources), 0) end
   local ndim = ndim_of(r:u8("a dim count"))
   local requires_grad = r:u8("a flag")
   if requires_grad > 1 then error(("requires_grad flag %d"):format(requires_grad), 0) end
   r:shape(ndim)
   local offset = r:i64("an offset")
   local on = s.base or s.ref.tensor
   if s.ref then offset = offset + C.dob_storage_offset(on.h) end
   local h = C.dob_as_strided(on.h, ndim, sizes_buf, strides_buf, offset)
   if h == nil and s.ref then
      ref_error(("a saved view of opts.refs.%s does not fit the live tensor (%s)"):format(s.ref.name, T.last_error()))
   end
   if h == nil then error(T.last_error(), 0) end
   local t = T.wrap(h)
   if requires_grad == 1 and C.dob_set_requires_grad(t.h, 1) ~= 0 then error(T.last_error(), 0) end
   return t
end

local function read_value(r, sources)
   local objects = {}
   local depth = 0
   local get

   local function new_object(o)
      objects[#objects + 1] = o
      return o
   end

   local function get_table()
      if depth >= MAX_DEPTH then error(("tables nested more than %d deep"):format(MAX_DEPTH), 0) end
      depth = depth + 1
      local t = new_object({})
      for _ = 1, r:count("a table size", 2) do
         local k = get(true)
         if k ~= k then error("a NaN key", 0) end
         if t[k] ~= nil then error("a key twice in one table", 0) end
         t[k] = get(false)
      end
      depth = depth - 1
      return t
   end

   function get(is_key)
      local tag = r:u8("a value tag")
      if tag == TAG.FALSE then return false end
      if tag == TAG.TRUE then return true end
      if tag == TAG.NUMBER then return r:f64("a number") end
      if tag == TAG.STRING then return r:str("a string") end
      if is_key then error(("a key with tag %d"):format(tag), 0) end
      if tag == TAG.TABLE then return get_table() end
      if tag == TAG.TENSOR then return new_object(read_tensor(r, sources)) end
      if tag == TAG.LIVE then
         local index = r:u32("a source index")
         local s = sources[index + 1]
         if not (s and s.ref) then error(("live tensor source %d of %d"):format(index, #sources), 0) end
         return new_object(s.ref.tensor)
      end
      if tag == TAG.SEEN then
         local id = tonumber(r:scalar(8, "an object id").u64)
         if id >= #objects then error(("object %.0f before %d objects were read"):format(id, #objects), 0) end
         return objects[id + 1]
      end
      error(("unknown value tag %d"):format(tag), 0)
   end

   return get(false)
end

local function read_header(f, path)
   local header = ffi.new("dob_save_header")
   local got = tonumber(libc.fread(header, 1, HEADER_BYTES, f))
   if got < HEADER_BYTES and libc.ferror(f) ~= 0 then
      local hint = ffi.errno() == EISDIR and "; give the path of a file written by dob.save" or ""
      error(("cannot load %s: cannot read it (%s)%s"):format(path, strerror(), hint), 0)
   end
   local magic = ffi.string(header.magic, math.min(got, 8))
   if got == 0 then
      error(("cannot load %s: the file is empty, not a deepobs save file; use another checkpoint"):format(path), 0)
   end
   if magic ~= MAGIC:sub(1, #magic) then
      error(("cannot load %s: not a deepobs save file (it does not start with deepobs's magic bytes)"):format(path), 0)
   end
   if got < HEADER_BYTES then
      error(("cannot load %s: truncated: %d bytes, less than the %d-byte header of a deepobs save file; "
         .. "use another checkpoint"):format(path, got, HEADER_BYTES), 0)
   end
   if header.version > VERSION then
      error(("cannot load %s: written in format version %d by a newer deepobs; this one reads version %d: "
         .. "update deepobs to load it"):format(path, header.version, VERSION), 0)
   end
   local swapped = bit.bswap(BYTE_ORDER)
   if header.byte_order == swapped then
      error(("cannot load %s: written on a machine of the other byte order (big- vs little-endian); "
         .. "load it on a machine like the one that wrote it"):format(path), 0)
   end
   if header.version == 0 or header.byte_order ~= BYTE_ORDER or header.reserved ~= 0 then
      error(("cannot load %s: corrupt header; use another checkpoint"):format(path), 0)
   end
   return header
end

-- the body length the header promises, checked against the file's size
local function check_length(f, path, header)
   local expected = tonumber(header.body_length)
   if libc.fseeko(f, 0, SEEK_END) ~= 0 then error(("cannot load %s: cannot seek (%s)"):format(path, strerror()), 0) end
   local size = tonumber(libc.ftello(f))
   if size < 0 or libc.fseeko(f, HEADER_BYTES, SEEK_SET) ~= 0 then
      error(("cannot load %s: cannot seek (%s)"):format(path, strerror()), 0)
   end
   local actual = size - HEADER_BYTES
   if actual < expected then
      error(("cannot load %s: truncated: %.0f bytes where its header promises %.0f (an interrupted copy?); "
         .. "use another checkpoint"):format(path, size, expected + HEADER_BYTES), 0)
   end
   if actual > expected then
      error(("cannot load %s: corrupt: %.0f bytes where its header promises %.0f; use another checkpoint")
         :format(path, size, expected + HEADER_BYTES), 0)
   end
   return expected
end

local function read_body(r, refs)
   local sources = read_sources(r, refs)
   local value = read_value(r, sources)
   if r:left() ~= 0 then error(("%d bytes after the value"):format(r:left()), 0) end
   return value
end

local function load_open(f, path, refs)
   local header = read_header(f, path)
   local r = new_reader(f, check_length(f, path, header))
   local old_mode = C.dob_set_grad_enabled(0)
   local ok, res = pcall(read_body, r, refs)
   C.dob_set_grad_enabled(old_mode)
   local crc_ok, crc = pcall(r.finish_crc, r)
   if crc_ok and crc ~= header.crc then
      error(("cannot load %s: corrupt: the checksum of its contents does not match (the file changed "
         .. "after it was written); use another checkpoint"):format(path), 0)
   end
   if not crc_ok then error(("cannot load %s: %s"):format(path, tostring(crc)), 0) end
   if not ok then
      if getmetatable(res) == RefError then error(("cannot load %s: %s"):format(path, res.msg), 0) end
      error(("cannot load %s: corrupt contents (%s); use another checkpoint"):format(path, tostring(res)), 0)
   end
   return res
end

--- Reads the value saved at path. opts.refs: name -> live tensor, for the
-- tensors that were saved as references (see the top).
function M.load(path, opts)
   opts = opts or {}
   if type(path) ~= "string" or path == "" then error("load: path must be a file name, got " .. tostring(path), 2) end
   local refs = live_refs(opts.refs, "load")
   local f = libc.fopen(path, "rb")
   if f == nil then error(("cannot load %s: cannot open it (%s); check the path"):format(path, strerror()), 0) end
   local ok, res = pcall(load_open, f, path, refs)
   libc.fclose(f)
   if not ok then error(res, 0) end
   return res
end

-- options must be a table (nil: none)
for _, name in ipairs { "save", "load" } do
   local impl = M[name]
   local opts_at = name == "save" and 3 or 2
   M[name] = function(...)
      local opts = select(opts_at, ...)
      if opts ~= nil and (type(opts) ~= "table" or getmetatable(opts) ~= nil) then A.wrong(name, "opts", "a table", opts) end
      if opts ~= nil and opts.name ~= nil and type(opts.name) ~= "string" then
         A.wrong(name, "opts.name", "a string", opts.name)
      end
      return impl(...)
   end
end
-- (the checked wrappers share one definition line, so each has its doc registered)
doc.register(M.save, "dob.save(path, value, opts): writes value (tensors, tables, numbers, strings, booleans) to path atomically\n"
   .. "opts.refs: name -> live tensor, saved as references (see the top of deepobs/serialize.lua);\n"
   .. "opts.name: what error messages call the value (default \"value\"). Restore it with dob.load.")
doc.register(M.load, "dob.load(path, opts): the value saved at path by dob.save\n"
   .. "opts.refs: name -> live tensor, for the tensors saved as references. A missing, truncated or\n"
   .. "corrupt file is an error naming it.")

return M
