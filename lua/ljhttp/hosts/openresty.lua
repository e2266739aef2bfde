-- OpenResty host: waits yield the request's coroutine, transfers are
-- driven by nginx's event loop, and every callback runs in the coroutine
-- that made its request (docs/hosts.md, "OpenResty").
--
-- Driving. nginx lets Lua wait only on sockets it connected itself
-- (cosockets), not on the client's epoll descriptor, so the library's
-- relay thread (csrc/relay.c) watches that descriptor and answers a byte
-- on a Unix socket when it is readable or libcurl's next deadline passed.
-- One driver per busy client, a coroutine in an ngx.timer, sends the
-- relay an arm, reads its byte through a cosocket (nginx wakes it), pumps
-- the client and settles what is ready. It runs no user code. Idle, it
-- waits up to IDLE_S for new work, then ends.
--
-- Owners. A request (handle, stream, batch item, blocking call) belongs
-- to the nginx request (or timer) that made it. Its callback and
-- on_chunk/on_event pieces are queued for that owner and run only from
-- the owner's own waits (handle:wait, client:run, ljhttp.run, stream
-- reads); a waiting coroutine sleeps on its own ngx.semaphore, posted by
-- the driver when a transfer it waits for moved. So a wait never runs
-- another request's Lua. When the owner ended without waiting, pieces
-- still due are dropped and the transfer is cancelled (see below).
--
-- Where no coroutine can yield (init_by_lua, init_worker_by_lua,
-- set_by_lua, header/body filters, log_by_lua, balancer, or inside a C
-- boundary such as a string.gsub callback), waiting is the blocking loop
-- of the plain host (epoll_wait in C), running only this code's own
-- callbacks; outside any request (init_by_lua) the owner is the worker.
-- If the relay cannot start, waits fall back to polling with ngx.sleep.
local ffi = require("ffi")
local encode = require("ljhttp.encode")
local engine_mod = require("ljhttp.engine")

local M = { name = "openresty" }

local ngx = ngx
local co_running = coroutine.running
local select, pairs, pcall = select, pairs, pcall
local run_record, dequeue = engine_mod.run_record, engine_mod.dequeue
local ffi_str = ffi.string

local IDLE_S = 1        -- an idle driver waits this long for new work
local ARM_MAX_MS = 1000 -- the driver looks around at least this often
local SWEEP_S = 0.25    -- without the relay: how often a timer pumps and sweeps
local POLL_MIN, POLL_MAX = 0.001, 0.008 -- fallback without the relay

-- Phases where ngx.sleep may yield (lua-nginx-module's documented
-- contexts for ngx.sleep, http and stream subsystems).
local YIELDABLE = {
    rewrite = true,
    server_rewrite = true,
    access = true,
    content = true,
    timer = true,
    ssl_cert = true,
    ssl_session_fetch = true,
    ssl_client_hello = true,
    preread = true,
}

local function yieldable()
    local get_phase = ngx and ngx.get_phase
    if type(get_phase) ~= "function" or type(ngx.sleep) ~= "function" then
        return false
    end
    local ok, phase = pcall(get_phase)
    if not ok or YIELDABLE[phase] ~= true then
        return false
    end
    -- inside a C boundary (a string.gsub or table.sort callback, a
    -- metamethod called from C) yielding fails even in those phases
    local isyieldable = coroutine.isyieldable
    return isyieldable == nil or isyieldable() == true
end
M.yieldable = yieldable

-- Whether a wait may yield here. Not while a request owns encode.lua's
-- scratch: a request made inside another's encoding (an options __index,
-- a finalizer) blocks instead, as encode.lua sets scratch aside and puts
-- it back in nesting order, which another coroutine's request encoded
-- meanwhile would break. (kick does not yield: it may run then.)
local function may_yield()
    return encode.mark() == 0 and yieldable()
end

local semaphore -- ngx.semaphore (lua-resty-core), false when missing
local function has_sema()
    if semaphore == nil then
        local ok, s = pcall(require, "ngx.semaphore")
        semaphore = ok and s or false
    end
    return semaphore
end

local function sema_new()
    if not has_sema() then
        return false
    end
    M.stats.semas = M.stats.semas + 1
    return semaphore.new(0)
end

-- ---- owners, their queues and their sleeps ----

