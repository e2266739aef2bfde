-- A stream, an event stream or an on_chunk/on_event request answered
-- outside 2xx: nil, message, "http_status" and the response, with its
-- status, headers and body (capped at 64 KiB), never the error body read
-- as data.
local T = require("support")
local http = require("ljhttp")

local KEY_JSON = '{"error":"invalid API key"}'
local function refusal(status, extra)
    return T.url("/answer?status=" .. status .. "&type=application/json&h=X-Why:key&body="
        .. KEY_JSON:gsub("[^%w]", function(c)
            return ("%%%02X"):format(c:byte())
        end) .. (extra or ""))
end

-- nil, message, "http_status", response: exactly four values
local function refused(status, ...)
    local n = select("#", ...)
    local r, msg, code, res = ...
    T.is_nil(r)
    T.eq(n, 4, "four values")
    T.eq(code, "http_status", msg)
    T.is_type(msg, "string")
    T.contains(msg, tostring(status))
    T.eq(res.status_code, status)
    return res, msg
end

T.test("sse() on a 401: http_status with status, headers and the body", function()
    local res, msg = refused(401, http.sse(refusal(401)))
    T.eq(res.body, KEY_JSON)
    T.eq(res.body_size, #KEY_JSON)
    T.eq(res.headers["X-Why"], "key")
    T.eq(res.headers["content-type"], "application/json")
    T.eq(res:json().error, "invalid API key")
    T.contains(msg, "event stream")
    refused(404, http.sse(T.url("/status/404")))
end)

T.test("stream() on a 500: http_status with the body", function()
    local res = refused(500, http.stream("GET", refusal(500)))
    T.eq(res.body, KEY_JSON)
    T.eq(res.headers["X-Why"], "key")
end)

T.test("the kept body is capped at 64 KiB", function()
    local url = T.url("/answer?status=503&body=0123456789abcdef&repeat=10000") -- 160,000 bytes
    local res = refused(503, http.stream("GET", url))
    T.eq(#res.body, 65536)
    T.eq(res.body, ("0123456789abcdef"):rep(4096))
    local got
    http.get_async(url, { on_chunk = function() end }, function(...)
        got = { n = select("#", ...), ... }
    end):wait(10)
    T.eq(got[3], "http_status")
    T.eq(#got[4].body, 65536)
end)

T.test("on_event on a 401: no events, the callback gets http_status and the body", function()
    local events, got = 0, nil
    local h = http.get_async(refusal(401), {
        on_event = function()
            events = events + 1
        end,
    }, function(...)
        got = { n = select("#", ...), ... }
    end)
    local r, msg, code, res = h:wait(10)
    T.is_nil(r)
    T.eq(code, "http_status", msg)
    T.eq(res.body, KEY_JSON)
    T.eq(events, 0)
    T.eq(got.n, 4)
    T.eq(got[3], "http_status")
    T.eq(got[4].status_code, 401)
    T.eq(got[4].headers["X-Why"], "key")
end)

T.test("on_chunk on a 404: the body is not passed as data", function()
    local chunks = {}
    local r, msg, code, res = http.get_async(refusal(404), {
        on_chunk = function(c)
            chunks[#chunks + 1] = c
        end,
    }, function() end):wait(10)
    T.is_nil(r)
    T.eq(code, "http_status", msg)
    T.eq(res.body, KEY_JSON)
    T.eq(#chunks, 0)
    -- a 2xx answer still streams through on_chunk, with an empty body
    chunks = {}
    local ok = T.res(200, http.get_async(T.url("/bytes?n=5000"), {
        on_chunk = function(c)
            chunks[#chunks + 1] = c
        end,
    }, function() end):wait(10))
    T.eq(#table.concat(chunks), 5000)
    T.eq(ok.body, "")
end)

T.test("a plain request answered 404 is still a response (gluahttp)", function()
    local r = T.res(404, http.get(refusal(404)))
    T.eq(r.body, KEY_JSON)
end)
