-- Every transport option works the same on each request path: a blocking
-- call, request_async/get_async, request_batch, and as a client default
-- (http.new{...}) with the per-request value winning.
local T = require("support")
package.path = T.root .. "/tests/?.lua;" .. package.path
local S = require("transport.servers")
local http = require("ljhttp")

-- Runs GET url with opts through path p; returns what the call returns.
local function via(p, url, opts)
    if p == "sync" then
        return http.new():get(url, opts)
    elseif p == "async" then
        return http.new():get_async(url, opts):wait(15)
    elseif p == "request_async" then
        local got
        local c = http.new()
        c:request_async("GET", url, opts, function(...)
            got = { n = select("#", ...), ... }
        end)
        c:run(15)
        return unpack(got, 1, got.n)
    elseif p == "batch" then
        local rs, errs = http.new():request_batch({ { "GET", url, opts } })
        if errs then
            return nil, errs[1], "batch error"
        end
        return rs[1]
    elseif p == "default" then
        return http.new(opts):get(url)
    end
    error("path " .. p)
end

local PATHS = { "sync", "async", "request_async", "batch", "default" }

local function ca()
    return S.cert("ca.pem")
end

-- name, url (function), options (function), then check(response) for a
-- success, or the error code expected (false: any error)
local CASES = {
    { "ca_file + HTTP/2", function() return S.https("good") end,
        function() return { ca_file = ca() } end,
        function(r) T.res(200, r); T.eq(r.http_version, "2") end },
    { "unknown CA", function() return S.https("good") end,
        function() return { timeout = 10 } end,
        "tls" },
    { "ca_path", function() return S.https("good") end,
        function() return { ca_path = S.cert("capath") } end,
        function(r) T.res(200, r) end },
    { "insecure", function() return S.https("self") end,
        function() return { insecure = true } end,
        function(r) T.res(200, r) end },
    { "client certificate", function() return S.https("clientcert", "/client") end,
        function() return { ca_file = ca(), client_cert = S.cert("client.pem"), client_key = S.cert("client.key") } end,
        function(r) T.eq(T.res(200, r).body, "client SUCCESS CN=ljhttp client\n") end },
    { "pinned_public_key (wrong)", function() return S.https("good") end,
        function() return { ca_file = ca(), pinned_public_key = S.other_pin } end,
        "tls" },
    { "tls_min_version 1.3 vs a TLS 1.2 server", function() return S.https("tls12") end,
        function() return { ca_file = ca(), tls_min_version = "1.3" } end,
        "tls" },
    { "http_version 1.1", function() return S.https("good") end,
        function() return { ca_file = ca(), http_version = "1.1" } end,
        function(r) T.eq(T.res(200, r).http_version, "1.1") end },
    { "http_version 2-prior-knowledge", function() return S.http("h2c") end,
        function() return { http_version = "2-prior-knowledge" } end,
        function(r) T.eq(T.res(200, r).http_version, "2") end },
    { "decompress", function() return S.http("plain", "/gz/big.txt") end,
        function() return { decompress = true } end,
        function(r) T.res(200, r); T.eq(r.headers["Content-Encoding"], "gzip"); T.ok(r.body == S.big_text) end },
    { "proxy", function() return S.http("plain") end,
        function() return { proxy = S.proxy_url() } end,
        function(r) T.match(T.res(200, r).headers["Via"], "tinyproxy") end },
    { "proxy + CONNECT + ca_file", function() return S.https("good") end,
        function() return { proxy = S.proxy_url(), ca_file = ca() } end,
        function(r) T.eq(T.res(200, r).http_version, "2") end },
    { "proxy_auth", function() return S.http("plain") end,
        function() return { proxy = S.proxy_url("proxy_auth"), proxy_auth = { user = "proxyuser", pass = "proxysecret" } } end,
        function(r) T.res(200, r) end },
    { "no_proxy", function() return S.http("plain") end,
        function() return { proxy = S.proxy_url(), no_proxy = "127.0.0.1" } end,
        function(r) T.is_nil(T.res(200, r).headers["Via"]) end },
    { "unsupported proxy scheme", function() return S.http("plain") end,
        function() return { proxy = "ftp://127.0.0.1:21" } end,
        "unsupported_scheme" },
    { "max_body_size", function() return S.http("plain", "/bomb.txt") end,
        function() return { decompress = true, max_body_size = 65536 } end,
        "too_large" },
    { "idle_timeout", function() return T.url("/stall-body") end,
        function() return { idle_timeout = 1 } end,
        "timeout" },
    { "retries", function() return T.url("/status/503") end,
        function() return { retries = 1, retry_delay = 0.01 } end,
        function(r) T.eq(T.res(503, r).retries, 1) end },
    { "verbose", function() return S.https("good") end,
        function() return { ca_file = ca(), verbose = true } end,
        function(r) T.contains(T.res(200, r).trace, "< HTTP/2 200") end },
}

for _, case in ipairs(CASES) do
    local name, url_of, opts_of, check = case[1], case[2], case[3], case[4]
    T.test("paths: " .. name .. " via " .. table.concat(PATHS, ", "), function()
        S.start()
        for _, p in ipairs(PATHS) do
            local res = T.call(via, p, url_of(), opts_of())
            local ok, e
            if type(check) == "function" then
                ok, e = pcall(check, res[1], res[2], res[3])
            elseif p == "batch" then
                -- batches report errors as messages, without a code
                ok = res[1] == nil and type(res[2]) == "string"
                e = "expected an error, got " .. T.show(res[1])
            else
                ok, e = pcall(T.err, check or nil, res[1], res[2], res[3])
            end
            if not ok then
                T.fail(p .. ": " .. tostring(e))
            end
        end
    end)
end

T.test("paths: a per-request value wins over the client default", function()
    S.start()
    local c = http.new({ ca_file = S.path("no-such-ca.pem"), http_version = "1.1", proxy = S.proxy_url() })
    T.err("tls", c:get(S.https("good")))
    local r = T.res(200, c:get(S.https("good"), { ca_file = ca(), http_version = "2", proxy = false }))
    T.eq(r.http_version, "2")
    r = T.res(200, c:get(S.http("plain"), { proxy = false }))
    T.is_nil(r.headers["Via"])
    r = T.res(200, c:get(S.http("plain")))
    T.match(r.headers["Via"], "tinyproxy")
    c:close()
end)
