-- HTTP versions and decompression against Debian's nginx: HTTP/2 over TLS
-- (ALPN), cleartext HTTP/2 with prior knowledge, gzip and brotli done by
-- nginx, deflate and zstd served precompressed, and a gzip bomb.
local T = require("support")
package.path = T.root .. "/tests/?.lua;" .. package.path
local S = require("transport.servers")
local http = require("ljhttp")

local function ca()
    return S.cert("ca.pem")
end

T.test("http2: nginx's HTTP/2 directive follows its version (http2 on; since 1.25.1)", function()
    T.eq(S.nginx_version("nginx version: nginx/1.22.1"), 12201)
    T.eq(S.nginx_version("nginx version: openresty/1.21.4.1"), 0)
    T.eq(S.h2_listen(12201, 80, false), "listen 127.0.0.1:80 http2;")
    T.eq(S.h2_listen(12201, 443, true), "listen 127.0.0.1:443 ssl http2;")
    T.eq(S.h2_listen(12501, 80, false), "listen 127.0.0.1:80; http2 on;")
    T.eq(S.h2_listen(13006, 443, true), "listen 127.0.0.1:443 ssl; http2 on;")
    -- and the running nginx was given what it wants: no deprecation warning
    S.start()
    T.not_contains(T.read_file(S.path("nginx-error.log")) or "", "is deprecated")
end)

T.test("http2: the default over TLS negotiates HTTP/2", function()
    S.start()
    local r = T.res(200, http.new():get(S.https("good"), { ca_file = ca() }))
    T.eq(r.http_version, "2")
    T.eq(r.body, "hello " .. S.port.good .. " HTTP/2.0\n")
end)

T.test("http2: http_version = \"1.1\" forces HTTP/1.1 over TLS", function()
    S.start()
    local c = http.new()
    local r = T.res(200, c:get(S.https("good"), { ca_file = ca(), http_version = "1.1" }))
    T.eq(r.http_version, "1.1")
    T.eq(r.body, "hello " .. S.port.good .. " HTTP/1.1\n")
    -- an HTTP/2 connection is never used for a request that wants 1.1
    local c2 = http.new()
    T.eq(T.res(200, c2:get(S.https("good"), { ca_file = ca() })).http_version, "2")
    T.eq(T.res(200, c2:get(S.https("good"), { ca_file = ca(), http_version = "1.1" })).http_version, "1.1")
    -- (libcurl may reuse the kept 1.1 connection for a later default
    -- request: documented in docs/transport.md)
    c:close()
    c2:close()
end)

T.test("http2: http_version = \"2\" uses HTTP/2 over TLS and 1.1 in clear text", function()
    S.start()
    local r = T.res(200, http.new():get(S.https("good"), { ca_file = ca(), http_version = "2" }))
    T.eq(r.http_version, "2")
    r = T.res(200, http.new():get(S.http("plain"), { http_version = "2" }))
    T.eq(r.http_version, "1.1")
end)

T.test("http2: \"2-prior-knowledge\" talks HTTP/2 to a cleartext h2c port", function()
    S.start()
    local r = T.res(200, http.new():get(S.http("h2c"), { http_version = "2-prior-knowledge" }))
    T.eq(r.http_version, "2")
    T.eq(r.body, "hello " .. S.port.h2c .. " HTTP/2.0\n")
    if S.nginx_version() >= 12501 then
        -- nginx 1.25.1+ (`http2 on;`) serves HTTP/1.1 on the same cleartext port
        T.eq(T.res(200, http.new():get(S.http("h2c"), { timeout = 5 })).http_version, "1.1")
    else
        -- without it, HTTP/1.1 to an h2c-only port is not HTTP
        T.err(nil, http.new():get(S.http("h2c"), { timeout = 5 }))
    end
end)

T.test("http2: unknown http_version values are refused", function()
    T.err("invalid_argument", http.get(T.url("/echo"), { http_version = "4" }))
    T.err("invalid_argument", http.get(T.url("/echo"), { http_version = 2 }))
end)

