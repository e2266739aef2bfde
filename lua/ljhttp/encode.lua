-- encode: Lua option tables -> one ljh_request struct.
--
-- Lua checks only types here; every byte-level rule (CR/LF/NUL, tokens,
-- schemes, durations) is checked in C, once. The struct and its arrays
-- are scratch memory reused by every call: C copies what it keeps before
-- the call returns, and `anchors` keeps derived strings alive until then.
--
-- A request owns the scratch from request() until release(). A request
-- made in between (a finalizer's, run by an allocation while the owner
-- encodes or before its C call) sets the owner's scratch aside, works on
-- fresh scratch, and its release() puts the owner's back untouched.
local ffi = require("ffi")
local lazy = require("ljhttp.protect").require
-- bodies.lua (query/form tables, multipart) is loaded on first use
local bodies = setmetatable({}, { __index = function(_, k) return lazy("ljhttp.bodies")[k] end })

local type, tostring, tonumber, next, rawget = type, tostring, tonumber, next, rawget
local getmetatable = getmetatable
-- User tables are walked with next and read with rawget: a LuaJIT built
-- with Lua 5.2 compatibility honours __pairs and __len, which may raise
-- or show other content than the table holds.
local str_lower = string.lower
local C_NULL = nil

local M = {}

local req = ffi.new("ljh_request")
local kv_type = ffi.typeof("ljh_kv[?]")
local hdr_cap, ck_cap = 32, 16
local hdr_kv = kv_type(hdr_cap)
local ck_kv = kv_type(ck_cap)
local anchors = {}
local n_anchors = 0
local parts, parts_cap = nil, 0 -- multipart's array (bodies.fill_parts)

-- Flag values from the library's declarations (cdef/ljhttp.h), not copies.
local F_STREAM, F_NO_PROXY = tonumber(ffi.C.LJH_F_STREAM), tonumber(ffi.C.LJH_F_NO_PROXY)
local F_BODY_PULL = tonumber(ffi.C.LJH_F_BODY_PULL)
local F_QUERY_APPEND = tonumber(ffi.C.LJH_F_QUERY_APPEND)
local F_DECODE_JSON = tonumber(ffi.C.LJH_F_DECODE_JSON)
-- json.lua is loaded on first use (a request with json = value)
local function json_tape(v, anchor) return lazy("ljhttp.json").tape(v, anchor) end
local function json_tape_return(t) return lazy("ljhttp.json").tape_return(t) end
local lent_tape -- the json tape the struct points at, until release()
local band = require("bit").band
local REQ_SIZE = ffi.sizeof(req)

-- Every option and how it is checked (options.lua).
local options = require("ljhttp.options")
local OPTIONS = options.REQUEST
local request_names, unknown_option = options.request_names, options.unknown
local flag_bits = {} -- spec -> its LJH_F_* value, read from the library's declarations
local SIMPLE = {}     -- name -> spec, for the kinds simple_options sets
local DEFAULTED = {}  -- specs whose nil is not the struct's zero
for i = 1, #OPTIONS do
    local spec = OPTIONS[i]
    if spec.kind == "flag" then
        flag_bits[spec] = tonumber(ffi.C[spec.bit])
    end
    if spec.kind ~= "special" and spec.kind ~= "async" and spec.kind ~= "client" then
        SIMPLE[spec.name] = spec
    end
    if spec.default and spec.default ~= 0 then
        DEFAULTED[#DEFAULTED + 1] = spec
    end
end
-- What every request starts from: zero, but what nil stands for where
-- that is not 0 (copied whole: no loop over DEFAULTED per request).
local BLANK = ffi.new("ljh_request")
for i = 1, #DEFAULTED do
    BLANK[DEFAULTED[i].name] = DEFAULTED[i].default
end

local function anchor(s)
    n_anchors = n_anchors + 1
    anchors[n_anchors] = s
    return s
end

-- Owners: `lent` while a request owns the scratch; `aside` holds the
-- scratch of the owners a nested request interrupted, innermost last.
local lent = false
local aside, n_aside = {}, 0

-- Sets the owner's scratch aside and takes fresh scratch. The new
-- objects are made before anything is swapped: a finalizer run by these
-- allocations sees the owner's scratch whole, and puts it back whole.
local function set_aside()
    local saved = { req, hdr_kv, hdr_cap, ck_kv, ck_cap, anchors, n_anchors, lent_tape, parts,
        parts_cap }
    local r, h, c, an = ffi.new("ljh_request"), kv_type(32), kv_type(16), {}
    aside[n_aside + 1] = saved
    n_aside = n_aside + 1
    req, hdr_kv, hdr_cap, ck_kv, ck_cap, anchors, n_anchors, lent_tape, parts, parts_cap =
        r, h, 32, c, 16, an, 0, nil, nil, 0
end

-- Drops the anchors once C has copied what it needs, and ends the
-- innermost owner: the scratch an outer owner had is its again.
function M.release()
    for i = 1, n_anchors do
        anchors[i] = nil
    end
    n_anchors = 0
    if lent_tape ~= nil then
        json_tape_return(lent_tape)
        lent_tape = nil
    end
    if n_aside > 0 then
        local a = aside[n_aside]
        aside[n_aside] = nil
        n_aside = n_aside - 1
        req, hdr_kv, hdr_cap, ck_kv, ck_cap, anchors, n_anchors, lent_tape, parts, parts_cap =
            a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10]
    else
        lent = false
    end
