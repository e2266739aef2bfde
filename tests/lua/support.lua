-- support: the Lua suite's tiny test framework (no external dependencies).
--
-- Test files do `local T = require("support")`, register cases with
-- T.test(name, fn) and assert with T.eq/T.ok/T.match/...; run.lua loads
-- them, starts the fixture server once and runs every case.
local ffi = require("ffi")

local T = {}

-- ---- where we are: tests/lua/support.lua -> repository root ----

local function abs_dir_of_this_file()
    local src = debug.getinfo(1, "S").source
    local path = src:sub(1, 1) == "@" and src:sub(2) or "tests/lua/support.lua"
    if path:sub(1, 1) ~= "/" then
        local cwd = os.getenv("PWD")
        if not cwd or cwd == "" then
            local p = io.popen("pwd")
            cwd = p:read("*l")
            p:close()
        end
        path = cwd .. "/" .. path
    end
    return path:match("^(.*)/[^/]*$")
end

T.tests_dir = abs_dir_of_this_file()
T.root = T.tests_dir:gsub("/tests/lua$", "")
if T.root == T.tests_dir then
    T.root = T.tests_dir .. "/../.."
end

-- The repository's lua/ comes before anything installed.
package.path = T.root .. "/lua/?.lua;" .. T.root .. "/lua/?/init.lua;" .. T.tests_dir .. "/?.lua;"
    .. package.path

-- ---- a few libc calls (declared once, even if this file is reloaded) ----

local function cdef_once(probe, decl)
    if not pcall(ffi.typeof, probe) then
        ffi.cdef(decl)
    end
end
cdef_once("struct ljh_test_timespec", [[
struct ljh_test_timespec { long tv_sec; long tv_nsec; };
]])
local function declare_fn(name, decl)
    if not pcall(function()
        return ffi.C[name]
    end) then
        ffi.cdef(decl)
    end
end
declare_fn("getpid", "int getpid(void);")
declare_fn("clock_gettime", "int clock_gettime(int clk, struct ljh_test_timespec *ts);")
declare_fn("poll", "int poll(void *fds, unsigned long nfds, int timeout);")

local ts = ffi.new("struct ljh_test_timespec")

--- Monotonic time in seconds.
function T.now()
    ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
    return tonumber(ts.tv_sec) + tonumber(ts.tv_nsec) / 1e9
end

function T.sleep(seconds)
    ffi.C.poll(nil, 0, math.floor(seconds * 1000 + 0.5))
end

T.pid = ffi.C.getpid()

-- ---- shell helpers ----

--- Single-quotes s for /bin/sh.
function T.shq(s)
    return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

--- Runs a shell command; true when it exited with status 0.
function T.sh(cmd)
    local a, _, c = os.execute(cmd)
    if type(a) == "number" then -- Lua 5.1 semantics
        return a == 0, a
    end
    return a == true, c
end

--- Runs a command and returns its stdout (and the success flag).
function T.capture(cmd)
    local p = io.popen(cmd .. "; echo \"__status=$?\"")
    local out = p:read("*a")
    p:close()
    local status = tonumber(out:match("__status=(%d+)%s*$"))
    out = out:gsub("__status=%d+%s*$", "")
    return out, status == 0, status
end

function T.read_file(path)
    local f, err = io.open(path, "rb")
    if not f then
        return nil, err
    end
    local s = f:read("*a")
    f:close()
    return s
end

function T.write_file(path, s)
    local f = assert(io.open(path, "wb"))
    f:write(s)
    f:close()
end

-- ---- temporary directory for this run ----

local tmpdir
function T.tmpdir()
    if not tmpdir then
        local name = os.tmpname() -- creates an empty file: make it a directory
        os.remove(name)
        assert(T.sh("mkdir -m 700 " .. T.shq(name)), "cannot create " .. name)
        tmpdir = name
    end
    return tmpdir
end

function T.tmpfile(name)
    return T.tmpdir() .. "/" .. name
end

-- ---- background servers (the fixture and small raw ones) ----

local servers = {} -- name -> { pid = ..., port = ... }

