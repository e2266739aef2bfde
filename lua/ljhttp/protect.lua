-- protect: the one place a raise becomes ljhttp's failure triple.
--
-- A request never raises. Where code may raise anyway (options with
-- metamethods, LuaJIT running out of memory while making strings), it
-- runs as protect(what, f, ...): f's results when it returns, otherwise
-- nil, message, code. `what` is one of the contexts below, so each
-- message and code is written once.
local pcall, tostring, str_find = pcall, tostring, string.find

local M = {}

-- msg: prefix of the error's text; oom: what was being done, for the
-- out-of-memory message; code: the error code of any other raise.
M.OPTIONS = { msg = "invalid options: ", oom = "encoding the request", code = "invalid_argument" }
M.BATCH = { msg = "invalid batch: ", oom = "encoding the batch", code = "invalid_argument" }
M.RESPONSE = { msg = "making the response: ", oom = "making the response", code = "internal" }
M.CHUNK = { msg = "making a chunk of the body: ", oom = "a chunk of the body", code = "internal" }

--- The triple for an error raised while doing `what`.
function M.failure(what, e)
    if str_find(tostring(e), "not enough memory", 1, true) then
        return nil, "out of memory (" .. what.oom .. ")", "out_of_memory"
    end
    return nil, what.msg .. tostring(e), what.code
end

local failure = M.failure

local function settle(what, ok, ...)
    if ok then
        return ...
    end
    return failure(what, (...))
end

local function settle_ok(what, ok, ...)
    if ok then
        return true, ...
    end
    return failure(what, (...))
end

--- f(...)'s results, or nil, message, code when it raised: for an f
--- that itself returns a value or nil, message, code.
function M.call(what, f, ...)
    return settle(what, pcall(f, ...))
end

--- true and f(...)'s results, or nil, message, code when it raised: for
--- an f whose first result may be nil.
function M.ok(what, f, ...)
    return settle_ok(what, pcall(f, ...))
end

return M
