-- Neovim: WebSocket callbacks on the editor's loop, run by tests/nvim/run.sh
-- inside `nvim --headless --clean -u NONE` with LJH_ROOT and LJH_WS (the
-- WebSocket fixture's base URL, ws://127.0.0.1:PORT). Prints one line per
-- check and "N passed, N failed".
local ROOT = assert(os.getenv("LJH_ROOT"), "LJH_ROOT not set")
local WS = assert(os.getenv("LJH_WS"), "LJH_WS not set")
vim.opt.rtp:prepend(ROOT)
local uv = vim.uv or vim.loop
local http = require("ljhttp")

local passed, failed = 0, 0
local function check(name, cond, detail)
    if cond then
        passed = passed + 1
        io.stdout:write("ok - ", name, "\n")
    else
        failed = failed + 1
        io.stdout:write("not ok - ", name, detail and (": " .. tostring(detail)) or "", "\n")
    end
end

-- on_open, on_message, on_close: in order, on the editor's loop
do
    local got, events, closed = {}, {}, nil
    local conn = http.websocket(WS .. "/echo", {
        on_open = function(c)
            events[#events + 1] = "open"
            for _, m in ipairs({ "one", "two", "three" }) do
                c:send(m)
            end
        end,
        on_message = function(c, data, kind)
            got[#got + 1] = data .. "/" .. kind
            if #got == 3 then
                c:close(1000, "enough")
            end
        end,
        on_close = function(_, code, reason, err, ecode)
            closed = { code = code, reason = reason, err = err, ecode = ecode }
        end,
    })
    check("websocket returns the connection at once (callback form)", type(conn) == "table")
    vim.wait(5000, function()
        return closed ~= nil
    end, 5)
    check("on_open ran first, once", events[1] == "open" and #events == 1, vim.inspect(events))
    check("on_message got every echo in order",
        table.concat(got, ",") == "one/text,two/text,three/text", table.concat(got, ","))
    check("on_close got the server's answer to our close (1000), no error",
        closed and closed.code == 1000 and closed.err == nil, vim.inspect(closed))
end

-- a failure to connect is an on_close with the error, never a raise
do
    local closed
    local ok, err = pcall(http.websocket, "ws://127.0.0.1:1/", {
        on_close = function(_, code, _, e, ecode)
            closed = { code = code, err = e, ecode = ecode }
        end,
    })
    vim.wait(5000, function()
        return closed ~= nil
    end, 5)
    check("a refused connection: on_close(1006, ..., message, \"connect\")",
        ok and closed and closed.code == 1006 and closed.ecode == "connect", vim.inspect({ err, closed }))
end

-- a flood of 128 MiB through on_message leaves the editor responsive
do
    local n, bytes, done = 0, 0, false
    local late, ticks, gap, last = 0, 0, 0, uv.hrtime()
    local timer = uv.new_timer()
    local function tick()
        local t0 = uv.hrtime()
        gap = math.max(gap, (t0 - last) / 1e6)
        last = t0
        vim.schedule(function()
            local ms = (uv.hrtime() - t0) / 1e6
            if ms > late then
                late = ms
            end
            ticks = ticks + 1
        end)
    end
    timer:start(10, 10, tick)
    local t0 = uv.hrtime()
    http.websocket(WS .. "/flood?count=2048&size=65536", {
        on_message = function(c, data, kind)
            if kind == "text" then
                done = true
                c:close()
                return
            end
            n = n + 1
            bytes = bytes + #data
        end,
    })
    vim.wait(60000, function()
        return done
    end, 5)
    timer:stop()
    timer:close()
    local secs = (uv.hrtime() - t0) / 1e9
    check(("128 MiB of messages arrive whole (%d in %.2f s)"):format(n, secs),
        done and n == 2048 and bytes == 2048 * 65536, n)
    -- gross starvation only (the figure belongs to a benchmark): a loaded
    -- machine still runs a 10 ms tick within half a second
    check(("vim.schedule and timers stay live meanwhile (%d ticks, worst %.0f ms late, %.0f ms between ticks)")
        :format(ticks, late, gap), ticks > 0 and late < 500 and gap < 500, late)
end

-- receive() in Neovim runs the loop while it waits
do
    local conn, msg = http.websocket(WS .. "/echo")
    check("the sync form opens in Neovim", conn ~= nil, msg)
    if conn then
        local fired = false
        vim.defer_fn(function()
            fired = true
        end, 20)
        conn:send("sync")
        local data = conn:receive(5)
        local _ = conn:receive(0.1) -- a timeout while the loop runs
        check("receive() gets the echo and timers keep firing", data == "sync" and fired, tostring(data))
        conn:close()
    end
end

io.stdout:write(("%d passed, %d failed\n"):format(passed, failed))
vim.cmd(failed == 0 and "qa!" or "cquit 1")
