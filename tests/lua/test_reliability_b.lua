-- Reliability group B (../shared/reliability-cases.md 18-43): network and
-- server faults, mostly played by tests/fixture/faults.py. Each case goes
-- through R.case: deadline, nil/message/code, no secret, descriptors and
-- Lua heap back to their baseline.
local T = require("support")
local R = require("reliability")
local http = require("ljhttp")

local MiB = 1024 * 1024

T.test("B18 refused port: connect, fast", function()
    R.case({ label = "refused", code = "connect", deadline = 1, call = function(c)
        return c:get(T.refused_url, { timeout = 5 })
    end })
end)

T.test("B19 unresolvable name: dns", function()
    local r = T.call(http.get, "http://nonexistent.invalid/", { timeout = 5 })
    if r[3] == "timeout" then
        T.skip("the system resolver did not answer within 5 s: " .. tostring(r[2]))
    end
    R.case({ label = ".invalid", code = "dns", deadline = 5, call = function(c)
        return c:get("http://nonexistent.invalid/", { timeout = 5 })
    end })
end)

T.test("B20 black-hole address: timeout at the connect timeout", function()
    local port = T.res(200, http.get(R.furl("/backlog-full"))).body
    local _, dt = R.case({ label = "full backlog", code = "timeout", deadline = 0.5, min = 0.45,
        call = function(c)
            return c:get("http://127.0.0.1:" .. port .. "/", { connect_timeout = 0.5 })
        end })
    R.timings = R.timings or {}
    R.timings[#R.timings + 1] = string.format("B20 connect_timeout 0.5 s -> %.3f s", dt)
end)

T.test("B21 accepts and never answers: timeout at the deadline", function()
    local port = T.res(200, http.get(R.furl("/silent-port"))).body
    local _, dt = R.case({ label = "silent listener", code = "timeout", deadline = 0.5, min = 0.45,
        call = function(c)
            return c:get("http://127.0.0.1:" .. port .. "/", { timeout = 0.5 })
        end })
    R.case({ label = "request read, never answered", code = "timeout", deadline = 0.5, min = 0.45,
        call = function(c)
            return c:get(R.furl("/accept-never"), { timeout = 0.5 })
        end })
    R.case({ label = "idle_timeout", code = "timeout", deadline = 1, min = 0.95, match = "idle",
        call = function(c)
            return c:get(R.furl("/accept-never"), { idle_timeout = 1 })
        end })
    R.timings = R.timings or {}
    R.timings[#R.timings + 1] = string.format("B21 timeout 0.5 s -> %.3f s", dt)
end)

T.test("B22 one header byte per second forever: timeout", function()
    local _, dt = R.case({ label = "stall headers", code = "timeout", deadline = 1.5, min = 1.4,
        call = function(c)
            return c:get(R.furl("/stall-headers?interval_ms=200"), { timeout = 1.5 })
        end })
    R.timings = R.timings or {}
    R.timings[#R.timings + 1] = string.format("B22 timeout 1.5 s -> %.3f s", dt)
end)

T.test("B23 endless body without length: too_large at max_body_size, memory bounded", function()
    R.case({ label = "endless, 1 MiB", code = "too_large", deadline = 2, match = "max_body_size",
        rss_kb = 16 * 1024, call = function(c)
            return c:get(R.furl("/endless-nolen"), { max_body_size = MiB })
        end })
    R.case({ label = "endless, 16 MiB", code = "too_large", deadline = 3, rss_kb = 48 * 1024,
        call = function(c)
            return c:get(R.furl("/endless-nolen"), { max_body_size = 16 * MiB })
        end })
end)

T.test("B24 1 GiB announced with Content-Length, limit 16 MiB: too_large before reading", function()
    for _, th in ipairs({ "stall", "close" }) do
        R.case({ label = "huge-cl then " .. th, code = "too_large", deadline = 0.5, rss_kb = 8 * 1024,
            match = "max_body_size", call = function(c)
                return c:get(R.furl("/huge-cl?then=" .. th), { max_body_size = 16 * MiB })
            end })
    end
    -- the default limit (256 MiB) refuses it as well
    R.case({ label = "huge-cl, default limit", code = "too_large", deadline = 0.5, rss_kb = 8 * 1024,
        call = function(c)
            return c:get(R.furl("/huge-cl"))
        end })
end)

T.test("B25 1 GiB chunked, limit 16 MiB: too_large, memory bounded", function()
    R.case({ label = "huge-chunked", code = "too_large", deadline = 3, rss_kb = 64 * 1024,
        call = function(c)
            return c:get(R.furl("/huge-chunked"), { max_body_size = 16 * MiB })
        end })
    R.case({ label = "one 1 GiB chunk", code = "too_large", deadline = 3, rss_kb = 64 * 1024,
        call = function(c)
            return c:get(R.furl("/huge-chunked?one=1"), { max_body_size = 16 * MiB })
        end })
end)

T.test("B26 gzip and brotli bombs with decompression: too_large on decoded bytes", function()
    R.case({ label = "gzip bomb", code = "too_large", deadline = 3, rss_kb = 64 * 1024,
        match = "max_body_size", call = function(c)
            return c:get(R.furl("/gzip-bomb"), { decompress = true, max_body_size = 16 * MiB })
        end })
    local info = http.info()
    if not info.curl_version then
        T.skip("no libcurl version")
    end
    R.case({ label = "brotli bomb", code = "too_large", deadline = 3, rss_kb = 64 * 1024,
        match = "max_body_size", call = function(c)
            return c:get(R.furl("/br-bomb"), { decompress = true, max_body_size = 16 * MiB })
        end })
    -- without decompression the compressed bytes are the body
    local r = R.case({ label = "brotli, not decoded", code = false, call = function(c)
        return c:get(R.furl("/br-bomb"), { max_body_size = 16 * MiB })
    end })
    T.eq(r.headers["Content-Encoding"], "br")
    T.eq(r.body_size, #r.body)
    T.lt(r.body_size, 4096)
end)

T.test("B27 closes mid-body: network, never a short success", function()
    R.case({ label = "1000 announced, 500 sent", code = "network", deadline = 1, call = function(c)
        return c:get(T.url("/close-mid"))
    end })
    R.case({ label = "raw short body", code = "network", deadline = 1, call = function(c)
        return c:get(R.raw("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"))
    end })
    R.case({ label = "huge-cl then close", code = "network", deadline = 1, call = function(c)
        return c:get(R.furl("/huge-cl?len=200000&send=1000&then=close"))
    end })
end)

T.test("B28 chunked without the last chunk; bad or overflowing sizes: error", function()
    for _, case in ipairs({ "missing-last", "bad-hex", "overflow", "huge", "negative" }) do
        R.case({ label = "bad chunk " .. case, code = { "protocol", "network" }, deadline = 1,
            call = function(c)
                return c:get(R.furl("/bad-chunk?case=" .. case))
            end })
    end
end)

T.test("B29 broken status lines: protocol", function()
    for _, case in ipairs({ "garbage", "2000", "abc", "1", "empty", "http09", "2000body", "nospace",
        "twospaces", "4digits", "badversion", "continue2000" }) do
        R.case({ label = "status line " .. case, code = "protocol", deadline = 1, call = function(c)
            return c:get(R.furl("/status-line?case=" .. case))
        end })
    end
    -- the same through a stream (the head must not be handed out)
    R.case({ label = "status 1 streamed", code = "protocol", deadline = 1, call = function(c)
        local h = c:get_async(R.furl("/status-line?case=1"), { on_chunk = function() end })
        return h:wait(2)
    end })
end)

T.test("B30 headers never finished, then close: error", function()
    R.case({ label = "headers never end", code = { "network", "protocol" }, deadline = 1, call = function(c)
        return c:get(R.furl("/headers-never-end?ms=100"))
    end })
    R.case({ label = "headers never end, timeout", code = "timeout", deadline = 0.5, min = 0.45,
        call = function(c)
            return c:get(R.furl("/headers-never-end?ms=5000"), { timeout = 0.5 })
        end })
end)

T.test("B31 10,000 response headers; one 200 KB header line: too_large", function()
    R.case({ label = "10,000 headers", code = "too_large", deadline = 2, match = "header",
        rss_kb = 16 * 1024, call = function(c)
            return c:get(T.url("/many-headers?n=10000"))
        end })
    local msg = R.case({ label = "200 KB line", code = "too_large", deadline = 2, match = "header",
        rss_kb = 16 * 1024, call = function(c)
            return c:get(T.url("/big-header?size=200000"))
        end })
    T.not_contains(msg, "max_body_size")
    R.case({ label = "300 KB over 30 lines", code = "too_large", deadline = 2, match = "header",
        call = function(c)
            local hs = {}
            for i = 1, 30 do
                hs[#hs + 1] = "X-L" .. i .. ": " .. string.rep("v", 10240)
            end
            return c:get(R.raw("HTTP/1.1 200 OK\r\n" .. table.concat(hs, "\r\n") .. "\r\nContent-Length: 0\r\n\r\n"))
        end })
end)

T.test("B32 NUL, bare CR and folded lines in header values: no crash, consistent", function()
    for _, path in ipairs({ "/header-nul", "/bare-cr", "/folded" }) do
        local first
        for round = 1, 2 do
            local got, _, code = R.case({ label = path .. " " .. round, code = "any", call = function(c)
                return c:get(R.furl(path))
            end })
            local shape
            if type(got) == "table" then
                T.eq(got.body, "ok")
                local parts = {}
                for _, h in ipairs(got.header_list) do
                    -- RFC 9110 5.5: CR and NUL in a value become spaces
                    T.ok(not h[2]:find("[\r\n%z]"), path .. ": CR, LF or NUL in a header value")
                    parts[#parts + 1] = h[1] .. "=" .. h[2]
                end
                shape = table.concat(parts, "|")
            else
                shape = "error " .. tostring(code) -- libcurl's wording varies by version
            end
            first = first or shape
            T.eq(shape, first, path .. ": the same result twice")
        end
        if path == "/folded" then
            T.contains(first, "X-Folded=one two three")
        elseif path == "/header-nul" then
            -- libcurl refuses a NUL in a header line itself
            T.ok(first == "error protocol" or first:find("X-Nul=a b", 1, true), "header-nul: " .. first)
        else
            -- libcurl 8.23 refuses a bare CR in a header line itself
            T.ok(first == "error protocol" or first:find("X-Cr=a b", 1, true), path .. ": " .. first)
        end
    end
end)

T.test("B33 conflicting, chunked-plus, negative and huge Content-Lengths: error", function()
    R.case({ label = "conflicting", code = { "protocol", "network" }, call = function(c)
        return c:get(R.furl("/conflicting-cl"))
    end })
    R.case({ label = "Content-Length and Transfer-Encoding", code = "protocol", match = "Transfer%-Encoding",
        call = function(c)
            return c:get(R.furl("/cl-and-te"))
        end })
    R.case({ label = "negative", code = "protocol", call = function(c)
        return c:get(R.furl("/negative-cl"))
    end })
    R.case({ label = "overflowing", code = { "protocol", "too_large" }, call = function(c)
        return c:get(R.furl("/overflow-cl"))
    end })
end)

T.test("B34 reset mid-transfer, both directions: network; no SIGPIPE death", function()
    R.case({ label = "reset mid-body", code = "network", deadline = 1, call = function(c)
        return c:get(R.furl("/reset-mid"))
    end })
    local body = string.rep("u", 8 * MiB)
    R.case({ label = "reset mid-upload", code = { "network", "connect" }, deadline = 3, call = function(c)
        return c:post(R.furl("/reset-upload?n=65536"), { body = body })
    end })
    -- a plain luajit child keeps SIGPIPE's default action (terminate)
    local out, ok = R.child([[
local http = require("ljhttp")
local body = string.rep("u", 8 * 1024 * 1024)
for i = 1, 5 do
    local r, msg, code = http.post(]] .. string.format("%q", R.furl("/reset-upload?n=1000")) .. [[, { body = body })
    io.write(tostring(code), " ")
    local r2, m2, c2 = http.get(]] .. string.format("%q", R.furl("/reset-mid")) .. [[)
    io.write(tostring(c2), " ")
end
print("alive")
]])
    T.ok(ok, "the child died: " .. out)
    T.contains(out, "alive")
end)

T.test("B35 1,000 100 Continue before the answer: no 1xx header in the response", function()
    local r = R.case({ label = "continue flood", code = false, deadline = 2, call = function(c)
        return c:get(R.furl("/continue-flood?n=1000"))
    end })
    T.eq(r.status_code, 200)
    T.eq(r.body, "done")
    T.eq(r.headers["X-Informational"], nil)
    for _, h in ipairs(r.header_list) do
        T.ne(h[1], "X-Informational")
    end
end)

T.test("B36 many Set-Cookie headers, a 5 KB cookie name: bounded, documented", function()
    -- under the 1,000-header cap: every cookie, the last one wins
    local r = R.case({ label = "500 cookies", code = false, warm = true, call = function(c)
        return c:get(R.furl("/many-cookies?n=500"))
    end })
    local n = 0
    for _ in pairs(r.cookies) do
        n = n + 1
    end
    T.eq(n, 500)
    T.eq(r.cookies.c499, "v499")
    -- over it: too_large, as for any header
    R.case({ label = "2,000 cookies", code = "too_large", match = "header", call = function(c)
        return c:get(R.furl("/many-cookies?n=2000"))
    end })
    -- with a jar: libcurl's jar takes at most 50 Set-Cookie lines from one
    -- response (MAX_SET_COOKIE_AMOUNT), and sends those back to the host
    -- (RFC 6265 cookies ignore the port, so the fixture gets them too)
    local jar = http.new({ cookie_jar = true })
    T.res(200, jar:get(R.furl("/many-cookies?n=500")))
    local e = T.echo(T.res(200, jar:get(T.url("/echo"))).body)
    jar:close()
    local sent = T.echo_header(e, "Cookie") or ""
    local count = select(2, sent:gsub("c%d+=v%d+", ""))
    T.eq(count, 50, "cookies the jar sends back")
    T.contains(sent, "c0=v0")
    T.not_contains(sent, "c50=")
    -- a 5 KB name: returned as is
    r = R.case({ label = "5 KB cookie name", code = false, call = function(c)
        return c:get(R.furl("/big-cookie-name?size=5120"))
    end })
    T.eq(r.cookies[string.rep("n", 5120)], "v")
end)

T.test("B37 redirect loop: too_many_redirects", function()
    R.case({ label = "loop", code = "too_many_redirects", deadline = 2, match = "stopped after 10 redirects",
        call = function(c)
            return c:get(T.url("/loop"))
        end })
end)

T.test("B38 redirect to file, ftp, gopher: refused", function()
    for _, to in ipairs({ "file:///etc/passwd", "ftp://127.0.0.1/", "gopher://127.0.0.1/", "dict://127.0.0.1/" }) do
        local msg = R.case({ label = "redirect to " .. to, code = "unsupported_scheme", call = function(c)
            return c:get(T.url("/redirect-to?url=" .. to))
        end })
        T.not_contains(msg, "root:")
    end
end)

local function second_fixture()
    if not R.port2 then
        R.port2 = T.spawn_server("fixture2", "python3 " .. T.shq(T.root .. "/tests/fixture/server.py")
            .. " --port-file %PORTFILE% --watch-pid " .. T.pid .. " --lifetime 900")
    end
    return R.port2
end

local function esc(s)
    return (s:gsub("[^%w%-%._~]", function(ch)
        return string.format("%%%02X", ch:byte())
    end))
end

T.test("B39 credentials never reach another origin, also after a -> b -> b", function()
    local p2 = second_fixture()
    local opts = { auth = { user = "u", pass = "secret" }, cookies = { sid = "secret" },
        headers = { Authorization = "Bearer secret", ["Proxy-Authorization"] = "Basic secret", ["X-Keep"] = "yes" } }
    local targets = {
        ["another host"] = "http://localhost:" .. T.port .. "/echo",
        ["another port"] = "http://127.0.0.1:" .. p2 .. "/echo",
        ["a -> b -> b"] = "http://localhost:" .. T.port .. "/redirect-to?url=" .. esc("/echo"),
        ["a -> b -> a"] = "http://localhost:" .. T.port .. "/redirect-to?url="
            .. esc("http://127.0.0.1:" .. T.port .. "/echo"),
    }
    for what, to in pairs(targets) do
        local r = R.case({ label = what, code = false, call = function(c)
            return c:get(T.url("/redirect-to?url=" .. esc(to)), opts)
        end })
        local e = T.echo(r.body)
        for _, h in ipairs(e.headers) do
            T.not_contains(h[2], "secret", what .. ": header " .. h[1])
        end
        T.eq(T.echo_header(e, "X-Keep"), "yes", what .. ": other headers follow")
    end
    -- https -> http (a TLS fault server made with tests/transport/certs.sh)
    local certs = T.tmpfile("fault-certs")
    if T.sh("sh " .. T.shq(T.root .. "/tests/transport/certs.sh") .. " " .. T.shq(certs) .. " >/dev/null 2>&1") then
        local tport = T.spawn_server("faults_tls", "python3 " .. T.shq(T.root .. "/tests/fixture/faults.py")
            .. " --port-file %PORTFILE% --watch-pid " .. T.pid .. " --tls-cert " .. T.shq(certs .. "/server.pem")
            .. " --tls-key " .. T.shq(certs .. "/server.key"))
        local tls_opts = { ca_file = certs .. "/ca.pem" }
        for k, v in pairs(opts) do
            tls_opts[k] = v
        end
        local r = R.case({ label = "https -> http", code = false, call = function(c)
            return c:get("https://localhost:" .. tport .. "/redirect?to=" .. esc("http://127.0.0.1:" .. T.port .. "/echo"),
                tls_opts)
        end })
        T.eq(r.redirects[1].url, "https://localhost:" .. tport .. "/redirect?to="
            .. esc("http://127.0.0.1:" .. T.port .. "/echo"))
        local e = T.echo(r.body)
        for _, h in ipairs(e.headers) do
            T.not_contains(h[2], "secret", "https -> http: header " .. h[1])
        end
        T.eq(T.echo_header(e, "X-Keep"), "yes")
    end
    -- a client's jar keeps cookies to their own host (RFC 6265: cookies do
    -- not isolate by port, so the other host is localhost)
    local jar = http.new({ cookie_jar = true })
    T.res(200, jar:get(T.url("/set-cookie?jar=secret")))
    local r = T.res(200, jar:get(T.url("/redirect-to?url=" .. esc("http://localhost:" .. p2 .. "/echo"))))
    jar:close()
    T.eq(T.echo_header(T.echo(r.body), "Cookie"), nil)
end)

T.test("B40 POST/DELETE + 302 to another host: GET without body; 307 keeps it", function()
    for _, m in ipairs({ "POST", "DELETE", "PUT" }) do
        local r = R.case({ label = m .. " 302", code = false, call = function(c)
            return c:request(m, T.url("/redirect-to?status=302&url=" .. esc("http://localhost:" .. T.port .. "/echo")),
                { body = "payload" })
        end })
        local e = T.echo(r.body)
        T.eq(e.method, "GET", m .. " becomes GET")
        T.eq(e.body_length, 0, m .. ": no body")
        T.eq(T.echo_header(e, "Content-Length"), nil)
    end
    local r = R.case({ label = "POST 307", code = false, call = function(c)
        return c:post(T.url("/redirect-to?status=307&url=/echo"), { body = "payload" })
    end })
    local e = T.echo(r.body)
    T.eq(e.method, "POST")
    T.eq(e.body_length, 7)
end)

T.test("B41 HEAD to a server announcing 1 GB: returns at once with the headers", function()
    local r = R.case({ label = "HEAD", code = false, deadline = 0.5, call = function(c)
        return c:head(T.url("/head-big"))
    end })
    T.eq(r.headers["Content-Length"], "1073741824")
    T.eq(r.body, "")
    R.case({ label = "HEAD with a small limit", code = false, deadline = 0.5, call = function(c)
        return c:head(T.url("/head-big"), { max_body_size = 1000 })
    end })
end)

T.test("B42 TLS: self-signed, expired, wrong host, unknown CA; insecure stays per request", function()
    package.path = T.root .. "/tests/?.lua;" .. package.path
    local okS, S = pcall(require, "transport.servers")
    if not okS then
        T.skip("tests/transport/servers.lua: " .. tostring(S))
    end
    local okStart, serr = pcall(S.start)
    if not okStart then
        T.skip("TLS servers did not start: " .. tostring(serr))
    end
    local ca = S.cert("ca.pem")
    R.case({ label = "self-signed", code = "tls", call = function(c)
        return c:get(S.https("self"), { ca_file = ca })
    end })
    if S.have.expired then
        R.case({ label = "expired", code = "tls", call = function(c)
            return c:get(S.https("expired"), { ca_file = ca })
        end })
    end
    R.case({ label = "wrong host", code = "tls", call = function(c)
        return c:get(S.https("wrong"), { ca_file = ca })
    end })
    R.case({ label = "unknown CA", code = "tls", call = function(c)
        return c:get(S.https("good"))
    end })
    -- insecure for one request, then verified again on the same client
    local c = http.new()
    T.res(200, c:get(S.https("self"), { insecure = true }))
    T.err("tls", c:get(S.https("self")))
    T.res(200, c:get(S.https("self"), { insecure = true }))
    T.err("tls", c:get(S.https("self"), { ca_file = ca }))
    c:close()
end)

T.test("B43 a body of all 256 byte values: identical, body_size == #body", function()
    local r = R.case({ label = "all bytes", code = false, call = function(c)
        return c:get(R.furl("/all-bytes?n=64"))
    end })
    local chars = {}
    for i = 0, 255 do
        chars[#chars + 1] = string.char(i)
    end
    T.ok(r.body == table.concat(chars):rep(64), "identical bytes")
    T.eq(r.body_size, #r.body)
    T.eq(r.body_size, 256 * 64)
end)

T.test("B: time to error versus the configured timeout", function()
    -- the figures the stall cases measured, for docs/reliability.md
    if os.getenv("LJHTTP_TEST_VERBOSE") == "1" and R.timings then
        for _, line in ipairs(R.timings) do
            print("  " .. line)
        end
    end
end)
