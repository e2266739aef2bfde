-- lines: line-delimited bodies (NDJSON, as LLM APIs stream), fed in
-- any pieces: stream:lines() and the async option on_line.
--
-- A line ends with LF; a CR before it is dropped (CRLF), also when the
-- CR and the LF came in different chunks. The last line needs no LF. With
-- "json", each line is decoded through ljhttp.json and blank lines are
-- skipped; a line that is not JSON gives nil, message, "json".
local find, sub, byte, concat = string.find, string.sub, string.byte, table.concat
local json = require("ljhttp.json")

local M = {}
local Splitter = {}
Splitter.__index = Splitter

function M.new()
    local s = setmetatable({ part = false, n = 0 }, Splitter) -- see decode.lua's response
    s.part = {}
    return s
end

local function strip_cr(line)
    if byte(line, -1) == 13 then
        return sub(line, 1, -2)
    end
    return line
end

-- Appends the complete lines of chunk to out (a list); returns out.
function Splitter:feed(chunk, out)
    local pos, len = 1, #chunk
    while true do
        local e = find(chunk, "\n", pos, true)
        if not e then
            if pos <= len then
                self.n = self.n + 1
                self.part[self.n] = sub(chunk, pos)
            end
            return out
        end
        local line = sub(chunk, pos, e - 1)
        if self.n > 0 then
            self.n = self.n + 1
            self.part[self.n] = line
            line = concat(self.part, "", 1, self.n)
            for i = 1, self.n do
                self.part[i] = nil
            end
            self.n = 0
        end
        out[#out + 1] = strip_cr(line)
        pos = e + 1
    end
end

-- The unfinished last line at the end of the body, or nil.
function Splitter:finish()
    if self.n == 0 then
        return nil
    end
    local line = concat(self.part, "", 1, self.n)
    self.part, self.n = {}, 0
    return strip_cr(line)
end

-- "json": the line's value; true, "skip" for a blank line; or nil,
-- message, "json". Other formats: the line itself.
local function convert(line, format)
    if format ~= "json" then
        return line
    end
    if not find(line, "%S") then
        return true, "skip"
    end
    local v, err = json.decode(line)
    if v == nil then
        return nil, err, "json"
    end
    return v
end
M.convert = convert

-- Checks the lines format an option or argument names.
function M.format(v)
    return v == nil or v == false or v == "text" or v == "json"
end

-- For options.on_line: a function(chunk) feeding on_line(line) (or its
-- JSON value, or nil, message, "json") and a function() for the last
-- unfinished line, run before the response callback.
function M.chunk_handler(on_line, format, on_chunk)
    local sp = M.new()
    local function emit(line)
        local v, err, code = convert(line, format)
        if err ~= "skip" then
            on_line(v, err, code)
        end
    end
    local feed = function(chunk)
        if on_chunk then
            on_chunk(chunk)
        end
        local got = sp:feed(chunk, {})
        for i = 1, #got do
            emit(got[i])
        end
    end
    local finish = function()
        local last = sp:finish()
        if last then
            emit(last)
        end
    end
    return feed, finish
end

return M
