-- reliability: what every case of ../shared/reliability-cases.md checks,
-- shared by test_reliability_{a,b,c}.lua (not a test file itself).
--
-- R.case(spec) runs one failing call and asserts, as the catalogue asks:
-- it returns within its deadline (+10 %, plus R.slack for a loaded
-- machine), the process lives (the call is protected), the result is
-- exactly nil, message, code with the expected code, no secret appears in
-- what came back, and afterwards the open descriptors and the Lua heap
-- after a full collection are back where they were.
local T = require("support")
local ffi = require("ffi")

local R = {}

-- ffi declarations (declared once, whoever loads this first).
function R.cdef(name, decl)
    if not pcall(function()
        return ffi.C[name]
    end) then
        ffi.cdef(decl)
    end
end
R.cdef("fcntl", "int fcntl(int fd, int cmd, ...);")
R.cdef("readlink", "long readlink(const char *path, char *buf, size_t size);")

-- Extra seconds allowed over a deadline: CI machines are shared and noisy
-- (and the sanitizer and valgrind runs are slow). A deadline says "did not
-- hang" or "the limit applied, not a default 10 s or more": not a speed limit.
R.slack = tonumber(os.getenv("LJHTTP_TEST_SLACK") or "") or
    ((os.getenv("LJHTTP_VALGRIND") == "1") and 5 or 2)
-- Lua heap growth tolerated after a case (KiB): lazily loaded modules and
-- scratch buffers that grew once.
R.heap_slack_kb = 64

-- The start of a child that runs out of memory on purpose (test_oom_*):
-- no JIT, setrlimit/malloc/free declared, ljhttp loaded, a client `c`.
R.OOM_CHILD = [[
local ffi = require("ffi")
jit.off() -- no trace compiles while memory is short
ffi.cdef([=[
struct oom_rlim { unsigned long cur, max; };
int oom_setrlimit(int, const struct oom_rlim *) __asm__("setrlimit");
void *oom_malloc(size_t) __asm__("malloc");
void oom_free(void *) __asm__("free");
]=])
local http = require("ljhttp")
local c = assert(http.new())
]]

--- Lua heap in KiB after full collections. Compiled traces live on the
--- Lua heap too: they are flushed first, so a loop that got hot during a
--- case does not look like a leak. The string table only halves once per
--- collection, so collect until the count settles (at most 8 times).
function R.heap()
    if jit and jit.flush then
        jit.flush()
    end
    local last = math.huge
    for _ = 1, 8 do
        collectgarbage()
        local now = collectgarbage("count")
        if last - now < 1 then
            return now
        end
        last = now
    end
    return last
end

--- Resident set size of this process in KiB.
function R.rss_kb()
    local s = T.read_file("/proc/self/status") or ""
    return tonumber(s:match("VmRSS:%s*(%d+)")) or 0
end

