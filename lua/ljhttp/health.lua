-- :checkhealth ljhttp
--
-- Checks, in order: LuaJIT and its FFI, the platform (OS, architecture,
-- the library's file names there), the library (where it was found, its
-- ABI version, the event backend; when missing, :LjhttpBuild), the libcurl under it (version, TLS backend, HTTP/2,
-- compression), and the async engine end to end: a one-shot HTTP server
-- on 127.0.0.1 (a vim.uv/vim.loop TCP listener on port 0) answers one
-- request made with get_async on the editor's loop.
--
-- Neovim 0.7/0.8 report through require("health").report_*; 0.9 and
-- later through vim.health.start/ok/info/warn/error.
local M = {}

local MIN_CURL = { 7, 85, 0 }
local ENGINE_TIMEOUT_MS = 5000

local function reporter()
    -- vim.health is loaded on first access in 0.9+; absent in 0.7
    local hok, h = pcall(function()
        return vim.health
    end)
    h = hok and type(h) == "table" and h or nil
    if not (h and h.start) then
        local ok, legacy = pcall(require, "health")
        if ok and type(legacy) == "table" and legacy.report_start then
            h = legacy
        end
    end
    h = h or {}
    return {
        start = h.start or h.report_start,
        ok = h.ok or h.report_ok,
        info = h.info or h.report_info,
        warn = h.warn or h.report_warn,
        error = h.error or h.report_error,
    }
end

local function version_at_least(v, min)
    local a, b, c = tostring(v):match("^(%d+)%.(%d+)%.?(%d*)")
    if not a then
        return false
    end
    local got = { tonumber(a), tonumber(b), tonumber(c) or 0 }
    for i = 1, 3 do
        if got[i] ~= min[i] then
            return got[i] > min[i]
        end
    end
    return true
end

-- The event backend: what the library reports (info.backend or
-- ljh_backend_name, when this library has them), else what its OS uses,
-- said as such.
local BY_OS = { Linux = "epoll (Linux)", OSX = "kqueue (macOS)", BSD = "kqueue (BSD)",
    Windows = "portable (Windows)" }
local function backend(info, lib)
    if type(info.backend) == "string" then
        return info.backend
    end
    local ok, name = pcall(function()
        return require("ffi").string(lib.ljh_backend_name())
    end)
    if ok and name ~= "" then
        return name
    end
    return (BY_OS[jit.os] or "epoll (Linux)") .. ", from the OS: this library does not report its backend"
end

-- Serves one HTTP/1.1 response on 127.0.0.1 (an ephemeral port), then
-- closes. Returns the port and a function that stops the server, or nil
-- and a message.
local function one_shot_server(uv, body)
    local server = uv.new_tcp()
    local ok, err = pcall(function()
        assert(server:bind("127.0.0.1", 0))
        assert(server:listen(16, function(lerr)
            if lerr then
                return
            end
            local conn = uv.new_tcp()
            server:accept(conn)
            local got = ""
            conn:read_start(function(rerr, data)
                if rerr or not data then
                    conn:close()
                    return
                end
                got = got .. data
                if got:find("\r\n\r\n", 1, true) then
                    conn:read_stop()
                    conn:write("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: "
                        .. #body .. "\r\nConnection: close\r\n\r\n" .. body, function()
                        conn:shutdown(function()
                            conn:close()
                        end)
                    end)
                end
            end)
        end))
    end)
    if not ok then
        if not server:is_closing() then
            server:close()
        end
        return nil, tostring(err)
    end
    local port = server:getsockname().port
    return port, function()
        if not server:is_closing() then
            server:close()
        end
    end
end

local function check_engine(r, http, uv)
    local token = ("ljhttp-health-%d"):format(uv.hrtime() % 1000000007)
    local port, stop = one_shot_server(uv, token)
    if not port then
        r.error("could not open a TCP listener on 127.0.0.1: " .. tostring(stop))
        return
    end
    local client, cerr = http.new({})
    if not client then
        stop()
        r.error("could not create a client: " .. tostring(cerr))
        return
    end
    if client.host.name ~= "nvim" then
        r.warn("the client picked the \"" .. tostring(client.host.name)
            .. "\" host instead of \"nvim\": async requests would not run on the editor's loop")
    end
    local url = ("http://127.0.0.1:%d/health"):format(port)
    local got, gerr, gcode
    local called = false
    local t0 = uv.hrtime()
    local handle = client:get_async(url, { timeout = ENGINE_TIMEOUT_MS / 1000 }, function(res, err, code)
        called = true
        got, gerr, gcode = res, err, code
    end)
    vim.wait(ENGINE_TIMEOUT_MS + 1000, function()
        return called
    end, 5)
    local ms = (uv.hrtime() - t0) / 1e6
    if not called then
        handle:cancel()
    end
    client:close()
    stop()
    if not called then
        r.error(("async engine: no callback within %d ms for %s"):format(ENGINE_TIMEOUT_MS, url))
    elseif not got then
        r.error(("async engine: get_async %s failed: %s (%s)"):format(url, tostring(gerr), tostring(gcode)))
    elseif got.status_code ~= 200 or got.body ~= token then
        r.error(("async engine: unexpected answer from the local listener: %s %q"):format(
            tostring(got.status_code), tostring(got.body)))
    else
        r.ok(("async engine: get_async to a local listener answered in %.1f ms, callback on the "
            .. "editor's loop"):format(ms))
    end
