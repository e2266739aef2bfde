-- options: every option name ljhttp takes, how each is checked, and the
-- refusal of names it does not know.
--
-- encode.request walks REQUEST in order. kind says how a value goes into
-- the request struct:
--   "str"      a string into the ljh_str r[field or name]
--   "int"      a whole number from min to max into r[name]; nil leaves
--              `default`, false gives `off` when the option has one
--   "enum"     one of the words of `values`, each a number in r[name]
--   "duration" a number of seconds or a Go duration string, r[name]
--   "flag"     a boolean: the value `when` adds the flag `bit` (an
--              LJH_F_* name of cdef/ljhttp.h) to r.flags
--   "special"  encode.request reads it by name (bodies, headers, auth, ...)
--   "async"    a callback of request_async, read by client.lua
--   "client"   read by client.lua for request_async; also a client default
--
-- Each check lives on one side only, never both:
--   Lua  the type of every value; that numbers are whole (and fit the
--        int32 field); words to numbers ("enum": an unknown word has no
--        number); the range of "int" options without c_range
--        (max_body_size, max_redirects: C reads 0 or < 0 as "not given",
--        so only Lua can tell a given 0 from none).
--   C    every byte rule (CR, LF, NUL, tokens, schemes, paths), every
--        duration, ranges marked c_range (retries), and which numbers an
--        enum field may hold (C callers have no words).
-- encode.request sets the "str", "int", "enum", "duration" and "flag"
-- kinds from this table alone, and reads each "special" by name
-- (encode.SPECIAL lists them; a test keeps the two in step).
local next, type, tostring = next, type, tostring
local floor, min = math.floor, math.min
local byte = string.byte

local M = {}

local REQUEST = {
    { name = "query", kind = "special" },
    { name = "body", kind = "special" },
    { name = "form", kind = "special" },
    { name = "json", kind = "special" },
    { name = "headers", kind = "special" },
    { name = "cookies", kind = "special" },
    { name = "auth", kind = "special" },
    { name = "multipart", kind = "special" },
    { name = "proxy", kind = "special" },
    { name = "proxy_auth", kind = "special" },
    { name = "decode", kind = "special" },
    { name = "timeout", kind = "duration" },
    { name = "connect_timeout", kind = "duration" },
    { name = "idle_timeout", kind = "duration" },
    { name = "retry_delay", kind = "duration" },
    { name = "max_body_size", kind = "int", min = 1, max = 2 ^ 53 - 1, default = 0, off = -1,
        says = "a whole number of bytes >= 1, or false for no limit" },
    { name = "max_redirects", kind = "int", min = 0, max = 1000, default = -1 },
    { name = "retries", kind = "int", min = 0, max = 10, c_range = true },
    { name = "ca_file", kind = "str" },
    { name = "ca_path", kind = "str" },
    { name = "client_cert", kind = "str" },
    { name = "client_key", kind = "str" },
    { name = "client_key_password", kind = "str", field = "key_password" },
    { name = "pinned_public_key", kind = "str" },
    { name = "unix_socket", kind = "str" },
    { name = "no_proxy", kind = "str" },
    { name = "output", kind = "str" },
    { name = "body_file", kind = "str" },
    { name = "http_version", kind = "enum", values = { ["1.1"] = 11, ["2"] = 20,
        ["2-prior-knowledge"] = 21, ["3"] = 30, ["3-only"] = 31 },
        says = "\"1.1\", \"2\", \"2-prior-knowledge\", \"3\" or \"3-only\"" },
    { name = "tls_min_version", kind = "enum", values = { ["1.2"] = 12, ["1.3"] = 13 },
        says = "\"1.2\" or \"1.3\"" },
    { name = "decompress", kind = "flag", when = true, bit = "LJH_F_DECOMPRESS" },
    { name = "verbose", kind = "flag", when = true, bit = "LJH_F_VERBOSE" },
    { name = "follow_redirects", kind = "flag", when = false, bit = "LJH_F_NO_FOLLOW" },
    { name = "insecure", kind = "flag", when = true, bit = "LJH_F_INSECURE" },
    { name = "output_sync", kind = "flag", when = true, bit = "LJH_F_OUTPUT_SYNC" },
    { name = "expect_continue", kind = "flag", when = false, bit = "LJH_F_NO_EXPECT" },
    { name = "on_chunk", kind = "async" },
    { name = "on_event", kind = "async" },
    { name = "on_line", kind = "async" },
    { name = "lines", kind = "async" },
    { name = "on_progress", kind = "async" },
    { name = "progress_interval", kind = "client" },
}
M.REQUEST = REQUEST

