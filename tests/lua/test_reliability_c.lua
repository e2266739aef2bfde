-- Reliability group C (../shared/reliability-cases.md 44-52): lifetime,
-- concurrency and resources. `make test` runs short versions of the long
-- cases; `make soak` sets LJHTTP_SOAK=1 for the catalogue's full counts.
local T = require("support")
local R = require("reliability")
local ffi = require("ffi")
local http = require("ljhttp")

local SOAK = os.getenv("LJHTTP_SOAK") == "1"
local SANITIZED = os.getenv("LJHTTP_VALGRIND") == "1" or (os.getenv("LD_PRELOAD") or ""):find("asan") ~= nil

local function settle()
    R.heap()
    return R.fds().n
end

-- ---- 44: a batch of 1,000 mixed items, cap 64, repeated ----

local function mixed_batch()
    local reqs, kinds = {}, {}
    for i = 1, 1000 do
        local k = i % 8
        if k <= 3 then
            reqs[i], kinds[i] = { "GET", T.url("/echo?i=" .. i) }, "ok"
        elseif k <= 5 then
            reqs[i], kinds[i] = { "GET", T.url("/status/404?i=" .. i) }, "404"
        elseif k == 6 then
            reqs[i], kinds[i] = { "GET", T.refused_url }, "refused"
        else
            reqs[i], kinds[i] = { "GET", T.url("/stall?i=" .. i), { timeout = 0.3 } }, "timeout"
        end
    end
    return reqs, kinds
end

T.test("C44 batch of 1,000 (ok/404/refused/timeout), cap 64, repeated", function()
    local reps = SOAK and 100 or 3
    local fds0 = settle()
    local reqs, kinds = mixed_batch()
    local c = http.new()
    local worst = 0
    for rep = 1, reps do
        local t0 = T.now()
        local res, errs = c:request_batch(reqs, { concurrency = 64 })
        worst = math.max(worst, T.now() - t0)
        for i = 1, 1000 do
            local k, r, e = kinds[i], res[i], errs and errs[i]
            if k == "ok" then
                T.ok(r and r.status_code == 200 and r.url == T.url("/echo?i=" .. i), "rep " .. rep .. " item " .. i)
            elseif k == "404" then
                T.ok(r and r.status_code == 404, "rep " .. rep .. " item " .. i)
            elseif k == "refused" then
                T.ok(r == nil and type(e) == "string" and e:find("127.0.0.1:1", 1, true), "rep " .. rep .. " item " .. i
                    .. ": " .. tostring(e))
            else
                T.ok(r == nil and type(e) == "string" and e:find("timed out", 1, true), "rep " .. rep .. " item " .. i
                    .. ": " .. tostring(e))
            end
        end
        res, errs = nil, nil
        local open = R.fds().n
        T.ok(open <= fds0 + 66, "rep " .. rep .. ": " .. open .. " descriptors open, baseline " .. fds0)
    end
    c:close()
    T.eq(settle(), fds0, "descriptors after " .. reps .. " batches")
    R.figures = R.figures or {}
    R.figures.c44 = string.format("%d batches of 1,000, slowest %.2f s", reps, worst)
end)

-- ---- 45: every server hangs ----

T.test("C45 batch where every server hangs: about one timeout, not N", function()
    local silent = T.res(200, http.get(R.furl("/silent-port"))).body
    for _, url in ipairs({ R.furl("/accept-never"), "http://127.0.0.1:" .. silent .. "/" }) do
        local reqs = {}
        for i = 1, 50 do
            reqs[i] = { "GET", url .. "?i=" .. i, { timeout = 1 } }
        end
        local fds0 = settle()
        local c = http.new()
        local t0 = T.now()
        local res, errs = c:request_batch(reqs, { concurrency = 50 })
        local dt = T.now() - t0
        c:close()
        T.ok(dt >= 0.95 and dt <= 1.1 + R.slack * 2, string.format("50 hanging items took %.3f s", dt))
        for i = 1, 50 do
            T.eq(res[i], nil)
            T.match(errs[i], "timed out", "item " .. i)
        end
        T.eq(settle(), fds0, "descriptors")
    end
end)

-- ---- 46: sequential requests, flat resources ----

