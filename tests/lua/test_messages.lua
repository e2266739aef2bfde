-- Messages that say what to do: gluahttp's phrase, then the way out.
local T = require("support")
local http = require("ljhttp")

T.test("no scheme: Go's phrase and the way out", function()
    for _, u in ipairs({ "127.0.0.1:" .. T.port .. "/x", "example.com/x", "" }) do
        local msg = T.err("unsupported_scheme", http.get(u))
        T.contains(msg, 'unsupported protocol scheme "" (the url must start with http:// or https://)',
            u)
    end
    -- a scheme that is there but not http(s) keeps Go's message alone
    local msg = T.err("unsupported_scheme", http.get("ftp://127.0.0.1/"))
    T.not_contains(msg, "must start with")
end)

T.test("a missing or non-string url or method says so", function()
    local msg = T.err("unsupported_scheme", http.get(nil))
    T.eq(msg, 'unsupported protocol scheme "" (url must be a string, got nil)')
    msg = T.err("unsupported_scheme", http.request(nil, T.url("/echo")))
    T.eq(msg, 'unsupported protocol scheme "" (method must be a string, got nil)')
    msg = T.err("invalid_argument", http.get(42))
    T.eq(msg, "url must be a string, got number")
    msg = T.err("invalid_argument", http.request({}, T.url("/echo")))
    T.eq(msg, "method must be a string, got table")
end)

T.test("LJHTTP_LIBRARY=/nope.so: the advice is about that variable", function()
    local script = T.tmpfile("loader.lua")
    T.write_file(script, "package.path = " .. string.format("%q", T.root .. "/lua/?.lua;")
        .. " .. package.path\nlocal r, err, code = require('ljhttp').get('http://127.0.0.1:1/')\n"
        .. "print(code, err)\n")
    local out = T.capture("LJHTTP_LIBRARY=/nope.so luajit " .. T.shq(script) .. " 2>&1")
    T.match(out, "^internal", out)
    T.contains(out, "LJHTTP_LIBRARY=/nope.so")
    T.contains(out, "unset it")
    T.not_contains(out, "or set LJHTTP_LIBRARY")
    -- an explicit path: no advice about the variable either
    T.write_file(script, "package.path = " .. string.format("%q", T.root .. "/lua/?.lua;")
        .. " .. package.path\nprint(select(2, require('ljhttp.loader').load('/nope2.so')))\n")
    out = T.capture("env -u LJHTTP_LIBRARY luajit " .. T.shq(script) .. " 2>&1")
    T.contains(out, "/nope2.so")
    T.not_contains(out, "set LJHTTP_LIBRARY")
end)

T.test("cookie_jar: a path in a missing directory is refused by http.new", function()
    local msg = T.err("invalid_argument", http.new({ cookie_jar = "/nonexistent/dir/jar" }))
    T.contains(msg, '"/nonexistent/dir"')
    T.contains(msg, "does not exist")
    -- a regular file where the directory should be
    local f = T.tmpfile("not-a-dir")
    T.write_file(f, "x")
    T.err("invalid_argument", http.new({ cookie_jar = f .. "/jar" }))
    -- a fine path is taken
    local dir = T.tmpdir()
    local c = T.ok(http.new({ cookie_jar = dir .. "/jar.txt" }))
    T.eq(c:close(), true)
end)

T.test("cookie_jar: a directory that is not writable is refused by http.new", function()
    local dir = T.tmpdir()
    T.sh("chmod 555 " .. T.shq(dir))
    local probe = io.open(dir .. "/probe", "w")
    if probe then -- root writes anyway: nothing to refuse
        probe:close()
        os.remove(dir .. "/probe")
        T.sh("chmod 755 " .. T.shq(dir))
        T.skip("running as root: every directory is writable")
    end
    local msg = T.err("invalid_argument", http.new({ cookie_jar = dir .. "/jar" }))
    T.sh("chmod 755 " .. T.shq(dir))
    T.contains(msg, "not writable")
end)
