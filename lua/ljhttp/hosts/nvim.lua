-- Neovim host: the editor's libuv loop drives the engine.
--
-- Each busy client has one uv poll handle on its engine descriptor
-- (ljh_client_fd: an epoll set that is readable whenever any of its
-- sockets is), one uv timer for libcurl's next deadline
-- (ljh_client_timeout) when that is >= 1 ms away, and one uv idle handle
-- for "now". When one fires: engine:pump(0), then re-arm. A timer is never
-- re-armed with 0 ms from its own callback: libuv (before 1.45, e.g.
-- Neovim 0.7-0.9 on Debian) runs such a timer again in the same loop
-- pass, so a fast download ran entirely inside one pass and starved
-- vim.schedule. An idle handle runs once per loop pass, after which the
-- editor handles its own events. C bounds the bytes one pump moves.
-- Nothing blocks the editor, and no C code ever calls into Lua.
--
-- User callbacks (response callbacks and on_chunk) go through
-- vim.schedule, so they run on the main loop, outside libuv callbacks,
-- where every editor API is allowed; vim.schedule keeps their order.
--
-- When a client has nothing in flight its two handles are closed, not
-- just stopped: a live handle's callback keeps the engine (and so the C
-- client) reachable, and an idle client must stay collectable. The next
-- kick makes new ones. Works with vim.uv (0.10+) and vim.loop (0.5-0.9).
--
-- The portable backend (LJHTTP_BACKEND=portable, the only one on
-- Windows) has no engine descriptor: the client's sockets are watched
-- here, one uv poll handle each (new_socket_poll on Windows), kept in
-- step with what C reports through ljh_client_watches after every call
-- into the client; readiness goes back through ljh_client_socket_ready.
-- A removed socket's handle is stopped and closed before the next pull,
-- which is when C closes the socket.
local M = { name = "nvim" }

local ffi = require("ffi")
local is_oom = require("ljhttp.protect").is_oom
local vim = vim
local uv = vim.uv or vim.loop
local new_sock_poll = jit.os == "Windows" and uv.new_socket_poll or uv.new_poll
local WATCHES = 32
-- engine.lua loads with a client's first async request (not at start-up):
-- its functions are bound by M.init, when the first engine is made
local run_record, dequeue

-- What vim.wait is given when the caller set no timeout: it has to be a
-- number, and a day is as good as forever for one request.
local FOREVER_MS = 24 * 3600 * 1000
-- How often vim.wait re-checks its condition when nothing else wakes the
-- loop; the uv callbacks below wake it as soon as a transfer settles.
local WAIT_INTERVAL_MS = 5
-- Longest the timer sleeps while transfers are in flight (see arm).
local IDLE_CHECK_MS = 1000

local arm, schedule_owed, init_queue

-- On VimLeavePre every client is closed: transfers end, and C removes
-- the temporary file of each unfinished output download (its space is
-- reserved up front). Registered once, outside fast contexts.
local leave_registered, leave_pending = false, false
local function close_all()
    for c in pairs(require("ljhttp.client").live) do
        pcall(c.close, c)
    end
end
local function register_leave()
    if leave_registered then
        return
    end
    if vim.in_fast_event() then
        if not leave_pending then
            leave_pending = true
            vim.schedule(register_leave)
        end
        return
    end
    leave_registered = true
    -- constants in the constructor, the values after: decode.lua's
    -- response says why (test_bytecode.lua checks this module)
    local leave = { group = 0, callback = false }
    leave.group, leave.callback = vim.api.nvim_create_augroup("ljhttp_leave", { clear = true }), close_all
    vim.api.nvim_create_autocmd("VimLeavePre", leave)
end

local function close_handle(h)
    if h and not h:is_closing() then
        h:close()
    end
end

-- Closes the engine's handles. Safe at any time, also after the C client
-- was freed. Client:close calls it (before_free) before C closes the
-- sockets and the epoll descriptor, and again (flush) after, for handles
-- the last callbacks made.
local function release(engine)
    local st = engine.nvim
    if st then
        engine.nvim = nil
        close_handle(st.poll)
        close_handle(st.timer)
        close_handle(st.idle)
        if st.socks then
            for _, h in pairs(st.socks) do
                close_handle(h)
            end
            if engine.cptr ~= nil then -- C reports them again when asked
                engine.C.ljh_client_watches(engine.cptr, nil, 0)
            end
        end
    end
end

