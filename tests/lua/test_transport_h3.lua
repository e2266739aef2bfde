-- HTTP/3: against nginx's QUIC listener where both libcurl and nginx have
-- it (Debian 13 and later), and the clear refusal where libcurl has not
-- (Debian 12's 7.88).
local T = require("support")
package.path = T.root .. "/tests/?.lua;" .. package.path
local S = require("transport.servers")
local http = require("ljhttp")

local info = http.info()

T.test("http3: without HTTP/3 in libcurl, \"3\" and \"3-only\" are refused and say why", function()
    if info.features.http3 then
        T.skip("this libcurl has HTTP/3 (the cases below run instead)")
    end
    for _, v in ipairs({ "3", "3-only" }) do
        local r, msg, code = http.get("https://127.0.0.1:1/", { http_version = v })
        T.eq(r, nil)
        T.eq(code, "invalid_argument")
        -- our own message: it names this libcurl and the way out
        T.ok(msg:find(info.curl_version, 1, true), msg)
        T.ok(msg:find("HTTP/3", 1, true), msg)
        -- the async path refuses it the same way
        local _, _, acode = http.get_async("https://127.0.0.1:1/", { http_version = v }):wait(5)
        T.eq(acode, "invalid_argument")
    end
end)

-- nginx with a QUIC listener and a TCP one on the same port number.
local h3_port
local function start_h3()
    if h3_port then
        return h3_port
    end
    S.need("nginx")
    local v = T.capture("nginx -V 2>&1")
    if not v:find("http_v3_module", 1, true) then
        T.skip("this nginx has no http_v3_module")
    end
    S.start() -- certificates
    local dir = S.path("h3")
    assert(T.sh("mkdir -p " .. T.shq(dir .. "/tmp")))
    local port = tonumber((T.capture("python3 -c 'import socket\nt=socket.socket()\nt.bind((\"127.0.0.1\",0))\n"
        .. "p=t.getsockname()[1]\nu=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\nu.bind((\"127.0.0.1\",p))\nprint(p)'")))
    assert(port, "no free port")
    local user = T.capture("id -u"):match("^0") and ("user root " .. T.capture("id -gn"):gsub("%s+$", "") .. ";") or ""
    T.write_file(dir .. "/nginx.conf", string.format([[
%s
daemon off;
master_process off;
pid %s/nginx.pid;
error_log %s/error.log info;
events { worker_connections 64; }
http {
    access_log off;
    client_body_temp_path %s/tmp; proxy_temp_path %s/tmp; fastcgi_temp_path %s/tmp;
    uwsgi_temp_path %s/tmp; scgi_temp_path %s/tmp;
    server {
        listen 127.0.0.1:%d quic;
        listen 127.0.0.1:%d ssl;
        ssl_certificate %s; ssl_certificate_key %s;
        ssl_protocols TLSv1.3;
        location = /hello { default_type text/plain; return 200 "hello $server_protocol\n"; }
        location = /to-plain { return 302 http://127.0.0.1:%d/hello; }
    }
}
]], user, dir, dir, dir, dir, dir, dir, dir, port, port, S.cert("server.pem"), S.cert("server.key"), port))
    T.spawn_server("nginx-h3", "sh -c " .. T.shq("echo " .. port .. " > %PORTFILE%; exec nginx -p "
        .. T.shq(dir) .. " -c " .. T.shq(dir .. "/nginx.conf") .. " -e " .. T.shq(dir .. "/error.log")))
    -- the port file is written before nginx listens: wait for the TCP side
    local deadline = T.now() + 10
    repeat
        local r = http.get("https://localhost:" .. port .. "/hello",
            { ca_file = S.cert("ca.pem"), http_version = "1.1", timeout = 2 })
        if r then
            break
        end
        T.sleep(0.05)
    until T.now() > deadline
    h3_port = port
    return port
end

local function h3_url(path)
    return "https://localhost:" .. start_h3() .. path
end

local function needs_http3()
    if not info.features.http3 then
        T.skip("libcurl " .. info.curl_version .. " has no HTTP/3 (the refusal case covers it)")
    end
    start_h3()
end

T.test("http3: \"3-only\" speaks HTTP/3 over QUIC, sync and async", function()
    needs_http3()
    local c = http.new()
    local opts = { ca_file = S.cert("ca.pem"), http_version = "3-only", timeout = 10 }
    local r = T.res(200, c:get(h3_url("/hello"), opts))
    T.eq(r.http_version, "3")
    T.eq(r.body, "hello HTTP/3.0\n")
    -- the connection is kept: a second request on the same client works too
    r = T.res(200, c:request_async("GET", h3_url("/hello"), opts):wait(10))
    T.eq(r.http_version, "3")
    c:close()
end)

T.test("http3: \"3\" uses HTTP/3 where the server has it and falls back where not", function()
    needs_http3()
    local ca = S.cert("ca.pem")
    local r = T.res(200, http.new():get(h3_url("/hello"), { ca_file = ca, http_version = "3", timeout = 10 }))
    T.eq(r.http_version, "3")
    -- a TCP-only server: the same option still gets an answer, over TCP
    r = T.res(200, http.new():get(S.https("good"), { ca_file = ca, http_version = "3", timeout = 10 }))
    T.ok(r.http_version == "2" or r.http_version == "1.1", r.http_version)
end)

T.test("http3: \"3-only\" fails as a value where it cannot be had", function()
    needs_http3()
    -- a TCP-only server: no QUIC answer, a failure (never a raise, never "internal")
    local r, msg, code = http.new():get(S.https("good"), { ca_file = S.cert("ca.pem"), http_version = "3-only",
        timeout = 5, connect_timeout = 2 })
    T.eq(r, nil)
    T.ok(code ~= "internal" and type(msg) == "string", code)
    -- an http:// url cannot be HTTP/3: refused before anything is sent
    T.err("invalid_argument", http.get(T.url("/echo"), { http_version = "3-only" }))
    -- a redirect to http:// ends the same way, never in clear text
    r, msg, code = http.new():get(h3_url("/to-plain"), { ca_file = S.cert("ca.pem"), http_version = "3-only",
        timeout = 10 })
    T.eq(r, nil)
    T.ok(code ~= "internal", code .. ": " .. tostring(msg))
end)
