-- A blocking request whose Lua side runs out of memory returns nil,
-- message, "out_of_memory" and never raises, for a small response (its
-- tables and strings) and for option encoding (a header value made a
-- string), not only for bodies >= 64 KiB (test_resources.lua).
--
-- The child caps its address space, keeps some C heap free (small
-- blocks, freed below a kept one, so glibc keeps them for libcurl and
-- libljhttp), then fills LuaJIT's heap until even small objects cannot
-- be made. Then the requests run, and only then is the filler dropped.
local T = require("support")
local R = require("reliability")

T.test("out of Lua memory on a small response and on option encoding: out_of_memory, no raise", function()
    if T.foreign_allocator() then
        T.skip("another allocator is preloaded (sanitizer or valgrind run)")
    end
    local out, ok = R.child(R.OOM_CHILD .. [[
local url = ]] .. string.format("%q", T.url("/echo")) .. [[

assert(c:get(url))
local opts = { headers = { ["X-Number"] = 12345 } } -- tostring(12345) is made per request
collectgarbage()
local vm = assert(io.open("/proc/self/status")):read("*a"):match("VmSize:%s*(%d+) kB")
local lim = ffi.new("struct oom_rlim", tonumber(vm) * 1024 + 16777216, tonumber(vm) * 1024 + 16777216)
assert(ffi.C.oom_setrlimit(9, lim) == 0, "setrlimit") -- 9: RLIMIT_AS
local blocks = {}
for i = 1, 513 do
    blocks[i] = ffi.C.oom_malloc(4096)
end
-- a chain, not one growing array: its last growth would fail while
-- small holes are still free
local fill
local function fill_with(size)
    while true do
        fill = { fill, ffi.new("uint8_t[?]", size) }
    end
end
local size = 1048576
while size >= 1 do
    pcall(fill_with, size)
    size = size / 2
end
pcall(fill_with, 0)
for i = 1, 512 do
    ffi.C.oom_free(blocks[i])
end
local ok1, r1, m1, c1 = pcall(c.get, c, url)
local ok2, r2, m2, c2 = pcall(c.get, c, url, opts)
fill = nil
collectgarbage()
print("small " .. tostring(ok1) .. " " .. tostring(r1) .. " " .. tostring(c1) .. " " .. tostring(m1))
print("options " .. tostring(ok2) .. " " .. tostring(r2) .. " " .. tostring(c2) .. " " .. tostring(m2))
local r = c:get(url, opts)
print("after " .. tostring(r and r.status_code))
]], "timeout -s KILL 60")
    T.ok(ok, "the child failed: " .. out)
    T.match(out, "small true nil out_of_memory out of memory", out)
    T.match(out, "options true nil out_of_memory out of memory", out)
    T.contains(out, "after 200")
end)
