-- Server-sent events (docs/bodies.md): the pure-Lua parser (sse.lua) fed
-- in every way, http.sse against the fixture's /sse, and on_event in the
-- async API.
local T = require("support")
local http = require("ljhttp")
local sse = require("ljhttp.sse")

local function ev(event, data, id, retry)
    return { event = event, data = data, id = id, retry = retry }
end

-- What /sse?case=edges must give (tests/fixture/server.py, SSE_EDGES).
local EDGES = {
    ev("message", "first", "", 1500),
    ev("greet", "no-space", "", 1500),
    ev("message", "line1\nline2", "7", 1500),
    ev("message", "caf\195\169", "7", 1500),
    ev("message", "", "", 1500),
    ev("message", "after", "", 1500),
    ev("message", "x", "", 1500),
    ev("message", " two spaces", "", 1500),
    ev("message", "split", "", 1500),
}

local function feed_pieces(pieces)
    local p = sse.new()
    local out = {}
    for _, piece in ipairs(pieces) do
        for _, e in ipairs(p:feed(piece)) do
            out[#out + 1] = e
        end
    end
    return out, p
end

local function parse(s)
    return (feed_pieces({ s }))
end

local function bytes_of(s)
    local t = {}
    for i = 1, #s do
        t[i] = s:sub(i, i)
    end
    return t
end

local edges_body
local function edges()
    if not edges_body then
        local r = T.res(200, http.get(T.url("/sse?case=edges&gap_ms=0")))
        edges_body = r.body
    end
    return edges_body
end

-- ---- the parser ----

T.test("parser: the fixture's edge stream, whole and byte by byte", function()
    local body = edges()
    T.same(parse(body), EDGES, "whole")
    T.same(feed_pieces(bytes_of(body)), EDGES, "byte by byte")
end)

T.test("parser: the edge stream cut at every position, and in random pieces", function()
    local body = edges()
    for i = 1, #body - 1 do
        T.same(feed_pieces({ body:sub(1, i), body:sub(i + 1) }), EDGES, "cut at " .. i)
    end
    math.randomseed(42)
    for round = 1, 200 do
        local pieces, pos = {}, 1
        while pos <= #body do
            local n = math.random(1, 9)
            pieces[#pieces + 1] = body:sub(pos, pos + n - 1)
            pos = pos + n
        end
        T.same(feed_pieces(pieces), EDGES, "round " .. round)
    end
end)

T.test("parser: line ends CRLF, LF and CR, also split between chunks", function()
    local want = { ev("message", "a", "", nil), ev("message", "b", "", nil), ev("message", "c", "", nil) }
    T.same(parse("data: a\r\n\r\ndata: b\n\ndata: c\r\r"), want)
    T.same(feed_pieces({ "data: a\r", "\n\r", "\ndata: b\n", "\ndata: c\r", "\r" }), want)
    -- CR then CR is two line ends, not one
    T.same(parse("data: a\r\rdata: b\r\r"), { ev("message", "a", "", nil), ev("message", "b", "", nil) })
    -- an LF after a chunk-final CR is skipped once only
    T.same(feed_pieces({ "data: a\r", "\n", "\n" }), { ev("message", "a", "", nil) })
end)

T.test("parser: data with and without the space, multi-line data", function()
    T.same(parse("data:a\n\n"), { ev("message", "a", "", nil) })
    T.same(parse("data: a\n\n"), { ev("message", "a", "", nil) })
    T.same(parse("data:  a\n\n"), { ev("message", " a", "", nil) }, "only one space is removed")
    T.same(parse("data:\tA\n\n"), { ev("message", "\tA", "", nil) }, "a tab is kept")
    T.same(parse("data: 1\ndata:2\ndata\ndata: 4\n\n"), { ev("message", "1\n2\n\n4", "", nil) })
    T.same(parse("data: a:b: c\n\n"), { ev("message", "a:b: c", "", nil) }, "colons in the value")
    T.same(parse("data\n\n"), { ev("message", "", "", nil) }, "an empty data line dispatches")
    T.same(parse("data:\ndata:\n\n"), { ev("message", "\n", "", nil) })
end)

T.test("parser: comments, unknown fields and case-sensitive names are ignored", function()
    T.same(parse(": hello\n:\ndata: a\n: between\n\n"), { ev("message", "a", "", nil) })
    T.same(parse("Data: no\nDATA: no\nfoo: bar\ndata: yes\n\n"), { ev("message", "yes", "", nil) })
    T.same(parse(": only a comment\n\n"), {}, "nothing to dispatch")
end)

T.test("parser: event types, the default and the reset after each event", function()
    T.same(parse("event: a\ndata: 1\n\ndata: 2\n\n"), { ev("a", "1", "", nil), ev("message", "2", "", nil) })
    T.same(parse("event: x\n\ndata: 2\n\n"), { ev("message", "2", "", nil) }, "reset without dispatch")
    T.same(parse("event\ndata: 3\n\n"), { ev("message", "3", "", nil) }, "empty type -> message")
    T.same(parse("event: a\nevent: b\ndata: 4\n\n"), { ev("b", "4", "", nil) }, "the last one wins")
end)

T.test("parser: id persists, id with NUL is ignored, empty id resets", function()
    T.same(parse("id: 1\ndata: a\n\ndata: b\n\nid\ndata: c\n\nid: 2\0x\ndata: d\n\n"), {
        ev("message", "a", "1", nil), ev("message", "b", "1", nil), ev("message", "c", "", nil),
        ev("message", "d", "", nil),
    })
    -- an id without data is kept for the next event
    local out, p = feed_pieces({ "id: 9\n\n", "data: z\n\n" })
    T.same(out, { ev("message", "z", "9", nil) })
    T.eq(p.last_event_id, "9")
end)

T.test("parser: retry only when all digits", function()
    local out, p = feed_pieces({ "retry: 100\ndata: a\n\nretry: 2x\nretry: -5\nretry: 1.5\nretry:\ndata: b\n\nretry:300\ndata: c\n\n" })
    T.same(out, { ev("message", "a", "", 100), ev("message", "b", "", 100), ev("message", "c", "", 300) })
    T.eq(p.retry, 300)
    -- without data: remembered by the parser, nothing dispatched
    out, p = feed_pieces({ "retry: 7\n\n" })
    T.same(out, {})
    T.eq(p.retry, 7)
end)

T.test("parser: the BOM is skipped once, at the start only", function()
    local bom = "\239\187\191"
    T.same(parse(bom .. "data: a\n\n"), { ev("message", "a", "", nil) })
    T.same(feed_pieces({ "\239", "\187", "\191", "data: a\n\n" }), { ev("message", "a", "", nil) })
    -- a second BOM is part of the field name, which is then unknown
    T.same(parse(bom .. bom .. "data: a\n\ndata: b\n\n"), { ev("message", "b", "", nil) })
    -- bytes that only start like a BOM are kept
    T.same(feed_pieces({ "\239", "x\n", "data: a\n\n" }), { ev("message", "a", "", nil) })
end)

T.test("parser: UTF-8 split between chunks, bytes passed through", function()
    local s = "data: \226\130\172 \240\159\152\128\n\n" -- euro sign, emoji
    T.same(feed_pieces(bytes_of(s)), { ev("message", "\226\130\172 \240\159\152\128", "", nil) })
    T.same(parse("data: \255\254\n\n"), { ev("message", "\255\254", "", nil) }, "invalid UTF-8 as is")
end)

T.test("parser: an unfinished event at the end is not dispatched", function()
    T.same(parse("data: a\n\ndata: b\n"), { ev("message", "a", "", nil) })
    T.same(parse("data: a\n\ndata: b"), { ev("message", "a", "", nil) })
end)

T.test("parser: a long data line in many pieces", function()
    local big = string.rep("y", 100000)
    local pieces = {}
    local s = "data: " .. big .. "\n\n"
    for i = 1, #s, 333 do
        pieces[#pieces + 1] = s:sub(i, i + 332)
    end
    T.same(feed_pieces(pieces), { ev("message", big, "", nil) })
end)

-- ---- http.sse ----

T.test("http.sse: every edge over the network, in flushed pieces", function()
    local events, err, code = http.sse(T.url("/sse"))
    T.ok(events, tostring(err) .. " " .. tostring(code))
    T.eq(events.status_code, 200)
    T.eq(events.headers["Content-Type"], "text/event-stream")
    local got = {}
    for e in events do
        got[#got + 1] = e
    end
    T.same(got, EDGES)
    T.is_nil(events.error)
    T.eq(events.last_event_id, "")
    T.eq(events.retry, 1500)
    T.is_nil(events(), "after the end")
end)

T.test("http.sse: counted events with ids, and a client's sse", function()
    local c = T.ok(http.new())
    local events = T.ok(c:sse(T.url("/sse?case=count&n=5&interval_ms=30")))
    local ids, datas = {}, {}
    for e in events do
        ids[#ids + 1] = e.id
        datas[#datas + 1] = e.data
    end
    T.same(ids, { "1", "2", "3", "4", "5" })
    T.eq(datas[5], "event 5")
    T.eq(events.last_event_id, "5")
    c:close()
end)

T.test("http.sse: a large event across many chunks", function()
    local events = T.ok(http.sse(T.url("/sse?case=big&size=300000")))
    local e = T.ok(events())
    T.eq(#e.data, 300000)
    T.is_nil(events())
end)

T.test("http.sse sends Accept: text/event-stream unless told otherwise", function()
    local events = T.ok(http.sse(T.url("/echo")))
    local body = T.ok(events.stream:read())
    T.contains(body, "header Accept: text/event-stream\n")
    events:close()
    events = T.ok(http.sse(T.url("/echo"), { headers = { accept = "x/y" } }))
    body = T.ok(events.stream:read())
    T.contains(body, "header accept: x/y\n")
    T.not_contains(body, "event-stream")
    events:close()
end)

T.test("http.sse: method and body options", function()
    local events = T.ok(http.sse(T.url("/sse?case=count&n=2&interval_ms=0"), {
        method = "POST", body = "{}",
    }))
    local n = 0
    for _ in events do
        n = n + 1
    end
    T.eq(n, 2)
end)

T.test("http.sse: failures are nil, message, code", function()
    T.err("connect", http.sse(T.refused_url))
    T.err("invalid_argument", http.sse(T.url("/sse"), 5))
    -- a failure midway ends the loop; the error stays on the object
    local events = T.ok(http.sse(T.url("/close-mid")))
    for _ in events do
    end
    T.eq(events.error_code, "network")
    local _, _, code = events()
    T.eq(code, "network")
end)

T.test("http.sse: close() ends the stream early", function()
    local c = T.ok(http.new())
    local events = T.ok(c:sse(T.url("/sse?case=count&n=1000&interval_ms=10")))
    T.eq(T.ok(events()).data, "event 1")
    T.ok(events:close())
    T.eq(c.engine.n_pending, 0)
    T.is_nil(events())
    c:close()
end)

T.test("http.sse: close() also drops events already parsed from the last chunk", function()
    -- two events in one write: both parsed when the first is taken
    local body = "data: one\n\ndata: two\n\n"
    local events = T.ok(http.sse(require("reliability").raw("HTTP/1.1 200 OK\r\n"
        .. "Content-Type: text/event-stream\r\nContent-Length: " .. #body .. "\r\n\r\n" .. body)))
    T.eq(T.ok(events()).data, "one")
    T.ok(events:close())
    T.is_nil(events(), "nothing after close")
end)

-- ---- on_event in the async API ----

T.test("on_event delivers parsed events in order before the callback", function()
    local got, order = {}, {}
    local h = http.get_async(T.url("/sse"), {
        on_event = function(e)
            got[#got + 1] = e
            order[#order + 1] = "event"
        end,
    }, function(r, err)
        order[#order + 1] = "done"
        T.res(200, r, err)
        T.eq(r.body, "")
    end)
    T.res(200, h:wait(10))
    T.same(got, EDGES)
    T.eq(order[#order], "done")
    T.eq(#order, #EDGES + 1)
end)

T.test("on_event together with on_chunk: both see the stream", function()
    local bytes, n = {}, 0
    local h = http.get_async(T.url("/sse?case=count&n=3&interval_ms=10"), {
        on_chunk = function(c)
            bytes[#bytes + 1] = c
        end,
        on_event = function()
            n = n + 1
        end,
    })
    T.res(200, h:wait(10))
    T.eq(n, 3)
    T.contains(table.concat(bytes), "data: event 3\n\n")
    T.ok(not pcall(http.get_async, T.url("/sse"), { on_event = 5 }), "on_event must be a function")
end)
