-- Regressions: each case is a bug that was found and fixed; the test
-- fails if it comes back.
local T = require("support")
local R = require("reliability")
local http = require("ljhttp")

T.test("more than 32 request headers (the scratch array grows without losing any)", function()
    local headers = {}
    for i = 1, 70 do
        headers["X-H" .. i] = "v" .. i
    end
    local c = T.ok(http.new())
    for _ = 1, 2 do -- the first call used to fail: the array grew and dropped entries
        local e = T.echo(T.res(200, c:get(T.url("/echo"), { headers = headers })).body)
        for i = 1, 70 do
            T.eq(T.echo_headers(e, "X-H" .. i)[1], "v" .. i, "header X-H" .. i)
        end
    end
    c:close()
end)

T.test("a 302 with an empty Location is the answer, and the client stays usable", function()
    local c = T.ok(http.new())
    local raw = "HTTP/1.1 302 Found\r\nLocation: \r\nContent-Length: 5\r\nConnection: close\r\n\r\nmoved"
    local r = T.res(302, c:get(R.raw(raw)))
    T.eq(r.body, "moved", "the 3xx body is kept")
    T.res(200, c:get(T.url("/echo"))) -- its handle used to stay in the multi
    c:close()
end)

T.test("a caller's Host header does not follow a redirect to another origin", function()
    local target = T.url2("/echo")
    local url = T.url("/redirect-to?url=" .. target:gsub(":", "%%3A"):gsub("/", "%%2F") .. "&status=302")
    local r = T.res(200, http.get(url, { headers = { Host = "internal.example" } }))
    local e = T.echo(r.body)
    T.ne(T.echo_headers(e, "Host")[1], "internal.example", "Host after the cross-origin hop")
end)

T.test("option strings an __index builds are kept alive until C has copied them", function()
    local n_ok = 0
    for i = 1, 200 do
        local opts = setmetatable({}, { __index = function(_, k)
            if k == "timeout" then
                return string.format("%d.5s", 10 + i) -- a fresh string each time
            elseif k == "query" then
                collectgarbage() -- a collection between picking and the C call
                return "i=" .. i
            end
        end })
        local r = http.get(T.url("/echo"), opts)
        if r and T.echo(r.body).query == "i=" .. i then
            n_ok = n_ok + 1
        end
    end
    T.eq(n_ok, 200, "requests that kept their options")
end)

T.test("a client closed in a forked child ends its transfers instead of touching the parent's", function()
    local out = R.child("local URL = " .. string.format("%q", T.url("/slow?ms=2000")) .. "\n" .. [[
        local http = require("ljhttp")
        local ffi = require("ffi")
        ffi.cdef("int fork(void); int waitpid(int, int *, int); void _exit(int);")
        local c = http.new()
        local h = c:get_async(URL)
        c:run(0.1) -- in flight
        assert(not h:done(), "the request should still be running")
        local pid = ffi.C.fork()
        if pid == 0 then
            c:close()
            local r, err, code = h:wait(2)
            io.write(tostring(code), "\n")
            io.flush()
            ffi.C._exit(code == "closed" and 0 or 1)
        end
        local st = ffi.new("int[1]")
        ffi.C.waitpid(pid, st, 0)
        print("child " .. st[0])
        h:cancel()
    ]])
    T.match(out, "closed")
    T.match(out, "child 0")
end)
