-- client: what users call. A client owns one C engine (connections,
-- cookie jar, transfers) and its defaults; every request path goes
-- encode -> C -> decode, sync or through the engine.
local ffi = require("ffi")
local loader = require("ljhttp.loader")
local encode = require("ljhttp.encode")
local decode = require("ljhttp.decode")
local engine_mod = require("ljhttp.engine")
local options = require("ljhttp.options")
local protect_mod = require("ljhttp.protect")
local protect, protect_ok = protect_mod.call, protect_mod.ok
local OPTIONS, BATCH = protect_mod.OPTIONS, protect_mod.BATCH

local type, next, setmetatable = type, next, setmetatable
-- User tables are walked with next and read with rawget: a LuaJIT built
-- with Lua 5.2 compatibility honours __pairs and __len, which may raise
-- or show other content than the table holds.
local str_upper = string.upper
local encode_request, encode_release = encode.request, encode.release
local decode_take = decode.take
local is_oom, REQUEST = protect_mod.is_oom, protect_mod.REQUEST
local new_table = protect_mod.new_table

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
Client.__index = Client
M.Client = Client

local DEFAULT_CONCURRENCY = 16
local MAX_BATCH = 100000

-- Options only a client takes; everything else is a request default.
local CLIENT_ONLY = { cookie_jar = true, max_connections = true, max_host_connections = true,
    host = true, backend = true }
local CLIENT_NAMES = options.client_names(CLIENT_ONLY)
local BATCH_NAMES = { concurrency = true }

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
    local ok, h = pcall(require, "ljhttp.hosts." .. tostring(name))
    if not ok then
        return nil, "unknown host \"" .. tostring(name) .. "\": " .. tostring(h)
    end
    return h
end
M.host_for = host_for

local function bad(msg)
    return nil, msg, "invalid_argument"
end

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

--- Creates a client. opts: cookie_jar, max_connections,
--- max_host_connections, host, and any request option as a default.
---@param opts? ljhttp.ClientOptions
---@return ljhttp.Client? client
---@return string? err
---@return ljhttp.ErrorCode? code
function M.new(opts)
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
    if backend == nil then -- engine.lua: the backend's name (or LJHTTP_BACKEND)
        backend, from_env = engine_mod.default_backend()
    end
    if backend ~= nil then
        if type(backend) ~= "string" or backend == "" or backend:find("%z")
            or C.ljh_backend_available(backend) == 0 then
            return bad(engine_mod.backend_refused(backend, from_env))
        end
        copts.backend.ptr, copts.backend.len = backend, #backend
    end
    local host, herr = host_for(opts.host)
    if not host then
        return bad(herr)
    end
    local cptr = C.ljh_client_new(copts)
    if cptr == nil then
        return nil, "could not create a client (out of memory or libcurl failed to start)", "internal"
    end
    cptr = ffi.gc(cptr, C.ljh_client_free)
    local defaults = {}
    for k, v in next, opts do
        if not CLIENT_ONLY[k] then
            defaults[k] = v
        end
    end
    local self = setmetatable({
        C = C,
        cptr = cptr,
        defaults = defaults,
        engine = engine_mod.new(C, cptr, host),
        host = host,
        cookie_file = type(jar) == "string" and jar or nil,
    }, Client)
    bind_methods(self)
    live[self] = true
    return self
end

local function closed()
    return nil, "the client is closed", "closed"
end

