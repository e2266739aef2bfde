-- A script written for gluahttp runs unchanged with
-- package.preload.http = function() return require("ljhttp") end.
local T = require("support")

-- Written the way a gluahttp user writes it: globals, require("http"),
-- `response, error_message = http.request(...)`, plain error() on a
-- surprise. BASE is the only thing the test provides.
local SCRIPT = [==[
local http = require("http")

response, error_message = http.request("GET", BASE .. "/echo", {
    query = "page=1",
    headers = {
        Accept = "*/*",
        ["X-Script"] = "gluahttp"
    }
})
if error_message then error("request: " .. error_message) end
if response.status_code ~= 200 then error("status " .. response.status_code) end
if not string.find(response.body, "query page=1", 1, true) then error("query not sent") end
if not string.find(response.body, "X-Script: gluahttp", 1, true) then error("header not sent") end
if response.body_size ~= string.len(response.body) then error("body_size") end
if response.url ~= BASE .. "/echo?page=1" then error("url " .. response.url) end
if response.headers["Content-Type"] ~= "text/plain" then error("headers") end

response, error_message = http.get(BASE .. "/echo", {
    cookies = { session = "abc" },
    timeout = "5s"
})
if error_message then error("get: " .. error_message) end
if not string.find(response.body, "Cookie: session=abc", 1, true) then error("cookie not sent") end

response, error_message = http.post(BASE .. "/echo", {
    form = "name=value&other=1",
    timeout = 5
})
if error_message then error("post form: " .. error_message) end
if not string.find(response.body, "Content-Type: application/x-www-form-urlencoded", 1, true) then
    error("form content type")
end
if not string.find(response.body, "body-length 18", 1, true) then error("form body") end

response, error_message = http.post(BASE .. "/echo/body", { body = "raw body" })
if error_message then error("post body: " .. error_message) end
if response.body ~= "raw body" then error("body echo") end

response, error_message = http.get(BASE .. "/basic-auth", {
    auth = { user = "user", pass = "pass" }
})
if error_message then error("auth: " .. error_message) end
if response.status_code ~= 200 then error("auth status " .. response.status_code) end

response, error_message = http.get(BASE .. "/set-cookie?token=xyz")
if response.cookies["token"] ~= "xyz" then error("response cookies") end

response, error_message = http.head(BASE .. "/echo")
if response.status_code ~= 200 or response.body ~= "" then error("head") end
response, error_message = http.put(BASE .. "/echo", { body = "p" })
if error_message then error("put") end
response, error_message = http.patch(BASE .. "/echo", { body = "p" })
if error_message then error("patch") end
response, error_message = http.delete(BASE .. "/echo")
if error_message then error("delete") end

response, error_message = http.get(BASE .. "/slow?ms=2000", { timeout = "100ms" })
if response ~= nil or error_message == nil then error("timeout did not fail") end

response, error_message = http.get(BASE .. "/echo", { timeout = "soon" })
if not string.find(error_message, "invalid duration", 1, true) then error("duration: " .. tostring(error_message)) end

response, error_message = http.get("example.com/x")
if not string.find(error_message, 'unsupported protocol scheme ""', 1, true) then error("scheme") end

response, error_message = http.get(BASE .. "/redirect/2")
if response.url ~= BASE .. "/redirect/0" then error("redirect url") end

responses, errors = http.request_batch({
    { "get", BASE .. "/echo", { query = "n=1" } },
    { "post", BASE .. "/echo/body", { body = "second" } },
    { "get", "http://127.0.0.1:1/" },
    "nope"
})
if responses[1].status_code ~= 200 then error("batch 1") end
if responses[2].body ~= "second" then error("batch 2") end
if responses[3] ~= nil or errors[3] == nil then error("batch 3") end
if errors[4] ~= "Request must be a table" then error("batch 4: " .. tostring(errors[4])) end

responses, errors = http.request_batch({
    { "get", BASE .. "/echo" },
    { "get", BASE .. "/echo" }
})
if errors ~= nil then error("batch errors should be nil") end

return "done"
]==]

-- module: what require("http") gives (default: the ljhttp module)
local function run_script(src, module)
    local saved_preload, saved_loaded = package.preload.http, package.loaded.http
    package.loaded.http = nil
    package.preload.http = function()
        return module or require("ljhttp")
    end
    local env = setmetatable({ BASE = "http://127.0.0.1:" .. T.port }, { __index = _G })
    local chunk = assert(loadstring(src, "=gluahttp_script"))
    setfenv(chunk, env)
    local ok, res = pcall(chunk)
    package.preload.http, package.loaded.http = saved_preload, saved_loaded
    return ok, res, env
end

T.test("a gluahttp script runs unchanged", function()
    local ok, res, env = run_script(SCRIPT)
    T.ok(ok, "script failed: " .. tostring(res))
    T.eq(res, "done")
    T.is_nil(rawget(_G, "response"), "script globals stay in its environment")
    T.is_type(env.response, "table")
end)

T.test("require('http') gives the ljhttp module", function()
    local ok, res = run_script("return require('http') == require('ljhttp')")
    T.ok(ok, tostring(res))
    T.eq(res, true)
end)

T.test("a failing check in the script is reported (the harness can fail)", function()
    local ok, res = run_script([[
        local http = require("http")
        response, error_message = http.get(BASE .. "/status/404")
        if response.status_code ~= 200 then error("status " .. response.status_code) end
    ]])
    T.eq(ok, false)
    T.contains(tostring(res), "status 404")
end)

-- The mapping for a host that gave gluahttp a cookie jar: its scripts
-- call the client's functions with a dot.
T.test("a gluahttp script runs unchanged on a client (dot calls)", function()
    local c = assert(require("ljhttp").new({ cookie_jar = true }))
    local ok, res = run_script(SCRIPT, c)
    c:close()
    T.ok(ok, "script failed: " .. tostring(res))
    T.eq(res, "done")
end)

T.test("client functions work with a dot and with a colon", function()
    local c = assert(require("ljhttp").new({ cookie_jar = true }))
    local base = "http://127.0.0.1:" .. T.port
    local r1 = assert(c.get(base .. "/set-cookie?k=v"))
    T.eq(r1.status_code, 200)
    local r2 = assert(c:get(base .. "/echo"))
    T.contains(r2.body, "Cookie: k=v") -- one jar behind both forms
    local r3 = assert(c.request("POST", base .. "/echo/body", { body = "dot" }))
    T.eq(r3.body, "dot")
    local r4 = assert(c:request("POST", base .. "/echo/body", { body = "colon" }))
    T.eq(r4.body, "colon")
    local rs, errs = c.request_batch({ { "get", base .. "/echo" } })
    T.is_nil(errs)
    T.eq(rs[1].status_code, 200)
    local got
    local h = c.get_async(base .. "/echo", function(res)
        got = res
    end)
    T.ok(h:wait(10))
    T.eq(got.status_code, 200)
    local s = assert(c.stream("GET", base .. "/echo/body", { body = "s" }))
    T.eq(s:read(), "s")
    s:close()
    T.eq(c.close(), true)
    local _, err, code = c.get(base .. "/echo")
    T.eq(code, "closed", err)
end)
