-- Run by tests/packaging/run.sh in headless Neovim: the health check
-- through the current API (vim.health.start/ok/info/warn/error, Neovim
-- 0.9+), simulated on the Neovim at hand, which may only have the old
-- require("health").report_* one (checked by :checkhealth itself).
local function say(s)
    io.stdout:write(s, "\n")
end
local calls = {}
local function rec(kind)
    return function(msg)
        calls[#calls + 1] = kind .. ": " .. tostring(msg)
    end
end
rawset(vim, "health", { start = rec("start"), ok = rec("ok"), info = rec("info"), warn = rec("warn"),
    error = rec("error") })
package.loaded.health = { report_start = rec("legacy"), report_ok = rec("legacy"),
    report_info = rec("legacy"), report_warn = rec("legacy"), report_error = rec("legacy") }
local ok, err = pcall(function()
    require("ljhttp.health").check()
end)
local text = table.concat(calls, "\n")
local function check(name, cond)
    say((cond and "ok - " or "not ok - ") .. name .. (cond and "" or (":\n" .. text .. "\n" .. tostring(err))))
end
check("health check runs through vim.health.start/ok (Neovim 0.9+ API)",
    ok and text:find("start: ljhttp: library", 1, true) ~= nil and text:find("ok: async engine", 1, true) ~= nil
    and not text:find("legacy", 1, true) and not text:find("error:", 1, true))
vim.cmd("qa!")