end

-- How many requests own scratch now. A caller notes it before it
-- encodes; after a raise, unwind(mark) releases what its own request
-- (and any nested one a raise cut short) still holds, and nothing of an
-- owner further out. A plain release() there could end an outer owner
-- when the raise came before this caller's own request().
function M.mark()
    return lent and n_aside + 1 or 0
end

function M.unwind(mark)
    if (lent and n_aside + 1 or 0) > mark then
        -- the one request a caller encoded: released outside the loop, so
        -- a trace recorded through a batch's item loop meets no inner loop
        -- ("inner loop in root trace", then several recordings thrown away)
        M.release()
        while (lent and n_aside + 1 or 0) > mark do -- nested ones a raise cut short
            M.release()
        end
    end
end

local function bad(msg)
    return nil, msg, "invalid_argument"
end

-- number or string -> text, anything else -> nil
local function text(v)
    local t = type(v)
    if t == "string" then
        return v
    elseif t == "number" then
        return anchor(tostring(v))
    end
    return nil
end

local function set_duration(d, v, name)
    if v == nil then
        d.is_set = 0
        return true
    end
    d.is_set = 1
    if type(v) == "number" then
        d.str.ptr, d.str.len = C_NULL, 0
        d.seconds = v
        return true
    elseif type(v) == "string" then
        d.str.ptr, d.str.len = v, #v
        return true
    end
    return nil, "invalid duration: " .. name .. " must be a number of seconds or a string such as \"1.5s\""
end

local function grow_headers(n)
    if n > hdr_cap then
        local cap = hdr_cap
        while cap < n do
            cap = cap * 2
        end
        local kv = kv_type(cap)
        ffi.copy(kv, hdr_kv, hdr_cap * ffi.sizeof("ljh_kv"))
        hdr_kv, hdr_cap = kv, cap
    end
end

local function put_header(i, name, value)
    grow_headers(i + 1)
    local kv = hdr_kv[i]
    kv.name = name
    kv.name_len = #name
    kv.value = value
    kv.value_len = #value
    return i + 1
end

-- Caller headers (table name -> value) from options then client defaults;
-- a name given per request hides the default of the same name.
local function add_headers(n, headers, defaults)
    if headers ~= nil then
        if type(headers) ~= "table" then
            return bad("headers must be a table of name = value")
        end
        for k, v in next, headers do
            local val = text(v)
            if type(k) ~= "string" or val == nil then
                return bad("headers must map names (strings) to values (strings or numbers)")
            end
            n = put_header(n, k, val)
        end
    end
    if defaults ~= nil and defaults ~= headers then
        local seen
        if headers ~= nil and next(headers) ~= nil then
            seen = {}
            for k in next, headers do
                seen[str_lower(k)] = true
            end
        end
        for k, v in next, defaults do
            local val = text(v)
            if type(k) ~= "string" or val == nil then
                return bad("client headers must map names (strings) to values (strings or numbers)")
            end
            if not (seen and seen[str_lower(k)]) then
                n = put_header(n, k, val)
            end
        end
    end
    return n
