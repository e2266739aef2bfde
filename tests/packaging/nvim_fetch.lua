-- Run by tests/packaging/run.sh inside `nvim --headless --clean -u NONE`:
-- the example plugin examples/nvim (:LjhttpFetch) against the fixture
-- server. Prints "ok - ..." / "not ok - ..." lines.
local ROOT = assert(os.getenv("LJH_ROOT"))
local BASE = assert(os.getenv("LJH_FIXTURE"))
local uv = vim.uv or vim.loop

local function say(s)
    io.stdout:write(s, "\n")
end
local function check(name, cond, detail)
    say((cond and "ok - " or "not ok - ") .. name .. ((not cond and detail) and (": " .. tostring(detail)) or ""))
end

-- As a user would: ljhttp and the example plugin on the runtimepath.
vim.opt.rtp:append(ROOT)
vim.opt.rtp:append(ROOT .. "/examples/nvim")
vim.cmd("runtime! plugin/ljhttp_fetch.lua")
check(":LjhttpFetch is defined", vim.fn.exists(":LjhttpFetch") == 2)

local function lines(buf)
    return vim.api.nvim_buf_get_lines(buf, 0, -1, false)
end

-- fetch URL; returns the buffer, the ms the command took, and whether an
-- answer came within 10 s; also whether the answer was already there when
-- the command returned
local function fetch(url)
    local before = vim.api.nvim_get_current_buf()
    local t0 = uv.hrtime()
    vim.cmd("LjhttpFetch " .. url)
    local ms = (uv.hrtime() - t0) / 1e6
    local buf = vim.api.nvim_get_current_buf()
    local first = lines(buf)
    local early = vim.b[buf].ljhttp_status ~= nil
    local answered = vim.wait(10000, function()
        return vim.b[buf].ljhttp_status ~= nil
    end, 5)
    return buf, ms, answered, first, before, early
end

-- The answer takes 2 s: the command must return long before it (the
-- margin is wide so a loaded machine cannot fail it).
local buf, ms, answered, first, before, early = fetch(BASE .. "/slow?ms=2000")
check("the command opens a new scratch buffer", buf ~= before and vim.bo[buf].buftype == "nofile",
    vim.bo[buf].buftype)
check(("the command returns at once (%.1f ms for a 2 s answer)"):format(ms), ms < 1000 and not early)
check("the buffer says it is fetching meanwhile", first[1] and first[1]:match("^fetching ") ~= nil,
    vim.inspect(first))
check("the answer arrives", answered)
check("b:ljhttp_status is 200", vim.b[buf].ljhttp_status == 200, vim.b[buf].ljhttp_status)
check("the buffer holds the body", vim.deep_equal(lines(buf), { "slow 2000" }), vim.inspect(lines(buf)))

buf, ms, answered = fetch(BASE .. "/echo?from=nvim")
local body = table.concat(lines(buf), "\n")
check("a multi-line body, one buffer line per body line",
    answered and body:find("method GET", 1, true) and body:find("query from=nvim", 1, true) ~= nil, body)

buf, ms, answered = fetch("http://127.0.0.1:1/")
check("an error is shown in the buffer",
    answered and vim.b[buf].ljhttp_status == "connect" and lines(buf)[1]:match("^error connect: ") ~= nil,
    vim.inspect(lines(buf)))
-- :LjhttpWs keeps a socket open while the editor runs
local WS = os.getenv("LJH_WS") or ""
check(":LjhttpWs and :LjhttpWsSend are defined",
    vim.fn.exists(":LjhttpWs") == 2 and vim.fn.exists(":LjhttpWsSend") == 2)
if WS ~= "" then
    vim.cmd("LjhttpWs " .. WS .. "/echo")
    local wbuf = vim.api.nvim_get_current_buf()
    -- nothing of the socket has run yet: the command did not wait for it
    check(":LjhttpWs returns before the connection opens",
        lines(wbuf)[1]:match("^connecting ") ~= nil and vim.b[wbuf].ljhttp_ws == nil, vim.inspect(lines(wbuf)))
    local opened = vim.wait(5000, function()
        return vim.b[wbuf].ljhttp_ws == "open"
    end, 5)
    check("the WebSocket opens", opened, vim.inspect(lines(wbuf)))
    vim.cmd("LjhttpWsSend hello over ws")
    local echoed = vim.wait(5000, function()
        local l = lines(wbuf)
        return l[#l] == "hello over ws"
    end, 5)
    check("a sent line comes back into the buffer", echoed, vim.inspect(lines(wbuf)))
end
vim.cmd("qa!")
