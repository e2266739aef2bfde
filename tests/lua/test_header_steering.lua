-- Response header lines a server cannot use to steer what the caller sees
-- (docs/reliability.md, "Header lines"): a status-like line inside a head,
-- a status-like trailer, names that are not tokens.
local T = require("support")
local R = require("reliability")
local http = require("ljhttp")

local function find(headers, name)
    for _, h in ipairs(headers) do
        if h[1] == name then
            return h[2]
        end
    end
end

T.test("an HTTP/ line inside the final head hides no header and no cookie", function()
    local c = http.new({ cookie_jar = true })
    local r = T.res(200, c:get(R.raw("HTTP/1.1 200 OK\r\nSet-Cookie: sid=1\r\nX-Before: b\r\n"
        .. "HTTP/1.1 204 No: Content\r\nX-After: a\r\nContent-Length: 2\r\n\r\nok")))
    T.eq(r.body, "ok")
    T.eq(r.headers["X-Before"], "b")
    T.eq(r.headers["X-After"], "a")
    T.eq(r.cookies.sid, "1", "response.cookies agrees with the jar")
    c:close()
end)

T.test("an HTTP/ trailer after a chunked body keeps the headers", function()
    local r = T.res(200, http.get(R.raw("HTTP/1.1 200 OK\r\nX-Head: h\r\nTransfer-Encoding: chunked\r\n\r\n"
        .. "2\r\nok\r\n0\r\nHTTP/1.1 500: Oops\r\nX-Trailer: t\r\n\r\n")))
    T.eq(r.body, "ok")
    T.eq(r.status_code, 200)
    T.eq(r.headers["X-Head"], "h")
end)

T.test("header names with a space, a control or an 8-bit byte are dropped", function()
    local r = T.res(200, http.get(R.raw("HTTP/1.1 200 OK\r\nGood: 1\r\nSp ace: 2\r\nCt\1l: 3\r\n"
        .. "Hi\200gh: 4\r\nX-Ok: 5\r\nContent-Length: 0\r\n\r\n")))
    local names = {}
    for k in pairs(r.headers) do
        names[#names + 1] = k
    end
    table.sort(names)
    T.same(names, { "Content-Length", "Good", "X-Ok" })
    T.eq(#r.header_list, 3)
end)
