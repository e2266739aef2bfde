-- Reliability group A (../shared/reliability-cases.md 1-17): bad arguments
-- are refused before any socket opens. Each case goes through R.case:
-- deadline, nil/message/code, no secret, descriptors and Lua heap back to
-- their baseline.
local T = require("support")
local R = require("reliability")
local http = require("ljhttp")

-- Every case here must be refused without a connection to the fixture.
local function refused(label, code, call, extra)
    local before = R.fixture_connections()
    local spec = { label = label, code = code, call = call, deadline = 0.5, warm = true }
    for k, v in pairs(extra or {}) do
        spec[k] = v
    end
    local msg = R.case(spec)
    T.eq(R.fixture_connections(), before, label .. ": connections the fixture saw")
    return msg
end

T.test("A1 url missing, not a string, empty", function()
    refused("nil url", "unsupported_scheme", function(c)
        return c:get(nil)
    end, { match = 'unsupported protocol scheme ""' })
    refused("empty url", "unsupported_scheme", function(c)
        return c:get("")
    end, { match = 'unsupported protocol scheme ""' })
    for _, u in ipairs({ 42, {}, true, function() end }) do
        refused("url " .. type(u), "invalid_argument", function(c)
            return c:get(u)
        end)
    end
end)

T.test("A2 url with CR, LF, NUL, space, DEL", function()
    for _, b in ipairs({ "\r", "\n", "\0", " ", "\127" }) do
        refused("url byte " .. b:byte(), "invalid_argument", function(c)
            return c:get(T.url("/echo") .. b .. "x")
        end)
        refused("url byte in host " .. b:byte(), "invalid_argument", function(c)
            return c:get("http://127.0.0.1" .. b .. ":" .. T.port .. "/")
        end)
    end
end)

T.test("A3 file, ftp, gopher, dict, scp, ldap and no scheme: nothing opened or read", function()
    local p = T.port
    for _, u in ipairs({ "file:///etc/passwd", "ftp://127.0.0.1:" .. p .. "/", "gopher://127.0.0.1:" .. p .. "/",
        "dict://127.0.0.1:" .. p .. "/", "scp://127.0.0.1:" .. p .. "/x", "ldap://127.0.0.1:" .. p .. "/",
        "127.0.0.1:" .. p .. "/echo", "FiLe:///etc/passwd" }) do
        local msg = refused(u, "unsupported_scheme", function(c)
            return c:get(u)
        end, { match = "unsupported protocol scheme" })
        T.not_contains(msg, "root:", "nothing of /etc/passwd in the message")
    end
end)

T.test("A4 url of 8 MB or more", function()
    local long = T.url("/echo?") .. string.rep("a", 8 * 1024 * 1024)
    refused("8 MB url", "invalid_argument", function(c)
        return c:get(long)
    end, { match = "too long" })
end)

T.test("A5 credentials in a failing url appear nowhere", function()
    R.case({ label = "refused port", code = "connect", deadline = 2, call = function(c)
        return c:get("http://user:secret@127.0.0.1:1/path")
    end })
    R.case({ label = "unresolvable", code = { "dns", "timeout" }, deadline = 6, call = function(c)
        return c:get("http://user:secret@nonexistent.invalid/", { timeout = 5 })
    end })
    R.case({ label = "auth option", code = "connect", deadline = 2, call = function(c)
        return c:get("http://127.0.0.1:1/", { auth = { user = "u", pass = "secret" } })
    end })
    -- the response url of a success drops them too
    local r = R.case({ label = "success", code = false, call = function(c)
        return c:get("http://user:secret@127.0.0.1:" .. T.port .. "/echo")
    end })
    T.not_contains(r.url, "secret")
end)

T.test("A6 methods: CR/LF/space, empty, over 32 bytes refused; get is GET", function()
    for _, m in ipairs({ "GET\r\n", "G\nT", "GE T", "", string.rep("A", 33), "G\0T", "(GET)" }) do
        refused("method " .. T.show(m), "invalid_argument", function(c)
            return c:request(m, T.url("/echo"))
        end)
    end
    local r = R.case({ label = "get", code = false, call = function(c)
        return c:request("get", T.url("/echo"))
    end })
    T.eq(T.echo(r.body).method, "GET")
end)

