-- OpenResty host: waiting yields the request's coroutine.
--
-- nginx gives Lua no way to watch an extra descriptor, so the engine is
-- polled: pump without blocking, and if the transfer is not done yet,
-- ngx.sleep, which hands the worker back to nginx (other requests run)
-- until an nginx timer resumes this coroutine. The sleep starts at 1 ms
-- and doubles while nothing moves, up to 8 ms; any progress (a transfer
-- settled, bytes streamed, libcurl's running count changed) resets it to
-- 1 ms. So a burst of data is read at ~1 ms steps, an idle wait costs at
-- most ~125 wake-ups a second per waiting request (each a timer event and
-- a non-blocking epoll_wait: microseconds), and a response that arrives
-- during a long wait is picked up at most 8 ms late. libcurl's own next
-- deadline (ljh_client_timeout) shortens the sleep when it is sooner.
--
-- Where ngx.sleep is not allowed (init_by_lua, init_worker_by_lua,
-- set_by_lua, header/body filters, log_by_lua, balancer, ...), waiting
-- falls back to the plain blocking loop of the LuaJIT host: it works but
-- stalls the worker for as long as the request takes, as any blocking
-- call would there.
--
-- User callbacks are queued and run right after a pump, by whichever
-- coroutine was waiting (handle:wait(), client:run(), ljhttp.run()): when
-- several requests of one worker share a client, a callback may run in
-- another request's coroutine. Use what wait() returns, or a client per
-- request, for anything tied to the current request (ngx.say, ngx.ctx).
-- Nothing moves while nobody waits.
local plain = require("ljhttp.hosts.luajit")
local encode = require("ljhttp.encode")
local engine_mod = require("ljhttp.engine")

local M = { name = "openresty" }

local ngx = ngx

local SLEEP_MIN = 0.001
local SLEEP_MAX = 0.008

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

M.kick = plain.kick
M.call = plain.call
M.flush = plain.flush

local function now(engine)
    return tonumber(engine.C.ljh_now_ms())
end

-- Pumps and sleeps until done() or the deadline (ms); callbacks run
-- after each pump. If ngx.sleep cannot yield after all (a C boundary
-- yieldable() could not see), the rest of the wait is the blocking one:
-- epoll_wait in C, as in the plain host. (ngx.sleep has armed its timer
-- by then; lua-nginx-module clears it at the next yielding call or at
-- the end of the request.)
local function yield_until(engine, done, timeout)
    local deadline = timeout and now(engine) + timeout * 1000
    local d = SLEEP_MIN
    local last_running = -1
    local blocking = false
    while not done() do
        local pending = engine.n_pending
        local wait_ms = 0
        if blocking then
            wait_ms = 1000
            if deadline then
                wait_ms = math.max(0, math.min(wait_ms, math.ceil(deadline - now(engine))))
            end
        end
        local running = engine:pump(wait_ms)
        local moved = running ~= last_running or engine.n_pending ~= pending or engine.calls[1] ~= nil
        last_running = running
        M.flush(engine)
        if done() then
            break
        end
        if moved then
            d = SLEEP_MIN
        end
        local s = d
        if engine.cptr ~= nil then
            local t = engine.C.ljh_client_timeout(engine.cptr)
            if t >= 0 and t / 1000 < s then
                s = t / 1000
            end
        end
        if deadline then
            local left = (deadline - now(engine)) / 1000
            if left <= 0 then
                break
            end
            if left < s then
                s = left
            end
        end
        if not blocking and not pcall(ngx.sleep, s < SLEEP_MIN and SLEEP_MIN or s) then
            blocking = true
        end
        if not moved then
            d = d * 2
            if d > SLEEP_MAX then
                d = SLEEP_MAX
            end
        end
    end
    M.flush(engine)
end

-- The blocking API's waits (request_batch): yield where possible.
function M.block_until(engine, done, timeout)
    if not yieldable() then
        return plain.drive(engine, timeout, done)
    end
    yield_until(engine, done, timeout)
end

function M.wait(engine, handle, timeout)
    if not yieldable() then
        return plain.wait(engine, handle, timeout)
    end
    yield_until(engine, function()
        return handle.finished
    end, timeout)
end

function M.run(engine, timeout)
    if not yieldable() then
        return plain.run(engine, timeout)
    end
    yield_until(engine, function()
        return engine.n_pending == 0
    end, timeout)
    return engine.n_pending == 0
end

-- The blocking API (ljhttp.get, client:request) in a yieldable phase:
-- the same request goes through the engine and this coroutine yields
-- while it runs, so the worker keeps serving other requests. Elsewhere:
-- the blocking C call. Same encoding, same options, same results.
function M.perform(client, method, url, opts)
    if not yieldable() then
        return client:_request(method, url, opts, true)
    end
    local req, msg, code = encode.request(method, url, opts, client.defaults, 0)
    if not req then
        encode.release()
        return nil, msg, code
    end
    local h = engine_mod.handle(nil, nil, true)
    client.engine:submit(req, h)
    encode.release()
    return h:wait()
end

return M
