-- client_async: Client:request_async and Client:request_batch, loaded on
-- their first call (client.lua puts stubs in their place), so that a
-- script making blocking requests does not parse them at start-up.
local encode = require("ljhttp.encode")
local engine_mod = require("ljhttp.engine")
local options = require("ljhttp.options")
local protect_mod = require("ljhttp.protect")
local client = require("ljhttp.client")
local protect, protect_ok = protect_mod.call, protect_mod.ok
local OPTIONS, BATCH = protect_mod.OPTIONS, protect_mod.BATCH
local is_oom, REQUEST, new_table = protect_mod.is_oom, protect_mod.REQUEST, protect_mod.new_table
local encode_request = encode.request
local encode_mark, encode_unwind = encode.mark, encode.unwind
local bad, closed = client.bad, client.closed
local Client = client.Client

local type, next, getmetatable = type, next, getmetatable

local DEFAULT_CONCURRENCY = 16
local MAX_BATCH = 100000
local BATCH_NAMES = { concurrency = true }

-- ---- non-blocking ----

local function read_callbacks(o)
    return o.on_chunk, o.on_event, o.on_line, o.lines, o.body, o.on_progress, o.progress_interval
end

local DEFAULT_PROGRESS_MS = 100

-- progress_interval: seconds or a Go duration string, as other durations
-- (parsed in Lua: it never reaches C).
local function progress_ms(_, v)
    if v == nil then
        return DEFAULT_PROGRESS_MS
    end
    local ms, err = options.duration_ms(v)
    if not ms then
        return nil, "progress_interval: " .. err
    end
    return ms
end

local start_async

-- on_line: lines (lines.lua) split from the chunks; the last one, if it
-- has no line end, reaches on_line just before the callback. Returns the
-- chunk handler and the callback to use. (The closure is made here, not
-- in request_async, whose traces would otherwise end at its return.)
local function with_lines(on_line, line_format, on_chunk, callback)
    if type(on_line) ~= "function" then
        error("ljhttp: on_line must be a function", 3)
    end
    local lines = protect_mod.require("ljhttp.lines")
    if not lines.format(line_format) then
        error("ljhttp: lines must be \"json\" or \"text\"", 3)
    end
    local finish
    on_chunk, finish = lines.chunk_handler(on_line, line_format, on_chunk)
    return on_chunk, function(res, err, code, answer)
        if res then
            finish()
        end
        if callback then
            if answer ~= nil then
                return callback(res, err, code, answer)
            end
            return callback(res, err, code)
        end
    end
end

--- Starts a request; callback(response, err, code) runs exactly once.
---@param method ljhttp.Method
---@param url string
---@param opts? ljhttp.Options|ljhttp.Callback
---@param callback? ljhttp.Callback
---@return ljhttp.Handle
function Client:request_async(method, url, opts, callback)
    if type(opts) == "function" and callback == nil then
        opts, callback = nil, opts
    end
    if callback ~= nil and type(callback) ~= "function" then
        error("ljhttp: callback must be a function", 2)
    end
    local on_chunk, on_event, on_line, line_format, body, on_progress, interval
    if type(opts) == "table" then
        if getmetatable(opts) ~= nil then
            -- options with metamethods may raise: the callback gets the error
            local ok, a, b, c, d, f, g, i = protect_ok(OPTIONS, read_callbacks, opts)
            if not ok then
                local h = engine_mod.handle(callback, nil, false)
                h.engine = self.engine
                h:_finish(nil, a, b)
                return h
            end
            on_chunk, on_event, on_line, line_format, body, on_progress, interval = a, b, c, d, f, g, i
        else
            on_chunk, on_event, on_line, line_format, body, on_progress, interval = read_callbacks(opts)
        end
    end
    if on_progress ~= nil and type(on_progress) ~= "function" then
        error("ljhttp: on_progress must be a function", 2)
    end
    if on_chunk ~= nil and type(on_chunk) ~= "function" then
        error("ljhttp: on_chunk must be a function", 2)
    end
    if on_event ~= nil then
        if type(on_event) ~= "function" then
            error("ljhttp: on_event must be a function", 2)
        end
        -- server-sent events, parsed from the chunks (sse.lua)
        on_chunk = protect_mod.require("ljhttp.sse").chunk_handler(on_event, on_chunk)
    end
    if on_line ~= nil then
        on_chunk, callback = with_lines(on_line, line_format, on_chunk, callback)
    elseif line_format ~= nil then
        error("ljhttp: lines goes with on_line", 2)
    end
    -- out of memory from here on ends the handle (handle.lua), and a
    -- handle the engine had made in advance stands in when even this
    -- one cannot be made
    local h = engine_mod.user_handle(self.engine, callback, on_chunk)
    if h.starved then
        return h
    end
    local mark = encode_mark()
    local ok, err = pcall(start_async, self, h, method, url, opts, on_chunk, on_event, body, on_progress,
        interval)
    if not ok then
        encode_unwind(mark) -- its own request, not one further out
        if not is_oom(err) then
            local e = h.engine -- a finalizer's raise while h's transfer was in a slot
            if e and e.slot then
                e:drop_slot(h)
            end
            error(err, 0)
        end
        h:_abort(err)
    end
    return h
