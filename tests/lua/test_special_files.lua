-- Paths that are not regular files (a FIFO with no writer, a Unix socket,
-- a device) as body_file, a multipart file part, output and cookie_jar:
-- refused at once with invalid_argument, never opened in a way that
-- blocks. Each run is a child luajit under `timeout`, so a regression
-- fails here instead of hanging the suite.
local T = require("support")
local R = require("reliability")

local function specials()
    local dir = T.tmpdir() .. "/special_" .. math.random(1, 1e9)
    assert(T.sh("mkdir " .. T.shq(dir)))
    assert(T.sh("mkfifo " .. T.shq(dir .. "/fifo")), "mkfifo failed")
    -- a bound Unix socket stays on disk after its process ends
    assert(T.sh("python3 -c " .. T.shq("import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])")
        .. " " .. T.shq(dir .. "/sock")), "cannot bind a Unix socket")
    return dir, { fifo = dir .. "/fifo", socket = dir .. "/sock", device = "/dev/zero" }
end

-- Runs code in a child with a 20 s guard; returns its output.
local function guarded(code)
    local out, ok = R.child(code, "timeout -s KILL 20")
    T.ok(ok, "the child failed or hung (killed after 20 s): " .. out)
    return out
end

T.test("body_file, multipart file, output: a FIFO, a socket or a device is invalid_argument at once", function()
    local dir, paths = specials()
    for kind, path in pairs(paths) do
        local out = guarded([[
local http = require("ljhttp")
local path, url = ]] .. string.format("%q, %q", path, T.refused_url) .. [[

local function show(what, r, msg, code)
    print(what .. " " .. tostring(r) .. " " .. tostring(code) .. " " .. tostring(msg))
end
show("body_file", http.post(url, { body_file = path, timeout = 5 }))
show("multipart", http.post(url, { multipart = { { name = "f", file = path } }, timeout = 5 }))
show("output", http.get(url, { output = path, timeout = 5 }))
print("done")
]])
        for _, what in ipairs({ "body_file", "multipart", "output" }) do
            T.match(out, what .. " nil invalid_argument [^\n]*not a regular file", kind .. " as " .. what .. ": " .. out)
        end
        T.contains(out, "done")
    end
    -- nothing replaced the FIFO or the socket
    T.ok(T.sh("test -p " .. T.shq(paths.fifo)), "the FIFO is still a FIFO")
    T.ok(T.sh("test -S " .. T.shq(paths.socket)), "the socket is still a socket")
    T.sh("rm -rf " .. T.shq(dir))
end)

T.test("cookie_jar: a FIFO, socket, device or missing directory is refused by http.new", function()
    local dir, paths = specials()
    paths.nodir = dir .. "/missing/jar.txt"
    for kind, path in pairs(paths) do
        local out = guarded([[
local http = require("ljhttp")
local c, msg, code = http.new({ cookie_jar = ]] .. string.format("%q", path) .. [[ })
print("jar " .. tostring(c) .. " " .. tostring(code) .. " " .. tostring(msg))
]])
        T.match(out, "jar nil invalid_argument ", kind .. ": " .. out)
        T.contains(out, kind == "nodir" and "does not exist" or "not a regular file", kind)
    end
    -- a new file in an existing directory is fine, and is written on save
    local c = T.call(require("ljhttp").new, { cookie_jar = dir .. "/jar.txt" })[1]
    T.ok(c, "a jar that does not exist yet")
    T.ok(c:save_cookies())
    T.ok(T.sh("test -f " .. T.shq(dir .. "/jar.txt")), "saved")
    T.sh("rm -rf " .. T.shq(dir))
end)
