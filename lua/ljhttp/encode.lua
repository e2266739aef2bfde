-- encode: Lua option tables -> one ljh_request struct.
--
-- Lua checks only types here; every byte-level rule (CR/LF/NUL, tokens,
-- schemes, durations) is checked in C, once. The struct and its arrays
-- are scratch memory reused by every call: C copies what it keeps before
-- the call returns, and `anchors` keeps derived strings alive until then.
local ffi = require("ffi")
local bodies = require("ljhttp.bodies")

local type, tostring, next, rawget = type, tostring, next, rawget
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

local F_NO_FOLLOW, F_STREAM, F_INSECURE = 1, 2, 4
local F_DECOMPRESS, F_VERBOSE, F_NO_PROXY = 8, 16, 32
local F_QUERY_APPEND = 64
local F_DECODE_JSON = 128
local F_OUTPUT_SYNC = 256
local json_encode = require("ljhttp.json").encode
local band = require("bit").band
local REQ_SIZE = ffi.sizeof(req)

-- Options that take one of a few words, each a number in the struct.
local ENUM_OPTIONS = {
    { name = "http_version", values = { ["1.1"] = 11, ["2"] = 20, ["2-prior-knowledge"] = 21 },
        allowed = "\"1.1\", \"2\" or \"2-prior-knowledge\"" },
    { name = "tls_min_version", values = { ["1.2"] = 12, ["1.3"] = 13 },
        allowed = "\"1.2\" or \"1.3\"" },
}

-- Options that are plain strings copied into an ljh_str field.
local STR_OPTIONS = { "ca_file", "ca_path", "client_cert", "client_key", "pinned_public_key",
    "unix_socket", "no_proxy", "output", "body_file" }

local function anchor(s)
    n_anchors = n_anchors + 1
    anchors[n_anchors] = s
    return s
end

-- Drops the anchors once C has copied what it needs.
function M.release()
    for i = 1, n_anchors do
        anchors[i] = nil
    end
    n_anchors = 0
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
        d.str = C_NULL
        d.str_len = 0
        d.seconds = v
        return true
    elseif type(v) == "string" then
        d.str = v
        d.str_len = #v
        return true
    end
    return nil, "invalid duration: " .. name .. " must be a number of seconds or a string such as \"1.5s\""
end

local function grow_headers(n)
    if n > hdr_cap then
        local old, old_cap = hdr_kv, hdr_cap
        while hdr_cap < n do
            hdr_cap = hdr_cap * 2
        end
        hdr_kv = kv_type(hdr_cap)
        ffi.copy(hdr_kv, old, old_cap * ffi.sizeof("ljh_kv"))
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
            ck_cap = ck_cap * 2
            local nk = kv_type(ck_cap)
            ffi.copy(nk, ck_kv, n * ffi.sizeof("ljh_kv"))
            ck_kv = nk
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