-- The owner of a transfer is the nginx request that made it (or the
-- timer), known by its ngx.ctx table: coroutines are no good for this,
-- lua-nginx-module reuses them from one request to the next. The owner
-- record lives in that table under a private key; `alive` refers back to
-- the table only weakly, so a request that ended is seen as gone once its
-- ngx.ctx was collected (its transfers are then cancelled by the driver's
-- sweep). A record is one table, made with its queue's ends (head,
-- tail: a linked list of engine records { next, fn, n, args... }, so a
-- completion is queued with its handle's done_rec, allocating nothing);
-- its set of sleeping coroutines (sleep) is made when first needed. The
-- record is made with all three keys, so setting sleep never resizes it.
local KEY = {} -- ngx.ctx[KEY]: the owner record
local alive = setmetatable({}, { __mode = "v" }) -- owner record -> its ngx.ctx
local MAIN = { head = false, tail = false, sleep = false } -- outside any request (init)
alive[MAIN] = true
local semas = setmetatable({}, { __mode = "k" })    -- coroutine -> semaphore
local sleeping = setmetatable({}, { __mode = "k" }) -- coroutine -> its semaphore, while asleep
-- For tests and bench/openresty.sh: sleeps ended by a post / by the poll
-- timer; driver turns (relay answers read); waits on a socket of its own
-- (wait_fd); semaphores made (one per coroutine that ever slept).
local stats = { wakeups = 0, polls = 0, turns = 0, fd_waits = 0, semas = 0 }
M.stats = stats

local function get_ctx()
    return ngx.ctx
end

local function owner_now()
    local ok, ctx = pcall(get_ctx)
    if not ok or type(ctx) ~= "table" then
        return MAIN
    end
    local rec = rawget(ctx, KEY)
    if not rec then
        rec = { head = false, tail = false, sleep = false }
        rawset(ctx, KEY, rec)
        alive[rec] = ctx
    end
    return rec
end

local function gone(rec)
    return alive[rec] == nil
end

-- Appends the engine record r to the owner's queue (r[1] is the link).
local function enqueue(rec, r)
    local tail = rec.tail
    if tail then
        tail[1] = r
    else
        rec.head = r
    end
    rec.tail = r
end

local function wake(co)
    local s = co and sleeping[co]
    if s then
        sleeping[co] = nil
        s:post(1)
    end
end

local function wake_owner(rec)
    local set = rec and rec.sleep
    if set then
        for co in pairs(set) do
            wake(co)
        end
    end
end

local function wake_all()
    for co, s in pairs(sleeping) do
        sleeping[co] = nil
        s:post(1)
    end
end

function M.adopt(engine, h)
    h.owner = owner_now()
end

-- Handle:_finish (handle.lua): queue the handle's completion record
-- (made with the handle) for its owner. Allocates nothing.
function M.deliver_record(h, r)
    local rec = h.owner or owner_now()
    if gone(rec) then
        -- (a finished handle is no orphan: its transfer has ended)
        if h.t ~= nil and not h.finished then
            local e = h.engine
            e.orphans = e.orphans or {}
            e.orphans[#e.orphans + 1] = h
        end
        return
    end
    enqueue(rec, r)
    wake_owner(rec)
end

-- Handle:_deliver (handle.lua): queue fn for the handle's owner (pieces:
-- on_chunk, progress; these still make a record each).
function M.deliver(h, fn, ...)
    M.deliver_record(h, engine_mod.record(fn, ...))
end

function M.call(engine, fn, ...) -- the generic host hook; deliver is used instead
    enqueue(owner_now(), engine_mod.record(fn, ...))
end

-- Runs the owner's queued records in order. A record leaves the queue
-- before it runs. User code runs under pcall already (handle.lua); a
-- raise in engine code (out of memory) ends the record's handle
-- (engine.run_record), and the rest of the queue still runs.
local function run_queue(rec)
    local r = dequeue(rec)
    while r do
        run_record(r)
        r = dequeue(rec)
    end
end

-- Runs the calling request's queued callbacks, in order.
function M.flush(engine)
    if engine and engine.cptr == nil then
        -- client:close(): its handles settled outside any driver turn
        wake_all()
    end
    run_queue(owner_now())
end

