-- Start-up pays only for what a request needs (issue 19): a script that
-- requires ljhttp and makes one plain request loads neither the JSON,
-- Link-header nor body-encoding module, nor the async engine (engine.lua,
-- handle.lua) and request_async/request_batch (client_async.lua), and each
-- loads on first use. The library is linked -z nodelete, so a script's
-- exit does not unmap libcurl and its libraries.
local T = require("support")
local R = require("reliability")

T.test("require + one request: json, links and bodies are not loaded until used", function()
    local out, ok = R.child([[
local http = require("ljhttp")
local r = assert(http.get(]] .. string.format("%q", T.url("/echo")) .. [[))
assert(r.status_code == 200)
local function loaded(m) return package.loaded[m] ~= nil and "yes" or "no" end
print("after get: json " .. loaded("ljhttp.json") .. " links " .. loaded("ljhttp.links")
    .. " bodies " .. loaded("ljhttp.bodies"))
assert(http.json.encode({ 1 }) == "[1]")
local q = assert(http.get(]] .. string.format("%q", T.url("/echo")) .. [[, { query = { a = "b" } }))
print("after use: json " .. loaded("ljhttp.json") .. " bodies " .. loaded("ljhttp.bodies")
    .. " query " .. tostring(q.url:find("a=b", 1, true) ~= nil))
]])
    T.ok(ok, "the child failed: " .. out)
    T.contains(out, "after get: json no links no bodies no")
    T.contains(out, "after use: json yes bodies yes query true")
end)

T.test("blocking requests, run() and close(): engine.lua, handle.lua and client_async.lua load only on the first async request", function()
    local url = string.format("%q", T.url("/echo"))
    local out, ok = R.child([[
local http = require("ljhttp")
local c = assert(http.new())
assert(http.get(]] .. url .. [[).status_code == 200)
assert(c:get(]] .. url .. [[).status_code == 200)
local function loaded(m) return package.loaded[m] ~= nil and "yes" or "no" end
local c2 = assert(http.new())
assert(c2:get(]] .. url .. [[).status_code == 200)
assert(c2:close())
assert(http.run(1) == true and c:run(1) == true) -- nothing async: no engine made
print("after get: engine " .. loaded("ljhttp.engine") .. " handle " .. loaded("ljhttp.handle")
    .. " async " .. loaded("ljhttp.client_async")
    .. " field " .. tostring(rawget(c, "engine") ~= nil))
local r = assert(c:get_async(]] .. url .. [[):wait())
print("after async: engine " .. loaded("ljhttp.engine") .. " handle " .. loaded("ljhttp.handle")
    .. " async " .. loaded("ljhttp.client_async")
    .. " status " .. r.status_code .. " field " .. tostring(rawget(c, "engine") ~= nil))
local list = assert(c.request_batch({ { "GET", ]] .. url .. [[ } })) -- bound before the load
print("batch " .. list[1].status_code)
assert(c:get(]] .. url .. [[).status_code == 200)
assert(c:close())
print("closed")
]])
    T.ok(ok, "the child failed: " .. out)
    T.contains(out, "after get: engine no handle no async no field false")
    T.contains(out, "after async: engine yes handle yes async yes status 200 field true")
    T.contains(out, "batch 200")
    T.contains(out, "closed")
end)

T.test("the library is linked -z nodelete (exit does not unmap libcurl)", function()
    local lib = require("ljhttp.loader").path()
    if not lib or not lib:find("/", 1, true) then
        T.skip("the library was not loaded from a file path")
    end
    local out, ok = T.capture("readelf -d " .. T.shq(lib) .. " 2>&1")
    if not ok then
        T.skip("no readelf: " .. tostring(out))
    end
    T.ok(out:find("NODELETE", 1, true), "no NODELETE flag in " .. lib .. ":\n" .. out)
end)

T.test("require parses only the entry files: the request functions and the whole search load later", function()
    local url = string.format("%q", T.url("/echo"))
    local out, ok = R.child([[
local function loaded(m) return package.loaded[m] ~= nil and "yes" or "no" end
local http = require("ljhttp")
local loader = require("ljhttp.loader")
print("after require: api " .. loaded("ljhttp.api") .. " search " .. loaded("ljhttp.libsearch")
    .. " library " .. tostring(loader.path() ~= nil))
local get = http.get -- a stand-in, kept before the first call
local r = assert(get(]] .. url .. [[))
print("first " .. r.status_code .. " api " .. loaded("ljhttp.api") .. " " .. tostring(loader.bytecode("ljhttp.api"))
    .. " search " .. loaded("ljhttp.libsearch") .. " replaced " .. tostring(http.get ~= get))
print("kept " .. get(]] .. url .. [[).status_code .. " module " .. http.get(]] .. url .. [[).status_code
    .. " post " .. http.post(]] .. url .. [[, { body = "x" }).status_code)
print("run " .. tostring(http.run(1)))
]])
    T.ok(ok, "the child failed: " .. out)
    T.contains(out, "after require: api no search no library false")
    -- the library was found in the first places looked at (build/ next to
    -- lua/, or LJHTTP_LIBRARY): the whole search was not needed
    T.contains(out, "first 200 api yes bytecode search no replaced true")
    T.contains(out, "kept 200 module 200 post 200")
    T.contains(out, "run true")
end)

T.test("http.run() before any request loads nothing", function()
    local out, ok = R.child([[
local http = require("ljhttp")
print("run " .. tostring(http.run(0)) .. " library " .. tostring(require("ljhttp.loader").path() ~= nil)
    .. " api " .. tostring(package.loaded["ljhttp.api"] ~= nil))
]])
    T.ok(ok, "the child failed: " .. out)
    T.contains(out, "run true library false api false")
end)

T.test("the library does not link libm (one object less in every symbol lookup at load)", function()
    local lib = require("ljhttp.loader").path()
    if not lib or not lib:find("/", 1, true) or jit.os ~= "Linux" then
        T.skip("not a Linux library loaded from a file path")
    end
    local out, ok = T.capture("readelf -d " .. T.shq(lib) .. " 2>&1")
    if not ok then
        T.skip("no readelf: " .. tostring(out))
    end
    T.contains(out, "libcurl", "readelf lists the library's needs")
    T.not_contains(out, "libm.so", "libm in NEEDED of " .. lib)
end)