-- What a raise inside a blocking request becomes. The C response, if
-- there was one, is freed by its ffi.gc (decode.take). Errors of neither
-- kind (a callback's, re-raised by wait()) raise as before.
local function request_failed(e, opts)
    encode_release()
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
    local ok, a, b, c = pcall(self._request, self, method, url, opts)
    if not ok then
        return request_failed(a, opts)
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
    local req, msg, code = encode_request(method, url, opts, self.defaults, 0)
    if not req then
        encode_release()
        return nil, msg, code
    end
    local r = self.C.ljh_client_perform(self.cptr, req)
    encode_release()
    local res, err, ecode = decode_take(r, false)
    if self.engine.n_pending > 0 then
        -- other transfers may have finished while this one ran
        self.engine.host.kick(self.engine)
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

local function read_callbacks(o)
    return o.on_chunk, o.on_event, o.on_line, o.lines, o.body, o.on_progress, o.progress_interval
end

local DEFAULT_PROGRESS_MS = 100

-- progress_interval: seconds or a Go duration string, as other durations
-- (parsed in Lua: it never reaches C).
local function progress_ms(_, v)
    if v == nil then
        return DEFAULT_PROGRESS_MS
    end
    local ms, err = options.duration_ms(v)
    if not ms then
        return nil, "progress_interval: " .. err
    end
    return ms
end

local start_async

--- Starts a request; callback(response, err, code) runs exactly once.
---@param method ljhttp.Method
---@param url string
---@param opts? ljhttp.Options|ljhttp.Callback
---@param callback? ljhttp.Callback
---@return ljhttp.Handle
function Client:request_async(method, url, opts, callback)
    if type(opts) == "function" and callback == nil then
        opts, callback = nil, opts
    end
    if callback ~= nil and type(callback) ~= "function" then
        error("ljhttp: callback must be a function", 2)
    end
    local on_chunk, on_event, on_line, line_format, body, on_progress, interval
    if type(opts) == "table" then
        if getmetatable(opts) ~= nil then
            -- options with metamethods may raise: the callback gets the error
            local ok, a, b, c, d, f, g, i = protect_ok(OPTIONS, read_callbacks, opts)
            if not ok then
                local h = engine_mod.handle(callback, nil, false)
                h.engine = self.engine
                h:_finish(nil, a, b)
                return h
            end
            on_chunk, on_event, on_line, line_format, body, on_progress, interval = a, b, c, d, f, g, i
        else
            on_chunk, on_event, on_line, line_format, body, on_progress, interval = read_callbacks(opts)
        end
    end
    if on_progress ~= nil and type(on_progress) ~= "function" then
        error("ljhttp: on_progress must be a function", 2)
    end
    if on_chunk ~= nil and type(on_chunk) ~= "function" then
        error("ljhttp: on_chunk must be a function", 2)
    end
    if on_event ~= nil then
        if type(on_event) ~= "function" then
            error("ljhttp: on_event must be a function", 2)
        end
        -- server-sent events, parsed from the chunks (sse.lua)
        on_chunk = require("ljhttp.sse").chunk_handler(on_event, on_chunk)
    end
    if on_line ~= nil then
        if type(on_line) ~= "function" then
            error("ljhttp: on_line must be a function", 2)
        end
        -- lines (lines.lua) split from the chunks; the last one, if it has
        -- no line end, reaches on_line just before the callback
        local lines = require("ljhttp.lines")
        if not lines.format(line_format) then
            error("ljhttp: lines must be \"json\" or \"text\"", 2)
        end
        local finish
        on_chunk, finish = lines.chunk_handler(on_line, line_format, on_chunk)
        local user_cb = callback
        callback = function(res, err, code, answer)
            if res then
                finish()
            end
            if user_cb then
                if answer ~= nil then
                    return user_cb(res, err, code, answer)
                end
                return user_cb(res, err, code)
            end
        end
    elseif line_format ~= nil then
        error("ljhttp: lines goes with on_line", 2)
    end
    -- out of memory from here on ends the handle (engine.lua), and a
    -- handle the engine had made in advance stands in when even this
    -- one cannot be made
    local h = engine_mod.user_handle(self.engine, callback, on_chunk)
    if h.starved then
        return h
    end
    local ok, err = pcall(start_async, self, h, method, url, opts, on_chunk, on_event, body, on_progress,
        interval)
    if not ok then
        encode_release()
        if not is_oom(err) then
            error(err, 0)
        end
        h:_abort(err)
    end
    return h
end

start_async = function(self, h, method, url, opts, on_chunk, on_event, body, on_progress, interval)
    local e = self.engine
    if on_chunk then -- named in an http_status message
        h.method, h.what = method, on_event and "the event stream" or "the server"
    end
    if type(body) == "function" then -- pulled piece by piece (engine.lua)
        h.body_fn = body
    end
    if self.cptr == nil then
        h:_finish(closed())
        return h
    end
    if on_progress then
        local ms, perr = progress_ms(self.C, interval == nil and self.defaults.progress_interval or interval)
        if not ms then
            h:_finish(bad(perr))
            return h
        end
        h.on_progress, h.progress_ms = on_progress, ms
    end
    local req, msg, code = protect(OPTIONS, encode_request, method, url, opts, self.defaults,
        on_chunk and encode.F_STREAM or 0, true)
    if not req then
        encode_release()
        h:_finish(nil, msg, code)
        return h
    end
    e:submit(req, h)
    encode_release()
end

for _, m in ipairs({ "get", "post", "put", "patch", "delete", "head" }) do
    local M_ = str_upper(m)
    Client[m .. "_async"] = function(self, url, opts, callback)
        return self:request_async(M_, url, opts, callback)
    end
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
    return require("ljhttp.stream").open(self, method, url, opts)
end

--- Server-sent events: an iterator of {event, data, id, retry}, or nil,
--- message, code (stream.lua, docs/bodies.md).
---@param url string
---@param opts? ljhttp.Options
---@return ljhttp.Events? events
---@return string? err
---@return ljhttp.ErrorCode? code
function Client:sse(url, opts)
    return require("ljhttp.stream").sse(self, url, opts)
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
    return require("ljhttp.ws").open(self, url, opts)
end

--- Drives this client's transfers until none is left (plain LuaJIT).
--- Raises (once) an error a callback raised that no wait() raised yet.
---@param timeout? number seconds
---@return boolean all_finished
function Client:run(timeout)
    local all = true
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

-- ---- batches ----

-- metamethods may raise, and LuaJIT may run out of memory before any
-- item started: keep the no-raise promise (all results kept: responses
-- alone when every item succeeded)
local function batch_result(requests, bopts, ok, ...)
    if ok then
        return ...
    end
    local e = ...
    if is_oom(e) or getmetatable(requests) ~= nil or (type(bopts) == "table" and getmetatable(bopts) ~= nil) then
        return protect_mod.failure(BATCH, e)
    end
    error(e, 0)
end

--- gluahttp's request_batch: returns responses, or responses, errors,
--- codes (codes[i], the error code of errors[i]).
---@param requests ljhttp.BatchItem[]
---@param bopts? ljhttp.BatchOptions
---@return ljhttp.Response[]? responses
---@return (string|table<integer, string>)? errors errors[i] for each failed item (or a message)
---@return (ljhttp.ErrorCode|table<integer, ljhttp.ErrorCode>)? codes codes[i] for each errors[i] (or the code when the batch itself was refused)
function Client:request_batch(requests, bopts)
    return batch_result(requests, bopts, pcall(self._request_batch, self, requests, bopts))
end

function Client:_request_batch(requests, bopts)
    if type(requests) ~= "table" then
        return bad("requests must be a table")
    end
    if self.cptr == nil then
        return closed()
    end
    local conc = DEFAULT_CONCURRENCY
    if bopts ~= nil then
        if type(bopts) ~= "table" then
            return bad("batch options must be a table")
        end
        local umsg = options.unknown(bopts, BATCH_NAMES)
        if umsg then
            return bad(umsg)
        end
        if bopts.concurrency ~= nil then
            conc = bopts.concurrency
            if type(conc) ~= "number" or conc < 1 or conc > 10000 or conc % 1 ~= 0 then
                return bad("concurrency must be a whole number from 1 to 10000")
            end
        end
    end
    local n = 0
    for k in next, requests do
        if type(k) == "number" and k > n and k % 1 == 0 then
            n = k
        end
    end
    if n > MAX_BATCH then
        return bad("a batch may hold at most " .. MAX_BATCH .. " requests")
    end
    -- sized for every item (LuaJIT counts index 0): settling one allocates
    -- nothing (out of memory)
    local responses, errors, codes, n_err = new_table(n + 1, 0), new_table(n + 1, 0), new_table(n + 1, 0), 0
    local e = self.engine
    local active, i = 0, 1
    -- One settle function per batch (a closure per item would keep the
    -- loop out of the JIT); the handle carries its index.
    local function settle(h, res, err, code)
        active = active - 1
        if res then
            responses[h.index] = res
        else
            errors[h.index], codes[h.index] = err, code
            n_err = n_err + 1
        end
    end
    local defaults = self.defaults
    -- The wait's predicate, made once: a closure made in the loop would
    -- keep the loop out of the JIT (NYI: FNEW/UCLO).
    local before
    local function progressed()
        return active < before or e.n_pending == 0
    end
    -- The loop runs under one pcall for the whole batch (per item, it
    -- would stop traces in encode). Its state is in upvalues, so after
    -- a raise it goes on where it was.
    local starting = false -- item i is being encoded and started
    local started = false -- its handle, once counted in active
    local function run()
        while true do
            while i <= n and active < conc do
                starting = true
                local item = requests[i]
                if type(item) ~= "table" then
                    errors[i], codes[i] = "Request must be a table", "invalid_argument"
                    n_err = n_err + 1
                else
                    local req, msg, code
                    local o = item[3]
                    if getmetatable(item) ~= nil or (type(o) == "table" and getmetatable(o) ~= nil) then
                        -- metamethods may raise: keep the no-raise promise
                        req, msg, code = protect(OPTIONS, encode_request, item[1], item[2], o, defaults, 0)
                    else
                        req, msg, code = encode_request(item[1], item[2], o, defaults, 0)
                    end
                    if not req then
                        errors[i], codes[i] = msg, code
                        n_err = n_err + 1
                    else
                        local h = engine_mod.handle(nil, nil, true)
                        h.index, h.settle = i, settle
                        active = active + 1
                        started = h
                        e:submit(req, h) -- out of memory: h ends (below)
                        started = false
                    end
                    encode_release()
                end
                i = i + 1
                starting = false
            end
            if active == 0 then
                break
            end
            -- until one finishes: the host decides how to wait (in OpenResty
            -- the coroutine yields, so the worker keeps serving)
            before = active
            e.host.block_until(e, progressed)
            if active > 0 and e.n_pending == 0 then
                -- nothing in flight, yet items unsettled: they are lost
                -- (an engine fault, see Engine:_sweep); they fail, not hang
                for j = 1, i - 1 do
                    if responses[j] == nil and errors[j] == nil then
                        errors[j], codes[j] = REQUEST.oom_msg, "out_of_memory"
                        n_err = n_err + 1
                    end
                end
                active = 0
            end
        end
    end
    while true do
        local ok, err = pcall(run)
        if ok then
            break
        end
        encode_release()
        if not is_oom(err) then
            error(err, 0)
        end
        if starting then -- out of memory starting item i: it fails so
            starting = false
            if started then -- settled once, by its handle (active - 1)
                local h = started
                started = false
                h:_abort(err)
            else
                errors[i], codes[i] = REQUEST.oom_msg, "out_of_memory"
                n_err = n_err + 1
            end
            i = i + 1
        else -- in the host's wait: the items in flight end so
            e:abort_items(settle, err)
        end
    end
    if n_err > 0 then
        return responses, errors, codes
    end
    return responses
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
    local e = self.engine
    if e.host.before_free then -- stop watching sockets C is about to close
        e.host.before_free(e)
    end
    self.cptr = nil
    e.cptr = nil
    self.C.ljh_client_free(ffi.gc(cptr, nil))
    for _, h in next, e.pending do
        h:_ready()
    end
    if e.host.flush then
        e.host.flush(e)
    end
    live[self] = nil
    if not saved then
        return nil, serr, scode
    end
    return true
end

return M
