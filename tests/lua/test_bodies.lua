-- Bodies (docs/bodies.md): query and form tables, multipart, body_file,
-- output. Encodings are checked byte by byte through /echo and
-- /echo/body, binary round trips by SHA-256 (sha256sum).
local T = require("support")
local http = require("ljhttp")

-- ---- helpers ----

local function sha256_file(path)
    local out, ok = T.capture("sha256sum " .. T.shq(path))
    assert(ok, "sha256sum failed: " .. out)
    return out:match("^(%x+)")
end

local function sha256(s)
    local p = T.tmpfile("sha-input")
    T.write_file(p, s)
    return sha256_file(p)
end

-- n bytes of every value, deterministic, NULs included
local function binary(n, seed)
    local t = {}
    for i = 1, n do
        t[i] = string.char((i * 31 + (seed or 0) + math.floor(i / 256)) % 256)
    end
    return table.concat(t)
end

local function query_of(r)
    return T.echo(T.res(200, r).body).query
end

-- libcurl's URL API writes the hex digits of percent escapes in lower
-- case; compare escapes without regard to case.
local function upper_escapes(s)
    return (s:gsub("%%(%x%x)", function(h)
        return "%" .. h:upper()
    end))
end

-- What curl_easy_escape makes of one byte.
local function expect_escape(s)
    return (s:gsub("[^%w%-%._~]", function(c)
        return string.format("%%%02X", c:byte())
    end))
end

