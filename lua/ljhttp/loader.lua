-- loader: declare the ABI (once per Lua state), find libljhttp, and hold
-- the one library handle every other file uses (M.lib()). The whole
-- search, with every place per OS and what a failure says, is in
-- libsearch.lua; this file, parsed by every require, tries only the
-- first places itself, and loads that one when they hold no library.
--
-- Search order: an explicit path (ljhttp.setup{library = ...} or the
-- LJHTTP_LIBRARY environment variable: only that file is tried), then
-- build/ next to this file's checkout, then an installed prefix, then
-- Neovim's runtimepath, then package.cpath, then the directories this
-- OS's package managers install into, then the system linker. Each OS
-- has its own file names (PLATFORMS); ffi.os decides which apply.
local ffi = require("ffi")

local M = {}

-- The declarations (cdef/ljhttp.h), once per Lua state: the core when
-- this file loads, a section (cdef_NAME.lua: "ws") when the first module
-- that needs it asks. The registry remembers, so a second require (common
-- while developing a Neovim plugin) does not fail with "attempt to
-- redefine", and nothing raises on the way (an error unwinds through
-- code a start-up would not otherwise touch). A state whose declarations
-- were made without that mark (by a copy of this file from before it)
-- is recognised by a type of the section.
local SECTION_TYPES = { core = "struct ljh_request", ws = "struct ljh_ws_state" }
M.SECTION_TYPES = SECTION_TYPES -- (test_abi.lua: one per section of the header)

-- The module that holds a section's declarations (lua/ljhttp/cdef.lua,
-- cdef_NAME.lua).
local function section_module(section)
    return section == "core" and "ljhttp.cdef" or "ljhttp.cdef_" .. section
end
M.section_module = section_module

local function declare(section)
    section = section or "core"
    local reg = debug.getregistry()
    local key = "ljhttp.cdef." .. section
    if reg[key] then
        return
    end
    local ok, err = pcall(ffi.cdef, require(section_module(section)))
    if not ok and not pcall(ffi.typeof, SECTION_TYPES[section]) then
        error(err, 0)
    end
    reg[key] = true
end
M.declare = declare

-- Types are needed by encode/decode before any library is loaded.
declare()

-- The version these declarations describe, from the declarations
-- themselves: the library must report the same.
local ABI_VERSION = tonumber(ffi.C.LJH_ABI_VERSION)
M.ABI_VERSION = ABI_VERSION

-- Per ffi.os: the library's file names, what `make` writes first first.
local NAMES = {
    Linux = { "libljhttp.so", "libljhttp.so.0" },
    OSX = { "libljhttp.dylib", "libljhttp.0.dylib" },
    Windows = { "ljhttp.dll", "libljhttp.dll" },
    BSD = { "libljhttp.so", "libljhttp.so.0" },
}
NAMES.POSIX, NAMES.Other = NAMES.BSD, NAMES.Linux
M.NAMES = NAMES

-- The places next to this file (dir), first in every search: a checkout
-- or plugin (lua/ljhttp/ -> build/), an installed tree
-- (share/lua/5.1/ljhttp/ -> lib/), and on Windows bin/, where MinGW
-- installs DLLs.
function M.near_dirs(dir, os_name)
    local list = { dir .. "/../../build", dir .. "/../../../../lib" }
    if os_name == "Windows" then
        list[3] = dir .. "/../../../../bin"
    end
    return list
end

local function file_exists(path)
    local f = io.open(path, "rb")
    if f then
        f:close()
        return true
    end
    return false
end

M.exists = file_exists

-- Directory of this file: .../lua/ljhttp
local function here()
    local src = debug.getinfo(1, "S").source
    if src:sub(1, 1) ~= "@" then
        return nil
    end
    return src:sub(2):match("^(.*)[/\\]") or "."
end
M.here = here

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
M.runtime_files = nvim_runtime_files

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

-- The search itself, its places and its OS tables (libsearch.lua).
local function libsearch()
    return require("ljhttp.libsearch")
end

--- The table of one OS (an ffi.os value; default: this one).
function M.platform(os_name)
    return libsearch().platform(os_name)
end

--- The checkout (or plugin directory) this file came from.
function M.root(dir)
    return libsearch().root(dir)
end

--- The files the search tries, in order (libsearch.lua).
---@param ctx? table
---@return string[]
function M.candidates(ctx)
    return libsearch().candidates(ctx)
end

--- One search, without touching the loaded handle: the library and the
--- path it came from, or nil and a message (libsearch.lua).
---@param path? string an explicit file: only it is tried
---@param ctx? table another view of the system (tests)
---@param done? table path -> error of an attempt already made
function M.search(path, ctx, done)
    return libsearch().search(path, ctx, done)
end

-- The search's first steps, when they find the library: the explicit
-- path (or LJHTTP_LIBRARY) when it loads, else the first of the places
-- next to this file that exists, when it loads. In every other case nil
-- (and the path tried, with its error): then M.search runs whole, in the
-- same order, without that path again, and says what failed.
local function quick(path)
    local env = os.getenv("LJHTTP_LIBRARY")
    if path == nil and env ~= nil and env ~= "" then
        path = env
    end
    if path then
        local l, err = try_load(path)
        return l, path, err
    end
    local dir = here()
    if not dir then
        return nil
    end
    local names = NAMES[ffi.os] or NAMES.Other
    local near = M.near_dirs(dir, ffi.os)
    for i = 1, #near do
        for j = 1, #names do
            local p = near[i] .. "/" .. names[j]
            if file_exists(p) then
                local l, err = try_load(p)
                return l, p, err
            end
        end
    end
    return nil
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
    local l, where, err = quick(path)
    if not l then
        l, where = M.search(path, nil, where and { [where] = err })
    end
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
