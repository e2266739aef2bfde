-- Clients keep connections and, with cookie_jar, cookies.
dofile((arg[0]:match("^(.*)/[^/]*$") or ".") .. "/path.lua")
local http = require("ljhttp")
local base = assert(arg[1], "usage: luajit examples/cookies.lua http://127.0.0.1:PORT")

local client = assert(http.new({ cookie_jar = true, headers = { ["User-Agent"] = "ljhttp-demo" } }))
client:get(base .. "/set-cookie?session=abc123&theme=dark")
print("client with a jar sends:   " .. client:get(base .. "/cookies").body)
print("module functions send:     '" .. http.get(base .. "/cookies").body .. "' (no jar, no leaks)")
print("per-request cookies too:   " .. http.get(base .. "/cookies", { cookies = { a = "1" } }).body)
http.get(base .. "/stats/reset")
for _ = 1, 20 do
    client:get(base .. "/echo")
end
print("20 more requests through the client opened "
    .. client:get(base .. "/stats").body:match("connections (%d+)") .. " new connection(s): keep-alive")
client:close()
print("after close:", client:get(base .. "/echo"))
