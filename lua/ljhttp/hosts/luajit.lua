-- Plain LuaJIT host: nothing runs in the background, so waiting is what
-- drives the engine (handle:wait(), client:run(), ljhttp.run()). User
-- callbacks run from those calls, after the engine has settled.
local M = { name = "luajit" }

local protect_mod = require("ljhttp.protect")
local is_oom = protect_mod.is_oom
local pcall = pcall
-- engine.lua loads with a client's first async request (not at start-up):
-- its functions are bound by M.init, when the first engine is made
local run_record, dequeue
local C_now -- set on first use

function M.init(engine)
    if not run_record then
        local engine_mod = require("ljhttp.engine")
        run_record, dequeue = engine_mod.run_record, engine_mod.dequeue
    end
end

function M.kick(engine)
    -- nothing to arm: the next wait or run drives the transfer
end

-- Queued calls are records (Engine:enqueue): queuing one allocates
-- nothing.
function M.call_record(engine, rec)
    engine:enqueue(rec)
end

function M.call(engine, fn, ...) -- (async only: engine.lua is loaded)
    M.call_record(engine, require("ljhttp.engine").record(fn, ...))
end

-- Runs queued user callbacks in order. They never raise: handle.lua
-- runs each user function under pcall and keeps its error for the
-- handle's wait() or the client's run(). A record leaves the queue
-- before it runs, so a raise (out of memory) leaves the rest queued.
function M.flush(engine)
    if not engine.head then
        return
    end
    local rec = dequeue(engine)
    while rec do
        run_record(rec)
        rec = dequeue(engine)
    end
end

local function now(engine)
    C_now = C_now or engine.C
    return tonumber(C_now.ljh_now_ms())
end

-- Pumps until done(arg) is true or timeout seconds have passed. done
-- takes an argument so callers need no closure (no allocation per wait).
-- Queued callbacks run through the engine's own host's flush: here they
-- run in order; Neovim's (which borrows this loop for its fast contexts)
-- leaves them to vim.schedule, which counts them.
local function drive(engine, timeout, done, arg)
    local flush = engine.host.flush
    local deadline = timeout and now(engine) + timeout * 1000
    while not done(arg) do
        local wait = 1000
        if deadline then
            local left = deadline - now(engine)
            if left <= 0 then
                break
            end
            wait = left < wait and math.ceil(left) or wait
        end
        engine:pump(wait)
        flush(engine)
    end
    flush(engine)
end
M.drive = drive

-- Out of memory in the loop itself (dispatch keeps its handles
-- consistent; this is the rest: the clock, the queue): the handles it
-- waited for end as out_of_memory (Handle:_abort), then their callbacks
-- run.
local function drive_or_abort(engine, timeout, done, arg)
    local ok, err = pcall(drive, engine, timeout, done, arg)
    if ok then
        return
    end
    if not is_oom(err) then
        error(err, 0)
    end
    engine:abort_pending(err)
    pcall(M.flush, engine)
end

-- What the blocking API (request_batch) waits with: here, plain pumping.
-- Out of memory raises to the batch, which ends its items (client.lua):
-- a pcall here would stop the batch loop's trace at every wait.
function M.block_until(engine, done, timeout)
    drive(engine, timeout, done)
end

local function handle_finished(h)
    return h.finished
end

-- wait() raises its own handle's callback error (handle.lua); a request
-- waited for by nobody has its error raised by the next run().
-- Handle:wait ends its handle itself if this raises.
function M.wait(engine, handle, timeout)
    drive(engine, timeout, handle_finished, handle)
end

local function none_pending(engine)
    return engine.n_pending == 0
end

-- Until no transfer is left (or timeout seconds passed); returns true
-- when everything finished.
function M.run(engine, timeout)
    drive_or_abort(engine, timeout, none_pending, engine)
    return engine.n_pending == 0
end

return M
