-- Option names: misspelled or unknown options are refused (naming the
-- option meant), whole-number options refuse fractions, and callbacks on
-- blocking calls are refused instead of never being called.
local T = require("support")
local http = require("ljhttp")

T.test("a misspelled request option is refused, naming the option meant", function()
    local msg = T.err("invalid_argument", http.get(T.url("/echo"), { timout = 5 }))
    T.eq(msg, 'unknown option "timout" (did you mean "timeout"?)')
    msg = T.err("invalid_argument", http.get(T.url("/echo"), { version = "1.1" }))
    T.eq(msg, 'unknown option "version" (did you mean "http_version"?)')
    msg = T.err("invalid_argument", http.get(T.url("/echo"), { zzzzzzzz = 1 }))
    T.eq(msg, 'unknown option "zzzzzzzz"')
    T.err("invalid_argument", http.get(T.url("/echo"), { "positional" }))
end)

T.test("unknown options are refused on every path", function()
    local c = assert(http.new())
    T.err("invalid_argument", c:request("GET", T.url("/echo"), { hedaers = {} }))
    T.err("invalid_argument", c:stream("GET", T.url("/echo"), { hedaers = {} }))
    T.err("invalid_argument", c:sse(T.url("/echo"), { hedaers = {} }))
    local got = {}
    c:get_async(T.url("/echo"), { hedaers = {} }, function(r, e, code)
        got = { r, e, code }
    end):wait(10)
    T.is_nil(got[1])
    T.eq(got[3], "invalid_argument")
    T.contains(got[2], '"headers"')
    local rs, errs = c:request_batch({ { "GET", T.url("/echo"), { qeury = "a=1" } } })
    T.is_nil(rs[1])
    T.eq(errs[1], 'unknown option "qeury" (did you mean "query"?)')
    c:close()
end)

T.test("unknown client and batch options are refused", function()
    local msg = T.err("invalid_argument", http.new({ cookie_jr = true }))
    T.eq(msg, 'unknown option "cookie_jr" (did you mean "cookie_jar"?)')
    msg = T.err("invalid_argument", http.request_batch({ { "GET", T.url("/echo") } },
        { concurency = 2 }))
    T.eq(msg, 'unknown option "concurency" (did you mean "concurrency"?)')
    -- a callback belongs to one request_async call, not to a client
    msg = T.err("invalid_argument", http.new({ on_chunk = function() end }))
    T.eq(msg, "on_chunk is an option of one request_async call, not of a client")
    T.err("invalid_argument", http.new({ lines = "json" }))
    -- every known option is still taken
    local c = assert(http.new({ timeout = 5, max_connections = 4, cookie_jar = true }))
    T.res(200, c:get(T.url("/echo"), { http_version = "1.1", retries = 1, max_redirects = 2 }))
    c:close()
end)

T.test("whole-number options refuse fractions", function()
    T.err("invalid_argument", http.get(T.url("/echo"), { max_redirects = 1.5 }))
    T.err("invalid_argument", http.get(T.url("/echo"), { retries = 1.5 }))
    T.err("invalid_argument", http.get(T.url("/echo"), { max_body_size = 1000.5 }))
    T.err("invalid_argument", http.new({ max_connections = 2.5 }))
    T.err("invalid_argument", http.new({ max_host_connections = 2.5 }))
    T.err("invalid_argument", http.request_batch({}, { concurrency = 2.5 }))
    -- the ranges still hold
    T.err("invalid_argument", http.get(T.url("/echo"), { retries = 11 }))
    T.err("invalid_argument", http.get(T.url("/echo"), { max_redirects = 1001 }))
    T.res(200, http.get(T.url("/echo"), { max_redirects = 3, retries = 0 }))
end)

T.test("on_chunk and on_event on a blocking call are refused, not ignored", function()
    local called = false
    local function cb()
        called = true
    end
    local msg = T.err("invalid_argument", http.get(T.url("/echo"), { on_chunk = cb }))
    T.contains(msg, "request_async")
    T.err("invalid_argument", http.request("GET", T.url("/echo"), { on_event = cb }))
    local _, errs = http.request_batch({ { "GET", T.url("/echo"), { on_chunk = cb } } })
    T.contains(errs[1], "on_chunk")
    T.eq(called, false)
    -- and request_async still takes them
    local chunks = {}
    http.get_async(T.url("/bytes?n=10"), { on_chunk = function(c)
        chunks[#chunks + 1] = c
    end }, function() end):wait(10)
    T.eq(#table.concat(chunks), 10)
end)

T.test("options.lua drives encode: every special option is read by encode, and no other", function()
    local options = require("ljhttp.options")
    local encode = require("ljhttp.encode")
    local specs = {}
    for _, spec in ipairs(options.REQUEST) do
        if spec.kind == "special" then
            specs[#specs + 1] = spec.name
        end
    end
    T.same(encode.SPECIAL, specs)
end)

T.test("each range check on one side: Lua for max_redirects and max_body_size, C for retries", function()
    local encode = require("ljhttp.encode")
    -- Lua refuses what it ranges, before any C call
    for _, o in ipairs({ { max_redirects = 1001 }, { max_redirects = -1 }, { max_body_size = 0 } }) do
        local r, msg = encode.request("GET", T.url("/echo"), o)
        encode.release()
        T.is_nil(r, next(o))
        T.contains(msg, next(o))
    end
    -- ...and hands a whole retries to C, whose range check refuses it
    local r = encode.request("GET", T.url("/echo"), { retries = 11 })
    encode.release()
    T.not_nil(r, "retries = 11 reaches C")
    local msg = T.err("invalid_argument", http.get(T.url("/echo"), { retries = 11 }))
    T.contains(msg, "retries must be a number from 0 to 10")
end)
