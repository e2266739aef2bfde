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
    local adopt = self.host.adopt
    if adopt then -- hosts that keep each handle's owner (openresty)
        adopt(self, handle)
    end
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
        return
    end
    local host = self.engine.host
    if host.deliver then -- hosts that route by owner (openresty)
        host.deliver(self, fn, ...)
    else
        host.call(self.engine, fn, ...)
    end
end

-- answer: with code "http_status", the refused response (decode.lua)
function Handle:_finish(res, err, code, answer)
    self.finished = true
    if self.settle then -- batch items: the batch keeps the result
        return self.settle(self, res, err, code)
    end
    self.res, self.err, self.code, self.answer = res, err, code, answer
    if self.callback then
        if answer ~= nil then
            self:_deliver(self.callback, res, err, code, answer)
        else
            self:_deliver(self.callback, res, err, code)
        end
    end
end

-- An on_chunk transfer answered outside 2xx keeps its body (capped) for
-- the callback instead of passing it to on_chunk as data.
local function keep_refused(self, p, n)
    local room = decode.ERROR_BODY_CAP - self.kept_len
    if room > 0 then
        local s = ffi_str(p, n < room and n or room)
        self.kept[#self.kept + 1] = s
        self.kept_len = self.kept_len + #s
    end
end

function Handle:_take_chunk()
    local e = self.engine
    local n = e.C.ljh_transfer_take(self.t, e.data)
    if n > 0 then
        if self.kept then
            keep_refused(self, e.data[0], tonumber(n))
        else
            self:_deliver(self.on_chunk, ffi_str(e.data[0], n))
        end
    end
    return n
end

-- The status, once the headers are in: outside 2xx, the body is kept.
local function check_head(self, C, t)
    local head = C.ljh_transfer_head(t)
    if head ~= nil then
        self.head_seen = true
        local res = decode.take(head, true)
        if res and decode.refused(res.status_code) then
            self.kept, self.kept_len = {}, 0
        end
    end
end

-- body = function: the upload paused for its next piece. Runs as a user
-- call (the host's queue): pulls one piece from the function and feeds it
-- to C, which resumes the upload. A function that raises or returns
-- something else than a string or nil ends the transfer.
local function feed_body(h)
    h.feeding = false
    local t = h.t
    if t == nil or h.finished then
        return
    end
    local e = h.engine
    local C = e.C
    if C.ljh_transfer_wants_body(t) == 0 then
        return
    end
    local fn = h.body_fn
    local ok, piece = pcall(function()
        local p
        repeat -- "" is no piece: ask again
            p = fn()
        until p ~= ""
        return p
    end)
    if h.t == nil or h.finished then
        return
    end
    if ok and piece ~= nil and type(piece) ~= "string" then
        ok, piece = false, "it returned a " .. type(piece) .. ", not a string or nil"
    end
    if not ok then
        h.body_error = "the body function failed: " .. tostring(piece)
        C.ljh_transfer_cancel(t)
    elseif piece == nil then
        C.ljh_transfer_feed(t, nil, 0)
    else
        C.ljh_transfer_feed(t, piece, #piece)
    end
    e.host.kick(e)
    e:dispatch()
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
    if self.body_fn and not self.feeding and C.ljh_transfer_wants_body(t) ~= 0 then
        self.feeding = true
        self:_deliver(feed_body, self)
    end
    if self.on_chunk then
        if not self.head_seen then
            check_head(self, C, t)
        end
        -- one take returns at most LJH_STREAM_CHUNK bytes: take them all,
        -- or a paused transfer would wait for a wake-up that never comes
        while self:_take_chunk() > 0 do
        end
    end
    if C.ljh_transfer_done(t) == 0 then
        return
    end
    local res, err, code = decode.take(C.ljh_transfer_response(t), self.on_chunk ~= nil)
    e:forget(self)
    self:progress() -- keep the final figures
    C.ljh_transfer_free(ffi.gc(t, nil))
    self.t = nil
    if res and self.kept then
        return self:_finish(decode.http_status(self.method, self.what, res,
            table.concat(self.kept)))
    end
    if self.body_error then
        return self:_finish(nil, self.body_error, "io")
    end
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
    elseif e and e.host.flush and (e.calls[1] ~= nil or e.host.deliver) then
        -- finished without a pump (refused, cancelled, client closed):
        -- its callback is still queued
        e.host.flush(e)
    end
    if not self.finished then
        return nil, "wait timed out", "timeout"
    end
    if self.answer ~= nil then
        return self.res, self.err, self.code, self.answer
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
