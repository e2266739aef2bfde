-- client: what users call. A client owns one C engine (connections,
-- cookie jar, transfers) and its defaults; every request path goes
-- encode -> C -> decode, sync or through the engine.
local ffi = require("ffi")
local loader = require("ljhttp.loader")
local encode = require("ljhttp.encode")
local decode = require("ljhttp.decode")
local options = require("ljhttp.options")
local protect_mod = require("ljhttp.protect")
local OPTIONS = protect_mod.OPTIONS

local type, next, setmetatable = type, next, setmetatable
-- User tables are walked with next and read with rawget: a LuaJIT built
-- with Lua 5.2 compatibility honours __pairs and __len, which may raise
-- or show other content than the table holds.
local str_upper = string.upper
local encode_request, encode_release = encode.request, encode.release
local encode_mark, encode_unwind = encode.mark, encode.unwind
local decode_take_slot = decode.take_slot
local ffi_gc, RESPONSE_SLOT = ffi.gc, ffi.typeof("ljh_response *[1]")
local is_oom, REQUEST = protect_mod.is_oom, protect_mod.REQUEST

local M = {}

---A client: connections, an optional cookie jar and request defaults.
---get/post/put/patch/delete/head and their _async forms are made in
---loops below, so they are declared here. Every function also works
---with a dot (client.get(url), gluahttp style): each client binds them.
---@class ljhttp.Client
---@field defaults ljhttp.Options request defaults (the client options that are not client-only)
---@field host table the host driving async requests (host.name: "luajit", "nvim", "openresty")
---@field get fun(self: ljhttp.Client, url: string, options?: ljhttp.Options): ljhttp.Response?, string?, ljhttp.ErrorCode?
---@field post fun(self: ljhttp.Client, url: string, options?: ljhttp.Options): ljhttp.Response?, string?, ljhttp.ErrorCode?
---@field put fun(self: ljhttp.Client, url: string, options?: ljhttp.Options): ljhttp.Response?, string?, ljhttp.ErrorCode?
---@field patch fun(self: ljhttp.Client, url: string, options?: ljhttp.Options): ljhttp.Response?, string?, ljhttp.ErrorCode?
---@field delete fun(self: ljhttp.Client, url: string, options?: ljhttp.Options): ljhttp.Response?, string?, ljhttp.ErrorCode?
---@field head fun(self: ljhttp.Client, url: string, options?: ljhttp.Options): ljhttp.Response?, string?, ljhttp.ErrorCode?
---@field get_async fun(self: ljhttp.Client, url: string, options?: ljhttp.Options|ljhttp.Callback, callback?: ljhttp.Callback): ljhttp.Handle
---@field post_async fun(self: ljhttp.Client, url: string, options?: ljhttp.Options|ljhttp.Callback, callback?: ljhttp.Callback): ljhttp.Handle
---@field put_async fun(self: ljhttp.Client, url: string, options?: ljhttp.Options|ljhttp.Callback, callback?: ljhttp.Callback): ljhttp.Handle
---@field patch_async fun(self: ljhttp.Client, url: string, options?: ljhttp.Options|ljhttp.Callback, callback?: ljhttp.Callback): ljhttp.Handle
---@field delete_async fun(self: ljhttp.Client, url: string, options?: ljhttp.Options|ljhttp.Callback, callback?: ljhttp.Callback): ljhttp.Handle
---@field head_async fun(self: ljhttp.Client, url: string, options?: ljhttp.Options|ljhttp.Callback, callback?: ljhttp.Callback): ljhttp.Handle
local Client = {}
M.Client = Client

-- Methods come from Client. The engine (engine.lua, which drives async
-- requests) is made on its first use, not by M.new: a script making only
-- blocking requests never parses engine.lua.
function Client.__index(self, k)
    if k == "engine" then
        local e = protect_mod.require("ljhttp.engine").new(rawget(self, "C"), rawget(self, "cptr"),
            rawget(self, "host"))
        rawset(self, "engine", e)
        return e
    end
    return Client[k]
end

-- Options only a client takes; everything else is a request default.
local CLIENT_ONLY = { cookie_jar = true, max_connections = true, max_host_connections = true,
    host = true, backend = true }