--- Starts `cmd` in the background; it must write its port to the file
--- given by "%PORTFILE%" in cmd. Waits up to 10 s. Returns the port.
function T.spawn_server(name, cmd)
    local dir = T.tmpdir()
    local portfile = dir .. "/" .. name .. ".port"
    local pidfile = dir .. "/" .. name .. ".pid"
    local logfile = dir .. "/" .. name .. ".log"
    os.remove(portfile)
    cmd = cmd:gsub("%%PORTFILE%%", function()
        return T.shq(portfile)
    end)
    local ok = T.sh(cmd .. " >" .. T.shq(logfile) .. " 2>&1 </dev/null & echo $! >" .. T.shq(pidfile))
    if not ok then
        error("could not start " .. name)
    end
    local pid = tonumber((T.read_file(pidfile) or ""):match("%d+"))
    local deadline = T.now() + 10
    while T.now() < deadline do
        local s = T.read_file(portfile)
        local port = s and tonumber(s:match("^(%d+)\n"))
        if port then
            servers[name] = { pid = pid, port = port }
            return port
        end
        T.sleep(0.02)
    end
    if pid then
        T.sh("kill " .. pid .. " 2>/dev/null")
    end
    error(name .. " did not write its port within 10 s; log: " .. tostring(T.read_file(logfile)))
end

function T.stop_server(name)
    local s = servers[name]
    if s and s.pid then
        T.sh("kill " .. s.pid .. " 2>/dev/null")
    end
    servers[name] = nil
end

--- Starts tests/fixture/server.py (once); it also exits by itself when
--- this process is gone (--watch-pid).
function T.start_fixture()
    if T.port then
        return T.port
    end
    T.port = T.spawn_server("fixture", "python3 " .. T.shq(T.root .. "/tests/fixture/server.py")
        .. " --port-file %PORTFILE% --watch-pid " .. T.pid .. " --lifetime 900")
    return T.port
end

function T.stop_all()
    for name in pairs(servers) do
        T.stop_server(name)
    end
    T.port = nil
    if tmpdir then
        T.sh("rm -rf " .. T.shq(tmpdir))
        tmpdir = nil
    end
end

local function with_slash(path)
    path = path or "/"
    if path:sub(1, 1) ~= "/" then
        path = "/" .. path
    end
    return path
end

--- http://127.0.0.1:PORT/path on the fixture.
function T.url(path)
    return "http://127.0.0.1:" .. assert(T.port, "fixture not started") .. with_slash(path)
end

--- "/barrier?n=N&key=..." with a key no other check uses: the fixture
--- answers "met N" once N requests of it are in at the same time (504
--- after 30 s without them). Proves concurrency without timing it.
local barrier_seq = 0
function T.barrier_path(n)
    barrier_seq = barrier_seq + 1
    return "/barrier?n=" .. n .. "&key=" .. T.pid .. "-" .. barrier_seq
end

--- The same fixture under another origin (another host name).
function T.url2(path)
    return "http://localhost:" .. assert(T.port, "fixture not started") .. with_slash(path)
end

-- A port nothing listens on.
T.refused_url = "http://127.0.0.1:1/"

-- ---- resources ----

--- Number of open file descriptors of this process.
function T.fd_count()
    local p = io.popen("ls /proc/" .. T.pid .. "/fd")
    local n = 0
    for _ in p:lines() do
        n = n + 1
    end
    p:close()
    return n
end

