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

SONAME  := libljhttp.so.0
LIB     := build/libljhttp.so
SRCS    := $(wildcard csrc/*.c)
OBJS    := $(patsubst csrc/%.c,build/obj/%.o,$(SRCS))
HDRS    := $(wildcard csrc/*.h) cdef/ljhttp.h
CDEF_LUA := lua/ljhttp/cdef.lua

C_TESTS := $(wildcard tests/c/test_*.c)

VERSION := 0.1.0
PREFIX  ?= /usr/local
LIBDIR  ?= $(PREFIX)/lib
LUADIR  ?= $(PREFIX)/share/lua/5.1
DATADIR ?= $(PREFIX)/share/ljhttp

.PHONY: all deps test test-c test-lua test-install demo bench bench-smoke clean install uninstall

all: $(LIB) $(CDEF_LUA)

build/obj/%.o: csrc/%.c $(HDRS) | build/obj
	$(CC) $(LIB_CFLAGS) -c $< -o $@

$(LIB): $(OBJS)
	$(CC) -shared -Wl,-soname,$(SONAME) -Wl,--no-undefined $(CFLAGS) $(LDFLAGS) -o $@ $(OBJS) $(PKG_LIBS) -lpthread -lm

# The Lua side's copy of the declarations is generated, never edited.
$(CDEF_LUA): cdef/ljhttp.h tools/gen-cdef.sh
	sh tools/gen-cdef.sh cdef/ljhttp.h > $@.tmp && mv $@.tmp $@

build/obj:
	mkdir -p $@

# Criterion tests link the objects directly so internals can be tested.
build/test_c: $(C_TESTS) $(OBJS) tests/c/layout_check.h
	$(CC) -std=c11 -D_GNU_SOURCE $(WARN) -Wno-missing-prototypes -Icsrc -Itests/c $(PKG_CFLAGS) $(CFLAGS) \
	    -o $@ $(C_TESTS) $(OBJS) $(PKG_LIBS) -lcriterion -lpthread -lm

tests/c/layout_check.h: cdef/ljhttp.h tests/lua/gen_layout.lua $(CDEF_LUA)
	$(LUAJIT) tests/lua/gen_layout.lua > $@.tmp && mv $@.tmp $@

deps:
	@sh tools/deps.sh test

test: deps
	$(MAKE) all
	$(MAKE) test-c
	$(MAKE) test-lua
	$(MAKE) test-install
	$(MAKE) bench-smoke

test-c: build/test_c
	./build/test_c --jobs=2

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

clean:
	rm -rf build tests/c/layout_check.h