local CLIENT_NAMES = options.client_names(CLIENT_ONLY)

local live = setmetatable({}, { __mode = "k" }) -- clients, for ljhttp.run()
M.live = live

local function host_for(name)
    if name == nil then
        if rawget(_G, "vim") and (vim.uv or vim.loop) then
            name = "nvim"
        elseif rawget(_G, "ngx") and type(ngx) == "table" and ngx.sleep then
            name = "openresty"
        else
            name = "luajit"
        end
    end
    if type(name) == "table" then
        return name
    end
    -- protect.require: a load that ran out of memory can be tried again
    -- (plain require would fail for good), and it raises on to the
    -- caller's protect as out_of_memory, not as an unknown host
    local ok, h = pcall(protect_mod.require, "ljhttp.hosts." .. tostring(name))
    if not ok then
        if is_oom(h) then
            error(h, 0)
        end
        return nil, "unknown host \"" .. tostring(name) .. "\": " .. tostring(h)
    end
    return h
end
M.host_for = host_for

local function bad(msg)
    return nil, msg, "invalid_argument"
end
M.bad = bad -- and M.closed: for client_async.lua

-- A cookie file is written at save_cookies()/close() by a rename in its
-- directory: a directory that is missing or not writable is refused now,
-- not at close(). nil when fine, else the message.
local function check_jar_path(path)
    if not pcall(function()
        return ffi.C.access
    end) then
        ffi.cdef("int access(const char *path, int mode);")
    end
    local dir = path:match("^(.*)/[^/]*$")
    if dir == nil then
        dir = "."
    elseif dir == "" then
        dir = "/"
    end
    if ffi.C.access(dir .. "/.", 0) ~= 0 then -- F_OK; "file/." fails too
        return "cookie_jar \"" .. path .. "\": the directory \"" .. dir
            .. "\" does not exist (create it, or give a path in an existing directory)"
    end
    if ffi.C.access(dir, 3) ~= 0 then -- W_OK | X_OK
        return "cookie_jar \"" .. path .. "\": the directory \"" .. dir
            .. "\" is not writable, so the jar could not be saved"
    end
    return nil
end

-- The client's public functions, bound to it: `client.get(url)` (as a
-- gluahttp script calls a module) and `client:get(url)` both work. A
-- first argument that is the client itself is the colon's self; no
-- method takes a client as its first real argument, so this cannot
-- misread a call. Fixed arities keep the calls free of varargs.
local BOUND = { "request", "get", "post", "put", "patch", "delete", "head", "request_async",
    "get_async", "post_async", "put_async", "patch_async", "delete_async", "head_async",
    "request_batch", "stream", "sse", "websocket", "run", "save_cookies", "close" }

local function bind_methods(self)
    for i = 1, #BOUND do
        local name = BOUND[i]
        local f = Client[name]
        self[name] = function(a, b, c, d, e)
            if rawequal(a, self) then
                return f(self, b, c, d, e)
            end
            return f(self, a, b, c, d)
        end
    end
end

local new

-- Reads the client's own options (through their metatables): the only
-- values of opts that new() reads.
local function read_options(opts)
    for k in next, CLIENT_ONLY do
        local _ = opts[k]
    end
end

--- Creates a client. opts: cookie_jar, max_connections,
--- max_host_connections, host, and any request option as a default.
--- Never raises: out of memory, options whose metatables raise, or any
--- other raise (internal) is nil, message, code, and a client C made is
--- not lost.
---@param opts? ljhttp.ClientOptions
---@return ljhttp.Client? client
---@return string? err
---@return ljhttp.ErrorCode? code
function M.new(opts)
    if type(opts) == "table" then -- a raise reading them is the options' (invalid_argument)
        local ok, msg, code = protect_mod.ok(protect_mod.CLIENT_OPTIONS, read_options, opts)
        if not ok then
            return nil, msg, code
        end
    end
    return protect_mod.call(protect_mod.CLIENT, new, opts) -- any later raise is ljhttp's (internal)
end

