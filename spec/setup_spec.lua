-- scripts/setup.sh, the README's first command: installs what is missing with apt-get, after
-- `apt-get update`, as root directly and as a user through sudo. Driven here with stand-ins for
-- id, dpkg-query, sudo and apt-get on PATH, which record what they were asked to do.
local fs = require "helpers.fs"

local TMP = ".spec_tmp_setup"

local function shq(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

-- a fake bin folder: id -u prints uid; dpkg-query says `installed` are installed; sudo and
-- apt-get append their argv to log
local function fake_bin(dir, uid, installed, with_sudo)
   fs.mkdir(dir)
   local function script(name, body)
      fs.write(dir .. "/" .. name, "#!/bin/sh\n" .. body .. "\n")
      os.execute("chmod +x " .. shq(dir .. "/" .. name))
   end
   script("id", ('[ "$1" = "-u" ] && echo %d'):format(uid))
   script("dpkg-query", ('for p in %s; do [ "$3" = "$p" ] && { printf "install ok installed"; exit 0; }; done; exit 1')
      :format(table.concat(installed, " ")))
   script("apt-get", ('echo "apt-get $*" >> %s/log'):format(shq(dir)))
   if with_sudo then script("sudo", ('echo "sudo $*" >> %s/log; "$@"'):format(shq(dir))) end
end

local function setup_sh(dir)
   local p = io.popen(("PATH=%s:/usr/bin:/bin sh scripts/setup.sh 2>&1; echo rc=$?"):format(shq(dir)))
   local out = p:read("*a")
   p:close()
   local log = fs.exists(dir .. "/log") and fs.read(dir .. "/log") or ""
   return tonumber(out:match("rc=(%d+)\n$")), out, log
end

local function packages()
   local p = io.popen("sh scripts/setup.sh --list")
   local list = {}
   for w in p:read("*a"):gmatch("%S+") do list[#list + 1] = w end
   p:close()
   return list
end

describe("scripts/setup.sh", function()
   setup(function() fs.rmrf(TMP); fs.mkdir(TMP) end)
   teardown(function() fs.rmrf(TMP) end)

   it("lists the packages the README and CI install, the design's among them", function()
      local list = packages()
      for _, must in ipairs { "luajit", "libopenblas-openmp-dev", "lua-cjson", "zlib1g-dev", "lua-busted", "luarocks",
         "libreadline8" } do
         assert.truthy(table.concat(list, " "):find(must, 1, true), must)
      end
      assert.matches("scripts/setup.sh", fs.read(".ci/run"), 1, true)
      assert.matches("scripts/setup.sh && make", fs.read("README.md"):sub(1, 300), 1, true)
   end)

   it("as root: apt-get update, then installs only what is missing, without sudo", function()
      local list = packages()
      local dir = TMP .. "/root"
      fake_bin(dir, 0, { list[1], list[2] }, false)
      local rc, out, log = setup_sh(dir)
      assert.are.equal(0, rc, out)
      local lines = fs.lines(log)
      assert.are.equal(2, #lines, log)
      assert.matches("^apt%-get update", lines[1])
      assert.matches("^apt%-get install %-y %-qq ", lines[2])
      assert.not_matches(" " .. list[1]:gsub("%p", "%%%0") .. " ", lines[2] .. " ")
      assert.matches(" " .. list[3]:gsub("%p", "%%%0"), lines[2])
      assert.not_matches("sudo", log)
   end)

   it("as a user: through sudo; without sudo it says what to do", function()
      local dir = TMP .. "/user"
      fake_bin(dir, 1000, {}, true)
      local rc, out, log = setup_sh(dir)
      assert.are.equal(0, rc, out)
      assert.matches("^sudo env DEBIAN_FRONTEND=noninteractive apt%-get update", log)
      assert.matches("\nsudo env DEBIAN_FRONTEND=noninteractive apt%-get install", log)
      dir = TMP .. "/nosudo"
      fake_bin(dir, 1000, {}, false)
      rc, out, log = setup_sh(dir)
      assert.are.equal(1, rc, out)
      assert.matches("needs root: run this as root, or install sudo", out, 1, true)
      assert.are.equal("", log)
   end)

   it("does nothing when everything is installed, and refuses unknown arguments", function()
      local dir = TMP .. "/done"
      fake_bin(dir, 1000, packages(), false)
      local rc, out, log = setup_sh(dir)
      assert.are.equal(0, rc, out)
      assert.matches("every package is installed", out, 1, true)
      assert.are.equal("", log)
      local p = io.popen("sh scripts/setup.sh --frobnicate 2>&1; echo rc=$?")
      out = p:read("*a")
      p:close()
      assert.matches("usage: scripts/setup.sh %[%-%-list%]", out)
      assert.matches("rc=2", out, 1, true)
   end)
end)
