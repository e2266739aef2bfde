-- Cookie jars: none for module functions, one per client when asked.
local T = require("support")
local http = require("ljhttp")

local function cookie_set(body)
    local got = {}
    for pair in (body .. ";"):gmatch("%s*([^;]+);") do
        local k, v = pair:match("^([^=]+)=(.*)$")
        if k then
            got[k] = v
        end
    end
    return got
end

T.test("module functions keep no cookies between calls", function()
    local r = T.res(200, http.get(T.url("/set-cookie?mod_a=1&mod_b=2")))
    T.same(r.cookies, { mod_a = "1", mod_b = "2" }, "cookies of the response")
    r = T.res(200, http.get(T.url("/cookies")))
    T.eq(r.body, "", "Cookie header sent by the next module call")
end)

T.test("module functions: no cookies after a set-cookie redirect either", function()
    local r = T.res(200, http.get(T.url("/set-cookie-redirect?rd=1")))
    T.eq(r.body, "")
    r = T.res(200, http.get(T.url("/cookies")))
    T.eq(r.body, "")
end)

T.test("a client without cookie_jar keeps no cookies", function()
    local c = T.ok(http.new())
    T.res(200, c:get(T.url("/set-cookie?nojar=1")))
    T.eq(T.res(200, c:get(T.url("/cookies"))).body, "")
    c:close()
end)

T.test("cookie_jar = true: cookies set by /set-cookie are sent later", function()
    local c = T.ok(http.new({ cookie_jar = true }))
    T.res(200, c:get(T.url("/set-cookie?j1=one&j2=two")))
    local r = T.res(200, c:get(T.url("/cookies")))
    T.same(cookie_set(r.body), { j1 = "one", j2 = "two" })
    -- a later Set-Cookie replaces the value
    T.res(200, c:get(T.url("/set-cookie?j1=uno")))
    r = T.res(200, c:get(T.url("/cookies")))
    T.same(cookie_set(r.body), { j1 = "uno", j2 = "two" })
    c:close()
end)

T.test("cookie_jar = true: also within a request_batch", function()
    local c = T.ok(http.new({ cookie_jar = true }))
    local rs, errs = c:request_batch({ { "GET", T.url("/set-cookie?b1=x") } })
    T.is_nil(errs)
    T.res(200, rs[1])
    rs, errs = c:request_batch({ { "GET", T.url("/cookies") }, { "GET", T.url("/cookies") } })
    T.is_nil(errs)
    T.same(cookie_set(rs[1].body), { b1 = "x" })
    T.same(cookie_set(rs[2].body), { b1 = "x" })
    -- set in a batch, seen by a plain request
    T.res(200, c:request_batch({ { "GET", T.url("/set-cookie?b2=y") } })[1])
    T.same(cookie_set(T.res(200, c:get(T.url("/cookies"))).body), { b1 = "x", b2 = "y" })
    c:close()
end)

T.test("cookie_jar = true: jar cookies and the cookies option are both sent", function()
    local c = T.ok(http.new({ cookie_jar = true }))
    T.res(200, c:get(T.url("/set-cookie?jar=1")))
    local r = T.res(200, c:get(T.url("/cookies"), { cookies = { opt = "2" } }))
    local got = cookie_set(r.body)
    T.eq(got.jar, "1", "jar cookie")
    T.eq(got.opt, "2", "option cookie")
    c:close()
end)

T.test("two clients do not share cookies", function()
    local a = T.ok(http.new({ cookie_jar = true }))
    local b = T.ok(http.new({ cookie_jar = true }))
    T.res(200, a:get(T.url("/set-cookie?only_a=1")))
    T.res(200, b:get(T.url("/set-cookie?only_b=2")))
    T.same(cookie_set(T.res(200, a:get(T.url("/cookies"))).body), { only_a = "1" })
    T.same(cookie_set(T.res(200, b:get(T.url("/cookies"))).body), { only_b = "2" })
    -- and the module's default client saw none of them
    T.eq(T.res(200, http.get(T.url("/cookies"))).body, "")
    a:close()
    b:close()
end)

T.test("cookies set during a redirect chain reach the target", function()
    local c = T.ok(http.new({ cookie_jar = true }))
    local r = T.res(200, c:get(T.url("/set-cookie-redirect?chain=1&other=2")))
    T.eq(r.url, T.url("/cookies"))
    T.same(cookie_set(r.body), { chain = "1", other = "2" })
    -- and stay in the jar
    T.same(cookie_set(T.res(200, c:get(T.url("/cookies"))).body), { chain = "1", other = "2" })
    c:close()
end)

T.test("jar cookies for 127.0.0.1 are not sent to localhost", function()
    local c = T.ok(http.new({ cookie_jar = true }))
    T.res(200, c:get(T.url("/set-cookie?host_only=1")))
    T.eq(T.res(200, c:get(T.url2("/cookies"))).body, "")
    c:close()
end)

T.test("cookie_jar of a wrong type is invalid_argument", function()
    T.err("invalid_argument", http.new({ cookie_jar = 1 }))
end)
