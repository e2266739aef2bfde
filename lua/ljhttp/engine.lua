-- engine: the Lua half of a client's transfer engine; handle.lua is the
-- other half, one request in flight.
--
-- C runs the transfers and queues the ids of those that finished or got
-- stream bytes. Engine:pump lets C run, then Engine:dispatch pulls those
-- ids and hands each to the handle that owns its transfer (Handle:_ready,
-- handle.lua), which copies results out and queues the user's callback.
-- Queued calls wait on the engine (Engine:enqueue) or with the host;
-- hosts (hosts/*.lua) decide when to pump and run them (M.dequeue,
-- M.run_record). Nothing here calls a user function directly. Hosts,
-- client_async.lua and stream.lua get handles from here too (M.handle,
-- M.user_handle, M.Handle: handle.lua's, re-exported).
local ffi = require("ffi")
local handle_mod = require("ljhttp.handle") -- loaded with this file only
local protect_mod = require("ljhttp.protect")

local tonumber, pcall = tonumber, pcall
local REQUEST = protect_mod.REQUEST
local deliver_progress = handle_mod.deliver_progress

local M = {}
local Engine = {}
Engine.__index = Engine
local Handle = handle_mod.Handle
M.Handle = Handle
M.handle = handle_mod.handle -- M.user_handle calls it through M

local IDS = 64
local TRANSFER_SLOT = ffi.typeof("ljh_transfer *[1]")
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
        slot = TRANSFER_SLOT(),
        -- the handle whose transfer is in a slot now (start), or false
        starting = false,
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
    local C, slot, outer = self.C, self.slot, self.starting
    if outer then
        -- a start inside another's window below (a finalizer that ran
        -- while that one boxed its transfer made a request): the engine's
        -- slot still holds that one's transfer, so this one gets a slot
        -- of its own, and hands the window back when done (allocating
        -- here, before C makes anything, may raise: nothing is lost)
        slot = TRANSFER_SLOT()
        handle.own_slot, handle.outer_start = slot, outer
    end
    -- from here until its finalizer is set the slot owns the transfer,
    -- and only this handle's Handle:_abort frees it from there
    -- (Engine:drop_slot): boxing the pointer and registering the
    -- finalizer may raise (out of memory) or run finalizers
    self.starting = handle
    if C.ljh_client_submit_to(self.cptr, req, slot) ~= 0 then
        self.starting = outer or false
        handle:_finish(nil, "out of memory", "out_of_memory")
        return handle
    end
    local t = ffi.gc(slot[0], C.ljh_transfer_free)
    slot[0] = nil -- the finalizer owns it now (nothing allocated since)
    self.starting = outer or false
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

--- The record of a call of fn with the arguments that follow (the
--- hosts' queues). Constants first in the constructor, the values after:
--- decode.lua's response says why.
function M.record(fn, ...)
    local rec = { false, false, 0, ... }
    rec[2], rec[3] = fn, select("#", ...)
    return rec
end

function Engine:enqueue(rec)
    local tail = self.tail
    if tail then
        tail[1] = rec
    else
        self.head = rec
    end
    self.tail = rec
end

-- Frees the transfer C started for handle h when Lua never came to hold
-- it (start raised while boxing it): only h's, as another handle's abort
-- may run inside that window (a finalizer). Allocates nothing.
function Engine:drop_slot(h)
    if self.starting == h then
        self.C.ljh_transfer_free_slot(h.own_slot or self.slot)
        self.starting = h.outer_start or false
    end
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

return M
