-- Line-delimited bodies: stream:lines() and the async option on_line,
-- lines split anywhere across chunks, CRLF and LF, optionally JSON.
local T = require("support")
local http = require("ljhttp")
local lines = require("ljhttp.lines")

local function esc(s)
    return (s:gsub("[^%w]", function(c)
        return ("%%%02X"):format(c:byte())
    end))
end

local NDJSON = '{"n":1,"t":"a"}\r\n{"n":2,"t":"b\\nc"}\n\n{"n":3,"t":"\\u00e9"}\r\n{"n":4,"t":"last"}'
local TEXT = "one\r\ntwo\n\nthree\r\nfour"

T.test("the splitter: every split point, CRLF and LF, last line without LF", function()
    for cut = 0, #TEXT do
        for cut2 = cut, #TEXT do
            local sp, out = lines.new(), {}
            sp:feed(TEXT:sub(1, cut), out)
            sp:feed(TEXT:sub(cut + 1, cut2), out)
            sp:feed(TEXT:sub(cut2 + 1), out)
            out[#out + 1] = sp:finish()
            T.same(out, { "one", "two", "", "three", "four" }, "cut at " .. cut .. "," .. cut2)
        end
    end
end)

T.test("stream:lines(): text lines from a body sent in 3-byte pieces", function()
    local s = T.ok(http.stream("GET", T.url("/answer?piece=3&body=" .. esc(TEXT))))
    local got = {}
    for line in s:lines() do
        got[#got + 1] = line
    end
    T.same(got, { "one", "two", "", "three", "four" })
    T.is_nil(s.error)
end)

T.test("stream:lines('json'): each line decoded, blank lines skipped", function()
    local s = T.ok(http.stream("GET", T.url("/answer?piece=5&body=" .. esc(NDJSON))))
    local got = {}
    for v in s:lines("json") do
        got[#got + 1] = v.n .. v.t
    end
    T.same(got, { "1a", "2b\nc", "3\195\169", "4last" })
    T.is_nil(s.error)
end)

T.test("stream:lines('json'): a line that is not JSON ends the loop with a json error", function()
    local s = T.ok(http.stream("GET", T.url("/answer?body=" .. esc('{"n":1}\nnot json\n{"n":3}\n'))))
    local n = 0
    for _ in s:lines("json") do
        n = n + 1
    end
    T.eq(n, 1)
    T.eq(s.error_code, "json")
    T.is_type(s.error, "string")
end)

T.test("on_line: lines of an async request, JSON decoded with lines = 'json'", function()
    local got, done = {}, nil
    local h = http.get_async(T.url("/answer?piece=4&body=" .. esc(NDJSON)), {
        lines = "json",
        on_line = function(v)
            got[#got + 1] = v.n
        end,
    }, function(res)
        done = { #got, res.status_code } -- the last line came before the callback
    end)
    T.res(200, h:wait(10))
    T.same(got, { 1, 2, 3, 4 })
    T.same(done, { 4, 200 })
    local text = {}
    http.get_async(T.url("/answer?piece=2&body=" .. esc(TEXT)), {
        on_line = function(line)
            text[#text + 1] = line
        end,
    }):wait(10)
    T.same(text, { "one", "two", "", "three", "four" })
end)

T.test("on_line and lines are refused by blocking calls; bad values raise", function()
    T.err("invalid_argument", http.get(T.url("/echo"), { on_line = print }))
    T.err("invalid_argument", http.stream("GET", T.url("/echo"), { on_line = print }))
    T.ok(not pcall(http.get_async, T.url("/echo"), { on_line = print, lines = "xml" }))
    T.ok(not pcall(http.get_async, T.url("/echo"), { lines = "json" }))
end)