new = function(opts)
    if opts ~= nil and type(opts) ~= "table" then
        return bad("client options must be a table")
    end
    opts = opts or {}
    local umsg, ukey = options.unknown(opts, CLIENT_NAMES)
    if umsg then
        if options.request_names[ukey] then -- a callback (kind "async")
            umsg = ukey .. " is an option of one request_async call, not of a client"
        end
        return bad(umsg)
    end
    local C, lerr = loader.lib()
    if not C then
        return nil, lerr, "internal"
    end
    decode.init(C)
    local copts = ffi.new("ljh_client_options")
    local jar = opts.cookie_jar
    if jar ~= nil and type(jar) ~= "boolean" and type(jar) ~= "string" then
        return bad("cookie_jar must be true, false or a file path")
    end
    copts.cookie_jar = jar and 1 or 0
    if type(jar) == "string" then
        if jar == "" or jar:find("%z") then
            return bad("cookie_jar path must be a non-empty string without NUL")
        end
        local jerr = check_jar_path(jar)
        if jerr then
            return bad(jerr)
        end
        local buf = ffi.new("char[256]")
        if C.ljh_cookie_file_check(jar, buf, 256) ~= 0 then
            return bad(ffi.string(buf))
        end
        copts.cookie_file.ptr, copts.cookie_file.len = jar, #jar
    end
    for _, k in ipairs({ "max_connections", "max_host_connections" }) do
        local v = opts[k]
        if v ~= nil then
            if type(v) ~= "number" or v < 1 or v > 100000 or v % 1 ~= 0 then
                return bad(k .. " must be a whole number from 1 to 100000")
            end
            copts[k] = v
        end
    end
    local backend, from_env = opts.backend, false
    if backend == nil then -- the backend's name from LJHTTP_BACKEND, when set
        local env = os.getenv("LJHTTP_BACKEND")
        if env ~= nil and env ~= "" then
            backend, from_env = env, true
        end
    end
    if backend ~= nil then
        if type(backend) ~= "string" or backend == "" or backend:find("%z")
            or C.ljh_backend_available(backend) == 0 then
            return bad(protect_mod.require("ljhttp.engine").backend_refused(backend, from_env))
        end
        copts.backend.ptr, copts.backend.len = backend, #backend
    end
    local host, herr = host_for(opts.host)
    if not host then
        return bad(herr)
    end
    -- C puts the client in a slot of this call's, whose finalizer frees
    -- it if boxing the pointer or registering its own finalizer raises
    local slot = ffi.gc(ffi.new("ljh_client *[1]"), C.ljh_client_free_slot)
    if C.ljh_client_new_to(copts, slot) ~= 0 then
        ffi.gc(slot, nil)
        return nil, "could not create a client (out of memory or libcurl failed to start)", "internal"
    end
    local cptr = ffi.gc(slot[0], C.ljh_client_free)
    slot[0] = nil -- the client's own finalizer owns it now
    ffi.gc(slot, nil)
    local defaults = {}
    for k, v in next, opts do
        if not CLIENT_ONLY[k] then
            defaults[k] = v
        end
    end
    -- constants in the constructor, the values after (decode.lua's
    -- response says why); rslot: made by the first blocking request
    local self = setmetatable({ C = false, cptr = false, defaults = false, host = false,
        cookie_file = false, rslot = false }, Client)
    self.C, self.cptr, self.defaults, self.host = C, cptr, defaults, host
    self.cookie_file = type(jar) == "string" and jar or nil
    bind_methods(self)
    live[self] = true
    return self
end

local function closed()
    return nil, "the client is closed", "closed"
end
M.closed = closed

-- What a raise inside a blocking request becomes. The request it encoded,
-- if any, is released (encode.unwind: not one further out). The C
-- response, if there was one, is still its request's slot's, freed by the
-- slot's finalizer. Errors of neither kind (a callback's, re-raised by
-- wait()) raise as before.
local function request_failed(e, opts, mark)
    encode_unwind(mark)
    if is_oom(e) then
        return nil, REQUEST.oom_msg, "out_of_memory"
    end
    if type(opts) == "table" and getmetatable(opts) ~= nil then
        return protect_mod.failure(OPTIONS, e)
    end
    error(e, 0)
