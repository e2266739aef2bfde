-- Embedded bytecode (docs/abi.md, "Embedded bytecode"): once the library
-- is loaded, ljhttp's modules load from the bytecode built into it, and
-- from their source whenever that bytecode might not be theirs or might
-- not run here: LJHTTP_BYTECODE=0, an edited or missing source file,
-- another LuaJIT, a library whose bytecode load() refuses or that embeds
-- none. Each case runs in a child process, as a script would.
local T = require("support")
local R = require("reliability")

local loader = require("ljhttp.loader")
local MODULES = { "ljhttp.client", "ljhttp.encode", "ljhttp.decode", "ljhttp.options",
    "ljhttp.protect", "ljhttp.hosts.luajit" }
-- a function each module defines itself (its chunk name is the module's)
local DEFINED = { ["ljhttp.client"] = "new", ["ljhttp.encode"] = "request", ["ljhttp.decode"] = "response",
    ["ljhttp.options"] = "unknown", ["ljhttp.protect"] = "require", ["ljhttp.hosts.luajit"] = "run" }

-- The fixture's /echo, quoted for a child's code.
local function url()
    return string.format("%q", T.url("/echo"))
end

-- A child's report: each module's loader.bytecode() and chunk name.
local function report_code()
    return [[
local http = require("ljhttp")
assert(http.get(]] .. url() .. [[).status_code == 200)
local L = require("ljhttp.loader")
for m, f in pairs({ ]] .. (function()
    local l = {}
    for _, m in ipairs(MODULES) do
        l[#l + 1] = string.format("[%q] = %q", m, DEFINED[m])
    end
    return table.concat(l, ", ")
end)() .. [[ }) do
    print(m .. " " .. tostring(L.bytecode(m)) .. " " .. debug.getinfo(require(m)[f], "S").source)
end
]]
end

local function report(out)
    local got = {}
    for m, status, source in out:gmatch("(ljhttp[%w.]*) ([^@\n]-) (@[^\n]*)") do
        got[m] = { status = status, source = source }
    end
    return got
end

local function library()
    local path = loader.path()
    if not path or path:sub(1, 1) ~= "/" then
        T.skip("the library was not loaded from an absolute path")
    end
    return path
end

-- A copy of lua/ in a fresh directory, for children to load instead.
local function copy_tree(name)
    local dir = T.tmpfile(name)
    T.ok(T.sh("rm -rf " .. T.shq(dir) .. " && mkdir -p " .. T.shq(dir) .. " && cp -R "
        .. T.shq(T.root .. "/lua") .. " " .. T.shq(dir .. "/lua")), "copying lua/")
    return dir
end

-- A child whose only ljhttp is dir/lua (and the library loaded here).
local function child_in(dir, code, env)
    local out, ok = R.child("package.path = " .. string.format("%q", dir .. "/lua/?.lua")
        .. "\n" .. code, "LJHTTP_LIBRARY=" .. T.shq(library()) .. " " .. (env or ""))
    T.ok(ok, "the child failed: " .. out)
    return out
end

T.test("after the library, a request's modules come from the embedded bytecode, named lua/ljhttp/*.lua", function()
    local out, ok = R.child(report_code())
    T.ok(ok, "the child failed: " .. out)
    local got = report(out)
    for _, m in ipairs(MODULES) do
        T.eq(got[m] and got[m].status, "bytecode", m .. " in:\n" .. out)
        T.eq(got[m].source, "@lua/" .. m:gsub("%.", "/") .. ".lua", m .. "'s chunk name")
    end
end)

T.test("modules loaded later (json, engine) come from bytecode too; a second require loads no more", function()
    local out, ok = R.child([[
local http = require("ljhttp")
local L = require("ljhttp.loader")
local c = assert(http.new())
assert(http.json.encode({ 1 }) == "[1]")
local r = assert(c:get_async(]] .. url() .. [[):wait())
package.loaded.ljhttp = nil
local again = require("ljhttp")
assert(again.get(]] .. url() .. [[).status_code == 200 and r.status_code == 200)
print("json " .. tostring(L.bytecode("ljhttp.json")) .. " engine " .. tostring(L.bytecode("ljhttp.engine"))
    .. " handle " .. tostring(L.bytecode("ljhttp.handle")) .. " async " .. tostring(L.bytecode("ljhttp.client_async")))
local n = 0
for _, f in ipairs(package.loaders) do
    if f == debug.getregistry().ljhttp_bytecode_searcher then n = n + 1 end
end
print("searchers " .. n)
]])
    T.ok(ok, "the child failed: " .. out)
    T.contains(out, "json bytecode engine bytecode handle bytecode async bytecode")
    T.contains(out, "searchers 1")
end)

T.test("errors and tracebacks from bytecode name the file and the line the source would", function()
    local code = [[
local http = require("ljhttp")
assert(http.get(]] .. url() .. [[).status_code == 200)
local options = require("ljhttp.options")
local ok, err = xpcall(function() return options.unknown(5) end, debug.traceback)
print(require("ljhttp.loader").bytecode("ljhttp.options"))
print(err)
]]
    local out, ok = R.child(code)
    T.ok(ok, "the child failed: " .. out)
    local line = out:match("^bytecode\nlua/ljhttp/options%.lua:(%d+):")
    T.ok(line, "no file:line in the message:\n" .. out)
    T.match(out, "\n%s*lua/ljhttp/options%.lua:%d+: in function", "no file:line in the traceback")
    local src = R.child(code, "LJHTTP_BYTECODE=0")
    T.contains(src, "/lua/ljhttp/options.lua:" .. line .. ":", "the source's message")
end)

T.test("LJHTTP_BYTECODE=0 loads every module from its source file", function()
    local out, ok = R.child(report_code(), "LJHTTP_BYTECODE=0")
    T.ok(ok, "the child failed: " .. out)
    local got = report(out)
    for _, m in ipairs(MODULES) do
        T.eq(got[m] and got[m].status, "nil", m)
        T.eq(got[m].source, "@" .. T.root .. "/lua/" .. m:gsub("%.", "/") .. ".lua", m .. "'s chunk name")
    end
end)

T.test("an edited source file is loaded as edited; the unedited ones still from bytecode", function()
    local dir = copy_tree("bc_edited")
    local file = dir .. "/lua/ljhttp/options.lua"
    local src = T.read_file(file)
    local edited = src:gsub("\nreturn M%s*$", "\nM.edited = true\nreturn M\n")
    T.ne(edited, src, "the edit")
    T.write_file(file, edited)
    local out = child_in(dir, report_code() .. 'print("edited " .. tostring(require("ljhttp.options").edited))\n')
    local got = report(out)
    T.eq(got["ljhttp.options"] and got["ljhttp.options"].status, "source differs", out)
    T.eq(got["ljhttp.options"].source, "@" .. file)
    T.contains(out, "edited true")
    T.eq(got["ljhttp.client"].status, "bytecode", "the unedited client")
end)

-- The check reads each file in 16 KiB pieces until a short one:
-- client.lua padded to exactly two pieces ends on an empty read, encode.lua
-- grows by a line; both differ, and decode.lua beside them still loads
-- from bytecode.
T.test("a source padded to 32 KiB or grown by a line is loaded from source", function()
    local dir = copy_tree("bc_lengths")
    local client, encode = dir .. "/lua/ljhttp/client.lua", dir .. "/lua/ljhttp/encode.lua"
    local src = T.read_file(client) .. "-- "
    T.ok(#src > 16384 and #src < 32768, "client.lua spans two pieces")
    T.write_file(client, src .. string.rep("x", 32767 - #src) .. "\n")
    T.eq(#T.read_file(client), 32768, "padded")
    T.write_file(encode, T.read_file(encode) .. "-- grown\n")
    local out = child_in(dir, report_code())
    local got = report(out)
    T.eq(got["ljhttp.client"] and got["ljhttp.client"].status, "source differs", out)
    T.eq(got["ljhttp.encode"] and got["ljhttp.encode"].status, "source differs", out)
    T.eq(got["ljhttp.decode"] and got["ljhttp.decode"].status, "bytecode", out)
end)

T.test("a missing source file is not replaced by the embedded bytecode", function()
    local dir = copy_tree("bc_missing")
    T.ok(os.remove(dir .. "/lua/ljhttp/links.lua"))
    local out = child_in(dir, [[
assert(require("ljhttp").get(]] .. url() .. [[).status_code == 200)
local ok, err = pcall(require, "ljhttp.links")
print("loaded " .. tostring(ok) .. " " .. tostring(require("ljhttp.loader").bytecode("ljhttp.links")))
print(err)
]])
    T.contains(out, "loaded false no source file")
    T.contains(out, "module 'ljhttp.links' not found")
end)

-- A build with the same jit.version and arch whose compiler differs (a
-- fork, or another year's "2.1.0-beta3") dumps the loader's probe chunk
-- differently: here string.dump is made to say so.
local OTHER_COMPILER = {
    version = "jit.version = 'other'",
    arch = "jit.arch = 'other'",
    probe = "local dump = string.dump\nstring.dump = function(f) return dump(f) .. 'x' end",
}

T.test("another LuaJIT (version, arch or its dump of the probe) loads the sources", function()
    for what, code in pairs(OTHER_COMPILER) do
        local out, ok = R.child(code .. "\n" .. report_code())
        T.ok(ok, "the child failed: " .. out)
        local got = report(out)
        for _, m in ipairs(MODULES) do
            T.eq(got[m] and got[m].status, "compiled by another LuaJIT", what .. ": " .. m)
        end
    end
end)

-- Reading http.json loads no library: http.setup{library = ...} may still
-- follow (before, the library searched for by default was kept, and the
-- setup failed with "already loaded").
T.test("http.json before http.setup{library}: the setup still chooses the library", function()
    local copy = T.tmpfile("libljhttp_copy.so")
    T.ok(T.sh("cp " .. T.shq(library()) .. " " .. T.shq(copy)))
    local out, ok = R.child([[
local http = require("ljhttp")
local json = http.json
print("setup", http.setup({ library = ]] .. string.format("%q", copy) .. [[ }))
print("path " .. tostring(require("ljhttp.loader").path()))
assert(http.get(]] .. url() .. [[).status_code == 200)
assert(json.encode({ 1 }) == "[1]")
]])
    T.ok(ok, "the child failed: " .. out)
    T.contains(out, "setup\ttrue")
    T.contains(out, "path " .. copy)
end)

-- A loader the application put before LuaJIT's own searchers keeps its
-- place: the bytecode searcher goes after it.
T.test("a loader put in front by the application stays in front of the bytecode searcher", function()
    local out, ok = R.child([[
table.insert(package.loaders, 2, function(name)
    if name == "ljhttp.links" then
        return function() return { patched = true } end
    end
end)
local http = require("ljhttp")
assert(http.get(]] .. url() .. [[).status_code == 200)
print("links " .. tostring(require("ljhttp.links").patched))
print("client " .. tostring(require("ljhttp.loader").bytecode("ljhttp.client")))
]])
    T.ok(ok, "the child failed: " .. out)
    T.contains(out, "links true")
    T.contains(out, "client bytecode")
end)

-- Libraries that differ only in what they embed: the build's objects
-- copied (timestamps kept), so make compiles bytecode.o and links.
local function build_with(name, luajit)
    local real = T.capture("readlink -f " .. T.shq(library()))
    if real ~= T.capture("readlink -f " .. T.shq(T.root .. "/build/libljhttp.so")) then
        T.skip("the library is not build/libljhttp.so (`make asan` runs another)")
    end
    local b = T.tmpfile(name)
    T.ok(T.sh("rm -rf " .. T.shq(b) .. " && mkdir -p " .. T.shq(b) .. " && cp -p -R "
        .. T.shq(T.root .. "/build/obj") .. " " .. T.shq(b .. "/obj")), "copying the objects")
    local out, ok = T.capture("make -s -C " .. T.shq(T.root) .. " B=" .. T.shq(b) .. " LUAJIT="
        .. T.shq(luajit) .. " " .. T.shq(b .. "/libljhttp.so") .. " 2>&1")
    T.ok(ok, "make: " .. out)
    return b .. "/libljhttp.so"
end

T.test("a library whose bytecode load() refuses, or that embeds none, leaves the sources in use", function()
    local wrapper, prelude = T.tmpfile("bc_truncating_luajit"), T.tmpfile("bc_truncating.lua")
    -- a LuaJIT whose string.dump drops the end of every module's chunk
    -- (the probe chunk, named "=...", stays whole: the compiler is this one)
    T.write_file(prelude, "local d = string.dump\nstring.dump = function(f)\n"
        .. "    local s = d(f)\n"
        .. "    if debug.getinfo(f, 'S').source:sub(1, 1) == '@' then s = s:sub(1, #s - 16) end\n"
        .. "    return s\nend\n")
    T.write_file(wrapper, "#!/bin/sh\nexec luajit -e 'dofile(\"" .. prelude .. "\")' \"$@\"\n")
    T.ok(T.sh("chmod +x " .. T.shq(wrapper)))
    local cases = {
        { build_with("bc_truncated", wrapper), "refused by load" },
        { build_with("bc_none", "no-such-luajit-here"), "not embedded" },
    }
    for _, case in ipairs(cases) do
        local out, ok = R.child("package.path = " .. string.format("%q", T.root .. "/lua/?.lua;")
            .. " .. package.path\n" .. report_code(), "LJHTTP_LIBRARY=" .. T.shq(case[1]))
        T.ok(ok, "the child failed: " .. out)
        local got = report(out)
        for _, m in ipairs(MODULES) do
            T.eq(got[m] and got[m].status, case[2], case[1] .. ": " .. m)
            T.eq(got[m].source, "@" .. T.root .. "/lua/" .. m:gsub("%.", "/") .. ".lua")
        end
    end
end)

-- LuaJIT's bytecode dump keeps only the constant values of a table
-- constructor's template: a key whose value is computed is dropped, so
-- the table made from the loaded bytecode starts smaller than the one
-- made from source and rehashes as it is filled (about 6k instructions
-- per response for the response table). The modules that build a table
-- per request or per event put constants in their constructors and the
-- values after. Checked here on each constructor in those modules: every
-- key its stores name that the source's template holds (next() accepts a
-- key only when the table has it, even with a nil value) is also in the
-- dumped one. A module's main chunk runs once and is not checked.
local PER_REQUEST = { "decode", "encode", "handle", "client_async", "stream", "sse", "sse_stream",
    "lines", "links", "hosts/luajit", "hosts/nvim", "hosts/openresty" }

T.test("per-request constructors keep their keys in the bytecode (no rehash while filling them)", function()
    local okv, vmdef = pcall(require, "jit.vmdef")
    if not okv then
        T.skip("this LuaJIT has no jit.vmdef to name its opcodes")
    end
    local jutil, bit = require("jit.util"), require("bit")
    local function op(ins)
        local o = bit.band(ins, 0xff)
        return (vmdef.bcnames:sub(o * 6 + 1, o * 6 + 6):gsub(" ", ""))
    end
    local function has(t, k)
        return (pcall(next, t, k))
    end
    local lost = {}
    -- src and dumped: the same prototype, compiled and loaded from a dump
    local function check(src, dumped, file, main)
        local pc = 1
        while not main and jutil.funcbc(src, pc) do
            local ins = jutil.funcbc(src, pc)
            if op(ins) == "TDUP" then
                local a, d = bit.band(bit.rshift(ins, 8), 0xff), bit.rshift(ins, 16)
                local ts, td = jutil.funck(src, -d - 1), jutil.funck(dumped, -d - 1)
                local q = pc + 1
                while jutil.funcbc(src, q) do
                    local i2 = jutil.funcbc(src, q)
                    local o2, a2 = op(i2), bit.band(bit.rshift(i2, 8), 0xff)
                    if (o2 == "TDUP" or o2 == "TNEW") and a2 == a then
                        break -- the register holds another table from here
                    end
                    local b, c = bit.rshift(i2, 24), bit.band(bit.rshift(i2, 16), 0xff)
                    local key
                    if o2 == "TSETS" and b == a then
                        key = jutil.funck(src, -c - 1)
                    elseif o2 == "TSETB" and b == a then
                        key = c
                    end
                    if key ~= nil and has(ts, key) and not has(td, key) then
                        lost[#lost + 1] = ("%s:%d %s"):format(file, jutil.funcinfo(src, pc).currentline, key)
                    end
                    q = q + 1
                end
            end
            pc = pc + 1
        end
        local k = -1
        while jutil.funck(src, k) ~= nil do
            local p = jutil.funck(src, k)
            if type(p) == "proto" then
                check(p, jutil.funck(dumped, k), file, false)
            end
            k = k - 1
        end
    end
    for _, m in ipairs(PER_REQUEST) do
        local file = T.root .. "/lua/ljhttp/" .. m .. ".lua"
        local src = assert(loadfile(file))
        check(src, assert(loadstring(string.dump(src))), "lua/ljhttp/" .. m .. ".lua", true)
    end
    T.eq(table.concat(lost, "\n"), "", "constructors whose keys the dump drops")
end)

-- Two builds of one tree embed the same bytes where LuaJIT can dump in a
-- fixed order (string.dump(f, "d"), LuaJIT from 2023 on; Debian 13 and
-- later). Older ones write constant tables in hash order, which changes
-- from process to process (docs/abi.md).
T.test("where LuaJIT dumps deterministically, two builds of the bytecode are the same bytes", function()
    local cmd = "cd " .. T.shq(T.root) .. " && " .. (os.getenv("LJHTTP_LUAJIT") or "luajit")
        .. " tools/gen-bytecode.lua lua/ljhttp/options.lua lua/ljhttp/decode.lua lua/ljhttp/client.lua"
    local a, ok_a = T.capture(cmd)
    local b, ok_b = T.capture(cmd)
    T.ok(ok_a and ok_b, "gen-bytecode failed:\n" .. a .. b)
    if not a:find("Deterministic dump.", 1, true) then
        T.skip("this LuaJIT has no deterministic string.dump (it reads the mode as strip)")
    end
    T.match(a, "static const char ljh_bc_3%[%]", "three modules dumped")
    T.ok(a == b, "the two dumps differ")
end)