T.test("C46 sequential requests: RSS, Lua heap and descriptors flat", function()
    local n = SOAK and 100000 or 3000
    local warm = math.floor(n / 5)
    local c = http.new()
    local url = T.url("/echo")
    for _ = 1, warm do
        assert(c:get(url))
    end
    local fds0, heap0, rss0 = settle(), R.heap(), R.rss_kb()
    local t0 = T.now()
    for i = 1, n - warm do
        local r = c:get(url)
        if not r or r.status_code ~= 200 then
            T.fail("request " .. i .. " failed")
        end
    end
    local dt = T.now() - t0
    local fds1, heap1, rss1 = settle(), R.heap(), R.rss_kb()
    c:close()
    T.eq(fds1, fds0, "descriptors")
    T.ok(heap1 - heap0 < R.heap_slack_kb, string.format("Lua heap grew by %.1f KiB", heap1 - heap0))
    if not SANITIZED then
        T.ok(rss1 - rss0 < 1024, string.format("RSS grew by %d KiB after warm-up", rss1 - rss0))
    end
    R.figures = R.figures or {}
    R.figures.c46 = string.format("%d requests after %d warm-up: %.0f req/s, RSS %+d KiB, heap %+.1f KiB, fds %+d",
        n - warm, warm, (n - warm) / dt, rss1 - rss0, heap1 - heap0, fds1 - fds0)
end)

-- ---- 47: descriptor limit 64 ----

T.test("C47 descriptor limit 64, batch of 200: per-item errors, no crash", function()
    local out, ok = R.child([[
local http = require("ljhttp")
local reqs = {}
for i = 1, 200 do
    reqs[i] = { "GET", ]] .. string.format("%q", T.url("/slow?ms=300")) .. [[, { timeout = 5 } }
end
local res, errs = http.request_batch(reqs, { concurrency = 200 })
local good, bad, missing = 0, 0, 0
for i = 1, 200 do
    if res[i] and res[i].status_code == 200 then
        good = good + 1
    elseif errs and type(errs[i]) == "string" then
        bad = bad + 1
    else
        missing = missing + 1
    end
end
local again = http.get(]] .. string.format("%q", T.url("/echo")) .. [[)
print("good " .. good .. " bad " .. bad .. " missing " .. missing .. " after " .. tostring(again and again.status_code))
print("sample " .. tostring(errs and errs[200]))
]], "ulimit -n 64;")
    T.ok(ok, "the child failed: " .. out)
    local good, bad, missing = out:match("good (%d+) bad (%d+) missing (%d+)")
    T.ok(good, "no summary: " .. out)
    T.eq(tonumber(good) + tonumber(bad), 200, out)
    T.eq(tonumber(missing), 0, out)
    T.ok(tonumber(bad) > 0, "the limit was reached: " .. out)
    T.contains(out, "after 200")
end)

-- ---- 48: allocation failures ----

