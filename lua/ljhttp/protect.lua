-- protect: the one place a raise becomes ljhttp's failure triple.
--
-- A request never raises. Where code may raise anyway (options with
-- metamethods, LuaJIT running out of memory while making strings), it
-- runs as protect(what, f, ...): f's results when it returns, otherwise
-- nil, message, code. `what` is one of the contexts below, so each
-- message and code is written once.
local error, pairs, pcall, tostring, type, str_find = error, pairs, pcall, tostring, type, string.find

local M = {}

-- msg: prefix of the error's text; oom: what was being done, for the
-- out-of-memory message; code: the error code of any other raise.
M.OPTIONS = { msg = "invalid options: ", oom = "encoding the request", code = "invalid_argument" }
M.BATCH = { msg = "invalid batch: ", oom = "encoding the batch", code = "invalid_argument" }
M.RESPONSE = { msg = "making the response: ", oom = "making the response", code = "internal" }
M.CHUNK = { msg = "making a chunk of the body: ", oom = "a chunk of the body", code = "internal" }
M.REQUEST = { msg = "", oom = "the Lua side of the request", code = "internal" }
M.CLIENT_OPTIONS = { msg = "invalid options: ", oom = "creating the client", code = "invalid_argument" }
M.CLIENT = { msg = "creating the client: ", oom = "creating the client", code = "internal" }

-- The out-of-memory messages are made now: when memory has run out, the
-- path that reports it must not need any.
for _, what in pairs(M) do
    what.oom_msg = "out of memory (" .. what.oom .. ")"
end

--- Whether a caught error is LuaJIT's "not enough memory" (a string or
--- table it could not make). Allocates nothing.
function M.is_oom(e)
    return type(e) == "string" and str_find(e, "not enough memory", 1, true) ~= nil
end
local is_oom = M.is_oom

--- The triple for an error raised while doing `what`.
function M.failure(what, e)
    if is_oom(e) then
        return nil, what.oom_msg, "out_of_memory"
    end
    return nil, what.msg .. tostring(e), what.code
end

local failure = M.failure

--- The results of a pcall settled in one place: when ok, the called
--- function's own; otherwise fail(arg, e), e the raised value. Used as
--- settle(fail, arg, pcall(f, ...)) by protect.call and protect.ok, and
--- by streams and WebSockets with their own fail. fail is a function
--- made once, never per call (a closure allocates, which the
--- out-of-memory path must not, and the JIT does not compile it).
local function settle(fail, arg, ok, ...)
    if ok then
        return ...
    end
    return fail(arg, (...))
end
M.settle = settle

--- Raises e again unless it is LuaJIT's out of memory. The rule of the
--- calls that end on out of memory (streams, WebSockets; the async
--- paths alike): a failure of the request is a value, but a raise from
--- the caller's own code (a host's wait), an interrupt or a bug is not
--- the request's and propagates. Allocates nothing when e is memory.
function M.raise_unless_oom(e)
    if not is_oom(e) then
        error(e, 0)
    end
end

--- f(...)'s results, or nil, message, code when it raised: for an f
--- that itself returns a value or nil, message, code.
function M.call(what, f, ...)
    return settle(failure, what, pcall(f, ...))
end

local function with_true(f, ...)
    return true, f(...)
end

--- true and f(...)'s results, or nil, message, code when it raised: for
--- an f whose first result may be nil.
function M.ok(what, f, ...)
    return settle(failure, what, pcall(with_true, f, ...))
end

-- Modules loaded on first use. LuaJIT's require marks a module as
-- loading in package.loaded before it runs the module's file, and leaves
-- the mark when that raises (out of memory): every later require of it,
-- and of any module it was loading in turn, then fails for good ("loop
-- or previous error loading module"). After a failed load the marks are
-- cleared (clearing keys allocates nothing), so the next use loads again.
local loaded = package.loaded
local function load(name)
    local mod = loaded[name]
    if type(mod) == "table" then
        return true, mod
    end
    local ok, m = pcall(require, name)
    if not ok then
        -- the mark: a light userdata (shown as a number on GC64 builds)
        local mark = loaded[name]
        local t = type(mark)
        if t == "userdata" or t == "number" then
            for k, v in next, loaded do
                if v == mark then
                    loaded[k] = nil
                end
            end
        end
    end
    return ok, m
end

--- require(name) for a module loaded on first use: raises as require
--- does, but a failed load can be tried again.
function M.require(name)
    local ok, m = load(name)
    if not ok then
        error(m, 0)
    end
    return m
end

--- The same, never raising: the module, or nil, message, code.
function M.load(name)
    local ok, m = load(name)
    if ok then
        return m
    end
    return failure(M.REQUEST, m)
end

--- A table with room for narr array items and nrec fields, so filling
--- it allocates nothing (LuaJIT 2.1's table.new; a plain table on 2.0).
local ok_new, table_new = pcall(require, "table.new")
M.new_table = ok_new and table_new or function()
    return {}
end

return M
