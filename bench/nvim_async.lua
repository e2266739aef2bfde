-- Headless Neovim: N requests to a slow endpoint, all at once, through
-- ljhttp's async API versus one curl process per request (jobstart).
-- Measures wall time, CPU time and how late a 1 ms UI timer runs (its
-- lag) meanwhile. Run by bench/nvim_async.sh, which sets:
--   LJH_ROOT    the checkout (put on the runtimepath)
--   BENCH_URL   the endpoint (e.g. one that answers after 50 ms)
--   N           requests per round (200)
--   ROUNDS      rounds per client; figures are medians (3)
--   CLK_TCK     clock ticks per second for /proc/self/stat (100)
--   CURL        curl program (curl)
local ROOT = assert(os.getenv("LJH_ROOT"), "LJH_ROOT not set")
local URL = assert(os.getenv("BENCH_URL"), "BENCH_URL not set")
local N = tonumber(os.getenv("N") or "") or 200
local ROUNDS = tonumber(os.getenv("ROUNDS") or "") or 3
local CLK_TCK = tonumber(os.getenv("CLK_TCK") or "") or 100
local CURL = os.getenv("CURL") or "curl"
local TIMEOUT_MS = 120000

vim.opt.rtp:prepend(ROOT)
local uv = vim.uv or vim.loop
local http = require("ljhttp")

local out = io.stdout

-- CPU seconds of this process (precise) and of its reaped children
-- (/proc/self/stat cutime + cstime, in clock ticks).
local function cpu_self()
    local r = uv.getrusage()
    return r.utime.sec + r.utime.usec / 1e6 + r.stime.sec + r.stime.usec / 1e6
end

local function cpu_children()
    local f = io.open("/proc/self/stat", "r")
    if not f then
        return 0
    end
    local s = f:read("*a")
    f:close()
    -- fields after "(comm) ": state is field 3; cutime 16, cstime 17
    local rest = s:match("%) (.*)$")
    local fields = {}
    for w in rest:gmatch("%S+") do
        fields[#fields + 1] = w
    end
    return (tonumber(fields[14]) + tonumber(fields[15])) / CLK_TCK
end

local function lag_timer()
    local lags = {}
    local t = uv.new_timer()
    local last = uv.hrtime()
    t:start(1, 1, function()
        local now = uv.hrtime()
        lags[#lags + 1] = (now - last) / 1e6 - 1
        last = now
    end)
    return function()
        t:stop()
        t:close()
        return lags
    end
end

local function pct(sorted, p)
    if #sorted == 0 then
        return 0
    end
    return sorted[math.max(1, math.ceil(#sorted * p))]
end

-- One round: start(i, done) must call done(ok) once per request.
local function round(start)
    local finished, errors = 0, 0
    local function done(ok)
        finished = finished + 1
        if not ok then
            errors = errors + 1
        end
    end
    collectgarbage()
    local stop_lag = lag_timer()
    local c0, k0, t0 = cpu_self(), cpu_children(), uv.hrtime()
    for i = 1, N do
        start(i, done)
    end
    vim.wait(TIMEOUT_MS, function()
        return finished == N
    end, 1)
    local wall = (uv.hrtime() - t0) / 1e6
    local c1, k1 = cpu_self(), cpu_children()
    local lags = stop_lag()
    table.sort(lags)
    return {
        wall = wall,
        cpu_self = (c1 - c0) * 1000,
        cpu_children = (k1 - k0) * 1000,
        p50 = pct(lags, 0.5),
        p99 = pct(lags, 0.99),
        max = lags[#lags] or 0,
        errors = errors + (N - finished),
    }
end

local function median(rs, key)
    local v = {}
    for i, r in ipairs(rs) do
        v[i] = r[key]
    end
    table.sort(v)
    return v[math.ceil(#v / 2)]
end

local function run(name, make_start)
    local rs = {}
    local errors = 0
    for k = 1, ROUNDS do
        local r = round(make_start(k))
        rs[#rs + 1] = r
        errors = errors + r.errors
    end
    local row = { name = name, errors = errors }
    for _, key in ipairs({ "wall", "cpu_self", "cpu_children", "p50", "p99", "max" }) do
        row[key] = median(rs, key)
    end
    row.cpu = row.cpu_self + row.cpu_children
    return row
end

local rows = {}

-- ljhttp, a new client each round: connections are opened in the round.
local client
rows[#rows + 1] = run("ljhttp async, new client", function()
    if client then
        client:close()
    end
    client = assert(http.new({}))
    return function(_, done)
        client:get_async(URL, function(res)
            done(res ~= nil and res.status_code == 200)
        end)
    end
end)

-- ljhttp, the same client again: its connections are reused.
rows[#rows + 1] = run("ljhttp async, reused client", function()
    return function(_, done)
        client:get_async(URL, function(res)
            done(res ~= nil and res.status_code == 200)
        end)
    end
end)
client:close()

-- one curl process per request
rows[#rows + 1] = run("curl per request (jobstart)", function()
    return function(_, done)
        local got = false
        local id = vim.fn.jobstart({ CURL, "-s", "-o", "/dev/null", "-w", "%{http_code}", URL }, {
            stdout_buffered = true,
            on_stdout = function(_, data)
                got = data and data[1] == "200"
            end,
            on_exit = function(_, code)
                done(code == 0 and got)
            end,
        })
        if id <= 0 then
            done(false)
        end
    end
end)

out:write(string.format("# %s, %d requests at once to %s, median of %d rounds\n",
    vim.version and (function()
        local v = vim.version()
        return string.format("Neovim %d.%d.%d", v.major, v.minor, v.patch)
    end)() or "Neovim", N, URL, ROUNDS))
out:write("# lag: how late a 1 ms repeating libuv timer ran (ms); a round of T ms has about T\n"
    .. "# ticks, so for short rounds p99 is close to the max. Children's CPU is counted in\n"
    .. "# clock ticks (" .. math.floor(1000 / CLK_TCK) .. " ms).\n")
out:write("| client | wall ms | CPU ms (nvim) | CPU ms (children) | CPU ms total | "
    .. "1 ms timer lag p50 | p99 | max | errors |\n")
out:write("|---|---:|---:|---:|---:|---:|---:|---:|---:|\n")
local bad = 0
for _, r in ipairs(rows) do
    out:write(string.format("| %s | %.0f | %.0f | %.0f | %.0f | %.2f | %.2f | %.2f | %d |\n", r.name,
        r.wall, r.cpu_self, r.cpu_children, r.cpu, r.p50, r.p99, r.max, r.errors))
    bad = bad + r.errors
end
out:flush()
vim.cmd(bad == 0 and "qall!" or "cquit 1")