--- Open descriptors: { n = count, text = "fd->target ..." }, found with
--- fcntl and readlink (a popen'd `ls` would see its own pipe, sometimes
--- both ends of it).
local fd_buf = ffi.new("char[512]")
function R.fds()
    local out, n = {}, 0
    for fd = 0, 4095 do
        if ffi.C.fcntl(fd, 1) >= 0 then -- F_GETFD
            n = n + 1
            local k = ffi.C.readlink("/proc/self/fd/" .. fd, fd_buf, 511)
            out[#out + 1] = fd .. "->" .. (k > 0 and ffi.string(fd_buf, k) or "?")
        end
    end
    return { n = n, text = table.concat(out, " ") }
end

-- ---- the fault server (tests/fixture/faults.py) ----

function R.faults()
    if not R.fport then
        R.fport = T.spawn_server("faults", "python3 " .. T.shq(T.root .. "/tests/fixture/faults.py")
            .. " --port-file %PORTFILE% --watch-pid " .. T.pid .. " --lifetime 1800")
    end
    return R.fport
end

--- http://127.0.0.1:FPORT/path on the fault server.
function R.furl(path)
    return "http://127.0.0.1:" .. R.faults() .. path
end

--- Base64 of s (for /raw?b64=).
function R.b64(s)
    local chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    local out = {}
    for i = 1, #s, 3 do
        local a, b, c = s:byte(i, i + 2)
        local n = a * 65536 + (b or 0) * 256 + (c or 0)
        local k = math.floor
        out[#out + 1] = chars:sub(k(n / 262144) + 1, k(n / 262144) + 1)
            .. chars:sub(k(n / 4096) % 64 + 1, k(n / 4096) % 64 + 1)
            .. (b and chars:sub(k(n / 64) % 64 + 1, k(n / 64) % 64 + 1) or "")
            .. (c and chars:sub(n % 64 + 1, n % 64 + 1) or "")
    end
    return table.concat(out)
end

--- A /raw URL that answers with exactly these bytes, then closes.
function R.raw(bytes)
    return R.furl("/raw?b64=" .. R.b64(bytes))
end

-- ---- connections the fixture saw (nothing may reach it) ----

local stats_client
--- Number of connections the fixture accepted so far (asked on one
--- kept-alive connection, so asking does not count).
function R.fixture_connections()
    stats_client = stats_client or require("ljhttp").new()
    local r = assert(stats_client:get(T.url("/stats")))
    return tonumber(r.body:match("connections (%d+)"))
end

-- ---- one case ----

local function has_secret(v, secret, seen)
    if type(v) == "string" then
        return v:find(secret, 1, true) ~= nil
    elseif type(v) == "table" then
        seen = seen or {}
        if seen[v] then
            return false
        end
        seen[v] = true
        for k, x in pairs(v) do
            if has_secret(k, secret, seen) or has_secret(x, secret, seen) then
                return true
            end
        end
    end
    return false
end
R.has_secret = has_secret

--- spec fields:
---   call      function(client) -> the call's results (required)
---   code      expected error code, or a table of acceptable codes, or
---             false when a response is expected (then `check(res)`), or
---             "any" for either (a response or nil, message, code)
---   deadline  seconds the call may take (default 1)
---   min       seconds it must at least take (a timeout must not fire early)
---   slack     seconds allowed over the deadline instead of R.slack
---   match     Lua pattern the message must match
---   secret    text that must appear nowhere in the results (default "secret")
---   warm      run the call once first (modules and scratch buffers that
---             load or grow on first use are then part of the baseline)
---   rss_kb    RSS growth allowed after the case (default: not checked)
--- Returns the message (or the response), the elapsed seconds and the
--- error code (nil for a response).
function R.case(spec)
    local http = require("ljhttp")
    local deadline = spec.deadline or 1
    if spec.warm then
        local c = http.new()
        pcall(spec.call, c)
        c:close()
    end
    local heap0 = R.heap() -- first: a collection may close unreferenced clients
    local fds0 = R.fds()
    local rss0 = R.rss_kb()
    local c = assert(http.new())
    local t0 = T.now()
    local r = T.call(spec.call, c)
    local dt = T.now() - t0
    c:close()
    c = nil
    local label = spec.label or "case"
    T.ok(dt <= deadline * 1.1 + (spec.slack or R.slack),
        string.format("%s: took %.3f s, deadline %.3f s", label, dt, deadline))
    if spec.min then
        T.ok(dt >= spec.min, string.format("%s: returned after %.3f s, before %.3f s", label, dt, spec.min))
    end
    T.ok(not has_secret({ r[1], r[2], r[3] }, spec.secret or "secret"),
        label .. ": a secret appears in what the call returned")
    local out
    local code = spec.code
    if code == "any" then
        if type(r[1]) == "table" then
            code = false
        else
            code = { r[3] }
        end
    end
    if code == false then
        T.ok(type(r[1]) == "table", label .. ": expected a response, got " .. T.show(r[1]) .. ", "
            .. T.show(r[2]) .. ", " .. T.show(r[3]))
        if spec.check then
            spec.check(r[1])
        end
        out = r[1]
    else
        T.ok(r[1] == nil, label .. ": expected nil, got " .. T.show(type(r[1]) == "table"
            and ("a response with status " .. tostring(r[1].status_code)) or r[1]))
        T.eq(r.n, 3, label .. ": values returned")
        T.ok(type(r[2]) == "string" and #r[2] > 0, label .. ": expected a message")
        local codes = type(code) == "table" and code or { code }
        local okc = false
        for _, k in ipairs(codes) do
            okc = okc or r[3] == k
        end
        T.ok(okc, label .. ": expected code " .. table.concat(codes, " or ") .. ", got "
            .. T.show(r[3]) .. " (" .. tostring(r[2]) .. ")")
        if spec.match then
            T.match(r[2], spec.match, label .. ": message")
        end
        out = r[2]
    end
    local was_response = type(r[1]) == "table"
    local got_code = r[3]
    r = nil
    local heap1 = R.heap()
    local fds1 = R.fds()
    if fds1.n ~= fds0.n then
        T.fail(string.format("%s: open descriptors after the case: %d, before: %d\nbefore: %s\nafter:  %s",
            label, fds1.n, fds0.n, fds0.text, fds1.text))
    end
    if was_response then
        -- the response is still alive (it is returned): measure the heap
        -- around a second run whose result is dropped
        heap0 = heap1
        local c2 = assert(http.new())
        local r2 = T.call(spec.call, c2)
        c2:close()
        c2, r2 = nil, nil
        heap1 = R.heap()
    end
    T.ok(heap1 - heap0 <= R.heap_slack_kb,
        string.format("%s: Lua heap grew by %.1f KiB", label, heap1 - heap0))
    if spec.rss_kb then
        local rss1 = R.rss_kb()
        T.ok(rss1 - rss0 <= spec.rss_kb,
            string.format("%s: RSS grew by %d KiB (allowed %d)", label, rss1 - rss0, spec.rss_kb))
    end
    return out, dt, got_code
end

--- Runs a Lua chunk in a child luajit (same package.path, same library);
--- prefix is a shell prefix such as "ulimit -n 64;". Returns the output,
--- the success flag and the exit status.
function R.child(code, prefix)
    local file = T.tmpfile("child_" .. math.random(1, 1e9) .. ".lua")
    T.write_file(file, "package.path = " .. string.format("%q", package.path) .. "\n" .. code)
    local lj = os.getenv("LJHTTP_LUAJIT") or "luajit"
    local out, ok, status = T.capture((prefix or "") .. " " .. lj .. " " .. T.shq(file) .. " 2>&1")
    os.remove(file)
    return out, ok, status
end


return R
