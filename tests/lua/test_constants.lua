-- The Lua files read every ABI constant from the declarations (ffi.C),
-- never a copy of its number: a change in cdef/ljhttp.h reaches them.
local T = require("support")
local ffi = require("ffi")
require("ljhttp")

local function source(name)
    return T.not_nil(T.read_file(T.root .. "/lua/ljhttp/" .. name), name)
end

T.test("the enums Lua needs are declared, with the values C uses", function()
    require("ljhttp.ws") -- declares the WebSocket section
    T.eq(tonumber(ffi.C.LJH_HTTP_1_0), 10)
    T.eq(tonumber(ffi.C.LJH_WS_WANT_READ), 1)
    T.eq(tonumber(ffi.C.LJH_WS_WANT_WRITE), 2)
end)

T.test("json.lua, json_encode.lua, decode.lua and ws.lua name the constants instead of copying numbers", function()
    local json, decode, ws = source("json.lua") .. source("json_encode.lua"), source("decode.lua"), source("ws.lua")
    for _, n in ipairs({ "NULL", "FALSE", "TRUE", "NUMBER", "STRING", "ARRAY", "OBJECT", "INTEGER_TEXT",
        "MAX_DEPTH" }) do
        T.contains(json, "LJH_JSON_" .. n)
    end
    T.not_contains(json, "0, 1, 2, 3, 4, 5, 6, 7", "node types copied")
    for _, n in ipairs({ "1_0", "1_1", "2", "3" }) do
        T.contains(decode, "LJH_HTTP_" .. n .. ")")
    end
    T.not_contains(decode, "v == 11", "HTTP versions copied")
    for _, n in ipairs({ "TEXT", "BINARY", "PING", "PONG", "CONNECTING", "OPEN", "CLOSING", "CLOSED",
        "WANT_READ", "WANT_WRITE" }) do
        T.contains(ws, "LJH_WS_" .. n)
    end
    for _, copied in ipairs({ "text = 1", "CLOSED = 3", "st.state == 0", "st.state ~= 1", "want == 3" }) do
        T.not_contains(ws, copied, "WebSocket constants copied")
    end
end)

T.test("response.http_version from the declared values", function()
    local r = T.res(200, require("ljhttp").get(T.url("/echo")))
    T.eq(r.http_version, "1.1")
end)
