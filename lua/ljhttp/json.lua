-- json: JSON through cJSON (csrc/json_parse.c, csrc/json_print.c). See docs/json.md.
--
-- decode (here): C checks the bytes, cJSON parses, C flattens the tree
-- into a tape of nodes (type, number, string pointer + length, member
-- count); build() walks the tape in one loop that LuaJIT compiles, so
-- there is no FFI call per value, only ffi.string per string.
-- encode: json_encode.lua. null and the array mark: json_values.lua.
-- Nothing here raises on bad input: failures are nil, message, "json".
local ffi = require("ffi")
local loader = require("ljhttp.loader")
local values = require("ljhttp.json_values")
local encoder = require("ljhttp.json_encode")

local type, tostring = type, tostring
local setmetatable, pcall = setmetatable, pcall
local ffi_str = ffi.string

local tnew
do
    local ok, f = pcall(require, "table.new")
    tnew = ok and f or function()
        return {}
    end
end

local M = {}

-- Node types and the depth limit, from the declarations (cdef/ljhttp.h).
local K = ffi.C
local T_FALSE, T_TRUE, T_NUMBER = tonumber(K.LJH_JSON_FALSE), tonumber(K.LJH_JSON_TRUE),
    tonumber(K.LJH_JSON_NUMBER)
local T_STRING, T_ARRAY, T_OBJECT = tonumber(K.LJH_JSON_STRING), tonumber(K.LJH_JSON_ARRAY),
    tonumber(K.LJH_JSON_OBJECT)
M.MAX_DEPTH = tonumber(K.LJH_JSON_MAX_DEPTH)

local lib = loader.lib -- the library handle, loaded on first use

-- ---- null and arrays (json_values.lua) ----

local null, array_mt = values.null, values.array_mt
M.null, M.array_mt, M.array = null, array_mt, values.array
M.empty_array, M.is_array = values.empty_array, values.is_array

local function fail(msg)
    return nil, msg, "json"
end

-- ---- decoding ----

-- Per-level state of the walk: container, members left, is-object,
-- array index. Reused by every call (a nested call gets its own).
local shared_stack = {}
local stack_busy = false

-- Builds the Lua value of a tape of count nodes (count >= 1).
local function build(nodes, count, stack)
    local box = {}
    local cur, left, obj, ai = box, 1, false, 0
    local sp = 0
    local i = 0
    while i < count do
        local key
        if obj then
            local kn = nodes[i]
            key = ffi_str(kn.str, kn.len)
            i = i + 1
        end
        local nd = nodes[i]
        i = i + 1
        local ty = nd.type
        local v
        local m = 0
        if ty == T_STRING then
            v = ffi_str(nd.str, nd.len)
        elseif ty == T_NUMBER then
            v = nd.num
        elseif ty == T_OBJECT then
            m = nd.len
            v = tnew(0, m)
        elseif ty == T_ARRAY then
            m = nd.len
            v = setmetatable(tnew(m, 0), array_mt)
        elseif ty == T_TRUE then
            v = true
        elseif ty == T_FALSE then
            v = false
        else
            v = null
        end
        if obj then
            cur[key] = v
        else
            ai = ai + 1
            cur[ai] = v
        end
        left = left - 1
        if m > 0 then
            stack[sp + 1], stack[sp + 2], stack[sp + 3], stack[sp + 4] = cur, left, obj, ai
            sp = sp + 4
            cur, left, obj, ai = v, m, ty == T_OBJECT, 0
        else
            while left == 0 and sp > 0 do
                cur, left, obj, ai = stack[sp - 3], stack[sp - 2], stack[sp - 1], stack[sp]
                stack[sp - 3] = false
                sp = sp - 4
            end
        end
    end
    return box[1]
end

--- (Internal, for decode.lua.) Lua value of a parsed document
--- (ljh_json *); nil, message, "json" when it holds an error. Does not
--- free it.
function M.from_doc(doc)
    if doc.error ~= 0 then
        return fail(ffi_str(doc.errmsg))
    end
    local stack = shared_stack
    local own = not stack_busy
    if own then
        stack_busy = true
    else
        stack = {}
    end
    local ok, v = pcall(build, doc.nodes, doc.n_nodes, stack)
    if own then
        stack_busy = false
    end
    if not ok then
        return fail("could not build the decoded value: " .. tostring(v))
    end
    return v
end
local from_doc = M.from_doc

--- JSON text -> value, or nil, message, "json". Never raises.
function M.decode(s)
    if type(s) ~= "string" then
        return fail("json.decode expects a string, got " .. type(s))
    end
    local L, err = lib()
    if not L then
        return fail(err)
    end
    local doc = L.ljh_json_parse(s, #s)
    if doc == nil then
        return fail("out of memory")
    end
    local v, msg = from_doc(doc)
    L.ljh_json_free(doc)
    if v == nil then
        return fail(msg)
    end
    return v
end

-- ---- encoding (json_encode.lua) ----

M.encode, M.tape, M.tape_return = encoder.encode, encoder.tape, encoder.tape_return

return M
