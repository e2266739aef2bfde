-- Plain LuaJIT host: nothing runs in the background, so waiting is what
-- drives the engine (handle:wait(), client:run(), ljhttp.run()). User
-- callbacks run from those calls, after the engine has settled.
local M = { name = "luajit" }

local unpack = unpack or table.unpack
local C_now -- set on first use

function M.kick(engine)
    -- nothing to arm: the next wait or run drives the transfer
end

function M.call(engine, fn, ...)
    local q = engine.calls
    q[#q + 1] = { fn, select("#", ...), ... }
end

-- Runs queued user callbacks in order. They never raise: engine.lua
-- runs each user function under pcall and keeps its error for the
-- handle's wait() or the client's run().
function M.flush(engine)
    local q = engine.calls
    while q[1] do
        local c = table.remove(q, 1)
        c[1](unpack(c, 3, c[2] + 2))
    end
end

local function now(engine)
    C_now = C_now or engine.C
    return tonumber(C_now.ljh_now_ms())
end

-- Pumps until done() is true or timeout seconds have passed.
local function drive(engine, timeout, done)
    local deadline = timeout and now(engine) + timeout * 1000
    while not done() do
        local wait = 1000
        if deadline then
            local left = deadline - now(engine)
            if left <= 0 then
                break
            end
            wait = left < wait and math.ceil(left) or wait
        end
        engine:pump(wait)
        M.flush(engine)
    end
    M.flush(engine)
end
M.drive = drive

-- What the blocking API (request_batch) waits with: here, plain pumping.
function M.block_until(engine, done, timeout)
    drive(engine, timeout, done)
end

-- wait() raises its own handle's callback error (engine.lua); a request
-- waited for by nobody has its error raised by the next run().
function M.wait(engine, handle, timeout)
    drive(engine, timeout, function()
        return handle.finished
    end)
end

-- Until no transfer is left (or timeout seconds passed); returns true
-- when everything finished.
function M.run(engine, timeout)
    drive(engine, timeout, function()
        return engine.n_pending == 0
    end)
    return engine.n_pending == 0
end

return M
