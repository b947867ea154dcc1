# deepobs-lua — build the C engine, run the specs, benchmark.
#   make              build build/libdeepobs.so (and regenerate lua/deepobs/cdef.lua)
#   make test         all specs (ends with "N passed, N failed")
#   make test-asan    the specs against an AddressSanitizer + UBSan build
#   make bench        op timings next to PyTorch (needs python3-torch), checkpoint costs
#   make bench-epoch  one whole epoch through the runner next to a PyTorch loop, and where its time goes
#   make bench-steps  a training step of every problem next to PyTorch: time, peak memory
#                     (options: make bench-steps ARGS="--threads 1 --filter vgg"; ARGS=--help)
#   make bench-memory whole runs' peak memory against their data and a step's working set
#   make check-layers  only the check that src/ keeps its layers (src/README.md)
#   make install PREFIX=/usr/local   (the package, problems, datasets and the `deepobs` command)
#   make uninstall PREFIX=/usr/local

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
# checking is off because LuaJIT's own allocations are reported at exit. A block
# over 4 GiB is refused (NULL, which the engine reports as out of memory), as the
# address-space limit of the specs' child processes does in the plain build.
test-asan: $(ASAN_LIB) $(INTERRUPT_LIB) $(CDEF)
	DEEPOBS_LIB=$(CURDIR)/$(ASAN_LIB) LD_PRELOAD=$$($(CC) -print-file-name=libasan.so) \
	  ASAN_OPTIONS=detect_leaks=0:abort_on_error=0:allocator_may_return_null=1:max_allocation_size_mb=4096 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  DEEPOBS_ASAN=1 $(BUSTED) spec

bench: all
	$(LUAJIT) bench/ops.lua
	$(LUAJIT) bench/checkpoint.lua

# fmnist_2c2d, cifar10_3c3d, tolstoi_char_rnn; options in ARGS (luajit bench/epoch.lua --help)
bench-epoch: all
	$(LUAJIT) bench/epoch.lua $(ARGS)

bench-steps: all
	$(LUAJIT) bench/steps_compare.lua $(ARGS)

# whole runs' peak RSS against runtime + data + 2 x a step's working set (ARGS: --help)
bench-memory: all
	$(LUAJIT) bench/run_memory.lua $(ARGS)

# the package, the suite (problems, datasets, run.lua) in deepobs/suite/, the libraries and
# the `deepobs` command; uninstall removes exactly these
SUITE_DIR = $(DESTDIR)$(LUADIR)/deepobs/suite
install: all
	install -d $(DESTDIR)$(LUADIR)/deepobs $(DESTDIR)$(LIBDIR) $(DESTDIR)$(BINDIR) $(SUITE_DIR)
	cp -r lua/deepobs/. $(DESTDIR)$(LUADIR)/deepobs/
	cp -r problems datasets $(SUITE_DIR)/
	install -m 644 run.lua $(SUITE_DIR)/run.lua
	install -m 755 $(LIB) $(DESTDIR)$(LIBDIR)/libdeepobs.so
	install -m 755 $(INTERRUPT_LIB) $(DESTDIR)$(LIBDIR)/libdeepobs_interrupt.so
	sed -e 's|@LUADIR@|$(LUADIR)|g' -e 's|@LIBDIR@|$(LIBDIR)|g' -e 's|@LUAJIT@|$(LUAJIT)|g' \
	  scripts/deepobs.in > $(DESTDIR)$(BINDIR)/deepobs.tmp
	chmod 755 $(DESTDIR)$(BINDIR)/deepobs.tmp && mv $(DESTDIR)$(BINDIR)/deepobs.tmp $(DESTDIR)$(BINDIR)/deepobs

uninstall:
	rm -rf $(DESTDIR)$(LUADIR)/deepobs
	rm -f $(DESTDIR)$(LIBDIR)/libdeepobs.so $(DESTDIR)$(LIBDIR)/libdeepobs_interrupt.so $(DESTDIR)$(BINDIR)/deepobs


clean:
	rm -rf build

-include $(OBJ:.o=.d) $(ASAN_OBJ:.o=.d)

.PHONY: all test check-layers test-asan bench bench-epoch bench-steps bench-memory install uninstall clean

# the REPL (lua/deepobs/repl): dob loaded, line editing, history, completion, help()
repl: all
	$(LUAJIT) run.lua repl

.PHONY: repl
