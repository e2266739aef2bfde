package = "ljhttp"
version = "0.1.0-1"
source = {
   url = "git+https://example.invalid/ljhttp.git",
   tag = "v0.1.0",
}
description = {
   summary = "gluahttp's HTTP client API for LuaJIT, on libcurl through the FFI",
   detailed = [[
ljhttp is an HTTP client for LuaJIT, Neovim plugins and OpenResty: the
API of gluahttp (GopherLua's http module), clients with keep-alive and
cookie jars, non-blocking requests, safe defaults, at libcurl's speed.
It needs LuaJIT (it uses the FFI), libcurl and cJSON.
]],
   license = "MIT",
}
dependencies = {
   "lua == 5.1",
}
-- libcurl and cJSON are found by the Makefile through pkg-config
-- (Debian: libcurl4-openssl-dev, libcjson-dev).
build = {
   type = "make",
   build_target = "all",
   install_target = "install",
   -- The loader finds the library through package.cpath: LIBDIR is the
   -- rock tree's lib/lua/5.1.
   install_variables = {
      PREFIX = "$(PREFIX)",
      LIBDIR = "$(LIBDIR)",
      LUADIR = "$(LUADIR)",
      DATADIR = "$(PREFIX)/share",
   },
   build_variables = {
      CFLAGS = "$(CFLAGS)",
   },
}
