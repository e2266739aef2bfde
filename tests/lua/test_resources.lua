-- Running out of a resource is a value with a code that says so: no
-- descriptors left (io, "too many open files"), no memory left for the
-- Lua side of a response (out_of_memory). Each case runs in a child
-- luajit under a ulimit.
local T = require("support")
local R = require("reliability")

T.test("no descriptor left for a socket: io, \"too many open files\", then it works again", function()
    local out, ok = R.child([[
local http = require("ljhttp")
local c = assert(http.new())
local keep = {}
while true do
    local f = io.open("/dev/null")
    if not f then break end
    keep[#keep + 1] = f
end
local r, msg, code = c:get(]] .. string.format("%q", T.url("/echo")) .. [[, { timeout = 5 })
print("full " .. tostring(r) .. " " .. tostring(code) .. " " .. tostring(msg))
for _, f in ipairs(keep) do f:close() end
r = c:get(]] .. string.format("%q", T.url("/echo")) .. [[, { timeout = 5 })
print("after " .. tostring(r and r.status_code))
]], "ulimit -n 32; timeout -s KILL 30")
    T.ok(ok, "the child failed: " .. out)
    T.match(out, "full nil io [^\n]*too many open files", out)
    T.contains(out, "after 200")
end)

-- The child caps its own address space (RLIMIT_AS) at what it uses after a
-- first request plus `room`: the C side's copy of a body of `size` bytes
-- fits, LuaJIT's string of it does not.
local function capped_child(body, room)
    return R.child([[
local ffi = require("ffi")
ffi.cdef("struct ljh_rlim { unsigned long cur, max; }; int setrlimit(int, const struct ljh_rlim *);")
local http = require("ljhttp")
local c = assert(http.new())
assert(c:get(]] .. string.format("%q", T.url("/zeros?n=1000")) .. [[))
collectgarbage()
local vm = assert(io.open("/proc/self/status")):read("*a"):match("VmSize:%s*(%d+) kB")
local lim = ffi.new("struct ljh_rlim", tonumber(vm) * 1024 + ]] .. room .. [[, tonumber(vm) * 1024 + ]] .. room .. [[)
assert(ffi.C.setrlimit(9, lim) == 0, "setrlimit") -- 9: RLIMIT_AS
]] .. body, "timeout -s KILL 60")
end

T.test("no memory for the Lua string of a large body: out_of_memory, never a raise", function()
    if T.foreign_allocator() then
        T.skip("another allocator is preloaded (sanitizer or valgrind run)")
    end
    local big = 96 * 1024 * 1024
    local out, ok = capped_child([[
local function show(what, ok, r, msg, code)
    print(what .. " " .. tostring(ok) .. " " .. tostring(r) .. " " .. tostring(code) .. " " .. tostring(msg))
end
local url = ]] .. string.format("%q", T.url("/zeros?n=" .. big)) .. [[

show("sync", pcall(c.get, c, url, { timeout = 30 }))
collectgarbage()
local got = {}
c:get_async(url, { timeout = 30 }, function(r, msg, code) got = { r, msg, code } end)
c:run(30)
show("async", true, got[1], got[2], got[3])
collectgarbage()
local r = c:get(]] .. string.format("%q", T.url("/echo")) .. [[)
print("after " .. tostring(r and r.status_code))
]], big + 48 * 1024 * 1024)
    T.ok(ok, "the child failed: " .. out)
    T.match(out, "sync true nil out_of_memory out of memory", out)
    T.match(out, "async true nil out_of_memory out of memory", out)
    T.contains(out, "after 200")
end)