end

start_async = function(self, h, method, url, opts, on_chunk, on_event, body, on_progress, interval)
    local e = self.engine
    if on_chunk then -- named in an http_status message
        h.method, h.what = method, on_event and "the event stream" or "the server"
    end
    if type(body) == "function" then -- pulled piece by piece (handle.lua)
        h.body_fn = body
    end
    if self.cptr == nil then
        h:_finish(closed())
        return h
    end
    if on_progress then
        local ms, perr = progress_ms(self.C, interval == nil and self.defaults.progress_interval or interval)
        if not ms then
            h:_finish(bad(perr))
            return h
        end
        h.on_progress, h.progress_ms = on_progress, ms
    end
    -- protect may turn a raise inside encode.request into a value: what
    -- the request holds is released to the depth before it (encode.unwind)
    local mark = encode_mark()
    local req, msg, code = protect(OPTIONS, encode_request, method, url, opts, self.defaults,
        on_chunk and encode.F_STREAM or 0, true)
    if not req then
        encode_unwind(mark)
        h:_finish(nil, msg, code)
        return h
    end
    e:submit(req, h)
    encode_unwind(mark)
end

-- ---- batches ----

-- metamethods may raise, and LuaJIT may run out of memory before any
-- item started: keep the no-raise promise (all results kept: responses
-- alone when every item succeeded)
local function batch_result(requests, bopts, ok, ...)
    if ok then
        return ...
    end
    local e = ...
    if is_oom(e) or getmetatable(requests) ~= nil or (type(bopts) == "table" and getmetatable(bopts) ~= nil) then
        return protect_mod.failure(BATCH, e)
    end
    error(e, 0)
end

--- gluahttp's request_batch: returns responses, or responses, errors,
--- codes (codes[i], the error code of errors[i]).
---@param requests ljhttp.BatchItem[]
---@param bopts? ljhttp.BatchOptions
---@return ljhttp.Response[]? responses
---@return (string|table<integer, string>)? errors errors[i] for each failed item (or a message)
---@return (ljhttp.ErrorCode|table<integer, ljhttp.ErrorCode>)? codes codes[i] for each errors[i] (or the code when the batch itself was refused)
function Client:request_batch(requests, bopts)
    return batch_result(requests, bopts, pcall(self._request_batch, self, requests, bopts))
end

