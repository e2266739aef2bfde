-- Non-blocking requests under plain LuaJIT: handles, callbacks, run(),
-- cancel, wait timeouts, streaming, progress, closing a client.
local T = require("support")
local http = require("ljhttp")
local ffi = require("ffi")

T.test("get_async + wait returns what the callback got, callback once", function()
    local calls, got = 0, nil
    local h = http.get_async(T.url("/echo?async=1"), nil, function(r, e, c)
        calls = calls + 1
        got = { r, e, c }
    end)
    T.ok(h, "handle")
    local r, e, c = h:wait(10)
    T.eq(calls, 1, "callback calls")
    T.res(200, r, e, c)
    T.eq(r, got[1], "same response table as the callback")
    T.is_nil(got[2])
    T.is_nil(got[3])
    T.eq(T.echo(r.body).query, "async=1")
    T.ok(h:done(), "done() after wait")
    -- waiting again returns the same and does not call back again
    local r2 = h:wait()
    T.eq(r2, r)
    http.run(1)
    T.eq(calls, 1, "callback calls after a second wait and run")
end)

T.test("async errors come back through the callback", function()
    local got
    local h = http.get_async(T.refused_url, nil, function(r, e, c)
        got = { r, e, c }
    end)
    T.err("connect", h:wait(10))
    T.is_nil(got[1])
    T.eq(got[3], "connect")
end)

T.test("callback of a request refused before it starts runs by wait()", function()
    local calls = 0
    local h = http.get_async(T.url("/echo"), 5, function()
        calls = calls + 1
    end)
    T.err("invalid_argument", h:wait(5))
    T.eq(calls, 1, "callback calls after wait()")
end)

T.test("post_async, request_async and methods of a client", function()
    local h = http.post_async(T.url("/echo/body"), { body = "async-body" })
    T.eq(T.res(200, h:wait(10)).body, "async-body")
    h = http.request_async("PURGE", T.url("/echo"), nil)
    T.eq(T.echo(T.res(200, h:wait(10)).body).method, "PURGE")
    local c = T.ok(http.new())
    h = c:put_async(T.url("/echo"), { body = "x" })
    T.eq(T.echo(T.res(200, h:wait(10)).body).method, "PUT")
    c:close()
end)

