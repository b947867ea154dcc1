-- Image readers against odd files, each in a child process (so a hang or a
-- runaway allocation fails one test, not the suite):
--  * a tiny JPEG whose header claims more pixels than the reader accepts
--    (2^26) is refused before anything of that size is allocated: the
--    child's peak resident memory stays small (it was 2.6 GB for 30000x30000);
--  * a FIFO, a directory, a character device (/dev/null, /dev/zero) or a
--    symlink to a FIFO in place of an image is refused at once (a FIFO used
--    to block open() forever, /dev/zero to read forever).
-- Every entry point that takes JPEG bytes or paths is tried: decode_jpeg
-- (string and uint8 tensor), read_jpeg, read_jpegs.
local dob = require "deepobs"
local child = require "helpers.child"
local fs = require "helpers.fs"

local TMP = os.tmpname()
os.remove(TMP)
fs.mkdir(TMP)

-- a real 8x8 JPEG with the SOF0 height and width replaced
local function claimed(h, w)
   local img = dob.rand(3, 8, 8):mul(255):to("uint8")
   local b = dob.encode_jpeg(img, 90)
   local i = assert(b:find("\255\192", 1, true), "no SOF0 marker")
   local p = i + 4   -- marker (2), length (2), precision (1): then height, width
   return b:sub(1, p) .. string.char(math.floor(h / 256), h % 256, math.floor(w / 256), w % 256) .. b:sub(p + 5)
end

local READERS = {
   decode_jpeg = "dob.decode_jpeg(fs_read(PATH), 'x.jpg')",
   ["decode_jpeg (tensor)"] = "(function() local s = fs_read(PATH); local t = dob.zeros(#s, 'uint8'); " ..
      "require('ffi').copy(t:data(), s, #s); return dob.decode_jpeg(t, 'x.jpg') end)()",
   read_jpeg = "dob.read_jpeg(PATH)",
   read_jpegs = "dob.read_jpegs({ PATH })[1]",
}
local PATH_READERS = { read_jpeg = true, read_jpegs = true }

local PRELUDE = [[
io.stdout:setvbuf("line")
local dob = require "deepobs"
local function fs_read(p) local f = assert(io.open(p, "rb")); local s = f:read("*a"); f:close(); return s end
local function peak_kb()
   for l in io.lines("/proc/self/status") do
      local v = l:match("^VmHWM:%s+(%d+)")
      if v then return tonumber(v) end
   end
end
]]

local function run_reader(expr, path, timeout)
   local code = PRELUDE .. ("local PATH = %q\nlocal before = peak_kb()\nlocal ok, r = pcall(function() return %s end)\n")
      :format(path, expr) ..
      "print('RESULT', ok, ok and table.concat(r:size(), 'x') or tostring(r))\n" ..
      "print('PEAK_GROWTH_KB', peak_kb() - before)\n"
   return child.run(code, { timeout = timeout or 20 })
end

local function names(t)
   local r = {}
   for k in pairs(t) do r[#r + 1] = k end
   table.sort(r)
   return r
end

describe("image readers", function()
   teardown(function() fs.rmrf(TMP) end)

   -- claims above 2^26 pixels, some at libjpeg's own 65500 limit per side
   local HUGE = { { 30000, 30000 }, { 65000, 65000 }, { 8193, 8193 }, { 65500, 1025 }, { 1025, 65500 }, { 16384, 4097 } }
   for _, hw in ipairs(HUGE) do
      local path = ("%s/claims_%dx%d.jpg"):format(TMP, hw[1], hw[2])
      for _, rname in ipairs(names(READERS)) do
         it(("%s: a 1 KB JPEG claiming %dx%d is refused without allocating it"):format(rname, hw[1], hw[2]), function()
            fs.write(path, claimed(hw[1], hw[2]))
            local r = run_reader(READERS[rname], path)
            assert.are.equal(0, r.rc, r.out)
            local ok, msg = r.out:match("RESULT\t(%a+)\t([^\n]*)")
            assert.are.equal("false", ok, r.out)
            assert.matches("claims", msg)
            -- the message names the file (its path, or the name given to decode_jpeg)
            assert.is_truthy(msg:find("x.jpg", 1, true) or msg:find("claims_", 1, true), msg)
            local growth = tonumber(r.out:match("PEAK_GROWTH_KB\t(%d+)"))
            -- the image would need 3 * h * w bytes (2.7 GB for 30000x30000)
            assert.is_true(growth < 32 * 1024, ("peak memory grew by %d KB"):format(growth))
         end)
      end
   end

   it("a JPEG at the limit's side of the check still decodes (the check is not too strict)", function()
      local path = TMP .. "/small.jpg"
      fs.write(path, claimed(8, 8))
      for _, rname in ipairs(names(READERS)) do
         local r = run_reader(READERS[rname], path)
         assert.matches("RESULT\ttrue\t3x8x8", r.out, nil, rname)
      end
   end)

   -- odd files: name -> shell command creating it at $P
   local ODD = {
      fifo = "mkfifo \"$P\"",
      directory = "mkdir \"$P\"",
      ["/dev/null"] = "ln -s /dev/null \"$P\"",
      ["/dev/zero"] = "ln -s /dev/zero \"$P\"",
      ["symlink to a FIFO"] = "mkfifo \"$P.fifo\" && ln -s \"$P.fifo\" \"$P\"",
   }
   local count = 0
   for _, kind in ipairs(names(ODD)) do
      for _, rname in ipairs(names(PATH_READERS)) do
         it(("%s: a %s in place of the image is refused at once"):format(rname, kind), function()
            count = count + 1
            local path = ("%s/odd%d.jpg"):format(TMP, count)
            assert.are.equal(0, os.execute(ODD[kind]:gsub("%$P", path)))
            local t0 = os.time()
            local r = run_reader(READERS[rname], path, 10)
            assert.are_not.equal(124, r.rc, "hung")
            assert.are.equal(0, r.rc, r.out)
            assert.matches("RESULT\tfalse\t[^\n]*is [%a ()]+, not an image file", r.out)
            assert.matches("odd%d+%.jpg", r.out)
            assert.is_true(os.time() - t0 <= 5)
         end)
      end
   end
end)
