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
