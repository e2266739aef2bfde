-- The async path's settling (Engine:dispatch) enters no loop when one
-- handle or none is ready, so a trace that starts in the caller (a
-- request's submit, a host's wait) runs through it instead of aborting
-- with "inner loop in root trace" or "loop unroll limit reached" at
-- engine.lua (or handle.lua, split from it). Those aborts blacklisted the
-- OpenResty handler's code, which then ran interpreted (bench/README.md, "OpenResty").
local T = require("support")

T.test("get_async():wait() in a hot loop: no loop abort in engine.lua", function()
    if not jit or not jit.status() then
        T.skip("the JIT compiler is off")
    end
    local _, text = T.jit_log([[
local n = 0
for _ = 1, 400 do
    local r = http.get_async(url):wait(10)
    if r and r.status_code == 200 then
        n = n + 1
    end
end
assert(n == 400, "good responses: " .. n)
]], T.url("/echo"))
    local bad = {}
    for line in text:gmatch("[^\n]+") do
        local ours = line:find("at engine%.lua:%d+%]") or line:find("at handle%.lua:%d+%]")
        if ours and (line:find("inner loop in root trace", 1, true)
            or line:find("loop unroll limit reached", 1, true)) then
            bad[#bad + 1] = line
        end
    end
    T.ok(#bad == 0, "traces aborted on a loop in engine.lua or handle.lua:\n" .. table.concat(bad, "\n"))
end)
