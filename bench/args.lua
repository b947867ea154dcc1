--- The bench scripts' command lines, read flag by flag: a flag's value, a positive count, a
-- comma list. A bad one prints "PROG: what is wrong" and the usage, and exits 2.
--
--    local args = require "bench.args"
--    local a = args.reader("bench/epoch.lua", USAGE, arg)
--    for flag in a:each() do
--       if flag == "--rounds" then o.rounds = a:count(flag)
--       elseif flag == "--help" then a:help()
--       else a:fail("unknown argument " .. flag) end
--    end
local M = {}

local Reader = {}
Reader.__index = Reader

--- A reader of argv for the script prog, whose usage text is usage.
function M.reader(prog, usage, argv)
   return setmetatable({ prog = prog, usage = usage, argv = argv, i = 0 }, Reader)
end

--- Exits 2 with "prog: msg" and the usage.
function M.fail(prog, usage, msg)
   io.stderr:write(prog, ": ", msg, "\n", usage)
   os.exit(2)
end

--- Exits 2 with msg and the usage.
function Reader:fail(msg) M.fail(self.prog, self.usage, msg) end

--- Prints the usage and exits 0.
function Reader:help()
   io.stdout:write(self.usage)
   os.exit(0)
end

--- The arguments one by one (a flag's values are taken by value, count and list).
function Reader:each()
   return function()
      self.i = self.i + 1
      return self.argv[self.i]
   end
end

--- The value after flag.
function Reader:value(flag)
   self.i = self.i + 1
   local v = self.argv[self.i]
   if v == nil then self:fail(flag .. " needs a value") end
   return v
end

local function is_count(v) return v ~= nil and v >= 1 and v == math.floor(v) and v < math.huge end

--- The positive integer after flag.
function Reader:count(flag)
   local v = tonumber(self:value(flag))
   if not is_count(v) then self:fail(flag .. " needs a positive integer") end
   return v
end

--- The comma-separated words after flag.
function Reader:list(flag)
   local t = {}
   for part in self:value(flag):gmatch("[^,]+") do t[#t + 1] = part end
   return t
end

--- The comma-separated positive integers after flag (at least one); example goes in the message.
function Reader:counts(flag, example)
   local t = {}
   for i, s in ipairs(self:list(flag)) do
      t[i] = tonumber(s)
      if not is_count(t[i]) then self:fail(("%s needs positive integers, e.g. %s"):format(flag, example)) end
   end
   if #t == 0 then self:fail(("%s needs positive integers, e.g. %s"):format(flag, example)) end
   return t
end

return M
