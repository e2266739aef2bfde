-- Errors raised by user callbacks stay with their request (plain
-- LuaJIT host): the wait() of that request or the next run() raises
-- them, once; nothing else (batches, other waits, stream reads, close)
-- ever sees them.
local T = require("support")
local http = require("ljhttp")

T.test("a callback's error skips request_batch and other waits; its own wait raises it", function()
    local c = T.ok(http.new())
    local bad = c:get_async(T.url("/slow?ms=10"), nil, function()
        error("cb-A failure")
    end)
    local other = c:get_async(T.url("/slow?ms=200"))
    -- the batch drives the engine while bad's callback runs
    local rs, errs = c:request_batch({ { "GET", T.url("/slow?ms=300") }, { "GET", T.url("/echo") } })
    T.is_nil(errs, "batch errors")
    T.eq(rs[1].status_code, 200)
    T.eq(rs[2].status_code, 200)
    T.res(200, other:wait(10))
    local ok, err = pcall(bad.wait, bad, 10)
    T.eq(ok, false, "its own wait raises")
    T.contains(tostring(err), "cb-A failure")
    -- raised once: waiting again, or running, does not raise it again
    T.eq(select(1, pcall(bad.wait, bad, 1)), true, "second wait")
    T.eq(c:run(1), true)
    c:close()
end)

T.test("an on_chunk error ends its transfer once; close() and run() do not repeat it", function()
    local c = T.ok(http.new())
    local calls, got = 0, nil
    local h = c:get_async(T.url("/bytes?n=" .. 8 * 1024 * 1024), {
        on_chunk = function()
            calls = calls + 1
            error("chunk failure")
        end,
    }, function(r, e, code)
        got = { r, e, code }
    end)
    local ok, err = pcall(c.run, c, 20)
    T.eq(ok, false, "run raises the error")
    T.contains(tostring(err), "chunk failure")
    T.eq(calls, 1, "on_chunk calls after its error")
    T.ok(got, "the completion callback ran")
    T.is_nil(got[1])
    T.eq(got[3], "callback")
    T.contains(got[2], "chunk failure")
    T.eq(select(1, pcall(c.run, c, 1)), true, "a second run does not raise")
    local h2 = c:get_async(T.url("/drip?chunks=3&interval_ms=0"), {
        on_chunk = function()
            error("chunk failure 2")
        end,
    })
    T.eq(select(1, pcall(c.close, c)), true, "close does not raise")
    T.eq(h2:done(), true)
    local _, _, code = h:wait(1)
    T.eq(code, "callback")
end)

T.test("a callback's error does not surface in another request's stream read", function()
    local c = T.ok(http.new())
    local ran = false
    local bad = c:get_async(T.url("/echo"), nil, function()
        ran = true
        error("cb-B failure")
    end)
    local s = T.ok(c:stream("GET", T.url("/drip?chunks=3&interval_ms=50&size=5")))
    local body = {}
    while true do
        local ok, chunk = pcall(s.read, s)
        T.eq(ok, true, "read raised: " .. tostring(chunk))
        if not chunk then
            break
        end
        body[#body + 1] = chunk
    end
    s:close()
    T.eq(table.concat(body), "000001111122222")
    local ok, err = pcall(bad.wait, bad, 5)
    T.ok(ran, "its callback ran")
    T.eq(ok, false)
    T.contains(tostring(err), "cb-B failure")
    c:close()
end)

-- ---- output temp files when the request cannot finish ----

local function tmp_files(dir)
    local n = 0
    for _ in T.capture("ls -A " .. T.shq(dir)):gmatch("[^\n]*%.tmp%.[^\n]*") do
        n = n + 1
    end
    return n
end

-- Starts an output download that stalls after 5 of 10 bytes, pumped
-- until its temporary file exists.
local function stalled_output(c, dir)
    local h = c:get_async(T.url("/stall-body?ms=20000"), { output = dir .. "/f.bin" })
    local t0 = T.now()
    while tmp_files(dir) == 0 and T.now() - t0 < 10 do
        c.engine:pump(20)
    end
    T.eq(tmp_files(dir), 1, "the temporary file exists while the body comes")
    return h
end

T.test("output temp file removed on cancel, close and collection", function()
    local dir = T.tmpdir() .. "/output-cleanup"
    T.ok(T.sh("mkdir -p " .. T.shq(dir)))
    local c = T.ok(http.new())
    local h = stalled_output(c, dir)
    h:cancel()
    T.eq(tmp_files(dir), 0, "after cancel")
    h = stalled_output(c, dir)
    c:close()
    T.eq(tmp_files(dir), 0, "after close")
    T.err("closed", h:wait(1))
    c = T.ok(http.new())
    stalled_output(c, dir)
    c = nil -- luacheck: ignore
    collectgarbage()
    collectgarbage()
    T.eq(tmp_files(dir), 0, "after the client and its handle were collected")
end)

-- ---- on_progress ----

T.test("on_progress: at most every progress_interval, final figures last, never after the callback", function()
    local c = T.ok(http.new())
    local seen, at, done_after = {}, {}, nil
    local t0 = T.now()
    local h = c:get_async(T.url("/drip?chunks=10&interval_ms=50&size=1000"), {
        progress_interval = 0.15,
        on_progress = function(p)
            T.eq(done_after, nil, "on_progress after the completion callback")
            seen[#seen + 1] = p
            at[#at + 1] = T.now()
        end,
    }, function()
        done_after = #seen
    end)
    T.res(200, h:wait(20))
    local wall = T.now() - t0
    T.eq(done_after, #seen, "the completion callback came after every on_progress")
    T.ok(#seen >= 1, "at least the final figures")
    T.eq(seen[#seen].downloaded, 10000, "final figures")
    T.eq(seen[#seen][1], 10000, "both shapes")
    for i = 2, #seen do
        T.ok(seen[i].downloaded >= seen[i - 1].downloaded, "figures never go back")
    end
    -- periodic ones (all but the final) at least 0.15 s apart
    for i = 2, #seen - 1 do
        T.ok(at[i] - at[i - 1] >= 0.14, "periodic deliveries at least progress_interval apart")
    end
    T.ok(#seen - 1 <= wall / 0.15 + 1, "no more periodic deliveries than the interval allows")
    c:close()
end)

T.test("on_progress: bad progress_interval, and an on_progress error stays with its request", function()
    local c = T.ok(http.new())
    T.err("invalid_argument", c:get_async(T.url("/echo"), { on_progress = print, progress_interval = -1 }):wait(5))
    T.err("invalid_argument", c:get_async(T.url("/echo"), { on_progress = print, progress_interval = "soon" }):wait(5))
    local got
    local h = c:get_async(T.url("/drip?chunks=20&interval_ms=30&size=100"), {
        progress_interval = 0,
        on_progress = function()
            error("progress failure")
        end,
    }, function(r, e, code)
        got = { r, e, code }
    end)
    local other = c:get_async(T.url("/echo"))
    T.res(200, other:wait(10))
    local ok, err = pcall(h.wait, h, 10)
    T.eq(ok, false, "its wait raises")
    T.contains(tostring(err), "progress failure")
    T.eq(got[3], "callback")
    T.contains(got[2], "on_progress raised")
    c:close()
end)
