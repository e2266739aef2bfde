-- sse: a server-sent events parser, pure Lua, fed bytes in any pieces.
--
--   local sse = require("ljhttp.sse")
--   local p = sse.new()
--   for _, ev in ipairs(p:feed(chunk)) do print(ev.event, ev.data, ev.id, ev.retry) end
--
-- It follows the HTML standard's "event stream interpretation": one UTF-8
-- byte order mark at the very start is skipped; lines end with CRLF, LF
-- or CR (a CR at the end of one chunk and the LF that starts the next are
-- one line end); a line starting with ":" is a comment; "field:value"
-- loses one space after the colon, a line without a colon is a field
-- with an empty value; "data" lines are joined with "\n"; "id" sets the
-- last event ID (ignored when it contains NUL) which then stays for later
-- events; "retry" is taken only when it is all ASCII digits; other fields
-- are ignored; a blank line dispatches the event unless no "data" line
-- came (the event type is reset either way); the type defaults to
-- "message". An unfinished event at the end of the stream is dropped.
--
-- Lines are split on bytes, so a UTF-8 character split between chunks is
-- simply joined again; bytes are passed through as they are (no
-- replacement of invalid UTF-8).
--
-- Each event is a new table { event = type, data = text, id = last event
-- ID ("" when none was ever set), retry = reconnection time in ms (the
-- last valid "retry" seen, nil when none) }.
local find, sub, byte = string.find, string.sub, string.byte
local concat = table.concat
local tonumber = tonumber

local M = {}
local Parser = {}
Parser.__index = Parser

local BOM = "\239\187\191"
local CR, LF = 13, 10

function M.new()
    -- part and data: constants in the constructor, set below (decode.lua's
    -- response says why)
    local p = setmetatable({
        started = false,  -- past the optional BOM
        head = "",        -- bytes held while deciding about the BOM
        part = false,     -- pieces of the current unfinished line
        n_part = 0,
        skip_lf = false,  -- the last chunk ended with CR
        data = false,     -- data lines of the current event
        n_data = 0,
        event = "",
        last_event_id = "",
        retry = nil,
    }, Parser)
    p.part, p.data = {}, {}
    return p
end

local function field(p, line, out)
    local n = #line
    if n == 0 then
        -- dispatch
        if p.n_data > 0 then
            -- constants, then the values: see decode.lua's response
            local ev = { event = "", data = "", id = "", retry = false }
            ev.event = p.event ~= "" and p.event or "message"
            ev.data, ev.id, ev.retry = concat(p.data, "\n", 1, p.n_data), p.last_event_id, p.retry
            out[#out + 1] = ev
            for i = 1, p.n_data do
                p.data[i] = nil
            end
            p.n_data = 0
        end
        p.event = ""
        return
    end
    if byte(line, 1) == 58 then -- ":" comment
        return
    end
    local name, value
    local colon = find(line, ":", 1, true)
    if colon then
        name = sub(line, 1, colon - 1)
        if byte(line, colon + 1) == 32 then
            value = sub(line, colon + 2)
        else
            value = sub(line, colon + 1)
        end
    else
        name, value = line, ""
    end
    if name == "data" then
        p.n_data = p.n_data + 1
        p.data[p.n_data] = value
    elseif name == "event" then
        p.event = value
    elseif name == "id" then
        if not find(value, "\0", 1, true) then
            p.last_event_id = value
        end
    elseif name == "retry" then
        if value ~= "" and not find(value, "[^0-9]") then
            p.retry = tonumber(value)
        end
    end
end

-- Feeds bytes; returns a list (possibly empty) of complete events.
function Parser:feed(chunk)
    local out = {}
    if chunk == nil or chunk == "" then
        return out
    end
    if not self.started then
        local head = self.head .. chunk
        if #head < 3 and head == sub(BOM, 1, #head) then
            self.head = head -- could still be a BOM: wait for more
            return out
        end
        self.started = true
        self.head = ""
        chunk = sub(head, 1, 3) == BOM and sub(head, 4) or head
    end
    local pos, n = 1, #chunk
    if self.skip_lf then
        self.skip_lf = false
        if byte(chunk, 1) == LF then
            pos = 2
        end
    end
    while pos <= n do
        local e = find(chunk, "[\r\n]", pos)
        if not e then
            self.n_part = self.n_part + 1
            self.part[self.n_part] = sub(chunk, pos)
            break
        end
        local line = sub(chunk, pos, e - 1)
        if self.n_part > 0 then
            self.n_part = self.n_part + 1
            self.part[self.n_part] = line
            line = concat(self.part, "", 1, self.n_part)
            for i = 1, self.n_part do
                self.part[i] = nil
            end
            self.n_part = 0
        end
        if byte(chunk, e) == CR then
            if e == n then
                self.skip_lf = true
            elseif byte(chunk, e + 1) == LF then
                e = e + 1
            end
        end
        field(self, line, out)
        pos = e + 1
    end
    return out
end

-- Convenience: a function(chunk) that feeds the parser and calls
-- on_event(ev) for each complete event (and on_chunk(chunk) first, when
-- given). Used for options.on_event.
function M.chunk_handler(on_event, on_chunk)
    local p = M.new()
    return function(chunk)
        if on_chunk then
            on_chunk(chunk)
        end
        local evs = p:feed(chunk)
        for i = 1, #evs do
            on_event(evs[i])
        end
    end
end

return M
