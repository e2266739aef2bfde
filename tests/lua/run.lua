-- The Lua test suite: `luajit tests/lua/run.lua [pattern...]` from the
-- repository root (`make test-lua`). Loads every tests/lua/test_*.lua (in
-- name order, or only the files whose name contains one of the patterns),
-- starts the fixture server, runs each case, prints one line per failure
-- and ends with "N passed, N failed". Exits non-zero when a case failed.
local src = debug.getinfo(1, "S").source:sub(2)
local dir = src:match("^(.*)/[^/]*$") or "."
package.path = dir .. "/?.lua;" .. package.path

local T = require("support")

-- `make asan` preloads the sanitizer runtime: this process checks its
-- leaks at exit, while the tools it starts (sh, python3, nginx, child
-- luajit) inherit the runtime but must not fail on leaks of their own.
if (os.getenv("LD_PRELOAD") or ""):find("libasan", 1, true) then
    local ffi = require("ffi")
    pcall(ffi.cdef, "int setenv(const char *name, const char *value, int overwrite);")
    ffi.C.setenv("ASAN_OPTIONS", (os.getenv("ASAN_OPTIONS") or "") .. ":detect_leaks=0", 1)
end

local patterns = { ... }
local function wanted(file)
    if #patterns == 0 then
        return true
    end
    for _, p in ipairs(patterns) do
        if file:find(p, 1, true) then
            return true
        end
    end
    return false
end

local files = {}
do
    local p = io.popen("ls " .. T.shq(T.tests_dir))
    for name in p:lines() do
        if name:match("^test_.*%.lua$") and wanted(name) then
            files[#files + 1] = name
        end
    end
    p:close()
end
table.sort(files)

local passed, failed, skipped = 0, 0, 0
local out = io.stdout

local function report_failure(file, name, why)
    failed = failed + 1
    out:write("FAIL ", file, ": ", name, ": ", (tostring(why):gsub("\n", "\n    ")), "\n")
    out:flush()
end

-- Load every file first: a file that does not load counts as one failure.
for _, file in ipairs(files) do
    T.current_file = file
    local chunk, err = loadfile(T.tests_dir .. "/" .. file)
    if chunk then
        local ok, e = pcall(chunk)
        if not ok then
            report_failure(file, "(loading the file)", e)
        end
    else
        report_failure(file, "(loading the file)", err)
    end
end

local started = T.now()
-- Without the library every case would fail the same way: say it once.
local info_ok, info, ierr = pcall(function()
    return require("ljhttp").info()
end)
if not (info_ok and info) then
    report_failure("run.lua", "loading libljhttp (run `make`)", info_ok and ierr or info)
end
local ok_fixture, ferr = pcall(T.start_fixture)
if not (info_ok and info) or not ok_fixture then
    if not ok_fixture then
        report_failure("run.lua", "starting the fixture server", ferr)
    end
    T.stop_all()
    print(string.format("%d passed, %d failed", passed, failed))
    os.exit(1)
end

local function handler(e)
    if T.is_skip(e) then
        return e
    end
    if type(e) ~= "string" then
        e = tostring(e)
    end
    -- "/abs/path/tests/lua/test_x.lua:12:" -> "test_x.lua:12:"
    local prefix = T.tests_dir .. "/"
    local at = e:find(prefix, 1, true)
    while at do
        e = e:sub(1, at - 1) .. e:sub(at + #prefix)
        at = e:find(prefix, 1, true)
    end
    -- Errors raised by assertions already name the line; others get the
    -- innermost test-file frame for context.
    if not e:find("test_[%w_]+%.lua:%d+:") then
        local tb = debug.traceback("", 2)
        local where = tb:match("(test_[%w_]+%.lua:%d+):")
        if where then
            e = e .. " (at " .. where .. ")"
        end
    end
    return e
end

local verbose = os.getenv("LJHTTP_TEST_VERBOSE") == "1"
local current_file
for _, case in ipairs(T.cases) do
    if case.file ~= current_file then
        current_file = case.file
        out:write("# ", current_file, "\n")
        out:flush()
    end
    collectgarbage()
    collectgarbage()
    local t0 = T.now()
    local ok, e = xpcall(case.fn, handler)
    local dt = T.now() - t0
    if ok then
        passed = passed + 1
    elseif T.is_skip(e) then
        skipped = skipped + 1
        out:write("SKIP ", case.file, ": ", case.name, ": ", e.reason, "\n")
    else
        report_failure(case.file, case.name, e)
    end
    if verbose then
        out:write(string.format("  %-6s %6.3f s  %s\n", ok and "ok" or (T.is_skip(e) and "skip" or "FAIL"),
            dt, case.name))
    elseif dt > 5 then
        out:write("  (slow case: ", case.name, " took ", string.format("%.1f", dt), " s)\n")
    end
end
collectgarbage()

T.stop_all()
if skipped > 0 then
    out:write(string.format("%d skipped\n", skipped))
end
out:write(string.format("(%.1f s)\n", T.now() - started))
out:write(string.format("%d passed, %d failed\n", passed, failed))
out:flush()
-- `true`: close the Lua state, so every ffi.gc finalizer runs and what is
-- left at exit (LeakSanitizer in `make asan`, valgrind) is a real leak
os.exit(failed > 0 and 1 or 0, true)
