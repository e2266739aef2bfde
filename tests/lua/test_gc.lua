-- The garbage collector running at awkward moments must not change any
-- result: between requests, inside option lookups (while the request is
-- being encoded), inside callbacks, and with clients left to the GC.
local T = require("support")
local http = require("ljhttp")

T.test("collectgarbage('step') between requests in a loop", function()
    local c = T.ok(http.new({ cookie_jar = true }))
    for i = 1, 200 do
        collectgarbage("step")
        local body = ("b" .. i):rep(i % 7 + 1)
        local r = T.res(200, c:post(T.url("/echo/body"), {
            body = body,
            headers = { ["X-N"] = i, ["X-S"] = "v" .. i },
            query = "i=" .. i,
        }))
        collectgarbage("step")
        T.eq(r.body, body, "round " .. i)
        T.eq(r.url, T.url("/echo/body?i=" .. i), "round " .. i)
    end
    c:close()
end)

T.test("full collections inside option lookups while a request is encoded", function()
    -- Options with a metatable: each absent key runs __index, which runs
    -- a full collection in the middle of encoding. Values built on the
    -- fly (numbers turned into strings, concatenations) must survive.
    local lookups = 0
    local mt = { __index = function()
        lookups = lookups + 1
        collectgarbage()
        return nil
    end }
    for i = 1, 30 do
        local cookies = { n = i, s = "c" .. i }
        local headers = setmetatable({ ["X-Num"] = i * 1000 + 7, ["X-Str"] = "h" .. i }, {})
        local o = setmetatable({ headers = headers, cookies = cookies, body = ("z"):rep(i) .. i }, mt)
        local r = T.res(200, http.post(T.url("/echo"), o))
        local e = T.echo(r.body)
        T.eq(T.echo_header(e, "X-Num"), tostring(i * 1000 + 7), "round " .. i)
        T.eq(T.echo_header(e, "X-Str"), "h" .. i, "round " .. i)
        T.eq(e.body_length, i + #tostring(i), "round " .. i)
        local ck = T.echo_header(e, "Cookie") or ""
        T.contains(ck, "n=" .. i, "round " .. i)
        T.contains(ck, "s=c" .. i, "round " .. i)
    end
    T.ok(lookups > 0, "__index ran")
end)

T.test("collections inside callbacks and on_chunk", function()
    local got, chunks = 0, 0
    local hs = {}
    for i = 1, 20 do
        hs[i] = http.get_async(T.url("/drip?chunks=3&interval_ms=5&size=" .. i), {
            on_chunk = function(s)
                collectgarbage()
                chunks = chunks + #s
            end,
        }, function(r, e)
            collectgarbage()
            T.res(200, r, e)
            got = got + 1
        end)
    end
    T.eq(http.run(20), true)
    T.eq(got, 20)
    local want = 0
    for i = 1, 20 do
        want = want + 3 * i
    end
    T.eq(chunks, want, "bytes through on_chunk")
end)

T.test("clients and responses left to the collector", function()
    collectgarbage()
    local base = T.fd_count()
    for i = 1, 30 do
        local c = http.new({ cookie_jar = i % 2 == 0 })
        T.res(200, c:get(T.url("/echo")))
        local h = c:get_async(T.url("/slow?ms=5"))
        if i % 3 == 0 then
            h:wait(5)
        end
        -- neither closed nor waited for: the GC must clean up
    end
    for _ = 1, 4 do
        collectgarbage()
    end
    T.res(200, http.get(T.url("/echo")))
    -- 30 clients leaked would keep 30 or more
    local after = T.fd_settle(base + 2)
    T.ok(after <= base + 2, "descriptors after collecting 30 clients: " .. base .. " -> " .. after)
end)

T.test("responses stay valid after the C side is freed", function()
    local rs = {}
    for i = 1, 50 do
        rs[i] = T.res(200, http.get(T.url("/bytes?n=" .. (i * 37) .. "&seed=" .. i)))
    end
    collectgarbage()
    collectgarbage()
    for i = 1, 50 do
        T.eq(#rs[i].body, i * 37)
        T.eq(rs[i].body:byte(1), i % 256)
        T.eq(rs[i].headers["content-length"], tostring(i * 37))
    end
end)

T.test("a large body does not restart a collector the application stopped", function()
    if not pcall(collectgarbage, "isrunning") then
        T.skip("this LuaJIT has no collectgarbage(\"isrunning\")")
    end
    collectgarbage("stop")
    local ok, r = pcall(http.get, T.url("/bytes?n=2000000"))
    local running = collectgarbage("isrunning")
    collectgarbage("restart")
    T.ok(ok, tostring(r))
    T.eq(T.res(200, r).body_size, 2000000)
    T.eq(running, false, "collector still stopped after a 2 MB body")
    T.eq(collectgarbage("isrunning"), true)
end)

T.test("large bodies in a loop: the previous ones are collected before the next is made", function()
    if T.foreign_allocator() then
        T.skip("another allocator is preloaded (sanitizer or valgrind run): freed memory stays in quarantine")
    end
    -- a separate process, so its peak RSS (VmHWM) is this loop's alone.
    -- Each body exists twice at its peak (C's buffer, then the Lua string);
    -- bodies already dropped must be gone by then, not wait for the collector
    local script = T.tmpfile("big_loop.lua")
    local mib = 8
    T.write_file(script, ([[
package.path = %q .. "/lua/?.lua;" .. package.path
local http = require("ljhttp")
local c = http.new()
local status = io.open("/proc/self/status"):read("*a")
local base = tonumber(status:match("VmRSS:%%s+(%%d+)"))
for i = 1, 12 do
    local r = assert(c:get(%q .. "&seed=" .. i))
    assert(r.body_size == %d * 1048576 and #r.body == r.body_size)
end
status = io.open("/proc/self/status"):read("*a")
print(base, tonumber(status:match("VmHWM:%%s+(%%d+)")))
]]):format(T.root, T.url("/bytes?n=" .. mib * 1048576), mib))
    local out, ok = T.capture(T.shq(arg and arg[-1] or "luajit") .. " " .. T.shq(script))
    T.ok(ok, out)
    local base, hwm = out:match("^(%d+)%s+(%d+)")
    T.not_nil(hwm, out)
    local grown = (tonumber(hwm) - tonumber(base)) / 1024
    io.stdout:write(string.format("  (12 x %d MiB bodies: peak RSS grew %.1f MiB)\n", mib, grown))
    -- C's buffer + the new string + one old string at most, plus slack
    T.lt(grown, 3 * mib + 4, "peak RSS growth in MiB")
end)