-- ---- settling (the driver's turn, kick, blocking waits) ----

-- Engine:dispatch plus wake-ups of whoever waits for each handle, and
-- the cancellation of transfers whose owner ended.
local function wake_for(h)
    wake_owner(h.owner)
    wake(h.sleeper)
    local w = h.waiter
    if w then
        wake(w.sleeper)
    end
end

local function settle(e)
    e:dispatch(wake_for)
    -- (no loop on the common path: a loop here, entered from a request's
    -- submit, aborted its trace with "loop unroll limit reached")
    local orphans = e.orphans
    while orphans and e.cptr ~= nil do
        e.orphans = nil
        local C = e.C
        for i = 1, #orphans do
            local h = orphans[i]
            if h.t ~= nil and not h.finished then
                C.ljh_transfer_cancel(h.t)
            end
        end
        e:dispatch(wake_for) -- the cancelled ones settle
        orphans = e.orphans
    end
end

local function pump(e, wait_ms)
    if e.cptr ~= nil then
        e.C.ljh_client_run(e.cptr, wait_ms)
        settle(e)
    end
end

-- Transfers without callbacks whose owner ended: cancelled.
local function sweep(e)
    for _, h in pairs(e.pending) do
        if h.owner and gone(h.owner) then
            e.orphans = e.orphans or {}
            e.orphans[#e.orphans + 1] = h
        end
    end
end

-- ---- the driver ----

local relay_path -- "unix:/tmp/ljhttp-XXXXXX/relay", or false
local function relay(C)
    if relay_path == nil then
        local buf = ffi.new("char[128]")
        local n = C.ljh_relay_path(buf, 128)
        relay_path = n > 0 and "unix:" .. ffi_str(buf, n) or false
    end
    return relay_path
end

local arm = ffi.new("int32_t[3]")
local tokens = 0 -- names each engine to the relay (its fd number may be reused)
local conn_ids = 0 -- names each driver's relay connection (its hello)

-- Names the connection so the driver can arm it with ljh_relay_arm, a
-- plain C call that does not wake the relay thread.
local function hello(sock)
    conn_ids = conn_ids + 1
    arm[0], arm[1], arm[2] = -2, 0, conn_ids
    return sock:send(ffi_str(arm, 12)) and conn_ids or 0
end

local function drive(premature, e)
    local C = e.C
    local sock = not premature and relay(C) and ngx.socket.tcp()
    if not sock or not sock:connect(relay_path) then
        e.driving, e.no_relay = false, not premature
        wake_all()
        return
    end
    local last_sweep = ngx.now()
    local id = hello(sock)
    if not e.token then
        tokens = tokens + 1
        e.token = tokens
    end
    while e.cptr ~= nil do
        -- also after kick woke it, though kick has just pumped: the
        -- answer may be in by now, and this pump (one epoll_wait) then
        -- spares a relay turn (an arm, two thread wake-ups, a send and a
        -- read). c=1: 0.74-0.95 turns a request became 0.44-0.65.
        pump(e, 0)
        if e.n_pending == 0 then
            -- idle: wait for work a while rather than end at once
            e.idle = e.idle or sema_new()
            if not e.idle or ngx.worker.exiting() then
                break
            end
            e.idle_waiting = true
            local ok = e.idle:wait(IDLE_S)
            e.idle_waiting = false
            if not ok and e.n_pending == 0 then
                break
            end
        elseif e.cptr ~= nil then
            local t = C.ljh_client_timeout(e.cptr)
            if t ~= 0 then
                if t < 0 or t > ARM_MAX_MS then
                    t = ARM_MAX_MS
                end
                local fd = C.ljh_client_fd(e.cptr)
                e.armed_until = C.ljh_now_ms() + t
                -- (not the cosocket's read timeout as the timer: nginx
                -- logs each one as an error)
                sock:settimeout(t + 1000)
                local ok = true
                if id == 0 or C.ljh_relay_arm(id, fd, t, e.token) ~= 0 then
                    arm[0], arm[1], arm[2] = fd, t, e.token
                    ok = sock:send(ffi_str(arm, 12))
                end
                ok = ok and sock:receive(1)
                stats.turns = stats.turns + 1
                e.armed_until = nil
                if not ok then
                    sock:close()
                    sock = ngx.socket.tcp()
                    if not sock:connect(relay_path) then
                        e.no_relay = true
                        break
                    end
                    id = hello(sock)
                end
            end
            local now = ngx.now()
            if now - last_sweep >= 1 then
                last_sweep = now
                sweep(e)
            end
        end
    end
    e.driving = false
    if sock then
        sock:setkeepalive(0, 64)
    end
    wake_all()
end

-- Without the relay (the portable backend, systems other than Linux,
-- tests) waiters poll; this timer also pumps and sweeps while transfers
-- run, so a transfer whose owner ended without waiting is cancelled even
-- when no one waits. Callbacks still go to their owner's queue (deliver).
local function poll_sweep(premature, e)
    if premature or e.cptr == nil or e.n_pending == 0 then
        e.sweeping = false
        return
    end
    pump(e, 0)
    sweep(e)
    pump(e, 0) -- cancels what sweep found
    local ok, t = pcall(ngx.timer.at, SWEEP_S, poll_sweep, e)
    e.sweeping = ok and t ~= nil
end

local function start_sweeper(e)
    if not e.sweeping and e.n_pending > 0 then
        local ok, t = pcall(ngx.timer.at, SWEEP_S, poll_sweep, e)
        e.sweeping = ok and t ~= nil
    end
    return false
end

local function start_driver(e)
    if e.driving then
        if e.idle_waiting then
            e.idle_waiting = false
            e.idle:post(1)
        end
        return true
    end
    -- the portable backend has no descriptor for the relay to watch
    if e.no_relay or M.no_relay or not has_sema() or (e.cptr ~= nil and e.C.ljh_client_fd(e.cptr) < 0) then
        return start_sweeper(e) -- waiters poll (M.no_relay: the tests' way to get here)
    end
    local ok, timer = pcall(ngx.timer.at, 0, drive, e)
    e.driving = ok and timer ~= nil
    return e.driving
end

-- A transfer was submitted: start it now when we may (so the request is
-- on the wire before this coroutine sleeps), and make sure a driver runs.
function M.kick(e)
    if not yieldable() then
        return
    end
    pump(e, 0)
    if start_driver(e) and e.armed_until and e.cptr ~= nil then
        local t = e.C.ljh_client_timeout(e.cptr)
        if t >= 0 and e.C.ljh_now_ms() + t < e.armed_until then
            e.C.ljh_relay_poke() -- the driver sleeps past the new deadline
        end
    end
end

-- ---- a socket of its own (WebSocket): waits through the relay ----

local WANT_BITS = { [1] = 0x20000000, [2] = 0x40000000, [3] = 0x60000000 } -- relay.c TOKEN_READ/WRITE

-- Waits until fd is ready for want (1 read, 2 write, 3 both) or ms
-- passed, reading the relay's answer on a cosocket kept in holder
-- (holder.relay; a cosocket belongs to the request that made it, so
-- another request makes its own). true once woken or timed out; false
-- without a relay (the caller sleeps instead).
function M.wait_fd(C, holder, fd, want, ms)
    local bits = WANT_BITS[want]
    if not bits or fd < 0 or M.no_relay or not relay(C) then
        return false
    end
    local rec = owner_now()
    local sock = holder.relay
    if sock and holder.relay_owner ~= rec then
        sock = nil
    end
    if not sock then
        sock = ngx.socket.tcp()
        if not sock:connect(relay_path) then
            return false
        end
        tokens = tokens + 1
        holder.relay, holder.relay_owner, holder.relay_token = sock, rec, tokens
        holder.relay_id = hello(sock)
    end
    ms = math.ceil(ms) -- not 0 for a fraction left: that would spin
    local token = holder.relay_token + bits
    sock:settimeout(ms + 1000)
    local ok = true
    if holder.relay_id == 0 or C.ljh_relay_arm(holder.relay_id, fd, ms, token) ~= 0 then
        arm[0], arm[1], arm[2] = fd, ms, token
        ok = sock:send(ffi_str(arm, 12))
    end
    ok = ok and sock:receive(1)
    stats.fd_waits = stats.fd_waits + 1
    if not ok then
        sock:close()
        holder.relay = nil
    end
    return true
end

-- Ends holder's relay connection (a WebSocket that closed).
function M.wait_fd_end(holder)
    local sock = holder.relay
    if sock then
        holder.relay = nil
        pcall(sock.close, sock) -- from another request: nginx closes it at that one's end
    end
end

-- ---- waiting ----

local function now_ms(e)
    return tonumber(e.C.ljh_now_ms())
end

-- The blocking wait (no yield possible): C waits in epoll_wait.
-- done(arg) says when to stop.
local function block(e, done, deadline, arg)
    while not done(arg) and e.cptr ~= nil do
        local wait_ms = 1000
        if deadline then
            wait_ms = math.max(0, math.min(wait_ms, math.ceil(deadline - now_ms(e))))
        end
        pump(e, wait_ms)
        M.flush(e)
        if deadline and now_ms(e) >= deadline then
            break
        end
    end
    M.flush(e)
end

-- Sleeps on this coroutine's semaphore until done(target) or the
-- deadline. Falls back to polling with ngx.sleep without a driver, and
-- to the blocking wait if yielding fails after all (a C boundary that
-- yieldable() could not see).
local function yield_until(e, done, timeout, target)
    local co = co_running()
    local deadline = timeout and now_ms(e) + timeout * 1000
    local sema = semas[co]
    if not sema then
        sema = sema_new()
        semas[co] = sema
    end
    if target then
        target.sleeper = co
    end
    local rec = owner_now()
    run_queue(rec)
    if done(target) then
        -- (no loop entered: a trace running from the request's start
        -- would abort on it, "inner loop in root trace")
        if target then
            target.sleeper = nil
        end
        return run_queue(rec)
    end
    local poll = POLL_MIN
    while true do
        run_queue(rec)
        if done(target) then
            break
        end
        local left = deadline and (deadline - now_ms(e)) / 1000
        if left and left <= 0 then
            break
        end
        local ok, got
        if sema and e.n_pending > 0 and start_driver(e) then
            sleeping[co] = sema
            local set = rec.sleep
            if not set then
                set = {}
                rec.sleep = set
            end
            set[co] = true
            ok, got = pcall(sema.wait, sema, left and left < 1 and left or 1)
            set[co] = nil
            sleeping[co] = nil
            if ok and got then
                M.stats.wakeups = M.stats.wakeups + 1
            end
        else
            pump(e, 0)
            run_queue(rec)
            if done(target) then
                break
            end
            local s = left and left < poll and left or poll
            ok = pcall(ngx.sleep, s)
            M.stats.polls = M.stats.polls + 1
            poll = poll * 2 > POLL_MAX and POLL_MAX or poll * 2
        end
        if not ok then
            block(e, done, deadline, target)
            break
        end
    end
    if target then
        target.sleeper = nil
    end
    run_queue(rec)
end

-- The blocking API's waits (request_batch): yield where possible.
function M.block_until(e, done, timeout)
    if not may_yield() then
        return block(e, done, timeout and now_ms(e) + timeout * 1000)
    end
    yield_until(e, done, timeout)
end

local function finished(handle)
    return handle.finished
end

function M.wait(e, handle, timeout)
    local done = finished
    if not may_yield() then
        return block(e, done, timeout and now_ms(e) + timeout * 1000, handle)
    end
    yield_until(e, done, timeout, handle)
end

-- Until this coroutine's own transfers on the client are done.
function M.run(e, timeout)
    local me = owner_now()
    local function done()
        for _, h in pairs(e.pending) do
            if h.owner == me then
                return false
            end
        end
        return true
    end
    if not may_yield() then
        block(e, done, timeout and now_ms(e) + timeout * 1000)
    else
        yield_until(e, done, timeout)
    end
    return done()
end

-- The blocking API (ljhttp.get, client:request) in a yieldable phase:
-- the same request goes through the engine and this coroutine yields
-- while it runs, so the worker keeps serving other requests. Elsewhere:
-- the blocking C call. Same encoding, same options, same results.
function M.perform(client, method, url, opts)
    if not may_yield() then
        return client:_request(method, url, opts, true)
    end
    local req, msg, code = encode.request(method, url, opts, client.defaults, 0)
    if not req then
        encode.release()
        return nil, msg, code
    end
    local h = engine_mod.handle(nil, nil, true)
    local e = client.engine
    local ok, err = pcall(e.submit, e, req, h)
    encode.release()
    if not ok then -- out of memory boxing the new transfer: the slot still
        h:_abort(err) -- holds it, and _abort frees it from there
        if not require("ljhttp.protect").is_oom(err) then
            error(err, 0) -- a bug, not a shortage: as Handle:wait does
        end
    end
    return h:wait()
end

return M
