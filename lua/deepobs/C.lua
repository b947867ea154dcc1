-- The only module that loads the C library. It prepares the environment that
-- OpenBLAS and libgomp read when they are loaded, declares the API from the
-- generated cdef, and finds libdeepobs.so.
local ffi = require "ffi"

ffi.cdef [[
int setenv(const char *name, const char *value, int overwrite);
int unsetenv(const char *name);
void *dlopen(const char *filename, int flags);
]]

local env = require "deepobs.env"

local M = {}

-- OpenBLAS picks its kernels when it is loaded. This environment may export
-- OPENBLAS_CORETYPE=Haswell, which halves GEMM speed on AVX-512 machines, so
-- by default we let OpenBLAS detect the CPU; DEEPOBS_BLAS_CORETYPE chooses.
M.inherited_coretype = os.getenv("OPENBLAS_CORETYPE")
local chosen = env.get("DEEPOBS_BLAS_CORETYPE")
if chosen and not chosen:match("^%w+$") then
   env.refuse("DEEPOBS_BLAS_CORETYPE", chosen, "an OpenBLAS core name such as Haswell or SkylakeX, or auto", "auto")
end
if chosen and chosen ~= "auto" then
   ffi.C.setenv("OPENBLAS_CORETYPE", chosen, 1)
else
   ffi.C.unsetenv("OPENBLAS_CORETYPE")
end
-- Spinning OpenMP workers fight OpenBLAS's on small machines; wait passively
-- unless the user asked otherwise.
if not os.getenv("OMP_WAIT_POLICY") then ffi.C.setenv("OMP_WAIT_POLICY", "PASSIVE", 1) end

ffi.cdef(require "deepobs.cdef")

local function here()
   local src = debug.getinfo(1, "S").source
   return src:sub(1, 1) == "@" and src:sub(2):match("^(.*)/[^/]*$") or "."
end

--- The path of build/<name>.so: env_var if set, else package.cpath, else the checkout's
-- build folder, else beside this file. Raises a clear error when there is none.
function M.find_library(name, env_var)
   local explicit = env_var and env.get(env_var)
   if explicit then
      local f = io.open(explicit, "rb")
      if not f then env.refuse(env_var, explicit, "the path of an existing " .. name .. ".so") end
      f:close()
      return explicit
   end
   local candidates = {}
   local found = package.searchpath(name, package.cpath)
   if found then candidates[#candidates + 1] = found end
   local dir = here()
   candidates[#candidates + 1] = dir .. "/../../build/" .. name .. ".so"   -- the source tree
   candidates[#candidates + 1] = dir .. "/" .. name .. ".so"
   for _, p in ipairs(candidates) do
      local f = io.open(p, "rb")
      if f then f:close(); return p end
   end
   error(("deepobs: cannot find %s.so (looked in package.cpath and %s/../../build); run `make` in the "
      .. "deepobs-lua checkout%s"):format(name, dir, env_var and (", or set " .. env_var) or ""), 0)
end

M.path = M.find_library("libdeepobs", "DEEPOBS_LIB")
local loaded, lib = pcall(ffi.load, M.path)
if not loaded then
   error(("deepobs: cannot load %s (%s); rebuild it with `make`, or point DEEPOBS_LIB at a working copy")
      :format(M.path, tostring(lib)), 0)
end
M.lib = lib
-- At exit LuaJIT runs finalizers in no fixed order: the library must not be
-- unloaded while tensors' finalizers (dob_release) are still to run, so it is
-- pinned with RTLD_NODELETE.
local RTLD_NOW, RTLD_NODELETE = 0x2, 0x1000
ffi.C.dlopen(M.path, RTLD_NOW + RTLD_NODELETE)

return M
