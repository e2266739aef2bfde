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

--- Drives every client's transfers until none is left (plain LuaJIT);
--- timeout in seconds is optional. Returns true when all finished.
function M.run(timeout)
    local all = true
    for c in pairs(client.live) do
        if not c:run(timeout) then
            all = false
        end
    end
    return all
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
