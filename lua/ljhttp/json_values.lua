-- json_values: the JSON values Lua has no type of its own for: null (a
-- read-only sentinel table) and arrays (a metatable mark), with
-- json.array, json.empty_array and json.is_array. json.lua exports them;
-- its decoder makes them and json_encode.lua writes them.
local type, rawget, getmetatable, setmetatable, error = type, rawget, getmetatable, setmetatable, error

local M = {}

local function read_only()
    error("this ljhttp.json value is read-only", 2)
end

--- JSON null: decode gives it, encode writes null for it.
local null = setmetatable({}, {
    __tostring = function()
        return "ljhttp.json.null"
    end,
    __newindex = read_only,
    __metatable = "ljhttp.json.null",
})
M.null = null

--- The metatable decode puts on arrays; encode writes any table that has
--- it (or any metatable with __jsontype = "array") as an array.
local array_mt = { __jsontype = "array" }
M.array_mt = array_mt

--- Marks t (default: a new table) as an array; returns it.
function M.array(t)
    if t == nil then
        t = {}
    elseif type(t) ~= "table" then
        error("ljhttp.json.array: expected a table or nothing, got " .. type(t), 2)
    end
    return setmetatable(t, array_mt)
end

--- An empty array that cannot be filled: encodes as [].
M.empty_array = setmetatable({}, { __jsontype = "array", __newindex = read_only,
    __metatable = array_mt })

--- true for tables decode made from JSON arrays, json.array(...) and
--- json.empty_array.
function M.is_array(t)
    if type(t) ~= "table" then
        return false
    end
    local mt = getmetatable(t)
    return mt == array_mt or (type(mt) == "table" and rawget(mt, "__jsontype") == "array")
end

return M
