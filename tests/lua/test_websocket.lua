-- WebSocket (ws.lua, ws.c) against tests/fixture/ws_server.py: plain and
-- TLS, fragments, control frames, closes, limits and backpressure.
local T = require("support")
package.path = T.root .. "/tests/?.lua;" .. package.path
local http = require("ljhttp")

local info = http.info()

local port, tls_port
local function server()
    if not port then
        port = T.spawn_server("ws", "python3 " .. T.shq(T.root .. "/tests/fixture/ws_server.py")
            .. " --port-file %PORTFILE% --watch-pid " .. T.pid)
    end
    return port
end

local function url(path)
    return "ws://127.0.0.1:" .. server() .. path
end

local function needs_ws()
    T.ok(info.features.ws, "info().features.ws")
end

local function open_url(u, opts)
    local conn, msg, code = http.websocket(u, opts)
    T.ok(conn, tostring(code) .. ": " .. tostring(msg))
    return conn
end

local function open(path, opts)
    return open_url(url(path), opts)
end

T.test("websocket: text and binary messages echo back whole, with the handshake's answer", function()
    needs_ws()
    local conn = open("/echo")
    T.eq(conn:state(), "open")
    T.eq(conn.response.status_code, 101)
    T.eq(conn.response.headers["x-fixture"], "ws")
    T.ok(conn:send("hello"))
    local data, kind = conn:receive(5)
    T.eq(data, "hello")
    T.eq(kind, "text")
    local bin = "\0\1\2\255" .. ("z"):rep(70000) -- binary-safe, over 64 KiB (16-bit length)
    T.ok(conn:send(bin, "binary"))
    data, kind = conn:receive(5)
    T.eq(#data, #bin)
    T.ok(data == bin, "binary bytes differ")
    T.eq(kind, "binary")
    T.ok(conn:send("", "text")) -- an empty message is a message
    T.eq(conn:receive(5), "")
    local code = conn:close(1000, "done")
    T.eq(code, 1000) -- the server echoes the code
    T.eq(conn:state(), "closed")
    T.err("closed", conn:send("late"))
end)

T.test("websocket: fragments are joined, a control frame between them is answered", function()
    needs_ws()
    local conn = open("/fragments?n=4")
    local data, kind = conn:receive(5)
    T.eq(data, "fragmented text")
    T.eq(kind, "text")
    data, kind = conn:receive(5)
    local blob = {}
    for i = 0, 255 do
        blob[#blob + 1] = string.char(i)
    end
    T.eq(data, table.concat(blob):rep(4))
    T.eq(kind, "binary")
    conn:close()
end)

T.test("websocket: a large message (3 MiB each way) crosses intact", function()
    needs_ws()
    local conn = open("/big?size=3145728")
    local data = conn:receive(10)
    T.eq(#data, 3145728)
    T.eq(data:byte(1), 0)
    T.eq(data:byte(252), 0) -- i % 251
    T.eq(data:byte(3145728), (3145727 % 251))
    -- and back: sent in pieces as the socket takes them
    local out = ("0123456789abcdef"):rep(196608)
    T.ok(conn:send(out, "binary"))
    local back = conn:receive(20)
    T.ok(back == out, "echo of 3 MiB differs")
    T.eq(conn:buffered(), 0)
    conn:close()
end)

T.test("websocket: max_message_size ends the connection with too_large (close code 1009)", function()
    needs_ws()
    local conn = open("/big?size=200000", { max_message_size = 100000 })
    local data, msg, code = conn:receive(5)
    T.eq(data, nil)
    T.eq(code, "too_large", msg)
    T.eq(conn.close_code, 1009)
end)

-- What the server recorded for connection id (its /stats), once field is
-- set there or 5 s passed.
local function server_saw(id, field)
    local deadline = T.now() + 5
    while true do
        local stats = T.res(200, http.get("http://127.0.0.1:" .. server() .. "/stats?id=" .. id))
        local v = http.json.decode(stats.body)[field]
        if v or T.now() > deadline then
            return v
        end
        T.sleep(0.02)
    end
end

T.test("websocket: text is UTF-8 both ways: valid text arrives whole, invalid is refused", function()
    needs_ws()
    -- two-, three- and four-byte sequences at the edges of the ranges
    local good = "\xc2\x80 \xed\x9f\xbf \xee\x80\x80 \xf4\x8f\xbf\xbf"
    local hex = good:gsub(".", function(c) return ("%02x"):format(c:byte()) end)
    local conn = open("/text-bytes?hex=" .. hex)
    local data, kind = conn:receive(5)
    T.eq(data, good)
    T.eq(kind, "text")
    -- sending: not UTF-8 is refused before it leaves, the connection stays open
    for _, bad in ipairs({ "\xc0\x80", "\xed\xa0\x80", "\xf4\x90\x80\x80", "cut \xe2\x82" }) do
        T.err("invalid_argument", conn:send(bad, "text"))
        T.ok(conn:send(bad, "binary")) -- as binary the same bytes are fine
        T.eq(conn:receive(5), bad)
    end
    T.ok(conn:send(good))
    T.eq(conn:receive(5), good)
    conn:close()
    -- receiving: a text message that is not UTF-8 (a surrogate, overlong,
    -- cut short) fails the connection as protocol, closing it with 1007
    for _, bad in ipairs({ "eda080", "c0af", "61e282" }) do
        local id = "utf8" .. bad .. math.random(1e9)
        conn = open("/text-bytes?hex=" .. bad .. "&id=" .. id)
        T.err("protocol", conn:receive(5))
        T.eq(server_saw(id, "close_code"), 1007)
        conn:close()
    end
end)

T.test("websocket: ping gets the server's pong; the server's ping is answered", function()
    needs_ws()
    local conn = open("/ping")
    -- the server pinged at once; libcurl answered, the server says so
    T.eq(conn:receive(5), "pong-ok")
    T.ok(conn:send("marco", "ping"))
    local data, kind = conn:receive(5)
    T.eq(kind, "pong")
    T.eq(data, "marco")
    T.err("invalid_argument", conn:send(("x"):rep(126), "ping"))
    conn:close()
end)

T.test("websocket: the server's close code and reason are surfaced, and answered", function()
    needs_ws()
    local id = "close" .. math.random(1e9)
    local conn = open("/close?code=4001&reason=bye%20now&id=" .. id)
    local data, msg, code = conn:receive(5)
    T.eq(data, nil)
    T.eq(code, "closed", msg)
    T.eq(conn.close_code, 4001)
    T.eq(conn.close_reason, "bye now")
    -- the server saw our close frame (RFC 6455 5.5.1): it records that
    -- after reading it, so ask until it did (or 5 s passed)
    local seen, deadline = false, T.now() + 5
    repeat
        local stats = T.res(200, http.get("http://127.0.0.1:" .. server() .. "/stats?id=" .. id))
        seen = http.json.decode(stats.body).closed_by_client
        if not seen then
            T.sleep(0.02)
        end
    until seen or T.now() > deadline
    T.eq(seen, true)
end)

T.test("websocket: an abrupt disconnect is network with close code 1006, never a hang", function()
    needs_ws()
    local conn = open("/drop")
    local data, msg, code = conn:receive(10)
    T.eq(data, nil)
    T.eq(code, "network", msg)
    T.eq(conn.close_code, 1006)
    T.eq(conn:state(), "closed")
end)

T.test("websocket: a refused handshake returns the server's answer", function()
    needs_ws()
    local conn, msg, code, res = http.websocket(url("/auth"))
    T.eq(conn, nil)
    T.eq(code, "http_status")
    T.ok(msg:find("401", 1, true), msg)
    T.eq(res.status_code, 401)
    -- with the right header it opens: request options apply to the handshake
    conn = open("/auth", { headers = { Authorization = "Bearer good" } })
    conn:send("in")
    T.eq(conn:receive(5), "in")
    conn:close()
end)

T.test("websocket: a 101 that is not a valid upgrade, or a broken status line, is protocol", function()
    needs_ws()
    local conn, msg, code = http.websocket(url("/bad-accept"))
    T.eq(conn, nil)
    T.eq(code, "protocol")
    T.contains(msg, "Sec-WebSocket-Accept")
    T.err("protocol", http.websocket(url("/bad-status")))
end)

T.test("websocket: headers and the client's cookies go with the handshake", function()
    needs_ws()
    local c = http.new({ cookie_jar = true })
    -- a cookie set by an HTTP answer from the same host goes to the ws handshake
    T.res(200, c:get(T.url("/set-cookie?sess=abc")))
    local conn = T.ok(c:websocket("ws://127.0.0.1:" .. server() .. "/headers",
        { headers = { ["X-Test"] = "yes" } }))
    local first = conn:receive(5)
    T.ok(first:find("x-test=yes", 1, true), first)
    T.ok(first:find("sess=abc", 1, true), first)
    conn:close()
    c:close()
end)

T.test("websocket: a slow reader pauses the sender instead of growing memory", function()
    needs_ws()
    local id = "flood" .. math.random(1e9)
    local count, size = 4096, 65536 -- 256 MiB offered
    local conn = open("/flood?count=" .. count .. "&size=" .. size .. "&id=" .. id)
    -- read one message, then nothing for a while: C stops reading past its
    -- high-water mark (4 MiB), the socket buffers fill and the server
    -- blocks (the kernel may buffer tens of MiB on loopback)
    local first = conn:receive(5)
    T.eq(#first, size)
    T.sleep(0.8)
    local sent = http.json.decode(T.res(200,
        http.get("http://127.0.0.1:" .. server() .. "/stats?id=" .. id)).body).sent
    T.ok(sent < count * size / 2, "the server sent " .. sent .. " of " .. count * size
        .. " bytes to a reader that took one message")
    -- reading resumes the flow, in order and whole
    for _ = 1, 200 do
        local data, kind = conn:receive(5)
        T.eq(kind, "binary")
        T.eq(#data, size)
    end
    conn:close(1000, "", 0.2)
end)

T.test("websocket: receive(timeout) times out and the connection stays usable", function()
    needs_ws()
    local conn = open("/echo")
    local t0 = T.now()
    local data, msg, code = conn:receive(0.2)
    T.eq(data, nil)
    T.eq(code, "timeout", msg)
    T.ok(T.now() - t0 >= 0.15, "returned early")
    conn:send("still here")
    T.eq(conn:receive(5), "still here")
    conn:close()
end)

T.test("websocket: wss with a local CA; bad options and schemes are refused", function()
    needs_ws()
    local S = require("transport.servers")
    S.start() -- certificates
    if not tls_port then
        tls_port = T.spawn_server("wss", "python3 " .. T.shq(T.root .. "/tests/fixture/ws_server.py")
            .. " --port-file %PORTFILE% --watch-pid " .. T.pid .. " --cert " .. T.shq(S.cert("server.pem"))
            .. " --key " .. T.shq(S.cert("server.key")))
    end
    local wss = "wss://localhost:" .. tls_port .. "/echo"
    local conn = open_url(wss, { ca_file = S.cert("ca.pem") })
    conn:send("secure")
    T.eq(conn:receive(5), "secure")
    conn:close()
    -- without the CA: a TLS failure, as a value
    T.err("tls", http.websocket(wss))
    T.err("unsupported_scheme", http.websocket("http://127.0.0.1:" .. server() .. "/echo"))
    T.err("invalid_argument", http.websocket(url("/echo"), { body = "x" }))
    T.err("invalid_argument", http.websocket(url("/echo"), { max_message_size = 1.5 }))
    T.err("invalid_argument", http.websocket(url("/echo"), { on_message = print }))
end)
