-- stream: response bodies read piece by piece (ljhttp.stream,
-- client:stream); server-sent events on top are sse_stream.lua's.
--
-- A stream is an engine transfer with LJH_F_STREAM. C keeps the bytes
-- that arrived until read() takes them and pauses the transfer when more
-- than LJH_STREAM_HIGH_WATER (1 MiB) wait, so a slow reader holds at most
-- about two of those buffers. The engine queues the transfer's id when
-- the final headers arrive, when bytes arrive and when it ends; the
-- handle's _ready only wakes the waiting reader (it must not allocate or
-- call user code), and waiting goes through the host's wait(engine,
-- waiter, timeout), so a read blocks in plain LuaJIT, runs the editor's
-- loop in Neovim (vim.wait) and yields in OpenResty.
local ffi = require("ffi")
local encode = require("ljhttp.encode")
local decode = require("ljhttp.decode")
local engine_mod = require("ljhttp.engine")
local protect = require("ljhttp.protect")

local type, setmetatable, tonumber = type, setmetatable, tonumber
local ffi_str = ffi.string
local pcall = pcall
local failure, new_table = protect.failure, protect.new_table
local settle, raise_unless_oom = protect.settle, protect.raise_unless_oom
local CHUNK, REQUEST = protect.CHUNK, protect.REQUEST

local M = {}
local Stream = {}
Stream.__index = Stream
M.Stream = Stream

-- Frees the transfer of handle h (cancelling it when still running).
-- Shared by close() and the stream's finalizer, so it must not refer to
-- the stream table itself.
local function release(h)
    local t = h.t
    if t ~= nil then
        h.t = nil
        h.finished = true
        local e = h.engine
        e:forget(h)
        if not h.sentinel then -- ffi.gc(t, nil) of a cdata with no finalizer may allocate
            t = ffi.gc(t, nil)
        end
        e.C.ljh_transfer_free(t)
    end
end

local HEAD_FIELDS = { "status_code", "headers", "header_list", "links", "cookies", "url", "redirects",
    "http_version", "remote_ip" }

local function set_head(s, res)
    for i = 1, #HEAD_FIELDS do
        local k = HEAD_FIELDS[i]
        s[k] = res[k]
    end
end

-- Waits (through the host) until the engine has news for this transfer.
local function wait(h)
    local e = h.engine
    e.host.wait(e, h.waiter, nil)
end