-- Fills the scratch request from method, url, options and client
-- defaults. Returns the struct, or nil, message, code. The caller must
-- call M.release() after the C call.
function M.request(method, url, o, d, extra_flags)
    if o ~= nil and type(o) ~= "table" then
        return bad("options must be a table")
    end
    if type(method) ~= "string" then
        if method == nil then
            return nil, "unsupported protocol scheme \"\"", "unsupported_scheme"
        end
        return bad("method must be a string")
    end
    if url ~= nil and type(url) ~= "string" then
        return bad("url must be a string")
    end
    local r = req
    -- every field starts at zero: no pointer survives from the last call
    ffi.fill(r, REQ_SIZE)
    r.method, r.method_len = method, #method
    if url == nil then
        r.url, r.url_len = C_NULL, 0
    else
        r.url, r.url_len = url, #url
    end

    local query = pick(o, d, "query")
    local qflags = 0
    if query == nil then
        r.query, r.query_len = C_NULL, 0
    elseif type(query) == "string" then
        r.query, r.query_len = query, #query
    elseif type(query) == "table" then
        -- a table is encoded (bodies.lua) and added to the URL's query
        local q, qerr = bodies.urlencode(query, "query")
        if not q then
            return nil, qerr, qerr == "out of memory" and "out_of_memory" or "invalid_argument"
        end
        anchor(q)
        r.query, r.query_len = q, #q
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
    -- json = value: the text json.lua encodes is the body
    local jv = pick(o, d, "json")
    if jv ~= nil then
        if body ~= nil then
            return bad("json cannot be combined with body or form")
        end
        local js, jerr = json_encode(jv)
        if not js then
            return nil, jerr, "json"
        end
        body = anchor(js)
        if not has_header(headers, "content-type") and not has_header(dheaders, "content-type") then
            n = put_header(n, "Content-Type", "application/json")
        end
    end
    if body == nil then
        r.body, r.body_len = C_NULL, 0
    else
        local b = text(body)
        if b == nil then
            return bad("body must be a string")
        end
        r.body, r.body_len = b, #b
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
        r.user, r.user_len, r.pass, r.pass_len = C_NULL, 0, C_NULL, 0
    else
        if type(auth) ~= "table" then
            return bad("auth must be a table {user = ..., pass = ...}")
        end
        local user, pass = rawget(auth, "user"), rawget(auth, "pass")
        if type(user) ~= "string" or type(pass) ~= "string" then
            return bad("auth needs both user and pass as strings")
        end
        r.user, r.user_len, r.pass, r.pass_len = user, #user, pass, #pass
    end

    err, msg = set_duration(r.timeout, pick(o, d, "timeout"), "timeout")
    if not err then
        return bad(msg)
    end
    err, msg = set_duration(r.connect_timeout, pick(o, d, "connect_timeout"), "connect_timeout")
    if not err then
        return bad(msg)
    end
    err, msg = set_duration(r.idle_timeout, pick(o, d, "idle_timeout"), "idle_timeout")
    if not err then
        return bad(msg)
    end

    local max_body = pick(o, d, "max_body_size")
    if max_body == nil then
        r.max_body_size = 0 -- C's default
    elseif max_body == false then
        r.max_body_size = -1
    elseif type(max_body) == "number" and max_body >= 1 and max_body < 2 ^ 53 then
        r.max_body_size = max_body
    else
        return bad("max_body_size must be a number of bytes >= 1, or false for no limit")
    end

    local max_redirects = pick(o, d, "max_redirects")
    if max_redirects == nil then
        r.max_redirects = -1
    elseif type(max_redirects) == "number" and max_redirects >= 0 and max_redirects <= 1000 then
        r.max_redirects = max_redirects
    else
        return bad("max_redirects must be a number from 0 to 1000")
    end

    for i = 1, #STR_OPTIONS do
        local k = STR_OPTIONS[i]
        local v = pick(o, d, k)
        if v ~= nil then
            if type(v) ~= "string" then
                return bad(k .. " must be a string")
            end
            local f = r[k]
            f.ptr, f.len = v, #v
        end
    end

    local multipart = pick(o, d, "multipart")
    if multipart ~= nil then
        local ok, merr = bodies.fill_parts(r, multipart, anchor)
        if not ok then
            return bad(merr)
        end
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
    local key = pick(o, d, "client_key_password")
    if key ~= nil then
        if type(key) ~= "string" then
            return bad("client_key_password must be a string")
        end
        r.key_password.ptr, r.key_password.len = key, #key
    end
    for i = 1, #ENUM_OPTIONS do
        local e = ENUM_OPTIONS[i]
        local v = pick(o, d, e.name)
        if v ~= nil then
            local n = e.values[v]
            if not n then
                return bad(e.name .. " must be " .. e.allowed)
            end
            r[e.name] = n
        end
    end
    local retries = pick(o, d, "retries")
    if retries ~= nil then
        if type(retries) ~= "number" or retries < 0 or retries > 10 or retries % 1 ~= 0 then
            return bad("retries must be a whole number from 0 to 10")
        end
        r.retries = retries
    end
    err, msg = set_duration(r.retry_delay, pick(o, d, "retry_delay"), "retry_delay")
    if not err then
        return bad(msg)
    end
    if pick(o, d, "decompress") == true then
        flags = flags + F_DECOMPRESS
    end
    if pick(o, d, "verbose") == true then
        flags = flags + F_VERBOSE
    end
    if pick(o, d, "follow_redirects") == false then
        flags = flags + F_NO_FOLLOW
    end
    if pick(o, d, "insecure") == true then
        flags = flags + F_INSECURE
    end
    if pick(o, d, "output_sync") == true then
        flags = flags + F_OUTPUT_SYNC
    end
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

M.F_STREAM = F_STREAM
M.F_QUERY_APPEND = F_QUERY_APPEND

return M
