-- libsearch: the places libljhttp may be, per OS, and the search that
-- tries each of them in order (loader.lua's M.search). loader.lua tries
-- the first places itself; this file is loaded when none of those holds
-- a library that loads, and for the list itself (tests, :checkhealth).
local ffi = require("ffi")

-- The loader of this Lua state as it is now: one reloaded while a plugin
-- is developed is a new table, and this file may have stayed loaded.
local function loader()
    return package.loaded["ljhttp.loader"] or require("ljhttp.loader")
end

local M = {}
local NAMES = loader().NAMES

-- Per ffi.os: the library's file names (loader.lua's NAMES), the
-- directories package managers install into ("~" is $HOME, "$VAR/..."
-- an environment variable, skipped when unset), the bare names left to
-- the system linker, and the packages a build needs.
local PLATFORMS = {
    Linux = {
        names = NAMES.Linux,
        dirs = { "/usr/local/lib", "~/.nix-profile/lib", "/run/current-system/sw/lib" },
        system = { "libljhttp.so.0", "libljhttp.so" },
        install = { "Debian/Ubuntu: sudo apt-get install make gcc pkg-config libcurl4-openssl-dev "
            .. "libcjson-dev" },
    },
    OSX = {
        names = NAMES.OSX,
        dirs = { "/opt/homebrew/lib", "/usr/local/lib", "/opt/local/lib", "~/.nix-profile/lib",
            "/run/current-system/sw/lib", "/nix/var/nix/profiles/default/lib" },
        system = { "libljhttp.0.dylib", "libljhttp.dylib" },
        install = { "Homebrew: brew install make pkg-config curl cjson",
            "MacPorts: sudo port install gmake pkgconfig curl cjson" },
    },
    Windows = {
        names = NAMES.Windows,
        dirs = { "$MINGW_PREFIX/bin", "C:/msys64/ucrt64/bin", "C:/msys64/mingw64/bin",
            "C:/msys64/clang64/bin" },
        system = { "ljhttp.dll", "libljhttp.dll" },
        install = { "MSYS2 (UCRT64 shell): pacman -S make mingw-w64-ucrt-x86_64-gcc "
            .. "mingw-w64-ucrt-x86_64-pkgconf mingw-w64-ucrt-x86_64-curl mingw-w64-ucrt-x86_64-cjson",
            "vcpkg: vcpkg install curl cjson (and a MinGW gcc and make)" },
    },
    BSD = {
        names = NAMES.BSD,
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

--- The checkout (or plugin directory) this file came from: the directory
--- above lua/ljhttp.
function M.root(dir)
    dir = dir or loader().here()
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

-- What the search looks at, each replaceable (the tests give another
-- OS's view): os, arch, here (false: unknown), getenv, exists(path),
-- open(path) -> lib | nil, message, runtime_files(name) -> paths, cpath.
local function context(ctx)
    ctx = ctx or {}
    local dir = ctx.here
    if dir == nil then
        dir = loader().here()
    end
    return {
        os = ctx.os or ffi.os,
        arch = ctx.arch or ffi.arch,
        here = dir or nil,
        getenv = ctx.getenv or os.getenv,
        exists = ctx.exists or loader().exists,
        open = ctx.open or loader().open,
        runtime_files = ctx.runtime_files or loader().runtime_files,
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
        for _, d in ipairs(loader().near_dirs(ctx.here, ctx.os)) do
            add_dir(d)
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
function M.search(path, ctx, done)
    ctx = context(ctx)
    -- done[p]: the error of an attempt the caller made already (the
    -- loader's first places): reported, not repeated
    local function open(p)
        local err = done and done[p]
        if err then
            return nil, err
        end
        return ctx.open(p)
    end
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
        local l, err = open(path)
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
            local l, err = open(p)
            if l then
                return l, p
            end
            tried[#tried + 1] = "  " .. p .. ": " .. err
        else
            tried[#tried + 1] = "  " .. p .. ": no such file"
        end
    end
    for _, n in ipairs(M.platform(ctx.os).system) do
        local l, err = open(n)
        if l then
            return l, n .. " (system)"
        end
        tried[#tried + 1] = "  " .. n .. " (system linker): " .. err
    end
    return nil, "ljhttp: cannot load libljhttp (" .. where .. "); tried:\n"
        .. table.concat(tried, "\n") .. "\n" .. advice(ctx, true)
end

return M
