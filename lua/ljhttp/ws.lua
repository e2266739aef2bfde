-- ws: WebSocket connections (client:websocket, http.websocket).
--
-- C (ws.c) does the handshake and keeps frames: complete messages wait
-- there until take() copies them out, and sends wait there until the
-- socket takes them. Lua only drives ljh_ws_run when the socket is ready:
--   plain LuaJIT   receive() waits inside ljh_ws_run (poll on the socket);
--   OpenResty      receive() yields until the socket is ready, told by
--                  the relay thread (hosts/openresty.lua wait_fd; ngx.sleep
--                  while libcurl connects or without a relay), so the
--                  worker keeps serving; only the coroutine that called it
--                  ever sees the bytes (no callbacks there);
--   Neovim         on_message/on_close callbacks, driven by a libuv poll
--                  handle on the socket (a timer during the handshake) and
--                  delivered with vim.schedule (ws_nvim.lua); receive()
--                  runs the editor's loop (vim.wait) like a sync stream.
local ffi = require("ffi")
local encode = require("ljhttp.encode")
local decode = require("ljhttp.decode")
local protect = require("ljhttp.protect")

-- The WebSocket declarations are a section of their own (cdef_ws.lua),
-- declared here: a process that opens no WebSocket never parses them.
require("ljhttp.loader").declare("ws")

local type, next, tostring, setmetatable = type, next, tostring, setmetatable
local ffi_str = ffi.string
local settle, raise_unless_oom = protect.settle, protect.raise_unless_oom

local M = {}
local Conn = {}
Conn.__index = Conn
M.Conn = Conn

-- Kinds, states and readiness bits from the declarations (cdef/ljhttp.h).
local K = ffi.C
local KINDS = { text = tonumber(K.LJH_WS_TEXT), binary = tonumber(K.LJH_WS_BINARY),
    ping = tonumber(K.LJH_WS_PING), pong = tonumber(K.LJH_WS_PONG) }
local KIND_NAMES = {}
for name, k in pairs(KINDS) do
    KIND_NAMES[k] = name
end
local CONNECTING, OPEN, CLOSING, CLOSED = tonumber(K.LJH_WS_CONNECTING), tonumber(K.LJH_WS_OPEN),
    tonumber(K.LJH_WS_CLOSING), tonumber(K.LJH_WS_CLOSED)
local STATES = { [CONNECTING] = "connecting", [OPEN] = "open", [CLOSING] = "closing", [CLOSED] = "closed" }
local WANT_READ, WANT_WRITE = tonumber(K.LJH_WS_WANT_READ), tonumber(K.LJH_WS_WANT_WRITE)

-- Options of a websocket that are not request options.
local WS_KEYS = { max_message_size = true, on_open = true, on_message = true, on_close = true }
-- Request options that make no sense for a WebSocket.
local NO_KEYS = { body = true, form = true, multipart = true, body_file = true, output = true,
    on_chunk = true, on_event = true, json = true, decompress = true }

local state_box = ffi.typeof("ljh_ws_state[1]")
local WS_SLOT = ffi.typeof("ljh_ws *[1]")
local take_ptr = ffi.new("const char *[1]")
local take_len = ffi.new("size_t[1]")
local take_kind = ffi.new("int32_t[1]")

local function bad(msg)
    return nil, msg, "invalid_argument"
end

-- Splits opts (raw iteration: no metamethod runs) into request options
-- and WebSocket ones.
local function split(opts)
    if opts == nil then
        return {}, {}
    end
    if type(opts) ~= "table" then
        return nil, "options must be a table"
    end
    local req, ws = {}, {}
    local k, v = next(opts)
    while k ~= nil do
        if WS_KEYS[k] then
            ws[k] = v
        elseif NO_KEYS[k] then
            return nil, "option " .. tostring(k) .. " does not apply to a WebSocket"
        else
            req[k] = v
        end
        k, v = next(opts, k)
    end
    for _, cb in ipairs({ "on_open", "on_message", "on_close" }) do
        if ws[cb] ~= nil and type(ws[cb]) ~= "function" then
            return nil, cb .. " must be a function"
        end
    end
    local mm = ws.max_message_size
    if mm ~= nil and (type(mm) ~= "number" or mm ~= mm or mm % 1 ~= 0) then
        return nil, "max_message_size must be a whole number of bytes (negative: no limit)"
    end
    return req, ws
