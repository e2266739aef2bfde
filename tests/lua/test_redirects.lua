-- Redirects: hops, method rewriting (Go's rules), loops, schemes, and
-- credentials that must stay with their origin.
local T = require("support")
local http = require("ljhttp")

local function esc(s)
    return (s:gsub("[^%w%-%._~/]", function(c)
        return string.format("%%%02X", c:byte())
    end))
end

local function redirect_to(target, status)
    return T.url("/redirect-to?url=" .. esc(target) .. "&status=" .. status)
end

T.test("/redirect/3: final url and 3 hops", function()
    local r = T.res(200, http.get(T.url("/redirect/3")))
    T.eq(r.url, T.url("/redirect/0"))
    T.eq(r.body, "done")
    T.eq(#r.redirects, 3)
    for i = 1, 3 do
        T.eq(r.redirects[i].status_code, 302, "hop " .. i)
        T.eq(r.redirects[i].url, T.url("/redirect/" .. (4 - i)), "hop " .. i)
    end
end)

for _, status in ipairs({ 301, 302, 303 }) do
    T.test("POST + " .. status .. " continues as GET without body", function()
        local r = T.res(200, http.post(redirect_to("/echo", status), { body = "secret-body" }))
        local e = T.echo(r.body)
        T.eq(e.method, "GET")
        T.eq(e.body_length, 0)
        T.eq(#T.echo_headers(e, "Content-Length"), 0, "Content-Length after the hop")
        T.eq(#T.echo_headers(e, "Content-Type"), 0, "Content-Type after the hop")
        T.eq(r.redirects[1].status_code, status)
    end)
end

for _, status in ipairs({ 307, 308 }) do
    T.test("POST + " .. status .. " keeps method and body", function()
        local r = T.res(200, http.post(redirect_to("/echo/body", status), { body = "kept\0body" }))
        T.eq(r.body, "kept\0body")
        local e = T.echo(T.res(200, http.post(redirect_to("/echo", status), { body = "kept" })).body)
        T.eq(e.method, "POST")
        T.eq(e.body_length, 4)
    end)
    T.test("PUT + " .. status .. " keeps method and body", function()
        local e = T.echo(T.res(200, http.put(redirect_to("/echo", status), { body = "abc" })).body)
        T.eq(e.method, "PUT")
        T.eq(e.body_length, 3)
    end)
end

T.test("PUT, DELETE, PATCH and a custom method become GET after 302", function()
    for _, m in ipairs({ "PUT", "DELETE", "PATCH", "PURGE" }) do
        local r = T.res(200, http.request(m, redirect_to("/echo", 302), { body = "x" }))
        local e = T.echo(r.body)
        T.eq(e.method, "GET", m .. " after 302")
        T.eq(e.body_length, 0, m .. " body after 302")
    end
end)

T.test("HEAD stays HEAD after 302", function()
    local r = T.res(200, http.head(redirect_to("/bytes?n=10", 302)))
    T.eq(r.body, "")
    T.eq(r.headers["Content-Length"], "10")
end)

T.test("/loop fails with too_many_redirects", function()
    T.err("too_many_redirects", http.get(T.url("/loop"), { timeout = 10 }))
end)

T.test("redirect to ftp:// or file:// fails with unsupported_scheme", function()
    for _, target in ipairs({ "ftp://127.0.0.1/x", "file:///etc/passwd", "gopher://127.0.0.1/",
        "dict://127.0.0.1/" }) do
        T.err("unsupported_scheme", http.get(redirect_to(target, 302)))
    end
end)

T.test("relative and absolute Location both work", function()
    T.eq(T.res(200, http.get(redirect_to("/echo", 302))).url, T.url("/echo"))
    T.eq(T.res(200, http.get(redirect_to(T.url("/echo"), 302))).url, T.url("/echo"))
    T.eq(T.res(200, http.get(redirect_to("echo", 302))).url, T.url("/echo"))
end)

T.test("follow_redirects = false: a 307 is returned as is", function()
    local r = T.res(307, http.post(redirect_to("/echo", 307), { body = "x", follow_redirects = false }))
    T.eq(r.headers["Location"], "/echo")
end)

-- ---- credentials and origins ----

local creds = {
    auth = { user = "u", pass = "p" },
    headers = { Authorization = "Bearer tok", Cookie = "hdr=1", ["X-Other"] = "kept" },
    cookies = { opt = "2" },
}

local function no_credentials(e, where)
    T.eq(#T.echo_headers(e, "Authorization"), 0, "Authorization " .. where)
    T.eq(#T.echo_headers(e, "Cookie"), 0, "Cookie " .. where)
end

T.test("same-origin redirect keeps Authorization and cookies", function()
    local e = T.echo(T.res(200, http.get(redirect_to("/echo", 302), creds)).body)
    T.eq(T.echo_header(e, "Authorization"), "Bearer tok")
    T.ok(#T.echo_headers(e, "Cookie") >= 1, "Cookie kept on the same origin")
end)

T.test("same-origin redirect keeps basic auth", function()
    local r = T.res(200, http.get(redirect_to("/basic-auth", 302), { auth = { user = "user", pass = "pass" } }))
    T.eq(r.body, "authenticated user")
end)

T.test("redirect to another origin drops auth, Authorization and Cookie", function()
    local r = T.res(200, http.get(redirect_to(T.url2("/echo"), 302), creds))
    T.eq(r.url, T.url2("/echo"))
    local e = T.echo(r.body)
    no_credentials(e, "sent to the other origin")
    T.eq(T.echo_header(e, "X-Other"), "kept", "other headers still sent")
end)

T.test("basic auth does not reach another origin", function()
    local r = T.res(401, http.get(redirect_to(T.url2("/basic-auth"), 302), { auth = { user = "user", pass = "pass" } }))
    T.eq(r.body, "unauthorized")
end)

T.test("credentials are not restored on a -> b -> b", function()
    -- a (127.0.0.1) -> b (localhost) -> b (localhost)/echo
    local second = T.url2("/redirect-to?url=" .. esc("/echo") .. "&status=302")
    local r = T.res(200, http.get(redirect_to(second, 302), creds))
    T.eq(r.url, T.url2("/echo"))
    T.eq(#r.redirects, 2)
    no_credentials(T.echo(r.body), "after a -> b -> b")
end)

T.test("credentials are not restored on a -> b -> a", function()
    local back = T.url2("/redirect-to?url=" .. esc(T.url("/echo")) .. "&status=302")
    local r = T.res(200, http.get(redirect_to(back, 302), creds))
    T.eq(r.url, T.url("/echo"))
    no_credentials(T.echo(r.body), "after a -> b -> a")
end)

T.test("credentials in the URL do not reach another origin", function()
    local url = "http://user:pass@127.0.0.1:" .. T.port .. "/redirect-to?url=" .. esc(T.url2("/echo"))
    local r = T.res(200, http.get(url))
    no_credentials(T.echo(r.body), "with user:pass@ in the URL")
end)
