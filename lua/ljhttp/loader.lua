-- loader: declare the ABI (once per Lua state) and find libljhttp.
--
-- Search order: an explicit path (ljhttp.setup{library = ...} or the
-- LJHTTP_LIBRARY environment variable), then build/ next to this file's
-- checkout, then Neovim's runtimepath, then package.cpath, then the
-- installed prefix, then the system linker path.
local ffi = require("ffi")

local M = {}

-- A second require (common while developing a Neovim plugin) must not
-- fail with "attempt to redefine".
local function declare()
    if pcall(ffi.typeof, "struct ljh_request") then
        return
    end
    ffi.cdef(require("ljhttp.cdef"))
end

-- Types are needed by encode/decode before any library is loaded.
declare()

-- The version these declarations describe, from the declarations
-- themselves: the library must report the same.
local ABI_VERSION = tonumber(ffi.C.LJH_ABI_VERSION)
M.ABI_VERSION = ABI_VERSION

local function file_exists(path)
    local f = io.open(path, "rb")
    if f then
        f:close()
        return true
    end
    return false
end

-- Directory of this file: .../lua/ljhttp/
local function here()
    local src = debug.getinfo(1, "S").source
    if src:sub(1, 1) ~= "@" then
        return nil
    end
    return src:sub(2):match("^(.*)[/\\]") or "."
end

local LIBNAMES = { "libljhttp.so", "libljhttp.so.0", "libljhttp.dylib" }

function M.candidates()
    local list = {}
    local function add(p)
        list[#list + 1] = p
    end
    local env = os.getenv("LJHTTP_LIBRARY")
    if env and env ~= "" then
        add(env)
    end
    local dir = here()
    if dir then
        -- repository checkout: lua/ljhttp/ -> build/
        for _, n in ipairs(LIBNAMES) do
            add(dir .. "/../../build/" .. n)
        end
        -- installed: share/lua/5.1/ljhttp/ -> lib/
        for _, n in ipairs(LIBNAMES) do
            add(dir .. "/../../../../lib/" .. n)
        end
    end
    local vim = rawget(_G, "vim")
    if vim and vim.api and vim.api.nvim_get_runtime_file then
        local ok, found = pcall(vim.api.nvim_get_runtime_file, "build/libljhttp.so", true)
        if ok then
            for _, p in ipairs(found) do
                add(p)
            end
        end
    end
    for pattern in package.cpath:gmatch("[^;]+") do
        for _, n in ipairs({ "ljhttp", "libljhttp" }) do
            local p = pattern:gsub("%?", n)
            if p:match("%.so$") or p:match("%.dylib$") then
                add(p)
            end
        end
    end
    return list
end

local lib, lib_path, load_error

local function try_load(path)
    local ok, l = pcall(ffi.load, path)
    if not ok then
        return nil, l
    end
    local ok2, abi = pcall(function()
        return l.ljh_abi_version()
    end)
    if not ok2 then
        return nil, path .. " is not libljhttp: " .. tostring(abi)
    end
    if abi ~= ABI_VERSION then
        return nil, string.format("%s has ABI version %d but this Lua code needs %d: rebuild "
            .. "the library (make) or update the Lua files", path, abi, ABI_VERSION)
    end
    return l
end

-- Loads the library from path, or searches; returns the namespace or
-- nil, message. The first success is kept for the life of the Lua state.
function M.load(path)
    local env = os.getenv("LJHTTP_LIBRARY")
    if path == nil then
        if env and env ~= "" then
            -- an explicit choice: a missing or mismatched file is an
            -- error, never silently replaced by another library
            path = env
        end
    end
    if lib and (path == nil or path == lib_path) then
        return lib
    end
    if lib then
        return nil, "ljhttp: the library is already loaded from " .. lib_path
    end
    declare()
    local tried = {}
    local list = path and { path } or M.candidates()
    for _, p in ipairs(list) do
        if path or file_exists(p) then
            local l, err = try_load(p)
            if l then
                lib, lib_path, load_error = l, p, nil
                return lib
            end
            tried[#tried + 1] = err
        end
    end
    if not path then
        -- last: whatever the system linker finds
        local l, err = try_load("ljhttp")
        if l then
            lib, lib_path, load_error = l, "ljhttp (system)", nil
            return lib
        end
        tried[#tried + 1] = err
    end
    -- the advice fits what was tried: the variable, a given path, or a search
    local advice
    if path and path == env then
        advice = "cannot load LJHTTP_LIBRARY=" .. path .. " (point LJHTTP_LIBRARY at a built "
            .. "libljhttp.so, or unset it to search the usual places)"
    elseif path then
        advice = "cannot load " .. path .. " (give the path of a built libljhttp.so, or none "
            .. "to search the usual places)"
    else
        advice = "cannot load libljhttp (run `make` in the ljhttp directory, or set "
            .. "LJHTTP_LIBRARY to the library's path)"
    end
    load_error = "ljhttp: " .. advice .. ": " .. table.concat(tried, "; ")
    return nil, load_error
end

function M.path()
    return lib_path
end

function M.error()
    return load_error
end

return M
