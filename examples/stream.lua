-- Streams: a body read as it arrives, in chunks of at most 64 KiB.
-- read() gives each chunk as a Lua string; read_ref() gives it in place
-- as a pointer and a length, for code that works through the FFI.
-- sse() parses server-sent events on top.
dofile((arg[0]:match("^(.*)/[^/]*$") or ".") .. "/path.lua")
local http = require("ljhttp")
local ffi = require("ffi")
local bit = require("bit")
local base = assert(arg[1], "usage: luajit examples/stream.lua http://127.0.0.1:PORT")

-- Chunks as strings, with the status and headers first.
local s = assert(http.stream("GET", base .. "/drip?chunks=3&interval_ms=50&size=4"))
print("stream ->", s.status_code, s.headers["Transfer-Encoding"])
for chunk in s:chunks() do
    print("  chunk:", chunk)
end
s:close()

-- 5 MB checksummed in place: no Lua string of the body is ever made.
-- (FNV-1a over the bytes; the pointer is valid until the next read.)
local c = http.new()
s = assert(c:stream("GET", base .. "/bytes?n=5000000&seed=1"))
local hash, total, pieces = 0x811c9dc5, 0, 0
while true do
    local p, n = s:read_ref()
    if not p then
        assert(n == nil, n) -- nil, message, code after a failure
        break
    end
    local u = ffi.cast("const uint8_t *", p)
    for i = 0, n - 1 do
        hash = bit.tobit(bit.bxor(hash, u[i]) * 16777619)
    end
    total, pieces = total + n, pieces + 1
end
s:close()
print(("read_ref: %d bytes in %d pieces, FNV-1a %s"):format(total, pieces, bit.tohex(hash)))

-- The same hash over the body a plain GET returns, for comparison.
local body = assert(c:get(base .. "/bytes?n=5000000&seed=1")).body
local check = 0x811c9dc5
for i = 1, #body do
    check = bit.tobit(bit.bxor(check, body:byte(i)) * 16777619)
end
print("plain GET hashes the same:", check == hash)
c:close()

-- Server-sent events.
local events = assert(http.sse(base .. "/sse?case=count&n=3&interval_ms=20"))
for ev in events do
    print("  event:", ev.id, ev.data)
end
events:close()
