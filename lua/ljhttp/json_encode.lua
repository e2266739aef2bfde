-- json_encode: Lua values to JSON, for json.encode and for request
-- bodies (json.tape, used by encode.lua). put() writes the value as a
-- tape of nodes pointing at the Lua strings themselves; C checks it,
-- builds a cJSON tree and prints it (csrc/json_print.c). json.lua
-- exports encode, tape and tape_return. Nothing here raises on bad
-- input: failures are nil, message, "json".
local ffi = require("ffi")
local loader = require("ljhttp.loader")
local null = require("ljhttp.json_values").null

local type, next, rawget, tostring = type, next, rawget, tostring
-- User tables are walked with next and read with rawget: a LuaJIT built
-- with Lua 5.2 compatibility honours __pairs and __len, which may raise
-- or show other content than the table holds.
local getmetatable, pcall = getmetatable, pcall
local ffi_str, ffi_istype = ffi.string, ffi.istype
local str_format, str_find = string.format, string.find
local huge = math.huge

local M = {}

-- Node types and the depth limit, from the declarations (cdef/ljhttp.h).
local K = ffi.C
local T_NULL, T_FALSE, T_TRUE, T_NUMBER = tonumber(K.LJH_JSON_NULL), tonumber(K.LJH_JSON_FALSE),
    tonumber(K.LJH_JSON_TRUE), tonumber(K.LJH_JSON_NUMBER)
local T_STRING, T_ARRAY, T_OBJECT = tonumber(K.LJH_JSON_STRING), tonumber(K.LJH_JSON_ARRAY),
    tonumber(K.LJH_JSON_OBJECT)
local T_INTEGER_TEXT = tonumber(K.LJH_JSON_INTEGER_TEXT)
local MAX_DEPTH = tonumber(K.LJH_JSON_MAX_DEPTH)

local lib = loader.lib -- the library handle, loaded on first use

local function fail(msg)
    return nil, msg, "json"
end

local node_t = ffi.typeof("ljh_json_node[?]")
local tape, cap, n = nil, 0, 0
local seen = {}       -- tables on the current path (cycles)
local anchors = {}    -- strings made here, alive until C has printed
local n_anchors = 0

local function grow()
    local ncap = cap < 256 and 256 or cap * 2
    local t = node_t(ncap)
    if n > 0 then
        ffi.copy(t, tape, n * ffi.sizeof("ljh_json_node"))
    end
    tape, cap = t, ncap
end

local function is_ident(k)
    return str_find(k, "^[%a_][%w_]*$") ~= nil
end

local function key_path(k)
    if type(k) == "string" and is_ident(k) then
        return "." .. k
    end
    if type(k) == "string" then
        return "[" .. str_format("%q", k) .. "]"
    end
    return "[" .. tostring(k) .. "]"
end

local int64_t, uint64_t = ffi.typeof("int64_t"), ffi.typeof("uint64_t")

