-- Handlers for the OpenResty host test (tests/openresty/run.sh). Each is
-- one location's content_by_lua; the upstream is the fixture server,
-- whose address comes through `env LJH_UPSTREAM`.
local http = require("ljhttp")

local M = {}

local function upstream()
    return assert(os.getenv("LJH_UPSTREAM"), "LJH_UPSTREAM is not set")
end

local function ms_arg(default)
    return tonumber(ngx.var.arg_ms) or default
end

local function reply(res, err, code)
    if not res then
        ngx.status = 502
        ngx.say("error ", tostring(code), ": ", tostring(err))
        return
    end
    ngx.say(res.status_code, " ", res.body)
end

-- One client per worker, shared by every request of that worker.
local client
local function get_client()
    client = client or assert(http.new({}))
    return client
end

-- Which host the module picked here, and the phase seen by the handler.
function M.info()
    ngx.say(get_client().host.name, " ", ngx.get_phase())
end

-- Async API: start, then wait (yields this request's coroutine).
function M.slow_async()
    local h = get_client():get_async(upstream() .. "/slow?ms=" .. ms_arg(2000))
    reply(h:wait())
end

-- Blocking API: must yield too, through the host's perform hook.
function M.slow_blocking()
    reply(http.get(upstream() .. "/slow?ms=" .. ms_arg(2000)))
end

-- Control: a client forced onto the plain LuaJIT host blocks the worker
-- (shows that the /fast timing can see a stall at all).
function M.slow_plain()
    local c = assert(http.new({ host = "luajit" }))
    reply(c:get(upstream() .. "/slow?ms=" .. ms_arg(2000)))
    c:close()
end

function M.fast()
    ngx.say("fast")
end

-- n blocking requests one after another (yielding): the polling must
-- not add much to each. Prints the elapsed milliseconds.
function M.seq()
    local n = tonumber(ngx.var.arg_n) or 20
    ngx.update_time()
    local t0 = ngx.now()
    local good = 0
    for i = 1, n do
        local res = http.get(upstream() .. "/echo?seq=" .. i)
        if res and res.status_code == 200 then
            good = good + 1
        end
    end
    ngx.update_time()
    ngx.say(good, "/", n, " ", math.floor((ngx.now() - t0) * 1000 + 0.5))
end

-- Several handles with callbacks, driven by client:run() (yields).
function M.many()
    local c = get_client()
    local n = tonumber(ngx.var.arg_n) or 20
    local ok_n = 0
    for i = 1, n do
        c:get_async(upstream() .. "/echo?i=" .. i, function(res)
            if res and res.status_code == 200 and res.body:find("i=" .. i, 1, true) then
                ok_n = ok_n + 1
            end
        end)
    end
    local all = c:run(10)
    ngx.say(tostring(all), " ", ok_n, "/", n)
end

-- wait() with a timeout, then cancel.
function M.wait_timeout()
    local c = get_client()
    local h = c:get_async(upstream() .. "/slow?ms=3000")
    ngx.update_time()
    local t0 = ngx.now()
    local res, err, code = h:wait(0.2)
    ngx.update_time()
    local waited = ngx.now() - t0
    h:cancel()
    local res2, err2, code2 = h:wait()
    ngx.say(tostring(res), " ", tostring(code), " ", string.format("%.3f", waited), " ",
        tostring(res2), " ", tostring(code2))
end

-- on_chunk through the OpenResty host, then the callback, once, after
-- every chunk (one queue per request: pieces and the completion's record).
function M.drip()
    local parts, calls = {}, 0
    local h = get_client():get_async(upstream() .. "/drip?chunks=5&interval_ms=20&size=3",
        { on_chunk = function(s) parts[#parts + 1] = s end }, function(r)
            calls = calls + 1
            parts[#parts + 1] = "|done " .. tostring(r and r.status_code)
        end)
    local res, err = h:wait(10)
    h:wait(1) -- nothing left to run
    get_client():run(1)
    ngx.say(res and res.status_code or err, " ", table.concat(parts), " ", calls)
end

-- ngx.run_worker_thread: the blocking call runs in a thread of the pool,
-- in that thread's own Lua VM (see ljh_or_thread.lua).
function M.thread()
    local ok, a, b = ngx.run_worker_thread("ljh", "ljh_or_thread", "fetch",
        upstream() .. "/slow?ms=" .. ms_arg(2000))
    if not ok then
        ngx.status = 500
        ngx.say("thread error: ", tostring(a))
        return
    end
    ngx.say(tostring(a), " ", tostring(b))
end

-- Inside a string.gsub callback a coroutine cannot yield (C boundary):
-- the wait notices that ngx.sleep failed and blocks instead.
function M.c_boundary()
    local out = string.gsub("x", "x", function()
        local res, err = http.get(upstream() .. "/slow?ms=50")
        return res and res.body or ("error " .. tostring(err))
    end)
    ngx.say(out)
end

-- A request made while another is being encoded (from the options'
-- __index here; a finalizer is the other way in) blocks instead of
-- yielding: another request of the worker encoding meanwhile would take
-- the encoder's scratch out of nesting order. ?id=N names both requests;
-- several run at once, and each must get its own answers. The query and
-- the header are strings only the encoder keeps (a table, a number), and
-- the inner requests end in the order they started (50 ms per id): were
-- they to yield, the first outer request would go on on the last one's
-- scratch and release its strings, which the collection below frees.
function M.nested()
    local id = tonumber(ngx.var.arg_id)
    local inner
    local opts = setmetatable({ query = { id = id }, headers = { ["X-Id"] = id } }, {
        __index = function(_, k)
            if k == "auth" and not inner then
                inner = { http.get(upstream() .. "/slow?ms=" .. 50 * id .. "&inner=" .. id) }
                collectgarbage()
                collectgarbage()
                local churn = {}
                for i = 1, 200 do
                    churn[i] = ("id=%d"):format(i % 10) .. ("x"):rep(i % 4)
                end
            end
        end,
    })
    local res, err = http.post(upstream() .. "/echo?who=outer", opts)
    local r = inner and inner[1]
    ngx.say(res and res.body:match("\nquery ([^\n]*)") or tostring(err), " ",
        res and res.body:match("\nheader X%-Id: ([^\n]*)") or "?", " | ",
        r and r.status_code .. " " .. r.url:match("inner=%d+") or tostring(inner and inner[2]))
end

-- set_by_lua: ngx.sleep is not allowed there, so the blocking call
-- is used (a quick request: it does block the worker meanwhile).
function M.in_set()
    local res, err = http.get(upstream() .. "/echo?from=set")
    return res and (res.status_code .. " " .. get_client().host.name .. " " .. ngx.get_phase()) or ("error " .. tostring(err))
end

-- Isolation: each request's callback writes into its own response. The
-- delays differ so the transfers end in another order than they started
-- and one request's wait is running while another's callback is due.
-- ?id=N&ms=M&shared=1 uses the worker's shared client, else the module
-- functions (the module's own client, shared by the worker too).
function M.iso()
    local id = ngx.var.arg_id
    local url = upstream() .. "/slow?ms=" .. ms_arg(50)
    local get_async = http.get_async
    if ngx.var.arg_shared then
        local c = get_client()
        get_async = function(...)
            return c:get_async(...)
        end
    end
    local chunks = 0
    local h = get_async(url, { on_chunk = function() chunks = chunks + 1 end }, function(res)
        ngx.say("cb ", id, " ", res and res.status_code)
    end)
    local h2 = get_async(url, nil, function(res)
        ngx.say("cb2 ", id, " ", res and res.status_code)
    end)
    local res = h:wait(10)
    h2:wait(10)
    ngx.say("done ", id, " ", res and res.status_code or "-", " ", chunks > 0 and "chunks" or "nochunks")
end

-- Orphans: a handler that returns without waiting. Its callback must
-- never run (in any request) and the transfer is cancelled.
local orphan = {}
function M.orphan_start()
    orphan.ran = false
    orphan.h = http.get_async(upstream() .. "/slow?ms=" .. ms_arg(4000), function()
        orphan.ran = true
        ngx.say("LEAK from an orphan callback")
    end)
    ngx.say("started")
end

function M.orphan_check()
    local h = orphan.h
    for _ = 1, 100 do
        if h.finished then
            break
        end
        collectgarbage() -- the ended request's ngx.ctx: how its end is seen
        ngx.sleep(0.05)
    end
    ngx.say(tostring(h.finished), " ", tostring(h.code), " ", tostring(orphan.ran))
end

-- Event-driven wait: a 20 ms upstream, counting how this coroutine's
-- sleeps ended (host stats: posts by the driver vs. poll timer ticks).
-- Prints "<polls> <wakeups> <ms>" of the last of n tries and the median.
function M.wake()
    local host = require("ljhttp.hosts.openresty")
    local c = get_client()
    local n = tonumber(ngx.var.arg_n) or 5
    local times = {}
    local polls, wakeups = 0, 0
    for i = 1, n do
        local p0, w0 = host.stats.polls, host.stats.wakeups
        ngx.update_time()
        local t0 = ngx.now()
        local res = c:get_async(upstream() .. "/slow?ms=20"):wait(5)
        ngx.update_time()
        times[i] = (ngx.now() - t0) * 1000
        if not res or res.status_code ~= 200 then
            ngx.say("failed")
            return
        end
        polls, wakeups = polls + host.stats.polls - p0, wakeups + host.stats.wakeups - w0
    end
    table.sort(times)
    ngx.say(polls, " ", wakeups, " ", n, " ", string.format("%.2f", times[math.ceil(n / 2)]))
end

-- Semaphores made for a new client's first request, from a coroutine
-- that has its own already: the driver's idle one only (checking that
-- ngx.semaphore exists made one more per driver start). Prints
-- "<semaphores made> <status>".
function M.semas()
    local host = require("ljhttp.hosts.openresty")
    get_client():get_async(upstream() .. "/slow?ms=20"):wait(5) -- this coroutine's semaphore
    local s0 = host.stats.semas
    local fresh = assert(http.new({}))
    local res = fresh:get_async(upstream() .. "/slow?ms=20"):wait(5)
    ngx.sleep(0.1) -- the driver, left with nothing to do, makes its idle semaphore
    fresh:close()
    ngx.say(host.stats.semas - s0, " ", res and res.status_code)
end

-- An answer already in when the wait starts costs no relay turn: the
-- driver pumps before it arms the relay. The driver is made to idle
-- first; then a 30 ms request, and this handler blocks (no yield) until
-- the client's epoll set is readable, i.e. the answer is in, unread.
-- Prints "<relay turns of the wait> <status>".
local ffi = require("ffi")
pcall(ffi.cdef, "struct ljh_test_pollfd { int fd; short events; short revents; };"
    .. "int poll(struct ljh_test_pollfd *fds, unsigned long n, int timeout);")
function M.answer_in()
    local host = require("ljhttp.hosts.openresty")
    local c = get_client()
    assert(c:get_async(upstream() .. "/slow?ms=1"):wait(5))
    ngx.sleep(0.05) -- the driver runs, finds nothing, idles
    local h = c:get_async(upstream() .. "/slow?ms=30")
    local p = ffi.new("struct ljh_test_pollfd[1]")
    p[0].fd, p[0].events = c.C.ljh_client_fd(c.cptr), 1 -- POLLIN
    for _ = 1, 500 do
        if ffi.C.poll(p, 1, 10) > 0 then
            break
        end
    end
    local t0 = host.stats.turns
    local res = h:wait(5)
    ngx.say(host.stats.turns - t0, " ", res and res.status_code)
end

-- A stream read through the OpenResty host (the driver wakes the reader),
-- on the shared client while other requests may use it too.
function M.stream()
    local s, err = get_client():stream("GET", upstream() .. "/drip?chunks=5&interval_ms=20&size=3")
    if not s then
        ngx.say("error ", tostring(err))
        return
    end
    local parts = {}
    for chunk in s:chunks() do
        parts[#parts + 1] = chunk
    end
    ngx.say(s.status_code, " ", table.concat(parts), " ", tostring(s.error))
end

-- Without the relay (it could not start): waits fall back to polling
-- with ngx.sleep, and callbacks still run in their own request.
function M.no_relay()
    local host = require("ljhttp.hosts.openresty")
    local c = assert(http.new({}))
    host.no_relay = true
    local p0 = host.stats.polls
    local got
    local res, err = c:get_async(upstream() .. "/slow?ms=30", function(r)
        got = r and r.status_code
    end):wait(5)
    host.no_relay = nil
    c:close()
    ngx.say(res and res.status_code or err, " ", tostring(got), " ", host.stats.polls > p0 and "polled" or "no poll")
end

-- A WebSocket per request (LJH_WS: the WebSocket fixture): two echoes,
-- a receive() that times out after 0.5 s (yielding meanwhile), a close.
function M.ws()
    local id = ngx.var.arg_id
    local conn, err, code = http.websocket(assert(os.getenv("LJH_WS")) .. "/echo")
    if not conn then
        ngx.say("open failed ", code, " ", err)
        return
    end
    for _, part in ipairs({ "a", "b" }) do
        conn:send("ws-" .. id .. "-" .. part)
        ngx.say("echo ", (conn:receive(5)))
    end
    local _, _, tcode = conn:receive(0.5)
    ngx.say(tcode)
    ngx.say("closed ", (conn:close(1000, "bye")))
end

-- A WebSocket wait is event-driven: a server push 20 ms after our first
-- message, then a 2 MB echo (the send waits for the socket to take
-- it), received with no ngx.sleep call, through the relay. Prints
-- "<push> <echo length> <ngx.sleep calls> <relay waits > 0> <push ms>".
-- With ?no_relay=1, the fallback where there is no relay (not Linux):
-- the same messages, through ngx.sleep.
function M.ws_event()
    local host = require("ljhttp.hosts.openresty")
    host.no_relay = ngx.var.arg_no_relay == "1" or nil
    local conn, err, code = http.websocket(assert(os.getenv("LJH_WS")) .. "/later?ms=20")
    if not conn then
        host.no_relay = nil
        ngx.say("open failed ", code, " ", err)
        return
    end
    local real, sleeps = ngx.sleep, 0
    ngx.sleep = function(s)
        sleeps = sleeps + 1
        return real(s)
    end
    local w0 = host.stats.fd_waits or 0
    conn:send("go")
    ngx.update_time()
    local t0 = ngx.now()
    local ok, push = pcall(conn.receive, conn, 5)
    ngx.update_time()
    local ms = (ngx.now() - t0) * 1000
    local big = string.rep("0123456789abcdef", 131072)
    local echo
    if ok then
        conn:send(big, "binary")
        ok, echo = pcall(conn.receive, conn, 10)
    end
    local relayed = (host.stats.fd_waits or 0) > w0
    ngx.sleep = real
    host.no_relay = nil
    conn:close()
    ngx.say(tostring(push), " ", echo and #echo or tostring(echo), " ", sleeps, " ",
        tostring(relayed), " ", string.format("%.1f", ms))
end

return M
