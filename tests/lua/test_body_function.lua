-- Streaming uploads: body = function() returning the next piece (a
-- string) or nil at the end; C pauses its read until Lua has fed the
-- next piece (no call from C into Lua).
local T = require("support")
local http = require("ljhttp")

local function pieces_of(list)
    local i = 0
    return function()
        i = i + 1
        return list[i]
    end
end

T.test("body function: blocking call, sent chunked without a Content-Length", function()
    local r = T.res(200, http.post(T.url("/echo/body"), { body = pieces_of({ "hello ", "", "streamed ", "world" }) }))
    T.eq(r.body, "hello streamed world")
    local e = T.echo(T.res(200, http.put(T.url("/echo"), { body = pieces_of({ "abc", "de" }) })).body)
    T.eq(e.method, "PUT")
    T.eq(T.echo_header(e, "Transfer-Encoding"), "chunked")
    T.is_nil(T.echo_header(e, "Content-Length"))
    T.eq(e.body_length, 5)
end)

T.test("body function: a Content-Length header gives the size", function()
    local e = T.echo(T.res(200, http.post(T.url("/echo"), {
        body = pieces_of({ "12345", "67890" }),
        headers = { ["Content-Length"] = "10" },
    })).body)
    T.eq(T.echo_header(e, "Content-Length"), "10")
    T.is_nil(T.echo_header(e, "Transfer-Encoding"))
    T.eq(e.body_length, 10)
end)

T.test("body function: async, 4 MiB in 64 KiB pieces arrives byte-exact", function()
    local piece = {}
    for i = 0, 255 do
        piece[#piece + 1] = string.char(i)
    end
    piece = table.concat(piece):rep(256) -- 64 KiB
    local n, calls = 0, 0
    local got
    local h = http.post_async(T.url("/echo"), {
        body = function()
            calls = calls + 1
            if n == 64 then
                return nil
            end
            n = n + 1
            return piece
        end,
    }, function(res, err, code)
        got = { res, err, code }
    end)
    local r = T.res(200, h:wait(30))
    local e = T.echo(r.body)
    T.eq(e.body_length, 4 * 1024 * 1024)
    T.eq(calls, 65) -- each piece pulled once, then the end
    T.eq(got[1], r)
    local back = T.res(200, http.post(T.url("/echo/body"), { body = pieces_of({ piece, "end" }) }))
    T.ok(back.body == piece .. "end", "byte-exact round trip")
end)

T.test("body function: a failing function ends the request with io", function()
    local msg = T.err("io", http.post(T.url("/echo/body"), { body = function()
        error("no more data")
    end }))
    T.contains(msg, "no more data")
    msg = T.err("io", http.post(T.url("/echo/body"), { body = function()
        return 42
    end }))
    T.contains(msg, "number")
end)

T.test("body function: refused where it cannot be pulled or resent", function()
    local fn = pieces_of({ "x" })
    local _, errs, codes = http.request_batch({ { "POST", T.url("/echo"), { body = fn } } })
    T.eq(codes[1], "invalid_argument", errs[1])
    T.err("invalid_argument", http.stream("POST", T.url("/echo"), { body = fn }))
    T.err("invalid_argument", assert(http.new({ body = fn })):post(T.url("/echo")))
    -- a 307 would send the body again: it was read once
    local target = "/echo/body"
    local msg = T.err("invalid_argument", http.post(T.url("/redirect-to?status=307&url=" .. target),
        { body = pieces_of({ "once" }) }))
    T.contains(msg, "redirect")
end)
