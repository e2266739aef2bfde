-- Request options: query, cookies, headers, body, form, auth, timeout,
-- redirects, size limits, HEAD.
local T = require("support")
local http = require("ljhttp")

local function echo(r, msg, code)
    T.res(200, r, msg, code)
    return T.echo(r.body)
end

-- ---- query ----

T.test("query is appended to a URL without one", function()
    local r = T.res(200, http.get(T.url("/echo"), { query = "a=1&b=%20x" }))
    T.eq(T.echo(r.body).query, "a=1&b=%20x")
    T.eq(r.url, T.url("/echo?a=1&b=%20x"))
end)

T.test("query replaces the URL's query", function()
    local e = echo(http.get(T.url("/echo?old=1&x=2"), { query = "new=3" }))
    T.eq(e.query, "new=3")
end)

T.test("empty query clears the URL's query", function()
    local r = T.res(200, http.get(T.url("/echo?old=1"), { query = "" }))
    T.eq(T.echo(r.body).query, "")
    T.not_contains(r.url, "old=1")
end)

-- ---- cookies ----

T.test("cookies are sent as one Cookie header", function()
    local e = echo(http.get(T.url("/echo"), { cookies = { a = "1", b = "two", c = 3 } }))
    local cookies = T.echo_headers(e, "Cookie")
    T.eq(#cookies, 1, "number of Cookie headers")
    local got = {}
    for pair in (cookies[1] .. ";"):gmatch("%s*([^;]+);") do
        local k, v = pair:match("^([^=]+)=(.*)$")
        got[k] = v
    end
    T.same(got, { a = "1", b = "two", c = "3" })
end)

T.test("empty cookies table sends no Cookie header", function()
    local e = echo(http.get(T.url("/echo"), { cookies = {} }))
    T.eq(#T.echo_headers(e, "Cookie"), 0)
end)

-- ---- headers ----

T.test("headers are sent", function()
    local e = echo(http.get(T.url("/echo"), { headers = { ["X-One"] = "1", ["x-two"] = "two words", ["X-Num"] = 42 } }))
    T.eq(T.echo_header(e, "X-One"), "1")
    T.eq(T.echo_header(e, "X-Two"), "two words")
    T.eq(T.echo_header(e, "X-Num"), "42")
end)

T.test("headers override what other options set (Content-Type beats form's)", function()
    local e = echo(http.post(T.url("/echo"), { form = "a=1", headers = { ["content-type"] = "text/x-mine" } }))
    local ct = T.echo_headers(e, "Content-Type")
    T.eq(#ct, 1, "one Content-Type")
    T.eq(ct[1], "text/x-mine")
    T.eq(e.body_length, 3)
end)

T.test("a header replaces a default one (Accept, User-Agent)", function()
    local e = echo(http.get(T.url("/echo"), { headers = { Accept = "text/x-test", ["User-Agent"] = "ua-test/1" } }))
    T.same(T.echo_headers(e, "Accept"), { "text/x-test" })
    T.same(T.echo_headers(e, "User-Agent"), { "ua-test/1" })
end)

T.test("an empty header value is sent as an empty header", function()
    local e = echo(http.get(T.url("/echo"), { headers = { ["X-Empty"] = "" } }))
    T.same(T.echo_headers(e, "X-Empty"), { "" })
end)

-- ---- body ----

local function all_bytes(times)
    local t = {}
    for i = 0, 255 do
        t[#t + 1] = string.char(i)
    end
    return table.concat(t):rep(times)
end

T.test("body with NULs and all 256 byte values arrives byte-exact", function()
    local body = "\0\0head\0" .. all_bytes(64) .. "\0tail\0"
    local r = T.res(200, http.post(T.url("/echo/body"), { body = body }))
    T.eq(r.body_size, #body, "echoed length")
    T.ok(r.body == body, "echoed bytes differ from the body sent")
end)

T.test("body with all 256 byte values x 4 KiB (1 MiB) arrives byte-exact", function()
    local body = all_bytes(4096)
    local r = T.res(200, http.put(T.url("/echo/body"), { body = body }))
    T.eq(r.body_size, #body)
    T.ok(r.body == body, "echoed bytes differ from the body sent")
end)

T.test("plain body: Content-Length, no Content-Type, no Expect", function()
    local e = echo(http.post(T.url("/echo"), { body = "hello body" }))
    T.eq(T.echo_header(e, "Content-Length"), "10")
    T.eq(#T.echo_headers(e, "Content-Type"), 0, "Content-Type headers")
    T.eq(#T.echo_headers(e, "Expect"), 0, "Expect headers")
    T.eq(#T.echo_headers(e, "Transfer-Encoding"), 0, "Transfer-Encoding headers")
    T.eq(e.body_length, 10)
end)

T.test("large plain body (2 MiB): no Expect, no Content-Type", function()
    local body = ("0123456789abcdef"):rep(131072)
    local e = echo(http.post(T.url("/echo"), { body = body }))
    T.eq(#T.echo_headers(e, "Expect"), 0, "Expect headers")
    T.eq(#T.echo_headers(e, "Content-Type"), 0, "Content-Type headers")
    T.eq(e.body_length, #body)
end)

T.test("POST without body sends Content-Length: 0", function()
    local e = echo(http.post(T.url("/echo")))
    T.eq(e.method, "POST")
    T.eq(T.echo_header(e, "Content-Length"), "0")
    T.eq(e.body_length, 0)
end)

T.test("GET without body sends no Content-Length", function()
    local e = echo(http.get(T.url("/echo")))
    T.eq(#T.echo_headers(e, "Content-Length"), 0)
end)

T.test("empty body is sent as Content-Length: 0", function()
    local e = echo(http.put(T.url("/echo"), { body = "" }))
    T.eq(T.echo_header(e, "Content-Length"), "0")
end)

-- ---- form ----

T.test("form sets application/x-www-form-urlencoded", function()
    local r = T.res(200, http.post(T.url("/echo/body"), { form = "a=1&b=x%20y" }))
    T.eq(r.body, "a=1&b=x%20y")
    local e = echo(http.post(T.url("/echo"), { form = "a=1&b=x%20y" }))
    T.same(T.echo_headers(e, "Content-Type"), { "application/x-www-form-urlencoded" })
end)

T.test("body wins over form", function()
    local r = T.res(200, http.post(T.url("/echo/body"), { form = "f=1", body = "the-body" }))
    T.eq(r.body, "the-body")
    local e = echo(http.post(T.url("/echo"), { form = "f=1", body = "the-body" }))
    T.eq(#T.echo_headers(e, "Content-Type"), 0, "no form Content-Type when body wins")
end)

-- ---- auth ----

T.test("auth: basic auth accepted", function()
    local r = T.res(200, http.get(T.url("/basic-auth"), { auth = { user = "user", pass = "pass" } }))
    T.eq(r.body, "authenticated user")
end)

T.test("auth: wrong password is a 401 response, not an error", function()
    local r = T.res(401, http.get(T.url("/basic-auth"), { auth = { user = "user", pass = "wrong" } }))
    T.eq(r.body, "unauthorized")
    T.eq(r.headers["www-authenticate"], 'Basic realm="fixture"')
end)

T.test("auth: missing pass is an error", function()
    T.err("invalid_argument", http.get(T.url("/basic-auth"), { auth = { user = "user" } }))
    T.err("invalid_argument", http.get(T.url("/basic-auth"), { auth = { pass = "pass" } }))
    T.err("invalid_argument", http.get(T.url("/basic-auth"), { auth = "user:pass" }))
end)

T.test("auth: ':' in the user works", function()
    local r = T.res(200, http.get(T.url("/basic-auth?user=a:b&pass=c:d"), { auth = { user = "a:b", pass = "c:d" } }))
    T.eq(r.body, "authenticated a:b")
end)

T.test("auth: NUL in user or pass is an error", function()
    T.err("invalid_argument", http.get(T.url("/basic-auth"), { auth = { user = "u\0x", pass = "p" } }))
    T.err("invalid_argument", http.get(T.url("/basic-auth"), { auth = { user = "u", pass = "p\0x" } }))
end)

-- ---- timeout ----

T.test("timeout: a number with fractions is honoured", function()
    T.err("timeout", http.get(T.url("/slow?ms=1000"), { timeout = 0.25 }))
end)

T.test("timeout: a number long enough lets the request finish", function()
    T.res(200, http.get(T.url("/slow?ms=50"), { timeout = 5 }))
end)

T.test("timeout: Go duration strings", function()
    T.res(200, http.get(T.url("/slow?ms=10"), { timeout = "3000ms" }))
    T.res(200, http.get(T.url("/slow?ms=10"), { timeout = "1h" }))
    T.res(200, http.get(T.url("/slow?ms=10"), { timeout = "2h45m" }))
    T.res(200, http.get(T.url("/slow?ms=10"), { timeout = "1.5s" }))
    T.err("timeout", http.get(T.url("/slow?ms=1000"), { timeout = "200ms" }))
end)

T.test("timeout: a bad duration string is invalid_argument with 'invalid duration'", function()
    for _, s in ipairs({ "abc", "", "10", "1x", "-1s", "1.2.3s" }) do
        local msg = T.err("invalid_argument", http.get(T.url("/echo"), { timeout = s }))
        T.contains(msg, "invalid duration", "timeout " .. T.show(s))
    end
end)

T.test("timeout: -1, NaN, inf, 1e300 are errors", function()
    for _, v in ipairs({ -1, 0 / 0, math.huge, -math.huge, 1e300 }) do
        local r = T.call(http.get, T.url("/echo"), { timeout = v })
        T.eq(r[1], nil, "timeout " .. tostring(v) .. " gave a response")
        T.eq(r[3], "invalid_argument", "timeout " .. tostring(v))
    end
end)

T.test("timeout of another type is an error", function()
    T.err("invalid_argument", http.get(T.url("/echo"), { timeout = true }))
    T.err("invalid_argument", http.get(T.url("/echo"), { timeout = {} }))
end)

-- ---- redirects ----

T.test("follow_redirects = false returns the 302 itself", function()
    local r = T.res(302, http.get(T.url("/redirect/2"), { follow_redirects = false }))
    T.eq(r.headers["Location"], "/redirect/1")
    T.eq(r.url, T.url("/redirect/2"))
    T.same(r.redirects, {})
end)

T.test("max_redirects limits the hops", function()
    T.res(200, http.get(T.url("/redirect/3"), { max_redirects = 3 }))
    T.err("too_many_redirects", http.get(T.url("/redirect/3"), { max_redirects = 2 }))
    T.err("too_many_redirects", http.get(T.url("/redirect/1"), { max_redirects = 0 }))
end)

T.test("redirects: up to 10 by default", function()
    T.res(200, http.get(T.url("/redirect/10")))
    T.err("too_many_redirects", http.get(T.url("/redirect/11")))
end)

-- ---- sizes ----

T.test("max_body_size: larger body fails with too_large", function()
    T.err("too_large", http.get(T.url("/bytes?n=100000"), { max_body_size = 1000 }))
    T.err("too_large", http.get(T.url("/bytes?n=100000&chunked=1"), { max_body_size = 1000 }))
end)

T.test("max_body_size: a body within the limit is returned", function()
    local r = T.res(200, http.get(T.url("/bytes?n=1000"), { max_body_size = 1000 }))
    T.eq(#r.body, 1000)
end)

T.test("max_body_size: an endless body stops at the limit", function()
    T.err("too_large", http.get(T.url("/endless"), { max_body_size = 100000, timeout = 10 }))
end)

T.test("HEAD of a 1 GiB resource returns at once with its headers", function()
    local r = T.res(200, http.head(T.url("/head-big"), { timeout = 5 }))
    T.eq(r.headers["Content-Length"], "1073741824")
    T.eq(r.body, "")
    T.eq(r.body_size, 0)
end)

-- ---- option types ----

T.test("options of the wrong type are invalid_argument", function()
    T.err("invalid_argument", http.get(T.url("/echo"), { query = true }))
    T.err("invalid_argument", http.get(T.url("/echo"), { headers = "X-A: 1" }))
    T.err("invalid_argument", http.get(T.url("/echo"), { cookies = "a=1" }))
    T.err("invalid_argument", http.post(T.url("/echo"), { body = true }))
    T.err("invalid_argument", http.post(T.url("/echo"), { form = true }))
end)

T.test("progress_interval durations are parsed on the Lua side as Go durations", function()
    local options = require("ljhttp.options")
    local cases = { [0.15] = 150, ["120ms"] = 120, ["1m30s"] = 90000, ["0"] = 0, ["2us"] = 1,
        ["1.5h"] = 5400000, [".5s"] = 500, ["1h1m1s1ms"] = 3661001, ["+1s"] = 1000 }
    for v, want in pairs(cases) do
        T.eq(options.duration_ms(v), want, tostring(v))
    end
    for _, v in ipairs({ "soon", "", "1", "1x", "-1s", "1.5.5s", "s", -1, 0 / 0, math.huge, true }) do
        local ms, msg = options.duration_ms(v)
        T.is_nil(ms, tostring(v))
        T.match(msg, "duration", tostring(v))
    end
end)
