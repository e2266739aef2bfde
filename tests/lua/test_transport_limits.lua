-- Limits and timeouts, Unix sockets, retries, verbose traces and timings,
-- against the fixture server, nginx and a listener whose accept queue is
-- full (tests/transport/backlog.py).
local T = require("support")
package.path = T.root .. "/tests/?.lua;" .. package.path
local S = require("transport.servers")
local http = require("ljhttp")

local function elapsed(fn)
    local t0 = T.now()
    local a, b, c = fn()
    return T.now() - t0, a, b, c
end

-- lo: the limit did not fire early (a loaded machine only makes it later).
-- hi: well under what the wrong limit would take (the 10 s default
-- connect_timeout, the 30 s default idle_timeout, libcurl's own low-speed
-- check at idle_timeout + 5 s, another option's value), with room for a
-- slow machine: not a speed limit.
local function between(v, lo, hi, label)
    T.ok(v >= lo and v <= hi, string.format("%s: %.3f s not in [%.2f, %.2f]", label or "time", v, lo, hi))
end

-- ---- timeouts ----

local backlog_port
local function backlog()
    if not backlog_port then
        backlog_port = T.spawn_server("backlog", "python3 " .. T.shq(T.root .. "/tests/transport/backlog.py")
            .. " %PORTFILE% " .. T.pid)
    end
    return "http://127.0.0.1:" .. backlog_port .. "/"
end

T.test("connect_timeout: a listener that never completes the handshake times out on time", function()
    local url = backlog()
    local dt, r, msg, code = elapsed(function()
        return http.new():get(url, { connect_timeout = 0.5 })
    end)
    T.err("timeout", r, msg, code)
    between(dt, 0.45, 5, "connect_timeout 0.5")
    dt, r, msg, code = elapsed(function()
        return http.new():get(url, { connect_timeout = "300ms", timeout = 10 })
    end)
    T.err("timeout", r, msg, code)
    between(dt, 0.25, 5, "connect_timeout 300ms")
    -- a total timeout shorter than the connect timeout wins
    dt, r, msg, code = elapsed(function()
        return http.new():get(url, { connect_timeout = 30, timeout = 0.3 })
    end)
    T.err("timeout", r, msg, code)
    between(dt, 0.25, 10, "timeout 0.3")
end)

T.test("connect_timeout: async and batch requests time out too", function()
    local url = backlog()
    local c = http.new({ connect_timeout = 0.4 })
    local dt, r, msg, code = elapsed(function()
        return c:get_async(url):wait(30)
    end)
    T.err("timeout", r, msg, code)
    between(dt, 0.35, 5, "async")
    local rs, errs
    dt, rs, errs = elapsed(function()
        return c:request_batch({ { "GET", url }, { "GET", T.url("/echo") } })
    end)
    T.not_nil(errs)
    -- a batch gives messages only (libcurl words them per version): the
    -- code is the async case's above; here the failure and its timing
    T.is_nil(rs[1])
    T.contains(errs[1], url)
    T.eq(rs[2].status_code, 200)
    between(dt, 0.35, 5, "batch")
    c:close()
end)

T.test("idle_timeout: a body that stops is abandoned after about idle_timeout", function()
    local dt, r, msg, code = elapsed(function()
        return http.new():get(T.url("/stall-body"), { idle_timeout = 1 })
    end)
    msg = T.err("timeout", r, msg, code)
    T.contains(msg, "idle_timeout")
    between(dt, 0.9, 4.5, "idle_timeout 1")
    -- as a string, through the async path
    dt, r, msg, code = elapsed(function()
        return http.new():get_async(T.url("/stall-body"), { idle_timeout = "1s" }):wait(10)
    end)
    T.err("timeout", r, msg, code)
    between(dt, 0.9, 4.5, "idle_timeout \"1s\"")
end)

T.test("idle_timeout: waiting for the first byte counts; a slow but steady body does not", function()
    local dt, r, msg, code = elapsed(function()
        return http.new():get(T.url("/slow?ms=20000"), { idle_timeout = 1 })
    end)
    T.err("timeout", r, msg, code)
    between(dt, 0.9, 4.5, "no answer")
    -- 6 chunks 500 ms apart: 2.5 s in all, longer than the idle_timeout of
    -- 2 s, and never more than 0.5 s without a byte (a loaded machine may
    -- stretch a gap; it takes a 2 s stall to trip it)
    local r2 = T.res(200, http.new():get(T.url("/drip?chunks=6&interval_ms=500&size=3"), { idle_timeout = 2 }))
    T.eq(r2.body, "000111222333444555")
end)

T.test("timeout: the total limit covers a steady body", function()
    local dt, r, msg, code = elapsed(function()
        return http.new():get(T.url("/drip?chunks=10&interval_ms=200"), { timeout = 0.5 })
    end)
    T.err("timeout", r, msg, code)
    between(dt, 0.45, 10, "timeout 0.5")
end)

-- ---- size limits ----

T.test("response headers: 5,000 header lines fail with too_large", function()
    local msg = T.err("too_large", http.new():get(T.url("/many-headers?n=5000")))
    T.contains(msg, "headers")
    T.res(200, http.new():get(T.url("/many-headers?n=900")))
end)

T.test("response headers: one 200 KB header line is too_large, not a crash; the client goes on", function()
    local c = http.new()
    local msg = T.err("too_large", c:get(T.url("/big-header?size=200000")))
    T.contains(msg, "headers")
    T.res(200, c:get(T.url("/big-header?size=90000")))
    T.res(200, c:get(T.url("/echo")))
    -- over HTTP/2 too (nginx's own headers are small: many normal ones pass)
    c:close()
end)

T.test("max_body_size: an endless chunked body stops with too_large", function()
    local dt, r, msg, code = elapsed(function()
        return http.new():get(T.url("/endless"), { max_body_size = 1024 * 1024 })
    end)
    T.contains(T.err("too_large", r, msg, code), "max_body_size")
    T.lt(dt, 20, "seconds (a hang, not a speed limit)")
    -- announced by Content-Length: refused before the body
    T.err("too_large", http.new():get(T.url("/bytes?n=2000000"), { max_body_size = 1000000 }))
    T.res(200, http.new():get(T.url("/bytes?n=1000000"), { max_body_size = 1000000 }))
end)

T.test("max_body_size: over HTTP/2 and TLS", function()
    S.start()
    local o = { ca_file = S.cert("ca.pem"), max_body_size = 100000 }
    T.err("too_large", http.new():get(S.https("good", "/big.txt"), o))
    o.max_body_size = #S.big_text
    local r = T.res(200, http.new():get(S.https("good", "/big.txt"), o))
    T.eq(r.http_version, "2")
    T.eq(r.body_size, #S.big_text)
end)

-- ---- Unix sockets ----

local unix_path
local function unix_fixture()
    if not unix_path then
        unix_path = T.tmpfile("fixture.sock")
        T.spawn_server("fixture_unix", "python3 " .. T.shq(T.root .. "/tests/fixture/server.py")
            .. " --unix " .. T.shq(unix_path) .. " --port-file %PORTFILE% --watch-pid " .. T.pid
            .. " --lifetime 300")
    end
    return unix_path
end

T.test("unix_socket: requests go to a server on a Unix socket", function()
    local path = unix_fixture()
    local c = http.new()
    local r = T.res(200, c:get("http://localhost/echo?u=1", { unix_socket = path }))
    local e = T.echo(r.body)
    T.eq(e.query, "u=1")
    T.eq(T.echo_header(e, "Host"), "localhost")
    -- async, batch and as a client default
    r = T.res(200, c:get_async("http://localhost/echo?u=2", { unix_socket = path }):wait(5))
    T.eq(T.echo(r.body).query, "u=2")
    local rs, errs = c:request_batch({ { "GET", "http://anyname.invalid/echo?u=3", { unix_socket = path } } })
    T.is_nil(errs)
    T.eq(T.echo(rs[1].body).query, "u=3")
    local d = http.new({ unix_socket = path })
    T.eq(T.echo(T.res(200, d:post("http://localhost/echo", { body = "abc" })).body).body_length, 3)
    -- the connection is kept and reused
    T.res(200, d:get("http://localhost/stats/reset"))
    for _ = 1, 3 do
        T.res(200, d:get("http://localhost/echo"))
    end
    T.match(T.res(200, d:get("http://localhost/stats")).body, "^connections 0\n")
    d:close()
    c:close()
end)

T.test("unix_socket: a missing socket is a connect error", function()
    T.err("connect", http.new():get("http://localhost/", { unix_socket = T.tmpfile("no-such.sock") }))
    T.err("invalid_argument", http.get("http://localhost/", { unix_socket = 5 }))
end)

-- ---- retries ----

T.test("retries: a refused connection is tried 1 + retries times, with growing delays", function()
    local dt, r, msg, code = elapsed(function()
        return http.new():get(T.refused_url, { retries = 2, retry_delay = 0.1 })
    end)
    T.err("connect", r, msg, code)
    -- 0.1 s then 0.2 s between the three attempts
    between(dt, 0.29, 5, "retries 2 x 0.1 doubled")
    -- no retry: one would wait retry_delay first
    dt, r, msg, code = elapsed(function()
        return http.new():get(T.refused_url, { retries = 0, retry_delay = 10 })
    end)
    T.err("connect", r, msg, code)
    T.lt(dt, 5)
end)

T.test("retries: 503 is retried; the last answer comes back with response.retries", function()
    local key = S.marker("k503")
    local r = T.res(503, http.new():get(T.url("/flaky?fail=10&key=" .. key), { retries = 2, retry_delay = 0.05 }))
    T.eq(r.body, "flaky 3", "three attempts")
    T.eq(r.retries, 2)
    key = S.marker("k503b")
    r = T.res(200, http.new():get(T.url("/flaky?fail=1&key=" .. key), { retries = 2, retry_delay = 0.05 }))
    T.eq(r.body, "flaky 2")
    T.eq(r.retries, 1)
    r = T.res(200, http.new():get(T.url("/echo")))
    T.eq(r.retries, 0)
end)

T.test("retries: Retry-After (seconds) is honoured", function()
    local key = S.marker("kra")
    local dt, r = elapsed(function()
        return http.new():get(T.url("/flaky?fail=1&retry_after=1&key=" .. key), { retries = 2, retry_delay = 0.05 })
    end)
    T.res(200, r)
    T.eq(r.retries, 1)
    between(dt, 0.95, 5, "Retry-After: 1")
    -- a Retry-After beyond the total timeout ends the retries with the 503
    -- at once (not after waiting out the 20 s)
    key = S.marker("kra2")
    dt, r = elapsed(function()
        return http.new():get(T.url("/flaky?fail=1&retry_after=50&key=" .. key), { retries = 2, timeout = 20 })
    end)
    T.res(503, r)
    T.eq(r.retries, 0)
    T.lt(dt, 10)
end)

T.test("retries: POST is never retried, PUT and DELETE are, 429 is", function()
    local key = S.marker("kpost")
    local r = T.res(503, http.new():post(T.url("/flaky?fail=5&key=" .. key), { body = "x", retries = 3, retry_delay = 0.01 }))
    T.eq(r.body, "flaky 1")
    T.eq(r.retries, 0)
    T.err("connect", http.new():post(T.refused_url, { body = "x", retries = 3, retry_delay = 0.3 }))
    key = S.marker("kput")
    r = T.res(200, http.new():put(T.url("/flaky?fail=1&key=" .. key), { body = "x", retries = 1, retry_delay = 0.01 }))
    T.eq(r.body, "flaky 2")
    key = S.marker("kdel")
    r = T.res(200, http.new():delete(T.url("/flaky?fail=1&key=" .. key), { retries = 1, retry_delay = 0.01 }))
    T.eq(r.retries, 1)
    r = T.res(429, http.new():get(T.url("/status/429"), { retries = 1, retry_delay = 0.01 }))
    T.eq(r.retries, 1)
    -- other statuses are answers
    r = T.res(500, http.new():get(T.url("/status/500"), { retries = 3, retry_delay = 0.01 }))
    T.eq(r.retries, 0)
end)

T.test("retries: an idle timeout before any byte is retried, one after the body started is not", function()
    local dt, r, msg, code = elapsed(function()
        return http.new():get(T.url("/stall"), { idle_timeout = 1, retries = 1, retry_delay = 0.05 })
    end)
    T.err("timeout", r, msg, code)
    between(dt, 1.9, 9, "two idle timeouts")
    -- a retry would wait the 20 s retry_delay first
    dt, r, msg, code = elapsed(function()
        return http.new():get(T.url("/stall-body"), { idle_timeout = 1, retries = 2, retry_delay = 20 })
    end)
    T.err("timeout", r, msg, code)
    between(dt, 0.9, 9, "one idle timeout")
end)

T.test("retries: async and batch requests retry too", function()
    local c = http.new({ retries = 2, retry_delay = 0.02 })
    local k1, k2 = S.marker("ka"), S.marker("kb")
    local r = T.res(200, c:get_async(T.url("/flaky?fail=2&key=" .. k1)):wait(5))
    T.eq(r.retries, 2)
    local rs, errs = c:request_batch({ { "GET", T.url("/flaky?fail=1&key=" .. k2) }, { "GET", T.url("/echo") } })
    T.is_nil(errs)
    T.eq(rs[1].retries, 1)
    T.eq(rs[2].retries, 0)
    T.err("invalid_argument", http.get(T.url("/echo"), { retries = 11 }))
    T.err("invalid_argument", http.get(T.url("/echo"), { retries = 1.5 }))
    T.err("invalid_argument", http.get(T.url("/echo"), { retry_delay = "soon" }))
    c:close()
end)

-- ---- verbose ----

local function no_secrets(trace, secrets)
    for _, s in ipairs(secrets) do
        T.not_contains(trace, s)
    end
end

T.test("verbose: the trace shows the exchange with credentials masked (HTTP/1.1)", function()
    local r = T.res(200, http.new():get(T.url("/basic-auth?user=alice&pass=s3cretPW"), {
        verbose = true, auth = { user = "alice", pass = "s3cretPW" },
        cookies = { session = "cookieSECRET" }, headers = { ["X-Visible"] = "shown" },
    }))
    local tr = T.is_type(r.trace, "string")
    T.contains(tr, "> GET /basic-auth?user=alice&pass=s3cretPW HTTP/1.1")
    T.contains(tr, "< HTTP/1.1 200")
    T.contains(tr, "> X-Visible: shown")
    T.contains(tr, "> Authorization: ***")
    T.contains(tr, "> Cookie: ***")
    -- (the URL itself is the caller's: only headers are masked)
    local tr_no_url = tr:gsub("/basic%-auth%?user=alice&pass=s3cretPW", "")
    no_secrets(tr_no_url, { "s3cretPW", "YWxpY2U6czNjcmV0UFc=", "cookieSECRET" })
    T.is_nil(T.res(200, http.get(T.url("/echo"))).trace, "no trace unless asked")
end)

T.test("verbose: credentials are masked over HTTP/2 and through a proxy", function()
    S.start()
    local r = T.res(200, http.new():get(S.https("good"), {
        ca_file = S.cert("ca.pem"), verbose = true, auth = { user = "bob", pass = "h2SECRETpw" },
        headers = { Cookie = "sid=h2COOKIE" },
    }))
    T.eq(r.http_version, "2")
    T.contains(r.trace, "< HTTP/2 200")
    T.match(r.trace, "> GET /hello HTTP/2")
    no_secrets(r.trace, { "h2SECRETpw", "Ym9iOmgyU0VDUkVUcHc=", "h2COOKIE" })
    r = T.res(200, http.new():get(S.http("plain"), {
        verbose = true, proxy = S.proxy_url("proxy_auth"),
        proxy_auth = { user = "proxyuser", pass = "proxysecret" },
    }))
    T.contains(r.trace, "> Proxy-Authorization: ***")
    no_secrets(r.trace, { "proxysecret", "cHJveHl1c2VyOnByb3h5c2VjcmV0" })
end)

T.test("verbose: async, batch and client default", function()
    local c = http.new({ verbose = true })
    local r = T.res(200, c:get_async(T.url("/echo")):wait(5))
    T.contains(r.trace, "> GET /echo HTTP/1.1")
    local rs = c:request_batch({ { "GET", T.url("/echo?b=1") } })
    T.contains(rs[1].trace, "> GET /echo?b=1 HTTP/1.1")
    T.is_nil(T.res(200, c:get(T.url("/echo"), { verbose = false })).trace)
    c:close()
end)

-- ---- timings ----

T.test("timings: fresh connections measure in order; remote_ip is the server's", function()
    local r = T.res(200, http.new():get(T.url("/slow?ms=50")))
    local t = r.timings
    for _, k in ipairs({ "dns", "connect", "tls", "first_byte", "total" }) do
        T.is_type(t[k], "number", k)
        T.ge(t[k], 0, k)
    end
    T.ok(t.connect > 0, "connect > 0")
    T.eq(t.tls, 0, "no TLS on http://")
    T.ge(t.first_byte, t.connect, "first_byte >= connect")
    T.ge(t.first_byte, 0.05, "first_byte includes the server's 50 ms")
    T.ge(t.total, t.first_byte, "total >= first_byte")
    T.eq(r.remote_ip, "127.0.0.1")
    S.start()
    r = T.res(200, http.new():get(S.https("good"), { ca_file = S.cert("ca.pem") }))
    t = r.timings
    T.ok(t.tls > 0, "tls > 0")
    T.ge(t.tls, t.connect, "tls >= connect")
    T.ge(t.first_byte, t.tls, "first_byte >= tls")
    T.ge(t.total, t.first_byte, "total >= first_byte")
    -- localhost is 127.0.0.1 or ::1, as the machine's /etc/hosts says
    T.ok(r.remote_ip == "127.0.0.1" or r.remote_ip == "::1", r.remote_ip)
end)
