# deepobs-lua — build the C engine, run the specs, benchmark.
#   make              build build/libdeepobs.so (and regenerate lua/deepobs/cdef.lua)
#   make test         all specs (ends with "N passed, N failed")
#   make test-asan    the specs against an AddressSanitizer + UBSan build
#   make bench        op timings next to PyTorch (needs python3-torch), checkpoint costs
#   make check-layers  only the check that src/ keeps its layers (src/README.md)
#   make install PREFIX=/usr/local

PREFIX ?= /usr/local
LUADIR ?= $(PREFIX)/share/lua/5.1
LIBDIR ?= $(PREFIX)/lib/lua/5.1
BINDIR ?= $(PREFIX)/bin
LUAJIT ?= luajit
CC ?= cc
ARCH ?= -march=native
CFLAGS ?= -O3 $(ARCH)
WARN = -std=c11 -D_GNU_SOURCE -Wall -Wextra -Wno-unused-parameter -Wshadow
# errno is never read, so math calls may run as libmvec's vector versions
MATH = -fno-math-errno
OMP = -fopenmp
LIBS = -lopenblas -lz -lmvec -lm -ljpeg
BUSTED ?= busted --lua=$(LUAJIT) -o spec/helpers/summary.lua

# one folder per layer (src/README.md); the interrupt library is built on its own
SRC = $(sort $(filter-out src/interrupt/%,$(wildcard src/*/*.c)))
# the public API, which scripts/gen_cdef.lua turns into lua/deepobs/cdef.lua
API_HDR = src/deepobs.h $(wildcard src/api/*.h)
OBJ = $(SRC:src/%.c=build/obj/%.o)
ASAN_OBJ = $(SRC:src/%.c=build/asan/%.o)
# internal headers are included by their layer path ("tensor/tensor.h"); each
# object depends on exactly the headers it includes (-MMD), so a change in an
# op header rebuilds only the ops
INC = -Isrc
DEPS = -MMD -MP
LIB = build/libdeepobs.so
# SIGINT/SIGTERM handling for the runner: process-wide state the engine does not keep
INTERRUPT_LIB = build/libdeepobs_interrupt.so
ASAN_LIB = build/asan/libdeepobs.so
CDEF = lua/deepobs/cdef.lua

all: $(LIB) $(INTERRUPT_LIB) $(CDEF)

build/obj/%.o: src/%.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(WARN) $(MATH) $(OMP) $(INC) $(DEPS) -fPIC -c $< -o $@

$(LIB): $(OBJ)
	$(CC) -shared $(OMP) -o $@ $(OBJ) $(LIBS)

$(INTERRUPT_LIB): src/interrupt/interrupt.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(WARN) -fPIC -shared $< -o $@

build/asan/%.o: src/%.c
	@mkdir -p $(@D)
	$(CC) -O1 -g $(ARCH) $(WARN) $(MATH) $(OMP) $(INC) $(DEPS) -fPIC -fsanitize=address,undefined -fno-omit-frame-pointer \
	  -fno-sanitize-recover=undefined -c $< -o $@

$(ASAN_LIB): $(ASAN_OBJ)
	$(CC) -shared $(OMP) -fsanitize=address,undefined -o $@ $(ASAN_OBJ) $(LIBS)

$(CDEF): $(API_HDR) scripts/gen_cdef.lua
	$(LUAJIT) scripts/gen_cdef.lua src/deepobs.h > $@.tmp && mv $@.tmp $@

test: all
	$(BUSTED) spec

check-layers: all
	$(BUSTED) spec/layers_spec.lua

# LuaJIT itself is not instrumented, so the ASan runtime is preloaded; leak
# checking is off because LuaJIT's own allocations are reported at exit.
test-asan: $(ASAN_LIB) $(INTERRUPT_LIB) $(CDEF)
	DEEPOBS_LIB=$(CURDIR)/$(ASAN_LIB) LD_PRELOAD=$$($(CC) -print-file-name=libasan.so) \
	  ASAN_OPTIONS=detect_leaks=0:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  DEEPOBS_ASAN=1 $(BUSTED) spec

bench: all
	$(LUAJIT) bench/ops.lua
	$(LUAJIT) bench/checkpoint.lua

install: all
	install -d $(DESTDIR)$(LUADIR)/deepobs $(DESTDIR)$(LIBDIR)
	cp -r lua/deepobs/. $(DESTDIR)$(LUADIR)/deepobs/
	install -m 755 $(LIB) $(DESTDIR)$(LIBDIR)/libdeepobs.so
	install -m 755 $(INTERRUPT_LIB) $(DESTDIR)$(LIBDIR)/libdeepobs_interrupt.so

clean:
	rm -rf build

-include $(OBJ:.o=.d) $(ASAN_OBJ:.o=.d)

.PHONY: all test check-layers test-asan bench install clean

# a LuaJIT prompt with the checkout's package on the path: dob = require "deepobs"
repl: all
	LUA_PATH="./lua/?.lua;./lua/?/init.lua;./?.lua;./?/init.lua;;" $(LUAJIT) -i

.PHONY: repl