end

local function or_host()
    return protect.require("ljhttp.hosts.openresty")
end

-- The callback form (Neovim only), loaded with its first connection.
local function nvim()
    return protect.require("ljhttp.ws_nvim")
end

local function host_kind()
    if ngx and ngx.get_phase then
        -- the OpenResty host's own test of whether this coroutine may yield
        if or_host().yieldable() then
            return "openresty"
        end
        return "luajit" -- init, log, filters: waiting blocks, as there
    end
    if vim and vim.schedule and (vim.uv or vim.loop) then
        return "nvim"
    end
    return "luajit"
end

-- Runs the connection once (waiting up to wait_ms in C); returns the state.
local function run(c, wait_ms)
    local st = c.st
    c.C.ljh_ws_run(c.ws, wait_ms, st)
    return st[0]
end

local C_ -- the library, once a connection was made
local function word(code)
    return ffi_str(C_.ljh_error_name(code))
end

local function fail_of(st)
    local msg = ffi_str(st.errmsg)
    return msg ~= "" and msg or "the WebSocket connection is closed", word(st.error)
end

-- A handshake the server answered with another status than 101 is
-- http_status, with that response, as for streams (decode.lua).
local function refusal(code, res)
    if res and res.status_code ~= 101 and code == "protocol" then
        return "http_status"
    end
    return code
end

-- The next message already in C, copied once: data, kind; or nil.
local function take(c)
    if c.C.ljh_ws_take(c.ws, take_ptr, take_len, take_kind) == 0 then
        return nil
    end
    return ffi_str(take_ptr[0], take_len[0]), KIND_NAMES[take_kind[0]] or "binary"
end

local function release(c)
    local ws = c.ws
    if ws ~= nil then
        c.ws = nil
        c.C.ljh_ws_free(ffi.gc(ws, nil))
    end
    if c.relay then
        or_host().wait_fd_end(c)
    end
    -- Keys are cleared only where set: LuaJIT makes a key even to store
    -- nil in it, which may grow the table, and this runs when memory has
    -- run out (failed).
    local p, t = c.poll, c.timer
    if p then
        c.poll = nil
        p:stop()
        p:close()
    end
    if t then
        c.timer = nil
        t:stop()
        t:close()
    end
end

