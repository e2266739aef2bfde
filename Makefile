# ljhttp: `make` builds build/libljhttp.so (what plugin managers run),
# `make test` runs every test, `make demo` shows it working.
# User CFLAGS/LDFLAGS are kept; ours come after pkg-config's.

CC      ?= cc
CFLAGS  ?= -O2 -g
LUAJIT  ?= luajit
PKGS    := libcurl libcjson

# The platform, from uname -s (or OS=Windows_NT): elf (Linux, the BSDs),
# darwin (macOS) or windows (MinGW/MSYS2). `make PLATFORM=...` overrides.
UNAME_S := $(shell uname -s 2>/dev/null)
ifeq ($(OS),Windows_NT)
PLATFORM ?= windows
else ifneq ($(filter MINGW% MSYS% CYGWIN%,$(UNAME_S)),)
PLATFORM ?= windows
else ifeq ($(UNAME_S),Darwin)
PLATFORM ?= darwin
else
PLATFORM ?= elf
endif

# macOS: pkg-config also looks in Homebrew's (arm64, x86_64; curl is
# keg-only there) and MacPorts' prefixes, whichever exist.
PKG_CONFIG ?= pkg-config
ifeq ($(PLATFORM),darwin)
MAC_PC := $(wildcard /opt/homebrew/opt/curl/lib/pkgconfig /usr/local/opt/curl/lib/pkgconfig \
            /opt/homebrew/lib/pkgconfig /usr/local/lib/pkgconfig /opt/local/lib/pkgconfig)
