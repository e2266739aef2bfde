-- ws_nvim: WebSocket callbacks in Neovim (on_open, on_message,
-- on_close; ws.lua). A libuv poll handle on the socket (a timer during
-- the handshake, and while closing with nothing to wait for) steps the
-- connection; libuv's callbacks run in a fast context, so they only do
-- C work and hand each user callback to vim.schedule. Backpressure:
-- beyond MAX_PENDING deliveries queued on the editor, reading stops.
local ffi = require("ffi")
local bit = require("bit")
local ws = require("ljhttp.ws")

local tonumber, tostring, pcall, select, unpack = tonumber, tostring, pcall, select, unpack
local ffi_str = ffi.string
local CONNECTING, CLOSING, CLOSED = ws.CONNECTING, ws.CLOSING, ws.CLOSED
local WANT_READ, WANT_WRITE = ws.WANT_READ, ws.WANT_WRITE

local M = {}

local function schedule(c, fn, ...)
    local n = select("#", ...)
    local args = { ... }
    c.pending = (c.pending or 0) + 1
    vim.schedule(function()
        c.pending = c.pending - 1
        local ok, err = pcall(fn, c, unpack(args, 1, n))
        if not ok then
            vim.notify("ljhttp websocket callback: " .. tostring(err), vim.log.levels.ERROR)
        end
        if c.ws and c.stalled then
            c.stalled = false
            M.step(c)
        end
    end)
end

local MAX_PENDING = 64 -- deliveries queued on the editor: beyond, stop taking

function M.step(c)
    if c.ws == nil then
        return
    end
    local st = c.st[0]
    local was = c.last_state or CONNECTING
    ws.run(c, 0)
    if was == CONNECTING and st.state ~= CONNECTING then
        local conn, msg, code, res = ws.handshake(c)
        if not conn then
            if c.on_close then
                schedule(c, c.on_close, 1006, "", msg, code, res)
            end
            ws.release(c)
            return
        end
        if c.on_open then
            schedule(c, c.on_open)
        end
    end
    c.last_state = st.state
    while (c.pending or 0) < MAX_PENDING do
        local data, kind = ws.take(c)
        if not data then
            break
        end
        if c.on_message then
            schedule(c, c.on_message, data, kind)
        end
    end
    if (c.pending or 0) >= MAX_PENDING and st.queued > 0 then
        c.stalled = true
    end
    if st.state == CLOSED and st.queued == 0 then
        c.close_code = st.close_code
        c.close_reason = ffi_str(st.close_reason)
        local msg, code
        if st.error ~= 0 then
            msg, code = ws.fail_of(st)
        end
        if c.on_close then
            schedule(c, c.on_close, c.close_code, c.close_reason, msg, code)
        end
        ws.release(c)
        return
    end
    M.rearm(c)
end

function M.rearm(c)
    local st = c.st[0]
    if c.ws == nil then
        return
    end
    local uv = vim.uv or vim.loop
    if st.state == CONNECTING then
        c.timer:start(st.timeout_ms > 0 and st.timeout_ms or 1, 0, c.on_timer)
        return
    end
    local fd = tonumber(st.fd)
    if not c.poll_fd or c.poll_fd ~= fd then
        if c.poll then
            c.poll:stop()
            c.poll:close()
        end
        c.poll = uv.new_poll(fd)
        c.poll_fd = fd
        c.poll_events = nil
    end
    local want = st.want
    if (c.pending or 0) >= MAX_PENDING then
        want = bit.band(want, bit.bnot(WANT_READ)) -- the editor is behind: no reading until it caught up
    end
    local r, w = bit.band(want, WANT_READ) ~= 0, bit.band(want, WANT_WRITE) ~= 0
    local ev = (r and w and "rw") or (w and "w") or (r and "r") or nil
    if ev ~= c.poll_events then
        c.poll_events = ev
        if ev then
            c.poll:start(ev, c.on_poll)
        else
            c.poll:stop() -- backpressure or closing: the next step re-arms
        end
    end
    if st.state == CLOSING and not ev then
        -- closing with nothing to wait for on the socket: look again soon
        c.timer:start(10, 0, c.on_timer)
    end
end

function M.start_nvim(c)
    local uv = vim.uv or vim.loop
    c.timer = uv.new_timer()
    c.poll = false
    local function on_event()
        -- libuv's callbacks run in a fast context: only C work here;
        -- user callbacks go through vim.schedule
        M.step(c)
    end
    c.on_timer = on_event
    c.on_poll = on_event
    c.last_state = CONNECTING
    M.step(c)
    return c
end

return M
