-- The blocking path's shortcuts (issue 19) change no result: a request
-- with no options encodes the struct the general path encodes; and
-- decode.take_slot frees every response once: at once, or through its
-- slot's finalizer when the decode raised, also when a request on the
-- same client runs inside the decode (a finalizer while it allocates).
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

-- Counts the responses ljh_response_free_slot frees, through a stand-in
-- for the library decode uses.
local function counting_lib(C, n)
    return setmetatable({
        ljh_response_free_slot = function(slot)
            if slot[0] ~= nil then
                n.frees = n.frees + 1
            end
            C.ljh_response_free_slot(slot)
        end,
    }, { __index = function(_, k) return C[k] end })
end

T.test("decode.take_slot frees each response once: at once, or by its safety net after a raise", function()
    local c = T.ok(http.new({}))
    local C = c.C
    local n = { frees = 0 }
    local lib = counting_lib(C, n)
    local slot
    local function perform(path) -- a slot of its own, as client.lua makes
        slot = ffi.gc(ffi.new("ljh_response *[1]"), lib.ljh_response_free_slot)
        local req = T.ok(encode.request("GET", T.url(path), nil, c.defaults, 0))
        T.eq(C.ljh_client_perform_to(c.cptr, req, slot), 0)
        encode.release()
        T.ok(slot[0] ~= nil, "a response")
        return slot
    end
    local real_response = decode.response
    collectgarbage("stop") -- the safety net frees nothing until the restart
    local ok, err = pcall(function()
        local res = T.res(200, decode.take_slot(lib, perform("/bytes?n=10"), false))
        T.eq(#res.body, 10)
        T.eq(n.frees, 1, "a small one at once")
        T.ok(slot[0] == nil, "the slot emptied")
        res = T.res(200, decode.take_slot(lib, perform("/bytes?n=70000"), false))
        T.eq(#res.body, 70000)
        T.eq(n.frees, 2, "a large one (decoded under pcall) at once")
        -- a request on the same client inside a decode (as from a
        -- finalizer while the decode allocates): it fills the client's
        -- own slot again, and must not free the response being decoded
        local inner, inner_err
        decode.response = function(r, streamed)
            decode.response = real_response
            inner, inner_err = c:get(T.url("/bytes?n=7"))
            return real_response(r, streamed)
        end
        res = T.res(200, c:get(T.url("/bytes?n=20")))
        T.eq(#res.body, 20, "the outer response intact")
        T.ok(inner, inner_err)
        T.eq(#inner.body, 7, "the inner response")
        -- a raise inside the decode: nothing freed at once...
        decode.response = function() error("decode failed") end
        T.eq(pcall(decode.take_slot, lib, perform("/bytes?n=10"), false), false, "the raise")
        decode.response = real_response
        T.eq(n.frees, 2, "not freed by the raise")
        T.ok(slot[0] ~= nil, "still the slot's")
        slot = nil
    end)
    decode.response = real_response
    collectgarbage("restart")
    -- ...its safety net frees it once the collector runs
    collectgarbage()
    collectgarbage()
    c:close()
    T.ok(ok, err)
    T.eq(n.frees, 3, "the raised one freed by its slot's finalizer")
end)
