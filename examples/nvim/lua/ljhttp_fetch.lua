-- The module behind :LjhttpFetch (plugin/ljhttp_fetch.lua).
local http = require("ljhttp")

local M = {}

local client -- one client for the plugin: its connections are reused

local function set_lines(buf, lines)
    if not vim.api.nvim_buf_is_valid(buf) then
        return -- closed before the answer came
    end
    vim.bo[buf].modifiable = true
    vim.api.nvim_buf_set_lines(buf, 0, -1, false, lines)
    vim.bo[buf].modifiable = false
end

--- Opens a scratch buffer for url and starts the request; returns the
--- buffer number at once. When the answer arrives the buffer holds the
--- body (or "error <code>: <message>"), and b:ljhttp_status is set to
--- the HTTP status (or to the error code).
function M.fetch(url)
    vim.cmd("new")
    local buf = vim.api.nvim_get_current_buf()
    vim.bo[buf].buftype = "nofile"
    vim.bo[buf].bufhidden = "wipe"
    vim.bo[buf].swapfile = false
    pcall(vim.api.nvim_buf_set_name, buf, "ljhttp://" .. url)
    set_lines(buf, { "fetching " .. url .. " ..." })

    if not client then
        local err
        client, err = http.new({ timeout = 30 })
        if not client then
            set_lines(buf, { "error: " .. tostring(err) })
            return buf
        end
    end
    client:get_async(url, nil, function(res, err, code)
        -- ljhttp runs this through vim.schedule (on the main loop), so
        -- every editor API is allowed here.
        if not vim.api.nvim_buf_is_valid(buf) then
            return
        end
        if res then
            vim.b[buf].ljhttp_status = res.status_code
            local body = res.body:gsub("\n$", "")
            set_lines(buf, vim.split(body, "\n", { plain = true }))
            local ft = (res.headers["content-type"] or ""):match("^%s*[%w.+-]+/([%w.+-]+)")
            if ft == "json" or ft == "html" or ft == "xml" then
                vim.bo[buf].filetype = ft
            end
        else
            vim.b[buf].ljhttp_status = code
            set_lines(buf, { ("error %s: %s"):format(code, err) })
        end
    end)
    return buf
end

return M
