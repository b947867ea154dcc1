rockspec_format = "3.0"
package = "deepobs"
version = "scm-1"
source = { url = "git+file://." }
description = {
   summary = "DeepOBS optimizer benchmark on a C tensor + autograd engine for LuaJIT",
   detailed = [[
Float32 tensors, CPU kernels (OpenBLAS GEMM, conv, pooling, batch norm, LSTM, losses) and a
reverse-mode autograd graph in C, bound to LuaJIT through the FFI, with the DeepOBS test
problems, runner and analyzer on top.]],
   license = "MIT",
}
-- LuaJIT is Lua 5.1 to luarocks: `luarocks --lua-version=5.1 make ...` where its default is newer
dependencies = { "lua ~> 5.1", "lua-cjson" }
external_dependencies = {
   -- cblas.h sits in a multiarch folder on Debian, which luarocks does not search
   OPENBLAS = { library = "openblas" },
   ZLIB = { header = "zlib.h", library = "z" },
   JPEG = { header = "jpeglib.h", library = "jpeg" },
}
build = {
   type = "make",
   build_variables = { CFLAGS = "$(CFLAGS)", LUAJIT = "luajit" },
   install_variables = { LUADIR = "$(LUADIR)", LIBDIR = "$(LIBDIR)", PREFIX = "$(PREFIX)", BINDIR = "$(BINDIR)" },
}
test = { type = "busted" }