T.test("A7 header names and values; an empty value is sent empty", function()
    for _, name in ipairs({ "a:b", "a b", "", "a\0b", "a\r\nb" }) do
        refused("header name " .. T.show(name), "invalid_argument", function(c)
            return c:get(T.url("/echo"), { headers = { [name] = "v" } })
        end)
    end
    for _, v in ipairs({ "a\rb", "a\nb", "a\0b", "a\1b", "a\27b", "a\127b" }) do
        refused("header value " .. T.show(v), "invalid_argument", function(c)
            return c:get(T.url("/echo"), { headers = { ["X-A"] = v } })
        end)
    end
    local r = R.case({ label = "empty value", code = false, call = function(c)
        return c:get(T.url("/echo"), { headers = { ["X-Empty"] = "", Accept = "" } })
    end })
    local e = T.echo(r.body)
    T.eq(T.echo_header(e, "X-Empty"), "", "X-Empty is sent, empty")
    T.eq(T.echo_header(e, "Accept"), "", "Accept is sent empty, not deleted")
end)

T.test("A8 Content-Length, Transfer-Encoding, Connection set by the caller", function()
    refused("wrong Content-Length", "invalid_argument", function(c)
        return c:post(T.url("/echo"), { body = "hello", headers = { ["Content-Length"] = "3" } })
    end, { match = "Content%-Length" })
    refused("Content-Length without body", "invalid_argument", function(c)
        return c:get(T.url("/echo"), { headers = { ["content-length"] = "10" } })
    end)
    refused("Transfer-Encoding", "invalid_argument", function(c)
        return c:post(T.url("/echo"), { body = "x", headers = { ["Transfer-Encoding"] = "chunked" } })
    end)
    refused("Connection upgrade", "invalid_argument", function(c)
        return c:get(T.url("/echo"), { headers = { Connection = "Upgrade" } })
    end)
    -- the true length reaches the server
    local r = R.case({ label = "agreeing length", code = false, call = function(c)
        return c:post(T.url("/echo"), { body = "hello", headers = { ["Content-Length"] = "5", Connection = "close" } })
    end })
    local e = T.echo(r.body)
    T.eq(e.body_length, 5)
    T.same(T.echo_headers(e, "Content-Length"), { "5" })
end)

T.test("A9 10,000 request headers and 1 MB of headers", function()
    local many = {}
    for i = 1, 10000 do
        many["X-H" .. i] = "v"
    end
    refused("10,000 headers", "invalid_argument", function(c)
        return c:get(T.url("/echo"), { headers = many })
    end, { match = "header" })
    refused("1 MB header", "invalid_argument", function(c)
        return c:get(T.url("/echo"), { headers = { ["X-Big"] = string.rep("x", 1024 * 1024) } })
    end, { match = "header" })
    local wide = {}
    for i = 1, 500 do
        wide["X-W" .. i] = string.rep("y", 2048)
    end
    refused("1 MB over 500 headers", "invalid_argument", function(c)
        return c:get(T.url("/echo"), { headers = wide })
    end, { match = "header" })
end)

T.test("A10 cookie names and values with ; , space CR LF", function()
    for _, s in ipairs({ ";", ",", " ", "\r", "\n", "\0" }) do
        refused("cookie name " .. T.show(s), "invalid_argument", function(c)
            return c:get(T.url("/echo"), { cookies = { ["a" .. s .. "b"] = "v" } })
        end)
        refused("cookie value " .. T.show(s), "invalid_argument", function(c)
            return c:get(T.url("/echo"), { cookies = { a = "v" .. s .. "w" } })
        end)
    end
end)