-- The hosts' own nulls encode as null too: OpenResty's ngx.null (the same
-- NULL light userdata as lua-cjson's cjson.null) and Neovim's vim.NIL.
local host_nulls = {}
do
    local ngx, vim = rawget(_G, "ngx"), rawget(_G, "vim")
    if type(ngx) == "table" and ngx.null ~= nil then
        host_nulls[ngx.null] = true
    end
    if type(vim) == "table" and vim.NIL ~= nil then
        host_nulls[vim.NIL] = true
    end
end

-- Appends the nodes of v. Returns true, or nil, message, path (the part
-- of the path below v).
local put
put = function(v, depth)
    local i = n
    if i >= cap then
        grow()
    end
    n = i + 1
    local t = type(v)
    if t == "string" then
        local nd = tape[i]
        nd.type, nd.str, nd.len = T_STRING, v, #v
        return true
    elseif t == "number" then
        if v ~= v or v == huge or v == -huge then
            return nil, "a number that is NaN or infinite", ""
        end
        local nd = tape[i]
        nd.type, nd.num = T_NUMBER, v
        return true
    elseif t == "boolean" then
        tape[i].type = v and T_TRUE or T_FALSE
        return true
    elseif t == "table" then
        if v == null then
            tape[i].type = T_NULL
            return true
        end
        if depth >= MAX_DEPTH then
            return nil, "nesting deeper than " .. MAX_DEPTH .. " levels", ""
        end
        if seen[v] then
            return nil, "a table that contains itself (a cycle)", ""
        end
        local mt = getmetatable(v)
        local jt = mt ~= nil and type(mt) == "table" and rawget(mt, "__jsontype") or nil
        local k1 = next(v)
        if jt == "array" or (jt ~= "object" and type(k1) == "number") then
            -- keys must be 1..max, holes become null (at most as many
            -- holes as elements, plus a few)
            local count, max = 0, 0
            for k in next, v do
                if type(k) ~= "number" or k < 1 or k % 1 ~= 0 then
                    return nil, type(k) == "number" and "an array with the key " .. tostring(k)
                        or "a table with both array items and " .. type(k) .. " keys", ""
                end
                count = count + 1
                if k > max then
                    max = k
                end
            end
            if max > 2 * count + 16 then
                return nil, str_format("a sparse array (%d items, largest index %d)", count, max), ""
            end
            tape[i].type, tape[i].len = T_ARRAY, max
            seen[v] = true
            for k = 1, max do
                local e = rawget(v, k)
                if e == nil then
                    e = null
                end
                local ok, msg, path = put(e, depth + 1)
                if not ok then
                    seen[v] = nil
                    return nil, msg, "[" .. k .. "]" .. path
                end
            end
            seen[v] = nil
            return true
        end
        -- an object: string keys only
        local count = 0
        seen[v] = true
        for k, e in next, v do
            if type(k) ~= "string" then
                seen[v] = nil
                if type(k) == "number" then
                    return nil, "a table with both string keys and number keys", key_path(k)
                end
                return nil, "a " .. type(k) .. " key", ""
            end
            local j = n
            if j >= cap then
                grow()
            end
            n = j + 1
            local nd = tape[j]
            nd.type, nd.str, nd.len = T_STRING, k, #k
            local ok, msg, path = put(e, depth + 1)
            if not ok then
                seen[v] = nil
                return nil, msg, key_path(k) .. path
            end
            count = count + 1
        end
        seen[v] = nil
        tape[i].type, tape[i].len = T_OBJECT, count
        return true
    elseif t == "userdata" and host_nulls[v] then
        tape[i].type = T_NULL
        return true
    elseif t == "cdata" and (ffi_istype(int64_t, v) or ffi_istype(uint64_t, v)) then
        local s = tostring(v):gsub("U?LL$", "")
        n_anchors = n_anchors + 1
        anchors[n_anchors] = s
        local nd = tape[i]
        nd.type, nd.str, nd.len = T_INTEGER_TEXT, s, #s
        return true
    end
    return nil, "a " .. t .. " value", ""
end

-- The path of node index target inside v, walking in put()'s order
-- (tables are unchanged since, so next() goes the same way).
local function locate(v, target)
    local idx = 0
    local function walk(x, path)
        if idx == target then
            return path
        end
        idx = idx + 1
        if type(x) ~= "table" or x == null then
            return nil
        end
        local k1 = next(x)
        local mt = getmetatable(x)
        local jt = mt ~= nil and type(mt) == "table" and rawget(mt, "__jsontype") or nil
        if jt == "array" or (jt ~= "object" and type(k1) == "number") then
            local max = 0
            for k in next, x do
                if k > max then
                    max = k
                end
            end
            for k = 1, max do
                local e = rawget(x, k)
                local p = walk(e == nil and null or e, path .. "[" .. k .. "]")
                if p then
                    return p
                end
            end
            return nil
        end
        for k, e in next, x do
            if idx == target then
                return path .. key_path(k) .. " (the key)"
            end
            idx = idx + 1
            local p = walk(e, path .. key_path(k))
            if p then
                return p
            end
        end
        return nil
    end
    return walk(v, "$")
end

local lenp = ffi.new("size_t[1]")
local badp = ffi.new("int32_t[1]")
local errbuf = ffi.new("char[256]")

local function encode_value(v, L)
    n, n_anchors = 0, 0
    local ok, msg, path = put(v, 0)
    if not ok then
        for k in next, seen do
            seen[k] = nil
        end
        return fail("cannot encode " .. msg .. " as JSON (at $" .. path .. ")")
    end
    local p = L.ljh_json_print(tape, n, lenp, badp, errbuf, 256)
    if p == nil then
        local emsg = ffi_str(errbuf)
        local where = badp[0] >= 0 and locate(v, badp[0]) or nil
        return fail("cannot encode as JSON: " .. emsg .. (where and " (at " .. where .. ")" or ""))
    end
    local s = ffi_str(p, lenp[0])
    L.ljh_json_text_free(p)
    return s
end

local encoding = false

-- A finalizer that encodes while we do gets fresh scratch state: enter()
-- sets the running encoding's aside, leave() puts it back.
local function enter()
    local saved
    if encoding then
        saved = { tape, cap, n, seen, anchors, n_anchors }
        tape, cap, n, seen, anchors, n_anchors = nil, 0, 0, {}, {}, 0
    end
    encoding = true
    return saved
end

local function leave(saved)
    if saved then
        tape, cap, n, seen, anchors, n_anchors = saved[1], saved[2], saved[3], saved[4], saved[5],
            saved[6]
    else
        encoding = false
    end
end

--- Value -> JSON text, or nil, message, "json". Never raises.
function M.encode(v)
    local L, err = lib()
    if not L then
        return fail(err)
    end
    local saved = enter()
    local ok, s, msg = pcall(encode_value, v, L)
    for i = 1, n_anchors do
        anchors[i] = nil
    end
    if cap > 262144 then
        tape, cap = nil, 0 -- keep at most 6 MiB of scratch tape
    end
    leave(saved)
    if not ok then
        for k in next, seen do
            seen[k] = nil
        end
        return fail("cannot encode as JSON: " .. tostring(s))
    end
    if s == nil then
        return fail(msg)
    end
    return s
end

-- ---- request bodies (encode.lua) ----

local NODE_SIZE = ffi.sizeof("ljh_json_node")

--- (Internal, for encode.lua.) v as a tape that C prints straight into a
--- request body (ljh_request.json), so the JSON text never comes back to
--- Lua: tape, count; or nil, message (then the code is "json"). The tape
--- is handed over: encoding takes a fresh one until tape_return(tape).
--- keep(s) is called for each string made here (int64 digits), which must
--- live as long as the tape.
function M.tape(v, keep)
    local saved = enter()
    n, n_anchors = 0, 0
    local ok, put_ok, msg, path = pcall(put, v, 0)
    local t, count = tape, n
    for i = 1, n_anchors do
        keep(anchors[i])
        anchors[i] = nil
    end
    if ok and put_ok then
        tape, cap = nil, 0
    else
        for k in next, seen do
            seen[k] = nil
        end
    end
    leave(saved)
    if not ok then
        return nil, "cannot encode as JSON: " .. tostring(put_ok)
    elseif not put_ok then
        return nil, "cannot encode " .. msg .. " as JSON (at $" .. path .. ")"
    end
    return t, count
end

--- (Internal, for encode.lua.) Gives a tape from M.tape back for reuse
--- once C has printed it.
function M.tape_return(t)
    local tcap = ffi.sizeof(t) / NODE_SIZE
    if tape == nil and not encoding and tcap <= 262144 then
        tape, cap = t, tcap
    end
end

return M
