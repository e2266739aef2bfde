-- Readiness backends: the client option `backend` and LJHTTP_BACKEND
-- choose one (epoll, kqueue, portable); names this build lacks are
-- refused. The whole suite runs once per backend (make test-portable).
local T = require("support")
local http = require("ljhttp")

local function backend_of(c)
    return require("ffi").string(c.C.ljh_client_backend(c.cptr))
end

T.test("backend: a name this build does not have is invalid_argument", function()
    for _, name in ipairs({ "kqueue", "select", "", "epoll\0", 1, true }) do
        local c, err, code = http.new({ backend = name })
        T.eq(c, nil, tostring(name))
        T.eq(code, "invalid_argument", tostring(name))
        T.match(err, "backend", tostring(name))
    end
end)

T.test("backend: portable and epoll both run requests", function()
    for _, name in ipairs({ "portable", "epoll" }) do
        local c = assert(http.new({ backend = name }))
        T.eq(backend_of(c), name)
        T.eq(c.C.ljh_client_fd(c.cptr) >= 0, name == "epoll", name .. ": a descriptor")
        local r = T.res(200, c:get(T.url("/echo")))
        T.ok(#r.body > 0)
        local n = 0
        for i = 1, 20 do
            c:get_async(T.url("/echo?i=" .. i), function(res)
                n = n + (res and res.status_code == 200 and 1 or 0)
            end)
        end
        c:run(30)
        T.eq(n, 20, name)
        c:close()
    end
end)

local function child(env, code)
    local cmd = env .. " " .. T.shq(os.getenv("LUAJIT") or "luajit") .. " -e "
        .. T.shq("package.path = " .. string.format("%q", T.root .. "/lua/?.lua;") .. " .. package.path; " .. code)
    return T.capture(cmd .. " 2>&1")
end

T.test("backend: LJHTTP_BACKEND chooses the default, the option wins over it", function()
    local out = child("LJHTTP_BACKEND=portable", [[
        local http = require("ljhttp")
        local ffi = require("ffi")
        local c = assert(http.new())
        local d = assert(http.new({ backend = "epoll" }))
        io.write(ffi.string(c.C.ljh_client_backend(c.cptr)), " ", ffi.string(d.C.ljh_client_backend(d.cptr)))
    ]])
    T.eq(out, "portable epoll")
    out = child("LJHTTP_BACKEND=nope", [[
        local c, err, code = require("ljhttp").new()
        io.write(tostring(c), " ", code, " ", err)
    ]])
    T.match(out, "^nil invalid_argument LJHTTP_BACKEND must name a backend")
end)

T.test("backend: without a default client the module's async calls end their handle, callback once", function()
    -- the module's functions have no client when LJHTTP_BACKEND is refused
    local out = child("LJHTTP_BACKEND=nope", [[
        local http = require("ljhttp")
        local calls = {}
        local function cb(res, err, code)
            calls[#calls + 1] = tostring(res) .. " " .. tostring(code)
        end
        local h1 = http.get_async("http://127.0.0.1:1/", nil, cb)
        local h2 = http.get_async("http://127.0.0.1:1/", cb) -- callback in the options' place
        local h3 = http.request_async("GET", "http://127.0.0.1:1/", nil, cb)
        local _, _, c1 = h1:wait(1)
        local _, _, c3 = h3:wait(1)
        io.write(#calls, " ", table.concat(calls, ","), " ", tostring(h2:done()), " ", c1, " ", c3)
    ]])
    T.eq(out, "3 nil internal,nil internal,nil internal true internal internal")
end)
