-- The ABI: one source for the declarations, safe re-requires, and a
-- loader that refuses what it cannot use.
local T = require("support")
local http = require("ljhttp")

-- The header's sections after the core ("/* cdef section: NAME"), in order.
local function cdef_sections(header)
    local names = {}
    for name in header:gmatch("\n/%* cdef section: ([%w_]+)") do
        names[#names + 1] = name
    end
    return names
end

-- A section's module (the loader's name for it) and its file under lua/.
local section_module = require("ljhttp.loader").section_module
local function section_file(name)
    return section_module(name):gsub("%.", "/") .. ".lua"
end

T.test("lua/ljhttp/cdef*.lua are cdef/ljhttp.h without its comments (tools/gen-cdef.sh)", function()
    local header = T.not_nil(T.read_file(T.root .. "/cdef/ljhttp.h"), "cdef/ljhttp.h")
    local sections = cdef_sections(header)
    T.ok(#sections >= 1, "the header has no cdef section")
    local all = {}
    for i, name in ipairs({ "core", unpack(sections) }) do
        local file = section_file(name)
        local made = T.capture("cd " .. T.shq(T.root) .. " && sh tools/gen-cdef.sh cdef/ljhttp.h " .. name)
        T.eq(T.read_file(T.root .. "/lua/" .. file), made, file .. " is stale (run make)")
        local text = assert(loadfile(T.root .. "/lua/" .. file))()
        T.is_type(text, "string")
        T.ok(not text:find("/*", 1, true), "a comment is left in " .. file)
        T.ok(#text > 100, file .. " is empty")
        T.eq(require(section_module(name)), text,
            "the module loaded by require: " .. file)
        all[i] = text
    end
    -- the same declarations: every word and symbol outside comments, in order
    local function words(s)
        return (s:gsub("/%*.-%*/", " "):gsub("%s+", " "):gsub("^ ", ""):gsub(" $", ""))
    end
    T.eq(words(table.concat(all, "\n")), words(header), "the declarations, all sections together")
end)

-- A new section needs a Makefile entry (CDEF_LUA, so make writes its
-- file) and a probe type in the loader (SECTION_TYPES, for declarations
-- an older loader made): both named here, each probe declared by its own
-- section's text.
T.test("every cdef section has its Makefile entry and the loader's probe type", function()
    local header = T.read_file(T.root .. "/cdef/ljhttp.h")
    local makefile = T.read_file(T.root .. "/Makefile")
    local cdef_lua = T.not_nil(makefile:match("\nCDEF_LUA :=([^\n]*)"), "CDEF_LUA in the Makefile")
    local probes = require("ljhttp.loader").SECTION_TYPES
    local names = { "core", unpack(cdef_sections(header)) }
    local seen = {}
    for _, name in ipairs(names) do
        seen[name] = true
        local file = "lua/" .. section_file(name)
        T.ok(cdef_lua:find(" " .. file, 1, true), file .. " is not in the Makefile's CDEF_LUA")
        local probe = T.not_nil(probes[name], "no SECTION_TYPES entry for " .. name)
        local text = require(section_module(name))
        local tag = probe:match("^struct (%S+)$")
        T.ok(tag and text:find("struct " .. tag .. " {", 1, true), probe .. " is not declared by " .. name)
    end
    for name in pairs(probes) do
        T.ok(seen[name], "SECTION_TYPES names a section the header lacks: " .. name)
    end
end)

T.test("ABI version of the library matches the loader's", function()
    local info = T.ok(http.info())
    T.eq(info.abi_version, require("ljhttp.loader").ABI_VERSION)
    T.is_type(info.curl_version, "string")
    T.is_type(info.library_version, "string")
    T.match(info.library_path or "", "libljhttp")
end)

T.test("re-requiring ljhttp 100 times does not raise, a request still works", function()
    T.ok(http.new()) -- http's ljhttp.client (loaded on first use) is among the modules put back
    local saved = {}
    for k, v in pairs(package.loaded) do
        if k == "ljhttp" or k:match("^ljhttp%.") then
            saved[k] = v
        end
    end
    local ok, err = pcall(function()
        for i = 1, 100 do
            package.loaded.ljhttp = nil
            if i % 2 == 0 then
                -- every other round: drop the submodules too, so the
                -- loader runs again (its declarations are remembered in
                -- the registry, per Lua state)
                for k in pairs(saved) do
                    package.loaded[k] = nil
                end
            end
            local m = require("ljhttp")
            T.is_type(m.get, "function")
        end
        local m = require("ljhttp")
        local r = T.res(200, m.get(T.url("/echo?after=reload")))
        T.eq(T.echo(r.body).query, "after=reload")
        -- the module loaded first still works too
        T.res(200, http.get(T.url("/echo")))
    end)
    for k in pairs(package.loaded) do
        if k == "ljhttp" or k:match("^ljhttp%.") then
            package.loaded[k] = nil
        end
    end
    for k, v in pairs(saved) do
        package.loaded[k] = v
    end
    T.ok(ok, tostring(err))
end)

T.test("loader.load of a missing file returns nil and a message", function()
    local loader = require("ljhttp.loader")
    local r = T.call(loader.load, "/nonexistent/libljhttp.so")
    T.is_nil(r[1])
    T.is_type(r[2], "string")
end)

-- A fresh luajit process, so the loader has not loaded anything yet.
local function fresh(env, code)
    local script = T.tmpfile("fresh.lua")
    T.write_file(script, "package.path = " .. string.format("%q", T.root .. "/lua/?.lua;") .. " .. package.path\n"
        .. code)
    return T.capture(env .. " luajit " .. T.shq(script) .. " 2>&1")
end

T.test("fresh process: loader.load of a missing path fails with a clear message", function()
    local out, ok = fresh("", [[
        local l = require("ljhttp.loader")
        local lib, err = l.load("/nonexistent/dir/libljhttp.so")
        print(lib == nil, err)
    ]])
    T.ok(ok, out)
    T.match(out, "^true")
    T.contains(out, "/nonexistent/dir/libljhttp.so")
end)

T.test("fresh process: LJHTTP_LIBRARY pointing to a missing file fails clearly", function()
    local out, ok = fresh("LJHTTP_LIBRARY=/nonexistent/dir/libljhttp.so", [[
        local http = require("ljhttp")
        local r, err, code = http.get("http://127.0.0.1:1/")
        print(r == nil, code)
        print(err)
    ]])
    T.ok(ok, "process failed (a raise?): " .. out)
    T.match(out, "^true%s+internal", "result")
    T.contains(out, "/nonexistent/dir/libljhttp.so", "message names the file")
end)

T.test("fresh process: a library with another ABI version is refused", function()
    local dir = T.tmpdir()
    local c_src = dir .. "/fake.c"
    local so = dir .. "/libfake_ljhttp.so"
    T.write_file(c_src, "int ljh_abi_version(void) { return 99; }\n")
    local _, built = T.capture("cc -shared -fPIC -o " .. T.shq(so) .. " " .. T.shq(c_src) .. " 2>&1")
    if not built then
        T.skip("no C compiler to build a fake library")
    end
    local out, ok = fresh("LJHTTP_LIBRARY=" .. T.shq(so), [[
        local l = require("ljhttp.loader")
        local lib, err = l.load(os.getenv("LJHTTP_LIBRARY"))
        print(lib == nil, err)
        local http = require("ljhttp")
        local r, err2, code = http.get("http://127.0.0.1:1/")
        print(r == nil, code, err2)
    ]])
    T.ok(ok, "process failed: " .. out)
    T.match(out, "^true[^\n]*ABI version 99", "loader.load")
    T.match(out, "\ntrue%s+internal[^\n]*ABI version 99", "request")
end)

T.test("fresh process: the library loads without LJHTTP_LIBRARY", function()
    local out, ok = fresh("env -u LJHTTP_LIBRARY", [[
        local http = require("ljhttp")
        local info = assert(http.info())
        print(info.abi_version)
    ]])
    T.ok(ok, out)
    T.match(out, "^%d+")
end)

T.test("fresh process: the WebSocket section is declared when ws.lua loads, and once", function()
    local out, ok = fresh("", [[
        local ffi = require("ffi")
        local loader = require("ljhttp.loader")
        assert(loader.lib())
        print("core", pcall(ffi.typeof, "struct ljh_request"))
        print("ws before", (pcall(ffi.typeof, "struct ljh_ws_state")))
        require("ljhttp.ws")
        print("ws after", (pcall(ffi.typeof, "struct ljh_ws_state")), tonumber(ffi.C.LJH_WS_CLOSED))
        loader.declare("ws")
        package.loaded["ljhttp.loader"], package.loaded["ljhttp.ws"] = nil, nil
        require("ljhttp.loader").declare("ws")
        require("ljhttp.ws")
        print("again ok")
    ]])
    T.ok(ok, "process failed: " .. out)
    T.match(out, "core%s+true")
    T.match(out, "ws before%s+false")
    T.match(out, "ws after%s+true%s+3")
    T.contains(out, "again ok")
end)

T.test("fresh process: declarations made without the loader's mark are taken as made", function()
    -- as a copy of the loader from before the registry mark would have
    -- left them: then require must not fail with "attempt to redefine"
    local out, ok = fresh("", [[
        local ffi = require("ffi")
        ffi.cdef(dofile(]] .. string.format("%q", T.root .. "/lua/ljhttp/cdef.lua") .. [[))
        ffi.cdef(dofile(]] .. string.format("%q", T.root .. "/lua/ljhttp/cdef_ws.lua") .. [[))
        local http = require("ljhttp")
        require("ljhttp.ws")
        print("info", http.info().abi_version == require("ljhttp.loader").ABI_VERSION)
    ]])
    T.ok(ok, "process failed: " .. out)
    T.match(out, "info%s+true")
end)

T.test("ljh_request: every string is an ljh_str, no length kept apart", function()
    local ffi = require("ffi")
    local r = ffi.new("ljh_request")
    for _, f in ipairs({ "method", "url", "query", "body", "user", "pass", "output", "body_file",
        "proxy", "proxy_user", "proxy_pass", "no_proxy", "ca_file", "ca_path", "client_cert",
        "client_key", "key_password", "pinned_public_key", "unix_socket" }) do
        T.ok(ffi.istype("ljh_str", r[f]), f .. " is an ljh_str")
        T.is_nil(ffi.offsetof("ljh_request", f .. "_len"), "no " .. f .. "_len field")
    end
    T.ok(ffi.istype("ljh_str", ffi.new("ljh_duration").str), "ljh_duration.str is an ljh_str")
end)

T.test("ljh_duration_ms is not part of the ABI (durations are converted inside C)", function()
    local ok = pcall(function()
        return require("ffi").C.ljh_duration_ms
    end)
    T.ok(not ok, "ljh_duration_ms is declared")
    T.ok(not require("ljhttp.cdef"):find("ljh_duration_ms", 1, true), "ljh_duration_ms in the cdef")
end)
