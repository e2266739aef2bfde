-- options.decompress against compressed bodies that end early, carry a
-- second stream or junk after the end (tests/fixture/faults.py /encoded),
-- for every encoding this libcurl offers. A stream that does not end is
-- `protocol` naming the encoding, never a short success and never
-- `internal`; concatenated gzip members and zstd frames decode whole.
local T = require("support")
local R = require("reliability")
local http = require("ljhttp")

local WHOLE = string.rep(string.char(unpack((function()
    local t = {}
    for i = 0, 255 do
        t[#t + 1] = i
    end
    return t
end)())), 64)

local function encodings()
    local f = T.ok(http.info()).features
    local list = {}
    if f.libz then
        list[#list + 1] = "gzip"
        list[#list + 1] = "deflate"
    end
    if f.brotli then
        list[#list + 1] = "br"
    end
    if f.zstd then
        list[#list + 1] = "zstd"
    end
    return list
end

local function get(c, enc, query, opts)
    opts = opts or {}
    opts.decompress, opts.timeout = true, 10
    return c:get(R.furl("/encoded?enc=" .. enc .. "&" .. query), opts)
end

local function is_truncation(enc, what, r, msg, code)
    msg = T.err("protocol", r, msg, code)
    T.contains(msg, enc .. "-encoded", enc .. " " .. what)
    return msg
end

T.test("decompress: every encoding decodes whole, sync and chunked", function()
    local c = http.new()
    for _, enc in ipairs(encodings()) do
        T.eq(T.res(200, get(c, enc, "form=whole")).body, WHOLE, enc)
        T.eq(T.res(200, get(c, enc, "form=whole&chunked=1")).body, WHOLE, enc .. " chunked")
    end
    c:close()
end)

T.test("decompress: a stream cut short with a matching length is protocol, not a short body", function()
    local c = http.new()
    for _, enc in ipairs(encodings()) do
        for _, q in ipairs({ "form=cut", "form=cut&cut=1", "form=cut&cut=4", "form=cut&chunked=1" }) do
            local msg = is_truncation(enc, q, get(c, enc, q))
            T.contains(msg, "truncated", enc .. " " .. q)
        end
    end
    c:close()
end)

T.test("decompress: two streams back to back decode whole (gzip, zstd) or are protocol", function()
    local c = http.new()
    for _, enc in ipairs(encodings()) do
        local r, msg, code = get(c, enc, "form=double")
        if enc == "gzip" or enc == "zstd" then
            -- what gzip -d and zstd -d make of it
            T.eq(T.res(200, r, msg, code).body, WHOLE .. WHOLE, enc)
        else
            is_truncation(enc, "double", r, msg, code)
        end
        is_truncation(enc, "junk", get(c, enc, "form=junk"))
    end
    c:close()
end)

T.test("decompress: a cut stream fails streams, async requests and output too", function()
    local c = http.new()
    for _, enc in ipairs(encodings()) do
        -- stream: the bytes that came, then the error
        local s = T.ok(c:stream("GET", R.furl("/encoded?enc=" .. enc .. "&form=cut"), { decompress = true, timeout = 10 }))
        local got, err, code = {}, nil, nil
        while true do
            local chunk, m, k = s:read()
            if not chunk then
                err, code = m, k
                break
            end
            got[#got + 1] = chunk
        end
        s:close()
        T.eq(code, "protocol", enc .. " stream: " .. tostring(err))
        T.ok(#table.concat(got) < #WHOLE, enc .. " stream got less")
        -- async
        local res
        c:get_async(R.furl("/encoded?enc=" .. enc .. "&form=cut"), { decompress = true, timeout = 10 },
            function(...) res = { ... } end)
        c:run(10)
        is_truncation(enc, "async", res[1], res[2], res[3])
        -- output: no file left behind
        local out = T.tmpfile("decoded_" .. enc)
        os.remove(out)
        is_truncation(enc, "output", get(c, enc, "form=cut", { output = out }))
        T.is_nil(io.open(out), enc .. ": no output file")
    end
    c:close()
end)

-- Issue 17: every Content-Encoding line counts, not only the first.
T.test("decompress: a list of encodings, on one line or several, decodes last first", function()
    local c = http.new()
    local encs = encodings()
    for _, a in ipairs(encs) do
        for _, b in ipairs(encs) do
            for _, lines in ipairs({ "0", "1" }) do
                local what = a .. "," .. b .. " lines=" .. lines
                T.eq(T.res(200, get(c, a .. "," .. b, "lines=" .. lines)).body, WHOLE, what)
            end
        end
        -- identity is no encoding, wherever it stands
        T.eq(T.res(200, get(c, "identity," .. a, "lines=1")).body, WHOLE, "identity then " .. a)
        T.eq(T.res(200, get(c, a .. ",identity", "lines=1")).body, WHOLE, a .. " then identity")
    end
    c:close()
end)

T.test("decompress: an unknown encoding in the list is protocol naming it, never the encoded bytes", function()
    local c = http.new()
    for _, enc in ipairs(encodings()) do
        for _, list in ipairs({ enc .. ",compress", "compress," .. enc }) do
            for _, lines in ipairs({ "0", "1" }) do
                local msg = T.err("protocol", get(c, list, "lines=" .. lines))
                T.contains(msg, "compress", list .. " lines=" .. lines)
            end
        end
    end
    c:close()
end)
