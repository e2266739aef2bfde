-- Headless Neovim: N requests to a slow endpoint, all at once, and one
-- large download (BIG_URL), through ljhttp's async API versus one curl
-- process per request (jobstart). Measures wall time, CPU time, how late
-- a 1 ms libuv timer runs (its lag) and how late a vim.schedule call
-- queued every 10 ms runs (what the editor's own work waits) meanwhile.
-- Rounds run with Neovim idle in its main loop (after VimEnter), not
-- inside vim.wait. Run by bench/nvim_async.sh, which sets:
--   LJH_ROOT    the checkout (put on the runtimepath)
--   BENCH_URL   the endpoint (e.g. one that answers after 50 ms)
--   N           requests per round (200)
--   ROUNDS      rounds per client; figures are medians (3)
--   CLK_TCK     clock ticks per second for /proc/self/stat (100)
--   CURL        curl program (curl)
--   BIG_URL     a large body (1 GiB); no download rows when unset
--   BIG_ROUNDS  rounds per download client (3)
--   BIG_DIR     where downloads are written (removed after each round)
local ROOT = assert(os.getenv("LJH_ROOT"), "LJH_ROOT not set")
local URL = assert(os.getenv("BENCH_URL"), "BENCH_URL not set")
local N = tonumber(os.getenv("N") or "") or 200
local ROUNDS = tonumber(os.getenv("ROUNDS") or "") or 3
local CLK_TCK = tonumber(os.getenv("CLK_TCK") or "") or 100
local CURL = os.getenv("CURL") or "curl"
local BIG_URL = os.getenv("BIG_URL")
local BIG_ROUNDS = tonumber(os.getenv("BIG_ROUNDS") or "") or 3
local BIG_DIR = os.getenv("BIG_DIR") or vim.fn.tempname()

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

-- A vim.schedule call queued every 10 ms; its lateness is the time from
-- queueing to running.
local function sched_probe()
    local lat = {}
    local t = uv.new_timer()
    t:start(10, 10, function()
        local q = uv.hrtime()
        vim.schedule(function()
            lat[#lat + 1] = (uv.hrtime() - q) / 1e6
        end)
    end)
    return function()
        t:stop()
        t:close()
        return lat
    end
end

local function pct(sorted, p)
    if #sorted == 0 then
        return 0
    end
    return sorted[math.max(1, math.ceil(#sorted * p))]
end

-- One round: start(i, done) must call done(ok, bytes) once per request.
-- Runs in the coroutine below, which yields until the last done().
local function round(start, n)
    local finished, errors, bytes = 0, 0, 0
    local co = coroutine.running()
    local function done(ok, b)
        finished = finished + 1
        bytes = bytes + (b or 0)
        if not ok then
            errors = errors + 1
        end
        if finished == n then
            vim.schedule(function()
                coroutine.resume(co)
            end)
        end
    end
    collectgarbage()
    local stop_lag, stop_sched = lag_timer(), sched_probe()
    local c0, k0, t0 = cpu_self(), cpu_children(), uv.hrtime()
    for i = 1, n do
        start(i, done)
    end
    coroutine.yield()
    local wall = (uv.hrtime() - t0) / 1e6
    local c1, k1 = cpu_self(), cpu_children()
    local lags, sched = stop_lag(), stop_sched()
    table.sort(lags)
    table.sort(sched)
    return {
        wall = wall,
        mbs = bytes / 1e6 / (wall / 1000),
        cpu_self = (c1 - c0) * 1000,
        cpu_children = (k1 - k0) * 1000,
        p50 = pct(lags, 0.5),
        p99 = pct(lags, 0.99),
        max = lags[#lags] or 0,
        s50 = pct(sched, 0.5),
        s99 = pct(sched, 0.99),
        smax = sched[#sched] or 0,
        errors = errors + (n - finished),
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

local function run(name, make_start, n, rounds)
    local rs = {}
    local errors = 0
    for k = 1, rounds or ROUNDS do
        local r = round(make_start(k), n or N)
        rs[#rs + 1] = r
        errors = errors + r.errors
    end
    local row = { name = name, errors = errors }
    for _, key in ipairs({ "wall", "mbs", "cpu_self", "cpu_children", "p50", "p99", "max", "s50", "s99",
        "smax" }) do
        row[key] = median(rs, key)
    end
    row.cpu = row.cpu_self + row.cpu_children
    return row
end

local rows, big_rows = {}, {}

local function main()

    -- ljhttp, a new client each round: connections are opened in the round.
    local client
    -- one request through the current client; done(true) on a 200
    local function get_ok(_, done)
        client:get_async(URL, function(res)
            done(res ~= nil and res.status_code == 200)
        end)
    end
    rows[#rows + 1] = run("ljhttp async, new client", function()
        if client then
            client:close()
        end
        client = assert(http.new({}))
        return get_ok
    end)

    -- ljhttp, the same client again: its connections are reused.
    rows[#rows + 1] = run("ljhttp async, reused client", function()
        return get_ok
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

    if BIG_URL then
        vim.fn.mkdir(BIG_DIR, "p")
        local file = BIG_DIR .. "/big.bin"
        -- the file is removed between rounds, not in them: unlinking 1 GiB
        -- takes the loop 100-300 ms
        local function check_size(size)
            local st = uv.fs_stat(file)
            return st ~= nil and st.size == size, size
        end
        local bc = assert(http.new({}))
        big_rows[#big_rows + 1] = run("ljhttp output = file", function()
            os.remove(file)
            return function(_, done)
                bc:get_async(BIG_URL, { output = file, max_body_size = false }, function(res)
                    done(check_size(res and res.status_code == 200 and res.body_size or -1))
                end)
            end
        end, 1, BIG_ROUNDS)
        big_rows[#big_rows + 1] = run("ljhttp on_chunk", function()
            return function(_, done)
                local bytes = 0
                bc:get_async(BIG_URL, {
                    max_body_size = false,
                    on_chunk = function(s)
                        bytes = bytes + #s
                    end,
                }, function(res)
                    done(res ~= nil and res.status_code == 200, bytes)
                end)
            end
        end, 1, BIG_ROUNDS)
        bc:close()
        os.remove(file)
        big_rows[#big_rows + 1] = run("curl -o file (jobstart)", function()
            os.remove(file)
            return function(_, done)
                local id = vim.fn.jobstart({ CURL, "-s", "--fail", "-o", file, BIG_URL }, {
                    on_exit = function(_, code)
                        local st = uv.fs_stat(file)
                        done(code == 0, st and st.size or 0)
                    end,
                })
                if id <= 0 then
                    done(false)
                end
            end
        end, 1, BIG_ROUNDS)
        vim.fn.delete(BIG_DIR, "rf")
    end
end

local function report()
    local v = vim.version()
    out:write(string.format("# Neovim %d.%d.%d, idle in its main loop; medians of the rounds\n", v.major,
        v.minor, v.patch))
    out:write("# timer lag: how late a 1 ms repeating libuv timer ran (ms). vim.schedule: how late\n"
        .. "# a vim.schedule call queued every 10 ms ran (ms), the wait of the editor's own\n"
        .. "# work. Children's CPU is counted in clock ticks (" .. math.floor(1000 / CLK_TCK)
        .. " ms).\n")
    local bad = 0
    local function table_of(title, list, mbs)
        if #list == 0 then
            return
        end
        out:write("\n" .. title .. "\n\n")
        out:write("| client | wall ms |" .. (mbs and " MB/s |" or "") .. " CPU ms (nvim) | CPU ms (children) | "
            .. "timer lag p50 | p99 | max | vim.schedule p50 | p99 | max | errors |\n")
        out:write("|---|---:|" .. (mbs and "---:|" or "") .. "---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
        for _, r in ipairs(list) do
            out:write(string.format("| %s | %.0f |%s %.0f | %.0f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %d |\n",
                r.name, r.wall, mbs and string.format(" %.0f |", r.mbs) or "", r.cpu_self, r.cpu_children,
                r.p50, r.p99, r.max, r.s50, r.s99, r.smax, r.errors))
            bad = bad + r.errors
        end
    end
    table_of(string.format("%d requests at once to %s (%d rounds)", N, URL, ROUNDS), rows, false)
    if BIG_URL then
        table_of(string.format("one download of %s (%d rounds)", BIG_URL, BIG_ROUNDS), big_rows, true)
    end
    out:flush()
    vim.cmd(bad == 0 and "qall!" or "cquit 1")
end

-- Rounds run once the editor is in its main loop.
vim.api.nvim_create_autocmd("VimEnter", {
    once = true,
    callback = function()
        vim.schedule(function()
            coroutine.wrap(function()
                local ok, err = xpcall(main, debug.traceback)
                if not ok then
                    io.stderr:write(err, "\n")
                    vim.cmd("cquit 1")
                end
                report()
            end)()
        end)
    end,
})
