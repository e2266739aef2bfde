-- Runs inside ngx.run_worker_thread (examples/openresty/nginx.conf): a
-- Lua VM of its own on a thread of nginx's pool. Blocking is fine there,
-- and ljhttp picks its plain (blocking) host by itself. Only plain values
-- go back to the request: numbers, strings, booleans, nil, plain tables.
local M = {}

function M.fetch(url)
    local res, err, code = require("ljhttp").get(url, { timeout = 5 })
    if not res then
        return "error " .. tostring(code), tostring(err)
    end
    return res.status_code, res.body
end

return M
