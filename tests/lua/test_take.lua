-- The blocking path's shortcuts (issue 19) change no result: a request
-- with no options encodes the struct the general path encodes, and
-- decode.take frees every response at once without ffi.gc (one left by
-- a raise in the decode at the next take, or at the state's close).
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

T.test("decode.take frees each response once, without the collector", function()
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
    collectgarbage("stop") -- an ffi.gc safety net would free nothing now
    local ok, err = pcall(function()
        decode.init(counting_lib(C, n))
        local res = T.res(200, decode.take(perform("/bytes?n=10"), false))
        T.eq(#res.body, 10)
        T.eq(n.frees, 1, "a small one at once")
        res = T.res(200, decode.take(perform("/bytes?n=70000"), false))
        T.eq(#res.body, 70000)
        T.eq(n.frees, 2, "a large one (decoded under pcall) at once")
        -- a raise inside the decode leaves the response held...
        decode.response = function() error("decode failed") end
        T.eq(pcall(decode.take, perform("/bytes?n=10"), false), false, "the raise")
        decode.response = real_response
        T.eq(n.frees, 2, "held after the raise")
        -- ...and the next take frees it, with its own
        res = T.res(200, decode.take(perform("/bytes?n=10"), false))
        T.eq(n.frees, 4, "the raised one freed by the next take")
        decode.response = function() error("decode failed") end
        pcall(decode.take, perform("/bytes?n=10"), false)
        decode.response = real_response
        T.eq(select(3, decode.take(nil)), "out_of_memory", "nil is out of memory")
        T.eq(n.frees, 5, "freed by the next take, even of nil")
    end)
    decode.response = real_response
    decode.init(C)
    collectgarbage("restart")
    c:close()
    T.ok(ok, err)
end)

T.test("a response left by a raise is freed with the module's sentinel", function()
    -- a child luajit whose decode raised: the finalizer that lua_close
    -- runs (here: a collection once the sentinel is dropped) frees it
    local script = T.tmpfile("take_close.lua")
    T.write_file(script, ([[
package.path = %q .. "/lua/?.lua;" .. package.path
local http = require("ljhttp")
local decode = require("ljhttp.decode")
local c = assert(http.new({}))
local C = c.C
local frees = 0
decode.init(setmetatable({ ljh_response_free = function(r)
    frees = frees + 1
    C.ljh_response_free(r)
end }, { __index = function(_, k) return C[k] end }))
local real = decode.response
decode.response = function() error("decode failed") end
local ok = pcall(decode.take, c.C.ljh_client_perform(c.cptr,
    assert(require("ljhttp.encode").request("GET", %q, nil, nil, 0))), false)
require("ljhttp.encode").release()
decode.response = real
assert(not ok and frees == 0, "held")
decode.held_sentinel = nil
collectgarbage()
collectgarbage()
io.write(frees == 1 and "freed" or ("frees=" .. frees))
]]):format(T.root, T.url("/bytes?n=10")))
    local out = T.capture(T.shq(arg and arg[-1] or "luajit") .. " " .. T.shq(script) .. " 2>&1")
    T.eq(out, "freed")
end)
