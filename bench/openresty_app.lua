-- The front nginx's handlers for bench/openresty.sh: the same GET of the
-- upstream through ljhttp (async + wait, blocking), through a minimal
-- cosocket client written here (the OpenResty limit for a Lua client),
-- each once or as a fan-out of 3. The upstream address comes through
-- `env LJH_BENCH_UPSTREAM` ("127.0.0.1:PORT").
local http = require("ljhttp")

local M = {}

local UP = os.getenv("LJH_BENCH_UPSTREAM")
local HOST, PORT = UP:match("^(.-):(%d+)$")
PORT = tonumber(PORT)
local BASE = "http://" .. UP

local function fail(msg)
    ngx.status = 502
    ngx.say(msg)
    return ngx.exit(502)
end

local function path()
    return ngx.var.arg_p or "/small"
end

-- ---- ljhttp

function M.async()
    local res, err = http.get_async(BASE .. path()):wait(10)
    if not res then
        return fail(err)
    end
    ngx.print(res.body)
end

function M.blocking()
    local res, err = http.get(BASE .. path())
    if not res then
        return fail(err)
    end
    ngx.print(res.body)
end

function M.async_fan()
    local url = BASE .. path()
    local a, b, c = http.get_async(url), http.get_async(url), http.get_async(url)
    local n = 0
    for _, h in ipairs({ a, b, c }) do
        local res, err = h:wait(10)
        if not res then
            return fail(err)
        end
        n = n + #res.body
    end
    ngx.print(n, "\n")
end

function M.blocking_fan()
    local url = BASE .. path()
    local rs, errs = http.request_batch({ { "GET", url }, { "GET", url }, { "GET", url } })
    if not rs or errs then
        return fail("batch failed")
    end
    ngx.print(#rs[1].body + #rs[2].body + #rs[3].body, "\n")
end

-- ---- /probe?n=N&p=PATH&via=async|block|cosocket: N requests one after
-- another inside this request, with the collector stopped; prints Lua KB
-- allocated and µs per request and the OpenResty host's counters (driver
-- turns, semaphore wake-ups, polls) per request.

local host_stats = require("ljhttp.hosts.openresty").stats
local VIA = {
    async = function(url)
        return http.get_async(url):wait(10)
    end,
    block = function(url)
        return http.get(url)
    end,
}

-- /stats: the host's counters so far (for turns per request under wrk)
function M.stats()
    local out = {}
    for k, v in pairs(host_stats) do
        out[#out + 1] = k .. " " .. v
    end
    table.sort(out)
    ngx.say(table.concat(out, ", "))
end

-- /prof?mode=MODE&out=FILE starts LuaJIT's profiler (jit.p) for the whole
-- worker, e.g. mode=vl (VM state, then line); /prof alone stops it and
-- writes FILE: a profile of whatever wrk loaded in between.
function M.prof()
    local mode = ngx.var.arg_mode
    if mode then
        require("jit.p").start(mode, ngx.var.arg_out or "/tmp/ljhttp-prof.txt")
    else
        require("jit.p").stop()
    end
    ngx.say(mode and "started" or "stopped")
end

function M.probe()
    local n = tonumber(ngx.var.arg_n) or 1000
    local via = ngx.var.arg_via or "async"
    local url = BASE .. path()
    local get = VIA[via] or function()
        return M.cosocket_get(path())
    end
    for _ = 1, 50 do -- warm up (traces, connections)
        get(url)
    end
    local s0 = {}
    for k, v in pairs(host_stats) do
        s0[k] = v
    end
    local prof = ngx.var.arg_prof -- LuaJIT's profiler (jit.p) modes, e.g. "Fl"
    if prof then
        require("jit.p").start(prof, ngx.var.arg_out or "/tmp/ljhttp-probe-prof.txt")
    end
    collectgarbage("collect")
    collectgarbage("stop")
    local kb0 = collectgarbage("count")
    ngx.update_time()
    local t0 = ngx.now()
    for _ = 1, n do
        local res, err = get(url)
        if not res then
            collectgarbage("restart")
            return fail(err)
        end
    end
    ngx.update_time()
    local t1 = ngx.now()
    local kb1 = collectgarbage("count")
    collectgarbage("restart")
    if prof then
        require("jit.p").stop()
    end
    local out = { ("%s n=%d: %.0f us/req, %.2f KB/req"):format(via, n, (t1 - t0) * 1e6 / n, (kb1 - kb0) / n) }
    for k, v in pairs(host_stats) do
        out[#out + 1] = ("%s %.2f"):format(k, (v - s0[k]) / n)
    end
    table.sort(out, function(a, b)
        return a < b
    end)
    ngx.say(table.concat(out, ", "))
end

-- ---- the minimal cosocket client: HTTP/1.1 GET, Content-Length bodies,
-- keep-alive through the cosocket pool.

local function cosocket_get(p)
    local sock = ngx.socket.tcp()
    sock:settimeout(10000)
    local ok, err = sock:connect(HOST, PORT)
    if not ok then
        return nil, err
    end
    ok, err = sock:send("GET " .. p .. " HTTP/1.1\r\nHost: " .. UP .. "\r\n\r\n")
    if not ok then
        return nil, err
    end
    local line
    line, err = sock:receive("*l")
    if not line then
        return nil, err
    end
    local status = tonumber(line:match("^HTTP/1%.%d (%d%d%d)"))
    local len
    while true do
        line, err = sock:receive("*l")
        if not line then
            return nil, err
        end
        if line == "" then
            break
        end
        local v = line:match("^[Cc]ontent%-[Ll]ength:%s*(%d+)")
        if v then
            len = tonumber(v)
        end
    end
    if not len then
        return nil, "no Content-Length"
    end
    local body = ""
    if len > 0 then
        body, err = sock:receive(len)
        if not body then
            return nil, err
        end
    end
    sock:setkeepalive(60000, 256)
    return status, body
end

M.cosocket_get = cosocket_get

function M.cosocket()
    local status, body = cosocket_get(path())
    if not status then
        return fail(body)
    end
    ngx.print(body)
end

function M.cosocket_fan()
    local p = path()
    local t = {}
    for i = 1, 3 do
        t[i] = ngx.thread.spawn(cosocket_get, p)
    end
    local n = 0
    for i = 1, 3 do
        local ok, status, body = ngx.thread.wait(t[i])
        if not ok or not status then
            return fail(tostring(body))
        end
        n = n + #body
    end
    ngx.print(n, "\n")
end

return M