T.test("A11 query and form tables are encoded; NUL is refused", function()
    local t = { ["a&b"] = "c=d", sp = "x y", utf = "été", list = { "1", "2" } }
    local r = R.case({ label = "query table", code = false, call = function(c)
        return c:get(T.url("/echo"), { query = t })
    end })
    -- (libcurl's URL API writes the hex digits of the query in lower case)
    T.eq(T.echo(r.body).query:upper(), ("a%26b=c%3Dd&list=1&list=2&sp=x%20y&utf=%C3%A9t%C3%A9"):upper())
    r = R.case({ label = "form table", code = false, call = function(c)
        return c:post(T.url("/echo/body"), { form = t })
    end })
    T.eq(r.body, "a%26b=c%3Dd&list=1&list=2&sp=x%20y&utf=%C3%A9t%C3%A9")
    refused("NUL in a query value", "invalid_argument", function(c)
        return c:get(T.url("/echo"), { query = { a = "x\0y" } })
    end, { match = "NUL" })
    refused("NUL in a form key", "invalid_argument", function(c)
        return c:post(T.url("/echo"), { form = { ["a\0"] = "x" } })
    end, { match = "NUL" })
end)

T.test("A12 form and multipart values starting with @ or < are sent as text", function()
    local r = R.case({ label = "form @", code = false, call = function(c)
        return c:post(T.url("/echo/body"), { form = { f = "@/etc/passwd", g = "</etc/passwd" } })
    end })
    T.eq(r.body, "f=%40%2Fetc%2Fpasswd&g=%3C%2Fetc%2Fpasswd")
    r = R.case({ label = "multipart @", code = false, call = function(c)
        return c:post(T.url("/echo/body"), { multipart = {
            { name = "f", data = "@/etc/passwd" }, { name = "g", data = "</etc/passwd" } } })
    end })
    T.contains(r.body, "\r\n\r\n@/etc/passwd\r\n")
    T.contains(r.body, "\r\n\r\n</etc/passwd\r\n")
    T.not_contains(r.body, "root:")
end)

T.test("A13 a body of all 256 byte values x 4 KiB arrives identical", function()
    local chars = {}
    for i = 0, 255 do
        chars[#chars + 1] = string.char(i)
    end
    local body = table.concat(chars):rep(4096)
    local r = R.case({ label = "all bytes", code = false, deadline = 3, call = function(c)
        return c:post(T.url("/echo/body"), { body = body })
    end })
    T.eq(r.body_size, #body)
    T.ok(r.body == body, "the server received identical bytes")
end)

T.test("A14 auth: ':' in the user works, a missing pass or a NUL is an error", function()
    local r = R.case({ label = "colon in user", code = false, call = function(c)
        return c:get(T.url("/basic-auth?user=a:b&pass=p"), { auth = { user = "a:b", pass = "p" } })
    end })
    T.eq(r.status_code, 200)
    refused("missing pass", "invalid_argument", function(c)
        return c:get(T.url("/echo"), { auth = { user = "u" } })
    end)
    refused("NUL in pass", "invalid_argument", function(c)
        return c:get(T.url("/echo"), { auth = { user = "u", pass = "sec\0ret" } })
    end, { secret = "sec\0ret" })
    refused("NUL in user", "invalid_argument", function(c)
        return c:get(T.url("/echo"), { auth = { user = "u\0", pass = "secret" } })
    end)
end)

T.test("A15 timeouts: -1, NaN, inf, 1e300, abc refused; 0.001 is about 1 ms; 1h is an hour", function()
    for _, v in ipairs({ -1, 0 / 0, math.huge, -math.huge, 1e300, "abc", "-1s", "1x", "" }) do
        for _, k in ipairs({ "timeout", "connect_timeout", "idle_timeout" }) do
            refused(k .. " " .. tostring(v), "invalid_argument", function(c)
                return c:get(T.url("/echo"), { [k] = v })
            end, { match = "duration" })
        end
    end
    -- a tighter bound than R.slack: 0.001 taken as a whole second must fail
    R.case({ label = "0.001 s", code = "timeout", deadline = 0.2, slack = 0.6, call = function(c)
        return c:get(T.url("/slow?ms=2000"), { timeout = 0.001 })
    end })
    R.case({ label = "1ms string", code = "timeout", deadline = 0.2, slack = 0.6, call = function(c)
        return c:get(T.url("/slow?ms=2000"), { timeout = "1ms" })
    end })
    R.case({ label = "1h", code = false, call = function(c)
        return c:get(T.url("/slow?ms=50"), { timeout = "1h", connect_timeout = "1h" })
    end })
end)

T.test("A16 options not a table, or with a throwing __index", function()
    for _, o in ipairs({ "x", 5, true, function() end }) do
        refused("options " .. type(o), "invalid_argument", function(c)
            return c:get(T.url("/echo"), o)
        end)
    end
    local boom = setmetatable({}, { __index = function(_, k)
        error("boom " .. tostring(k))
    end })
    refused("throwing __index", "invalid_argument", function(c)
        return c:get(T.url("/echo"), boom)
    end, { match = "boom" })
    local deep = { headers = setmetatable({}, { __pairs = function()
        error("no pairs")
    end, __index = function()
        error("deep boom")
    end }) }
    R.case({ label = "throwing nested table", code = "any", warm = true, call = function(c)
        return c:get(T.url("/echo"), deep)
    end })
    -- the async path keeps the promise too
    R.case({ label = "async throwing __index", code = "invalid_argument", warm = true, call = function(c)
        local h = c:get_async(T.url("/echo"), boom)
        return h:wait(1)
    end })
end)

T.test("A17 batches: empty, holes, non-tables, 10,000 items, mixed, over the cap", function()
    local r = R.case({ label = "empty", code = false, call = function(c)
        return c:request_batch({})
    end })
    T.eq(next(r), nil)
    -- holes and non-tables: one result per index
    local reqs = { { "GET", T.url("/echo") }, nil, "x", { "GET", "ftp://h/" }, 5, { "GET", T.url("/status/404") } }
    reqs[8] = { "GET", T.url("/echo") }
    R.heap()
    local fds0 = R.fds().n
    local c = http.new()
    local res, errs = c:request_batch(reqs)
    T.eq(res[1].status_code, 200)
    T.eq(res[2], nil)
    T.eq(errs[2], "Request must be a table", "a hole")
    T.eq(errs[3], "Request must be a table")
    T.contains(errs[4], "unsupported protocol scheme")
    T.eq(errs[5], "Request must be a table")
    T.eq(res[6].status_code, 404)
    T.eq(res[7], nil)
    T.eq(errs[7], "Request must be a table", "a hole")
    T.eq(res[8].status_code, 200)
    -- 10,000 items, valid and invalid mixed
    local big = {}
    for i = 1, 10000 do
        if i % 100 == 0 then
            big[i] = { "GET", T.url("/echo?i=" .. i) }
        elseif i % 3 == 0 then
            big[i] = "not a table"
        elseif i % 3 == 1 then
            big[i] = { "GET", "http://127.0.0.1:" .. T.port .. "/\r\n" }
        else
            big[i] = { "B AD", T.url("/echo") }
        end
    end
    local t0 = T.now()
    res, errs = c:request_batch(big, { concurrency = 64 })
    T.lt(T.now() - t0, 20 + R.slack * 10, "10,000 items")
    local n_res, n_err = 0, 0
    for i = 1, 10000 do
        if res[i] then
            n_res = n_res + 1
            T.eq(res[i].url, T.url("/echo?i=" .. i), "item " .. i)
            T.eq(errs[i], nil)
        else
            n_err = n_err + 1
            T.is_type(errs[i], "string", "item " .. i)
        end
    end
    T.eq(n_res, 100)
    T.eq(n_err, 9900)
    c:close()
    R.heap()
    T.eq(R.fds().n, fds0, "descriptors after the batches")
    -- over the cap
    local over = {}
    over[100001] = { "GET", T.url("/echo") }
    refused("100,001 items", "invalid_argument", function(cl)
        return cl:request_batch(over)
    end, { match = "at most" })
    refused("not a table", "invalid_argument", function(cl)
        return cl:request_batch("x")
    end)
end)
