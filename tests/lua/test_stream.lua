-- Streams (docs/bodies.md): ljhttp.stream / client:stream return once the
-- headers are in; read() and chunks() deliver the body as it arrives;
-- close() and garbage collection end the transfer; a slow reader does not
-- make memory grow.
local T = require("support")
local http = require("ljhttp")
local ffi = require("ffi")

local function read_all(s)
    local parts = {}
    while true do
        local chunk, err, code = s:read()
        if not chunk then
            return table.concat(parts), err, code
        end
        T.is_type(chunk, "string")
        T.ok(#chunk > 0, "chunks are never empty")
        parts[#parts + 1] = chunk
    end
end

local function rss_kib()
    for line in io.lines("/proc/self/status") do
        local v = line:match("^VmRSS:%s+(%d+)")
        if v then
            return tonumber(v)
        end
    end
end

T.test("stream returns at the headers, before the body is complete", function()
    -- /stall-body sends the headers and half the body, then nothing until
    -- the client goes: waiting for the whole body would end in an error
    local s, err, code = http.stream("GET", T.url("/stall-body"))
    T.ok(s, tostring(err) .. " " .. tostring(code))
    T.eq(s.status_code, 200)
    local head = ""
    while #head < 5 do
        head = head .. T.ok(s:read())
    end
    T.eq(head, "01234")
    T.ok(s:close())
    local t0 = T.now()
    s, err, code = http.stream("GET", T.url("/drip?chunks=4&interval_ms=300&size=3"))
    T.ok(s, tostring(err) .. " " .. tostring(code))
    T.eq(s.status_code, 200)
    T.eq(s.headers["content-type"], "application/octet-stream")
    T.eq(s.headers["Transfer-Encoding"], "chunked")
    T.is_type(s.header_list, "table")
    T.eq(s.url, T.url("/drip?chunks=4&interval_ms=300&size=3"))
    local got = {}
    for chunk in s:chunks() do
        got[#got + 1] = chunk
    end
    T.eq(table.concat(got), "000111222333")
    T.ge(#got, 2, "pieces arrive separately")
    T.ge(T.now() - t0, 0.8, "the body took its time")
    T.is_nil(s.error)
    T.is_nil(s:read(), "read after the end")
    T.is_nil(s:read(), "and again")
    T.ok(s:close())
end)

T.test("stream: the body is byte-exact", function()
    local s = T.ok(http.stream("GET", T.url("/bytes?n=5000000&seed=7")))
    T.eq(s.headers["Content-Length"], "5000000")
    local body, err = read_all(s)
    T.is_nil(err)
    local want = T.res(200, http.get(T.url("/bytes?n=5000000&seed=7"))).body
    T.ok(body == want, "same bytes as a plain GET")
    s = T.ok(http.stream("POST", T.url("/echo/body"), { body = "ab\0cd" }))
    T.eq(read_all(s), "ab\0cd")
end)

T.test("stream: failures before the headers are nil, message, code", function()
    T.err("connect", http.stream("GET", T.refused_url))
    T.err("unsupported_scheme", http.stream("GET", "ftp://x/"))
    T.err("invalid_argument", http.stream("GET", T.url("/"), { timeout = "soon" }))
    T.err("timeout", http.stream("GET", T.url("/stall"), { timeout = 0.2 }))
    T.err("invalid_argument", http.stream("GET", T.url("/"), { on_chunk = function() end }))
    T.err("invalid_argument", http.stream("GET", T.url("/"), { output = T.tmpfile("s.bin") }))
end)

T.test("stream: a failure midway is nil, message, code after the data", function()
    local s = T.ok(http.stream("GET", T.url("/close-mid")))
    T.eq(s.status_code, 200)
    local body, err, code = read_all(s)
    T.eq(body, string.rep("a", 500))
    T.eq(code, "network")
    T.contains(err, "close-mid")
    T.eq(s.error, err)
    T.eq(s.error_code, "network")
    local _, err2, code2 = s:read()
    T.eq(code2, "network", "the error stays")
    T.eq(err2, err)
    -- timeout while the body trickles
    s = T.ok(http.stream("GET", T.url("/drip?chunks=5&interval_ms=400"), { timeout = 0.6 }))
    local _, _, tcode = read_all(s)
    T.eq(tcode, "timeout")
end)

T.test("stream: HEAD and 204 are streams too", function()
    local s = T.ok(http.stream("HEAD", T.url("/bytes?n=100")))
    T.eq(s.headers["Content-Length"], "100")
    T.eq(read_all(s), "")
    s = T.ok(http.stream("GET", T.url("/status/204")))
    T.eq(s.status_code, 204)
    T.is_nil(s:read())
end)

T.test("stream: redirects are followed and their bodies skipped", function()
    local s = T.ok(http.stream("GET", T.url("/redirect/2")))
    T.eq(s.status_code, 200)
    T.eq(#s.redirects, 2)
    T.eq(s.url, T.url("/redirect/0"))
    T.eq(read_all(s), "done")
    -- an unfollowed redirect is outside 2xx: http_status, with the answer
    local _, _, code, res = http.stream("GET", T.url("/redirect/1"), { follow_redirects = false })
    T.eq(code, "http_status")
    T.eq(res.status_code, 302)
    T.eq(res.body, "redirect to /redirect/0")
    T.eq(res.headers.location, "/redirect/0")
end)

T.test("stream: a retried 503's body is not part of the stream", function()
    local key = "st" .. tostring(os.time()) .. math.random(1e9)
    local s = T.ok(http.stream("GET", T.url("/flaky?fail=1&key=" .. key), { retries = 1, retry_delay = 0.01 }))
    T.eq(s.status_code, 200)
    T.eq(read_all(s), "flaky 2")
end)

T.test("stream: max_body_size applies only when given", function()
    local s = T.ok(http.stream("GET", T.url("/bytes?n=300000&chunked=1"), { max_body_size = 100000 }))
    local _, _, code = read_all(s)
    T.eq(code, "too_large")
    s = T.ok(http.stream("GET", T.url("/bytes?n=3000000")))
    T.eq(#read_all(s), 3000000)
end)

T.test("close() ends a running stream; reading after close is an error", function()
    local c = T.ok(http.new())
    local s = T.ok(c:stream("GET", T.url("/endless")))
    T.ok(#T.ok(s:read()) > 0)
    T.eq(c.engine.n_pending, 1)
    T.ok(s:close())
    T.ok(s:close(), "twice is fine")
    T.eq(c.engine.n_pending, 0)
    T.err("closed", s:read())
    T.ok(c:run(1), "nothing left to run")
    c:close()
end)

T.test("a stream that is collected ends its transfer", function()
    local c = T.ok(http.new())
    local fds = T.fd_count()
    do
        local s = T.ok(c:stream("GET", T.url("/endless")))
        T.ok(s:read())
    end
    T.eq(c.engine.n_pending, 1)
    collectgarbage()
    collectgarbage()
    T.eq(c.engine.n_pending, 0, "transfers after GC")
    -- the client still works
    T.eq(T.res(200, c:get(T.url("/status/200"))).body, "status 200")
    c:close()
    T.ge(fds + 1, T.fd_count(), "descriptors")
end)

T.test("stream on a closed client, and a client closed under a stream", function()
    local c = T.ok(http.new())
    local s = T.ok(c:stream("GET", T.url("/endless")))
    c:close()
    local _, _, code = read_all(s)
    T.eq(code, "closed")
    T.err("closed", c:stream("GET", T.url("/")))
    T.err("closed", c:sse(T.url("/sse")))
end)

T.test("a slow reader of an endless body keeps memory bounded", function()
    local s = T.ok(http.stream("GET", T.url("/endless")))
    local full, base, peak = 0, nil, 0
    for i = 1, 60 do
        local chunk = T.ok(s:read())
        if #chunk == ffi.C.LJH_STREAM_CHUNK then
            full = full + 1
        end
        T.sleep(0.02)
        if i % 5 == 0 then
            collectgarbage()
            local r = rss_kib()
            if i == 10 then
                base = r
            elseif base and r - base > peak then
                peak = r - base
            end
        end
    end
    s:close()
    -- the server sends hundreds of MB a second; without the pause they
    -- would pile up in memory while this loop sleeps. Reads that return a
    -- whole chunk show the bytes were waiting: the reader was the slow side
    T.ge(full, 50, "reads that returned LJH_STREAM_CHUNK bytes")
    T.lt(peak, 16 * 1024, "RSS growth in KiB")
end)

T.test("several streams at once on one client, read in turns", function()
    local c = T.ok(http.new())
    local a = T.ok(c:stream("GET", T.url("/drip?chunks=3&interval_ms=50&size=2")))
    local b = T.ok(c:stream("GET", T.url("/bytes?n=1000000&seed=1")))
    local got_a, got_b = {}, {}
    local done_a, done_b = false, false
    while not (done_a and done_b) do
        if not done_a then
            local x = a:read()
            if x then got_a[#got_a + 1] = x else done_a = true end
        end
        if not done_b then
            local x = b:read()
            if x then got_b[#got_b + 1] = x else done_b = true end
        end
    end
    T.eq(table.concat(got_a), "001122")
    T.eq(#table.concat(got_b), 1000000)
    c:close()
end)

T.test("async requests keep running while a stream is read", function()
    local c = T.ok(http.new())
    local got
    local h = c:get_async(T.url("/slow?ms=100"), nil, function(r)
        got = r
    end)
    local s = T.ok(c:stream("GET", T.url("/drip?chunks=3&interval_ms=100")))
    T.eq(#read_all(s), 30)
    T.res(200, h:wait(5))
    T.eq(got.body, "slow 100")
    c:close()
end)

-- ---- read_ref: the chunk in place, as a pointer and a length ----

-- the fixture's /bytes body: byte i is (i * 7 + seed) % 256
local function bytes_at(off, n, seed)
    -- the pattern repeats every 256 bytes
    local t = {}
    for i = 0, 255 do
        t[i + 1] = string.char(((off + i) * 7 + seed) % 256)
    end
    return string.rep(table.concat(t), math.ceil(n / 256)):sub(1, n)
end

T.test("read_ref: a pointer and a length, the same bytes as read(), nil at the end", function()
    local url = T.url("/bytes?n=3000000&seed=3")
    local s = T.ok(http.stream("GET", url))
    local parts, pieces = {}, 0
    while true do
        local p, n = s:read_ref()
        if p == nil then
            T.is_nil(n, "no error at the end")
            break
        end
        T.eq(type(p), "cdata")
        T.ok(ffi.istype("const char *", p), "a const char *")
        T.eq(type(n), "number")
        T.ok(n > 0 and n <= 65536, "length " .. n)
        parts[#parts + 1] = ffi.string(p, n)
        pieces = pieces + 1
    end
    T.ok(table.concat(parts) == T.res(200, http.get(url)).body, "same bytes as a plain GET")
    T.ok(pieces >= 3000000 / 65536, "pieces " .. pieces)
    T.is_nil(s:read_ref(), "still the end")
    T.eq(s:close(), true)
    T.err("closed", s:read_ref())
end)

T.test("read_ref and read take turns on one stream without losing a byte", function()
    local s = T.ok(http.stream("GET", T.url("/bytes?n=1000000&seed=5")))
    local parts, turn = {}, 0
    while true do
        turn = turn + 1
        local chunk
        if turn % 2 == 0 then
            local p, n = s:read_ref()
            chunk = p and ffi.string(p, n)
        else
            chunk = s:read()
        end
        if not chunk then
            break
        end
        parts[#parts + 1] = chunk
    end
    T.ok(turn > 4, "turns " .. turn)
    T.ok(table.concat(parts) == bytes_at(0, 1000000, 5), "bytes in order")
end)

T.test("read_ref: the bytes stay put while the engine runs other transfers", function()
    local c = T.ok(http.new())
    local size = 4000000
    local s = T.ok(c:stream("GET", T.url("/bytes?n=" .. size .. "&seed=9")))
    -- the whole body, so C swaps its two buffers several times (each
    -- holds about 1 MiB at most)
    local off, arrived = 0, 0
    while true do
        local p, n = s:read_ref()
        if p == nil then
            T.is_nil(n)
            break
        end
        -- another request on the same client drives the engine, and more
        -- of the stream arrives meanwhile (into C's other buffer)
        local before = s._h:progress().downloaded
        T.res(200, c:get(T.url("/bytes?n=300000")))
        if s._h:progress().downloaded > before then
            arrived = arrived + 1
        end
        T.ok(ffi.string(p, n) == bytes_at(off, n, 9), "chunk at " .. off .. " intact")
        off = off + n
    end
    T.eq(off, size)
    T.ok(arrived > 0, "stream bytes arrived during the other requests")
    T.eq(s:close(), true)
    c:close()
end)

T.test("stream: back-to-back streams on one client (kept buffers) are byte-exact", function()
    local c = T.ok(http.new())
    -- each stream reuses the buffers the one before it left to the client
    for seed = 1, 3 do
        local size = 1500000 + seed * 100000
        local s = T.ok(c:stream("GET", T.url("/bytes?n=" .. size .. "&seed=" .. seed)))
        local body = read_all(s)
        T.eq(#body, size)
        T.ok(body == bytes_at(0, size, seed), "stream " .. seed .. " bytes")
        s:close()
    end
    -- a short stream after long ones: nothing of the earlier bytes shows
    local s = T.ok(c:stream("GET", T.url("/bytes?n=10&seed=200")))
    T.eq(read_all(s), bytes_at(0, 10, 200))
    c:close()
end)

T.test("stream: read() and read_ref() end with one nil", function()
    local s = T.ok(http.stream("GET", T.url("/bytes?n=100")))
    T.eq(#T.ok(s:read()), 100)
    T.eq(select("#", s:read()), 1, "values at the end")
    T.eq(select("#", s:read_ref()), 1, "values at the end")
    s:close()
end)

T.test("read_ref: a failure midway is nil, message, code after the data", function()
    local s = T.ok(http.stream("GET", T.url("/close-mid")))
    local got = 0
    while true do
        local p, n, code = s:read_ref()
        if p == nil then
            T.eq(code, "network")
            T.contains(n, "close-mid")
            break
        end
        T.eq(ffi.string(p, n), string.rep("a", n))
        got = got + n
    end
    T.eq(got, 500)
    T.eq(s.error_code, "network")
    T.eq(select(3, s:read_ref()), "network", "the error stays")
end)

-- A stream's transfer had two finalizers (the stream's and its own): when
-- both went in one cycle, at the end of the process or with the client
-- dropped too, the transfer was freed twice (a crash at exit).
T.test("streams left open at exit, or dropped with their client, end cleanly", function()
    local R = require("reliability")
    local code = ([[
local http = require("ljhttp")
local keep = {}
keep[1] = assert(http.stream("GET", %q))
keep[2] = assert(http.sse(%q))
keep[3] = http.new()
keep[4] = assert(keep[3]:stream("GET", %q))
local c = http.new()
local s = assert(c:stream("GET", %q))
c, s = nil, nil
collectgarbage()
collectgarbage()
print("end of script")
]]):format(T.url("/bytes?n=5000000"), T.url("/echo"), T.url("/bytes?n=5000000"), T.url("/bytes?n=5000000"))
    for round = 1, 3 do
        local out, ok = R.child(code)
        T.contains(out, "end of script", "round " .. round)
        T.ok(ok, "round " .. round .. ": the child did not exit cleanly: " .. out)
    end
end)

-- A raise that is not LuaJIT's out of memory is not the request's
-- failure (protect.raise_unless_oom, as handle:wait() and WebSockets
-- do): it propagates and the stream stays open. Here a host whose wait
-- raises once, as an interrupt would; the old code ended the stream
-- with nil, message, "internal".
-- Calls f(obj) until it raises, each value before that passed to each;
-- an end instead of a raise fails. Returns what was raised.
local function until_raise(f, obj, each)
    while true do
        local ok, v, msg, code = pcall(f, obj)
        if not ok then
            return v
        end
        T.ok(v, "ended instead of raising: " .. tostring(msg) .. " " .. tostring(code))
        if each then
            each(v)
        end
    end
end

local function raising_host()
    local base = require("ljhttp.hosts.luajit")
    local host = setmetatable({ armed = false }, { __index = base })
    host.wait = function(e, waiter, timeout)
        if host.armed then
            host.armed = false
            error("the host's wait raised", 0)
        end
        return base.wait(e, waiter, timeout)
    end
    return host
end

T.test("stream: a raise in a read that is not out of memory propagates, the stream stays open", function()
    local host = raising_host()
    local c = T.ok(http.new({ host = host }))
    -- half the body, then nothing until the client goes: read must wait
    local s = T.ok(c:stream("GET", T.url("/stall-body")))
    host.armed = true
    local got = ""
    local raised = until_raise(s.read, s, function(chunk)
        got = got .. chunk
    end)
    T.eq(raised, "the host's wait raised")
    T.eq(got, "01234")
    T.is_nil(s.error, "the stream did not end")
    T.eq(c.engine.n_pending, 1, "its transfer still runs")
    T.ok(s:close())
    T.eq(c.engine.n_pending, 0)
    c:close()
end)

T.test("sse: a raise in next() that is not out of memory propagates, the events stay open", function()
    local host = raising_host()
    local c = T.ok(http.new({ host = host }))
    local events = T.ok(c:sse(T.url("/sse?case=count&n=3&interval_ms=1000")))
    host.armed = true
    local raised = until_raise(events.next, events)
    T.eq(raised, "the host's wait raised")
    T.is_nil(events.error)
    T.is_nil(events.stream.error)
    T.ok(events:close())
    T.eq(c.engine.n_pending, 0)
    c:close()
end)

T.test("sse: headers that are not a table are invalid_argument, as for any request", function()
    T.err("invalid_argument", http.sse(T.url("/sse"), { headers = "Accept: text/event-stream" }))
end)
