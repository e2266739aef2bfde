-- bench/ws.sh's ljhttp side: N WebSocket echo round trips of one text
-- message on one connection.  luajit ws_client.lua URL N SIZE
package.path = arg[0]:gsub("[^/]*$", "") .. "../lua/?.lua;" .. package.path
local http = require("ljhttp")
local url, n, size = arg[1], tonumber(arg[2]), tonumber(arg[3])
local ws = assert(http.websocket(url))
local msg = ("x"):rep(size)
local clock = ws.C.ljh_now_ms
local t0 = clock()
for _ = 1, n do
    ws:send(msg)
    local data = ws:receive(10)
    assert(data and #data == size, "no echo")
end
io.write(string.format("%.6f\n", tonumber(clock() - t0) / 1000))
ws:close()
