-- Every public call and every documented response field.
local T = require("support")
local http = require("ljhttp")

local function echo_of(r)
    T.res(200, r)
    return T.echo(r.body)
end

T.test("module exposes gluahttp's functions", function()
    for _, name in ipairs({ "get", "post", "put", "patch", "delete", "head", "request", "request_batch" }) do
        T.is_type(http[name], "function", "http." .. name)
    end
end)

T.test("http.get sends GET and returns the body", function()
    local r = T.res(200, http.get(T.url("/echo?x=1")))
    local e = T.echo(r.body)
    T.eq(e.method, "GET")
    T.eq(e.path, "/echo")
    T.eq(e.query, "x=1")
end)

for _, m in ipairs({ "post", "put", "patch", "delete" }) do
    T.test("http." .. m .. " sends " .. m:upper(), function()
        local e = echo_of(http[m](T.url("/echo"), { body = "payload-" .. m }))
        T.eq(e.method, m:upper())
        T.eq(e.body_length, #("payload-" .. m))
    end)
end

T.test("http.head returns headers and no body", function()
    local r = T.res(200, http.head(T.url("/bytes?n=5000")))
    T.eq(r.body, "")
    T.eq(r.body_size, 0)
    T.eq(r.headers["Content-Length"], "5000")
end)

T.test("http.request takes a lower-case method", function()
    local e = echo_of(http.request("get", T.url("/echo")))
    T.eq(e.method, "GET")
    e = echo_of(http.request("post", T.url("/echo"), { body = "abc" }))
    T.eq(e.method, "POST")
    T.eq(e.body_length, 3)
end)

T.test("http.request takes a custom method token", function()
    local e = echo_of(http.request("PURGE", T.url("/echo")))
    T.eq(e.method, "PURGE")
end)

T.test("http.request_batch returns one response per request", function()
    local rs, errs = http.request_batch({
        { "GET", T.url("/echo?i=1") },
        { "POST", T.url("/echo?i=2"), { body = "xy" } },
    })
    T.is_nil(errs, "errors")
    T.eq(T.echo(rs[1].body).query, "i=1")
    local e = T.echo(rs[2].body)
    T.eq(e.method, "POST")
    T.eq(e.body_length, 2)
end)

T.test("response: body, body_size, status_code, url", function()
    local r = T.res(200, http.get(T.url("/bytes?n=3000&seed=5")))
    T.is_type(r.body, "string")
    T.is_type(r.body_size, "number")
    T.eq(#r.body, 3000)
    T.eq(r.body_size, #r.body)
    T.eq(r.body:byte(1), 5)
    T.eq(r.body:byte(2), 12)
    T.eq(r.status_code, 200)
    T.is_type(r.status_code, "number")
    T.eq(r.url, T.url("/bytes?n=3000&seed=5"))
    local r404 = T.res(404, http.get(T.url("/status/404")))
    T.eq(r404.body, "status 404")
    T.eq(r404.body_size, 10)
end)

T.test("response: body of all 256 byte values is byte-identical", function()
    local r = T.res(200, http.get(T.url("/all-bytes")))
    local block = {}
    for i = 0, 255 do
        block[#block + 1] = string.char(i)
    end
    T.eq(r.body, table.concat(block):rep(16))
    T.eq(r.body_size, 4096)
end)

T.test("response: url is the final URL after redirects", function()
    local r = T.res(200, http.get(T.url("/redirect/2")))
    T.eq(r.url, T.url("/redirect/0"))
    T.eq(r.body, "done")
end)

T.test("response: headers have canonical names and the first value", function()
    local r = T.res(200, http.get(T.url("/headers")))
    local h = r.headers
    T.is_type(h, "table")
    T.eq(rawget(h, "X-Dup"), "one", "first of two X-Dup")
    T.eq(rawget(h, "X-Lower"), "lower-case name", "x-lower canonicalised")
    T.is_nil(rawget(h, "x-lower"), "no raw lower-case key")
    T.eq(rawget(h, "Content-Type"), "text/plain")
    T.eq(rawget(h, "Content-Length"), "7")
    T.eq(rawget(h, "X-Empty"), "", "empty value kept")
    T.eq(rawget(h, "Set-Cookie"), "a=1; Path=/")
end)

T.test("response: headers lookup is case-insensitive", function()
    local r = T.res(200, http.get(T.url("/headers")))
    T.eq(r.headers["content-type"], "text/plain")
    T.eq(r.headers["CONTENT-TYPE"], "text/plain")
    T.eq(r.headers["X-DUP"], "one")
    T.eq(r.headers["x-dup"], "one")
    T.eq(r.headers["x-lower"], "lower-case name")
    T.is_nil(r.headers["x-missing"])
    T.is_nil(r.headers[1])
    T.is_nil(r.headers[""])
end)

T.test("response: header_list has every pair in wire order", function()
    local r = T.res(200, http.get(T.url("/headers")))
    local expected = {
        { "X-Dup", "one" },
        { "x-lower", "lower-case name" },
        { "X-Dup", "two" },
        { "Set-Cookie", "a=1; Path=/" },
        { "Set-Cookie", 'b="quoted"; HttpOnly' },
        { "X-Empty", "" },
        { "Content-Type", "text/plain" },
        { "Content-Length", "7" },
    }
    local list = r.header_list
    T.is_type(list, "table")
    T.eq(#list, #expected, "number of pairs")
    for i, p in ipairs(expected) do
        T.eq(list[i][1]:lower(), p[1]:lower(), "name " .. i)
        T.eq(list[i][2], p[2], "value " .. i)
    end
end)

T.test("response: cookies from Set-Cookie, quotes stripped", function()
    local r = T.res(200, http.get(T.url("/headers")))
    T.same(r.cookies, { a = "1", b = "quoted" })
    r = T.res(200, http.get(T.url("/set-cookie?x=1&y=two")))
    T.same(r.cookies, { x = "1", y = "two" })
    r = T.res(200, http.get(T.url("/echo")))
    T.same(r.cookies, {})
end)

T.test("response: redirects lists every hop", function()
    local r = T.res(200, http.get(T.url("/redirect/2?status=301")))
    T.eq(#r.redirects, 2)
    T.eq(r.redirects[1].status_code, 301)
    T.eq(r.redirects[1].url, T.url("/redirect/2?status=301"))
    T.eq(r.redirects[2].url, T.url("/redirect/1?status=301"))
    r = T.res(200, http.get(T.url("/echo")))
    T.same(r.redirects, {})
end)

T.test("response: http_version, timings, remote_ip", function()
    local r = T.res(200, http.get(T.url("/echo")))
    T.eq(r.http_version, "1.1")
    T.eq(r.remote_ip, "127.0.0.1")
    T.is_type(r.timings, "table")
    for _, k in ipairs({ "dns", "connect", "first_byte", "total" }) do
        T.is_type(r.timings[k], "number", "timings." .. k)
        T.ge(r.timings[k], 0, "timings." .. k)
    end
    T.ge(r.timings.total, r.timings.first_byte, "total >= first_byte")
end)

T.test("pairs(response) yields only data fields", function()
    local r = T.res(200, http.get(T.url("/headers")))
    local seen = {}
    for k, v in pairs(r) do
        T.is_type(k, "string", "key")
        T.ne(type(v), "function", "field " .. k)
        seen[k] = true
    end
    for _, k in ipairs({ "body", "body_size", "status_code", "url", "headers", "header_list", "cookies",
        "redirects", "http_version", "remote_ip", "timings" }) do
        T.ok(seen[k], "pairs() shows " .. k)
    end
    local n = 0
    for _ in pairs(r.headers) do
        n = n + 1
    end
    T.eq(n, 6, "distinct header names in pairs(headers)") -- X-Dup X-Lower Set-Cookie X-Empty CT CL
end)

T.test("a client has the same calls", function()
    local c = T.ok(http.new())
    for _, m in ipairs({ "get", "post", "put", "patch", "delete" }) do
        local e = echo_of(c[m](c, T.url("/echo")))
        T.eq(e.method, m:upper())
    end
    local r = T.res(200, c:head(T.url("/echo")))
    T.eq(r.body, "")
    T.eq(T.echo(c:request("options", T.url("/echo")).body).method, "OPTIONS")
    local rs = c:request_batch({ { "GET", T.url("/echo") } })
    T.eq(rs[1].status_code, 200)
    c:close()
end)
