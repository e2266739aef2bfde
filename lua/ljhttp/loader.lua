-- loader: declare the ABI (once per Lua state), find libljhttp, and hold
-- the one library handle every other file uses (M.lib()).
--
-- Search order: an explicit path (ljhttp.setup{library = ...} or the
-- LJHTTP_LIBRARY environment variable: only that file is tried), then
-- build/ next to this file's checkout, then an installed prefix, then
-- Neovim's runtimepath, then package.cpath, then the directories this
-- OS's package managers install into, then the system linker. Each OS
-- has its own file names (PLATFORMS); ffi.os decides which apply.
local ffi = require("ffi")

local M = {}

-- A second require (common while developing a Neovim plugin) must not
-- fail with "attempt to redefine".
local function declare()
    if pcall(ffi.typeof, "struct ljh_request") then
        return
    end
    ffi.cdef(require("ljhttp.cdef"))
end

-- Types are needed by encode/decode before any library is loaded.
declare()

-- The version these declarations describe, from the declarations
-- themselves: the library must report the same.
local ABI_VERSION = tonumber(ffi.C.LJH_ABI_VERSION)
M.ABI_VERSION = ABI_VERSION

-- Per ffi.os: the library's file names (what `make` writes first), the
-- directories package managers install into ("~" is $HOME, "$VAR/..."
-- an environment variable, skipped when unset), the bare names left to
-- the system linker, and the packages a build needs.
local PLATFORMS = {
    Linux = {
        names = { "libljhttp.so", "libljhttp.so.0" },
        dirs = { "/usr/local/lib", "~/.nix-profile/lib", "/run/current-system/sw/lib" },
        system = { "libljhttp.so.0", "libljhttp.so" },
        install = { "Debian/Ubuntu: sudo apt-get install make gcc pkg-config libcurl4-openssl-dev "
            .. "libcjson-dev" },
    },
    OSX = {
        names = { "libljhttp.dylib", "libljhttp.0.dylib" },
        dirs = { "/opt/homebrew/lib", "/usr/local/lib", "/opt/local/lib", "~/.nix-profile/lib",
            "/run/current-system/sw/lib", "/nix/var/nix/profiles/default/lib" },
        system = { "libljhttp.0.dylib", "libljhttp.dylib" },
        install = { "Homebrew: brew install make pkg-config curl cjson",
            "MacPorts: sudo port install gmake pkgconfig curl cjson" },
    },
    Windows = {
        names = { "ljhttp.dll", "libljhttp.dll" },
        dirs = { "$MINGW_PREFIX/bin", "C:/msys64/ucrt64/bin", "C:/msys64/mingw64/bin",
            "C:/msys64/clang64/bin" },
        system = { "ljhttp.dll", "libljhttp.dll" },
        install = { "MSYS2 (UCRT64 shell): pacman -S make mingw-w64-ucrt-x86_64-gcc "
            .. "mingw-w64-ucrt-x86_64-pkgconf mingw-w64-ucrt-x86_64-curl mingw-w64-ucrt-x86_64-cjson",
            "vcpkg: vcpkg install curl cjson (and a MinGW gcc and make)" },
    },
    BSD = {
        names = { "libljhttp.so", "libljhttp.so.0" },
        dirs = { "/usr/local/lib" },
        system = { "libljhttp.so.0", "libljhttp.so" },
        install = { "FreeBSD: pkg install gmake pkgconf curl libcjson" },
    },
}
PLATFORMS.POSIX, PLATFORMS.Other = PLATFORMS.BSD, PLATFORMS.Linux

--- The table of one OS (an ffi.os value; default: this one).
function M.platform(os_name)
    return PLATFORMS[os_name or ffi.os] or PLATFORMS.Other
end

local function file_exists(path)
    local f = io.open(path, "rb")
    if f then
        f:close()
        return true
    end
    return false
end

-- Directory of this file: .../lua/ljhttp
local function here()
    local src = debug.getinfo(1, "S").source
    if src:sub(1, 1) ~= "@" then
        return nil
    end
    return src:sub(2):match("^(.*)[/\\]") or "."
end

--- The checkout (or plugin directory) this file came from: the directory
--- above lua/ljhttp.
function M.root(dir)
    dir = dir or here()
    if not dir then
        return nil
    end
    local r = ("/" .. dir):match("^(.*)[/\\]lua[/\\]ljhttp$")
    if r then
        r = r:sub(2)
        return r == "" and "." or r
    end
    return dir .. "/../.."
end

local function nvim_runtime_files(name, first_only)
    local vim = rawget(_G, "vim")
    if vim and vim.api and vim.api.nvim_get_runtime_file then
        local ok, found = pcall(vim.api.nvim_get_runtime_file, name, not first_only)
        if ok then
            return found
        end
    end
    return {}
end

local function try_load(path)
    local ok, l = pcall(ffi.load, path)
    if not ok then
        return nil, tostring(l)
    end
    local ok2, abi = pcall(function()
        return l.ljh_abi_version()
    end)
    if not ok2 then
        return nil, path .. " is not libljhttp: " .. tostring(abi)
    end
    if abi ~= ABI_VERSION then
        return nil, string.format("%s has ABI version %d but this Lua code needs %d: rebuild "
            .. "the library (make) or update the Lua files", path, abi, ABI_VERSION)
    end
    return l