end

local function has_header(headers, lname)
    if type(headers) ~= "table" then
        return false
    end
    for k in next, headers do
        if type(k) == "string" and str_lower(k) == lname then
            return true
        end
    end
    return false
end

local function add_cookies(cookies)
    if cookies == nil then
        return 0
    end
    if type(cookies) ~= "table" then
        return bad("cookies must be a table of name = value")
    end
    local n = 0
    for k, v in next, cookies do
        local val = text(v)
        if type(k) ~= "string" or val == nil then
            return bad("cookies must map names (strings) to values (strings or numbers)")
        end
        if n >= ck_cap then
            local nk = kv_type(ck_cap * 2)
            ffi.copy(nk, ck_kv, n * ffi.sizeof("ljh_kv"))
            ck_kv, ck_cap = nk, ck_cap * 2
        end
        local kv = ck_kv[n]
        kv.name, kv.name_len, kv.value, kv.value_len = k, #k, val, #val
        n = n + 1
    end
    return n
end

-- Option lookup: per-request value, else the client's default.
-- The value is anchored until release(): an __index metamethod may have
-- built it just now, and its pointer goes into the request struct.
local function pick(o, d, k)
    local v
    if o ~= nil then
        v = o[k]
    end
    if v == nil and d ~= nil then
        v = d[k]
    end
    if v ~= nil then
        anchor(v)
    end
    return v
end
M.pick = pick

-- One option of kind "int", "enum", "duration", "str" or "flag"
-- (options.lua) with value v (not nil) into r: its flag bit (or 0), or
-- nil, message.
local function apply(r, spec, v)
    local kind, name = spec.kind, spec.name
    if kind == "duration" then
        local ok, msg = set_duration(r[name], v, name)
        if not ok then
            return nil, msg
        end
    elseif kind == "int" then
        if v == false and spec.off then
            r[name] = spec.off
        elseif type(v) ~= "number" or v % 1 ~= 0
            or (spec.c_range and (v < -2 ^ 31 or v >= 2 ^ 31))
            or (not spec.c_range and (v < spec.min or v > spec.max)) then
            return nil, name .. " must be " .. (spec.says or ("a whole number from "
                .. spec.min .. " to " .. spec.max))
        else
            r[name] = v
        end
    elseif kind == "str" then
        if type(v) ~= "string" then
            return nil, name .. " must be a string"
        end
        local f = r[spec.field or name]
        f.ptr, f.len = v, #v
    elseif kind == "enum" then
        local n = spec.values[v]
        if not n then
            return nil, name .. " must be " .. spec.says
        end
        r[name] = n
    elseif kind == "flag" and v == spec.when then
        return flag_bits[spec]
    end
    return 0
end

-- Applies the simple options plain table t holds, but those over holds
-- too (raw keys: no metamethod runs); returns flags plus their bits, or
-- nil, message.
local function apply_held(r, t, over, flags)
    for k, v in next, t do
        local spec = SIMPLE[k]
        if spec and (over == nil or over[k] == nil) then
            local bit, msg = apply(r, spec, v)
            if not bit then
                return nil, msg
            end
            flags = flags + bit
        end
    end
    return flags
end

