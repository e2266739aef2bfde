-- Plain LuaJIT host test, run by tests/luajit/run.sh: many handles with
-- ljhttp.run(), waits with timeouts, cancel. Needs LJH_FIXTURE (the
-- fixture's base URL); package.path must reach the checkout's lua/.
local http = require("ljhttp")

local BASE = assert(os.getenv("LJH_FIXTURE"), "LJH_FIXTURE not set")
local passed, failed = 0, 0

local function check(name, cond, detail)
    if cond then
        passed = passed + 1
        print("ok - " .. name)
    else
        failed = failed + 1
        print("not ok - " .. name .. (detail ~= nil and (": " .. tostring(detail)) or ""))
    end
end

local C
local function now()
    C = C or require("ljhttp.loader").load()
    return tonumber(C.ljh_now_ms())
end

local function test(name, fn)
    local ok, err = xpcall(fn, debug.traceback)
    if not ok then
        check(name .. " (raised)", false, err)
    end
end

test("many", function()
    local c = assert(http.new({}))
    check("host is luajit by default", c.host.name == "luajit", c.host.name)
    local N, good, order = 100, 0, {}
    local t0 = now()
    for i = 1, N do
        http.get_async(BASE .. "/slow?ms=100&i=" .. i, function(res)
            if res and res.body == "slow 100" then
                good = good + 1
            end
        end)
        c:get_async(BASE .. "/echo?i=" .. i, function(res)
            order[#order + 1] = res and res.status_code
        end)
    end
    check("nothing runs before run()", good == 0 and #order == 0)
    local all = http.run(20)
    local ms = now() - t0
    check("ljhttp.run() drives every client", all == true and good == N and #order == N,
        good .. " " .. #order)
    check(string.format("%d slow requests ran at once (%d ms)", N, ms), ms < 5000, ms)
    c:close()
end)

test("wait", function()
    local c = assert(http.new({}))
    local h = c:get_async(BASE .. "/slow?ms=3000")
    local t0 = now()
    local res, err, code = h:wait(0.2)
    local ms = now() - t0
    check(string.format("wait(0.2) times out (%d ms)", ms),
        res == nil and code == "timeout" and err == "wait timed out" and ms >= 190 and ms < 1000, code)
    check("not done after a timed-out wait", h:done() == false)
    local t1 = now()
    check("run(0.1) reports unfinished work", c:run(0.1) == false)
    check("run(0.1) returned in time", now() - t1 < 1000)
    local got
    local h2 = c:get_async(BASE .. "/slow?ms=20", function(r) got = r and r.body end)
    local r2 = h2:wait(5)
    check("wait returns the response and the callback has run", r2 and r2.body == "slow 20" and got == "slow 20", got)
    h:cancel()
    local _, e3, code3 = h:wait()
    check("cancel: nil, cancelled", code3 == "cancelled", e3)
    c:close()
end)

test("cancel", function()
    local c = assert(http.new({}))
    local cb
    local h = c:get_async(BASE .. "/stall", function(res, err, code)
        cb = { res, err, code }
    end)
    c:run(0.2) -- let it connect and send
    check("a /stall request is in flight", not h:done())
    h:cancel()
    check("done right after cancel", h:done())
    c:run(1)
    check("callback got nil, cancelled", cb and cb[1] == nil and cb[3] == "cancelled", cb and cb[2])
    -- the connection is gone: the next request opens a new one and works
    local r = c:get(BASE .. "/echo")
    check("client still usable after cancel", r and r.status_code == 200)
    c:close()
end)

test("callback errors", function()
    local c = assert(http.new({}))
    local seen = 0
    for i = 1, 3 do
        c:get_async(BASE .. "/echo?i=" .. i, function()
            seen = seen + 1
            -- whichever answer comes first raises: completion order is
            -- the server's and the scheduler's, not the submit order
            if seen == 1 then
                error("boom")
            end
        end)
    end
    local ok, err = pcall(c.run, c, 5)
    check("an error in a callback reaches the caller of run()", not ok and tostring(err):find("boom"), err)
    check("the other callbacks ran before run() raised", seen == 3, seen)
    check("run() raises it once", c:run(5) == true and seen == 3, seen)
    c:close()
end)

print(string.format("%d passed, %d failed", passed, failed))
os.exit(failed == 0 and 0 or 1)
