# ljhttp: `make` builds build/libljhttp.so (what plugin managers run),
# `make test` runs every test, `make demo` shows it working.
# User CFLAGS/LDFLAGS are kept; ours come after pkg-config's.

CC      ?= cc
CFLAGS  ?= -O2 -g
LUAJIT  ?= luajit
PKGS    := libcurl libcjson
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
        -Wpointer-arith -Wformat=2 -Wno-format-nonliteral
LIB_CFLAGS := -std=c11 -D_GNU_SOURCE -fPIC -fvisibility=hidden $(WARN) $(PKG_CFLAGS) $(CFLAGS)

# B is the build directory: `make asan` builds a sanitized copy in build/asan.
B       ?= build
SONAME  := libljhttp.so.0
LIB     := $(B)/libljhttp.so
SRCS    := $(wildcard csrc/*.c)
OBJS    := $(patsubst csrc/%.c,$(B)/obj/%.o,$(SRCS))
HDRS    := $(wildcard csrc/*.h) cdef/ljhttp.h
CDEF_LUA := lua/ljhttp/cdef.lua

C_TESTS := $(wildcard tests/c/test_*.c)

VERSION := 0.1.0
PREFIX  ?= /usr/local
LIBDIR  ?= $(PREFIX)/lib
LUADIR  ?= $(PREFIX)/share/lua/5.1
DATADIR ?= $(PREFIX)/share/ljhttp

.PHONY: all deps test test-c test-lua test-install test-hosts test-portable test-packaging demo bench bench-smoke clean install uninstall asan valgrind \
        test-asan-c fuzz soak test-platforms test-load

all: $(LIB) $(CDEF_LUA)

$(B)/obj/%.o: csrc/%.c $(HDRS) | $(B)/obj
	$(CC) $(LIB_CFLAGS) -c $< -o $@

$(LIB): $(OBJS)
	$(CC) -shared -Wl,-soname,$(SONAME) -Wl,--no-undefined $(CFLAGS) $(LDFLAGS) -o $@ $(OBJS) $(PKG_LIBS) -lpthread -lm

# The Lua side's copy of the declarations is generated, never edited.
$(CDEF_LUA): cdef/ljhttp.h tools/gen-cdef.sh
	sh tools/gen-cdef.sh cdef/ljhttp.h > $@.tmp && mv $@.tmp $@

$(B)/obj:
	mkdir -p $@

# Criterion tests link the objects directly so internals can be tested.
$(B)/test_c: $(C_TESTS) $(OBJS) tests/c/layout_check.h
	$(CC) -std=c11 -D_GNU_SOURCE $(WARN) -Wno-missing-prototypes -Icsrc -Itests/c $(PKG_CFLAGS) $(CFLAGS) \
	    -o $@ $(C_TESTS) $(OBJS) $(PKG_LIBS) -lcriterion -lpthread -lm

tests/c/layout_check.h: cdef/ljhttp.h tests/lua/gen_layout.lua $(CDEF_LUA)
	$(LUAJIT) tests/lua/gen_layout.lua > $@.tmp && mv $@.tmp $@

deps:
	@sh tools/deps.sh test

test: deps
	$(MAKE) all
	$(MAKE) test-c
	$(MAKE) test-asan-c
	$(MAKE) test-lua
	$(MAKE) test-hosts
	$(MAKE) test-portable
	$(MAKE) test-install
	$(MAKE) test-packaging
	$(MAKE) bench-smoke

# `make test` LOAD_RUNS times while a busy loop per core loads the machine.
LOAD_RUNS ?= 3
test-load:
	MAKE="$(MAKE)" sh tests/load.sh $(LOAD_RUNS)

test-c: $(B)/test_c
	./$(B)/test_c --jobs=2

test-lua: all
	$(LUAJIT) tests/lua/run.lua

demo:
	@sh tools/deps.sh build
	$(MAKE) all
	sh examples/demo.sh

bench: all
	$(MAKE) -C bench bench

bench-smoke: all
	$(MAKE) -C bench bench-smoke

# The library with its soname, the Lua modules under share/lua/5.1 (the
# loader finds <prefix>/lib from there), and the ABI declarations.
install: all
	install -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(LUADIR)/ljhttp/hosts $(DESTDIR)$(DATADIR)/cdef $(DESTDIR)$(DATADIR)/csrc
	install -m 755 $(LIB) $(DESTDIR)$(LIBDIR)/libljhttp.so.$(VERSION)
	ln -sf libljhttp.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/libljhttp.so
	install -m 644 lua/ljhttp.lua $(DESTDIR)$(LUADIR)/ljhttp.lua
	install -m 644 lua/ljhttp/*.lua $(DESTDIR)$(LUADIR)/ljhttp/
	install -m 644 lua/ljhttp/hosts/*.lua $(DESTDIR)$(LUADIR)/ljhttp/hosts/
	install -m 644 cdef/ljhttp.h $(DESTDIR)$(DATADIR)/cdef/ljhttp.h
	install -m 644 csrc/ljhttp.h $(DESTDIR)$(DATADIR)/csrc/ljhttp.h

uninstall:
	rm -f $(DESTDIR)$(LIBDIR)/libljhttp.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$(SONAME) $(DESTDIR)$(LIBDIR)/libljhttp.so
	rm -f $(DESTDIR)$(LUADIR)/ljhttp.lua
	rm -rf $(DESTDIR)$(LUADIR)/ljhttp $(DESTDIR)$(DATADIR)

test-install: all
	sh tests/install/run.sh

# Docs, :checkhealth, :help, the examples (Neovim plugin, OpenResty
# config, make demo) and the benchmark chart.
test-packaging: all
	bash tests/packaging/run.sh

# The engine driven by each host: plain LuaJIT, headless Neovim, nginx.
test-hosts: all
	bash tests/luajit/run.sh
	bash tests/nvim/run.sh
	bash tests/openresty/run.sh

# The Lua suite and the plain LuaJIT and Neovim hosts again on the portable
# backend, the one macOS-less, epoll-less platforms (Windows) run (nginx's
# relay needs a descriptor: it stays on epoll).
test-portable: all
	LJHTTP_BACKEND=portable $(LUAJIT) tests/lua/run.lua
	LJHTTP_BACKEND=portable bash tests/luajit/run.sh
	LJHTTP_BACKEND=portable bash tests/nvim/run.sh

# AddressSanitizer + UndefinedBehaviorSanitizer: the library and the C
# tests built in build/asan, then the Lua suite run by luajit with the
# ASan runtime preloaded and LeakSanitizer on (suppressions: tests/asan.supp).
ASAN_FLAGS := -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
ASAN_RT    = $(shell $(CC) -print-file-name=libasan.so)
# The C tests alone under the sanitizers (part of `make test`).
test-asan-c:
	$(MAKE) B=build/asan CFLAGS="$(ASAN_FLAGS)" LDFLAGS="-fsanitize=address,undefined" build/asan/test_c
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 ./build/asan/test_c --jobs=2

asan: all
	$(MAKE) B=build/asan CFLAGS="$(ASAN_FLAGS)" LDFLAGS="-fsanitize=address,undefined" build/asan/libljhttp.so build/asan/test_c
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 ./build/asan/test_c --jobs=2
	LJHTTP_LIBRARY=$(CURDIR)/build/asan/libljhttp.so LD_PRELOAD=$(ASAN_RT) \
	    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:detect_odr_violation=0 \
	    LSAN_OPTIONS=suppressions=$(CURDIR)/tests/asan.supp:print_suppressions=0 \
	    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	    $(LUAJIT) tests/lua/run.lua

# The Lua suite under valgrind's memcheck (slow: minutes). VALGRIND_TESTS
# picks test files by name ("reliability errors") for a shorter run.
valgrind: all
	LJHTTP_VALGRIND=1 valgrind --error-exitcode=99 --leak-check=full --show-leak-kinds=definite,indirect \
	    --errors-for-leak-kinds=definite,indirect --suppressions=$(CURDIR)/tests/valgrind.supp \
	    --trace-children=no $(LUAJIT) tests/lua/run.lua $(VALGRIND_TESTS)

# libFuzzer targets (fuzz/Makefile, clang): FUZZ_TIME seconds each.
FUZZ_TIME ?= 60
fuzz:
	$(MAKE) -f fuzz/Makefile FUZZ_TIME=$(FUZZ_TIME) fuzz

# 100,000 sequential requests and 100 batches of 1,000 against a private
# nginx, then the reliability group C at full counts (tests/soak/run.sh).
soak: all
	LUAJIT=$(LUAJIT) sh tests/soak/run.sh

clean:
	rm -rf build tests/c/layout_check.h

# The README's two commands in fresh minimal roots of Debian 13 and
# unstable (root and debootstrap needed): RELEASES="trixie" to pick.
RELEASES ?= trixie sid
test-platforms:
	sh tools/platforms.sh $(RELEASES)