-- A libuv callback's work. Dispatch keeps its handles consistent when
-- LuaJIT runs out of memory; out of memory elsewhere here (progress
-- figures, new uv handles) must not reach the editor's loop as an error
-- either: arming is tried again, and the timer or the next kick retries
-- later. Any other error is a bug: it is reported from a scheduled call
-- (the editor's usual way), not dropped.
local function pump_and_arm(engine, fd, ev)
    local ok, err = pcall(engine.pump, engine, 0, fd, ev)
    if ok then
        ok, err = pcall(arm, engine)
    end
    if not ok then
        if not is_oom(err) then
            pcall(vim.schedule, function()
                error(err, 0)
            end)
        end
        pcall(arm, engine)
    end
end

-- Portable backend: one socket is ready (luv events "r", "w", "rw", "d"...).
local function on_socket(engine, fd, err, events)
    if engine.cptr == nil then
        release(engine)
        return
    end
    local ev = 0
    if err or type(events) ~= "string" then
        ev = 7 -- LJH_EV_IN | LJH_EV_OUT | LJH_EV_ERR: libcurl finds out which
    else
        if events:find("[rd]") then
            ev = ev + 1
        end
        if events:find("w", 1, true) then
            ev = ev + 2
        end
    end
    pump_and_arm(engine, fd, ev)
end

local MODES = { "r", "w", "rw" }

-- Portable backend: applies the watches C changed since the last pull.
local function sync_watches(engine, st)
    local C, cptr, buf, socks = engine.C, engine.cptr, st.watch_buf, st.socks
    repeat
        local n = C.ljh_client_watches(cptr, buf, WATCHES)
        for i = 0, n - 1 do
            local fd, ev = tonumber(buf[i].fd), buf[i].events
            local h = socks[fd]
            if ev == 0 then
                if h then
                    socks[fd], st.modes[fd], st.sock_cb[fd] = nil, nil, nil
                    h:stop()
                    close_handle(h)
                end
            else
                if not h then
                    h = new_sock_poll(fd)
                    socks[fd] = h
                    st.sock_cb[fd] = function(err, events)
                        on_socket(engine, fd, err, events)
                    end
                end
                st.modes[fd] = MODES[ev] or "rw"
                if not st.socks_stopped then
                    h:start(st.modes[fd], st.sock_cb[fd])
                end
            end
        end
    until n < WATCHES
end

local function on_event(engine)
    if engine.cptr == nil then
        release(engine)
        return
    end
    pump_and_arm(engine)
end

-- Makes the handles match what the engine needs now.
arm = function(engine)
    if engine.nvim_owed and engine.nvim_owed > 0 then
        schedule_owed(engine)
    end
    local cptr = engine.cptr
    if cptr == nil or engine.n_pending == 0 then
        release(engine)
        return
    end
    local C = engine.C
    local st = engine.nvim
    if st == nil then
        if not leave_registered then
            register_leave()
        end
        local fd = C.ljh_client_fd(cptr)
        local timer = uv.new_timer()
        local poll = fd >= 0 and uv.new_poll(fd) or nil
        st = { timer = false, poll = false, fd = 0, idle = false } -- constants first, as above
        st.timer, st.poll, st.fd, st.idle = timer, poll, fd, uv.new_idle()
        if fd < 0 then -- the portable backend: a poll handle per socket
            st.socks, st.modes, st.sock_cb = {}, {}, {}
            st.watch_buf = ffi.new("ljh_watch[?]", WATCHES)
        end
        engine.nvim = st
        local cb = function()
            on_event(engine)
        end
        st.cb = cb
        st.idle_cb = function()
            st.idle:stop()
            on_event(engine)
        end
    end
    if st.socks then
        sync_watches(engine, st)
    end
    local ms = C.ljh_client_timeout(cptr)
    if ms == 0 then
        -- due now: on the next loop pass, not in this one; and only one
        -- pump in that pass (the poll would add a second)
        st.timer:stop()
        if st.polling then
            st.polling = false
            st.poll:stop()
        end
        if st.socks and not st.socks_stopped then
            st.socks_stopped = true
            for _, h in pairs(st.socks) do
                h:stop()
            end
        end
        st.idle:start(st.idle_cb)
        return
    end
    st.idle:stop()
    if st.poll and not st.polling then
        st.polling = true
        st.poll:start("r", st.cb)
    end
    if st.socks_stopped then
        st.socks_stopped = false
        for fd, h in pairs(st.socks) do
            h:start(st.modes[fd], st.sock_cb[fd])
        end
    end
    if ms < 0 or ms > IDLE_CHECK_MS then
        -- libcurl has (almost) always a deadline while a transfer runs;
        -- this bound only matters after a transfer ended outside a pump
        -- (handle:cancel, a batch or a blocking call that pumped the
        -- engine itself): the handles are then released within a second.
        ms = IDLE_CHECK_MS
    end
    -- libuv counts from the time cached at the start of this loop turn;
    -- refresh it so the timer does not fire early.
    uv.update_time()
    st.timer:start(ms, 0, st.cb)
end

-- A transfer was submitted (or may have finished without I/O, e.g. a
-- request C refused): pump on the next loop turn, which also settles
-- those, then arm for real. A burst of submits costs one pump.
function M.kick(engine)
    if not engine.nvim_flush then
        init_queue(engine)
    end
    if engine.cptr == nil then
        release(engine)
        return
    end
    if engine.n_pending == 0 then
        return
    end
    arm(engine)
    local st = engine.nvim
    if st then
        st.timer:stop()
        st.idle:start(st.idle_cb)
    end
end

-- Runs one queued record (engine.run_record: a raise ends the record's
-- handle, never reaches the editor's loop), then re-arms as needed.
local function run_scheduled(engine, rec)
    engine.nvim_queued = engine.nvim_queued - 1
    if engine.n_pending == 0 and engine.nvim then
        -- the last transfer ended outside a pump (a cancel): let go
        -- of the handles now rather than at the next timer
        pcall(arm, engine)
    end
    run_record(rec)
    local st = engine.nvim
    if st and st.socks and engine.cptr ~= nil then
        -- the portable backend: a delivery may have resumed a paused
        -- stream (ljh_transfer_take), and only a pull tells the
        -- handles about its socket again (epoll's descriptor sees it)
        pcall(arm, engine)
    end
end

function M.call(engine, fn, ...)
    local rec = require("ljhttp.engine").record(fn, ...) -- (async only: engine.lua is loaded)
    engine.nvim_queued = (engine.nvim_queued or 0) + 1
    vim.schedule(function()
        run_scheduled(engine, rec)
    end)
end

-- Completions (handle.lua) use records made with their handle: each is
-- queued on the engine (linked through [1], no allocation) and one run
-- of the engine's flush closure, scheduled now, runs the oldest. Order
-- stays that of vim.schedule. When vim.schedule itself finds no memory,
-- the record waits and the next call, arm or wait schedules it.
local function flush_one(engine)
    local rec = dequeue(engine)
    if rec then
        run_scheduled(engine, rec)
    end
end

schedule_owed = function(engine)
    while engine.nvim_owed > 0 and pcall(vim.schedule, engine.nvim_flush) do
        engine.nvim_owed = engine.nvim_owed - 1
    end
end
M.schedule_owed = schedule_owed

-- Made once per engine, when the engine is made (M.init), while there is
-- memory: queuing a completion then allocates nothing.
init_queue = function(engine)
    if not run_record then -- engine.lua is loaded by now (it makes the engine)
        local engine_mod = require("ljhttp.engine")
        run_record, dequeue = engine_mod.run_record, engine_mod.dequeue
    end
    engine.nvim_flush = function()
        flush_one(engine)
    end
    engine.nvim_owed, engine.nvim_queued = 0, engine.nvim_queued or 0
end

M.init = init_queue

function M.call_record(engine, rec)
    if not engine.nvim_flush then
        init_queue(engine)
    end
    engine:enqueue(rec)
    engine.nvim_queued = engine.nvim_queued + 1
    engine.nvim_owed = engine.nvim_owed + 1
    schedule_owed(engine)
end

-- A user callback raised (handle.lua caught it): Neovim reports it as an
-- error message from a scheduled call of its own, so it reaches no
-- other request's wait, batch or close.
function M.report(engine, handle, err)
    vim.schedule(function()
        error(err, 0)
    end)
end

-- Called by Client:close before the C client is freed: the poll handles
-- of the portable backend stop before C closes their sockets (libuv must
-- not see a descriptor closed under an active handle).
function M.before_free(engine)
    release(engine)
end

-- Called by Client:close after the C client is gone.
function M.flush(engine)
    if engine.cptr == nil then
        release(engine)
    end
end

local function settled(engine)
    return (engine.nvim_queued or 0) == 0
end

-- In a libuv callback (a "fast" context) vim.wait is not allowed: drive
-- the engine directly, blocking, as the plain LuaJIT host does. Callbacks
-- stay scheduled and run once the editor is back in its loop.
local function blocking_until(engine, done, timeout)
    -- the plain host's loop, with this host's flush: queued callbacks
    -- stay on the queue and run from vim.schedule (flush_one), counted
    require("ljhttp.hosts.luajit").drive(engine, timeout, done)
    arm(engine)
end

-- The blocking API (request_batch) blocks the editor, as http.get does.
function M.block_until(engine, done, timeout)
    blocking_until(engine, done, timeout)
end

local function wait_ms(timeout)
    if timeout == nil then
        return FOREVER_MS
    end
    return math.max(0, math.ceil(timeout * 1000))
end

-- Waits by running the editor's loop (vim.wait), so the uv handles above
-- keep pumping, other plugins' callbacks keep running and, unless this is
-- called from one of them, this handle's callback has run on return.
function M.wait(engine, handle, timeout)
    if vim.in_fast_event() then
        blocking_until(engine, function()
            return handle.finished
        end, timeout)
        return
    end
    vim.wait(wait_ms(timeout), function()
        if engine.nvim_owed and engine.nvim_owed > 0 then
            schedule_owed(engine)
        end
        return handle.finished and settled(engine)
    end, WAIT_INTERVAL_MS)
end

-- Until nothing is in flight and every callback has run (or timeout
-- seconds passed); true when everything finished.
function M.run(engine, timeout)
    local done = function()
        return engine.n_pending == 0
    end
    if vim.in_fast_event() then
        blocking_until(engine, done, timeout)
        return done()
    end
    vim.wait(wait_ms(timeout), function()
        return done() and settled(engine)
    end, WAIT_INTERVAL_MS)
    return done()
end

return M