end

-- gluahttp's rule: a missing or non-string method or URL reports the
-- empty scheme, as Go's client does.
---@param method ljhttp.Method
---@param url string
---@param opts? ljhttp.Options
---@return ljhttp.Response? res
---@return string? err
---@return ljhttp.ErrorCode? code
function Client:request(method, url, opts)
    local cptr = self.cptr
    if cptr == nil then
        return closed()
    end
    -- One pcall per request, here at the entry and not around decode's
    -- loops (a trace started in a loop cannot return through a pcall):
    -- a string or table LuaJIT cannot make (options, response) is
    -- out_of_memory, and options with metamethods may raise.
    local mark = encode_mark()
    local ok, a, b, c = pcall(Client._request, self, method, url, opts)
    if not ok then
        return request_failed(a, opts, mark)
    end
    return a, b, c
end

-- A host may run blocking requests its own way (hosts/openresty.lua
-- yields instead of stalling the worker); its perform hook comes back
-- here with blocking = true for the plain C call.
function Client:_request(method, url, opts, blocking)
    if type(opts) == "table" and type(opts.body) == "function" then
        -- a body function is pulled by the engine: run it there and wait
        return self:request_async(method, url, opts):wait()
    end
    local perform = not blocking and self.host.perform
    if perform then
        return perform(self, method, url, opts)
    end
    -- Where C puts the response: the client's slot, whose finalizer is
    -- the safety net, so that a box LuaJIT fails to make (out of memory)
    -- cannot leak it. A slot that still holds a response is being
    -- decoded: a request made inside that one (a finalizer's, while it
    -- allocates) makes a slot of its own, which becomes the client's,
    -- and a slot a raise left full goes to the collector, whose finalizer
    -- frees its response. Chosen before the request is encoded: nothing
    -- allocates between the encoding and the C call, so no finalizer can
    -- reuse the scratch request in between. A request made inside the
    -- encoding finds the slot empty, and is done with it before this one
    -- goes on (ljh_client_perform_to frees what such a request's raise
    -- left there).
    local C = self.C
    local rslot = self.rslot
    if rslot == false or rslot[0] ~= nil then
        rslot = ffi_gc(RESPONSE_SLOT(), C.ljh_response_free_slot)
        self.rslot = rslot
    end
    local req, msg, code = encode_request(method, url, opts, self.defaults, 0)
    if not req then
        encode_release()
        return nil, msg, code
    end
    if C.ljh_client_perform_to(self.cptr, req, rslot) ~= 0 then
        encode_release()
        return nil, "out of memory", "out_of_memory"
    end
    encode_release()
    -- Empties the slot (its finalizer stays: the slot is the client's)
    local res, err, ecode = decode_take_slot(C, rslot, false)
    local e = rawget(self, "engine") -- none yet: no async request was made
    if e ~= nil and e.n_pending > 0 then
        -- other transfers may have finished while this one ran
        e.host.kick(e)
    end
    return res, err, ecode
end

-- Straight to Client.request: self:request would go through the bound
-- closure (bind_methods) a second time.
local client_request = Client.request
for _, m in ipairs({ "get", "post", "put", "patch", "delete", "head" }) do
    local M_ = str_upper(m)
    Client[m] = function(self, url, opts)
        return client_request(self, M_, url, opts)
    end
end

-- ---- non-blocking ----

-- request_async, request_batch and _request_batch are in
-- client_async.lua, loaded on the first call of one of them (start-up
-- parses only what blocking requests use); it then puts the real ones in
-- Client. Clients made before keep these in their bound functions
-- (bind_methods), and each call goes on to the real one.
local async_loaded = false
local function async_method(name)
    return function(self, a, b, c, d)
        if not async_loaded then
            protect_mod.require("ljhttp.client_async")
            async_loaded = true
        end
        return Client[name](self, a, b, c, d)
    end
end
Client.request_async = async_method("request_async")
Client.request_batch = async_method("request_batch")
Client._request_batch = async_method("_request_batch")

for _, m in ipairs({ "get", "post", "put", "patch", "delete", "head" }) do
    local M_ = str_upper(m)
    Client[m .. "_async"] = function(self, url, opts, callback)
        return self:request_async(M_, url, opts, callback)
    end
end

-- The streaming kinds load on first use: module name's open(...), or
-- nil, message, code when the module cannot load (out of memory).
local function open_with(name, ...)
    local mod, err, code = protect_mod.load(name)
    if not mod then
        return nil, err, code
    end
    return mod.open(...)
end

--- A streamed request: the stream once status and headers are in, or
--- nil, message, code (stream.lua, docs/bodies.md).
---@param method ljhttp.Method
---@param url string
---@param opts? ljhttp.Options
---@return ljhttp.Stream? stream
---@return string? err
---@return ljhttp.ErrorCode? code
function Client:stream(method, url, opts)
    return open_with("ljhttp.stream", self, method, url, opts)
end

--- Server-sent events: an iterator of {event, data, id, retry}, or nil,
--- message, code (stream.lua, docs/bodies.md).
---@param url string
---@param opts? ljhttp.Options
---@return ljhttp.Events? events
---@return string? err
---@return ljhttp.ErrorCode? code
function Client:sse(url, opts)
    return open_with("ljhttp.sse_stream", self, url, opts)
end

--- A WebSocket (ws:// or wss://) with this client's cookies and
--- defaults: the connection once the handshake succeeded, or nil,
--- message, code, response (ws.lua, docs/websocket.md).
---@param url string
---@param opts? ljhttp.WebSocketOptions
---@return ljhttp.WebSocket? conn
---@return string? err
---@return ljhttp.ErrorCode? code
---@return ljhttp.Response? response the refusal, when the server answered
function Client:websocket(url, opts)
    return open_with("ljhttp.ws", self, url, opts)
end

--- Drives this client's transfers until none is left (plain LuaJIT).
--- Raises (once) an error a callback raised that no wait() raised yet.
---@param timeout? number seconds
---@return boolean all_finished
function Client:run(timeout)
    local all = true
    if rawget(self, "engine") == nil then
        return true -- no async request was made: nothing to run (no engine made)
    end
    if self.cptr == nil then
        if self.host.flush then
            self.host.flush(self.engine) -- callbacks of requests made after close
        end
    else
        all = self.host.run(self.engine, timeout)
    end
    self.engine:reraise()
    return all
end

-- ---- lifetime ----

--- Writes the cookie jar to its file (cookie_jar = "path") atomically.
--- Returns true, or nil, message, code.
---@return true|nil ok
---@return string? err
---@return ljhttp.ErrorCode? code
function Client:save_cookies()
    if self.cptr == nil then
        return closed()
    end
    if not self.cookie_file then
        return bad("this client has no cookie file (cookie_jar = \"path\")")
    end
    local buf = ffi.new("char[256]")
    local rc = self.C.ljh_client_save_cookies(self.cptr, buf, 256)
    if rc ~= 0 then
        return nil, ffi.string(buf), decode.error_word(rc)
    end
    return true
end

--- Ends every transfer (their callbacks get "closed"), saves the cookie
--- file if there is one, and frees the client's connections; later calls
--- return nil, msg, "closed". Returns true, or nil, message, code when
--- the cookie file could not be written (the client is closed anyway).
---@return true|nil ok
---@return string? err
---@return ljhttp.ErrorCode? code
function Client:close()
    local cptr = self.cptr
    if cptr == nil then
        return true
    end
    local saved, serr, scode = true, nil, nil
    if self.cookie_file then
        saved, serr, scode = self:save_cookies()
    end
    local e = rawget(self, "engine") -- nil: no async request was made
    if e ~= nil and e.host.before_free then -- stop watching sockets C is about to close
        e.host.before_free(e)
    end
    self.cptr = nil
    if e ~= nil then
        e.cptr = nil
    end
    self.C.ljh_client_free(ffi.gc(cptr, nil))
    if e ~= nil then
        for _, h in next, e.pending do
            h:_ready()
        end
        if e.host.flush then
            e.host.flush(e)
        end
    end
    live[self] = nil
    if not saved then
        return nil, serr, scode
    end
    return true
end

return M