T.test("http2: header lookup ignores case with HTTP/2's lower-case names", function()
    S.start()
    local r = T.res(200, http.new():get(S.https("good"), { ca_file = ca() }))
    T.eq(r.http_version, "2")
    T.eq(r.headers["Content-Type"], "text/plain")
    T.eq(r.headers["content-type"], "text/plain")
    T.eq(r.headers["CONTENT-TYPE"], "text/plain")
    T.eq(r.headers["X-Custom-Thing"], "yes")
    T.eq(r.headers["x-custom-thing"], "yes")
    local names = {}
    for _, h in ipairs(r.header_list) do
        names[h[1]] = h[2]
    end
    T.eq(names["X-Custom-Thing"], "yes", "header_list names are canonical")
    T.eq(names["Content-Length"], tostring(#r.body))
end)

-- ---- decompression ----

T.test("decompress: off by default: no Accept-Encoding is sent, bodies come as sent", function()
    S.start()
    local e = T.echo(T.res(200, http.get(T.url("/echo"))).body)
    T.eq(#T.echo_headers(e, "Accept-Encoding"), 0)
    local r = T.res(200, http.new():get(S.http("plain", "/gz/big.txt")))
    T.is_nil(r.headers["Content-Encoding"])
    T.eq(r.body, S.big_text)
    -- a server that compresses anyway: the raw gzip bytes come back
    r = T.res(200, http.new():get(S.http("plain", "/bomb.txt")))
    T.eq(r.headers["Content-Encoding"], "gzip")
    T.eq(#r.body, S.bomb_gz_size)
    T.eq(r.body:sub(1, 2), "\31\139")
end)

T.test("decompress: asks for gzip, deflate, br and zstd", function()
    local e = T.echo(T.res(200, http.get(T.url("/echo"), { decompress = true })).body)
    local ae = T.echo_header(e, "Accept-Encoding")
    for _, enc in ipairs({ "gzip", "deflate", "br", "zstd" }) do
        T.contains(ae, enc)
    end
end)

T.test("decompress: gzip from nginx is decoded byte for byte", function()
    S.start()
    local r = T.res(200, http.new():get(S.http("plain", "/gz/big.txt"), { decompress = true }))
    T.eq(r.headers["Content-Encoding"], "gzip")
    T.ok(r.body == S.big_text, "decoded body equals the file")
    T.eq(r.body_size, #S.big_text)
    -- over HTTP/2 and TLS too
    r = T.res(200, http.new():get(S.https("good", "/gz/big.txt"), { ca_file = ca(), decompress = true }))
    T.eq(r.http_version, "2")
    T.eq(r.headers["content-encoding"], "gzip")
    T.ok(r.body == S.big_text)
end)

T.test("decompress: brotli from nginx is decoded", function()
    S.start()
    if not S.have.brotli then
        T.skip("no nginx brotli module (libnginx-mod-http-brotli-filter)")
    end
    local r = T.res(200, http.new():get(S.http("plain", "/br/big.txt"), { decompress = true }))
    T.eq(r.headers["Content-Encoding"], "br")
    T.ok(r.body == S.big_text, "decoded body equals the file")
end)

T.test("decompress: deflate and zstd bodies are decoded", function()
    S.start()
    local r = T.res(200, http.new():get(S.http("plain", "/pre/big.deflate"), { decompress = true }))
    T.eq(r.headers["Content-Encoding"], "deflate")
    T.ok(r.body == S.big_text, "deflate decoded")
    if not S.have.zstd then
        T.skip("no zstd command to make the zstd body")
    end
    r = T.res(200, http.new():get(S.http("plain", "/pre/big.zst"), { decompress = true }))
    T.eq(r.headers["Content-Encoding"], "zstd")
    T.ok(r.body == S.big_text, "zstd decoded")
end)

T.test("decompress with output: the file holds the decoded bytes, not the announced length", function()
    S.start()
    -- a static compressed file: Content-Length is the compressed size
    local path = T.tmpfile("decoded.txt")
    local c = http.new()
    local r = T.res(200, c:get(S.http("plain", "/pre/big.deflate"), { decompress = true, output = path }))
    T.eq(r.headers["Content-Encoding"], "deflate")
    T.lt(tonumber(r.headers["Content-Length"]), #S.big_text, "compressed on the wire")
    T.eq(r.body_size, #S.big_text)
    T.ok(T.read_file(path) == S.big_text, "the file is the decoded text")
    -- without decompress the compressed bytes are the file, at their announced size
    r = T.res(200, c:get(S.http("plain", "/pre/big.deflate"), { output = path }))
    T.eq(#T.read_file(path), tonumber(r.headers["Content-Length"]))
    c:close()
end)

T.test("decompress: a gzip bomb stops at max_body_size with too_large, memory stays bounded", function()
    S.start()
    collectgarbage()
    local before = S.rss_kb()
    local t0 = T.now()
    local msg = T.err("too_large", http.new():get(S.http("plain", "/bomb.txt"),
        { decompress = true, max_body_size = 1024 * 1024 }))
    local dt = T.now() - t0
    T.contains(msg, "max_body_size")
    T.lt(dt, 30, "seconds (a hang, not a speed limit)")
    T.lt(S.rss_kb() - before, 40 * 1024, "RSS growth in KiB")
    -- a streamed bomb stops too
    local got = 0
    local h = http.new():get_async(S.http("plain", "/bomb.txt"), {
        decompress = true, max_body_size = 2 * 1024 * 1024,
        on_chunk = function(s)
            got = got + #s
        end,
    })
    T.err("too_large", h:wait(10))
    T.ok(got <= 2 * 1024 * 1024, "streamed at most the limit, got " .. got)
end)