empty :=
PKG_ENV := PKG_CONFIG_PATH="$(subst $(empty) $(empty),:,$(strip $(PKG_CONFIG_PATH) $(MAC_PC)))"
endif
# (given on the command line, as tools/cross.sh does, they are taken as is)
ifndef PKG_CFLAGS
PKG_CFLAGS := $(shell $(PKG_ENV) $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
endif
ifndef PKG_LIBS
PKG_LIBS   := $(shell $(PKG_ENV) $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null)
endif

WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
        -Wpointer-arith -Wformat=2 -Wno-format-nonliteral

# B is the build directory: `make asan` builds a sanitized copy in build/asan.
B       ?= build
SONAME  := libljhttp.so.0
ifeq ($(PLATFORM),darwin)
# A real macOS build resolves libcurl and cJSON at link time.
LIB     := $(B)/libljhttp.dylib
LIB_LDFLAGS := -dynamiclib -Wl,-install_name,@rpath/libljhttp.0.dylib
SYS_LIBS := -lm
PIC     := -fPIC
else ifeq ($(PLATFORM),windows)
# Exports listed in a .def made from cdef/ljhttp.h (PE has no visibility);
# libljhttp.dll.a is the import library for C programs.
LIB     := $(B)/ljhttp.dll
LIB_LDFLAGS := -shared -Wl,--out-implib,$(B)/libljhttp.dll.a $(B)/ljhttp.def
SYS_LIBS := -lws2_32 -lbcrypt
PIC     :=
else
LIB     := $(B)/libljhttp.so
# -z nodelete: LuaJIT dlcloses the library when the Lua state closes;
# unmapping libcurl and its ~30 libraries cost a one-request script
# several ms at exit, and libcurl's global state is never cleaned up.
LIB_LDFLAGS := -shared -Wl,-soname,$(SONAME) -Wl,--no-undefined -Wl,-z,nodelete
# libm only where a call needs it (csrc/num.h): under dlopen every
# library the loader adds makes each of libcurl's symbol lookups longer.
SYS_LIBS := -lpthread -Wl,--as-needed -lm -Wl,--no-as-needed
PIC     := -fPIC
endif
LIB_CFLAGS := -std=c11 -D_GNU_SOURCE $(PIC) -fvisibility=hidden $(WARN) $(PKG_CFLAGS) $(CFLAGS)
SRCS    := $(wildcard csrc/*.c)
OBJS    := $(patsubst csrc/%.c,$(B)/obj/%.o,$(SRCS))
HDRS    := $(wildcard csrc/*.h) cdef/ljhttp.h
CDEF_LUA := lua/ljhttp/cdef.lua lua/ljhttp/cdef_ws.lua

C_TESTS := $(wildcard tests/c/test_*.c)

VERSION := 0.1.0
PREFIX  ?= /usr/local
LIBDIR  ?= $(PREFIX)/lib
LUADIR  ?= $(PREFIX)/share/lua/5.1
DATADIR ?= $(PREFIX)/share/ljhttp

.PHONY: FORCE all deps test test-cross test-c test-lua test-install test-hosts test-portable test-packaging demo bench bench-smoke clean install uninstall asan valgrind \
        test-asan-c fuzz soak test-platforms test-load

all: $(LIB) $(CDEF_LUA)

$(B)/obj/%.o: csrc/%.c $(HDRS) | $(B)/obj
	$(CC) $(LIB_CFLAGS) -c $< -o $@

$(LIB): $(OBJS) $(if $(filter windows,$(PLATFORM)),$(B)/ljhttp.def)
	$(CC) $(LIB_LDFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $(OBJS) $(PKG_LIBS) $(SYS_LIBS)

# The Lua modules loaded after the library, compiled by the build's own
# LuaJIT and embedded in it (csrc/bytecode.c; docs/abi.md, "Embedded
# bytecode"). Without that LuaJIT nothing is embedded: all load as source.
BC_LUA := $(filter-out lua/ljhttp/loader.lua $(CDEF_LUA) lua/ljhttp/types.lua, \
            $(wildcard lua/ljhttp/*.lua)) $(wildcard lua/ljhttp/hosts/*.lua)

$(B)/obj/bytecode.o: csrc/bytecode.c $(B)/bytecode_data.h $(HDRS) | $(B)/obj
	$(CC) $(LIB_CFLAGS) -DLJH_EMBED_BYTECODE -I$(B) -c $< -o $@

# Which LuaJIT compiles them: rewritten only when that changes (another
# LUAJIT, one installed since), so the bytecode is made again then.
$(B)/bytecode_luajit: FORCE | $(B)/obj
	@v="$$(command -v $(firstword $(LUAJIT)) 2>/dev/null && $(LUAJIT) -v 2>/dev/null)"; \
	if [ "$$v" != "$$(cat $@ 2>/dev/null)" ]; then printf '%s\n' "$$v" > $@; fi

FORCE:

$(B)/bytecode_data.h: $(BC_LUA) lua/ljhttp/loader.lua lua/ljhttp/cdef.lua tools/gen-bytecode.lua \
                      $(B)/bytecode_luajit | $(B)/obj
	if command -v $(firstword $(LUAJIT)) >/dev/null 2>&1; then \
	    $(LUAJIT) tools/gen-bytecode.lua $(BC_LUA) > $@.tmp; \
	else echo '/* no $(firstword $(LUAJIT)): nothing embedded */' > $@.tmp; fi && mv $@.tmp $@

$(B)/ljhttp.def: cdef/ljhttp.h | $(B)/obj
	{ echo EXPORTS; sed -n 's/^[^#/ ].*[ *]\(ljh_[a-z0-9_]*\)(.*/\1/p' cdef/ljhttp.h; } > $@

# The Lua side's copy of the declarations is generated, never edited: the
# core (cdef.lua) and one file per "cdef section" of the header.
lua/ljhttp/cdef.lua: cdef/ljhttp.h tools/gen-cdef.sh
	sh tools/gen-cdef.sh cdef/ljhttp.h > $@.tmp && mv $@.tmp $@

lua/ljhttp/cdef_%.lua: cdef/ljhttp.h tools/gen-cdef.sh
	sh tools/gen-cdef.sh cdef/ljhttp.h $* > $@.tmp && mv $@.tmp $@

$(B)/obj:
	mkdir -p $@

# Criterion tests link the objects directly so internals can be tested.
$(B)/test_c: $(C_TESTS) $(OBJS) tests/c/layout_check.h tests/c/loopback.h tests/c/test_str.h
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
	$(MAKE) test-cross
	$(MAKE) bench-smoke

# `make test` LOAD_RUNS times while a busy loop per core loads the machine.
LOAD_RUNS ?= 3
test-load:
	MAKE="$(MAKE)" sh tests/load.sh $(LOAD_RUNS)

# Every csrc/*.c compiled for macOS (arm64, x86_64) and Windows, and
# linked there (tools/cross.sh; installs its pinned compiler on demand).
# CROSS_SKIP="a.c b.c" leaves files out (while porting one; none today).
CROSS_SKIP ?=
test-cross:
	CROSS_SKIP="$(CROSS_SKIP)" MAKE="$(MAKE)" sh tools/cross.sh

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
ifeq ($(PLATFORM),darwin)
	install -m 755 $(LIB) $(DESTDIR)$(LIBDIR)/libljhttp.0.dylib
	ln -sf libljhttp.0.dylib $(DESTDIR)$(LIBDIR)/libljhttp.dylib
else ifeq ($(PLATFORM),windows)
	install -m 755 $(LIB) $(DESTDIR)$(LIBDIR)/ljhttp.dll
else
	install -m 755 $(LIB) $(DESTDIR)$(LIBDIR)/libljhttp.so.$(VERSION)
	ln -sf libljhttp.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/libljhttp.so
endif
	install -m 644 lua/ljhttp.lua $(DESTDIR)$(LUADIR)/ljhttp.lua
	install -m 644 lua/ljhttp/*.lua $(DESTDIR)$(LUADIR)/ljhttp/
	install -m 644 lua/ljhttp/hosts/*.lua $(DESTDIR)$(LUADIR)/ljhttp/hosts/
	install -m 644 cdef/ljhttp.h $(DESTDIR)$(DATADIR)/cdef/ljhttp.h
	install -m 644 csrc/ljhttp.h $(DESTDIR)$(DATADIR)/csrc/ljhttp.h

uninstall:
	rm -f $(DESTDIR)$(LIBDIR)/libljhttp.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$(SONAME) $(DESTDIR)$(LIBDIR)/libljhttp.so \
	    $(DESTDIR)$(LIBDIR)/libljhttp.0.dylib $(DESTDIR)$(LIBDIR)/libljhttp.dylib $(DESTDIR)$(LIBDIR)/ljhttp.dll
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
	LJHTTP_BACKEND=portable bash tests/openresty/run.sh

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
