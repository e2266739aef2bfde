-- User tables under a LuaJIT built with LUAJIT_ENABLE_LUA52COMPAT (Debian
-- unstable's, and Neovim 0.12's there): pairs() honours __pairs, ipairs()
-- __ipairs and # __len. ljhttp walks user tables raw (next, rawget), so
-- such metamethods never raise out of a request or json.encode, and what
-- is sent is what the table holds.
--
-- Each case runs in a child luajit. When that LuaJIT is not 5.2-compatible
-- (LJHTTP_LUAJIT picks another), the child's pairs and ipairs are replaced
-- by 5.2's before ljhttp loads, so the check holds on either flavour.
local T = require("support")
local R = require("reliability")

local PRELUDE = [[
local native = pcall(pairs, setmetatable({}, { __pairs = function() error("native") end }))
COMPAT = native and "emulated" or "native"
if native then
    -- this LuaJIT ignores __pairs: behave as one built with 5.2 compat
    local next, rawget, getmetatable = next, rawget, getmetatable
    function pairs(t)
        local mt = getmetatable(t)
        local h = type(mt) == "table" and rawget(mt, "__pairs")
        if h then
            return h(t)
        end
        return next, t, nil
    end
    local ipairs0 = ipairs
    function ipairs(t)
        local mt = getmetatable(t)
        local h = type(mt) == "table" and rawget(mt, "__ipairs")
        if h then
            return h(t)
        end
        return ipairs0(t)
    end
end
local http = require("ljhttp")
local URL = ...
local n_fail = 0
local function say(ok, label, why)
    if not ok then
        n_fail = n_fail + 1
    end
    print((ok and "ok " or "FAIL ") .. label .. (ok and "" or (": " .. tostring(why))))
end
-- a table whose metamethods all raise
local function raising(t)
    local function boom()
        error("metamethod called")
    end
    return setmetatable(t or {}, { __pairs = boom, __ipairs = boom, __index = boom, __len = boom })
end
-- a table whose __pairs shows other content than it holds
local function lying(own, shown)
    return setmetatable(own, { __pairs = function()
        return next, shown, nil
    end, __ipairs = function()
        return ipairs(shown)
    end })
end
-- calls f; it must not raise and must give a response or nil, msg, code
local function values(label, f, ...)
    local ok, a, b, c = pcall(f, ...)
    if not ok then
        return say(false, label, "raised: " .. tostring(a))
    end
    if type(a) == "table" or type(a) == "string" or (a == nil and type(b) == "string" and type(c) == "string") then
        return say(true, label), a
    end
    say(false, label, "got " .. tostring(a) .. ", " .. tostring(b) .. ", " .. tostring(c))
end
]]

local CASES = [[
local echo = URL .. "/echo"
-- raising metamethods on every nested table: values, never a raise
values("headers", http.get, echo, { headers = raising() })
values("cookies", http.get, echo, { cookies = raising() })
values("query", http.get, echo, { query = raising() })
values("form", http.post, echo, { form = raising() })
values("form value", http.post, echo, { form = { a = raising({ "x" }) } })
values("multipart", http.post, echo, { multipart = raising({ { name = "a", data = "b" } }) })
values("multipart part", http.post, echo, { multipart = { raising({ name = "a", data = "b" }) } })
values("auth", http.get, echo, { auth = raising() })
values("proxy_auth", http.get, echo, { proxy_auth = raising() })
values("json.encode", http.json.encode, { a = raising({ b = 1 }) })
values("json body", http.post, echo, { json = { a = raising({ 1, 2 }) } })
values("client defaults", function()
    local c, msg, code = http.new({ headers = raising({ ["X-A"] = "1" }) })
    if not c then
        return nil, msg, code
    end
    return c:get(echo)
end)
values("async", function()
    return http.get_async(echo, { headers = raising() }):wait(10)
end)
values("stream", function()
    local st, msg, code = http.stream("GET", echo, { headers = raising(), cookies = raising() })
    if st then
        st:close()
        return { status_code = st.status_code }
    end
    return nil, msg, code
end)
values("sse", function()
    local ev, msg, code = http.sse(echo, { headers = raising() })
    return ev and {} or nil, msg, code
end)
values("batch", function()
    local rs = http.request_batch(raising({ { "GET", echo } }))
    return type(rs) == "table" and { status_code = 200 } or rs
end)

-- what is sent is what the table holds, not what __pairs shows
local function check(label, r, want, unwanted)
    if type(r) ~= "table" or not r.body then
        return say(false, label, "no response")
    end
    local body = r.body
    say(body:find(want, 1, true) ~= nil and not body:find(unwanted, 1, true), label, body)
end
local _, r = values("own headers", http.get, echo, { headers = lying({ ["X-Own"] = "own" }, { ["X-Shown"] = "shown" }) })
check("own headers sent", r, "X-Own: own", "X-Shown")
_, r = values("own query", http.get, echo, { query = lying({ own = "1" }, { shown = "1" }) })
check("own query sent", r, "query own=1", "shown")
_, r = values("own form", http.post, URL .. "/echo/body", { form = lying({ own = "1" }, { shown = "1" }) })
check("own form sent", r, "own=1", "shown")
_, r = values("own cookies", http.get, echo, { cookies = lying({ own = "1" }, { shown = "1" }) })
check("own cookies sent", r, "own=1", "shown")
local s = http.json.encode(lying({ own = 1 }, { shown = 1 }))
say(s == '{"own":1}', "json.encode encodes what the table holds", s)
s = http.json.encode(lying({ 1, 2 }, { 7, 8, 9 }))
say(s == "[1,2]", "json.encode of an array", s)
print("compat " .. COMPAT)
print("failed " .. n_fail)
]]

T.test("lua 5.2 compat: __pairs and friends never raise and never change what is sent", function()
    local file = T.tmpfile("compat52_child.lua")
    T.write_file(file, "package.path = " .. string.format("%q", package.path) .. "\n" .. PRELUDE .. CASES)
    local lj = os.getenv("LJHTTP_LUAJIT") or "luajit"
    local out = T.capture(lj .. " " .. T.shq(file) .. " " .. T.shq("http://127.0.0.1:" .. T.port) .. " 2>&1")
    os.remove(file)
    T.not_contains(out, "FAIL", out)
    T.contains(out, "failed 0")
    T.match(out, "compat %a+")
    local n = 0
    for _ in out:gmatch("\nok ") do
        n = n + 1
    end
    T.ok(n >= 23, "cases run: " .. n .. "\n" .. out)
end)