T.test("C48 every allocation of a request failing in turn: errors or success, no crash, no leak", function()
    if T.foreign_allocator() then
        T.skip("another allocator is preloaded (sanitizer or valgrind run)")
    end
    local so = T.tmpfile("failmalloc.so")
    local ok = T.sh("cc -shared -fPIC -O1 -o " .. T.shq(so) .. " " .. T.shq(T.root .. "/tests/c/failmalloc.c") .. " 2>&1")
    if not ok then
        T.skip("no C compiler to build the allocation shim")
    end
    local out, cok = R.child([[
local ffi = require("ffi")
-- no trace may compile in the armed window: LuaJIT registers its unwind
-- information through libgcc, which crashes when that malloc fails
jit.off()
ffi.cdef("void failmalloc_arm(long n); long failmalloc_disarm(void); long failmalloc_live(void);")
local F = ffi.C
local http = require("ljhttp")
local url = ]] .. string.format("%q", T.url("/echo?x=1")) .. [[
local function once()
    local c, cerr = http.new({ cookie_jar = true })
    local r, msg, code
    if c then
        r, msg, code = c:post(url, { body = "payload", headers = { ["X-A"] = "1" }, cookies = { s = "v" },
            query = { q = "a b" }, timeout = 5 })
    else
        msg, code = cerr, "internal"
    end
    return c, r, msg, code
end
for _ = 1, 3 do
    local c = once()
    if c then c:close() end
end
-- pass 1 makes the state libraries allocate once, lazily, on their error
-- paths (OpenSSL's error queue...); pass 2 must then be exact
for pass = 1, 2 do
    local codes, leaks, n, leak_at = {}, 0, 0, {}
    while n < 5000 do
        n = n + 1
        collectgarbage() collectgarbage()
        local live0 = tonumber(F.failmalloc_live())
        F.failmalloc_arm(n)
        local c, r, msg, code = once()
        local used = tonumber(F.failmalloc_disarm())
        if c then c:close() end
        c = nil
        local what = r and ("status_" .. r.status_code) or tostring(code)
        codes[what] = (codes[what] or 0) + 1
        r = nil
        collectgarbage() collectgarbage()
        local d = tonumber(F.failmalloc_live()) - live0
        if d ~= 0 then
            leaks = leaks + 1
            leak_at[#leak_at + 1] = n .. ":" .. d .. ":" .. what
        end
        if used < n then
            break
        end
    end
    local parts = {}
    for k, v in pairs(codes) do parts[#parts + 1] = k .. "=" .. v end
    table.sort(parts)
    print("pass " .. pass .. " allocations " .. (n - 1) .. " leaks " .. leaks .. " ["
        .. table.concat(leak_at, " ", 1, math.min(#leak_at, 20)) .. "] results " .. table.concat(parts, " "))
end
]], "LD_PRELOAD=" .. T.shq(so)
        -- proxy variables a client copies when it is made (never used here:
        -- the requests are http to a host no_proxy names)
        .. " no_proxy=127.0.0.1,localhost https_proxy=http://127.0.0.1:9")
    T.ok(cok, "the child crashed or failed: " .. out)
    local allocs, leaks = out:match("pass 2 allocations (%d+) leaks (%d+)")
    T.ok(allocs, "no summary: " .. out)
    T.ok(tonumber(allocs) > 50, "allocations seen: " .. out)
    T.eq(tonumber(leaks), 0, "iterations that leaked: " .. out)
    R.figures = R.figures or {}
    R.figures.c48 = out:gsub("\n", "; ")
end)

-- ---- 49: fork ----

R.cdef("fork", "int fork(void);")
R.cdef("waitpid", "int waitpid(int pid, int *status, int options);")
R.cdef("_exit", "void _exit(int status);")
R.cdef("execv", "int execv(const char *path, char *const argv[]);")

-- Ends a forked child with status code without its exit-time leak check:
-- under valgrind, the parent's connections the child abandons on purpose
-- (engine.c check_fork) would count as leaks there. exec leaves valgrind
-- behind (--trace-children=no); _exit only if exec fails.
local function child_exit(code)
    local cmd = "exit " .. code -- referenced until execv: argv points into it
    local argv = ffi.new("const char *[4]", { "sh", "-c", cmd, nil })
    ffi.C.execv("/bin/sh", ffi.cast("char *const *", argv))
    ffi.C._exit(code)
end

T.test("C49 fork after loading: requests work in the child", function()
    local c = http.new()
    T.res(200, c:get(T.url("/echo")))           -- a kept-alive connection in the parent
    T.res(200, http.get(T.url("/echo")))        -- and in the default client
    io.stdout:flush()
    local result = T.tmpfile("fork_result")
    os.remove(result)
    local pid = ffi.C.fork()
    if pid == 0 then
        local okc, good = pcall(function()
            local r1 = c:get(T.url("/echo?child=1"))
            local r2 = http.get(T.url("/echo?child=2"))
            local c2 = http.new()
            local r3 = c2:get(T.url("/echo?child=3"))
            c2:close()
            local res = c:request_batch({ { "GET", T.url("/echo?b=1") }, { "GET", T.url("/echo?b=2") } })
            return r1 and r1.status_code == 200 and r2 and r2.status_code == 200 and r3 and r3.status_code == 200
                and res[1] and res[2] and res[2].status_code == 200
        end)
        local f = io.open(result, "w")
        if f then
            f:write(okc and good and "ok" or ("failed: " .. tostring(good)))
            f:close()
        end
        child_exit(okc and good and 0 or 3)
    end
    T.ok(pid > 0, "fork failed")
    local st = ffi.new("int[1]")
    T.eq(ffi.C.waitpid(pid, st, 0), pid)
    T.eq(T.read_file(result), "ok", "what the child reported")
    T.eq(st[0], 0, "child exit status")
    -- and the parent's client still works
    T.res(200, c:get(T.url("/echo?parent=1")))
    c:close()
end)

-- ---- 50: require 100 times ----

T.test("C50 package.loaded.ljhttp = nil; require 100 times: no redefine, no growth", function()
    local saved = {}
    for k, v in pairs(package.loaded) do
        if k == "ljhttp" or k:find("^ljhttp%.") then
            saved[k] = v
        end
    end
    local function run(all)
        for i = 1, 100 do
            package.loaded.ljhttp = nil
            if all then
                for k in pairs(package.loaded) do
                    if k:find("^ljhttp%.") and not k:find("^ljhttp%.hosts") then
                        package.loaded[k] = nil
                    end
                end
            end
            local ok, m = pcall(require, "ljhttp")
            T.ok(ok, "require " .. i .. ": " .. tostring(m))
            if i % 20 == 0 then
                T.res(200, m.get(T.url("/echo")))
            end
        end
    end
    local okr, err = pcall(function()
        run(false)
        local h0, f0 = R.heap(), settle()
        run(false)
        local h1, f1 = R.heap(), settle()
        T.ok(h1 - h0 < 256, string.format("Lua heap grew by %.1f KiB over 100 requires", h1 - h0))
        T.eq(f1, f0, "descriptors")
        run(true)
    end)
    for k, v in pairs(saved) do
        package.loaded[k] = v
    end
    if not okr then
        error(err, 0)
    end
end)

-- ---- 51: GC and JIT stress ----

T.test("C51 GC and JIT stress: identical results with jit off, on and hotloop=1", function()
    local function run()
        local c = http.new()
        local out = {}
        for i = 1, 150 do
            collectgarbage("step")
            local r, msg, code = c:get(T.url(i % 5 == 0 and "/status/404" or "/echo"), {
                headers = { ["X-I"] = i }, query = { i = i } })
            collectgarbage("step")
            if r then
                out[#out + 1] = r.status_code .. ":" .. #r.body .. ":" .. tostring(r.headers["content-type"])
                    .. ":" .. #r.header_list
            else
                out[#out + 1] = tostring(code) .. ":" .. tostring(msg)
            end
            local e1, e2, e3 = c:get("ftp://x/")
            out[#out + 1] = tostring(e1) .. tostring(e3)
        end
        local res = c:request_batch({ { "GET", T.url("/echo") }, { "GET", T.refused_url }, "x" })
        out[#out + 1] = tostring(res[1] and res[1].status_code)
        c:close()
        return table.concat(out, "\n")
    end
    local results = {}
    local okr, err = pcall(function()
        jit.off()
        jit.flush()
        results[1] = run()
        jit.on()
        results[2] = run()
        jit.opt.start("hotloop=1")
        jit.flush()
        results[3] = run()
    end)
    jit.on()
    jit.opt.start("hotloop=56")
    if not okr then
        error(err, 0)
    end
    T.ok(results[1] == results[2], "jit off vs on")
    T.ok(results[1] == results[3], "jit off vs hotloop=1")
end)

-- ---- 52: JSON entry points ----

T.test("C52 JSON fed truncated, 1,001-deep and huge-number documents: errors, no crash", function()
    local okj, json = pcall(require, "ljhttp.json")
    if not okj then
        T.skip("no ljhttp.json")
    end
    local doc = '{"a":[1,2.5,-3e10,true,false,null,"x\\u00e9\\n"],"b":{"c":{"d":[[],{}]}}}'
    T.ok(json.decode(doc), "the full document decodes")
    for i = 0, #doc - 1 do
        local r = T.call(json.decode, doc:sub(1, i))
        T.eq(r[1], nil, "prefix of " .. i .. " bytes")
        T.is_type(r[2], "string")
    end
    for _, deep in ipairs({ 1001, 100000 }) do
        local r = T.call(json.decode, string.rep("[", deep) .. string.rep("]", deep))
        T.eq(r[1], nil, deep .. " deep")
        T.match(r[2], "deep", deep .. " deep")
        r = T.call(json.decode, string.rep('{"a":', deep) .. "1" .. string.rep("}", deep))
        T.eq(r[1], nil, deep .. " deep objects")
    end
    for _, s in ipairs({ "1e400", "-1e400", "123456789012345678901234567890", "1" .. string.rep("0", 5000),
        "0." .. string.rep("1", 5000), "-", "1e", "[1e99999999999999999]" }) do
        T.call(json.decode, s) -- any result; it must not raise or crash
    end
    -- encoding: deep tables and cycles are errors, not stack overflows
    local t = {}
    local cur = t
    for _ = 1, 1001 do
        cur[1] = {}
        cur = cur[1]
    end
    local r = T.call(json.encode, t)
    T.eq(r[1], nil, "1,001-deep table")
    local cyc = {}
    cyc.self = cyc
    r = T.call(json.encode, cyc)
    T.eq(r[1], nil, "a cycle")
    -- through a response: decode = "json" on truncated and deep bodies
    local bodies = { doc:sub(1, 20), string.rep("[", 1001) .. string.rep("]", 1001), "1e400" }
    for _, b in ipairs(bodies) do
        local got = R.case({ label = "decode json " .. #b, code = "any", call = function(c)
            return c:get(R.raw("HTTP/1.1 200 OK\r\nContent-Length: " .. #b .. "\r\n\r\n" .. b), { decode = "json" })
        end })
        if type(got) == "table" then
            T.ok(got.json_error ~= nil or got.json_value ~= nil, "a value or a json_error")
        end
    end
end)

T.test("C: figures", function()
    if os.getenv("LJHTTP_TEST_VERBOSE") == "1" and R.figures then
        for k, v in pairs(R.figures) do
            print("  " .. k .. ": " .. v)
        end
    end
end)
