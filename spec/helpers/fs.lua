-- File and shell helpers for specs.
local M = {}

-- where the DeepOBS 1.1 baseline files are: ../shared/baselines beside the checkout
M.BASELINES = os.getenv("DEEPOBS_BASELINES") or "../shared/baselines"

function M.sh(cmd)
   local p = io.popen(cmd)
   local out = p:read("*a")
   p:close()
   return out
end

function M.lines(s)
   local t = {}
   for l in s:gmatch("[^\n]+") do t[#t + 1] = l end
   return t
end

function M.read(path)
   local f = assert(io.open(path, "rb"))
   local s = f:read("*a")
   f:close()
   return s
end

function M.write(path, bytes)
   local f = assert(io.open(path, "wb"))
   f:write(bytes)
   f:close()
end

function M.exists(path)
   local f = io.open(path, "rb")
   if f then f:close(); return true end
   return false
end

--- A function that makes a fresh folder root/w1, root/w2, ... at each call.
function M.workdirs(root)
   local count = 0
   return function()
      count = count + 1
      local d = ("%s/w%d"):format(root, count)
      M.mkdir(d)
      return d
   end
end

function M.mkdir(path) assert(os.execute("mkdir -p '" .. path .. "'") == 0, "mkdir " .. path) end
function M.rmrf(path) os.execute("rm -rf '" .. path .. "'") end

function M.files_under(dir)
   return M.lines(M.sh("find " .. dir .. " -type f 2>/dev/null | sort"))
end

return M
