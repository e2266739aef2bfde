-- request_batch: results by index, errors, concurrency, sizes.
local T = require("support")
local http = require("ljhttp")

T.test("results line up by index with mixed successes and failures", function()
    local rs, errs = http.request_batch({
        { "GET", T.url("/echo?i=1") },
        { "GET", T.url("/status/404") },
        { "GET", T.refused_url },
        "not a table",
        { "post", T.url("/echo/body"), { body = "b5" } },
        { "GET", "ftp://127.0.0.1/" },
        { "GET", T.url("/slow?ms=100") },
    })
    T.is_type(rs, "table", "responses")
    T.is_type(errs, "table", "errors")
    T.eq(T.echo(T.res(200, rs[1]).body).query, "i=1")
    T.is_nil(errs[1])
    T.res(404, rs[2]) -- a 404 is a response
    T.is_nil(errs[2])
    T.is_nil(rs[3])
    T.is_type(errs[3], "string", "refused port")
    T.contains(errs[3], "127.0.0.1")
    T.is_nil(rs[4])
    T.eq(errs[4], "Request must be a table")
    T.eq(T.res(200, rs[5]).body, "b5")
    T.is_nil(errs[5])
    T.is_nil(rs[6])
    T.contains(errs[6], 'unsupported protocol scheme "ftp"')
    T.eq(T.res(200, rs[7]).body, "slow 100")
    T.is_nil(errs[7])
end)

T.test("non-table items give exactly 'Request must be a table'", function()
    for _, item in ipairs({ "GET", 42, true }) do
        local rs, errs = http.request_batch({ { "GET", T.url("/echo") }, item })
        T.res(200, rs[1])
        T.is_nil(rs[2])
        T.eq(errs[2], "Request must be a table")
    end
end)

T.test("all succeed: responses alone, second value nil", function()
    local n = select("#", http.request_batch({ { "GET", T.url("/echo") }, { "GET", T.url("/echo") } }))
    T.eq(n, 1, "number of values returned")
    local rs, errs = http.request_batch({ { "GET", T.url("/echo") }, { "GET", T.url("/status/500") } })
    T.is_nil(errs)
    T.eq(#rs, 2)
    T.res(500, rs[2])
end)

T.test("empty batch returns an empty table", function()
    local rs, errs = http.request_batch({})
    T.is_type(rs, "table")
    T.is_nil(next(rs))
    T.is_nil(errs)
end)

T.test("items may carry options", function()
    local rs = http.request_batch({
        { "GET", T.url("/echo"), { headers = { ["X-Item"] = "one" }, query = "q=1" } },
        { "GET", T.url("/basic-auth"), { auth = { user = "user", pass = "pass" } } },
        { "GET", T.url("/slow?ms=1000"), { timeout = 0.2 } },
    })
    local e = T.echo(T.res(200, rs[1]).body)
    T.eq(T.echo_header(e, "X-Item"), "one")
    T.eq(e.query, "q=1")
    T.eq(T.res(200, rs[2]).body, "authenticated user")
    T.is_nil(rs[3])
end)

T.test("a timed-out item does not hold back the others", function()
    local t0 = T.now()
    local rs, errs = http.request_batch({
        { "GET", T.url("/stall"), { timeout = 0.3 } },
        { "GET", T.url("/echo") },
    })
    T.is_nil(rs[1])
    T.is_type(errs[1], "string")
    T.res(200, rs[2])
    T.lt(T.now() - t0, 5, "seconds for a 0.3 s timeout")
end)

T.test("concurrency option is honoured (8 at one barrier with concurrency 8)", function()
    -- the barrier answers only once all 8 are in at the same time
    local path = T.barrier_path(8)
    local items = {}
    for i = 1, 8 do
        items[i] = { "GET", T.url(path .. "&i=" .. i) }
    end
    local rs, errs = http.request_batch(items, { concurrency = 8 })
    T.is_nil(errs)
    for i = 1, 8 do
        T.eq(T.res(200, rs[i]).url, T.url(path .. "&i=" .. i))
        T.eq(rs[i].body, "met 8")
    end
end)

T.test("concurrency = 1 runs the items one after another", function()
    local items = {}
    for i = 1, 3 do
        items[i] = { "GET", T.url("/slow?ms=150") }
    end
    local t0 = T.now()
    local rs, errs = http.request_batch(items, { concurrency = 1 })
    T.is_nil(errs)
    T.eq(#rs, 3)
    T.ge(T.now() - t0, 0.44, "seconds for 3 sequential 150 ms requests")
end)

T.test("bad concurrency is invalid_argument", function()
    for _, c in ipairs({ 0, -1, 1.5, "8", 0 / 0 }) do
        T.err("invalid_argument", http.request_batch({ { "GET", T.url("/echo") } }, { concurrency = c }))
    end
    T.err("invalid_argument", http.request_batch({ { "GET", T.url("/echo") } }, "x"))
end)

T.test("requests that is not a table is an error, not a raise", function()
    T.err("invalid_argument", http.request_batch("x"))
    T.err("invalid_argument", http.request_batch(nil))
end)

T.test("200 items, every result in its place", function()
    local items = {}
    for i = 1, 200 do
        if i % 50 == 0 then
            items[i] = { "GET", T.refused_url }
        else
            items[i] = { "GET", T.url("/echo?i=" .. i) }
        end
    end
    local rs, errs = http.request_batch(items)
    T.is_type(errs, "table")
    for i = 1, 200 do
        if i % 50 == 0 then
            T.is_nil(rs[i], "item " .. i)
            T.is_type(errs[i], "string", "error " .. i)
        else
            T.eq(T.echo(T.res(200, rs[i]).body).query, "i=" .. i, "item " .. i)
            T.is_nil(errs[i], "error " .. i)
        end
    end
end)

T.test("holes in the requests table: one result per index", function()
    local rs, errs = http.request_batch({ [1] = { "GET", T.url("/echo") }, [3] = { "GET", T.url("/echo") } })
    T.res(200, rs[1])
    T.res(200, rs[3])
    T.is_nil(rs[2])
    T.eq(errs[2], "Request must be a table")
end)

T.test("a client's batch uses its defaults", function()
    local c = T.ok(http.new({ headers = { ["X-Default"] = "d" } }))
    local rs = c:request_batch({ { "GET", T.url("/echo") }, { "GET", T.url("/echo"), { headers = { ["X-Default"] = "o" } } } })
    T.eq(T.echo_header(T.echo(rs[1].body), "X-Default"), "d")
    T.eq(T.echo_header(T.echo(rs[2].body), "X-Default"), "o")
    c:close()
end)

T.test("request_batch's third value: codes lined up with errors", function()
    local rs, errs, codes = http.request_batch({
        { "GET", T.url("/echo") },
        { "GET", T.refused_url },
        { "GET", T.url("/slow?ms=3000"), { timeout = 0.2 } },
        "nope",
        { "GET", T.url("/echo"), { timeout = "soon" } },
    })
    T.eq(rs[1].status_code, 200)
    T.is_nil(errs[1])
    T.is_nil(codes[1])
    T.eq(codes[2], "connect", errs[2])
    T.eq(codes[3], "timeout", errs[3])
    T.eq(codes[4], "invalid_argument")
    T.eq(errs[4], "Request must be a table")
    T.eq(codes[5], "invalid_argument", errs[5])
    for i = 2, 5 do
        T.is_type(errs[i], "string")
    end
    -- all succeeded: gluahttp's single value
    local n = select("#", http.request_batch({ { "GET", T.url("/echo") } }))
    T.eq(n, 1)
end)
