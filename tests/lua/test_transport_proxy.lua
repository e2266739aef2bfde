-- Proxies: Debian's tinyproxy on loopback, started by the tests with its
-- own config (tests/transport/servers.lua). Its log proves what went
-- through it: "GET http://..." lines for plain HTTP, "CONNECT host:port"
-- for HTTPS tunnels.
local T = require("support")
package.path = T.root .. "/tests/?.lua;" .. package.path
local S = require("transport.servers")
local R = require("reliability")
local http = require("ljhttp")

local function ca()
    return S.cert("ca.pem")
end

local function count(s, plain)
    local n, i = 0, 1
    while true do
        local a, b = s:find(plain, i, true)
        if not a then
            return n
        end
        n, i = n + 1, b + 1
    end
end

local function connects(name)
    return count(S.proxy_log(name), "CONNECT localhost:" .. S.port.good .. " HTTP/1.1")
end

-- Runs a script in a child luajit with no proxy variable but those given
-- in env; returns what it wrote. SRC sees http, ffi (with setenv), via(r)
-- and URL(path).
local function child_script(env, src)
    return (R.child("local http = require('ljhttp')\n"
        .. "local ffi = require('ffi')\n"
        .. "ffi.cdef('int setenv(const char *, const char *, int);')\n"
        .. "local function via(r, e) return r and tostring(r.headers['Via']):match('tinyproxy') and 'proxy' or r and 'direct' or tostring(e) end\n"
        .. "local function URL(p) return " .. string.format("%q", S.http("plain", "")) .. " .. p end\n"
        .. src, "env -u no_proxy -u NO_PROXY -u all_proxy -u ALL_PROXY -u https_proxy -u HTTPS_PROXY "
        .. "-u http_proxy -u HTTP_PROXY " .. env))
end

