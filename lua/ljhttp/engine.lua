-- engine: the Lua half of a client's transfer engine.
--
-- C runs the transfers and queues the ids of those that finished or got
-- stream bytes; this file pulls those ids, copies results out and hands
-- them to the handle that owns each transfer. Hosts (hosts/*.lua) decide
-- when to pump and how user callbacks run; nothing here calls a user
-- function directly.
local ffi = require("ffi")
local decode = require("ljhttp.decode")
local protect_mod = require("ljhttp.protect")

local ffi_str = ffi.string
local tonumber, pcall = tonumber, pcall
local failure, is_oom, REQUEST = protect_mod.failure, protect_mod.is_oom, protect_mod.REQUEST

local M = {}
local Engine = {}
Engine.__index = Engine
local Handle = {}
Handle.__index = Handle
M.Handle = Handle

local IDS = 64
-- C functions that settling and aborting a transfer use (see M.new)
local SETTLING = { "ljh_transfer_cancel", "ljh_transfer_free", "ljh_transfer_done",
    "ljh_transfer_response_ref", "ljh_transfer_take", "ljh_transfer_head_ref", "ljh_transfer_id",
    "ljh_transfer_free_slot",
    "ljh_transfer_progress", "ljh_transfer_wants_body", "ljh_transfer_feed",
    "ljh_response_free", "ljh_client_ready", "ljh_client_run", "ljh_now_ms", "ljh_error_name" }

-- The message refusing a backend this build does not have.
function M.backend_refused(name, from_env)
    local what = from_env and "LJHTTP_BACKEND" or "backend"
    return what .. " must name a backend built into this library: \"epoll\" (Linux), "
        .. "\"kqueue\" (macOS, BSD) or \"portable\" (every OS), got " .. tostring(name)
end

function M.new(C, cptr, host)
    local e = setmetatable({
        C = C,
        cptr = cptr,
        host = host,
        pending = {},   -- transfer id -> handle
        n_pending = 0,
        ids = ffi.new("int32_t[?]", IDS),
        -- dispatch's place in ids: next index, count, whether C had no
        -- more; kept here so a dispatch that raised resumes there
        ids_i = 0,
        ids_n = 0,
        ids_end = false,
        settling = false, -- the handle dispatch is settling
        data = ffi.new("const char *[1]"),
        -- where C puts a new transfer (start): it stays there, C's to
        -- free (Engine:drop_slot), until Lua holds it with its finalizer
        slot = ffi.new("ljh_transfer *[1]"),
        -- user calls waiting to run (hosts/luajit.lua, hosts/nvim.lua): a
        -- list linked through each record's [1] (Engine:enqueue,
        -- M.dequeue; OpenResty's owner records use the same two fields)
        head = false,
        tail = false,
        spare = false, -- a handle for a request_async out of memory (M.user_handle)
        -- the error a callback run at once by M.user_handle raised (no
        -- handle to keep it): raised by the next reraise (client:run)
        starved_raised = false,
        raised = {},    -- handles whose callback raised, not yet re-raised
        progressing = {}, -- handles with on_progress, while they run
        n_progressing = 0,
    }, Engine)
    -- The C functions settling can call are looked up now, while there is
    -- memory: a namespace's first lookup of a name allocates, and raising
    -- there (Handle:_abort's ljh_transfer_cancel, out of memory) lost a
    -- handle that was already forgotten
    for i = 1, #SETTLING do
        local _ = C[SETTLING[i]]
    end
    if host.init then -- what the host needs to queue a completion, made now
        host.init(e) -- while there is memory (a queue that allocates can fail)
    end
    return e
end

local function start(self, req, handle)
    local C, slot = self.C, self.slot
    if C.ljh_client_submit_to(self.cptr, req, slot) ~= 0 then
        handle:_finish(nil, "out of memory", "out_of_memory")
        return handle
    end
    -- boxing the pointer and registering its finalizer may raise (out of
    -- memory): until both are done the slot owns the transfer, and the
    -- caller's Handle:_abort frees it from there (Engine:drop_slot)
    local t = ffi.gc(slot[0], C.ljh_transfer_free)
    slot[0] = nil -- the finalizer owns it now (nothing allocated since)
    handle.t = t
    handle.id = C.ljh_transfer_id(t)
    self.pending[handle.id] = handle
    self.n_pending = self.n_pending + 1
    local adopt = self.host.adopt
    if adopt then -- hosts that keep each handle's owner (openresty)
        adopt(self, handle)
    end
    if handle.on_progress then
        self.progressing[handle] = true
        self.n_progressing = self.n_progressing + 1
        handle.progress_next = tonumber(C.ljh_now_ms()) + handle.progress_ms
    end
    self.host.kick(self)
end

-- Starts a transfer for the request struct; owner gets callbacks.
-- Returns the handle (already failed when C refused the request). May
-- raise when out of memory: callers run it under their pcall and end the
-- handle with Handle:_abort, which also cancels a transfer C started
-- (no pcall here: start returning through one would stop the caller's
-- trace, and a batch submits in its hot loop).
function Engine:submit(req, handle)
    handle.engine = self
    start(self, req, handle)
    return handle
end

-- Settles the next ready id; false when none is left. Its place in ids
-- lives in the engine, so when settling one handle raises, the ids
-- already pulled from C are still settled by the next call.
local function settle_next(self, after)
    local i = self.ids_i
    if i >= self.ids_n then
        if self.ids_end then
            self.ids_i, self.ids_n, self.ids_end = 0, 0, false
            return false
        end
        local n = self.C.ljh_client_ready(self.cptr, self.ids, IDS)
        self.ids_i, self.ids_n, self.ids_end = 0, n, n < IDS
        if n == 0 then
            self.ids_end = false
            return false
        end
        i = 0
    end
    self.ids_i = i + 1
    local h = self.pending[self.ids[i]]
    if h then
        self.settling = h
        h:_ready()
        if after then
            after(h)
        end
        self.settling = false
    end
    return true
end

-- Pulls every ready id and settles its handle. No loop is entered when
-- nothing or one handle is ready: a loop met by a trace that started in
-- the caller (a request's submit, a host's wait) aborts it ("inner loop
-- in root trace", "loop unroll limit"), and the OpenResty path then ran
-- mostly interpreted.
local function settle_ready(self, after)
    if settle_next(self, after) then
        while settle_next(self, after) do
        end
    end
end

local function dispatch_raised(self, after, err)
    while true do
        local h = self.settling
        self.settling = false
        if not h then
            error(err, 0) -- not while settling a handle: a bug, not memory
        end
        h:_abort(err)
        if self.cptr == nil then
            return
        end
        local ok
        ok, err = pcall(settle_ready, self, after)
        if ok then
            return
        end
    end
end

-- Pulls every ready id and settles its handle. User code does not run
-- here: callbacks are queued for the host, so an error in one of them
-- can never leave the engine half-updated. after(h), when given, runs
-- for each settled handle (a host's wake-ups). One pcall per call, not
-- per handle: when settling a handle raises (LuaJIT out of memory while
-- making its response or queuing its callback), that handle ends with
-- nil, message, "out_of_memory" (Handle:_abort allocates nothing) and
-- the other ready handles are settled as usual.
function Engine:dispatch(after)
    if self.cptr == nil then
        return
    end
    local ok, err = pcall(settle_ready, self, after)
    if not ok then
        return dispatch_raised(self, after, err)
    end
end

-- One turn: let C wait up to wait_ms for I/O, then settle what is ready.
-- With fd (the portable backend's host watching the sockets): that socket
-- is ready for events (LJH_EV_*), and C runs libcurl on it alone.
function Engine:pump(wait_ms, fd, events)
    if self.cptr == nil then
        return 0
    end
    local running
    if fd then
        running = self.C.ljh_client_socket_ready(self.cptr, fd, events)
    else
        running = self.C.ljh_client_run(self.cptr, wait_ms)
    end
    self:dispatch()
    if running == 0 and self.n_pending > 0 then
        self:_sweep()
    end
    if self.n_progressing > 0 then
        self:_progress_tick()
    end
    return running
end

-- C runs nothing, yet handles wait: settle those whose transfer is done
-- although its id never came (seen once in ten runs of
-- test_oom_async.lua's batch case, cause not found; without this the
-- wait spun for ever). Streams' handles stay pending by design: their
-- _ready only wakes the reader.
function Engine:_sweep()
    local C = self.C
    for _, h in next, self.pending do
        local t = h.t
        if t ~= nil and not h.waiter and C.ljh_transfer_done(t) ~= 0 then
            local ok, err = pcall(h._ready, h)
            if not ok then
                h:_abort(err)
            end
        end
    end
end

-- Ends (Handle:_abort) every pending handle, or with settle every
-- pending batch item whose settle is that function: the wait for them ran
-- out of memory.
function Engine:abort_pending(err, settle)
    local pending, id = self.pending, nil
    repeat -- from the start each time: _abort removes the handle
        id = next(pending, nil)
        while id ~= nil and settle and pending[id].settle ~= settle do
            id = next(pending, id)
        end
        if id ~= nil then
            pending[id]:_abort(err)
        end
    until id == nil
end

-- Queued calls are records { next, fn, n, args... } linked through [1]
-- from head to tail (hosts/luajit.lua and hosts/nvim.lua run them):
-- queuing one allocates nothing, so a handle's completion record (made
-- with the handle) is queued even when memory has run out.
function Engine:enqueue(rec)
    local tail = self.tail
    if tail then
        tail[1] = rec
    else
        self.head = rec
    end
    self.tail = rec
end

-- Frees a transfer C started but Lua never came to hold (start raised
-- while boxing it). Allocates nothing.
function Engine:drop_slot()
    self.C.ljh_transfer_free_slot(self.slot)
end

--- The oldest record of queue q (an engine, or an OpenResty owner:
--- fields head and tail, linked through each record's [1]), taken off
--- the queue before it runs, so a raise while it runs leaves the rest
--- queued; false when empty. Allocates nothing.
function M.dequeue(q)
    local rec = q.head
    if rec then
        local nxt = rec[1]
        q.head = nxt
        if not nxt then
            q.tail = false
        end
        rec[1] = false
    end
    return rec
end

-- Only h's own entry (and only once): _abort may forget a handle that
-- was settled, and forgotten, before. (Ids only grow; C reuses a freed
-- transfer's memory, never its id.)
function Engine:forget(h)
    if self.pending[h.id] == h then
        self.pending[h.id] = nil
        self.n_pending = self.n_pending - 1
    end
    if self.progressing[h] then
        self.progressing[h] = nil
        self.n_progressing = self.n_progressing - 1
    end
end

-- ---- handles ----

local complete

-- What finishing needs is made here, before the transfer starts: the
-- result fields exist (false until set) and the callback's queue record
-- too, so settling a handle only fills them in and can end it even when
-- no memory is left (Handle:_abort).
function M.handle(callback, on_chunk, internal)
    local h = setmetatable({
        callback = callback,
        on_chunk = on_chunk,
        internal = internal, -- batch items: settled without the host
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
        done_rec = callback and not internal and { false, complete, 1, false } or false,
    }, Handle)
    if h.done_rec then
        h.done_rec[4] = h
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

local unpack = unpack or table.unpack

--- Runs a host's queued record { next, fn, n, args... }. User code runs
--- under pcall already, so a raise here is engine code out of memory:
--- it ends the handle the record was for (its first argument), as a
--- raise in dispatch does, and nothing propagates into the host's loop.
function M.run_record(rec)
    local ok, err = pcall(rec[2], unpack(rec, 4, rec[3] + 3))
    if not ok then
        local h = rec[4]
        if getmetatable(h) ~= Handle then
            error(err, 0)
        end
        h:_abort(err)
    end
end

-- Raises (once) the oldest callback error no wait() has raised yet.
function Engine:reraise()
    local err = self.starved_raised
    if err then
        self.starved_raised = false
        error(err, 0)
    end
    local h = self.raised[1]
    if h then
        h:_reraise()
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

local function no_callback()
end

local STARVED -- the handle of every request_async that found no memory at all

-- A handle for request_async. When LuaJIT cannot make one, the engine's
-- spare (made earlier, while memory allowed) takes the callback and ends
-- at once as out_of_memory, so the callback still runs exactly once.
function M.user_handle(e, callback, on_chunk)
    local ok, h = pcall(M.handle, callback, on_chunk, false)
    if ok then
        h.engine = e
        if not e.spare then
            local sok, spare = pcall(M.handle, no_callback, nil, false)
            if sok then
                spare.engine, e.spare = e, spare
            end
        end
        return h
    end
    local spare = e.spare
    if not spare then
        -- no spare either: one shared handle that has ended so, and the
        -- callback runs now (no record can be queued for it); an error
        -- it raises goes to a field the engine has (keeping it allocates
        -- nothing) for the next client:run(); the first one when several
        if callback then
            local cok, cerr = pcall(callback, nil, REQUEST.oom_msg, "out_of_memory")
            if not cok and not e.starved_raised then
                e.starved_raised = cerr
            end
        end
        return STARVED
    end
    e.spare = false
    spare.callback, spare.starved = callback or false, true
    spare.done_rec = callback and spare.done_rec or false
    spare:_abort(h)
    return spare
end

STARVED = M.handle(nil, nil, false)
STARVED.finished, STARVED.starved = true, true
STARVED.err, STARVED.code = REQUEST.oom_msg, "out_of_memory"

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
            e:drop_slot()
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

-- After a pump: the figures of transfers with on_progress, each at most
-- every progress_ms, and only when they moved.
function Engine:_progress_tick()
    local now = tonumber(self.C.ljh_now_ms())
    for h in next, self.progressing do
        if h.t ~= nil and not h.progress_queued and now >= h.progress_next then
            h.progress_next = now + h.progress_ms
            local p = h:progress()
            local moved = p.downloaded + p.uploaded + p.download_total + p.upload_total
            if moved ~= h.progress_moved then
                h.progress_moved = moved
                h.progress_queued = true
                h:_deliver(deliver_progress, h, p, false)
            end
        end
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
    local final = self:progress() -- keep the final figures
    if self.on_progress and not self.cb_failure then
        -- once more with the final figures, before the completion callback
        self:_deliver(deliver_progress, self, final, true)
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
        self.last_progress = { d, dt, u, ut, downloaded = d, download_total = dt, uploaded = u,
            upload_total = ut }
    end
    return self.last_progress or { 0, 0, 0, 0, downloaded = 0, download_total = 0, uploaded = 0,
        upload_total = 0 }
end

return M