-- One wait for news on c, as this host waits, bounded by deadline (ms
-- on ljh_now_ms's clock, nil: none); false once the deadline has passed.
local function wait_step(c, deadline)
    local st = c.st[0]
    local now = tonumber(c.C.ljh_now_ms())
    if deadline and now >= deadline then
        return false
    end
    local left = deadline and (deadline - now) or 1000
    if left > 1000 then
        left = 1000
    end
    local kind = c.kind
    if kind == "luajit" then
        -- the handshake's own timer, or the socket, bounds the wait in C
        local w = st.state == CONNECTING and (st.timeout_ms > 0 and st.timeout_ms or 1) or left
        run(c, w < left and w or left)
    elseif kind == "openresty" then
        run(c, 0)
        if st.queued == 0 and st.state ~= CLOSED then
            -- the socket's readiness through the relay; while libcurl
            -- connects (no socket yet), or without a relay: a sleep
            local w = st.timeout_ms > 0 and st.timeout_ms < left and st.timeout_ms or left
            if not or_host().wait_fd(c.C, c, tonumber(st.fd), st.want, w) then
                ngx.sleep(c.step)
                c.step = c.step < 0.008 and c.step * 2 or c.step
            end
        else
            c.step = 0.001
        end
    else
        local s0 = st.state
        vim.wait(left, function()
            run(c, 0)
            return st.queued > 0 or st.state ~= s0
        end, 2)
    end
    return true
end

-- The handshake's outcome: c (open, or already closing), or nil,
-- message, code, response (the server's answer when it refused).
local function handshake(c)
    local st = c.st[0]
    -- read where the connection keeps it (freed with it): a pointer
    -- handed over would leak if LuaJIT failed to box it
    local resp = c.C.ljh_ws_response_ref(c.ws)
    local res = resp ~= nil and decode.read(resp, true) or nil
    if st.state ~= OPEN and st.state ~= CLOSING then
        local msg, code = fail_of(st)
        return nil, msg, refusal(code, res), res
    end
    c.response = res
    return c
end

-- Out of Lua memory in a call on c (e, raised): the connection ends and
-- its C side is freed; the call returns nil, message, "out_of_memory".
-- Any other raise (an interrupt, a bug) propagates and leaves c as it
-- was (protect.raise_unless_oom). Allocates nothing.
local function failed(c, e)
    raise_unless_oom(e)
    if c then
        release(c)
    end
    return nil, protect.REQUEST.oom_msg, "out_of_memory"
end

local open

-- open raised (e): the request it encoded, if any, is released (and no
-- request further out: see encode.unwind), then as failed.
local function open_failed(mark, e)
    encode.unwind(mark)
    return failed(nil, e)
end

--- Opens a WebSocket on client (cookies, defaults and TLS settings of
--- the client apply to the handshake).
function M.open(client, url, opts)
    -- a connection C made that Lua could not box and hold (out of
    -- memory) is its slot's finalizer's; one held already is its own
    local mark = encode.mark() -- before open's request, not after it
    return settle(open_failed, mark, pcall(open, client, url, opts))
end

open = function(client, url, opts)
    if client.cptr == nil then
        return nil, "the client is closed", "closed"
    end
    if type(url) ~= "string" then
        return bad("url must be a string, got " .. type(url))
    end
    local ropts, wopts, scode = protect.call(protect.OPTIONS, split, opts)
    if not ropts then
        return nil, wopts, scode or "invalid_argument"
    end
    local C = client.C
    C_ = C
    -- one slot per open, its finalizer the safety net: an open made
    -- inside this one (a finalizer's, while this one boxes) has its own
    local slot = ffi.gc(WS_SLOT(), C.ljh_ws_free_slot)
    -- protect may turn a raise inside encode.request into a value: what
    -- the request holds is released to the depth before it (encode.unwind)
    local mark = encode.mark()
    local req, msg, code = protect.call(protect.OPTIONS, encode.request, "GET", url, ropts,
        client.defaults, 0)
    if not req then
        encode.unwind(mark)
        return nil, msg, code
    end
    local rc = C.ljh_ws_open_to(client.cptr, req, wopts.max_message_size or 0, slot)
    encode.unwind(mark)
    if rc ~= 0 then
        return nil, "out of memory", "out_of_memory"
    end
    -- boxing the pointer and registering its finalizer may raise (out of
    -- memory): until both are done the slot owns the connection
    local ws = ffi.gc(slot[0], C.ljh_ws_free)
    slot[0] = nil
    ffi.gc(slot, nil) -- empty: no finalizer left waiting for the collector
    local c = setmetatable({ C = C, ws = ws, st = state_box(), client = client, kind = host_kind(), step = 0.001,
        on_open = wopts.on_open, on_message = wopts.on_message, on_close = wopts.on_close }, Conn)
    if c.on_message or c.on_close or c.on_open then
        if c.kind ~= "nvim" then
            release(c)
            return bad("on_open, on_message and on_close run on Neovim's loop; elsewhere read "
                .. "messages with receive() or messages()")
        end
        local loaded, mod = pcall(nvim)
        if not loaded then -- (out of memory) the connection goes now
            release(c)
            error(mod, 0)
        end
        return mod.start_nvim(c)
    end
    -- the handshake, waited for as this host waits; libcurl's connect,
    -- idle and total timeouts end it
    local st = c.st[0]
    run(c, 0)
    while st.state == CONNECTING do
        wait_step(c, nil)
    end
    local conn, msg, code, res = handshake(c)
    if not conn then
        release(c)
        if res then
            return nil, msg, code, res
        end
        return nil, msg, code
    end
    return conn
end

--- "connecting", "open", "closing" or "closed".
function Conn:state()
    if self.ws == nil then
        return "closed"
    end
    return STATES[self.st[0].state]
end

--- Bytes given to send() that the socket has not taken yet.
function Conn:buffered()
    return self.ws and tonumber(self.st[0].buffered) or 0
end

local send, receive

--- Queues a message: kind "text" (default), "binary", "ping" or "pong".
--- Out of Lua memory is nil, message, "out_of_memory", the connection
--- then closed (as for receive).
function Conn:send(data, kind)
    return settle(failed, self, pcall(send, self, data, kind))
end

send = function(self, data, kind)
    if self.ws == nil then
        return nil, "the WebSocket connection is closed", "closed"
    end
    if type(data) ~= "string" then
        return bad("data must be a string, got " .. type(data))
    end
    local k = KINDS[kind or "text"]
    if not k then
        return bad("kind must be \"text\", \"binary\", \"ping\" or \"pong\"")
    end
    local rc = self.C.ljh_ws_send(self.ws, data, #data, k)
    if rc ~= 0 then
        local code = word(rc)
        local st = self.st[0]
        if code == "closed" and st.error ~= 0 then
            return nil, fail_of(st)
        end
        return nil, code == "invalid_argument" and "a ping or pong carries at most 125 bytes"
            or "the WebSocket connection is closing or closed", code
    end
    if self.timer then
        nvim().step(self) -- a run may change the state: the callback form sees every change
    else
        run(self, 0) -- most messages leave at once
    end
    return true
end

--- The next message: data, kind ("text", "binary" or "pong"); or nil,
--- message, code: "timeout" when none came in time (the connection stays
--- open), "closed" once closed (close_code and close_reason say how),
--- "out_of_memory" when Lua could not make the message (the connection
--- is then closed: the message is lost).
function Conn:receive(timeout)
    return settle(failed, self, pcall(receive, self, timeout))
end

receive = function(self, timeout)
    if self.ws == nil then
        return nil, "the WebSocket connection is closed", "closed"
    end
    local data, kind = take(self)
    if data then
        return data, kind
    end
    local deadline
    if timeout ~= nil then
        if type(timeout) ~= "number" or timeout < 0 then
            return bad("timeout must be a number of seconds")
        end
        deadline = tonumber(self.C.ljh_now_ms()) + timeout * 1000
    end
    local st = self.st[0]
    while true do
        run(self, 0)
        data, kind = take(self)
        if data then
            return data, kind
        end
        if st.error ~= 0 and st.queued == 0 then
            -- a failure is final; the messages before it were delivered
            self.close_code = st.close_code
            self.close_reason = ffi_str(st.close_reason)
            return nil, fail_of(st)
        end
        if st.state == CLOSED then
            self.close_code = st.close_code
            self.close_reason = ffi_str(st.close_reason)
            if st.error ~= 0 then
                return nil, fail_of(st)
            end
            return nil, "the WebSocket connection was closed (" .. st.close_code .. ")", "closed"
        end
        if not wait_step(self, deadline) then
            return nil, "no WebSocket message within " .. timeout .. " s", "timeout"
        end
    end
end

--- Iterates over messages until the connection closes (or timeout
--- seconds pass without one): for data, kind in conn:messages() do ... end
function Conn:messages(timeout)
    return function()
        local data, kind = self:receive(timeout)
        if data then
            return data, kind
        end
        return nil
    end
end

--- Closes: sends a close frame (code 1000 unless given, reason optional)
--- and waits up to wait seconds (default 1) for the peer's. Returns the
--- peer's close code and reason.
function Conn:close(code, reason, wait)
    if self.ws == nil then
        return self.close_code, self.close_reason
    end
    code = code or 1000
    reason = reason or ""
    if type(code) ~= "number" or type(reason) ~= "string" then
        return bad("close(code, reason): a number and a string")
    end
    local rc = self.C.ljh_ws_close(self.ws, code, reason, #reason)
    if rc ~= 0 then
        return bad("close code must be 1000-4999 (not 1004-1006, 1015), reason at most 123 bytes")
    end
    local st = self.st[0]
    if not self.timer then
        local deadline = tonumber(self.C.ljh_now_ms()) + (wait or 1) * 1000
        run(self, 0)
        while st.state ~= CLOSED and wait_step(self, deadline) do
            while take(self) do end -- what came before the close is dropped
        end
        self.close_code = st.close_code
        self.close_reason = ffi_str(st.close_reason)
        release(self)
    else
        -- the peer's answer may come in this very run: step() delivers on_close then
        nvim().step(self)
    end
    return self.close_code, self.close_reason
end

-- Internals for ws_nvim.lua, the Neovim callback driver.
M.run, M.take, M.release, M.handshake, M.fail_of = run, take, release, handshake, fail_of
M.CONNECTING, M.CLOSING, M.CLOSED = CONNECTING, CLOSING, CLOSED
M.WANT_READ, M.WANT_WRITE = WANT_READ, WANT_WRITE

return M