--- Collects garbage and counts descriptors until at most limit are open,
--- for up to 10 s; returns the last count. Descriptors of earlier tests
--- (their clients collected now, a server closing an idle connection, a
--- default client's request timing out) settle meanwhile on a loaded
--- machine; a leak stays.
function T.fd_settle(limit)
    local now
    for _ = 1, 100 do
        collectgarbage()
        collectgarbage()
        now = T.fd_count()
        if now <= limit then
            break
        end
        T.sleep(0.1)
    end
    return now
end

-- ---- cases ----

T.cases = {}
T.current_file = "?"

-- Runs `body` (Lua source, with `http` and `url` in scope) in a fresh
-- luajit with jit.v logging to a file, and returns the log's lines. A
-- fresh process, because what this suite's earlier cases ran has already
-- made the same bytecode hot, and LuaJIT keeps a loop it gave up on
-- blacklisted for good (jit.flush() drops traces, not blacklisting):
-- in the shared process the outcome would depend on the cases before.
function T.jit_log(body, url)
    local log = T.tmpfile("jit_v.log")
    local script = T.tmpfile("jit_v_run.lua")
    os.remove(log)
    T.write_file(script, ([[
package.path = %q .. "/lua/?.lua;" .. package.path
local http = require("ljhttp")
local url = %q
require("jit.v").on(%q)
local ok, err = pcall(function()
%s
end)
require("jit.v").off()
if not ok then
    io.stderr:write(tostring(err), "\n")
    os.exit(1)
end
]]):format(T.root, url, log, body))
    local out, ok = T.capture(T.shq(arg and arg[-1] or "luajit") .. " " .. T.shq(script) .. " 2>&1")
    T.ok(ok, "the child luajit failed: " .. tostring(out))
    local text = T.read_file(log) or ""
    local lines = {}
    for line in text:gmatch("[^\n]+") do
        lines[#lines + 1] = line
    end
    return lines, text
end

function T.test(name, fn)
    assert(type(name) == "string" and type(fn) == "function", "T.test(name, fn)")
    T.cases[#T.cases + 1] = { file = T.current_file, name = name, fn = fn }
end

local skip_mt = { __tostring = function(s)
    return "skipped: " .. s.reason
end }

--- True under a sanitizer or valgrind run: another allocator is preloaded,
--- so allocation-failure injection does not apply and freed memory is held
--- in quarantine (RSS figures say nothing about ljhttp).
function T.foreign_allocator()
    return (os.getenv("LD_PRELOAD") or "") ~= "" or os.getenv("LJHTTP_VALGRIND") == "1"
end

--- Ends the current case as skipped (pending support or a known bug).
function T.skip(reason)
    error(setmetatable({ reason = tostring(reason) }, skip_mt), 0)
end

function T.is_skip(e)
    return getmetatable(e) == skip_mt
end

-- ---- assertions: each raises "file:line: what (expected ..., got ...)" ----

local function show(v)
    if type(v) == "string" then
        local s = string.format("%q", v):gsub("\\\n", "\\n"):gsub("%z", "\\0")
        if #s > 240 then
            s = s:sub(1, 200) .. "...\" (" .. #v .. " bytes)"
        end
        return s
    end
    return tostring(v)
end
T.show = show

local function fail(msg, label, level)
    if label then
        msg = label .. ": " .. msg
    end
    error(msg, (level or 2) + 1)
end
T.fail = function(msg)
    error(msg, 2)
end

function T.eq(actual, expected, label)
    if actual ~= expected then
        fail("expected " .. show(expected) .. ", got " .. show(actual), label, 2)
    end
    return actual
end

function T.ne(actual, unexpected, label)
    if actual == unexpected then
        fail("expected anything but " .. show(unexpected), label, 2)
    end
    return actual
end

function T.ok(v, label)
    if not v then
        fail("expected a true value, got " .. show(v), label, 2)
    end
    return v
end

function T.is_nil(v, label)
    if v ~= nil then
        fail("expected nil, got " .. show(v), label, 2)
    end
end

function T.not_nil(v, label)
    if v == nil then
        fail("expected a value, got nil", label, 2)
    end
    return v
end

function T.is_type(v, t, label)
    if type(v) ~= t then
        fail("expected a " .. t .. ", got " .. type(v) .. " " .. show(v), label, 2)
    end
    return v
end

--- s matches the Lua pattern p.
function T.match(s, p, label)
    if type(s) ~= "string" or not s:find(p) then
        fail("expected a string matching " .. show(p) .. ", got " .. show(s), label, 2)
    end
    return s
end

--- s contains the plain text sub.
function T.contains(s, sub, label)
    if type(s) ~= "string" or not s:find(sub, 1, true) then
        fail("expected a string containing " .. show(sub) .. ", got " .. show(s), label, 2)
    end
    return s
end

function T.not_contains(s, sub, label)
    if type(s) == "string" and s:find(sub, 1, true) then
        fail("expected no " .. show(sub) .. " in " .. show(s), label, 2)
    end
end

function T.lt(a, b, label)
    if not (type(a) == "number" and type(b) == "number" and a < b) then
        fail("expected " .. show(a) .. " < " .. show(b), label, 2)
    end
end

function T.ge(a, b, label)
    if not (type(a) == "number" and type(b) == "number" and a >= b) then
        fail("expected " .. show(a) .. " >= " .. show(b), label, 2)
    end
end

local function deep_eq(a, b, path)
    if type(a) ~= "table" or type(b) ~= "table" then
        if a ~= b then
            return path .. ": expected " .. show(b) .. ", got " .. show(a)
        end
        return nil
    end
    for k, v in pairs(b) do
        local e = deep_eq(a[k], v, path .. "[" .. show(k) .. "]")
        if e then
            return e
        end
    end
    for k, v in pairs(a) do
        if b[k] == nil then
            return path .. "[" .. show(k) .. "]: unexpected " .. show(v)
        end
    end
    return nil
end

--- Deep equality of plain tables.
function T.same(actual, expected, label)
    local e = deep_eq(actual, expected, "value")
    if e then
        fail(e, label, 2)
    end
end

--- Calls fn(...) protected; the call must not raise. Returns a table of
--- the results with .n.
function T.call(fn, ...)
    local r = { n = 0 }
    local function pack(ok, ...)
        r.n = select("#", ...)
        for i = 1, r.n do
            r[i] = select(i, ...)
        end
        return ok
    end
    local ok = pack(pcall(fn, ...))
    if not ok then
        error("the call raised: " .. tostring(r[1]), 2)
    end
    return r
end

--- Asserts a failed request: exactly nil, message (string), code.
--- Returns the message.
function T.err(code, ...)
    local n = select("#", ...)
    local r, msg, c = ...
    if r ~= nil then
        local what = type(r) == "table" and ("a response with status " .. tostring(r.status_code))
            or show(r)
        fail("expected an error " .. show(code) .. ", got " .. what, nil, 2)
    end
    if n ~= 3 then
        fail("expected exactly 3 values (nil, message, code), got " .. n .. " (" .. show(msg) .. ", "
            .. show(c) .. ")", nil, 2)
    end
    if type(msg) ~= "string" or msg == "" then
        fail("expected a message string, got " .. show(msg), nil, 2)
    end
    if code ~= nil and c ~= code then
        fail("expected error code " .. show(code) .. ", got " .. show(c) .. " (" .. msg .. ")", nil, 2)
    end
    return msg
end

--- Asserts a response (not an error) and returns it; status optional.
function T.res(status, r, msg, code)
    if type(r) ~= "table" then
        fail("expected a response, got " .. show(r) .. ", " .. show(msg) .. ", " .. show(code), nil, 2)
    end
    if status ~= nil and r.status_code ~= status then
        fail("expected status " .. show(status) .. ", got " .. show(r.status_code) .. " (body "
            .. show(r.body) .. ")", nil, 2)
    end
    return r
end

--- Parses /echo's body into { method=, path=, query=, headers = {{name, value}...},
--- body_length = N }; header(e, name) finds the first value (case-insensitive).
function T.echo(body)
    local e = { headers = {} }
    for line in tostring(body):gmatch("([^\n]*)\n") do
        local k, v = line:match("^(%S+) ?(.*)$")
        if k == "header" then
            local n, val = v:match("^(.-): ?(.*)$")
            e.headers[#e.headers + 1] = { n, val }
        elseif k == "method" then
            e.method = v
        elseif k == "path" then
            e.path = v
        elseif k == "query" then
            e.query = v
        elseif k == "body-length" then
            e.body_length = tonumber(v)
        elseif k == "body-sha256" then
            e.body_sha256 = v
        end
    end
    return e
end

--- All values of a header in an /echo result (case-insensitive name).
function T.echo_headers(e, name)
    local out = {}
    name = name:lower()
    for _, h in ipairs(e.headers) do
        if h[1]:lower() == name then
            out[#out + 1] = h[2]
        end
    end
    return out
end

function T.echo_header(e, name)
    return T.echo_headers(e, name)[1]
end

return T
