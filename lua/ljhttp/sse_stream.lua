-- sse_stream: server-sent events read from a stream (ljhttp.sse,
-- client:sse). The events object wraps a stream (stream.lua) and feeds
-- its chunks to the parser (sse.lua); out of Lua memory ends both
-- without allocating.
local stream = require("ljhttp.stream")
local protect = require("ljhttp.protect")
local sse = require("ljhttp.sse")

local type, next, setmetatable = type, next, setmetatable
-- User tables are walked with next: a LuaJIT built with Lua 5.2
-- compatibility honours __pairs, which may raise or show other content
-- than the table holds.
local pcall = pcall
local failure, new_table = protect.failure, protect.new_table
local settle, raise_unless_oom = protect.settle, protect.raise_unless_oom
local REQUEST = protect.REQUEST
local failed, ended = stream.failed, stream.ended

local M = {}

local Events = {}
Events.__index = Events

local function has_header(headers, lname)
    if type(headers) == "table" then
        for k in next, headers do
            if type(k) == "string" and k:lower() == lname then
                return true
            end
        end
    end
    return false
end

local sse_open

-- Opening the events raised (e): out of memory is nil, message, code;
-- any other raise propagates.
local function sse_failed(_, e)
    raise_unless_oom(e)
    return failure(REQUEST, e)
end

--- Opens an event stream: returns the events object (call it, or use it
--- in a generic for, for the next event), or nil, message, code.
function M.open(client, url, opts)
    if opts ~= nil and type(opts) ~= "table" then
        return nil, "options must be a table", "invalid_argument"
    end
    -- a stream already open when memory ran out is its finalizer's
    return settle(sse_failed, nil, pcall(sse_open, client, url, opts))
end

sse_open = function(client, url, opts)
    local o = {}
    for k, v in next, opts or {} do
        o[k] = v
    end
    local method = o.method or "GET"
    o.method = nil
    if type(method) ~= "string" then
        return nil, "method must be a string", "invalid_argument"
    end
    -- headers that are not a table are encode's to refuse
    local hs0 = o.headers
    if (hs0 == nil or type(hs0) == "table") and not has_header(hs0, "accept")
        and not has_header(client.defaults.headers, "accept") then
        local hs = {}
        for k, v in next, o.headers or {} do
            hs[k] = v
        end
        hs.Accept = "text/event-stream"
        o.headers = hs
    end
    -- made before the stream opens, with room for every field, so
    -- nothing allocates once it is open
    local ev = setmetatable(new_table(0, 16), Events)
    ev.parser, ev.queue, ev.qi, ev.last_event_id = sse.new(), {}, 1, ""
    local s, err, code, res = stream.open(client, method, url, o, "the event stream")
    if not s then
        if res ~= nil then
            return nil, err, code, res
        end
        return nil, err, code
    end
    ev.stream, ev.status_code, ev.headers, ev.header_list, ev.url = s, s.status_code, s.headers,
        s.header_list, s.url
    return ev
end

local events_next

-- Reading the events raised (e): out of memory ends them and their
-- stream (failed); nothing allocates. Any other raise propagates.
local function events_failed(self, e)
    raise_unless_oom(e)
    self.done = true
    self.queue = false
    self.qi = 1
    local _, msg, ecode = failed(self.stream, e)
    self.error, self.error_code = msg, ecode
    return nil, msg, ecode
end

--- The next event, nil at the end of the stream, or nil, message, code.
--- Out of Lua memory ends the events (and the stream) with nil,
--- message, "out_of_memory".
function Events:next()
    if self.done then
        return ended(self)
    end
    return settle(events_failed, self, pcall(events_next, self))
end

events_next = function(self)
    while true do
        local q = self.queue
        local i = self.qi
        local ev = q[i]
        if ev then
            q[i] = nil
            self.qi = i + 1
            self.last_event_id = ev.id
            self.retry = ev.retry
            return ev
        end
        if self.done then
            return ended(self)
        end
        local chunk, err, code = self.stream:read()
        if not chunk then
            self.done = true
            self.error, self.error_code = err, code
            self.retry = self.parser.retry
            return ended(self)
        end
        self.queue, self.qi = self.parser:feed(chunk), 1
    end
end

Events.__call = Events.next

function Events:close()
    self.done = true
    -- events parsed from the last chunk but not yet taken end here too
    -- (no new table: closing allocates nothing, also out of memory; a
    -- done Events never reads its queue again)
    self.queue, self.qi = false, 1
    return self.stream:close()
end

return M
