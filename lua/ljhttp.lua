--- ljhttp: gluahttp's API for LuaJIT on libcurl.
---
--- local http = require("ljhttp")
--- local res, err, code = http.get("http://127.0.0.1:8080/", { timeout = "2s" })
---
--- Module functions use a default client with no cookie jar; http.new()
--- makes clients that keep their own connections, cookies and defaults.
local loader = require("ljhttp.loader")

---The module. get/post/put/patch/delete/head (and their _async forms)
---are made in a loop below, so they are declared here.
---@class ljhttp
---@field get fun(url: string, options?: ljhttp.Options): ljhttp.Response?, string?, ljhttp.ErrorCode?
---@field post fun(url: string, options?: ljhttp.Options): ljhttp.Response?, string?, ljhttp.ErrorCode?
---@field put fun(url: string, options?: ljhttp.Options): ljhttp.Response?, string?, ljhttp.ErrorCode?
---@field patch fun(url: string, options?: ljhttp.Options): ljhttp.Response?, string?, ljhttp.ErrorCode?
---@field delete fun(url: string, options?: ljhttp.Options): ljhttp.Response?, string?, ljhttp.ErrorCode?
---@field head fun(url: string, options?: ljhttp.Options): ljhttp.Response?, string?, ljhttp.ErrorCode?
---@field get_async fun(url: string, options?: ljhttp.Options|ljhttp.Callback, callback?: ljhttp.Callback): ljhttp.Handle
---@field post_async fun(url: string, options?: ljhttp.Options|ljhttp.Callback, callback?: ljhttp.Callback): ljhttp.Handle
---@field put_async fun(url: string, options?: ljhttp.Options|ljhttp.Callback, callback?: ljhttp.Callback): ljhttp.Handle
---@field patch_async fun(url: string, options?: ljhttp.Options|ljhttp.Callback, callback?: ljhttp.Callback): ljhttp.Handle
---@field delete_async fun(url: string, options?: ljhttp.Options|ljhttp.Callback, callback?: ljhttp.Callback): ljhttp.Handle
---@field head_async fun(url: string, options?: ljhttp.Options|ljhttp.Callback, callback?: ljhttp.Callback): ljhttp.Handle
---@field json ljhttp.json JSON through cJSON (docs/json.md)
---@field new fun(opts?: ljhttp.ClientOptions): ljhttp.Client?, string?, ljhttp.ErrorCode?
---@field request fun(method: ljhttp.Method, url: string, options?: ljhttp.Options): ljhttp.Response?, string?, ljhttp.ErrorCode?
---@field request_async fun(method: ljhttp.Method, url: string, options?: ljhttp.Options|ljhttp.Callback, callback?: ljhttp.Callback): ljhttp.Handle
---@field request_batch fun(requests: ljhttp.BatchItem[], batch_options?: ljhttp.BatchOptions): ljhttp.Response[]?, (string|table<integer, string>)?, (ljhttp.ErrorCode|table<integer, ljhttp.ErrorCode>)?
---@field stream fun(method: ljhttp.Method, url: string, options?: ljhttp.Options): ljhttp.Stream?, string?, ljhttp.ErrorCode?
---@field sse fun(url: string, options?: ljhttp.Options): ljhttp.Events?, string?, ljhttp.ErrorCode?
---@field websocket fun(url: string, options?: ljhttp.WebSocketOptions): ljhttp.WebSocket?, string?, ljhttp.ErrorCode?, ljhttp.Response?
---@field info fun(): ljhttp.Info?, string?
local M = {}

---@type string
M.version = "0.1.0"

--- JSON through cJSON: decode, encode, null, array, empty_array (docs/json.md).
--- http.json is loaded on first use (start-up pays only for what it uses).
setmetatable(M, {
    __index = function(t, k)
        if k == "json" then
            -- no library load here: http.setup{library = ...} may follow
            -- (json.lua loads it on first use; from source when it is not
            -- loaded yet)
            local j = require("ljhttp.json")
            rawset(t, "json", j)
            return j
        end
    end,
})

--- Options for the module itself: { library = "/path/libljhttp.so" }
--- must come before the first request.
---@param opts? ljhttp.SetupOptions
---@return true|nil ok
---@return string? err
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

-- The request functions live in api.lua, loaded by the first call of
-- any of them after the library, so from the bytecode the library embeds
-- (docs/abi.md): require("ljhttp") parses only this file and loads no
-- library. Each name starts as a stand-in that loads api.lua, puts the
-- real functions in its place, and calls its own; a stand-in a script
-- kept in a local goes on calling the real function. The annotations
-- are in api.lua.
local NAMES = { "new", "request", "request_async", "request_batch", "stream", "sse", "websocket",
    "info" }
for _, m in ipairs({ "get", "post", "put", "patch", "delete", "head" }) do
    NAMES[#NAMES + 1] = m
    NAMES[#NAMES + 1] = m .. "_async"
end

local api
local function load_api()
    loader.lib() -- a failure is reported by the call itself
    -- (protect.require: a load that ran out of memory can be tried again)
    api = require("ljhttp.protect").require("ljhttp.api")
    for i = 1, #NAMES do
        rawset(M, NAMES[i], api[NAMES[i]])
    end
    return api
end

for i = 1, #NAMES do
    local name = NAMES[i]
    M[name] = function(a, b, c, d)
        return (api or load_api())[name](a, b, c, d)
    end
end

--- Drives every client's transfers until none is left (plain LuaJIT);
--- timeout in seconds is optional. Returns true when all finished.
---@param timeout? number seconds
---@return boolean all_finished
function M.run(timeout)
    if not api then
        return true -- no request function called yet: no client to drive
    end
    return api.run(timeout)
end

--- Runs `make` in the plugin's directory (lua/ljhttp/build.lua): in
--- Neovim without blocking, reporting through vim.notify (returns true
--- once started); elsewhere blocking, returning ok, output.
---@param opts? ljhttp.BuildOptions
---@return boolean? ok
---@return string? output
function M.build(opts)
    return require("ljhttp.build").run(opts)
end

return M
