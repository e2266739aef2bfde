-- engine: the Lua half of a client's transfer engine.
--
-- C runs the transfers and queues the ids of those that finished or got
-- stream bytes; this file pulls those ids, copies results out and hands
-- them to the handle that owns each transfer. Hosts (hosts/*.lua) decide
-- when to pump and how user callbacks run; nothing here calls a user
-- function directly.
local ffi = require("ffi")
local decode = require("ljhttp.decode")

local ffi_str = ffi.string
local tonumber = tonumber

local M = {}
local Engine = {}
Engine.__index = Engine
local Handle = {}
Handle.__index = Handle
M.Handle = Handle

local IDS = 64

function M.new(C, cptr, host)
    return setmetatable({
        C = C,
        cptr = cptr,
        host = host,
        pending = {},   -- transfer id -> handle
        n_pending = 0,
        ids = ffi.new("int32_t[?]", IDS),
        data = ffi.new("const char *[1]"),
        calls = {},     -- user calls waiting to run (see hosts)
    }, Engine)
end

-- Starts a transfer for the request struct; owner gets callbacks.
-- Returns the handle (already failed when C refused the request).
function Engine:submit(req, handle)
    local C = self.C
    local t = C.ljh_client_submit(self.cptr, req)
    handle.engine = self
    if t == nil then
        handle:_finish(nil, "out of memory", "out_of_memory")
        return handle
    end
    handle.t = ffi.gc(t, C.ljh_transfer_free)
    handle.id = C.ljh_transfer_id(t)
    self.pending[handle.id] = handle
    self.n_pending = self.n_pending + 1
    self.host.kick(self)
    return handle
end

-- Pulls every ready id and settles its handle. User code does not run
-- here: callbacks are queued for the host, so an error in one of them
-- can never leave the engine half-updated.
function Engine:dispatch()
    local C, ids, pending = self.C, self.ids, self.pending
    if self.cptr == nil then
        return
    end
    repeat
        local n = C.ljh_client_ready(self.cptr, ids, IDS)
        for i = 0, n - 1 do
            local h = pending[ids[i]]
            if h then
                h:_ready()
            end
        end
    until n < IDS
end

-- One turn: let C wait up to wait_ms for I/O, then settle what is ready.
function Engine:pump(wait_ms)
    if self.cptr == nil then
        return 0
    end
    local running = self.C.ljh_client_run(self.cptr, wait_ms)
    self:dispatch()
    return running
end

function Engine:forget(h)
    if self.pending[h.id] then
        self.pending[h.id] = nil
        self.n_pending = self.n_pending - 1
    end
end

-- ---- handles ----

function M.handle(callback, on_chunk, internal)
    return setmetatable({
        callback = callback,
        on_chunk = on_chunk,
        internal = internal, -- batch items: settled without the host
        finished = false,
    }, Handle)
end

function Handle:_deliver(fn, ...)
    if self.internal then
        fn(...)
    else
        self.engine.host.call(self.engine, fn, ...)
    end
end

function Handle:_finish(res, err, code)
    self.finished = true
    if self.settle then -- batch items: the batch keeps the result
        return self.settle(self, res, err, code)
    end
    self.res, self.err, self.code = res, err, code
    if self.callback then
        self:_deliver(self.callback, res, err, code)
    end
end

function Handle:_take_chunk()
    local e = self.engine
    local n = e.C.ljh_transfer_take(self.t, e.data)
    if n > 0 then
        local ok, s = pcall(ffi_str, e.data[0], n)
        if not ok then -- no memory for the chunk: the transfer ends so
            self.oom = true
            e.C.ljh_transfer_cancel(self.t)
            return 0
        end
        self:_deliver(self.on_chunk, s)
    end
    return n
end

function Handle:_ready()
    local waiter = self.waiter
    if waiter then
        -- a stream (stream.lua) pulls its own bytes: only wake its reader.
        -- No allocation here, so the stream's finalizer cannot run now.
        waiter.finished = true
        return
    end
    local e, t = self.engine, self.t
    local C = e.C
    if self.on_chunk then
        -- one take returns at most LJH_STREAM_CHUNK bytes: take them all,
        -- or a paused transfer would wait for a wake-up that never comes
        while self:_take_chunk() > 0 do
        end
    end
    if C.ljh_transfer_done(t) == 0 then
        return
    end
    local res, err, code = decode.take(C.ljh_transfer_response(t), self.on_chunk ~= nil)
    if self.oom then
        res, err, code = nil, "out of memory (a chunk of the body)", "out_of_memory"
    end
    e:forget(self)
    self:progress() -- keep the final figures
    C.ljh_transfer_free(ffi.gc(t, nil))
    self.t = nil
    self:_finish(res, err, code)
end

--- Ends the transfer; the callback gets nil, "cancelled", "cancelled".
function Handle:cancel()
    if self.t ~= nil and not self.finished then
        self.engine.C.ljh_transfer_cancel(self.t)
        self.engine:dispatch()
    end
end

function Handle:done()
    return self.finished
end

--- Blocks until done (timeout in seconds, optional) and returns what the
--- callback got; nil, "wait timed out", "timeout" if time ran out first.
function Handle:wait(timeout)
    local e = self.engine
    if not self.finished then
        e.host.wait(e, self, timeout)
    elseif e and e.calls[1] ~= nil and e.host.flush then
        -- finished without a pump (refused, cancelled, client closed):
        -- its callback is still queued
        e.host.flush(e)
    end
    if not self.finished then
        return nil, "wait timed out", "timeout"
    end
    return self.res, self.err, self.code
end

local progress = ffi.new("ljh_progress")

function Handle:progress()
    if self.t ~= nil then
        self.engine.C.ljh_transfer_progress(self.t, progress)
        local d, dt = tonumber(progress.downloaded), tonumber(progress.download_total)
        local u, ut = tonumber(progress.uploaded), tonumber(progress.upload_total)
        -- both shapes: p.downloaded and p[1]
        self.last_progress = { d, dt, u, ut, downloaded = d, download_total = dt, uploaded = u,
            upload_total = ut }
    end
    return self.last_progress or { 0, 0, 0, 0, downloaded = 0, download_total = 0, uploaded = 0,
        upload_total = 0 }
end

return M
