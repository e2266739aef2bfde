-- handle: one request in flight on an engine (engine.lua): settling,
-- finishing, aborting and waiting for it.
--
-- Engine:dispatch calls Handle:_ready for each id C reported. _ready
-- takes what came (stream bytes for on_chunk, a body function's next
-- piece, progress) and, once the transfer is done, reads the response
-- (decode.lua), frees the transfer and calls _finish, which stores the
-- result and queues the completion callback with the host. _abort ends a
-- handle whose settling raised, allocating nothing. Callbacks run later,
-- from the host's queue, under pcall here. What finishing needs is made
-- with the handle (M.handle). Loaded by engine.lua only.
local ffi = require("ffi")
local decode = require("ljhttp.decode")
local protect_mod = require("ljhttp.protect")

local ffi_str = ffi.string
local tonumber, pcall = tonumber, pcall
local failure, is_oom, REQUEST = protect_mod.failure, protect_mod.is_oom, protect_mod.REQUEST

local M = {}
local Handle = {}
Handle.__index = Handle
M.Handle = Handle

local complete

-- What finishing needs is made here, before the transfer starts: the
-- result fields exist (false until set) and the callback's queue record
-- too, so settling a handle only fills them in and can end it even when
-- no memory is left (Handle:_abort).
function M.handle(callback, on_chunk, internal)
    -- callback, on_chunk, internal and done_rec: constants in the
    -- constructor, set below (decode.lua's response says why)
    local h = setmetatable({
        callback = false,
        on_chunk = false,
        internal = false, -- batch items: settled without the host
        finished = false,
        res = false,
        err = false,
        code = false,
        answer = false,
        settle = false, -- batch items: the batch's function
        index = false,
        engine = false,
        starved = false, -- an engine's spare, given out for lack of memory
        -- the completion's record for hosts with call_record
        done_rec = false,
    }, Handle)
    h.callback, h.on_chunk, h.internal = callback, on_chunk, internal
    if callback and not internal then
        local rec = { false, false, 1, false }
        rec[2], rec[4] = complete, h
        h.done_rec = rec
    end
    return h
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

-- A user callback raised: the error belongs to this handle. It is kept
-- for the handle's wait() and the client's run() (hosts/luajit.lua), or
-- handed to a host that reports errors itself (Neovim).
function Handle:_raised(err)
    local e = self.engine
    if e and e.host.report then
        return e.host.report(e, self, err)
    end
    if self.raised == nil then
        self.raised = err
        if e then
            e.raised[#e.raised + 1] = self
        end
    end
end


-- Raises (once) the error one of this handle's callbacks raised.
function Handle:_reraise()
    local err = self.raised
    if not err then
        return
    end
    self.raised = false
    local list = self.engine and self.engine.raised
    for i = 1, list and #list or 0 do
        if list[i] == self then
            table.remove(list, i)
            break
        end
    end
    error(err, 0)
end

-- The completion callback, with what _finish stored in the handle.
complete = function(h)
    local ok, cerr
    if h.answer then
        ok, cerr = pcall(h.callback, h.res or nil, h.err or nil, h.code or nil, h.answer)
    else
        ok, cerr = pcall(h.callback, h.res or nil, h.err or nil, h.code or nil)
    end
    if not ok then
        h:_raised(cerr)
    end
end

-- answer: with code "http_status", the refused response (decode.lua).
-- Allocates nothing with a host that has call_record or deliver_record
-- (the record was made with the handle) and for batch items (the batch's
-- tables are sized for every item).
function Handle:_finish(res, err, code, answer)
    self.finished = true
    if self.settle then -- batch items: the batch keeps the result
        return self.settle(self, res, err, code)
    end
    self.res, self.err, self.code, self.answer = res or false, err or false, code or false, answer or false
    if self.callback then
        local e = self.engine -- false: a handle of no client (internal)
        local host = e and e.host
        local rec = self.done_rec
        if rec and host and host.deliver_record then -- routes by owner (openresty)
            host.deliver_record(self, rec)
        elseif rec and host and host.call_record and not host.deliver then
            host.call_record(e, rec)
        else
            self:_deliver(complete, self)
        end
    end
end

-- Settling this handle raised (err): it ends now, with nil, message,
-- code ("out_of_memory" when LuaJIT ran out of memory), its transfer
-- cancelled and freed. Allocates nothing on that path, as the memory
-- may still be gone. A handle already finished only loses its transfer.
function Handle:_abort(err)
    local e = self.engine
    if e then
        e:forget(self)
        if e.slot then -- a transfer start() could not box (not when faked)
            e:drop_slot(self)
        end
    end
    local t = self.t
    if t ~= nil then
        self.t = nil
        local C = e.C
        C.ljh_transfer_cancel(t)
        C.ljh_transfer_free(ffi.gc(t, nil))
    end
    if self.delivering then
        self.delivering = false
    end
    if self.finished then
        return
    end
    if self.waiter then -- a stream (stream.lua): wake its reader
        self.waiter.finished = true
    end
    local _, msg, code = failure(REQUEST, err)
    self:_finish(nil, msg, code)
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

-- Chunks taken per delivery: up to 1 MiB, handed over in one host call.
-- The next take waits until that call has run, so when the editor falls
-- behind the bytes wait in C (which pauses the transfer) instead of
-- piling up as queued calls.
local BATCH = 16

local deliver_progress

-- on_chunk or on_progress raised: the rest of the transfer is of no use.
-- It ends, and the completion callback gets the error (code "callback").
function Handle:_stream_failed(name, err)
    self.cb_failure = name .. " raised: " .. tostring(err)
    local t = self.t
    if t ~= nil then
        self.engine.C.ljh_transfer_cancel(t)
    end
end

local function deliver_chunks(h, list, n)
    local on_chunk, raised = h.on_chunk, nil
    for i = 1, n do
        if h.cb_failure then
            break
        end
        local ok, err = pcall(on_chunk, list[i])
        if not ok then
            raised = err
            h:_stream_failed("on_chunk", err)
        end
    end
    h.delivering = false
    if h.t ~= nil then
        h:_ready()
    end
    if raised ~= nil then
        h:_raised(raised)
    end
end

-- on_progress: a periodic delivery (final = false) is queued at most once
-- at a time; the final one always is, before the completion callback.
deliver_progress = function(h, p, final)
    if not final then
        h.progress_queued = false
        if h.finished then
            return -- never after the completion callback
        end
    end
    if h.cb_failure then
        return
    end
    local ok, err = pcall(h.on_progress, p)
    if not ok then
        if not final then
            h:_stream_failed("on_progress", err)
        end
        h:_raised(err)
    end
end
function Handle:_take_chunks()
    local e = self.engine
    local C, t, data = e.C, self.t, e.data
    local list, k = nil, 0
    while k < BATCH do
        local n = C.ljh_transfer_take(t, data)
        if n == 0 then
            break
        end
        local ok, s = pcall(ffi_str, data[0], n)
        if not ok then -- no memory for the chunk: the transfer ends so
            self.oom = true
            C.ljh_transfer_cancel(t)
            break
        end
        list = list or {}
        k = k + 1
        list[k] = s
    end
    if k > 0 then
        self.delivering = true
        self:_deliver(deliver_chunks, self, list, k)
    end
    return k
end

-- The status, once the headers are in: outside 2xx, the body is kept.
local function check_head(self, C, t)
    local head = C.ljh_transfer_head_ref(t) -- stays the transfer's
    if head ~= nil then
        self.head_seen = true
        local res = decode.read(head, true)
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
    if t == nil then
        return
    end
    local C = e.C
    if self.body_fn and not self.feeding and C.ljh_transfer_wants_body(t) ~= 0 then
        self.feeding = true
        self:_deliver(feed_body, self)
    end
    if self.on_chunk and not self.head_seen then
        check_head(self, C, t)
    end
    if self.on_chunk and self.kept then
        -- refused: the body is kept for the callback; take it all, or a
        -- paused transfer would wait for a wake-up that never comes
        local data = e.data
        while true do
            local n = C.ljh_transfer_take(t, data)
            if n == 0 then
                break
            end
            keep_refused(self, data[0], tonumber(n))
        end
    elseif self.on_chunk and not self.cb_failure then
        -- a delivery still queued takes the next bytes once it has run
        if self.delivering or self:_take_chunks() == BATCH then
            return
        end
    end
    if C.ljh_transfer_done(t) == 0 then
        return
    end
    -- the response stays the transfer's (freed with it below, or by
    -- _abort when making the Lua side raises)
    local res, err, code = decode.read(C.ljh_transfer_response_ref(t), self.on_chunk ~= nil)
    if self.cb_failure then
        res, err, code = nil, self.cb_failure, "callback"
    elseif self.oom then
        res, err, code = nil, "out of memory (a chunk of the body)", "out_of_memory"
    end
    e:forget(self)
    if not self.internal then
        -- keep the final figures for handle:progress() (batch items and
        -- OpenResty's blocking calls: nobody holds their handle to ask)
        local final = self:progress()
        if self.on_progress and not self.cb_failure then
            -- once more with the final figures, before the completion callback
            self:_deliver(deliver_progress, self, final, true)
        end
    end
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
        -- out of memory in the host's loop itself (outside dispatch,
        -- which keeps its own handles consistent): this request ends so
        local ok, err = pcall(e.host.wait, e, self, timeout)
        if not ok then
            if not is_oom(err) then
                error(err, 0)
            end
            self:_abort(err)
        end
    elseif e and e.host.flush and (e.head or e.host.deliver) then
        -- finished without a pump (refused, cancelled, client closed):
        -- its callback is still queued
        e.host.flush(e)
    end
    if not self.finished then
        return nil, "wait timed out", "timeout"
    end
    self:_reraise()
    if self.answer then
        return self.res or nil, self.err or nil, self.code or nil, self.answer
    end
    return self.res or nil, self.err or nil, self.code or nil
end

local progress = ffi.new("ljh_progress")

function Handle:progress()
    if self.t ~= nil then
        self.engine.C.ljh_transfer_progress(self.t, progress)
        local d, dt = tonumber(progress.downloaded), tonumber(progress.download_total)
        local u, ut = tonumber(progress.uploaded), tonumber(progress.upload_total)
        -- both shapes: p.downloaded and p[1]
        local p = { 0, 0, 0, 0, downloaded = 0, download_total = 0, uploaded = 0,
            upload_total = 0 } -- constants, then the values: see decode.lua's response
        p[1], p[2], p[3], p[4] = d, dt, u, ut
        p.downloaded, p.download_total, p.uploaded, p.upload_total = d, dt, u, ut
        self.last_progress = p
    end
    return self.last_progress or { 0, 0, 0, 0, downloaded = 0, download_total = 0, uploaded = 0,
        upload_total = 0 }
end

M.deliver_progress = deliver_progress -- Engine:_progress_tick queues it

return M
