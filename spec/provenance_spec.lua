-- deepobs.sha256 (NIST vectors, agreement with sha256sum around the block boundaries and on a
-- file of a few MB) and deepobs.provenance (each key of a run's provenance; git_commit on
-- generated .git folders and on this checkout).
local sha256 = require "deepobs.sha256"
local provenance = require "deepobs.provenance"
local rw = require "deepobs.results"
local cjson = require "cjson"
local fs = require "helpers.fs"

-- the spec's own quoting for launching processes: always single quotes
local function q(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

local function trim(s) return (s:gsub("%s+$", "")) end

local function mktemp_dir()
   local d = trim(fs.sh("mktemp -d /tmp/deepobs_prov.XXXXXX"))
   assert(d:match("^/tmp/deepobs_prov%."), "mktemp -d failed")
   return d
end

-- deterministic bytes (an LCG), so a failure reproduces
local function bytes(n, seed)
   local x, out = seed, {}
   for i = 1, n do
      x = (x * 1103515245 + 12345) % 2147483648
      out[i] = string.char(math.floor(x / 65536) % 256)
   end
   return table.concat(out)
end

local function hex_id(len, seed)
   local x, out = seed, {}
   for i = 1, len do
      x = (x * 69069 + 1) % 4294967296
      out[i] = ("0123456789abcdef"):sub(x % 16 + 1, x % 16 + 1)
   end
   return table.concat(out)
end

describe("sha256", function()
   local dir
   setup(function() dir = mktemp_dir() end)
   teardown(function() fs.rmrf(dir) end)

   it("gives the FIPS 180-4 / NIST example digests", function()
      local vectors = {
         { "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
         { "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
         { "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
           "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1" },
         { "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
           "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1" },
         { ("a"):rep(1000000), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0" },
      }
      for _, v in ipairs(vectors) do
         assert.are.equal(v[2], sha256.hex(v[1]), ("%d bytes"):format(#v[1]))
      end
   end)

   it("agrees with sha256sum on files of 0..200 bytes and around the 64 KiB read chunk", function()
      local lengths = {}
      for n = 0, 200 do lengths[#lengths + 1] = n end
      for _, n in ipairs { 65535, 65536, 65537, 65536 + 55, 65536 + 56, 131072 + 63 } do lengths[#lengths + 1] = n end
      local paths, texts = {}, {}
      for i, n in ipairs(lengths) do
         texts[i] = bytes(n, n + 1)
         paths[i] = ("%s/f%06d"):format(dir, n)
         fs.write(paths[i], texts[i])
      end
      local want = {}
      for line in fs.sh("cd " .. q(dir) .. " && sha256sum f*"):gmatch("[^\n]+") do
         local h, name = line:match("^(%x+)  (%S+)$")
         want[dir .. "/" .. name] = h
      end
      for i, p in ipairs(paths) do
         assert.is_string(want[p], "sha256sum gave no line for " .. p)
         assert.are.equal(want[p], sha256.file(p), p)
         assert.are.equal(want[p], sha256.hex(texts[i]), p)
      end
   end)

   it("hashes a file of a few MB in chunks, as sha256sum does", function()
      local p = dir .. "/big"
      fs.write(p, bytes(3 * 1024 * 1024 + 17, 7))
      assert.are.equal(fs.sh("sha256sum " .. q(p)):match("^(%x+)"), sha256.file(p))
   end)

   it("raises an error naming the path for a missing or unreadable file, and for a non-string", function()
      local unreadable = dir .. "/noperm"
      fs.write(unreadable, "x")
      os.execute("chmod 000 " .. q(unreadable))
      local root = trim(fs.sh("id -u")) == "0"
      local bad = { dir .. "/missing", dir .. "/missing/below", dir, dir .. "/name with space" }
      if not root then bad[#bad + 1] = unreadable end
      for _, p in ipairs(bad) do
         local ok, err = pcall(sha256.file, p)
         assert.is_false(ok, p)
         assert.matches(p:gsub("%p", "%%%0"), tostring(err))
      end
      for _, v in ipairs { 1, true, {}, print } do
         assert.has_error(function() sha256.file(v) end)
         assert.has_error(function() sha256.hex(v) end)
      end
   end)
end)

describe("provenance.command_line", function()
   local dir, script
   -- awkward arguments: spaces, quotes, shell syntax, globs, newlines, empty, non-ASCII,
   -- then seeded random strings over printable ASCII
   local args = { "a b", "it's", "", "$HOME", "`id`", '"q"', "back\\slash", "tab\there", "new\nline",
                  "*", "~", "ü", "--lr=1e-3", "a'b'c", "!", ";", "&&", "#x", "(x)", "-", "%s" }
   local x = 12345
   for _ = 1, 30 do
      local s = {}
      for j = 1, x % 9 do
         x = (x * 1103515245 + 12345) % 2147483648
         s[j] = string.char(32 + math.floor(x / 65536) % 95)
      end
      x = (x * 1103515245 + 12345) % 2147483648
      args[#args + 1] = table.concat(s)
   end

   setup(function()
      dir = mktemp_dir()
      script = dir .. "/print_cmdline.lua"
      fs.write(script, ([[
package.path = %q .. package.path
local p = require "deepobs.provenance"
io.write(p.command_line(arg[1] ~= "proc" and %q or nil))
]]):format("./lua/?.lua;./lua/?/init.lua;", dir .. "/no_such_file"))
   end)
   teardown(function() fs.rmrf(dir) end)

   -- the words a POSIX shell makes of a command line, NUL-separated
   local function shell_words(line)
      local out = fs.sh("printf '%s\\0' " .. line)
      local words = {}
      for w in out:gmatch("(%Z*)%z") do words[#words + 1] = w end
      return words
   end

   local function launch(mode)
      local parts = { "luajit", q(script), mode }
      for _, a in ipairs(args) do parts[#parts + 1] = q(a) end
      return fs.sh(table.concat(parts, " "))
   end

   it("quotes /proc/self/cmdline so that a shell gives back the same argv", function()
      local line = launch("proc")
      local want = { "luajit", script, "proc" }
      for _, a in ipairs(args) do want[#want + 1] = a end
      assert.are.same(want, shell_words(line))
      assert.matches("^luajit " .. script:gsub("%p", "%%%0") .. " proc ", line)
   end)

   it("falls back to the global arg table (interpreter included) when the cmdline file is missing or empty", function()
      local line = launch("table")
      local want = { "luajit", script, "table" }
      for _, a in ipairs(args) do want[#want + 1] = a end
      assert.are.same(want, shell_words(line))
      fs.write(dir .. "/empty", "")
      assert.are.equal(provenance.command_line("/no/such/file"), provenance.command_line(dir .. "/empty"))
   end)

   it("leaves plain words bare", function()
      fs.write(dir .. "/cmdline", "luajit\0run.lua\0fmnist_2c2d\0--lr\0001e-3\0--optimizer\0examples/my_sgd.lua\0")
      assert.are.equal("luajit run.lua fmnist_2c2d --lr 1e-3 --optimizer examples/my_sgd.lua",
         provenance.command_line(dir .. "/cmdline"))
   end)
end)

describe("provenance.git_commit on generated .git folders", function()
   local dir
   setup(function() dir = mktemp_dir() end)
   teardown(function() fs.rmrf(dir) end)

   local n = 0
   local function new_root()
      n = n + 1
      local r = ("%s/case%d"):format(dir, n)
      fs.mkdir(r)
      return r
   end

   -- the refs of a repository in git_dir: how the branch is stored ("loose", "packed", "both":
   -- a stale packed id and the loose one that wins) or "detached"; returns the commit HEAD means
   local function write_refs(git_dir, storage, seed, id_len)
      local id, stale = hex_id(id_len, seed), hex_id(id_len, seed + 1000)
      local branch = "feature/p" .. seed
      if storage == "detached" then
         fs.write(git_dir .. "/HEAD", id .. "\n")
         return id
      end
      fs.write(git_dir .. "/HEAD", "ref: refs/heads/" .. branch .. "\n")
      if storage == "loose" or storage == "both" then
         fs.mkdir(git_dir .. "/refs/heads/feature")
         fs.write(git_dir .. "/refs/heads/" .. branch, id .. "\n")
      end
      if storage == "packed" or storage == "both" then
         fs.write(git_dir .. "/packed-refs", table.concat({
            "# pack-refs with: peeled fully-peeled sorted ",
            hex_id(id_len, seed + 1) .. " refs/heads/feature/p" .. seed .. "x",
            (storage == "both" and stale or id) .. " refs/heads/" .. branch,
            hex_id(id_len, seed + 2) .. " refs/tags/v1",
            "^" .. hex_id(id_len, seed + 3),
            "" }, "\n"))
      end
      return id
   end

   it("resolves loose, packed and detached HEADs in .git folders and worktree .git files, from nested folders", function()
      local cases = 0
      for _, storage in ipairs { "loose", "packed", "both", "detached" } do
         for _, layout in ipairs { "folder", "worktree_relative", "worktree_absolute" } do
            for _, id_len in ipairs { 40, 64 } do
               local root = new_root()
               local seed = n * 7
               local want
               if layout == "folder" then
                  fs.mkdir(root .. "/.git")
                  want = write_refs(root .. "/.git", storage, seed, id_len)
               else
                  -- main checkout elsewhere; the worktree's HEAD in .git/worktrees/wt, its
                  -- branches in the common folder
                  local main_git = root .. "/main/.git"
                  local wt_git = main_git .. "/worktrees/wt"
                  fs.mkdir(wt_git)
                  fs.write(main_git .. "/HEAD", "ref: refs/heads/master\n")
                  fs.write(wt_git .. "/commondir", "../..\n")
                  local id = write_refs(main_git, storage, seed, id_len)
                  if storage == "detached" then
                     fs.write(main_git .. "/HEAD", "ref: refs/heads/master\n")
                     fs.write(wt_git .. "/HEAD", id .. "\n")
                  else
                     fs.write(wt_git .. "/HEAD", fs.read(main_git .. "/HEAD"))
                     fs.write(main_git .. "/HEAD", "ref: refs/heads/master\n")
                  end
                  want = id
                  fs.mkdir(root .. "/wt")
                  fs.write(root .. "/wt/.git", layout == "worktree_relative" and "gitdir: ../main/.git/worktrees/wt\n"
                     or "gitdir: " .. wt_git .. "\n")
                  root = root .. "/wt"
               end
               fs.mkdir(root .. "/lua/deepobs")
               for _, from in ipairs { root, root .. "/lua", root .. "/lua/deepobs", root .. "/lua/deepobs/.." } do
                  assert.are.equal(want, provenance.git_commit(from), ("%s %s %d from %s"):format(storage, layout, id_len, from))
               end
               cases = cases + 1
            end
         end
      end
      assert.are.equal(24, cases)
   end)

   it("follows a symbolic ref stored in a ref file", function()
      local root = new_root()
      fs.mkdir(root .. "/.git/refs/heads")
      local id = hex_id(40, 99)
      fs.write(root .. "/.git/HEAD", "ref: refs/heads/alias\n")
      fs.write(root .. "/.git/refs/heads/alias", "ref: refs/heads/real\n")
      fs.write(root .. "/.git/refs/heads/real", id .. "\n")
      assert.are.equal(id, provenance.git_commit(root))
      -- a loop of symbolic refs ends instead of recursing forever
      fs.write(root .. "/.git/refs/heads/real", "ref: refs/heads/alias\n")
      assert.is_nil(provenance.git_commit(root))
   end)

   it("gives nil outside a checkout, on an unborn branch, for broken HEADs and .git files", function()
      local broken = {
         { head = "ref: refs/heads/unborn\n" },
         { head = "" },
         { head = "not a ref\n" },
         { head = hex_id(39, 1) .. "\n" },
         { head = hex_id(41, 1) .. "\n" },
         { head = ("g"):rep(40) .. "\n" },
         { head = "ref: refs/heads/x\n", packed = "# header only\n" },
         { head = "ref: refs/heads/x\n", packed = hex_id(12, 3) .. " refs/heads/x\n" },
         { dotgit_file = "gitdir: ./nowhere\n" },
         { dotgit_file = "garbage\n" },
         { dotgit_file = "" },
      }
      for i, b in ipairs(broken) do
         local root = new_root()
         if b.dotgit_file then
            fs.write(root .. "/.git", b.dotgit_file)
         else
            fs.mkdir(root .. "/.git")
            fs.write(root .. "/.git/HEAD", b.head)
            if b.packed then fs.write(root .. "/.git/packed-refs", b.packed) end
         end
         assert.is_nil(provenance.git_commit(root), "case " .. i)
      end
      assert.is_nil(provenance.git_commit(new_root()))
      assert.is_nil(provenance.git_commit(dir .. "/does/not/exist"))
   end)

   it("gives this checkout's `git rev-parse HEAD` by default (the folder of the module)", function()
      local want = trim(fs.sh("git rev-parse HEAD 2>/dev/null"))
      if not want:match("^%x+$") then pending("not a git checkout, or no git binary") return end
      assert.are.equal(want, provenance.git_commit())
      assert.are.equal(want, provenance.git_commit("."))
   end)
end)

describe("provenance.collect", function()
   local dir
   setup(function() dir = mktemp_dir() end)
   teardown(function() fs.rmrf(dir) end)

   local KEYS = { "command_line", "optimizer_file", "optimizer_sha256", "engine_version", "git_commit", "host", "start_time" }

   local function as_map(list)
      local m, keys = {}, {}
      for i, kv in ipairs(list) do
         keys[i] = kv[1]
         m[kv[1]] = kv[2]
      end
      return m, keys
   end

   it("gives the keys in order, the optimizer file's absolute path and sha256sum", function()
      local opt = dir .. "/my opt.lua"
      fs.write(opt, "return { name = 'X' }\n")
      os.execute("ln -s " .. q(opt) .. " " .. q(dir .. "/link.lua"))
      local real = trim(fs.sh("realpath " .. q(opt)))
      for _, given in ipairs { opt, dir .. "/./my opt.lua", dir .. "/link.lua" } do
         local m, keys = as_map(provenance.collect { optimizer_path = given, start_time = 0 })
         assert.are.same(KEYS, keys)
         assert.are.equal(real, m.optimizer_file)
         assert.are.equal(fs.sh("sha256sum " .. q(opt)):match("^(%x+)"), m.optimizer_sha256)
      end
      local before = as_map(provenance.collect { optimizer_path = opt, start_time = 0 }).optimizer_sha256
      fs.write(opt, "return { name = 'Y' }\n")
      assert.are_not.equal(before, as_map(provenance.collect { optimizer_path = opt, start_time = 0 }).optimizer_sha256)
   end)

   it("gives null optimizer keys for an optimizer given as a table, and the engine, commit, host and time", function()
      local t = tonumber(trim(fs.sh("date -u -d 2026-12-07T06:09:43Z +%s")))
      local m, keys = as_map(provenance.collect { start_time = t })
      assert.are.same(KEYS, keys)
      assert.are.equal(rw.null, m.optimizer_file)
      assert.are.equal(rw.null, m.optimizer_sha256)
      assert.are.equal(require("deepobs").version, m.engine_version)
      assert.matches("^%d+%.%d+", m.engine_version)
      assert.are.equal(provenance.git_commit() or rw.null, m.git_commit)
      assert.are.equal(trim(fs.read("/proc/sys/kernel/hostname")), m.host)
      assert.are.equal("2026-12-07T06:09:43Z", m.start_time)
      assert.are.equal(provenance.command_line(), m.command_line)
   end)

   it("writes start_time as date -u does, for many times", function()
      local ts = { 0, 1, 59, 86399, 951782400, 1e9, 2147483647, 2147483648, 4102444800 }
      for i = 1, 20 do ts[#ts + 1] = (i * 2654435761) % 4102444800 end
      local cmd = {}
      for i, t in ipairs(ts) do cmd[i] = ("date -u -d @%d +%%Y-%%m-%%dT%%H:%%M:%%SZ"):format(t) end
      local want = fs.lines(fs.sh(table.concat(cmd, "; ")))
      for i, t in ipairs(ts) do
         assert.are.equal(want[i], provenance.iso_utc(t), tostring(t))
         assert.are.equal(want[i], as_map(provenance.collect { start_time = t }).start_time)
      end
   end)

   it("goes into a result file as JSON (null for the missing values)", function()
      local obj = rw.result_object { train_losses = { 1 }, test_losses = { 1 }, minibatch_train_losses = { 1 },
         optimizer = "X", testproblem = "p", batch_size = 1, num_epochs = 0, learning_rate = 0.1,
         random_seed = 42, train_log_interval = 1, hyperparams = {},
         extra = provenance.collect { start_time = 1796623783 } }
      local d = cjson.decode(rw.encode(obj))
      assert.are.equal(cjson.null, d.optimizer_file)
      assert.are.equal(cjson.null, d.optimizer_sha256)
      assert.are.equal("2026-12-07T06:09:43Z", d.start_time)
      assert.are.equal(provenance.command_line(), d.command_line)
   end)

   it("rejects bad options with a clear error, and an unreadable optimizer file naming it", function()
      local bad = { {}, { start_time = "now" }, { start_time = 0 / 0 }, { start_time = math.huge },
                    { start_time = -math.huge }, { start_time = {} }, { start_time = 0, optimizer_path = 3 },
                    { start_time = 0, optimizer_path = "" }, { start_time = 0, optimizer_path = {} },
                    { start_time = 0, optimizer_path = true } }
      for i, o in ipairs(bad) do
         local ok, err = pcall(provenance.collect, o)
         assert.is_false(ok, "case " .. i)
         assert.matches("provenance.collect: [%w_]+ must be", tostring(err))
      end
      for _, v in ipairs { 1, "x", true } do
         local ok, err = pcall(provenance.collect, v)
         assert.is_false(ok)
         assert.matches("provenance.collect: expected a table of options, got a " .. type(v), tostring(err))
      end
      for _, p in ipairs { dir .. "/missing.lua", dir } do
         local ok, err = pcall(provenance.collect, { optimizer_path = p, start_time = 0 })
         assert.is_false(ok)
         assert.matches(p:gsub("%p", "%%%0"), tostring(err))
      end
   end)
end)
