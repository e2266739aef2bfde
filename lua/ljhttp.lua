--- ljhttp: gluahttp's API for LuaJIT on libcurl.
---
--- local http = require("ljhttp")
--- local res, err, code = http.get("http://127.0.0.1:8080/", { timeout = "2s" })
---
--- Module functions use a default client with no cookie jar; http.new()
--- makes clients that keep their own connections, cookies and defaults.
local loader = require("ljhttp.loader")
local client = require("ljhttp.client")

local M = {}

M.version = "0.1.0"

--- JSON through cJSON: decode, encode, null, array, empty_array (docs/json.md).
M.json = require("ljhttp.json")

local default -- the module's own client, made on first use
local default_err

local function get_default()
    if default == nil then
        local c, err = client.new({})
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

--- Options for the module itself: { library = "/path/libljhttp.so" }
--- must come before the first request.
function M.setup(opts)
    opts = opts or {}
    if opts.library then
        local lib, err = loader.load(opts.library)
        if not lib then
            return nil, err
        end
    end
    return true
end

function M.new(opts)
    return client.new(opts)
end

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
        return c:request(upper, url, options)
    end
    M[m .. "_async"] = function(url, options, callback)
        local c = default or get_default()
        if not c then
            local h = require("ljhttp.engine").handle(callback, nil, true)
            h:_finish(unavailable())
            return h
        end
        return c:request_async(upper, url, options, callback)
    end
end

function M.request_async(method, url, options, callback)
    local c = default or get_default()
    if not c then
        local h = require("ljhttp.engine").handle(callback, nil, true)
        h:_finish(unavailable())
        return h
    end
    return c:request_async(method, url, options, callback)
end

function M.request_batch(requests, batch_options)
    local c = default or get_default()
    if not c then
        return unavailable()
    end
    return c:request_batch(requests, batch_options)
end

--- A streamed request on the default client (docs/bodies.md): returns
--- the stream once status and headers are in, or nil, message, code.
function M.stream(method, url, options)
    local c = default or get_default()
    if not c then
        return unavailable()
    end
    return c:stream(method, url, options)
end

--- Server-sent events on the default client (docs/bodies.md): returns an
--- iterator of events, or nil, message, code.
function M.sse(url, options)
    local c = default or get_default()
    if not c then
        return unavailable()
    end
    return c:sse(url, options)
end

--- Drives every client's transfers until none is left (plain LuaJIT);
--- timeout in seconds is optional. Returns true when all finished.
function M.run(timeout)
    local busy = {}
    for c in pairs(client.live) do
        if c.engine.n_pending > 0 then
            busy[#busy + 1] = c
        end
    end
    if #busy <= 1 then
        return busy[1] == nil or busy[1]:run(timeout)
    end
    -- Several clients: turn each in a round so none waits for another's
    -- slow transfer; only the first may sleep, briefly, on its own fd.
    local now = loader.load().ljh_now_ms
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
        if left == 0 then
            return true
        end
        if deadline and tonumber(now()) >= deadline then
            return false
        end
        for i = 1, #busy do
            if busy[i].engine.n_pending > 0 then
                busy[i].engine:pump(5)
                break
            end
        end
    end
end

--- Library, ABI and libcurl versions.
function M.info()
    local lib, err = loader.load()
    if not lib then
        return nil, err
    end
    local ffi = require("ffi")
    return {
        version = M.version,
        library_version = ffi.string(lib.ljh_version()),
        abi_version = lib.ljh_abi_version(),
        curl_version = ffi.string(lib.ljh_curl_version()),
        library_path = loader.path(),
    }
end

return M