end

function M.check()
    local r = reporter()

    r.start("ljhttp: LuaJIT")
    local has_jit = type(rawget(_G, "jit")) == "table"
    local ffi_ok = pcall(require, "ffi")
    if has_jit and ffi_ok then
        r.ok(("%s with the FFI"):format(jit.version))
    else
        r.error("ljhttp needs LuaJIT with its FFI; this Neovim runs "
            .. (has_jit and "LuaJIT without ffi" or _VERSION),
            { "Use a Neovim build that runs LuaJIT (the usual builds do)" })
        return
    end

    local lok, loader = pcall(require, "ljhttp.loader")
    if not lok then
        r.error("require(\"ljhttp.loader\") failed: " .. tostring(loader))
        return
    end
    local platform = loader.platform()
    r.start("ljhttp: platform")
    r.ok(("OS: %s, architecture: %s (library file names here: %s)"):format(jit.os, jit.arch,
        table.concat(platform.names, ", ")))

    r.start("ljhttp: library")
    local lib, lerr = loader.lib()
    if not lib then
        local env = os.getenv("LJHTTP_LIBRARY")
        r.error(tostring(lerr), {
            "Run :LjhttpBuild (it runs `make` in " .. tostring(loader.root()) .. " without blocking "
                .. "the editor)",
            "lazy.nvim: build = \"make\"; vim.pack: the PackChanged autocommand of :help ljhttp-build",
            (env and env ~= "") and ("or unset LJHTTP_LIBRARY (" .. env .. " did not load)")
                or ("or set LJHTTP_LIBRARY to the path of a built " .. platform.names[1]),
        })
        return
    end
    local path = loader.path() or "?"
    local uv = vim.uv or vim.loop
    r.ok("found: " .. (uv and uv.fs_realpath(path) or path))
    local http = require("ljhttp")
    local info, ierr = http.info()
    if not info then
        r.error("ljhttp.info() failed: " .. tostring(ierr))
        return
    end
    r.ok("backend: " .. backend(info, lib))
    if info.abi_version == loader.ABI_VERSION then
        r.ok(("ABI version %d matches the Lua files"):format(info.abi_version))
    else
        r.error(("ABI version %s, the Lua files need %d"):format(tostring(info.abi_version),
            loader.ABI_VERSION), { "Rebuild the library: make" })
    end
    if info.library_version == info.version then
        r.ok("ljhttp " .. info.version)
    else
        r.warn(("library %s, Lua files %s"):format(info.library_version, info.version),
            { "Rebuild the library (make) after updating the plugin" })
    end

    r.start("ljhttp: libcurl")
    if version_at_least(info.curl_version, MIN_CURL) then
        r.ok("libcurl " .. info.curl_version)
    else
        r.warn(("libcurl %s is older than %d.%d.%d, the oldest tested"):format(info.curl_version,
            MIN_CURL[1], MIN_CURL[2], MIN_CURL[3]))
    end
    local f = info.features or {}
    if info.curl_features == "" then
        r.warn("the library does not report libcurl's features (built before ljh_curl_features?)",
            { "Rebuild the library: make" })
    end
    if info.tls_backend then
        r.ok("TLS backend: " .. info.tls_backend)
    else
        r.error("libcurl has no TLS backend: https:// requests will fail")
    end
    if f.http2 then
        r.ok("HTTP/2: supported")
    else
        r.warn("HTTP/2: not supported by this libcurl (requests use HTTP/1.1)")
    end
    if f.http3 then
        r.ok("HTTP/3 (http_version = \"3\"): supported")
    else
        r.info("HTTP/3 (http_version = \"3\"): not in this libcurl (needs a libcurl 8.x built with HTTP/3)")
    end
    local codecs = {}
    for _, k in ipairs({ "libz", "brotli", "zstd" }) do
        if f[k] then
            codecs[#codecs + 1] = k == "libz" and "gzip/deflate" or k
        end
    end
    if #codecs > 0 then
        r.ok("decompression (decompress = true): " .. table.concat(codecs, ", "))
    else
        r.warn("decompression: this libcurl has no zlib, brotli or zstd (decompress = true asks for nothing)")
    end
    if f.unixsockets then
        r.ok("Unix sockets (unix_socket option): supported")
    else
        r.info("Unix sockets (unix_socket option): not supported by this libcurl")
    end

    r.start("ljhttp: async engine")
    local uv = vim.uv or vim.loop
    if not uv then
        r.error("neither vim.uv nor vim.loop exists: the async API cannot run on this editor's loop")
        return
    end
    local ok, err = pcall(check_engine, r, http, uv)
    if not ok then
        r.error("async engine check raised: " .. tostring(err))
    end
end

return M
