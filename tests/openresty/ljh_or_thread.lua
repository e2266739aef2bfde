-- Runs inside ngx.run_worker_thread: a separate Lua VM on a thread of
-- nginx's thread pool, with only a few ngx.* functions. Blocking there is
-- the point: the worker's event loop is not on this thread. ljhttp picks
-- its host from what it sees; the blocking C call is what runs.
local M = {}

function M.fetch(url)
    local http = require("ljhttp")
    local res, err, code = http.get(url)
    if not res then
        return "error " .. tostring(code), tostring(err)
    end
    return res.status_code, res.body
end

-- Which host ljhttp chose in the thread's VM (for the test's report).
function M.host()
    local c = require("ljhttp").new({})
    return c and c.host.name or "none"
end

return M
