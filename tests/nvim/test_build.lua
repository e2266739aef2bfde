-- :LjhttpBuild in headless Neovim, run by tests/nvim/run.sh. A copy of
-- the plugin (lua/, plugin/) in LJH_TMP/plug with a Makefile of its own:
-- its build waits until a vim.schedule callback has created a file, so
-- the build can only finish if the editor keeps running while make runs.
-- Prints one line per check and "N passed, N failed".
local ROOT = assert(os.getenv("LJH_ROOT"), "LJH_ROOT not set")
local TMP = assert(os.getenv("LJH_TMP"), "LJH_TMP not set")
local PLUG = TMP .. "/plug"

local out = io.stdout
local passed, failed = 0, 0
local function check(name, cond, detail)
    if cond then
        passed = passed + 1
        out:write("ok - ", name, "\n")
    else
        failed = failed + 1
        out:write("not ok - ", name, detail and (": " .. tostring(detail)) or "", "\n")
    end
end

vim.fn.mkdir(PLUG, "p")
vim.fn.system({ "cp", "-R", ROOT .. "/lua", ROOT .. "/plugin", PLUG .. "/" })
local mk = assert(io.open(PLUG .. "/Makefile", "w"))
mk:write(table.concat({
    "all:",
    "\t@if [ -f fail ]; then echo fake-error-line; exit 2; fi",
    "\t@echo fake-build-start",
    -- at most 60 s: an editor blocked by the build never creates `go`
    "\t@i=0; while [ ! -f go ]; do i=$$((i+1)); if [ $$i -gt 1200 ]; then echo editor-blocked; exit 1; fi; sleep 0.05; done",
    "\t@echo fake-build-done",
    "",
}, "\n"))
mk:close()

vim.opt.rtp:prepend(PLUG)
vim.cmd("runtime plugin/ljhttp.lua")
check(":LjhttpBuild exists once plugin/ljhttp.lua ran", vim.fn.exists(":LjhttpBuild") == 2)

local notes = {}
vim.notify = function(msg, level)
    notes[#notes + 1] = { msg = msg, level = level }
end

-- success: the scheduled callback runs while make waits for it
local scheduled_ran_before_end = nil
vim.cmd("LjhttpBuild")
vim.schedule(function()
    scheduled_ran_before_end = #notes == 0
    local f = io.open(PLUG .. "/go", "w")
    f:write("go")
    f:close()
end)
local done = vim.wait(90000, function()
    return #notes > 0
end, 20)
check(":LjhttpBuild reports when make ends", done)
local n = notes[1] or {}
check("a vim.schedule callback ran while the build was running", scheduled_ran_before_end == true)
check("success is reported at INFO level", n.level == vim.log.levels.INFO, n.msg)
check("the report says the build finished, and where", tostring(n.msg):find("build finished in " .. PLUG, 1, true) ~= nil,
    n.msg)

-- failure: the report carries make's last lines
notes = {}
io.open(PLUG .. "/fail", "w"):close()
vim.cmd("LjhttpBuild")
done = vim.wait(90000, function()
    return #notes > 0
end, 20)
n = notes[1] or {}
check("a failed build is reported", done)
check("failure is reported at ERROR level", n.level == vim.log.levels.ERROR, n.msg)
check("the report has make's last lines", tostring(n.msg):find("fake-error-line", 1, true) ~= nil, n.msg)

-- the Lua function, with on_exit and no notification
local got
local started = require("ljhttp").build({ root = PLUG, notify = false, on_exit = function(ok, output)
    got = { ok = ok, output = output }
end })
check("ljhttp.build() returns true once started", started == true, started)
vim.wait(90000, function()
    return got ~= nil
end, 20)
check("on_exit gets ok and the output", got and got.ok == false and got.output:find("fake-error-line", 1, true) ~= nil,
    got and got.output)
check("notify = false: no notification", #notes == 1)

out:write(string.format("%d passed, %d failed\n", passed, failed))
vim.cmd(failed == 0 and "qa!" or "cquit 1")
