-- bodies: query and form tables -> percent-encoded text, multipart parts
-- -> ljh_part structs. Escaping is libcurl's (ljh_escape wraps
-- curl_easy_escape), so Lua and C agree byte for byte.
--
-- Order is deterministic: keys sorted by byte value, the elements of an
-- array value in array order, each as its own key=value pair.
local ffi = require("ffi")
local loader = require("ljhttp.loader")

local type, next, tostring, tonumber, rawget = type, next, tostring, tonumber, rawget
-- User tables are walked with next and read with rawget: a LuaJIT built
-- with Lua 5.2 compatibility honours __pairs and __len, which may raise
-- or show other content than the table holds.
local rawlen = rawget(_G, "rawlen") or function(t)
    return #t -- (without 5.2 compatibility # is raw)
end
local floor, huge = math.floor, math.huge
local concat, sort = table.concat, table.sort
local str_find, str_format = string.find, string.format
local ffi_str = ffi.string

local M = {}

local buf, buf_len = nil, 0
local SIZE_MAX = ffi.cast("size_t", -1)

-- libcurl's escaping of s; nil when out of memory.
local function escape(s)
    local n = #s
    if not str_find(s, "[^%w%-%._~]") then
        return s -- nothing libcurl would change
    end
    local C, err = loader.lib()
    if not C then
        return nil, err
    end
    if n * 3 > buf_len then
        buf_len = n * 3 < 256 and 256 or n * 3
        buf = ffi.new("char[?]", buf_len)
    end
    local m = C.ljh_escape(s, n, buf, buf_len)
    if m == SIZE_MAX or m > buf_len then
        return nil, "out of memory"
    end
    return ffi_str(buf, m)
end
M.escape = escape

-- A value as text: strings as they are, numbers without exponent or
-- fraction when they are whole (2, not 2.0), booleans as true/false.
local function text(v)
    local t = type(v)
    if t == "string" then
        return v
    elseif t == "number" then
        if v ~= v or v == huge or v == -huge then
            return nil
        end
        if v == floor(v) and v >= -2 ^ 53 and v <= 2 ^ 53 then
            return str_format("%d", v)
        end
        local s = tostring(v)
        if tonumber(s) ~= v then
            s = str_format("%.17g", v)
        end
        return s
    elseif t == "boolean" then
        return v and "true" or "false"
    end
    return nil
end
M.text = text

local function bad_value(what, k)
    return nil, str_format("%s: the value of %q must be a string, number, boolean or an "
        .. "array of them", what, k)
end

-- "ek=<escaped v>" for one value, or nil and a message.
local function pair(what, k, ek, v)
    local s = text(v)
    if s == nil then
        return bad_value(what, k)
    end
    if str_find(s, "%z") then
        return nil, str_format("%s: the value of %q must not contain NUL", what, k)
    end
    local ev, err = escape(s)
    if not ev then
        return nil, err
    end
    return ek .. "=" .. ev
end

-- "k=v&k2=v2" from a table; what names the option in messages. Returns
-- the text, or nil and a message.
function M.urlencode(t, what)
    local keys, n = {}, 0
    for k in next, t do
        if type(k) ~= "string" then
            return nil, what .. ": keys must be strings (got " .. type(k) .. " " .. tostring(k) .. ")"
        end
        n = n + 1
        keys[n] = k
    end
    sort(keys)
    local out, m = {}, 0
    for i = 1, n do
        local k = keys[i]
        if str_find(k, "%z") then
            return nil, what .. ": keys must not contain NUL"
        end
        local ek, err = escape(k)
        if not ek then
            return nil, err
        end
        local v = rawget(t, k)
        if type(v) == "table" then
            local len, count = rawlen(v), 0
            for _ in next, v do
                count = count + 1
            end
            if count ~= len then
                return nil, str_format("%s: the value of %q must be an array (keys 1..n)", what, k)
            end
            for j = 1, len do
                local p, perr = pair(what, k, ek, rawget(v, j))
                if not p then
                    return nil, perr
                end
                m = m + 1
                out[m] = p
            end
        else
            local p, perr = pair(what, k, ek, v)
            if not p then
                return nil, perr
            end
            m = m + 1
            out[m] = p
        end
    end
    return concat(out, "&")
end

-- ---- multipart ----

local part_array = ffi.typeof("ljh_part[?]")
local PART_SIZE = ffi.sizeof("ljh_part")
local PART_TEXT = { "filename", "content_type" }

local function set_str(f, s)
    f.ptr, f.len = s, #s
end

-- Fills r.parts / r.n_parts from the multipart option, in the caller's
-- scratch array parts (room for cap parts; nil, 0 at first). anchor(s)
-- keeps derived strings alive until the C call returns. Returns true,
-- the array and its room (a new array when it had too little), or nil
-- and a message. Byte-level rules (NUL, CR, LF, readable files) are
-- checked in C.
function M.fill_parts(r, list, anchor, parts, parts_cap)
    if type(list) ~= "table" then
        return nil, "multipart must be an array of parts {name = ..., data = ... | file = ...}"
    end
    local n, count = rawlen(list), 0
    for _ in next, list do
        count = count + 1
    end
    if n == 0 or count ~= n then
        return nil, "multipart must be a non-empty array of parts (keys 1..n)"
    end
    if n > parts_cap then
        parts_cap = n < 8 and 8 or n
        parts = part_array(parts_cap)
    end
    ffi.fill(parts, n * PART_SIZE)
    for i = 1, n do
        local p = rawget(list, i)
        if type(p) ~= "table" then
            return nil, str_format("multipart part %d must be a table", i)
        end
        local name, data, file = rawget(p, "name"), rawget(p, "data"), rawget(p, "file")
        if type(name) ~= "string" then
            return nil, str_format("multipart part %d: name must be a string", i)
        end
        local q = parts[i - 1]
        set_str(q.name, name)
        if data ~= nil then
            local s = text(data)
            if s == nil or type(data) == "boolean" then
                return nil, str_format("multipart part %d (%q): data must be a string", i, name)
            end
            if s ~= data then
                anchor(s)
            end
            set_str(q.data, s)
        end
        if file ~= nil then
            if type(file) ~= "string" then
                return nil, str_format("multipart part %d (%q): file must be a path string", i, name)
            end
            set_str(q.file, file)
        end
        if (data == nil) == (file == nil) then
            return nil, str_format("multipart part %d (%q): give exactly one of data and file", i, name)
        end
        for _, k in ipairs(PART_TEXT) do
            local v = rawget(p, k)
            if v ~= nil then
                if type(v) ~= "string" then
                    return nil, str_format("multipart part %d (%q): %s must be a string", i, name, k)
                end
                set_str(q[k], v)
            end
        end
    end
    r.parts, r.n_parts = parts, n
    return true, parts, parts_cap
end

return M