-- A stream answered outside 2xx: its body, up to decode.ERROR_BODY_CAP
-- bytes, goes to the caller with nil, message, "http_status", response.
local function refused(s, method, what, res)
    local parts, n = {}, 0
    while n < decode.ERROR_BODY_CAP do
        local chunk = s:read()
        if not chunk then
            break
        end
        parts[#parts + 1] = chunk
        n = n + #chunk
    end
    s:close()
    local body = table.concat(parts)
    if #body > decode.ERROR_BODY_CAP then
        body = body:sub(1, decode.ERROR_BODY_CAP)
    end
    return decode.http_status(method, what, res, body)
end

-- The handle of a stream: its reader waits on h.waiter, which
-- Handle:_ready sets.
local function stream_handle()
    local h = engine_mod.handle(nil, nil, false)
    h.waiter = { finished = false }
    h.sentinel = false -- true once the stream's sentinel owns the transfer (M.wrap)
    h.result_read = false
    return h
end

local open, lines_iter

-- open raised (e): its handle's transfer is freed, then out of memory
-- is nil, message, code and any other raise propagates.
local function open_failed(h, e, mark)
    encode.unwind(mark)
    release(h)
    if h.engine then
        h.engine:drop_slot(h)
    end
    raise_unless_oom(e)
    return failure(REQUEST, e)
end

-- open's results, or open_failed's when it raised.
local function opened(h, mark, ok, ...)
    if ok then
        return ...
    end
    return open_failed(h, (...), mark)
end

--- Opens a streamed request on client; returns the stream once status
--- and headers are in, or nil, message, code (and, for a status outside
--- 2xx, "http_status" and the response). what names the stream in that
--- message. Out of Lua memory anywhere on the way is nil, message,
--- "out_of_memory", with the transfer freed.
function M.open(client, method, url, opts, what)
    if client.cptr == nil then
        return nil, "the client is closed", "closed"
    end
    local ok, h = pcall(stream_handle)
    if not ok then
        raise_unless_oom(h)
        return failure(REQUEST, h)
    end
    local mark = encode.mark() -- before open's request, not after it
    return opened(h, mark, pcall(open, client, h, method, url, opts, what))
end

local function has_callbacks(opts)
    return opts.on_chunk ~= nil or opts.on_event ~= nil or opts.on_line ~= nil or opts.lines ~= nil
end

open = function(client, h, method, url, opts, what)
    local ok_opts, has_cb, perr = true, false, nil
    if type(opts) == "table" then
        -- options with metamethods may raise: keep the no-raise promise
        ok_opts, has_cb, perr = protect.ok(protect.OPTIONS, has_callbacks, opts)
        if not ok_opts then
            return nil, has_cb, perr
        end
    end
    if has_cb then
        return nil, "on_chunk, on_event and on_line are for request_async; a stream is read "
            .. "with read() or lines()",
            "invalid_argument"
    end
    -- protect may turn a raise inside encode.request into a value: what
    -- the request holds is released to the depth before it (encode.unwind)
    local mark = encode.mark()
    local req, msg, code = protect.call(protect.OPTIONS, encode.request, method, url, opts,
        client.defaults, encode.F_STREAM)
    if not req then
        encode.unwind(mark)
        return nil, msg, code
    end
    local e = client.engine
    h.engine = e
    e:submit(req, h)
    encode.unwind(mark)
    local C = e.C
    while true do
        local t = h.t
        if t == nil then
            return nil, h.err or "out of memory", h.code or "out_of_memory"
        end
        h.waiter.finished = false
        -- the headers, kept by C even when the transfer is already over
        local head = C.ljh_transfer_head_ref(t) -- stays the transfer's
        if head ~= nil then
            local res, err, ecode = decode.read(head, true)
            if not res then
                release(h)
                return nil, err, ecode
            end
            local s = M.wrap(h)
            set_head(s, res)
            if decode.refused(res.status_code) then
                return refused(s, method, what or "the server", res)
            end
            return s
        end
        if C.ljh_transfer_done(t) ~= 0 then
            -- over without final headers: a failure (or, out of memory
            -- for the copy, the final response itself)
            h.result_read = true
            local res, err, ecode = decode.read(C.ljh_transfer_response_ref(t), true)
            if not res then
                release(h)
                return nil, err, ecode
            end
            local s = M.wrap(h)
            set_head(s, res)
            if decode.refused(res.status_code) then
                return refused(s, method, what or "the server", res)
            end
            return s
        end
        wait(h)
    end
end

function M.wrap(h)
    -- Collected streams end their transfer: the finalizer sees only h.
    -- The sentinel is then the transfer's only owner: with a finalizer
    -- of its own as well, both ran when the stream and the transfer went
    -- in the same cycle (a dropped client, or the end of the process),
    -- and freed the transfer twice.
    if h.t ~= nil then
        h.t = ffi.gc(h.t, nil)
        h.sentinel = true
    end
    local sentinel = ffi.gc(ffi.new("char[1]"), function()
        release(h)
    end)
    -- room for the head's fields, error, error_code and _closed: ending
    -- the stream for lack of memory sets them without allocating
    local s = new_table(0, 16)
    s._h, s._gc = h, sentinel
    return setmetatable(s, Stream)
end

-- Reading s raised (e): out of Lua memory, the stream ends with nil,
-- message, "out_of_memory" and its transfer is freed (later reads end
-- the same way). Allocates nothing on that path. Any other raise (a
-- host's wait, an interrupt, a bug) propagates and leaves the stream as
-- it was (protect.raise_unless_oom).
local function failed(s, e)
    raise_unless_oom(e)
    local _, msg, code = failure(CHUNK, e)
    s.error, s.error_code = msg, code
    release(s._h)
    return nil, msg, code
end
M.failed = failed

-- The end of s (a stream, or sse_stream's events): nil, or the
-- failure it ended with.
local function ended(s)
    if s.error then
        return nil, s.error, s.error_code
    end
    return nil
end
M.ended = ended

--- The next chunk without making a Lua string: a `const char *` and a
--- length (at most LJH_STREAM_CHUNK), valid until the next read(),
--- read_ref() or close() of this stream; nil at the end, or nil,
--- message, code. Keep the stream referenced while using the pointer: a
--- collected stream's buffer goes to its client's next stream.
local read_ref

function Stream:read_ref()
    return settle(failed, self, pcall(read_ref, self))
end

read_ref = function(self)
    local h = self._h
    if self._closed then
        return nil, "the stream is closed", "closed"
    end
    local e = h.engine
    local C = e.C
    while true do
        local t = h.t
        if t == nil then
            return ended(self)
        end
        h.waiter.finished = false
        local n = C.ljh_transfer_take(t, e.data)
        if n > 0 then
            return e.data[0], tonumber(n)
        end
        if C.ljh_transfer_done(t) ~= 0 then
            local r = C.ljh_transfer_response_ref(t) -- the transfer's
            if r ~= nil and not h.result_read then -- open() read it
                local res, err, code = decode.read(r, true)
                if not res then
                    self.error, self.error_code = err, code
                end
            end
            release(h)
            return ended(self)
        end
        wait(h)
    end
end

--- The next chunk of body bytes (a non-empty string), nil at the end,
--- or nil, message, code when the transfer failed.
function Stream:read()
    local p, n, code = self:read_ref()
    if p ~= nil then
        local ok, s = pcall(ffi_str, p, n)
        if ok then
            return s
        end
        return failed(self, s)
    end
    if n == nil then
        return nil -- the end: one value, as read_ref() gives
    end
    return nil, n, code
end

--- Iterator over the remaining chunks: for chunk in s:chunks() do ... end.
--- After the loop, s.error and s.error_code tell a failure from the end.
local function no_more()
    return nil
end

-- The iterator make(self, ...) returns, made under pcall: when making it
-- runs out of memory the stream ends (s.error tells) and the loop runs
-- no turn.
local function iterator(self, make, ...)
    local ok, it = pcall(make, self, ...)
    if ok then
        return it
    end
    failed(self, it)
    return no_more
end

local function chunks_iter(self)
    return function()
        return (self:read())
    end
end

function Stream:chunks()
    return iterator(self, chunks_iter)
end

--- Iterator over the remaining body as lines (lines.lua): LF or CRLF
--- ends a line, the last needs none. With "json" each line's decoded
--- value (blank lines skipped); a line that is not JSON ends the loop
--- with s.error and s.error_code = "json". After the loop, s.error tells
--- a failure from the end.
function Stream:lines(format)
    local lines = protect.require("ljhttp.lines")
    if not lines.format(format) then
        error("ljhttp: lines() takes nil, \"text\" or \"json\"", 2)
    end
    return iterator(self, lines_iter, lines, format)
end

-- The iterator of lines(): out of memory ends it (s.error tells).
lines_iter = function(self, lines, format)
    local sp = lines.new()
    local queue, qi, done = {}, 1, false
    local step, dead = nil, false
    local function iter()
        if dead then
            return nil
        end
        local ok, v = pcall(step)
        if ok then
            return v
        end
        dead = true
        failed(self, v)
        return nil
    end
    step = function()
        while true do
            local line = queue[qi]
            if line ~= nil then
                queue[qi] = nil
                qi = qi + 1
                local v, err, code = lines.convert(line, format)
                if v == nil then
                    self.error, self.error_code = err, code
                    done, queue, qi = true, {}, 1
                    return nil
                end
                if err ~= "skip" then
                    return v
                end
            elseif done then
                return nil
            else
                local chunk = self:read()
                queue, qi = {}, 1
                if chunk then
                    sp:feed(chunk, queue)
                else
                    done = true
                    if not self.error then -- a cut line is not a line
                        queue[1] = sp:finish()
                    end
                end
            end
        end
    end
    return iter
end

--- Ends the transfer (if still running) and frees it. Always true.
function Stream:close()
    if not self._closed then
        self._closed = true
        release(self._h)
        ffi.gc(self._gc, nil)
    end
    return true
end

return M