function Client:_request_batch(requests, bopts)
    if type(requests) ~= "table" then
        return bad("requests must be a table")
    end
    if self.cptr == nil then
        return closed()
    end
    local conc = DEFAULT_CONCURRENCY
    if bopts ~= nil then
        if type(bopts) ~= "table" then
            return bad("batch options must be a table")
        end
        local umsg = options.unknown(bopts, BATCH_NAMES)
        if umsg then
            return bad(umsg)
        end
        if bopts.concurrency ~= nil then
            conc = bopts.concurrency
            if type(conc) ~= "number" or conc < 1 or conc > 10000 or conc % 1 ~= 0 then
                return bad("concurrency must be a whole number from 1 to 10000")
            end
        end
    end
    local n = 0
    for k in next, requests do
        if type(k) == "number" and k > n and k % 1 == 0 then
            n = k
        end
    end
    if n > MAX_BATCH then
        return bad("a batch may hold at most " .. MAX_BATCH .. " requests")
    end
    -- sized for every item (LuaJIT counts index 0): settling one allocates
    -- nothing (out of memory)
    local responses, errors, codes, n_err = new_table(n + 1, 0), new_table(n + 1, 0), new_table(n + 1, 0), 0
    local e = self.engine
    local active, i = 0, 1
    -- One settle function per batch (a closure per item would keep the
    -- loop out of the JIT); the handle carries its index.
    local function settle(h, res, err, code)
        active = active - 1
        if res then
            responses[h.index] = res
        else
            errors[h.index], codes[h.index] = err, code
            n_err = n_err + 1
        end
    end
    local defaults = self.defaults
    -- The wait's predicate, made once: a closure made in the loop would
    -- keep the loop out of the JIT (NYI: FNEW/UCLO).
    local before
    local function progressed()
        return active < before or e.n_pending == 0
    end
    -- The loop runs under one pcall for the whole batch (per item, it
    -- would stop traces in encode). Its state is in upvalues, so after
    -- a raise it goes on where it was.
    local starting = false -- item i is being encoded and started
    local started = false -- its handle, once counted in active
    local function run()
        while true do
            while i <= n and active < conc do
                starting = true
                local item = requests[i]
                if type(item) ~= "table" then
                    errors[i], codes[i] = "Request must be a table", "invalid_argument"
                    n_err = n_err + 1
                else
                    local req, msg, code
                    local o = item[3]
                    local item_mark = encode_mark() -- see start_async
                    if getmetatable(item) ~= nil or (type(o) == "table" and getmetatable(o) ~= nil) then
                        -- metamethods may raise: keep the no-raise promise
                        req, msg, code = protect(OPTIONS, encode_request, item[1], item[2], o, defaults, 0)
                    else
                        req, msg, code = encode_request(item[1], item[2], o, defaults, 0)
                    end
                    if not req then
                        errors[i], codes[i] = msg, code
                        n_err = n_err + 1
                    else
                        local h = engine_mod.handle(nil, nil, true)
                        h.index, h.settle = i, settle
                        active = active + 1
                        started = h
                        e:submit(req, h) -- out of memory: h ends (below)
                        started = false
                    end
                    encode_unwind(item_mark)
                end
                i = i + 1
                starting = false
            end
            if active == 0 then
                break
            end
            -- until one finishes: the host decides how to wait (in OpenResty
            -- the coroutine yields, so the worker keeps serving)
            before = active
            e.host.block_until(e, progressed)
            if active > 0 and e.n_pending == 0 then
                -- nothing in flight, yet items unsettled: they are lost
                -- (an engine fault, see Engine:_sweep); they fail, not hang
                for j = 1, i - 1 do
                    if responses[j] == nil and errors[j] == nil then
                        errors[j], codes[j] = REQUEST.oom_msg, "out_of_memory"
                        n_err = n_err + 1
                    end
                end
                active = 0
            end
        end
    end
    local mark = encode_mark()
    while true do
        local ok, err = pcall(run)
        if ok then
            break
        end
        encode_unwind(mark) -- the item's request, if the raise was in one
        if not is_oom(err) then
            if started then -- a finalizer's raise while its transfer was in a slot
                e:drop_slot(started)
            end
            error(err, 0)
        end
        if starting then -- out of memory starting item i: it fails so
            starting = false
            if started then -- settled once, by its handle (active - 1)
                local h = started
                started = false
                h:_abort(err)
            else
                errors[i], codes[i] = REQUEST.oom_msg, "out_of_memory"
                n_err = n_err + 1
            end
            i = i + 1
        else -- in the host's wait: the items in flight end so
            e:abort_pending(err, settle)
        end
    end
    if n_err > 0 then
        return responses, errors, codes
    end
    return responses
end

return true