local request_names = {}
for i = 1, #REQUEST do
    request_names[REQUEST[i].name] = true
end
M.request_names = request_names

-- The names a client takes: its own (extra, a set) and every request
-- option but the callbacks, which belong to one request_async call.
function M.client_names(extra)
    local names = {}
    for i = 1, #REQUEST do
        if REQUEST[i].kind ~= "async" then
            names[REQUEST[i].name] = true
        end
    end
    for k in next, extra do
        names[k] = true
    end
    return names
end

-- Levenshtein distance of a and b, two short names.
local function distance(a, b)
    local la, lb = #a, #b
    local prev, cur = {}, {}
    for j = 0, lb do
        prev[j] = j
    end
    for i = 1, la do
        cur[0] = i
        local ca = byte(a, i)
        for j = 1, lb do
            local cost = ca == byte(b, j) and 0 or 1
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
        end
        prev, cur = cur, prev
    end
    return prev[lb]
end

-- The known name closest to key, when one is close enough to be meant:
-- a few edits away, or containing key ("version" -> "http_version").
local function closest(key, known)
    local best, best_d
    for name in next, known do
        local d = distance(key, name)
        local near = d <= 2 or d <= floor(#key / 3)
            or (#key >= 4 and name:find(key, 1, true) ~= nil)
        if near and (best_d == nil or d < best_d or (d == best_d and name < best)) then
            best, best_d = name, d
        end
    end
    return best
end
M.closest = closest

-- nil when every key of t is in known, else the message naming the first
-- unknown key (and the option meant), and that key. Raw keys only: `next` honours no
-- metamethod, and a value served by __index is not a key of t.
function M.unknown(t, known)
    for k in next, t do
        if not known[k] then
            if type(k) ~= "string" then
                return "unknown option " .. tostring(k) .. " (options are name = value)", k
            end
            local near = closest(k, known)
            if near then
                return "unknown option \"" .. k .. "\" (did you mean \"" .. near .. "\"?)", k
            end
            return "unknown option \"" .. k .. "\"", k
        end
    end
    return nil
end

-- Go duration units in milliseconds (time.ParseDuration's set).
local UNIT_MS = { ns = 1e-6, us = 1e-3, ["\194\181s"] = 1e-3, ["\206\188s"] = 1e-3, ms = 1, s = 1e3,
    m = 6e4, h = 3.6e6 }

--- A duration that stays on the Lua side (progress_interval): seconds or a
--- Go duration string ("150ms", "1m30s") -> whole milliseconds, rounded up
--- (> 0 when not zero); nil, message when it is not one or is negative.
--- The durations of the request struct are C's (ljh_duration).
function M.duration_ms(v)
    local ms
    if type(v) == "number" then
        if v ~= v or v < 0 or v > 9.2e9 then
            return nil, "invalid duration: must be a finite number of seconds from 0 to 9.2e9"
        end
        ms = v * 1e3
    elseif type(v) == "string" then
        local bad = "invalid duration " .. string.format("%q", v)
        local rest = v:gsub("^%+", "", 1)
        if rest:sub(1, 1) == "-" then
            rest = rest:sub(2)
            if rest ~= "0" and rest ~= "" then
                return nil, bad .. ": must not be negative"
            end
        end
        if rest == "0" then
            return 0
        end
        ms = 0
        local pos = 1
        if rest == "" then
            return nil, bad
        end
        while pos <= #rest do
            local num, unit, after = rest:match("^(%d*%.?%d*)([^%d%.]+)()", pos)
            if not num or num == "" or num == "." then
                return nil, bad
            end
            local u = UNIT_MS[unit:match("^[^%d%.]+")]
            if not u then
                return nil, bad .. ": unknown unit " .. string.format("%q", unit)
            end
            ms = ms + tonumber(num) * u
            pos = after
        end
        if ms > 9.2e12 then
            return nil, bad
        end
    else
        return nil, "must be a number of seconds or a duration string"
    end
    local whole = math.ceil(ms)
    return whole
end

return M