T.test("http.run() drives many handles", function()
    local done, order = 0, {}
    local hs = {}
    for i = 1, 20 do
        hs[i] = http.get_async(T.url("/slow?ms=" .. (i % 4) * 20 .. "&i=" .. i), nil, function(r, e)
            T.res(200, r, e)
            done = done + 1
            order[#order + 1] = i
        end)
    end
    T.eq(http.run(20), true, "run() finished everything")
    T.eq(done, 20, "callbacks")
    for i = 1, 20 do
        T.ok(hs[i]:done(), "handle " .. i .. " done")
        local r = T.res(200, hs[i]:wait())
        T.contains(r.url, "&i=" .. i .. "", "handle " .. i)
    end
end)

T.test("handles of several clients run concurrently", function()
    local a, b = T.ok(http.new()), T.ok(http.new())
    -- the barrier answers only while both requests are in at once (one
    -- after the other, the first gets 504 after 30 s)
    local url = T.url(T.barrier_path(2))
    local ha = a:get_async(url)
    local hb = b:get_async(url)
    T.eq(http.run(120), true)
    T.eq(T.res(200, ha:wait()).body, "met 2")
    T.eq(T.res(200, hb:wait()).body, "met 2")
    a:close()
    b:close()
end)

T.test("cancel() on /stall gives nil, cancelled, cancelled", function()
    local got
    local h = http.get_async(T.url("/stall"), { timeout = 10 }, function(r, e, c)
        got = { r, e, c }
    end)
    T.eq(select("#", h:wait(0.1)), 3)
    h:cancel()
    local r, e, c = h:wait(5)
    T.is_nil(r)
    T.eq(e, "cancelled")
    T.eq(c, "cancelled")
    T.ok(got, "callback called")
    T.is_nil(got[1])
    T.eq(got[2], "cancelled")
    T.eq(got[3], "cancelled")
    h:cancel() -- a second cancel is harmless
    T.ok(h:done())
end)

T.test("wait(0.1) on /stall times out and the transfer keeps running", function()
    local calls = 0
    local h = http.get_async(T.url("/stall"), { timeout = 10 }, function()
        calls = calls + 1
    end)
    local t0 = T.now()
    local n = select("#", h:wait(0.1))
    local r, e, c = h:wait(0.1)
    T.ok(T.now() - t0 < 5, "wait(0.1) returned")
    T.eq(n, 3, "values from wait")
    T.is_nil(r)
    T.eq(e, "wait timed out")
    T.eq(c, "timeout")
    T.eq(h:done(), false, "still running")
    T.eq(calls, 0, "no callback yet")
    h:cancel()
    T.err("cancelled", h:wait(5))
    T.eq(calls, 1)
end)

T.test("on_chunk receives /drip's chunks in order; body is empty", function()
    local chunks = {}
    local h = http.get_async(T.url("/drip?chunks=5&interval_ms=30&size=10"), {
        on_chunk = function(s)
            chunks[#chunks + 1] = s
        end,
    })
    local r = T.res(200, h:wait(10))
    T.eq(r.body, "")
    local all = table.concat(chunks)
    T.eq(all, "0000000000111111111122222222223333333333" .. "4444444444")
    T.ok(#chunks >= 2, "more than one chunk delivered (got " .. #chunks .. ")")
end)

T.test("on_chunk with a large body delivers every byte", function()
    local n, parts = 0, {}
    local h = http.get_async(T.url("/bytes?n=300000&seed=3"), {
        on_chunk = function(s)
            n = n + #s
            parts[#parts + 1] = s
        end,
    })
    T.res(200, h:wait(10))
    T.eq(n, 300000)
    local sync = T.res(200, http.get(T.url("/bytes?n=300000&seed=3")))
    T.ok(table.concat(parts) == sync.body, "streamed bytes differ from the plain body")
end)

T.test("on_chunk: chunks of at most LJH_STREAM_CHUNK, every byte of a body past the pause mark", function()
    -- 3 MiB, and a callback slow enough that more than the 1 MiB pause
    -- mark piles up between two pumps: what was taken in parts must all come
    local size = 3 * 1024 * 1024
    local n, biggest, calls = 0, 0, 0
    local parts = {}
    local h = http.get_async(T.url("/bytes?n=" .. size .. "&seed=5"), {
        on_chunk = function(s)
            calls = calls + 1
            n = n + #s
            if #s > biggest then
                biggest = #s
            end
            parts[#parts + 1] = s
            if calls % 8 == 1 then
                T.sleep(0.005)
            end
        end,
    })
    T.res(200, h:wait(20))
    T.eq(n, size, "bytes through on_chunk")
    T.ok(biggest <= ffi.C.LJH_STREAM_CHUNK, "largest chunk " .. biggest)
    local sync = T.res(200, http.get(T.url("/bytes?n=" .. size .. "&seed=5")))
    T.ok(table.concat(parts) == sync.body, "streamed bytes differ from the plain body")
end)

T.test("progress() has downloaded > 0 after /bytes", function()
    local h = http.get_async(T.url("/bytes?n=50000"))
    T.res(200, h:wait(10))
    local p = h:progress()
    T.is_type(p, "table")
    T.ok(p.downloaded > 0, "downloaded " .. tostring(p.downloaded))
    T.eq(p.downloaded, 50000)
    T.eq(p.download_total, 50000)
end)

T.test("close() with a transfer in flight: callback gets closed; later requests closed", function()
    local c = T.ok(http.new())
    local got, calls = nil, 0
    local h = c:get_async(T.url("/stall"), { timeout = 10 }, function(r, e, code)
        calls = calls + 1
        got = { r, e, code }
    end)
    c:run(0.1)
    T.eq(h:done(), false, "in flight before close")
    c:close()
    local r, e, code = h:wait(5)
    T.is_nil(r)
    T.eq(code, "closed")
    T.is_type(e, "string")
    T.eq(calls, 1, "callback calls")
    T.eq(got[3], "closed")
    T.err("closed", c:get(T.url("/echo")))
    T.err("closed", c:request("GET", T.url("/echo")))
    T.err("closed", c:request_batch({ { "GET", T.url("/echo") } }))
    -- async on a closed client: the callback still runs, once
    local later = 0
    local h2 = c:get_async(T.url("/echo"), nil, function(_, _, cd)
        later = later + 1
        T.eq(cd, "closed")
    end)
    T.err("closed", h2:wait(1))
    T.eq(later, 1, "callback of a request on a closed client")
    T.ok(c:close(), "closing twice is fine")
end)

T.test("an error in a callback reaches the caller of wait, not the engine", function()
    local h = http.get_async(T.url("/echo"), nil, function()
        error("callback failure")
    end)
    local ok, err = pcall(h.wait, h, 5)
    T.eq(ok, false)
    T.contains(tostring(err), "callback failure")
    -- the module keeps working
    T.res(200, http.get(T.url("/echo")))
    local h2 = http.get_async(T.url("/echo"))
    T.res(200, h2:wait(5))
end)
