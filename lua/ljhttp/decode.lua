-- decode: one ljh_response -> the documented http.response table.
--
-- Every field is copied once with ffi.string, and the C object is freed
-- right after: here when it came from a slot (M.take_slot), otherwise
-- by its owner. This is the hot path of every request, written so
-- LuaJIT compiles it: numeric loops, no pairs(), no string patterns.
local ffi = require("ffi")
local protect_mod = require("ljhttp.protect")
local protect, RESPONSE = protect_mod.call, protect_mod.RESPONSE
local new_table = protect_mod.new_table

-- ljh_response.http_version -> response.http_version (cdef/ljhttp.h)
local HTTP_VERSIONS = { [tonumber(ffi.C.LJH_HTTP_1_0)] = "1.0", [tonumber(ffi.C.LJH_HTTP_1_1)] = "1.1",
    [tonumber(ffi.C.LJH_HTTP_2)] = "2", [tonumber(ffi.C.LJH_HTTP_3)] = "3" }

-- json.lua and links.lua are loaded on first use (a response with a Link
-- header, response:json(), decode = "json"): start-up pays only for what
-- a request needs.
local json_mod, links_mod
local function json()
    json_mod = json_mod or protect_mod.require("ljhttp.json")
    return json_mod
end
local function links_parse(list, url)
    links_mod = links_mod or protect_mod.require("ljhttp.links")
    return links_mod.parse(list, url)
end

local ffi_str = ffi.string
local tonumber, rawget, setmetatable, type = tonumber, rawget, setmetatable, type

local M = {}

-- Whether the collector runs: a step would restart one the application
-- stopped (collectgarbage("stop")). LuaJIT 2.0 has no "isrunning": there
-- the step is always taken.
local function gc_running()
    return true
end
if pcall(collectgarbage, "isrunning") then
    gc_running = function()
        return collectgarbage("isrunning")
    end
end

local C -- set by M.init
local canon_buf_len = 256
local canon_buf = ffi.new("char[?]", canon_buf_len)

-- headers["content-type"] finds "Content-Type": misses are looked up
-- again under Go's canonical form, computed by the same C code that named
-- the keys.
local headers_mt = {
    __index = function(t, k)
        if type(k) ~= "string" or #k == 0 then
            return nil
        end
        local n = #k
        if n > canon_buf_len then
            canon_buf_len = n
            canon_buf = ffi.new("char[?]", n)
        end
        C.ljh_canonical_header(k, n, canon_buf)
        local ck = ffi_str(canon_buf, n)
        if ck == k then
            return nil
        end
        -- not `return rawget(...)`: a tail call to a builtin from a
        -- metamethod is a JIT NYI ("return to lower frame")
        local v = rawget(t, ck)
        return v
    end,
}
M.headers_mt = headers_mt

-- Methods live in the metatable so pairs(response) shows only data.
local response_methods = {}
M.response_mt = { __index = response_methods }
M.response_methods = response_methods

--- response:json(): the body as a Lua value (ljhttp.json.decode), or
--- nil, message, "json". With decode = "json" it is the value C already
--- decoded (response.json_value) or its error (response.json_error).
function response_methods.json(self)
    local value = rawget(self, "json_value")
    if value ~= nil then
        return value
    end
    local jerr = rawget(self, "json_error")
    if jerr ~= nil then
        return nil, jerr, "json"
    end
    return json().decode(rawget(self, "body"))
end

function M.init(lib)
    C = lib
end

local function error_word(code)
    return ffi_str(C.ljh_error_name(code))
end
M.error_word = error_word

-- The end of a decoded response: frees the C object when it came from a
-- slot (M.take_slot), everything is copied by now, then parses Link.
local function finish(res, list, url, headers, lib, slot)
    if slot ~= nil then
        lib.ljh_response_free_slot(slot) -- the slot is kept: client.lua's _request
    end
    if rawget(headers, "Link") ~= nil then
        res.links = links_parse(list, url)
    end
    return res
end