local function files_like(path)
    local dir, base = path:match("^(.*)/([^/]*)$")
    local out = {}
    local p = io.popen("ls -a " .. T.shq(dir))
    for name in p:lines() do
        if name:sub(1, #base) == base then
            out[#out + 1] = name
        end
    end
    p:close()
    table.sort(out)
    return out
end

-- ---- binary round trips ----

T.test("binary round trips: body, multipart, body_file and output agree by hash", function()
    local data = binary(1048576 + 17, 8)
    local want = sha256(data)
    -- body
    local r = T.res(200, http.post(T.url("/echo/body"), { body = data }))
    T.eq(sha256(r.body), want, "body")
    -- body_file, and the same bytes written back by output
    local src, dst = T.tmpfile("rt-src.bin"), T.tmpfile("rt-dst.bin")
    T.write_file(src, data)
    r = T.res(200, http.put(T.url("/echo/body"), { body_file = src, output = dst }))
    T.eq(r.body_size, #data)
    T.eq(sha256_file(dst), want, "body_file -> output")
    -- multipart, as data and as a file
    r = T.res(200, http.post(T.url("/upload"), {
        multipart = { { name = "d", data = data }, { name = "f", file = dst } },
    }))
    local hashes = {}
    for h in r.body:gmatch("sha256=(%x+)") do
        hashes[#hashes + 1] = h
    end
    T.same(hashes, { want, want }, "multipart")
end)

-- ---- query tables ----

T.test("query table: escaped, sorted by key, arrays as repeated keys", function()
    local q = query_of(http.get(T.url("/echo"), {
        query = { q = "a b&c", page = 2, tag = { "x", "y" } },
    }))
    T.eq(q, "page=2&q=a%20b%26c&tag=x&tag=y")
end)

T.test("query table is appended to the URL's own query", function()
    T.eq(query_of(http.get(T.url("/echo?z=1&a=0"), { query = { b = "2" } })), "z=1&a=0&b=2")
    -- an empty table keeps the URL's query as it is
    T.eq(query_of(http.get(T.url("/echo?z=1"), { query = {} })), "z=1")
    T.eq(query_of(http.get(T.url("/echo"), { query = {} })), "")
end)

T.test("query string keeps gluahttp's meaning: it replaces the URL's query", function()
    T.eq(query_of(http.get(T.url("/echo?z=1"), { query = "a=1" })), "a=1")
    T.eq(query_of(http.get(T.url("/echo?z=1"), { query = "" })), "")
end)

T.test("query table: order is by byte value of the key, array order kept", function()
    local q = query_of(http.get(T.url("/echo"), {
        query = { b = 1, B = 2, a = { "3", "1", "2" }, ["_"] = 4, ["0"] = 5, [""] = 6 },
    }))
    T.eq(q, "=6&0=5&B=2&_=4&a=3&a=1&a=2&b=1")
end)

T.test("query table: numbers, booleans and every byte value", function()
    local q = query_of(http.get(T.url("/echo"), {
        query = { i = 2, n = -3, f = 2.5, big = 2 ^ 53, t = true, no = false, tiny = 0.1 },
    }))
    T.eq(q, "big=9007199254740992&f=2.5&i=2&n=-3&no=false&t=true&tiny=0.1")
    local all = {}
    for b = 1, 255 do
        all[#all + 1] = string.char(b)
    end
    all = table.concat(all)
    q = query_of(http.get(T.url("/echo"), { query = { v = all } }))
    T.eq(upper_escapes(q), "v=" .. expect_escape(all))
end)

T.test("query and form values beginning with @ or < are sent as text", function()
    local q = query_of(http.get(T.url("/echo"), { query = { f = "@/etc/passwd", g = "</etc/hosts" } }))
    T.eq(upper_escapes(q), "f=%40%2Fetc%2Fpasswd&g=%3C%2Fetc%2Fhosts")
    local r = T.res(200, http.post(T.url("/echo/body"), { form = { f = "@/etc/passwd", g = "<x" } }))
    T.eq(r.body, "f=%40%2Fetc%2Fpasswd&g=%3Cx")
end)

T.test("query and form tables refuse NUL, other types and bad keys", function()
    local cases = {
        { a = "x\0y" },
        { ["a\0"] = "x" },
        { a = { "ok", "x\0" } },
        { a = function() end },
        { a = { { "nested" } } },
        { a = { k = "v" } },
        { a = 0 / 0 },
        { a = math.huge },
        { [1] = "positional" },
        { a = { 1, nil, 3 } },
    }
    for i, q in ipairs(cases) do
        local msg = T.err("invalid_argument", http.get(T.refused_url, { query = q }))
        T.match(msg, "^query", "query case " .. i)
        msg = T.err("invalid_argument", http.post(T.refused_url, { form = q }))
        T.match(msg, "^form", "form case " .. i)
    end
    T.err("invalid_argument", http.get(T.refused_url, { query = 5 }))
    T.err("invalid_argument", http.post(T.refused_url, { form = true }))
end)

-- ---- form tables ----

T.test("form table: x-www-form-urlencoded body, byte-exact", function()
    local r = T.res(200, http.post(T.url("/echo/body"), {
        form = { q = "a b&c=d", page = 2, tag = { "x", "y" }, utf = "caf\195\169", e = "" },
    }))
    T.eq(r.body, "e=&page=2&q=a%20b%26c%3Dd&tag=x&tag=y&utf=caf%C3%A9")
    local e = T.echo(T.res(200, http.post(T.url("/echo"), { form = { a = "1" } })).body)
    T.eq(T.echo_header(e, "Content-Type"), "application/x-www-form-urlencoded")
    T.eq(e.body_length, 3)
    -- a Content-Type of the caller wins
    e = T.echo(T.res(200, http.post(T.url("/echo"), {
        form = { a = "1" }, headers = { ["content-type"] = "text/x-mine" },
    })).body)
    T.same(T.echo_headers(e, "Content-Type"), { "text/x-mine" })
    -- every byte value, escaped as libcurl does
    local all = {}
    for b = 1, 255 do
        all[#all + 1] = string.char(b)
    end
    all = table.concat(all)
    r = T.res(200, http.post(T.url("/echo/body"), { form = { [all] = all } }))
    T.eq(r.body, expect_escape(all) .. "=" .. expect_escape(all))
end)

T.test("form string keeps gluahttp's meaning; body wins over form", function()
    local r = T.res(200, http.post(T.url("/echo/body"), { form = "a=1&b=x y" }))
    T.eq(r.body, "a=1&b=x y")
    r = T.res(200, http.post(T.url("/echo/body"), { form = { a = 1 }, body = "raw" }))
    T.eq(r.body, "raw")
end)

T.test("form table works for PUT and as a client default", function()
    local c = T.ok(http.new({ form = { d = "default" } }))
    T.eq(T.res(200, c:put(T.url("/echo/body"))).body, "d=default")
    T.eq(T.res(200, c:post(T.url("/echo/body"), { form = { o = 1 } })).body, "o=1")
    c:close()
end)

-- ---- multipart ----

local function upload_parts(body)
    local parts = {}
    for line in body:gmatch("[^\n]+") do
        local name, filename, ctype, len, sha = line:match(
            "^part name=(.-) filename=(.-) content%-type=(.-) length=(%d+) sha256=(%x+)$")
        if name then
            parts[#parts + 1] = { name = name, filename = filename, content_type = ctype,
                length = tonumber(len), sha256 = sha }
        end
    end
    return parts, tonumber(body:match("parts (%d+)"))
end

T.test("multipart: data and file parts, binary data byte-exact by hash", function()
    local data = binary(70000, 1)
    local filedata = binary(300000, 2)
    local path = T.tmpfile("upload.bin")
    T.write_file(path, filedata)
    local r = T.res(200, http.post(T.url("/upload"), {
        multipart = {
            { name = "text", data = "hello" },
            { name = "blob", data = data },
            { name = "f", file = path },
            { name = "g", file = path, filename = "other name.png", content_type = "image/png" },
            { name = "d", data = "inline", filename = "inline.txt", content_type = "text/plain" },
            { name = "h", file = path, filename = "pic.PNG" },
        },
    }))
    local parts, n = upload_parts(r.body)
    T.eq(n, 6, "parts")
    T.eq(parts[3].content_type, "application/octet-stream", "default type of a file part")
    T.eq(parts[6].content_type, "image/png", "type from a known extension")
    T.eq(parts[6].sha256, sha256_file(path))
    T.same(parts[1], { name = "text", filename = "-", content_type = "-", length = 5,
        sha256 = sha256("hello") })
    T.eq(parts[2].length, #data)
    T.eq(parts[2].sha256, sha256(data))
    T.eq(parts[3].name, "f")
    T.eq(parts[3].filename, "upload.bin", "default filename: the file's base name")
    T.eq(parts[3].length, #filedata)
    T.eq(parts[3].sha256, sha256_file(path))
    T.eq(parts[4].filename, "other name.png")
    T.eq(parts[4].content_type, "image/png")
    T.eq(parts[4].sha256, sha256_file(path))
    T.same(parts[5], { name = "d", filename = "inline.txt", content_type = "text/plain", length = 6,
        sha256 = sha256("inline") })
end)

T.test("multipart: a file's size is taken when the request is made", function()
    local path = T.tmpfile("changing.bin")
    local first = binary(200000, 3)
    -- grown before it is sent: the size it had is what is sent
    T.write_file(path, first)
    local h = http.post_async(T.url("/upload"), { multipart = { { name = "f", file = path } } })
    T.write_file(path, first .. binary(50000, 4))
    local r = T.res(200, h:wait(10))
    local parts = upload_parts(r.body)
    T.eq(parts[1].length, #first)
    T.eq(parts[1].sha256, sha256(first))
    -- shrunk before it is sent: io at once, not a server left waiting
    T.write_file(path, first)
    local t0 = T.now()
    h = http.post_async(T.url("/upload"), { multipart = { { name = "f", file = path } } })
    T.write_file(path, "short")
    local res, msg, code = h:wait(10)
    T.is_nil(res)
    T.eq(code, "io")
    T.contains(msg, "became shorter")
    T.lt(T.now() - t0, 5, "seconds (ended by the short read, not a timeout)")
end)

T.test("multipart: Content-Type is multipart/form-data with a boundary", function()
    local e = T.echo(T.res(200, http.post(T.url("/echo"), {
        multipart = { { name = "a", data = "1" } },
    })).body)
    T.match(T.echo_header(e, "Content-Type"), "^multipart/form%-data; boundary=%S+$")
    T.ok(T.echo_header(e, "Content-Length"), "Content-Length")
    T.same(T.echo_headers(e, "Expect"), {}, "no Expect: 100-continue")
    T.eq(e.method, "POST")
    -- PUT keeps its method
    e = T.echo(T.res(200, http.put(T.url("/echo"), { multipart = { { name = "a", data = "1" } } })).body)
    T.eq(e.method, "PUT")
end)

T.test("multipart: values beginning with @ or < are data, never files", function()
    local r = T.res(200, http.post(T.url("/upload"), {
        multipart = { { name = "a", data = "@/etc/passwd" }, { name = "b", data = "</etc/hostname" } },
    }))
    local parts = upload_parts(r.body)
    T.eq(parts[1].length, 12)
    T.eq(parts[1].sha256, sha256("@/etc/passwd"))
    T.eq(parts[2].sha256, sha256("</etc/hostname"))
end)

T.test("multipart: a missing or unreadable file fails before the request", function()
    local missing = T.tmpfile("does-not-exist")
    -- a refused port: the error must come before any connection attempt
    local msg = T.err("invalid_argument", http.post(T.refused_url, {
        multipart = { { name = "a", data = "x" }, { name = "f", file = missing } },
    }))
    T.contains(msg, missing)
    T.contains(msg, "part 2")
    T.contains(msg, "No such file")
    msg = T.err("invalid_argument", http.post(T.refused_url, {
        multipart = { { name = "f", file = T.tmpdir() } },
    }))
    T.contains(msg, "not a regular file")
end)

T.test("multipart: malformed parts are invalid_argument", function()
    local cases = {
        {},
        { { data = "no name" } },
        { { name = "both", data = "x", file = "/etc/hostname" } },
        { { name = "neither" } },
        { { name = "a\r\nb", data = "x" } },
        { { name = "a", data = "x", filename = "a\nb" } },
        { { name = "a", data = "x", content_type = "text/plain\r\nX: y" } },
        { { name = "a", data = true } },
        { "not a table" },
        { name = "not an array" },
    }
    for i, mp in ipairs(cases) do
        local msg = T.err("invalid_argument", http.post(T.refused_url, { multipart = mp }))
        T.contains(msg, "multipart", "case " .. i)
    end
    T.err("invalid_argument", http.post(T.refused_url, { multipart = "x" }))
end)

T.test("only one request body: body, multipart and body_file exclude each other", function()
    local msg = T.err("invalid_argument", http.post(T.refused_url, {
        body = "x", multipart = { { name = "a", data = "1" } },
    }))
    T.contains(msg, "only one request body")
    T.err("invalid_argument", http.post(T.refused_url, { body = "x", body_file = "/etc/hostname" }))
    T.err("invalid_argument", http.post(T.refused_url, {
        body_file = "/etc/hostname", multipart = { { name = "a", data = "1" } },
    }))
    T.err("invalid_argument", http.post(T.refused_url, { form = { a = 1 }, body_file = "/etc/hostname" }))
end)

T.test("multipart is sent again on a 307 and dropped on a 303", function()
    local path = T.tmpfile("mp307.bin")
    T.write_file(path, binary(5000, 3))
    local r = T.res(200, http.post(T.url("/redirect-to?status=307&url=/upload"), {
        multipart = { { name = "f", file = path }, { name = "x", data = "y" } },
    }))
    local parts, n = upload_parts(r.body)
    T.eq(n, 2)
    T.eq(parts[1].sha256, sha256_file(path))
    local e = T.echo(T.res(200, http.post(T.url("/redirect-to?status=303&url=/echo"), {
        multipart = { { name = "f", file = path } },
    })).body)
    T.eq(e.method, "GET")
    T.eq(e.body_length, 0)
    T.same(T.echo_headers(e, "Content-Type"), {})
end)

-- ---- body_file ----

T.test("body_file: POST and PUT stream the file with Content-Length", function()
    local data = binary(1500000, 4)
    local path = T.tmpfile("body.bin")
    T.write_file(path, data)
    for _, m in ipairs({ "post", "put", "patch" }) do
        local e = T.echo(T.res(200, http[m](T.url("/echo"), { body_file = path })).body)
        T.eq(e.method, m:upper())
        T.eq(T.echo_header(e, "Content-Length"), tostring(#data), m)
        T.same(T.echo_headers(e, "Transfer-Encoding"), {}, m)
        -- from 1 MiB a file upload asks first (test_expect.lua)
        T.same(T.echo_headers(e, "Expect"), { "100-continue" }, m)
        T.same(T.echo_headers(e, "Content-Type"), {}, m .. ": no Content-Type added")
        T.eq(e.body_length, #data)
        T.eq(e.body_sha256, sha256_file(path))
    end
    -- byte-exact round trip
    local r = T.res(200, http.put(T.url("/echo/body"), { body_file = path }))
    T.ok(r.body == data, "round trip through /echo/body")
end)

T.test("body_file: an empty file sends Content-Length: 0", function()
    local path = T.tmpfile("empty.bin")
    T.write_file(path, "")
    local e = T.echo(T.res(200, http.post(T.url("/echo"), { body_file = path })).body)
    T.eq(T.echo_header(e, "Content-Length"), "0")
    T.eq(e.body_length, 0)
end)

T.test("body_file: a missing file or a directory fails before the request", function()
    local missing = T.tmpfile("nope.bin")
    local msg = T.err("invalid_argument", http.post(T.refused_url, { body_file = missing }))
    T.contains(msg, missing)
    T.contains(msg, "No such file")
    msg = T.err("invalid_argument", http.put(T.refused_url, { body_file = T.tmpdir() }))
    T.contains(msg, "not a regular file")
    T.err("invalid_argument", http.put(T.refused_url, { body_file = "" }))
    T.err("invalid_argument", http.put(T.refused_url, { body_file = "a\0b" }))
    T.err("invalid_argument", http.put(T.refused_url, { body_file = 5 }))
    -- the length is libcurl's to send
    msg = T.err("invalid_argument", http.put(T.refused_url, {
        body_file = "/etc/hostname", headers = { ["Content-Length"] = "3" },
    }))
    T.contains(msg, "Content-Length")
end)

T.test("a caller's Content-Type replaces multipart/form-data, boundary kept", function()
    local e = T.echo(T.res(200, http.post(T.url("/echo"), {
        multipart = { { name = "a", data = "1" } }, headers = { ["Content-Type"] = "multipart/related" },
    })).body)
    T.match(T.echo_header(e, "Content-Type"), "^multipart/related; boundary=%S+$")
    e = T.echo(T.res(200, http.post(T.url("/echo"), {
        body_file = "/etc/hostname", headers = { ["Content-Type"] = "text/plain" },
    })).body)
    T.same(T.echo_headers(e, "Content-Type"), { "text/plain" })
end)

T.test("body_file is rewound for a 307/308 and dropped on a 303", function()
    local data = binary(200000, 5)
    local path = T.tmpfile("redir.bin")
    T.write_file(path, data)
    for _, status in ipairs({ 307, 308 }) do
        local r = T.res(200, http.post(T.url("/redirect-to?status=" .. status .. "&url=/echo/body"),
            { body_file = path }))
        T.ok(r.body == data, status .. ": body sent again whole")
        T.eq(r.redirects[1].status_code, status)
    end
    local e = T.echo(T.res(200, http.post(T.url("/redirect-to?status=303&url=/echo"),
        { body_file = path })).body)
    T.eq(e.method, "GET")
    T.eq(e.body_length, 0)
end)

T.test("body_file is sent again on a retry", function()
    local path = T.tmpfile("retry.bin")
    T.write_file(path, binary(100000, 6))
    local key = "bf" .. tostring(os.time()) .. math.random(1e9)
    local r = T.res(200, http.put(T.url("/flaky?fail=1&key=" .. key), {
        body_file = path, retries = 1, retry_delay = 0.01, timeout = 10,
    }))
    T.eq(r.body, "flaky 2")
    T.eq(r.retries, 1)
end)

T.test("body_file that shrinks after the request was made fails with io", function()
    local path = T.tmpfile("shrink.bin")
    T.write_file(path, binary(300000, 8))
    -- the size is taken when the request is made; the bytes are read as
    -- they are sent, which in plain LuaJIT starts at wait()
    local h = http.post_async(T.url("/echo/body"), { body_file = path })
    T.write_file(path, "short")
    local r, msg, code = h:wait(10)
    T.is_nil(r)
    T.eq(code, "io")
    T.contains(msg, "became shorter")
end)

-- ---- output ----

T.test("output: the body goes to the file; body is empty, body_size counts", function()
    local path = T.tmpfile("out.bin")
    local r = T.res(200, http.get(T.url("/bytes?n=3000000&seed=9"), { output = path }))
    T.eq(r.body, "")
    T.eq(r.body_size, 3000000)
    local want = T.res(200, http.get(T.url("/bytes?n=3000000&seed=9")))
    T.ok(T.read_file(path) == want.body, "file content")
    T.same(files_like(path), { "out.bin" }, "no temporary file left")
end)

T.test("output: chunked bodies and empty 2xx bodies", function()
    local path = T.tmpfile("chunked.bin")
    local r = T.res(200, http.get(T.url("/bytes?n=200000&chunked=1"), { output = path }))
    T.eq(r.body_size, 200000)
    T.eq(#T.read_file(path), 200000)
    local empty = T.tmpfile("empty-out.bin")
    T.write_file(empty, "old")
    r = T.res(204, http.get(T.url("/status/204"), { output = empty }))
    T.eq(r.body_size, 0)
    T.eq(T.read_file(empty), "", "a 2xx without a body empties the file")
end)

T.test("output: a failed download leaves no file and no temporary file", function()
    local path = T.tmpfile("fail.bin")
    local msg = T.err("network", http.get(T.url("/close-mid"), { output = path }))
    T.contains(msg, "close-mid")
    T.same(files_like(path), {}, "nothing left")
    -- an existing file stays as it was
    T.write_file(path, "previous content")
    T.err("network", http.get(T.url("/close-mid"), { output = path }))
    T.eq(T.read_file(path), "previous content")
    T.same(files_like(path), { "fail.bin" }, "only the old file")
    -- an idle timeout midway, too
    T.err("timeout", http.get(T.url("/stall-body?ms=3000"), { output = path, timeout = 0.3 }))
    T.eq(T.read_file(path), "previous content")
    T.same(files_like(path), { "fail.bin" }, "only the old file")
end)

T.test("output: a non-2xx answer leaves the file alone and returns its body", function()
    local path = T.tmpfile("status.bin")
    local r = T.res(404, http.get(T.url("/status/404"), { output = path }))
    T.eq(r.body, "status 404")
    T.eq(r.body_size, 10)
    T.same(files_like(path), {})
    T.write_file(path, "keep")
    r = T.res(500, http.get(T.url("/status/500"), { output = path }))
    T.eq(T.read_file(path), "keep")
    r = T.res(302, http.get(T.url("/redirect/1"), { output = path, follow_redirects = false }))
    T.eq(T.read_file(path), "keep")
end)

T.test("output: redirect and retried answers' bodies do not reach the file", function()
    local path = T.tmpfile("redir-out.bin")
    local r = T.res(200, http.get(T.url("/redirect/3"), { output = path }))
    T.eq(#r.redirects, 3)
    T.eq(T.read_file(path), "done")
    T.eq(r.body_size, 4)
    local key = "out" .. tostring(os.time()) .. math.random(1e9)
    r = T.res(200, http.get(T.url("/flaky?fail=2&key=" .. key), {
        output = path, retries = 2, retry_delay = 0.01,
    }))
    T.eq(T.read_file(path), "flaky 3")
end)

T.test("output: only an explicit max_body_size limits it", function()
    local path = T.tmpfile("limit.bin")
    local msg = T.err("too_large", http.get(T.url("/bytes?n=100000"), { output = path, max_body_size = 1000 }))
    T.contains(msg, "max_body_size")
    T.same(files_like(path), {})
    -- announced by Content-Length too
    T.err("too_large", http.get(T.url("/bytes?n=100000&chunked=1"), { output = path, max_body_size = 99999 }))
    T.same(files_like(path), {})
    -- more than the 256 MiB default for memory bodies
    local n = 256 * 1024 * 1024 + 4096
    local r = T.res(200, http.get(T.url("/zeros?n=" .. n), { output = path }))
    T.eq(r.body_size, n)
    local f = io.open(path, "rb")
    T.eq(f:seek("end"), n)
    f:close()
    os.remove(path)
end)

T.test("output: bad paths fail before the request", function()
    T.err("invalid_argument", http.get(T.refused_url, { output = T.tmpfile("no-such-dir/x") }))
    local msg = T.err("invalid_argument", http.get(T.refused_url, { output = T.tmpdir() }))
    T.contains(msg, "directory")
    T.err("invalid_argument", http.get(T.refused_url, { output = "" }))
    T.err("invalid_argument", http.get(T.refused_url, { output = 1 }))
    local h = http.get_async(T.url("/bytes"), { output = T.tmpfile("x.bin"), on_chunk = function() end })
    msg = T.err("invalid_argument", h:wait(5))
    T.contains(msg, "stream")
end)

T.test("output: file mode is the umask's for a new file and kept for an old one", function()
    local umask = tonumber((T.capture("umask")):match("%d+"), 8)
    local path = T.tmpfile("mode.bin")
    T.res(200, http.get(T.url("/bytes?n=10"), { output = path }))
    local function mode()
        return tonumber((T.capture("stat -c %a " .. T.shq(path))):match("%d+"), 8)
    end
    local bit = require("bit")
    T.eq(mode(), bit.band(tonumber("666", 8), bit.bnot(umask)))
    T.sh("chmod 640 " .. T.shq(path))
    T.res(200, http.get(T.url("/bytes?n=10"), { output = path }))
    T.eq(mode(), tonumber("640", 8))
end)

T.test("output: async requests and HEAD", function()
    local path = T.tmpfile("async.bin")
    local h = http.get_async(T.url("/bytes?n=50000&seed=3"), { output = path })
    local r = T.res(200, h:wait(10))
    T.eq(r.body_size, 50000)
    T.eq(#T.read_file(path), 50000)
    local headpath = T.tmpfile("head.bin")
    T.res(200, http.head(T.url("/bytes?n=10"), { output = headpath }))
    T.same(files_like(headpath), {}, "HEAD writes no file")
end)

T.test("output: a 1 GiB download keeps peak memory small", function()
    -- a separate process, so its peak RSS (VmHWM) is this download's alone
    local script = T.tmpfile("gib.lua")
    local path = T.tmpfile("gib.bin")
    T.write_file(script, ([[
package.path = %q .. "/lua/?.lua;" .. package.path
local http = require("ljhttp")
local r, e = http.get(%q, { output = %q })
local hwm = io.open("/proc/self/status"):read("*a"):match("VmHWM:%%s+(%%d+)")
print(r and r.body_size or e, hwm)
]]):format(T.root, T.url("/zeros?n=" .. 1024 * 1024 * 1024), path))
    local out, ok = T.capture(T.shq(arg and arg[-1] or "luajit") .. " " .. T.shq(script))
    os.remove(path)
    T.ok(ok, out)
    local size, hwm = out:match("^(%d+)%s+(%d+)")
    T.eq(tonumber(size), 1024 * 1024 * 1024, out)
    hwm = tonumber(hwm)
    io.stdout:write(string.format("  (1 GiB output download: peak RSS %.1f MiB)\n", hwm / 1024))
    T.lt(hwm, 64 * 1024, "peak RSS in KiB")
end)

-- Runs a LuaJIT script in a child, behind an optional shell prefix.
local function run_child(name, prefix, body)
    local script = T.tmpfile(name)
    T.write_file(script, ("package.path = %q .. \"/lua/?.lua;\" .. package.path\n"):format(T.root)
        .. "local http = require(\"ljhttp\")\n" .. body)
    return T.capture(prefix .. T.shq(arg and arg[-1] or "luajit") .. " " .. T.shq(script))
end

T.test("output: the announced size is reserved before the first byte is written", function()
    if not T.sh("strace -V >/dev/null 2>&1") then
        T.skip("strace is not installed")
    end
    local path, trace = T.tmpfile("pre.bin"), T.tmpfile("pre.strace")
    local out, ok = run_child("pre.lua", "strace -f -e trace=fallocate -o " .. T.shq(trace) .. " ", ([[
for _, u in ipairs({ %q, %q, %q }) do
    local r, e = http.get(u, { output = %q, decompress = u:find("seed=5", 1, true) ~= nil })
    print(r and r.body_size or e)
end
]]):format(T.url("/bytes?n=300000&seed=4"), T.url("/bytes?n=200000&chunked=1"),
        T.url("/bytes?n=100000&seed=5"), path))
    T.ok(ok, out)
    T.eq(out, "300000\n200000\n100000\n")
    T.eq(#T.read_file(path), 100000, "the file has the last body, no more")
    local calls = {}
    for size in (T.read_file(trace) or ""):gmatch("fallocate%([^\n]-, (%d+)%)") do
        calls[#calls + 1] = tonumber(size)
    end
    -- Content-Length is reserved; a chunked body of unknown size is not,
    -- nor one asked for with decompress (its length is not the file's)
    T.same(calls, { 300000 }, "fallocate calls and sizes")
end)

T.test("output: no room for the announced size fails before any byte is written", function()
    -- RLIMIT_FSIZE (SIGXFSZ ignored): fallocate of 4 MB fails with EFBIG.
    -- `ulimit -f 2048` is 1 MiB in dash (512-byte blocks), 2 MiB in bash.
    local path = T.tmpfile("full.bin")
    if not T.sh("fallocate -l 4096 " .. T.shq(path) .. " 2>/dev/null") then
        T.skip("the temporary directory's file system has no fallocate")
    end
    T.write_file(path, "previous content")
    local function fetch(n)
        return run_child("full.lua", "ulimit -f 2048; trap '' XFSZ; ", ([[
local r, e, code = http.get(%q, { output = %q })
print(r and r.body_size, code, e)
]]):format(T.url("/bytes?n=" .. n), path))
    end
    local out, ok = fetch(4000000)
    T.ok(ok, out)
    T.contains(out, "nil\tio\t")
    T.contains(out, "4000000 bytes announced")
    T.contains(out, "File too large")
    T.eq(T.read_file(path), "previous content", "the old file is untouched")
    T.same(files_like(path), { "full.bin" }, "no temporary file left")
    -- a body that fits goes through under the same limit
    out, ok = fetch(500000)
    T.ok(ok, out)
    T.eq(out, "500000\tnil\tnil\n")
    T.eq(#T.read_file(path), 500000)
end)

T.test("output_sync: fsyncs the file and its directory only when asked", function()
    if not T.sh("strace -V >/dev/null 2>&1") then
        T.skip("strace is not installed")
    end
    local function fsyncs(sync)
        local script = T.tmpfile("sync.lua")
        local path = T.tmpfile("sync.bin")
        local trace = T.tmpfile("sync.strace")
        T.write_file(script, ([[
package.path = %q .. "/lua/?.lua;" .. package.path
local http = require("ljhttp")
local r, e = http.get(%q, { output = %q, output_sync = %s })
print(r and r.body_size or e)
]]):format(T.root, T.url("/bytes?n=100000"), path, tostring(sync)))
        local out, ok = T.capture("strace -f -e trace=fsync -o " .. T.shq(trace) .. " "
            .. T.shq(arg and arg[-1] or "luajit") .. " " .. T.shq(script))
        T.ok(ok, out)
        T.eq(#(T.read_file(path) or ""), 100000, "the file")
        os.remove(path)
        local n = 0
        for _ in (T.read_file(trace) or ""):gmatch("fsync%(") do
            n = n + 1
        end
        return n
    end
    T.eq(fsyncs(false), 0, "fsync calls by default")
    T.eq(fsyncs(true), 2, "fsync calls with output_sync: the file, then its directory")
end)
