-- The module behind :LjhttpWs and :LjhttpWsSend (plugin/ljhttp_fetch.lua):
-- a WebSocket kept open while you edit. Each message is appended to a
-- scratch buffer as it arrives; the editor never waits on the socket.
local http = require("ljhttp")

local M = {}

local conn, buf -- one connection at a time

local function append(line)
    if not (buf and vim.api.nvim_buf_is_valid(buf)) then
        return
    end
    vim.bo[buf].modifiable = true
    vim.api.nvim_buf_set_lines(buf, -1, -1, false, vim.split(line, "\n", { plain = true }))
    vim.bo[buf].modifiable = false
end

--- Opens url in a new scratch buffer; returns the buffer at once.
function M.open(url)
    if conn then
        conn:close(1000, "", 0)
    end
    vim.cmd("new")
    buf = vim.api.nvim_get_current_buf()
    vim.bo[buf].buftype = "nofile"
    vim.bo[buf].bufhidden = "wipe"
    vim.bo[buf].swapfile = false
    pcall(vim.api.nvim_buf_set_name, buf, "ljhttp-ws://" .. url)
    vim.api.nvim_buf_set_lines(buf, 0, -1, false, { "connecting " .. url .. " ..." })
    vim.bo[buf].modifiable = false
    local this = buf
    conn = http.websocket(url, {
        -- these run through vim.schedule: every editor API is allowed
        on_open = function()
            append("open")
            vim.b[this].ljhttp_ws = "open"
        end,
        on_message = function(_, data, kind)
            append(kind == "text" and data or ("[" .. kind .. ", " .. #data .. " bytes]"))
        end,
        on_close = function(_, code, reason, err, errcode)
            append(err and ("error " .. errcode .. ": " .. err) or ("closed " .. code .. " " .. reason))
            if vim.api.nvim_buf_is_valid(this) then
                vim.b[this].ljhttp_ws = err and errcode or "closed"
            end
            conn = nil
        end,
    })
    return buf
end

--- Sends text on the open connection.
function M.send(text)
    if not conn then
        vim.notify("LjhttpWsSend: no WebSocket is open (:LjhttpWs <url>)", vim.log.levels.WARN)
        return
    end
    local ok, err = conn:send(text)
    if not ok then
        vim.notify("LjhttpWsSend: " .. tostring(err), vim.log.levels.WARN)
    end
end

return M