-- Runs one GET in such a child; returns its one-line report ("status 200
-- via ..." or "error <code>").
local function child(env, url, opts_src)
    return child_script(env, "local r, e, c = http.get(" .. string.format("%q", url) .. ", " .. (opts_src or "nil") .. ")\n"
        .. "io.write(r and ('status ' .. r.status_code .. ' via ' .. tostring(r.headers['Via'])) or ('error ' .. tostring(c) .. ' ' .. tostring(e)))\n")
end

T.test("proxy: plain http goes through the proxy", function()
    S.start()
    local m = S.marker("plain")
    local r = T.res(200, http.new():get(S.http("plain", "/hello?" .. m), { proxy = S.proxy_url() }))
    T.match(r.headers["Via"], "tinyproxy")
    T.contains(S.proxy_log(), "GET http://127.0.0.1:" .. S.port.plain .. "/hello?" .. m .. " HTTP/1.1")
end)

T.test("proxy: https goes through a CONNECT tunnel and is still verified", function()
    S.start()
    local before = connects()
    local r = T.res(200, http.new():get(S.https("good"), { proxy = S.proxy_url(), ca_file = ca() }))
    T.eq(r.http_version, "2")
    T.eq(connects(), before + 1, "CONNECT lines in the proxy log")
    -- verification is end to end: the unknown CA still fails through the tunnel
    T.err("tls", http.new():get(S.https("good"), { proxy = S.proxy_url() }))
    T.err("tls", http.new():get(S.https("self"), { proxy = S.proxy_url(), ca_file = ca() }))
end)

T.test("proxy: proxy_auth against a proxy with BasicAuth", function()
    S.start()
    local p = S.proxy_url("proxy_auth")
    local good = { user = "proxyuser", pass = "proxysecret" }
    -- plain http: the proxy's 407 is a response
    local r = T.res(407, http.new():get(S.http("plain"), { proxy = p }))
    -- (tinyproxy 1.11 answers wrong credentials with 401)
    r = T.res(nil, http.new():get(S.http("plain"), { proxy = p, proxy_auth = { user = "proxyuser", pass = "nope" } }))
    T.ok(r.status_code == 401 or r.status_code == 407, "status " .. r.status_code)
    local m = S.marker("auth")
    r = T.res(200, http.new():get(S.http("plain", "/hello?" .. m), { proxy = p, proxy_auth = good }))
    T.match(r.headers["Via"], "tinyproxy")
    T.contains(S.proxy_log("tinyproxy_auth"), "/hello?" .. m)
    -- https: a refused tunnel is an error (no response to return)
    local msg = T.err("connect", http.new():get(S.https("good"), { proxy = p, ca_file = ca() }))
    T.contains(msg, "407")
    msg = T.err("connect", http.new():get(S.https("good"),
        { proxy = p, ca_file = ca(), proxy_auth = { user = "proxyuser", pass = "badpass123" } }))
    T.not_contains(msg, "badpass123")
    r = T.res(200, http.new():get(S.https("good"), { proxy = p, ca_file = ca(), proxy_auth = good }))
    T.eq(r.http_version, "2")
    -- the proxy credentials never reach the origin server
    local e = T.echo(T.res(200, http.get(T.url("/echo"), { proxy = p, proxy_auth = good })).body)
    T.eq(#T.echo_headers(e, "Proxy-Authorization"), 0)
    T.eq(#T.echo_headers(e, "Authorization"), 0)
    T.err("invalid_argument", http.get(T.url("/echo"), { proxy = p, proxy_auth = { user = "x" } }))
    T.err("invalid_argument", http.get(T.url("/echo"), { proxy = p, proxy_auth = "x:y" }))
end)

T.test("proxy: no_proxy bypasses the proxy for matching hosts", function()
    S.start()
    local m = S.marker("noproxy")
    local r = T.res(200, http.new():get(S.http("plain", "/hello?" .. m), { proxy = S.proxy_url(), no_proxy = "127.0.0.1" }))
    T.is_nil(r.headers["Via"])
    T.not_contains(S.proxy_log(), m)
    -- a list where another host matches does not bypass
    m = S.marker("noproxy2")
    r = T.res(200, http.new():get(S.http("plain", "/hello?" .. m), { proxy = S.proxy_url(), no_proxy = "example.invalid,localhost" }))
    T.match(r.headers["Via"], "tinyproxy")
    T.contains(S.proxy_log(), m)
    -- "*" bypasses everything
    r = T.res(200, http.new():get(S.https("good"), { proxy = S.proxy_url("proxy_auth"), no_proxy = "*", ca_file = ca() }))
end)

T.test("proxy: the http_proxy environment variable is honoured; proxy = false ignores it", function()
    S.start()
    local env = "http_proxy=" .. S.proxy_url()
    local m = S.marker("env")
    local out = child(env, S.http("plain", "/hello?" .. m))
    T.match(out, "^status 200 via .*tinyproxy")
    T.contains(S.proxy_log(), "/hello?" .. m)
    m = S.marker("envoff")
    out = child(env, S.http("plain", "/hello?" .. m), "{ proxy = false }")
    T.eq(out, "status 200 via nil")
    T.not_contains(S.proxy_log(), m)
    -- no_proxy from the environment is honoured too
    m = S.marker("envno")
    out = child(env .. " no_proxy=127.0.0.1", S.http("plain", "/hello?" .. m))
    T.eq(out, "status 200 via nil")
    T.not_contains(S.proxy_log(), m)
    -- https_proxy for https URLs (a CONNECT tunnel)
    local before = connects()
    out = child("https_proxy=" .. S.proxy_url(), S.https("good"), "{ ca_file = " .. string.format("%q", ca()) .. " }")
    T.match(out, "^status 200")
    T.eq(connects(), before + 1)
    -- an explicit proxy wins over the environment (a dead one: the request fails)
    out = child(env, S.http("plain"), "{ proxy = 'http://127.0.0.1:1' }")
    T.match(out, "^error connect")
end)

T.test("proxy: the environment is read when a client is made, as libcurl would read it", function()
    S.start()
    local p = S.proxy_url()
    -- a client made before the variable is set keeps going direct; one made after uses it
    local out = child_script("", "local a = http.new()\n"
        .. "io.write(via(a:get(URL('/hello?snap1'))), ' ')\n"
        .. "ffi.C.setenv('http_proxy', " .. string.format("%q", p) .. ", 1)\n"
        .. "io.write(via(a:get(URL('/hello?snap2'))), ' ', via(http.new():get(URL('/hello?snap3'))))\n")
    T.eq(out, "direct direct proxy")
    -- HTTP_PROXY is never read for http (a CGI request header could set it);
    -- an empty http_proxy counts as unset, so all_proxy applies
    out = child_script("HTTP_PROXY=" .. p, "io.write(via(http.get(URL('/hello?upper'))))")
    T.eq(out, "direct")
    out = child_script("http_proxy= all_proxy=" .. p, "io.write(via(http.get(URL('/hello?all'))))")
    T.eq(out, "proxy")
    -- no_proxy in the environment also bypasses an explicit proxy; an
    -- explicit no_proxy replaces the variable
    out = child_script("no_proxy=127.0.0.1", "local c = http.new({ proxy = " .. string.format("%q", p) .. " })\n"
        .. "io.write(via(c:get(URL('/hello?np1'))), ' ', via(c:get(URL('/hello?np2'), { no_proxy = 'example.invalid' })))")
    T.eq(out, "direct proxy")
    -- a client's http and https requests take each its own variable, and
    -- async requests the same as blocking ones
    local before = connects()
    out = child_script("https_proxy=" .. p, "local c = http.new({ ca_file = " .. string.format("%q", ca()) .. " })\n"
        .. "io.write(via(c:get(URL('/hello?mix1'))), ' ')\n"
        .. "local r = c:get(" .. string.format("%q", S.https("good")) .. ")\n"
        .. "io.write(r and r.status_code or 'failed', ' ', via(c:request_async('GET', URL('/hello?mix2')):wait()))")
    T.eq(out, "direct 200 direct")
    T.eq(connects(), before + 1, "CONNECT lines in the proxy log")
    T.not_contains(S.proxy_log(), "snap2")
    T.contains(S.proxy_log(), "snap3")
end)

T.test("proxy: the variables chosen per hop on a reused handle, kept for no_proxy and WebSocket", function()
    S.start()
    local dead = "http://127.0.0.1:9"
    local fixture = T.url("/hello")
    -- plain GETs on one client share a pooled handle: the https one (and
    -- the https hop of a redirect) must take https_proxy, the http ones not
    local out = child_script("https_proxy=" .. dead, "local c = http.new()\n"
        .. "local function w(r, e, code) io.write(r and 'direct' or code, ' ') end\n"
        .. "w(c:get(URL('/hello?hop1')))\n"
        .. "w(c:get(" .. string.format("%q", S.https("good")) .. "))\n"
        .. "w(c:get(URL('/hello?hop2')))\n"
        .. "w(c:get(" .. string.format("%q", T.url("/redirect-to?url=") .. S.https("good")) .. "))\n"
        .. "w(c:get(URL('/hello?hop3')))\n")
    T.eq(out, "direct connect direct connect direct ")
    -- no_proxy set after the client was made is not seen either
    out = child_script("http_proxy=" .. S.proxy_url(), "local c = http.new()\n"
        .. "ffi.C.setenv('no_proxy', '127.0.0.1', 1)\n"
        .. "io.write(via(c:get(URL('/hello?npsnap1'))), ' ', via(http.new():get(URL('/hello?npsnap2'))))\n")
    T.eq(out, "proxy direct")
    -- a WebSocket handshake takes the client's variables too: direct, it
    -- reaches the fixture (an HTTP server, which refuses the upgrade);
    -- through the dead proxy it cannot connect
    out = child_script("", "local c = http.new()\n"
        .. "ffi.C.setenv('http_proxy', " .. string.format("%q", dead) .. ", 1)\n"
        .. "local ws = " .. string.format("%q", (fixture:gsub("^http", "ws"))) .. "\n"
        .. "local _, _, a = c:websocket(ws)\n"
        .. "local _, _, b = http.new():websocket(ws)\n"
        .. "io.write(tostring(a), ' ', tostring(b))\n")
    local a, b = out:match("^(%S+) (%S+)$")
    T.ok(a and a ~= "connect" and a ~= "nil", "the first client's handshake: " .. out)
    T.eq(b, "connect", out)
end)

T.test("proxy: proxy = false as a client default", function()
    S.start()
    local out = child("http_proxy=" .. S.proxy_url(), S.http("plain"), "nil")
    T.match(out, "tinyproxy")
    -- (the child above used the default client; here a client default)
    out = child_script("http_proxy=" .. S.proxy_url(), "local c = http.new({ proxy = false })\n"
        .. "local r = c:get(" .. string.format("%q", S.http("plain")) .. ")\n"
        .. "io.write(tostring(r and r.headers['Via']))\n")
    T.eq(out, "nil")
end)

T.test("proxy: unsupported proxy schemes and bad values", function()
    T.err("unsupported_scheme", http.get(T.url("/echo"), { proxy = "ftp://127.0.0.1:21" }))
    T.err("unsupported_scheme", http.get(T.url("/echo"), { proxy = "gopher://127.0.0.1" }))
    T.err("invalid_argument", http.get(T.url("/echo"), { proxy = 8080 }))
    T.err("invalid_argument", http.get(T.url("/echo"), { proxy = true }))
    T.err("invalid_argument", http.get(T.url("/echo"), { proxy = "http://127.0.0.1:1\r\nX: y" }))
    -- a proxy that does not answer is a connect error
    T.err("connect", http.new():get(T.url("/echo"), { proxy = "http://127.0.0.1:1" }))
end)

T.test("proxy: async and batch requests go through the proxy", function()
    S.start()
    local c = http.new({ proxy = S.proxy_url() })
    local m1, m2, m3 = S.marker("async"), S.marker("batch"), S.marker("batch")
    local r = T.res(200, c:get_async(S.http("plain", "/hello?" .. m1), nil, nil):wait(10))
    T.match(r.headers["Via"], "tinyproxy")
    local before = connects()
    local rs, errs = c:request_batch({
        { "GET", S.http("plain", "/hello?" .. m2) },
        { "GET", S.http("plain", "/hello?" .. m3) },
        { "GET", S.https("good"), { ca_file = ca() } },
    })
    T.is_nil(errs)
    T.eq(rs[3].http_version, "2")
    local log = S.proxy_log()
    T.contains(log, m1)
    T.contains(log, m2)
    T.contains(log, m3)
    T.eq(connects(), before + 1)
    c:close()
end)

-- ---- SOCKS5 (Debian's microsocks) ----

local function need_socks()
    S.start()
    if not S.have.socks then
        T.skip("microsocks is not installed (sh tools/deps.sh test)")
    end
end

T.test("proxy: socks5:// resolves locally, socks5h:// lets the proxy resolve", function()
    need_socks()
    local r = T.res(200, http.new():get(T.url("/echo?socks=1"), { proxy = S.proxy_url("socks", "socks5") }))
    T.eq(T.echo(r.body).query, "socks=1")
    T.contains(S.socks_log(), "connected to 127.0.0.1:" .. T.port)
    -- the proxy resolves localhost, to ::1 or 127.0.0.1 (both listen)
    r = T.res(200, http.new():get(S.http("plain", "/hello", "localhost"), { proxy = S.proxy_url("socks", "socks5h") }))
    T.contains(S.socks_log(), "connected to localhost:" .. S.port.plain)
    -- https through SOCKS, verified end to end
    r = T.res(200, http.new():get(S.https("good"), { proxy = S.proxy_url("socks", "socks5h"), ca_file = ca() }))
    T.eq(r.http_version, "2")
    T.contains(S.socks_log(), "connected to localhost:" .. S.port.good)
end)

T.test("proxy: socks5h works when the proxy resolves localhost to ::1 first", function()
    need_socks()
    if not S.have.socks_v6first then
        T.skip("no IPv6 loopback or no unshare -m here: cannot give the proxy a ::1-first /etc/hosts")
    end
    local p = S.proxy_url("socks_v6first", "socks5h")
    T.res(200, http.new():get(S.http("plain", "/hello", "localhost"), { proxy = p }))
    local r = T.res(200, http.new():get(S.https("good"), { proxy = p, ca_file = ca() }))
    T.eq(r.http_version, "2")
    T.contains(S.socks_log("socks_v6first"), "connected to localhost:" .. S.port.good)
end)

T.test("proxy: socks5 with proxy_auth", function()
    need_socks()
    local p = S.proxy_url("socks_auth", "socks5")
    T.err("connect", http.new():get(T.url("/echo"), { proxy = p }))
    local msg = T.err("connect", http.new():get(T.url("/echo"), { proxy = p, proxy_auth = { user = "socksuser", pass = "badSOCKS" } }))
    T.not_contains(msg, "badSOCKS")
    T.res(200, http.new():get(T.url("/echo"), { proxy = p, proxy_auth = { user = "socksuser", pass = "sockspass" } }))
    -- user:pass in the proxy URL works too
    T.res(200, http.new():get(T.url("/echo"), { proxy = "socks5://socksuser:sockspass@127.0.0.1:" .. S.port.socks_auth }))
    local r, m = http.new():get(T.url("/echo"), { verbose = true,
        proxy = "socks5://socksuser:urlSECRET@127.0.0.1:" .. S.port.socks_auth })
    T.is_nil(r)
    T.not_contains(m, "urlSECRET")
end)
