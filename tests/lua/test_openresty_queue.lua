-- The OpenResty host's per-owner queues, in plain LuaJIT with a fake
-- `ngx` (only ngx.ctx is used here; get_phase is missing, so nothing
-- yields): a completion is queued with the handle's own record
-- (allocating nothing, so out of memory while settling cannot lose the
-- callback), pieces and completions run in order, each owner's only in
-- its own flush, and an ended owner's handles become orphans.
local T = require("support")
require("ljhttp") -- its cdef first
local engine_mod = require("ljhttp.engine")

local fake = { ctx = {} }
local function load_host()
    local saved = rawget(_G, "ngx")
    rawset(_G, "ngx", fake)
    package.loaded["ljhttp.hosts.openresty"] = nil
    local ok, host = pcall(require, "ljhttp.hosts.openresty")
    package.loaded["ljhttp.hosts.openresty"] = nil -- not left for other tests
    rawset(_G, "ngx", saved)
    assert(ok, host)
    return host
end

-- A handle of a fake engine, owned by the current fake request.
local function handle(host, e, log, tag)
    local h = engine_mod.handle(function(res, err, code)
        log[#log + 1] = tag .. ":done:" .. tostring(err) .. ":" .. tostring(code)
    end, nil, false)
    h.engine = e
    host.adopt(e, h)
    return h
end

local function piece(log, s)
    log[#log + 1] = s
end

T.test("openresty host: queuing a completion allocates nothing (the handle's done_rec)", function()
    local host = load_host()
    local e = { host = host, cptr = nil }
    local log = {}
    fake.ctx = {}
    local h = handle(host, e, log, "a")
    host.flush(e) -- the owner record exists; nothing queued yet
    collectgarbage()
    collectgarbage("stop")
    -- the JIT off while counting: recording a trace allocates (traces live
    -- on the Lua heap), and whether one starts here depends on how hot
    -- earlier tests made this code (seen with LuaJIT 2.1.1761786044).
    -- jit.off() keeps the traces already made, and leaving one through an
    -- exit may allocate too (a stack grown for the restored frames): with
    -- the batch, async and JIT tests run before it in this process, this
    -- count read 0.2-1.7 KiB. So they go as well.
    jit.off()
    jit.flush()
    local before = collectgarbage("count")
    h:_finish(nil, "boom", "io")
    local after = collectgarbage("count")
    jit.on()
    collectgarbage("restart")
    T.eq(after - before, 0, "bytes allocated by _finish (KiB)")
    T.same(log, {}, "nothing runs before the owner's flush")
    host.flush(e)
    T.same(log, { "a:done:boom:io" })
    host.flush(e)
    T.same(log, { "a:done:boom:io" }, "once")
end)

T.test("openresty host: pieces and completions run in order, each only in its owner's flush", function()
    local host = load_host()
    local e = { host = host, cptr = nil }
    local log = {}
    local ctx_a, ctx_b = {}, {}
    fake.ctx = ctx_a
    local a = handle(host, e, log, "a")
    fake.ctx = ctx_b
    local b = handle(host, e, log, "b")
    -- settled from elsewhere (the driver): routed by each handle's owner
    fake.ctx = {}
    host.deliver(a, piece, log, "a:1")
    host.deliver(b, piece, log, "b:1")
    host.deliver(a, piece, log, "a:2")
    b:_finish(nil, "x", "timeout")
    a:_finish(nil, "y", "io")
    host.flush(e)
    T.same(log, {}, "another request's flush runs none of them")
    fake.ctx = ctx_b
    host.flush(e)
    T.same(log, { "b:1", "b:done:x:timeout" })
    fake.ctx = ctx_a
    host.flush(e)
    T.same(log, { "b:1", "b:done:x:timeout", "a:1", "a:2", "a:done:y:io" })
    -- the queue works again after it emptied
    local a2 = handle(host, e, log, "a2")
    host.deliver(a2, piece, log, "a2:1")
    a2:_finish(nil, "z", "io")
    host.flush(e)
    T.same({ log[6], log[7], log[8] }, { "a2:1", "a2:done:z:io", nil })
end)

T.test("openresty host: an ended owner's handles are orphans, its callbacks dropped", function()
    local host = load_host()
    local e = { host = host, cptr = nil }
    local log = {}
    fake.ctx = {}
    local h = handle(host, e, log, "h")
    local done = handle(host, e, log, "d")
    fake.ctx = {} -- the request ended: its ngx.ctx is collected
    collectgarbage()
    collectgarbage()
    h.t = true -- a transfer still running
    host.deliver(h, piece, log, "h:1")
    T.eq(e.orphans and e.orphans[1], h, "the running transfer is an orphan")
    done:_finish(nil, "x", "io") -- no owner left: dropped, no orphan
    T.eq(#e.orphans, 1)
    host.flush(e)
    T.same(log, {})
end)

T.test("openresty host: a record's raise ends its handle, the rest of the queue runs", function()
    local host = load_host()
    local e = { host = host, cptr = nil, forget = function() end }
    local log = {}
    fake.ctx = {}
    local h = handle(host, e, log, "h")
    local g = handle(host, e, log, "g")
    host.deliver(h, function()
        error("not enough memory", 0)
    end, h)
    host.deliver(g, piece, log, "g:1")
    host.flush(e)
    T.eq(h.finished, true)
    T.eq(#log, 2)
    T.eq(log[1], "g:1")
    T.match(log[2], "^h:done:.*:out_of_memory$")
end)
