-- A request made while another is being encoded or started (a cdata
-- finalizer's, run by an allocation; an __index of the options) does not
-- touch the request around it: encode.lua's scratch belongs to one
-- request from request() to release(), and a request made in between
-- works on scratch of its own (rule 6: never mix what belongs to
-- different requests).
--
-- The options' __index is the deterministic stand-in for the finalizer:
-- encode.request looks absent options up one by one, so the inner
-- request runs after the outer one has put its URL, query, headers and
-- body into the scratch, and before it is done.
local T = require("support")
local http = require("ljhttp")

-- Outer options: a query table and a number header (strings only the
-- encoder's anchors keep alive), a body, and an __index that runs inner()
-- once, at a key read after all of those.
local function hooked(fields, inner)
    local ran = false
    return setmetatable(fields, {
        __index = function(_, k)
            if k == "auth" and not ran then
                ran = true
                inner()
                -- what the inner request let go of is collected, and its
                -- memory taken by strings of the same sizes
                collectgarbage()
                collectgarbage()
                local churn = {}
                for i = 1, 200 do
                    churn[i] = ("q=%03d"):format(i) .. ("7"):rep(i % 3)
                end
            end
            return nil
        end,
    }), function() return ran end
end

local function outer_fields()
    return {
        query = { q = 1.5 },
        headers = { ["X-Who"] = "outer", ["X-N"] = 7 },
        body = "outer-body",
    }
end

local inner_opts = {
    query = { z = 22 },
    headers = { ["X-Who"] = "inner", ["X-Inner"] = "1", ["X-N"] = 123456 },
    body = "the inner request's body",
}

-- Checks an /echo response as the outer request's own.
local function is_outer(res, what)
    local e = T.echo(T.res(200, res).body)
    T.eq(e.method, "POST", what .. ": method")
    T.eq(e.path, "/echo", what .. ": path")
    T.eq(e.query, "who=outer&q=1.5", what .. ": query")
    T.eq(T.echo_header(e, "X-Who"), "outer", what .. ": header")
    T.eq(T.echo_header(e, "X-N"), "7", what .. ": number header")
    T.is_nil(T.echo_header(e, "X-Inner"), what .. ": no inner header")
    T.eq(e.body_length, #"outer-body", what .. ": body")
end

local function is_inner(res, what)
    local e = T.echo(T.res(200, res).body)
    T.eq(e.query, "who=inner&z=22", what .. ": inner query")
    T.eq(T.echo_header(e, "X-Who"), "inner", what .. ": inner header")
    T.eq(e.body_length, #inner_opts.body, what .. ": inner body")
end

local OUTER, INNER -- on the fixture, once it runs
local function urls()
    OUTER, INNER = T.url("/echo?who=outer"), T.url("/echo?who=inner")
end

-- A client, and outer options whose encoding makes a blocking inner
-- request on it (its results in got.inner).
local function with_inner()
    urls()
    local c = T.ok(http.new({}))
    local got = {}
    local opts, ran = hooked(outer_fields(), function()
        got.inner = { c:post(INNER, inner_opts) }
    end)
    return c, opts, ran, got
end

T.test("a blocking request made inside a blocking request's encoding: both whole", function()
    local c, opts, ran, got = with_inner()
    local res = { c:post(OUTER, opts) }
    T.ok(ran(), "the inner request ran inside the encoding")
    is_outer(res[1], "outer")
    is_inner(got.inner[1], "inner")
    c:close()
end)

T.test("an async request made inside an async request's encoding: both whole", function()
    urls()
    local c = T.ok(http.new({}))
    local inner_h
    local opts, ran = hooked(outer_fields(), function()
        inner_h = c:request_async("POST", INNER, inner_opts)
    end)
    local h = c:request_async("POST", OUTER, opts)
    T.ok(ran(), "the inner request ran inside the encoding")
    is_outer(T.res(200, h:wait(10)), "outer")
    is_inner(T.res(200, inner_h:wait(10)), "inner")
    c:close()
end)

T.test("a request made inside a batch item's encoding: every item whole", function()
    local c, opts, ran, got = with_inner()
    local results = T.ok(c:request_batch({ { "POST", OUTER, opts }, { "POST", OUTER, outer_fields() } }))
    T.ok(ran(), "the inner request ran inside the encoding")
    is_outer(results[1], "hooked item")
    is_outer(results[2], "next item")
    is_inner(got.inner[1], "inner")
    c:close()
end)

T.test("a request made inside a stream's encoding: both whole", function()
    local c, opts, ran, got = with_inner()
    local s = T.ok(c:stream("POST", OUTER, opts))
    T.ok(ran(), "the inner request ran inside the encoding")
    local parts = {}
    while true do
        local chunk, err = s:read()
        T.is_nil(err, "read")
        if not chunk then
            break
        end
        parts[#parts + 1] = chunk
    end
    s:close()
    is_outer({ status_code = 200, body = table.concat(parts) }, "outer")
    is_inner(got.inner[1], "inner")
    c:close()
end)

T.test("multipart and json bodies: an inner request's parts and tape stay its own", function()
    urls()
    local c = T.ok(http.new({}))
    -- the same request without an inner one, for the expected size
    local function fields(kind)
        local f = { headers = { ["X-Who"] = "outer" } }
        if kind == "multipart" then
            f.multipart = { { name = "a", data = "outer-data" }, { name = "n", data = 7 } }
        else
            f.json = { who = "outer", n = { 1, 2, 3 } }
        end
        return f
    end
    for _, kind in ipairs({ "multipart", "json" }) do
        local plain = T.echo(T.res(200, c:post(OUTER, fields(kind))).body)
        local inner_res
        local opts, ran = hooked(fields(kind), function()
            inner_res = { c:post(INNER, {
                multipart = { { name = "bb", data = "the inner part, longer" }, { name = "c", data = 1 },
                    { name = "d", data = "x" } },
            }) }
            c:post(INNER, { json = { who = "inner", list = { "a", "b", "c", "d", "e" } } })
        end)
        local e = T.echo(T.res(200, c:post(OUTER, opts)).body)
        T.ok(ran(), kind .. ": the inner requests ran inside the encoding")
        T.eq(e.body_length, plain.body_length, kind .. ": the outer body's size")
        T.eq(T.echo_header(e, "X-Who"), "outer", kind .. ": header")
        if kind == "json" then
            T.eq(e.body_sha256, plain.body_sha256, "json: the outer body")
        end
        T.res(200, inner_res[1])
    end
    c:close()
end)

T.test("an inner request that raises before it encodes leaves the outer request's strings held", function()
    urls()
    local c = T.ok(http.new({}))
    local got
    local opts, ran = hooked(outer_fields(), function()
        -- reading body raises before this request is encoded: its failure
        -- path must not release the outer request's scratch
        got = { c:post(INNER, setmetatable({}, { __index = function() error("no options here") end })) }
    end)
    local res = { c:post(OUTER, opts) }
    T.ok(ran(), "the inner request ran inside the encoding")
    T.is_nil(got[1], "the inner request failed")
    T.eq(got[3], "invalid_argument", "as a value")
    is_outer(res[1], "outer")
    c:close()
end)

-- The finalizers themselves: cdata whose finalizer makes a request, freed
-- while outer requests with options are encoded and started. Which
-- allocation runs them is up to the collector; every outer response must
-- be its own whichever it is.
T.test("finalizers that make requests while others encode: no response is another's", function()
    local ffi = require("ffi")
    urls()
    local c = T.ok(http.new({}))
    local inner_bad, inner_n = 0, 0
    local function inner_request()
        inner_n = inner_n + 1
        local r = c:post(INNER, inner_opts)
        local e = r and T.echo(r.body)
        if not (e and e.query == "who=inner&z=22") then
            inner_bad = inner_bad + 1
        end
    end
    local bad = {}
    collectgarbage("setpause", 1)
    local ok, err = pcall(function()
        for i = 1, 150 do
            for _ = 1, 4 do
                ffi.gc(ffi.new("char[1]"), inner_request)
            end
            local res
            if i % 3 == 0 then
                res = { c:request_async("POST", OUTER, outer_fields()):wait(10) }
            elseif i % 3 == 1 then
                res = { c:post(OUTER, outer_fields()) }
            else
                res = T.ok(c:request_batch({ { "POST", OUTER, outer_fields() } }))
            end
            local e = res[1] and T.echo(res[1].body)
            if not (e and e.query == "who=outer&q=1.5" and T.echo_header(e, "X-Who") == "outer"
                and e.body_length == #"outer-body") then
                bad[#bad + 1] = i
            end
        end
    end)
    collectgarbage("setpause", 200)
    collectgarbage()
    T.ok(ok, err)
    T.eq(#bad, 0, "outer requests that got another's request: " .. table.concat(bad, ","))
    T.eq(inner_bad, 0, "inner requests that went wrong")
    T.ok(inner_n > 0, "finalizers made requests")
    c:close()
end)

-- Stand-in for an allocation that fails (or a finalizer that raises)
-- while a nested request sets the outer one's scratch aside: a hook that
-- raises "not enough memory" when set_aside is entered, once. The inner
-- request's caller turns that raise into a value (protect), and must
-- then release nothing of the outer request's.
local function fail_set_aside_once()
    debug.sethook(function()
        local info = debug.getinfo(2, "n")
        if info and info.name == "set_aside" then
            debug.sethook()
            error("not enough memory")
        end
    end, "c")
end

T.test("a nested request whose setting aside fails leaves the outer request's scratch alone", function()
    urls()
    local encode = require("ljhttp.encode")
    local c = T.ok(http.new({}))
    local inner_kinds = {
        async = function()
            local r, _, code = c:request_async("GET", INNER):wait(10)
            return r, code
        end,
        stream = function()
            local s, _, code = c:stream("GET", INNER)
            if s then
                s:close()
            end
            return s, code
        end,
        batch = function()
            local list, errs = c:request_batch({ setmetatable({ "GET", INNER }, {}) })
            return list and list[1], type(errs) == "table" and errs[1] and "failed" or errs
        end,
    }
    for kind, inner in pairs(inner_kinds) do
        local got, gcode
        local opts, ran = hooked(outer_fields(), function()
            fail_set_aside_once()
            got, gcode = inner()
            debug.sethook()
        end)
        local res = { c:post(OUTER, opts) }
        T.ok(ran(), kind .. ": the inner request ran inside the encoding")
        T.is_nil(got, kind .. ": the inner request failed")
        T.ok(gcode ~= nil, kind .. ": with a code")
        is_outer(res[1], kind .. ": outer")
        T.eq(encode.mark(), 0, kind .. ": no request owns the scratch after")
    end
    c:close()
end)
