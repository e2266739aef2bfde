-- The response path compiles: a hot loop of requests with jit.v logging
-- must produce a trace in lua/ljhttp/decode.lua and no NYI abort there.
--
-- jit.v writes one line per trace event, e.g.
--   [TRACE   2 decode.lua:65 loop]                    compiled
--   [TRACE   3 (2/1) decode.lua:69 -> 2]                compiled side trace
--   [TRACE --- (1/7) decode.lua:73 -- NYI: return to lower frame at setmetatable]   aborted
local T = require("support")
local http = require("ljhttp")

local jit_log = T.jit_log

-- A blocking request runs under one pcall at its entry (Client:request
-- in client.lua: out of memory is a value, not a raise), and a trace
-- started in decode's header loop cannot return through it: its side
-- trace stops where Client:_request returns into that pcall. That abort
-- is expected; decode.lua runs its header loop last so that little runs
-- interpreted after it. Any other NYI in decode.lua fails.
local function nyi_in_decode(lines)
    local nyi = {}
    local boundary = "NYI: return to lower frame at client.lua:"
    for _, line in ipairs(lines) do
        if line:find("NYI", 1, true) and line:find("decode.lua", 1, true)
            and not line:find(boundary, 1, true) then
            nyi[#nyi + 1] = line
        end
    end
    return nyi
end

local function check_decode_traces(lines, text)
    local compiled = 0
    for _, line in ipairs(lines) do
        if line:match("^%[TRACE%s+%d+ ") and line:find("decode.lua:", 1, true) then
            compiled = compiled + 1
        end
    end
    local nyi = nyi_in_decode(lines)
    T.ok(#nyi == 0, "NYI in decode.lua:\n" .. table.concat(nyi, "\n"))
    T.ok(compiled > 0, "no trace compiled in decode.lua; jit.v log:\n" .. text:sub(1, 3000))
    T.ok(text:find("decode%.lua:%d+ loop%]"), "the header loop did not compile; jit.v log:\n" .. text:sub(1, 3000))
    -- What follows the header loop is the call of finish (it frees the C
    -- response): entered from the interpreter, it must run compiled.
    local finish_line
    local n = 0
    for line in io.lines(T.root .. "/lua/ljhttp/decode.lua") do
        n = n + 1
        if line:find("^local function finish%(") then
            finish_line = n
        end
    end
    assert(finish_line, "decode.lua has no finish function")
    T.ok(text:find("%[TRACE%s+%d+ decode%.lua:" .. finish_line .. " "),
        "finish (decode.lua:" .. finish_line .. ") did not compile; jit.v log:\n" .. text:sub(1, 3000))
end

T.test("hot loop of requests: decode.lua compiles, no NYI", function()
    if not jit or not jit.status() then
        T.skip("the JIT compiler is off")
    end
    local lines, text = jit_log([[
    local c = assert(http.new({ cookie_jar = false }))
    local n = 0
    for _ = 1, 300 do
        local r = c:get(url)
        if r.status_code == 200 and r.headers["content-type"] == "text/plain"
            and r.headers["X-Dup"] == "one" and r.cookies.b == "quoted" and #r.header_list == 8 then
            n = n + 1
        end
    end
    c:close()
    assert(n == 300, "good responses in the loop: " .. n)
]], T.url("/headers"))
    check_decode_traces(lines, text)
end)

-- The line range of request_batch's submit-and-wait loop in
-- client_async.lua:
-- from its `while true do` to the `if n_err > 0 then` after it.
local function batch_loop_lines()
    local first, last, n, in_batch = nil, nil, 0, false
    for line in io.lines(T.root .. "/lua/ljhttp/client_async.lua") do
        n = n + 1
        if line:find("request_batch", 1, true) and line:find("function", 1, true) then
            in_batch = true
        elseif in_batch and not first and line:match("^%s+while true do%s*$") then
            first = n
        elseif first and not last and line:match("^%s+if n_err > 0 then") then
            last = n
        end
    end
    assert(first and last, "the batch loop was not found in client_async.lua")
    return first, last
end

-- The jit.v log of one batch of 400 GETs at concurrency 20, made once for
-- the batch cases below.
local batch_lines
local function batch_jit_lines()
    if not batch_lines then
        batch_lines = jit_log([[
    local reqs = {}
    for i = 1, 400 do reqs[i] = { "GET", url } end
    local res, errs = http.request_batch(reqs, { concurrency = 20 })
    assert(errs == nil and #res == 400, "batch failed")
]], T.url("/small"))
    end
    return batch_lines
end

T.test("request_batch: the submit-and-wait loop makes no closure per wait", function()
    if not jit or not jit.status() then
        T.skip("the JIT compiler is off")
    end
    local lines = batch_jit_lines()
    -- a closure made inside the loop shows as NYI FNEW (bytecode 51) or
    -- UCLO (50) at a line of client_async.lua's batch loop, and the loop runs
    -- interpreted
    local bad, first, last = {}, batch_loop_lines()
    for _, line in ipairs(lines) do
        if line:find("NYI: bytecode 5[01] at client_async.lua", 1) then
            local at = tonumber(line:match("at client_async%.lua:(%d+)"))
            if at and at > first and at < last then
                bad[#bad + 1] = line
            end
        end
    end
    T.ok(#bad == 0, "closures in the batch loop:\n" .. table.concat(bad, "\n"))
end)

T.test("request_batch: an item's request is released without an inner loop", function()
    if not jit or not jit.status() then
        T.skip("the JIT compiler is off")
    end
    local lines = batch_jit_lines()
    -- encode.unwind released the item's request in a loop: the root trace
    -- of the item loop aborted on it, again and again (then the loop
    -- unroll limit in the side trace of Engine:submit)
    local bad = {}
    for _, line in ipairs(lines) do
        if line:find("inner loop in root trace at encode.lua", 1, true) then
            bad[#bad + 1] = line
        end
    end
    T.ok(#bad == 0, "aborts on encode.lua's loops:\n" .. table.concat(bad, "\n"))
end)

T.test("hot loop of error results: decode.lua has no NYI", function()
    if not jit or not jit.status() then
        T.skip("the JIT compiler is off")
    end
    local lines = jit_log([[
    local c = assert(http.new())
    for _ = 1, 300 do
        local r, _, code = c:get(url)
        if r ~= nil or code ~= "unsupported_scheme" then
            error("unexpected result in the loop: " .. tostring(code))
        end
    end
    c:close()
]], "ftp://127.0.0.1/")
    local nyi = nyi_in_decode(lines)
    T.ok(#nyi == 0, "NYI in decode.lua:\n" .. table.concat(nyi, "\n"))
end)

T.test("results are identical with the JIT off, on and with hotloop=1", function()
    local function sample()
        local r = T.res(200, http.get(T.url("/headers")))
        return table.concat({ r.status_code, r.body, r.headers["x-dup"], r.cookies.b, #r.header_list,
            r.header_list[3][2] }, "|")
    end
    local expected = sample()
    jit.off()
    local ok, off = pcall(function()
        local s
        for _ = 1, 20 do
            s = sample()
        end
        return s
    end)
    jit.on()
    T.ok(ok, tostring(off))
    T.eq(off, expected, "JIT off")
    jit.opt.start("hotloop=1")
    local ok2, hot = pcall(function()
        local s
        for _ = 1, 50 do
            s = sample()
        end
        return s
    end)
    jit.opt.start("hotloop=56")
    T.ok(ok2, tostring(hot))
    T.eq(hot, expected, "hotloop=1")
end)
