-- The blocking path's shortcuts (issue 19) change no result: a request
-- with no options encodes the struct the general path encodes; and
-- decode.take frees every response once: at once, or through its ffi.gc
-- safety net when the decode raised, also when a take runs inside
-- another (a finalizer making a request while a decode allocates).
local T = require("support")
local ffi = require("ffi")
local http = require("ljhttp")
local encode = require("ljhttp.encode")
local decode = require("ljhttp.decode")

T.test("a request with no options encodes as one with empty options", function()
    local size = ffi.sizeof("ljh_request")
    local function bytes(o, d, extra)
        local r = T.ok(encode.request("GET", "http://127.0.0.1:1/x", o, d, extra))
        local s = ffi.string(r, size)
        encode.release()
        return s
    end
    -- {} takes the general path; nil (with no defaults) the short one
    T.eq(bytes(nil, {}, 0), bytes({}, {}, 0), "nil options, empty defaults")
    T.eq(bytes(nil, nil, nil), bytes({}, nil, nil), "no defaults at all")
    T.eq(bytes(nil, {}, encode.F_STREAM), bytes({}, {}, encode.F_STREAM), "extra flags kept")
    -- defaults are not skipped
    T.ne(bytes(nil, { max_redirects = 3 }, 0), bytes(nil, {}, 0), "defaults still applied")
end)

-- Counts ljh_response_free through a stand-in for the library decode uses.
local function counting_lib(C, n)
    return setmetatable({
        ljh_response_free = function(r)
            n.frees = n.frees + 1
            C.ljh_response_free(r)
        end,
    }, { __index = function(_, k) return C[k] end })
end

T.test("decode.take frees each response once: at once, or by its safety net after a raise", function()
    local c = T.ok(http.new({}))
    local C = c.C
    local function perform(path)
        local req = T.ok(encode.request("GET", T.url(path), nil, c.defaults, 0))
        local r = C.ljh_client_perform(c.cptr, req)
        encode.release()
        T.ok(r ~= nil, "a response")
        return r
    end
    local n = { frees = 0 }
    local real_response = decode.response
    collectgarbage("stop") -- the safety net frees nothing until the restart
    local ok, err = pcall(function()
        decode.init(counting_lib(C, n))
        local res = T.res(200, decode.take(perform("/bytes?n=10"), false))
        T.eq(#res.body, 10)
        T.eq(n.frees, 1, "a small one at once")
        res = T.res(200, decode.take(perform("/bytes?n=70000"), false))
        T.eq(#res.body, 70000)
        T.eq(n.frees, 2, "a large one (decoded under pcall) at once")
        -- a take inside a take (as from a finalizer during the decode):
        -- each frees its own response, once
        local inner
        decode.response = function(r, streamed)
            decode.response = real_response
            inner = T.res(200, decode.take(perform("/bytes?n=7"), false))
            return real_response(r, streamed)
        end
        res = T.res(200, decode.take(perform("/bytes?n=20"), false))
        T.eq(#res.body, 20, "the outer response intact")
        T.eq(#inner.body, 7, "the inner response")
        T.eq(n.frees, 4, "two takes, two frees")
        -- a raise inside the decode: nothing freed at once...
        decode.response = function() error("decode failed") end
        T.eq(pcall(decode.take, perform("/bytes?n=10"), false), false, "the raise")
        decode.response = real_response
        T.eq(n.frees, 4, "not freed by the raise")
        T.eq(select(3, decode.take(nil)), "out_of_memory", "nil is out of memory")
    end)
    decode.response = real_response
    collectgarbage("restart")
    -- ...its safety net frees it once the collector runs
    collectgarbage()
    collectgarbage()
    decode.init(C)
    c:close()
    T.ok(ok, err)
    T.eq(n.frees, 5, "the raised one freed by its ffi.gc")
end)
