-- The loader's search, seen as each OS would see it: another ffi.os and
-- a fake file system are given through loader.search's context, so the
-- macOS and Windows lists run here; the real dlopen runs for Linux.
local T = require("support")
local loader = require("ljhttp.loader")
local R = require("reliability")

-- A view of a system where only the files in `present` exist; open()
-- succeeds for `good` and otherwise fails with a message naming the path.
local function view(os_name, present, good, env)
    local opened = {}
    env = env or {}
    return {
        os = os_name,
        arch = "x64",
        here = "/plug/lua/ljhttp",
        getenv = function(k)
            return env[k]
        end,
        exists = function(p)
            return present[p] == true
        end,
        open = function(p)
            opened[#opened + 1] = p
            if p == good then
                return "LIB"
            end
            return nil, "fake dlopen error for " .. p
        end,
        runtime_files = function()
            return {}
        end,
        cpath = "/cp/?.so;/cp/?.dylib;/cp/?.dll",
    }, opened
end

local function index_of(list, v)
    for i, x in ipairs(list) do
        if x == v then
            return i
        end
    end
    return nil
end

T.test("macOS: .dylib names in build/, Homebrew, MacPorts and Nix; no .so", function()
    local ctx = view("OSX", {}, nil, { HOME = "/Users/u" })
    local list = loader.candidates(ctx)
    for _, want in ipairs({ "/plug/lua/ljhttp/../../build/libljhttp.dylib",
        "/plug/lua/ljhttp/../../build/libljhttp.0.dylib", "/opt/homebrew/lib/libljhttp.dylib",
        "/usr/local/lib/libljhttp.dylib", "/opt/local/lib/libljhttp.0.dylib",
        "/Users/u/.nix-profile/lib/libljhttp.dylib", "/cp/ljhttp.dylib", "/cp/libljhttp.dylib" }) do
        T.ok(index_of(list, want), want .. " in " .. table.concat(list, " "))
    end
    T.ok(index_of(list, "/plug/lua/ljhttp/../../build/libljhttp.dylib")
        < index_of(list, "/opt/homebrew/lib/libljhttp.dylib"), "the plugin's build/ first")
    for _, p in ipairs(list) do
        T.not_contains(p, ".so", "a Linux name on macOS")
        T.not_contains(p, ".dll", "a Windows name on macOS")
    end
end)

T.test("Windows: ljhttp.dll and libljhttp.dll, next to the plugin and in MSYS2", function()
    local ctx = view("Windows", {}, nil, { MINGW_PREFIX = "D:/m64" })
    local list = loader.candidates(ctx)
    for _, want in ipairs({ "/plug/lua/ljhttp/../../build/ljhttp.dll",
        "/plug/lua/ljhttp/../../build/libljhttp.dll", "/plug/lua/ljhttp/../../../../bin/ljhttp.dll",
        "D:/m64/bin/ljhttp.dll", "C:/msys64/ucrt64/bin/ljhttp.dll", "C:/msys64/mingw64/bin/libljhttp.dll",
        "/cp/ljhttp.dll" }) do
        T.ok(index_of(list, want), want .. " in " .. table.concat(list, " "))
    end
    for _, p in ipairs(list) do
        T.match(p, "%.dll$", "only DLL names")
    end
    -- without MINGW_PREFIX that entry is left out, not "nil/bin"
    list = loader.candidates(view("Windows", {}))
    for _, p in ipairs(list) do
        T.not_contains(p, "nil", p)
        T.not_contains(p, "$", p)
    end
end)

T.test("Linux: libljhttp.so and libljhttp.so.0, the installed prefix and Neovim's runtimepath", function()
    local ctx = view("Linux", {})
    ctx.runtime_files = function(name)
        return { "/rtp/" .. name }
    end
    local list = loader.candidates(ctx)
    for _, want in ipairs({ "/plug/lua/ljhttp/../../build/libljhttp.so",
        "/plug/lua/ljhttp/../../build/libljhttp.so.0", "/plug/lua/ljhttp/../../../../lib/libljhttp.so",
        "/rtp/build/libljhttp.so", "/rtp/build/libljhttp.so.0", "/cp/ljhttp.so" }) do
        T.ok(index_of(list, want), want .. " in " .. table.concat(list, " "))
    end
    for _, p in ipairs(list) do
        T.not_contains(p, "dylib", p)
    end
end)

T.test("the first candidate that exists and opens is taken", function()
    local ctx, opened = view("OSX", { ["/opt/local/lib/libljhttp.dylib"] = true,
        ["/opt/homebrew/lib/libljhttp.0.dylib"] = true }, "/opt/local/lib/libljhttp.dylib")
    local lib, where = loader.search(nil, ctx)
    T.eq(lib, "LIB")
    T.eq(where, "/opt/local/lib/libljhttp.dylib")
    -- the Homebrew file came first, failed to open, and the search went on
    T.same(opened, { "/opt/homebrew/lib/libljhttp.0.dylib", "/opt/local/lib/libljhttp.dylib" })
end)

for _, case in ipairs({
    { os = "Linux", install = { "apt-get install", "libcurl4-openssl-dev" }, system = "libljhttp.so.0" },
    { os = "OSX", install = { "brew install", "port install" }, system = "libljhttp.0.dylib" },
    { os = "Windows", install = { "pacman -S", "vcpkg install" }, system = "ljhttp.dll" },
}) do
    T.test(case.os .. ": a failed search lists every path with its error and what to install", function()
        local ctx = view(case.os, {})
        local list = loader.candidates(ctx)
        local present = { [list[2]] = true }
        ctx = view(case.os, present)
        local lib, msg = loader.search(nil, ctx)
        T.is_nil(lib)
        T.is_type(msg, "string")
        for _, p in ipairs(list) do
            T.contains(msg, "\n  " .. p .. ": ", "every candidate is listed")
        end
        T.contains(msg, "\n  " .. list[2] .. ": fake dlopen error for " .. list[2], "the open error")
        T.contains(msg, "\n  " .. list[1] .. ": no such file")
        T.contains(msg, case.system .. " (system linker): fake dlopen error", "the bare name")
        for _, w in ipairs(case.install) do
            T.contains(msg, w)
        end
        T.contains(msg, "`make` in /plug")
        T.contains(msg, ":LjhttpBuild")
        T.contains(msg, "set LJHTTP_LIBRARY", "a search suggests the variable")
    end)
end

T.test("LJHTTP_LIBRARY: only that path is tried, and the advice says it failed", function()
    local ctx, opened = view("Windows", { ["/plug/lua/ljhttp/../../build/ljhttp.dll"] = true }, nil,
        { LJHTTP_LIBRARY = "C:/missing/ljhttp.dll" })
    local lib, msg = loader.search(nil, ctx)
    T.is_nil(lib)
    T.same(opened, { "C:/missing/ljhttp.dll" }, "nothing else is opened")
    T.contains(msg, "LJHTTP_LIBRARY=C:/missing/ljhttp.dll")
    T.contains(msg, "fake dlopen error for C:/missing/ljhttp.dll")
    T.contains(msg, "That path failed")
    T.contains(msg, "unset it")
    T.not_contains(msg, "set LJHTTP_LIBRARY to", "no advice to set what was set")
    T.contains(msg, "pacman -S", "still says what to install")
end)

T.test("Linux, real dlopen: a file that is not a library is listed with its error", function()
    local dir = T.tmpdir()
    T.sh("mkdir -p " .. T.shq(dir .. "/lua/ljhttp") .. " " .. T.shq(dir .. "/build"))
    T.write_file(dir .. "/build/libljhttp.so", "not an ELF file")
    local lib, msg = loader.search(nil, { os = "Linux", here = dir .. "/lua/ljhttp", cpath = "",
        getenv = function() return nil end,
        runtime_files = function() return {} end,
        open = function(p)
            -- this process has the library loaded: dlopen by soname would
            -- find it, so bare names are refused here
            if not p:find("/", 1, true) then
                return nil, "bare name not tried in this test"
            end
            return loader.open(p)
        end })
    T.is_nil(lib, "found " .. tostring(msg))
    local line = msg:match("\n  ([^\n]*/build/libljhttp%.so: [^\n]*)")
    T.not_nil(line, msg)
    T.not_contains(line, "no such file", "the file exists: dlopen's error, not ours")
    T.contains(msg, "`make` in " .. dir, "the checkout to build in")
end)

T.test("Linux, real dlopen: LJHTTP_LIBRARY pointing to a missing file names it", function()
    local missing = T.tmpdir() .. "/gone/libljhttp.so"
    local lib, msg = loader.search(nil, { getenv = function(k)
        return k == "LJHTTP_LIBRARY" and missing or nil
    end })
    T.is_nil(lib)
    T.contains(msg, "LJHTTP_LIBRARY=" .. missing)
    T.not_contains(msg, "set LJHTTP_LIBRARY to")
end)

T.test("loader.lib() is the handle the library was loaded as", function()
    local lib = T.ok(loader.lib())
    T.eq(lib, loader.load(), "load() with nothing new gives the same handle")
    T.match(loader.path() or "", "libljhttp")
end)

T.test("an attempt the loader's first places made is reported, not made again", function()
    local ctx, opened = view("Linux", { ["/plug/lua/ljhttp/../../build/libljhttp.so"] = true }, nil)
    local first = "/plug/lua/ljhttp/../../build/libljhttp.so"
    local lib, msg = loader.search(nil, ctx, { [first] = "the first attempt's error" })
    T.is_nil(lib)
    T.is_nil(index_of(opened, first), "opened again")
    T.contains(msg, first .. ": the first attempt's error")
    -- an explicit path: the same
    ctx, opened = view("Linux", {}, nil)
    lib, msg = loader.search("/x/libljhttp.so", ctx, { ["/x/libljhttp.so"] = "gone" })
    T.is_nil(lib)
    T.same(opened, {}, "nothing opened")
    T.contains(msg, "cannot load /x/libljhttp.so (Linux x64): gone")
end)

-- Runs code in a fresh luajit with this process's package.path; its output.
local function child(code, env)
    return (R.child(code, env))
end

T.test("Linux, real dlopen: a failing LJHTTP_LIBRARY is opened once per attempt", function()
    local missing = T.tmpdir() .. "/gone/libljhttp.so"
    local out = child([[
local ffi = require("ffi")
local loader = require("ljhttp.loader")
local load, opens = ffi.load, 0
ffi.load = function(...) opens = opens + 1 return load(...) end
local attempt, attempts = loader.load, 0
loader.load = function(...) attempts = attempts + 1 return attempt(...) end
local r, msg = require("ljhttp").get("http://127.0.0.1:1/")
io.write(opens, " ", attempts, " ", tostring(r), " ", msg:match("LJHTTP_LIBRARY=[^ ]*") or msg)
]], "LJHTTP_LIBRARY=" .. T.shq(missing))
    local opens, attempts, rest = out:match("^(%d+) (%d+) (.*)$")
    T.eq(rest, "nil LJHTTP_LIBRARY=" .. missing, out)
    T.ok(tonumber(attempts) >= 1, out)
    T.eq(opens, attempts, "ffi.load calls against load attempts")
end)

T.test("the search uses the loader as it is now, also after the loader was loaded again", function()
    local out = child([[
local search = require("ljhttp.libsearch")
package.loaded["ljhttp.loader"] = nil
local fresh = require("ljhttp.loader")
fresh.near_dirs = function() return { "/marker" } end
local list = search.candidates({ os = "Linux", here = "/x/lua/ljhttp", cpath = "",
    runtime_files = function() return {} end })
io.write(list[1])
]])
    T.eq(out, "/marker/libljhttp.so")
end)
