-- JSON benchmark: ljhttp.json (cJSON + tape) against Debian's lua-cjson,
-- and decode = "json" against body string + json.decode over HTTP.
--
--   luajit bench/json.lua [--smoke] [--rounds N] [--no-http]
--
-- Self-contained: generates its documents (deterministic arrays of
-- records: strings with escapes and non-ASCII, integers, floats, booleans,
-- nulls, nested objects and arrays), starts tests/fixture/server.py for the
-- HTTP part, prints the median time of each measurement over the rounds
-- and the ratio to lua-cjson ("speed" > 1 means ljhttp is faster). Rounds
-- alternate which side goes first. Without lua-cjson only ljhttp's
-- figures are printed. Exits non-zero when a result does not check out.
local ffi = require("ffi")

local script = debug.getinfo(1, "S").source:sub(2)
local root = (script:match("^(.*)/bench/[^/]*$") or "."):gsub("^$", ".")
package.path = root .. "/lua/?.lua;" .. root .. "/lua/?/init.lua;" .. package.path

local ROUNDS, SMOKE, HTTP = 7, false, true
do
    local i = 1
    while arg[i] do
        local a = arg[i]
        if a == "--smoke" then
            SMOKE, ROUNDS = true, 1
        elseif a == "--rounds" then
            i = i + 1
            ROUNDS = assert(tonumber(arg[i]), "--rounds N")
        elseif a == "--no-http" then
            HTTP = false
        else
            io.stderr:write("usage: luajit bench/json.lua [--smoke] [--rounds N] [--no-http]\n")
            os.exit(2)
        end
        i = i + 1
    end
end

local http = require("ljhttp")
local json = http.json

local cjson
do
    local ok, m = pcall(require, "cjson")
    if not ok then
        package.cpath = "/usr/lib/x86_64-linux-gnu/lua/5.1/?.so;" .. package.cpath
        ok, m = pcall(require, "cjson")
    end
    cjson = ok and m or nil
end

ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } bench_json_timespec;
int bench_json_clock_gettime(int clk, bench_json_timespec *ts) __asm__("clock_gettime");
int bench_json_getpid(void) __asm__("getpid");
]]
local ts = ffi.new("bench_json_timespec")
local function now()
    ffi.C.bench_json_clock_gettime(1, ts)
    return tonumber(ts.tv_sec) + tonumber(ts.tv_nsec) * 1e-9
end

-- ---- documents ----

