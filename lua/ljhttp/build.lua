-- build: runs `make` in the plugin's directory, for plugin managers with
-- no build step (Neovim 0.12's vim.pack) and for :LjhttpBuild.
--
-- In Neovim the build runs as a job (vim.system on 0.10+, jobstart
-- before) and the editor keeps working; the outcome comes through
-- vim.notify. Elsewhere (plain LuaJIT, OpenResty's init phase) it blocks
-- and returns ok, output.
local M = {}

local TAIL_LINES = 15

-- The last n lines of s.
local function tail(s, n)
    local lines = {}
    for line in (s .. "\n"):gmatch("([^\n]*)\n") do
        lines[#lines + 1] = line
    end
    while #lines > 0 and lines[#lines]:match("^%s*$") do
        lines[#lines] = nil
    end
    local first = #lines > n and #lines - n + 1 or 1
    return table.concat(lines, "\n", first)
end
M.tail = tail

local function shq(s)
    if package.config:sub(1, 1) == "\\" then
        return '"' .. s .. '"'
    end
    return "'" .. s:gsub("'", "'\\''") .. "'"
end

-- The command: { make, -C, root, args... }.
local function command(opts)
    local root = opts.root or require("ljhttp.loader").root()
    if not root then
        return nil, "ljhttp.build: cannot tell where the plugin is (give root = ...)"
    end
    local cmd = { opts.make or os.getenv("MAKE") or "make", "-C", root }
    for _, a in ipairs(opts.args or {}) do
        cmd[#cmd + 1] = a
    end
    return cmd, root
end

-- The message for vim.notify and its level.
local function outcome(ok, output, code, root)
    local loader = package.loaded["ljhttp.loader"]
    if ok then
        local msg = "ljhttp: build finished in " .. root
        if loader and loader.path() then
            msg = msg .. " (the library loaded before is still in use: restart Neovim to load the new one)"
        end
        return msg, "INFO"
    end
    local last = tail(output, TAIL_LINES)
    return "ljhttp: `make` failed in " .. root .. " (exit " .. tostring(code) .. ")"
        .. (last ~= "" and (":\n" .. last) or ""), "ERROR"
end

-- Blocking: the output goes to a temporary file (portable; io.popen
-- cannot give the exit status in Lua 5.1).
local function run_blocking(cmd)
    local out = os.tmpname()
    local parts = {}
    for i, a in ipairs(cmd) do
        parts[i] = i == 1 and a or shq(a)
    end
    local r1, _, r3 = os.execute(table.concat(parts, " ") .. " > " .. shq(out) .. " 2>&1")
    local f = io.open(out, "rb")
    local output = f and f:read("*a") or ""
    if f then
        f:close()
    end
    os.remove(out)
    local code = r3 or r1 -- Lua 5.2 compatibility: true/nil, "exit", code
    if type(code) ~= "number" then
        code = code and 0 or 1
    elseif code > 255 and code % 256 == 0 then
        code = code / 256 -- Lua 5.1 on POSIX: the raw wait status
    end
    return code == 0, output, code
end

-- Neovim: starts the job, calls done(ok, output, code) on the editor's
-- loop (never in a fast event). Returns true, or nil and a message.
local function run_job(vim, cmd, done)
    if vim.system then
        local ok, err = pcall(vim.system, cmd, { text = true }, function(obj)
            vim.schedule(function()
                done(obj.code == 0, (obj.stdout or "") .. (obj.stderr or ""), obj.code)
            end)
        end)
        return ok or nil, not ok and tostring(err) or nil
    end
    local chunks = {}
    local function collect(_, data) -- buffered: called once, with every line
        if data then
            chunks[#chunks + 1] = table.concat(data, "\n")
        end
    end
    local id = vim.fn.jobstart(cmd, {
        stdout_buffered = true,
        stderr_buffered = true,
        on_stdout = collect,
        on_stderr = collect,
        on_exit = function(_, code)
            done(code == 0, table.concat(chunks, "\n"), code)
        end,
    })
    if id <= 0 then
        return nil, "cannot start " .. cmd[1] .. " (jobstart returned " .. id .. ")"
    end
    return true
end

--- Runs `make` in the plugin's directory.
--- opts: root (the directory; default: the checkout this file is in),
--- make (the program; default $MAKE or "make"), args (more arguments),
--- wait (block even in Neovim), notify (Neovim: report through
--- vim.notify, default true), on_exit(ok, output) (Neovim: called when
--- it ends).
--- Neovim: returns true once started (nil, message if it could not
--- start). Otherwise: blocks and returns ok, output.
---@param opts? ljhttp.BuildOptions
---@return boolean? ok
---@return string? output
function M.run(opts)
    opts = opts or {}
    local cmd, root = command(opts)
    if not cmd then
        return nil, root
    end
    local vim = rawget(_G, "vim")
    if opts.wait or not (vim and vim.fn and vim.fn.jobstart) then
        return run_blocking(cmd)
    end
    local started, err = run_job(vim, cmd, function(ok, output, code)
        if opts.notify ~= false then
            local msg, level = outcome(ok, output, code, root)
            vim.notify(msg, vim.log.levels[level])
        end
        if opts.on_exit then
            opts.on_exit(ok, output)
        end
    end)
    if not started and opts.notify ~= false then
        vim.notify("ljhttp: " .. err, vim.log.levels.ERROR)
    end
    return started, err
end

return M