-- Returns the response table, or nil, message, code. lib and slot: the
-- slot r was read from, emptied once r is copied (M.take_slot); nil when
-- r stays its owner's.
function M.response(r, streamed, lib, slot)
    local err = r.error
    if err ~= 0 then
        return nil, ffi_str(r.errmsg), error_word(err)
    end
    -- sized for the headers: no rehash per insert
    local n_headers = r.n_headers
    local headers = setmetatable(new_table(0, n_headers), headers_mt)
    local list = new_table(n_headers, 0)
    local n_cookies = r.n_cookies
    local cookies = new_table(0, n_cookies)
    local cs = r.cookies
    for i = 0, n_cookies - 1 do
        local c = cs[i]
        cookies[ffi_str(c.name, c.name_len)] = ffi_str(c.value, c.value_len)
    end
    local n_redirects = r.n_redirects
    local redirects = new_table(n_redirects, 0)
    local rs = r.redirects
    for i = 0, n_redirects - 1 do
        local h = rs[i]
        local hop = { status_code = 0, url = "" } -- constants: see res below
        hop.status_code, hop.url = h.status, ffi_str(h.url, h.url_len)
        redirects[i + 1] = hop
    end
    -- decode = "json": C parsed the body and, when it was JSON, freed it
    -- (r.body is then "", r.body_len still counts the bytes)
    local jdoc = r.json
    if jdoc ~= nil and jdoc.error == 0 then
        streamed = true
    end
    local body_size = tonumber(r.body_len)
    local body
    if r.output_written ~= 0 then
        -- options.output: the body is in the file; body_size counts it
        body, body_size = "", tonumber(r.output_len)
    else
        if not streamed and body_size >= 1048576 and gc_running() then
            -- Pay the collector's debt for this string before making it:
            -- the same work its allocation would cause later, but done
            -- while the previous large bodies are garbage, so they are
            -- freed first. 20 x 10 MiB: peak RSS 52 -> 32 MiB, same time.
            -- A step that ends a cycle whose marking began while the last
            -- body was still in use has not freed it: one more step runs
            -- a cycle that frees it (without it, 2 runs in 30 peaked at
            -- 42 MiB).
            local kb = body_size / 1024
            if collectgarbage("step", kb) then
                collectgarbage("step", kb)
            end
        end
        body = streamed and "" or ffi_str(r.body, body_size)
    end
    local v = r.http_version
    local url = ffi_str(r.url, r.url_len)
    -- The keys come from a template of constants and the values after
    -- it: LuaJIT's bytecode dump (the modules embedded in the library,
    -- docs/abi.md) drops a constructor's keys whose values are not
    -- constants, and a table made from such a template grows by one
    -- rehash per power of two (about 6k instructions per response).
    -- Assigned, then returned: a tail call to setmetatable would abort
    -- the trace (NYI: return to lower frame).
    local timings = { dns = 0, connect = 0, tls = 0, first_byte = 0, total = 0 }
    timings.dns, timings.connect, timings.tls = r.t_dns, r.t_connect, r.t_tls
    timings.first_byte, timings.total = r.t_first_byte, r.t_total
    local res = setmetatable({
        body = "", body_size = 0, status_code = 0, url = "", headers = false, links = false,
        header_list = false, cookies = false, redirects = false, http_version = false,
        remote_ip = "", retries = 0, trace = false, timings = false,
    }, M.response_mt)
    res.body, res.body_size, res.status_code, res.url = body, body_size, r.status, url
    res.headers, res.header_list, res.cookies, res.redirects = headers, list, cookies, redirects
    res.links = {} -- parsed in finish when there is a Link header
    res.http_version, res.remote_ip, res.retries = HTTP_VERSIONS[v], ffi_str(r.remote_ip), r.retries
    res.trace = r.trace_len > 0 and ffi_str(r.trace, r.trace_len) or nil
    res.timings = timings
    if jdoc ~= nil then
        local value, jerr = json().from_doc(jdoc)
        res.json_value, res.json_error = value, jerr
    end
    -- The header loop comes last. A blocking request runs under one
    -- pcall at its entry (client.lua), and a trace started in this loop
    -- cannot return through a pcall (NYI: return to lower frame): what
    -- follows the loop runs in the interpreter. So it is a call, to a
    -- function the interpreter can enter compiled (finish, with its own
    -- trace), and only returns are left interpreted. All that precedes
    -- the loop compiles into the caller's loop.
    local hs = r.headers
    for i = 0, n_headers - 1 do
        local h = hs[i]
        local name = ffi_str(h.name, h.name_len)
        local value = ffi_str(h.value, h.value_len)
        list[i + 1] = { name, value }
        if rawget(headers, name) == nil then
            headers[name] = value
        end
    end
    return finish(res, list, url, headers, lib, slot)
end

-- A streamed request (stream, sse, on_chunk, on_event) that the server
-- answered outside 2xx: the caller gets nil, message, "http_status" and
-- the response, its body kept up to ERROR_BODY_CAP bytes (an API's
-- "invalid key" JSON), instead of an error body read as data.
M.ERROR_BODY_CAP = 65536

function M.refused(status)
    return status < 200 or status > 299
end

function M.http_status(method, what, res, body)
    res.body, res.body_size = body, #body
    local m = type(method) == "string" and method:sub(1, 1):upper() .. method:sub(2):lower() or "Get"
    return nil, ("%s %q: %s answered with status %d"):format(m, res.url, what, res.status_code),
        "http_status", res
end

-- Responses from this size on are made under pcall (M.read).
local GUARD_BYTES = 65536

--- Decodes the response C put in slot (ljh_client_perform_to) and frees
--- it at once. The slot is the client's (client.lua's _request), and owns
--- the response throughout: reading slot[0] boxes the pointer, and that
--- or the decode may raise (out of memory); the slot stays full then,
--- the client's next request makes another, and the collector runs the
--- full one's finalizer, which frees the response. A request made inside
--- this one (a finalizer's, while the decode allocates) finds the slot
--- full and uses a slot of its own, so it cannot free this response.
--- On success the slot is emptied (finish), on failure here; its
--- finalizer stays.
function M.take_slot(lib, slot, streamed)
    local res, msg, code = M.read(slot[0], streamed, lib, slot)
    if res == nil then
        lib.ljh_response_free_slot(slot)
    end
    return res, msg, code
end

--- Decodes a response that stays its owner's (ljh_transfer_response_ref),
--- or, with lib and slot, one M.take_slot frees.
function M.read(r, streamed, lib, slot)
    if r == nil then
        return nil, "out of memory", "out_of_memory"
    end
    if r.error == 0 and (r.body_len >= GUARD_BYTES or r.trace_len > 0 or r.json ~= nil) then
        -- Large strings and decoded JSON: where LuaJIT runs out of memory.
        -- Small responses skip the pcall, which would stop traces started
        -- in M.response's loops (NYI: return to lower frame).
        return protect(RESPONSE, M.response, r, streamed, lib, slot)
    end
    return M.response(r, streamed, lib, slot)
end

return M
