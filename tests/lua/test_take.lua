-- The blocking path's shortcuts (issue 19) change no result: a request
-- with no options encodes the struct the general path encodes; and
-- decode.take_slot frees every response once: at once, or through its
-- slot's finalizer when the decode raised, also when a request on the
-- same client runs inside the decode (a finalizer while it allocates).
-- The async path's engine slot frees only its own start's transfer.
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

T.test("a client's blocking requests share one response slot; one a raise left full is not reused", function()
    local c = T.ok(http.new({}))
    local n = { frees = 0 }
    rawset(c, "C", counting_lib(c.C, n))
    T.res(200, c:get(T.url("/bytes?n=5")))
    local first = c.rslot
    T.ok(first and first[0] == nil, "the slot made and emptied")
    T.res(200, c:get(T.url("/bytes?n=6")))
    T.ok(rawequal(c.rslot, first), "the same slot for the next request")
    T.eq(n.frees, 2, "each response freed at once")
    -- a decode that runs out of memory leaves its response in the slot
    local real_response = decode.response
    decode.response = function() error("not enough memory", 0) end
    local ok, r, _, code = pcall(c.get, c, T.url("/bytes?n=7"))
    decode.response = real_response
    T.ok(ok, r)
    T.is_nil(r, "the raise is a failure")
    T.eq(code, "out_of_memory")
    T.ok(first[0] ~= nil, "the response still the slot's")
    T.eq(n.frees, 2, "not freed by the raise")
    local res = T.res(200, c:get(T.url("/bytes?n=8")))
    T.eq(#res.body, 8)
    T.ok(not rawequal(c.rslot, first), "a full slot is not reused")
    first = nil
    collectgarbage()
    collectgarbage()
    T.eq(n.frees, 4, "the raised one freed by its slot's finalizer")
    c:close()
end)

-- The async path's slot (Engine start): a finalizer can run between the
-- C call that fills it and the finalizer that takes the transfer over.
-- Stand-in for that: a library whose submit runs code right after the
-- real one, before Lua boxes the pointer. Returns a restore function.
local function submit_then(c, fn)
    local e = c.engine
    local C = e.C
    e.C = setmetatable({
        ljh_client_submit_to = function(cptr, req, slot)
            local r = C.ljh_client_submit_to(cptr, req, slot)
            fn()
            return r
        end,
    }, { __index = function(_, k) return C[k] end })
    return function() e.C = C end
end

T.test("another request's abort inside a start leaves that start's transfer alone", function()
    local c = T.ok(http.new({}))
    local victim = c:get_async(T.url("/slow?ms=5000"))
    local fired = 0
    local restore = submit_then(c, function()
        fired = fired + 1
        if fired == 1 then -- as an out-of-memory abort from a finalizer
            victim:_abort("not enough memory")
        end
    end)
    local h = c:get_async(T.url("/bytes?n=11"))
    restore()
    T.eq(fired, 1, "ran inside the start")
    local res = T.res(200, h:wait(10))
    T.eq(#res.body, 11, "the started request whole")
    local r, _, code = victim:wait(10)
    T.is_nil(r, "the aborted one")
    T.eq(code, "out_of_memory")
    c:close()
end)

T.test("a request started inside another's start: both whole", function()
    local c = T.ok(http.new({}))
    local inner, entered = nil, false
    local restore = submit_then(c, function()
        if not entered then -- as a finalizer that makes a request
            entered = true
            inner = c:get_async(T.url("/bytes?n=5"))
        end
    end)
    local outer = c:get_async(T.url("/bytes?n=9"))
    restore()
    T.ok(inner, "the inner start ran")
    T.eq(#T.res(200, outer:wait(10)).body, 9, "the outer response")
    T.eq(#T.res(200, inner:wait(10)).body, 5, "the inner response")
    T.eq(c.engine.starting, false, "no start left open")
    c:close()
end)
