-- api: the module's functions (lua/ljhttp.lua), on the default client.
--
-- ljhttp.lua is loaded as source by every require; this file loads on
-- the first call of one of these functions, after the library, and so
-- from the bytecode the library embeds (docs/abi.md): a script pays for
-- parsing only the small entry file.
local loader = require("ljhttp.loader")

local M = {}

-- ljhttp.client (and encode, decode, options, protect with it) is loaded
-- after the library: then it comes from the bytecode the library embeds
-- (loader.lua).
local client, client_request -- client_request: not c:request, its bound closure
local function client_mod()
    if not client then
        loader.lib() -- a failure is reported by client.new
        client = require("ljhttp.client")
        client_request = client.Client.request
    end
    return client
end

local default -- the module's own client, made on first use
local default_err

local function get_default()
    if default == nil then
        local c, err = client_mod().new({})
        if not c then
            default_err = err
            return nil
        end
        default = c
    end
    return default
end

local function unavailable()
    return nil, default_err or loader.error() or "ljhttp: library not available", "internal"
end

-- An async request without a client: a handle that has ended so, its
-- callback (also when given in the options' place) run once, now.
local function unavailable_async(options, callback)
    if callback == nil and type(options) == "function" then
        callback = options
    end
    local h = require("ljhttp.engine").handle(callback, nil, true)
    h:_finish(unavailable())
    return h
end

--- A client with its own connections, cookie jar and defaults.
---@param opts? ljhttp.ClientOptions
---@return ljhttp.Client? client
---@return string? err
---@return ljhttp.ErrorCode? code
function M.new(opts)
    return client_mod().new(opts)
end

--- One blocking request (yields in OpenResty's yieldable phases).
---@param method ljhttp.Method any HTTP token, case-insensitive
---@param url string
---@param options? ljhttp.Options
---@return ljhttp.Response? res
---@return string? err
---@return ljhttp.ErrorCode? code
function M.request(method, url, options)
    local c = default or get_default()
    if not c then
        return unavailable()
    end
    return c:request(method, url, options)
end

for _, m in ipairs({ "get", "post", "put", "patch", "delete", "head" }) do
    local upper = m:upper()
    M[m] = function(url, options)
        local c = default or get_default()
        if not c then
            return unavailable()
        end
        return client_request(c, upper, url, options)
    end
    M[m .. "_async"] = function(url, options, callback)
        local c = default or get_default()
        if not c then
            return unavailable_async(options, callback)
        end
        return c:request_async(upper, url, options, callback)
    end
end

--- Starts a request; callback(res, err, code) runs exactly once.
---@param method ljhttp.Method
---@param url string
---@param options? ljhttp.Options|ljhttp.Callback
---@param callback? ljhttp.Callback
---@return ljhttp.Handle
function M.request_async(method, url, options, callback)
    local c = default or get_default()
    if not c then
        return unavailable_async(options, callback)
    end
    return c:request_async(method, url, options, callback)
end

--- gluahttp's request_batch: the items run concurrently on one client.
---@param requests ljhttp.BatchItem[]
---@param batch_options? ljhttp.BatchOptions
---@return ljhttp.Response[]? responses
---@return (string|table<integer, string>)? errors errors[i] for each failed item (or a message)
---@return (ljhttp.ErrorCode|table<integer, ljhttp.ErrorCode>)? codes codes[i] for each errors[i] (or the code when the batch itself was refused)
function M.request_batch(requests, batch_options)
    local c = default or get_default()
    if not c then
        return unavailable()
    end
    return c:request_batch(requests, batch_options)
end

--- A streamed request on the default client (docs/bodies.md): returns
--- the stream once status and headers are in, or nil, message, code.
---@param method ljhttp.Method
---@param url string
---@param options? ljhttp.Options
---@return ljhttp.Stream? stream
---@return string? err
---@return ljhttp.ErrorCode? code
function M.stream(method, url, options)
    local c = default or get_default()
    if not c then
        return unavailable()
    end
    return c:stream(method, url, options)
end

--- Server-sent events on the default client (docs/bodies.md): returns an
--- iterator of events, or nil, message, code.
---@param url string
---@param options? ljhttp.Options
---@return ljhttp.Events? events
---@return string? err
---@return ljhttp.ErrorCode? code
function M.sse(url, options)
    local c = default or get_default()
    if not c then
        return unavailable()
    end
    return c:sse(url, options)
end

--- A WebSocket on the default client (docs/websocket.md): the connection
--- once the handshake succeeded, or nil, message, code, response.
---@param url string ws:// or wss://
---@param options? ljhttp.WebSocketOptions
---@return ljhttp.WebSocket? conn
---@return string? err
---@return ljhttp.ErrorCode? code
---@return ljhttp.Response? response the refusal, when the server answered
function M.websocket(url, options)
    local c = default or get_default()
    if not c then
        return unavailable()
    end
    return c:websocket(url, options)
end

--- Drives every client's transfers until none is left (plain LuaJIT);
--- timeout in seconds is optional. Returns true when all finished.
---@param timeout? number seconds
---@return boolean all_finished
function M.run(timeout)
    if not client then
        return true -- no client made yet: nothing to drive
    end
    local busy = {}
    -- (a client that made no async request has no engine: none is made)
    for c in pairs(client.live) do
        local e = rawget(c, "engine")
        if e and e.n_pending > 0 then
            busy[#busy + 1] = c
        end
    end
    if #busy <= 1 then
        if busy[1] == nil then
            for c in pairs(client.live) do
                local e = rawget(c, "engine")
                if e then
                    e:reraise() -- a callback's error kept by a batch's turns
                end
            end
            return true
        end
        return busy[1]:run(timeout)
    end
    -- Several clients: turn each in a round so none waits for another's
    -- slow transfer; only the first may sleep, briefly, on its own fd.
    local now = loader.lib().ljh_now_ms
    local deadline = timeout and tonumber(now()) + timeout * 1000
    while true do
        local left = 0
        for i = 1, #busy do
            local c = busy[i]
            if c.engine.n_pending > 0 then
                c.engine:pump(0)
            end
            if c.host.flush then -- also what the short sleep below settled
                c.host.flush(c.engine)
            end
            left = left + c.engine.n_pending
        end
        if left == 0 or (deadline and tonumber(now()) >= deadline) then
            for i = 1, #busy do
                busy[i].engine:reraise() -- a callback's error, once
            end
            return left == 0
        end
        for i = 1, #busy do
            if busy[i].engine.n_pending > 0 then
                busy[i].engine:pump(5)
                break
            end
        end
    end
end

--- Library, ABI and libcurl versions, and what that libcurl supports:
--- tls_backend ("OpenSSL/3.0.11"), features (a set: features.http2,
--- .brotli, .zstd, .libz, .unixsockets ...) and curl_features (the words).
---@return ljhttp.Info? info
---@return string? err
function M.info()
    local lib, err = loader.lib()
    if not lib then
        return nil, err
    end
    local ffi = require("ffi")
    local words = ""
    local f = lib.ljh_curl_features() -- the ABI check vouches for it
    if f ~= nil then
        words = ffi.string(f)
    end
    local features, tls_backend = {}, nil
    for w in words:gmatch("%S+") do
        local backend = w:match("^tls=(.*)$")
        if backend then
            tls_backend = backend:gsub(",", " ")
        else
            features[w] = true
        end
    end
    return {
        version = require("ljhttp").version,
        library_version = ffi.string(lib.ljh_version()),
        abi_version = lib.ljh_abi_version(),
        curl_version = ffi.string(lib.ljh_curl_version()),
        library_path = loader.path(),
        tls_backend = tls_backend,
        features = features,
        curl_features = words,
    }
end

return M