-- The simple options (apply) of o, else of the defaults d, set in r;
-- returns the flag bits, or nil, message. Plain tables: only the keys
-- they hold are visited, so a request with few options runs few
-- iterations (and no hot loop of its own next to decode's). Tables with
-- metatables: every option is looked up, as __index may build it.
local function simple_options(r, o, d)
    local flags = 0 -- (what nil stands for is in r already: BLANK)
    if (o == nil or getmetatable(o) == nil) and (d == nil or getmetatable(d) == nil) then
        local msg
        if o ~= nil then
            flags, msg = apply_held(r, o, nil, flags)
            if not flags then
                return nil, msg
            end
        end
        if d ~= nil then
            flags, msg = apply_held(r, d, o, flags)
        end
        return flags, msg
    end
    for i = 1, #OPTIONS do
        local spec = OPTIONS[i]
        if SIMPLE[spec.name] then
            local v = pick(o, d, spec.name)
            if v ~= nil then
                local bit, msg = apply(r, spec, v)
                if not bit then
                    return nil, msg
                end
                flags = flags + bit
            end
        end
    end
    return flags
end

-- Fills the scratch request from method, url, options and client
-- defaults. Returns the struct, or nil, message, code. The caller must
-- call M.release() after the C call, or after the failure (also when it
-- raised: see M.unwind).
--
-- async: the call is request_async, which reads on_chunk/on_event itself;
-- a blocking call refuses them rather than never calling them.
function M.request(method, url, o, d, extra_flags, async)
    if lent then
        set_aside() -- a request made inside another's: see the top
    end
    lent = true
    if o ~= nil then
        if type(o) ~= "table" then
            return bad("options must be a table")
        end
        local umsg = unknown_option(o, request_names)
        if umsg then
            return bad(umsg)
        end
        if not async and (o.on_chunk ~= nil or o.on_event ~= nil or o.on_line ~= nil
            or o.lines ~= nil) then
            return bad("on_chunk, on_event and on_line are options of request_async: a blocking "
                .. "call returns the whole body (use stream() to read it in pieces)")
        end
    end
    -- gluahttp's phrase for a missing method or URL, then the way out
    if type(method) ~= "string" then
        if method == nil then
            return nil, "unsupported protocol scheme \"\" (method must be a string, got nil)",
                "unsupported_scheme"
        end
        return bad("method must be a string, got " .. type(method))
    end
    if type(url) ~= "string" then
        if url == nil then
            return nil, "unsupported protocol scheme \"\" (url must be a string, got nil)",
                "unsupported_scheme"
        end
        return bad("url must be a string, got " .. type(url))
    end
    local r = req
    -- every field starts blank: no pointer survives from the last call
    ffi.copy(r, BLANK, REQ_SIZE)
    r.method.ptr, r.method.len = method, #method
    r.url.ptr, r.url.len = url, #url
    if o == nil and (d == nil or (next(d) == nil and getmetatable(d) == nil)) then
        -- no options and no defaults (a plain c:get(url)): what the path
        -- below leaves in the struct then, without its dozen lookups
        r.headers, r.cookies = hdr_kv, ck_kv
        r.flags = extra_flags or 0
        return r
    end

    local query = pick(o, d, "query")
    local qflags = 0
    if query == nil then
        r.query.ptr, r.query.len = C_NULL, 0
    elseif type(query) == "string" then
        r.query.ptr, r.query.len = query, #query
    elseif type(query) == "table" then
        -- a table is encoded (bodies.lua) and added to the URL's query
        local q, qerr = bodies.urlencode(query, "query")
        if not q then
            return nil, qerr, qerr == "out of memory" and "out_of_memory" or "invalid_argument"
        end
        anchor(q)
        r.query.ptr, r.query.len = q, #q
        qflags = F_QUERY_APPEND
    else
        return bad("query must be a string or a table")
    end

    local body = pick(o, d, "body")
    local form = pick(o, d, "form")
    local headers = pick(o, nil, "headers")
    local dheaders = pick(d, nil, "headers")
    local n = 0
    if body == nil and form ~= nil then
        if type(form) == "table" then
            local f, ferr = bodies.urlencode(form, "form")
            if not f then
                return nil, ferr, ferr == "out of memory" and "out_of_memory" or "invalid_argument"
            end
            form = anchor(f)
        elseif type(form) ~= "string" then
            return bad("form must be a string or a table")
        end
        body = form
        if not has_header(headers, "content-type") and not has_header(dheaders, "content-type") then
            n = put_header(n, "Content-Type", "application/x-www-form-urlencoded")
        end
    end
    -- json = value: json.lua writes the value's tape, C prints it into
    -- the request (the text never comes back to Lua)
    local jv = pick(o, d, "json")
    if jv ~= nil then
        if body ~= nil then
            return bad("json cannot be combined with body or form")
        end
        local tape, count = json_tape(jv, anchor)
        if not tape then
            return nil, count, "json"
        end
        if lent_tape ~= nil then -- a request encoded but never released
            json_tape_return(lent_tape)
        end
        lent_tape = tape
        r.json, r.n_json = tape, count
        if not has_header(headers, "content-type") and not has_header(dheaders, "content-type") then
            n = put_header(n, "Content-Type", "application/json")
        end
    end
    if body == nil then
        r.body.ptr, r.body.len = C_NULL, 0
    elseif type(body) == "function" then
        -- pulled piece by piece by the engine (request_async; blocking
        -- calls go through it): C pauses the upload until Lua feeds
        if not async then
            return bad("body as a function is not supported in request_batch or stream()")
        end
        if o == nil or o.body ~= body then
            return bad("a body function belongs to one request, not to the client's defaults")
        end
        r.body.ptr, r.body.len = C_NULL, 0
        extra_flags = (extra_flags or 0) + F_BODY_PULL
    else
        local b = text(body)
        if b == nil then
            return bad("body must be a string")
        end
        r.body.ptr, r.body.len = b, #b
    end

    local err, msg, code
    n, msg, code = add_headers(n, headers, dheaders)
    if n == nil then
        return nil, msg, code
    end
    r.headers, r.n_headers = hdr_kv, n

    local cookies = pick(o, d, "cookies")
    local nc
    nc, msg, code = add_cookies(cookies)
    if nc == nil then
        return nil, msg, code
    end
    r.cookies, r.n_cookies = ck_kv, nc

    local auth = pick(o, d, "auth")
    if auth == nil then
        r.user.ptr, r.user.len, r.pass.ptr, r.pass.len = C_NULL, 0, C_NULL, 0
    else
        if type(auth) ~= "table" then
            return bad("auth must be a table {user = ..., pass = ...}")
        end
        local user, pass = rawget(auth, "user"), rawget(auth, "pass")
        if type(user) ~= "string" or type(pass) ~= "string" then
            return bad("auth needs both user and pass as strings")
        end
        r.user.ptr, r.user.len, r.pass.ptr, r.pass.len = user, #user, pass, #pass
    end

    local multipart = pick(o, d, "multipart")
    if multipart ~= nil then
        local ok, got, cap = bodies.fill_parts(r, multipart, anchor, parts, parts_cap)
        if not ok then
            return bad(got)
        end
        parts, parts_cap = got, cap
    end

    local flags = (extra_flags or 0) + qflags
    local proxy = pick(o, d, "proxy")
    if proxy == false then
        flags = flags + F_NO_PROXY
    elseif proxy ~= nil then
        if type(proxy) ~= "string" then
            return bad("proxy must be a URL string, or false")
        end
        r.proxy.ptr, r.proxy.len = proxy, #proxy
    end
    local pauth = pick(o, d, "proxy_auth")
    if pauth ~= nil then
        local pu = type(pauth) == "table" and rawget(pauth, "user")
        local pp = type(pauth) == "table" and rawget(pauth, "pass")
        if type(pu) ~= "string" or type(pp) ~= "string" then
            return bad("proxy_auth must be a table {user = ..., pass = ...}")
        end
        r.proxy_user.ptr, r.proxy_user.len = pu, #pu
        r.proxy_pass.ptr, r.proxy_pass.len = pp, #pp
    end
    local f
    f, msg = simple_options(r, o, d)
    if not f then
        return bad(msg)
    end
    flags = flags + f
    -- decode = "json": C parses the body (response.json_value)
    local dec = pick(o, d, "decode")
    if dec == "json" then
        if band(flags, F_STREAM) ~= 0 or pick(o, d, "output") ~= nil then
            return bad("decode = \"json\" cannot be combined with on_chunk, a stream or output")
        end
        flags = flags + F_DECODE_JSON
    elseif dec ~= nil and dec ~= false then
        return bad("decode must be \"json\" (or nil)")
    end
    r.flags = flags
    return r
end

-- The "special" options encode.request reads by name, in its order
-- (tests/lua/test_option_names.lua checks them against options.lua).
M.SPECIAL = { "query", "body", "form", "json", "headers", "cookies", "auth", "multipart", "proxy",
    "proxy_auth", "decode" }

M.F_STREAM = F_STREAM
M.F_QUERY_APPEND = F_QUERY_APPEND

return M