end
M.open = try_load

-- What the search looks at, each replaceable (the tests give another
-- OS's view): os, arch, here (false: unknown), getenv, exists(path),
-- open(path) -> lib | nil, message, runtime_files(name) -> paths, cpath.
local function context(ctx)
    ctx = ctx or {}
    local dir = ctx.here
    if dir == nil then
        dir = here()
    end
    return {
        os = ctx.os or ffi.os,
        arch = ctx.arch or ffi.arch,
        here = dir or nil,
        getenv = ctx.getenv or os.getenv,
        exists = ctx.exists or file_exists,
        open = ctx.open or try_load,
        runtime_files = ctx.runtime_files or nvim_runtime_files,
        cpath = ctx.cpath or package.cpath,
    }
end

--- The files the search tries, in order (without LJHTTP_LIBRARY, which
--- is tried alone, and the system linker's bare names).
---@param ctx? table
---@return string[]
function M.candidates(ctx)
    ctx = context(ctx)
    local p = M.platform(ctx.os)
    local list, seen = {}, {}
    local function add(path)
        if not seen[path] then
            seen[path] = true
            list[#list + 1] = path
        end
    end
    local function add_dir(dir)
        for _, n in ipairs(p.names) do
            add(dir .. "/" .. n)
        end
    end
    if ctx.here then
        add_dir(ctx.here .. "/../../build") -- a checkout or plugin: lua/ljhttp/ -> build/
        add_dir(ctx.here .. "/../../../../lib") -- installed: share/lua/5.1/ljhttp/ -> lib/
        if ctx.os == "Windows" then
            add_dir(ctx.here .. "/../../../../bin") -- where MinGW installs DLLs
        end
    end
    for _, n in ipairs(p.names) do
        for _, f in ipairs(ctx.runtime_files("build/" .. n)) do
            add(f)
        end
    end
    local ext = p.names[1]:match("%.%w+$")
    for pattern in ctx.cpath:gmatch("[^;]+") do
        if pattern:sub(-#ext) == ext then
            add((pattern:gsub("%?", "ljhttp")))
            add((pattern:gsub("%?", "libljhttp")))
        end
    end
    for _, d in ipairs(p.dirs) do
        local var, rest = d:match("^%$([%w_]+)(.*)$")
        if d:sub(1, 2) == "~/" then
            var, rest = "HOME", d:sub(2)
        end
        local base = var and ctx.getenv(var)
        if not var then
            add_dir(d)
        elseif base and base ~= "" then
            add_dir(base .. rest)
        end
    end
    return list
end

-- What to run to get a library, for this OS; with_variable: whether
-- setting LJHTTP_LIBRARY is worth suggesting (not when it just failed).
local function advice(ctx, with_variable)
    local p = M.platform(ctx.os)
    local root = ctx.here and M.root(ctx.here) or "the ljhttp directory"
    local lines = { "To build it, install a C compiler, make, pkg-config and the libcurl and cJSON "
        .. "development files:" }
    for _, l in ipairs(p.install) do
        lines[#lines + 1] = "  " .. l
    end
    lines[#lines + 1] = "then run `make` in " .. root .. " (in Neovim: :LjhttpBuild)"
        .. (with_variable and (", or set LJHTTP_LIBRARY to the path of a built " .. p.names[1]) or "")
        .. "."
    return table.concat(lines, "\n")
end

--- One search, without touching the loaded handle: the library and the
--- path it came from, or nil and a message that lists every path tried
--- with why it failed, and what to install for this OS.
---@param path? string an explicit file: only it is tried
---@param ctx? table another view of the system (tests)
function M.search(path, ctx)
    ctx = context(ctx)
    local env = ctx.getenv("LJHTTP_LIBRARY")
    if env == "" then
        env = nil
    end
    local where = ctx.os .. " " .. ctx.arch
    if path == nil and env then
        path = env
    end
    if path then
        -- an explicit choice: a missing or mismatched file is an error,
        -- never silently replaced by another library
        local l, err = ctx.open(path)
        if l then
            return l, path
        end
        local p = M.platform(ctx.os)
        local how = path == env
            and ("cannot load LJHTTP_LIBRARY=" .. path .. " (" .. where .. "): " .. err
                .. "\nThat path failed: point LJHTTP_LIBRARY at a built " .. p.names[1]
                .. ", or unset it to search the usual places.")
            or ("cannot load " .. path .. " (" .. where .. "): " .. err .. "\nGive the path of a "
                .. "built " .. p.names[1] .. ", or none to search the usual places.")
        return nil, "ljhttp: " .. how .. "\n" .. advice(ctx, false)
    end
    local tried = {}
    for _, p in ipairs(M.candidates(ctx)) do
        if ctx.exists(p) then
            local l, err = ctx.open(p)
            if l then
                return l, p
            end
            tried[#tried + 1] = "  " .. p .. ": " .. err
        else
            tried[#tried + 1] = "  " .. p .. ": no such file"
        end
    end
    for _, n in ipairs(M.platform(ctx.os).system) do
        local l, err = ctx.open(n)
        if l then
            return l, n .. " (system)"
        end
        tried[#tried + 1] = "  " .. n .. " (system linker): " .. err
    end
    return nil, "ljhttp: cannot load libljhttp (" .. where .. "); tried:\n"
        .. table.concat(tried, "\n") .. "\n" .. advice(ctx, true)
end

local lib, lib_path, load_error

-- Embedded bytecode (docs/abi.md, "Embedded bytecode"): once the library
-- is loaded, an "ljhttp.*" module loads from the bytecode compiled into it
-- only when this LuaJIT (version, arch, and the same dump of the probe
-- below) made it from exactly the file require would load; in any other
-- case from that file, as ever.
-- bytecode[name]: "bytecode", or why the source was loaded.
local bytecode = {}
-- Compiled, never run: its dump (string.dump, debug info kept) is this
-- LuaJIT's fingerprint. Builds that share a jit.version ("LuaJIT
-- 2.1.0-beta3" names years of them, and forks) may number opcodes
-- differently; then this dump differs from the one made at build time
-- (tools/gen-bytecode.lua dumps the same text), and no bytecode is used.
-- At most one constant key in a table constructor: several are dumped in
-- hash order, which changes from process to process.
M.BYTECODE_PROBE = [==[
local a, b, c = ...
local t = { 1, 2.5, "s", x = true, [a] = b }
for i = 1, #t do c = (c or 0) + i * 2 - 1 / 3 % 4 ^ 5 end
for k, v in pairs(t) do t[k] = v end
for k in next, t do c = k end
while a and not b or a == b or a ~= c or a < b or a <= c do a = nil end
repeat b = -b .. "x" until b
local function f(...) return select("#", ...), ... end
return f(a, b, c), function() a = t return a, t end, t.x, t[1], #t, ...
]==]

local BC_REASONS = { [-1] = "not embedded", [-2] = "compiled by another LuaJIT",
    [-3] = "source unreadable", [-4] = "source differs" }

-- The file require would load: Neovim's runtimepath comes first there.
local function source_path(name)
    local rel = "lua/" .. name:gsub("%.", "/") .. ".lua"
    local found = nvim_runtime_files(rel, true)[1]
    return found or package.searchpath(name, package.path)
end

-- Where the searcher goes: in front of the first loader that would load
-- an ljhttp file as source (LuaJIT's own searchers are C functions;
-- Neovim's runtimepath loaders live in its vim/ files). A loader of the
-- application's put before those stays before the searcher.
local function searcher_place(loaders)
    for i = 2, #loaders do
        local info = debug.getinfo(loaders[i], "S")
        local src = info.source or ""
        if info.what == "C" or src:find("vim/_init_packages.lua", 1, true)
            or src:find("vim/loader.lua", 1, true) then
            return i
        end
    end
    return #loaders + 1
end

local function install_bytecode()
    if os.getenv("LJHTTP_BYTECODE") == "0" then
        return
    end
    local jit = require("jit")
    local probe = string.dump(assert(loadstring(M.BYTECODE_PROBE, "=ljhttp bytecode probe")))
    local code = ffi.new("const char *[1]")
    local function searcher(name)
        if name:sub(1, 7) ~= "ljhttp." or not lib then
            return nil
        end
        local path = source_path(name)
        if not path then
            bytecode[name] = "no source file"
            return nil
        end
        local n = lib.ljh_bytecode_find(name, path, jit.version, jit.arch, probe, #probe, code)
        local fn = n > 0 and load(ffi.string(code[0], n), "=" .. name, "b")
        bytecode[name] = fn and "bytecode" or BC_REASONS[n] or "refused by load"
        return fn or nil
    end
    -- one searcher per Lua state, also when this file is loaded again
    local reg = debug.getregistry()
    for i = #package.loaders, 1, -1 do
        if package.loaders[i] == reg.ljhttp_bytecode_searcher then
            table.remove(package.loaders, i)
        end
    end
    reg.ljhttp_bytecode_searcher = searcher
    table.insert(package.loaders, searcher_place(package.loaders), searcher)
end

--- How module name was loaded since the library was: "bytecode", why the
--- source was loaded instead, or nil (not loaded since, or LJHTTP_BYTECODE=0).
function M.bytecode(name)
    return bytecode[name]
end

--- Loads the library from path, or searches; returns the namespace or
--- nil, message. The first success is kept for the life of the Lua state.
function M.load(path)
    if lib and (path == nil or path == lib_path) then
        return lib
    end
    if lib then
        return nil, "ljhttp: the library is already loaded from " .. lib_path
    end
    declare()
    local l, where = M.search(path)
    if not l then
        load_error = where
        return nil, where
    end
    lib, lib_path, load_error = l, where, nil
    install_bytecode()
    return lib
end

--- The library handle (loading it on first use), or nil, message: the
--- one way every file reaches the C functions.
function M.lib()
    if lib then
        return lib
    end
    return M.load()
end

function M.path()
    return lib_path
end

function M.error()
    return load_error
end

return M