-- About `size` bytes of JSON: an array of records.
local function document(size)
    local parts, total, i = {}, 2, 0
    while total < size or i == 0 do
        local tags = {}
        for k = 0, i % 5 - 1 do
            tags[#tags + 1] = string.format('"tag%d"', (i + k) % 17)
        end
        local friends = {}
        for k = 0, i % 4 - 1 do
            friends[#friends + 1] = string.format('{"id":%d,"name":"Friend %d"}', (i * 31 + k) % 100000, k)
        end
        local rec = string.format(
            '{"id":%d,"guid":"%08x-%04x-%04x","active":%s,"balance":%.2f,"age":%d,'
                .. '"name":"Person %d","email":"person%d@example.com",'
                .. '"about":"Line one of record %d,\\nwith \\"quotes\\", caf\\u00e9 \226\156\147",'
                .. '"tags":[%s],"location":{"lat":%.2f,"lon":%.2f},"friends":[%s],"note":%s,'
                .. '"scores":[%d,%d,%.1f,%d]}',
            i, (i * 2654435761) % 2 ^ 32, i % 65536, (i * 7) % 65536, tostring(i % 3 == 0),
            (i * 1337.77) % 10000, 20 + i % 50, i, i, i, table.concat(tags, ","),
            ((i * 37) % 18000) / 100 - 90, ((i * 53) % 36000) / 100 - 180,
            table.concat(friends, ","), i % 4 == 0 and "null" or ('"note ' .. i .. '"'),
            i % 7, i % 11, 1.5 * (i % 3), -(i % 13))
        parts[#parts + 1] = rec
        total = total + #rec + 1
        i = i + 1
    end
    return "[" .. table.concat(parts, ",") .. "]", i
end

-- ---- timing ----

local function median(t)
    table.sort(t)
    local n = #t
    if n % 2 == 1 then
        return t[(n + 1) / 2]
    end
    return (t[n / 2] + t[n / 2 + 1]) / 2
end

-- Seconds per call of fn(), over `iters` calls, after a full collection.
local function time_per_call(fn, iters)
    collectgarbage("collect")
    local t0 = now()
    for _ = 1, iters do
        fn()
    end
    return (now() - t0) / iters
end

local failures = 0
local function check(cond, what)
    if not cond then
        failures = failures + 1
        io.stderr:write("CHECK FAILED: ", what, "\n")
    end
end

local function fmt_ms(s)
    return string.format("%.3f", s * 1000)
end

-- Runs each named function `iters` times per round, ROUNDS rounds, the
-- order rotating per round; returns name -> median seconds per call.
local function compare(fns, order, iters)
    local times = {}
    for _, name in ipairs(order) do
        times[name] = {}
        fns[name]() -- warm-up (and JIT)
    end
    for r = 1, ROUNDS do
        for k = 0, #order - 1 do
            local name = order[(r + k - 1) % #order + 1]
            local list = times[name]
            list[#list + 1] = time_per_call(fns[name], iters)
        end
    end
    local out = {}
    for name, list in pairs(times) do
        out[name] = median(list)
    end
    return out
end

-- ---- in memory ----

local rows = {}
local function row(doc, op, ours, theirs)
    rows[#rows + 1] = { doc, op, ours, theirs }
end

local SIZES = { { "10 KiB", 10 * 1024, SMOKE and 20 or 400 }, { "1 MiB", 1024 * 1024, SMOKE and 1 or 8 } }

for _, sz in ipairs(SIZES) do
    local label, size, iters = sz[1], sz[2], sz[3]
    local text, n_records = document(size)
    local ours = assert(json.decode(text))
    check(#ours == n_records, label .. ": ljhttp decoded " .. #ours .. " records, expected " .. n_records)
    check(ours[2] and ours[2].about == 'Line one of record 1,\nwith "quotes", caf\195\169 \226\156\147',
        label .. ": a decoded string differs")
    local enc = assert(json.encode(ours))
    local back = assert(json.decode(enc))
    check(#back == n_records and back[n_records].id == n_records - 1, label .. ": re-encoded document differs")

    local fns = {
        ljhttp_decode = function()
            return json.decode(text)
        end,
        ljhttp_encode = function()
            return json.encode(ours)
        end,
    }
    local order_d, order_e = { "ljhttp_decode" }, { "ljhttp_encode" }
    if cjson then
        local theirs = cjson.decode(text)
        check(#theirs == n_records, label .. ": lua-cjson decoded a different count")
        check(theirs[2].about == ours[2].about, label .. ": lua-cjson and ljhttp disagree on a string")
        fns.cjson_decode = function()
            return cjson.decode(text)
        end
        fns.cjson_encode = function()
            return cjson.encode(theirs)
        end
        order_d[2], order_e[2] = "cjson_decode", "cjson_encode"
    end
    local d = compare(fns, order_d, iters)
    local e = compare(fns, order_e, iters)
    row(label .. string.format(" (%d B)", #text), "decode", d.ljhttp_decode, d.cjson_decode)
    row(label .. string.format(" (%d B)", #text), "encode", e.ljhttp_encode, e.cjson_encode)
end

print(string.format("JSON in memory: ms per document, median of %d round(s); speed = lua-cjson time / ljhttp time", ROUNDS))
print(string.format("%-20s %-7s %10s %10s %8s", "document", "op", "ljhttp", "lua-cjson", "speed"))
for _, r in ipairs(rows) do
    print(string.format("%-20s %-7s %10s %10s %8s", r[1], r[2], fmt_ms(r[3]),
        r[4] and fmt_ms(r[4]) or "-", r[4] and string.format("%.2fx", r[4] / r[3]) or "-"))
end
if not cjson then
    print("(lua-cjson not found: install Debian's lua-cjson to compare)")
end

-- ---- over HTTP: decode = "json" against body string + decode ----

local function start_fixture()
    local portfile = os.tmpname()
    os.remove(portfile)
    local cmd = string.format("python3 %q --port-file %q --watch-pid %d --lifetime 600 >/dev/null 2>&1 & echo $!",
        root .. "/tests/fixture/server.py", portfile, ffi.C.bench_json_getpid())
    local p = io.popen(cmd)
    local pid = tonumber(p:read("*l"))
    p:close()
    local deadline = now() + 10
    while now() < deadline do
        local f = io.open(portfile, "rb")
        local port = f and tonumber((f:read("*a") or ""):match("^(%d+)\n"))
        if f then
            f:close()
        end
        if port then
            os.remove(portfile)
            return port, pid
        end
        os.execute("sleep 0.05")
    end
    error("the fixture server did not start")
end

if HTTP then
    local port, pid = start_fixture()
    local ok, err = pcall(function()
        local client = assert(http.new())
        local hrows = {}
        for _, sz in ipairs({ { "1 MiB", 1024 * 1024, SMOKE and 1 or 5 }, { "10 MiB", 10 * 1024 * 1024, SMOKE and 1 or 2 } }) do
            local label, size, iters = sz[1], sz[2], sz[3]
            local url = string.format("http://127.0.0.1:%d/json?size=%d", port, size)
            -- the server builds the document once and caches it
            local first = assert(client:get(url))
            local expect = assert(json.decode(first.body))
            local r = assert(client:get(url, { decode = "json" }))
            check(r.body == "" and r.body_size == #first.body, label .. ": decode = \"json\" kept the body")
            check(type(r.json_value) == "table" and #r.json_value == #expect, label .. ": decode = \"json\" differs")
            local fns = {
                get = function()
                    local res = client:get(url)
                    check(#res.body == size or #res.body > size, "short body")
                end,
                get_decode = function()
                    local res = client:get(url)
                    return json.decode(res.body)
                end,
                get_decode_json = function()
                    local res = client:get(url, { decode = "json" })
                    return res.json_value
                end,
            }
            local order = { "get", "get_decode", "get_decode_json" }
            if cjson then
                fns.get_cjson = function()
                    local res = client:get(url)
                    return cjson.decode(res.body)
                end
                order[4] = "get_cjson"
            end
            local t = compare(fns, order, iters)
            hrows[#hrows + 1] = { string.format("%s (%d B)", label, #first.body), t }
        end
        client:close()
        print()
        print(string.format("JSON over HTTP (fixture on loopback): ms per request, median of %d round(s)", ROUNDS))
        print(string.format("%-20s %10s %12s %14s %12s %7s", "document", "get only", "get+decode",
            "decode=\"json\"", "get+cjson", "gain"))
        for _, h in ipairs(hrows) do
            local t = h[2]
            print(string.format("%-20s %10s %12s %14s %12s %7s", h[1], fmt_ms(t.get), fmt_ms(t.get_decode),
                fmt_ms(t.get_decode_json), t.get_cjson and fmt_ms(t.get_cjson) or "-",
                string.format("%.2fx", t.get_decode / t.get_decode_json)))
        end
        print("gain = (get + json.decode(body)) / decode = \"json\"")
    end)
    os.execute("kill " .. pid .. " 2>/dev/null")
    if not ok then
        io.stderr:write("HTTP part failed: ", tostring(err), "\n")
        failures = failures + 1
    end
end

if failures > 0 then
    os.exit(1)
end
