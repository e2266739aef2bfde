-- The real servers of the transport tests, started once per run on
-- loopback and stopped when the run ends (T.stop_all) or, if the run is
-- killed, by a watchdog shell that follows this process.
--
--   local S = require("transport.servers")   -- with tests/?.lua on package.path
--   S.start()                 -- certificates, nginx, tinyproxy, microsocks (idempotent)
--   S.https("good", "/hello") -- https://localhost:<port>/hello
--   S.cert("ca.pem")          -- path of a generated file
--
-- SOCKS5 proxies are Debian's microsocks (skipped when it is missing).
-- Everything lives in a private directory under the suite's temp dir:
-- certificates (certs.sh), nginx's config, pid, logs and temp paths, the
-- static files it serves, the proxies' configs and logs. Nothing touches
-- /etc/nginx or the system services.
local T = require("support")

local S = {}

local started, start_error
local dir                 -- <tmpdir>/transport
local pids = {}           -- background processes to end, in order
S.port = {}               -- name -> port
S.have = {}               -- "expired", "brotli", "zstd", "echo", "socks" -> true when available

local function path(name)
    return dir .. "/" .. name
end
S.path = path

function S.cert(name)
    return dir .. "/certs/" .. name
end

local function sh_ok(cmd, what)
    local out, ok = T.capture("(" .. cmd .. ") 2>&1")
    if not ok then
        error(what .. " failed: " .. out, 0)
    end
    return out
end

local function exists(file)
    local f = io.open(file, "rb")
    if f then
        f:close()
    end
    return f ~= nil
end

local function have_cmd(name)
    return T.sh("command -v " .. name .. " >/dev/null 2>&1")
end

--- Raises T.skip when a program the tests need is missing.
function S.need(...)
    for i = 1, select("#", ...) do
        local name = select(i, ...)
        if not have_cmd(name) then
            T.skip(name .. " is not installed (sh tools/deps.sh test)")
        end
    end
end

-- N free loopback ports (bound together, so they differ, then released).
local function free_ports(n)
    local out = sh_ok("python3 -c 'import socket\nss=[socket.socket() for _ in range(" .. n
        .. ")]\nfor s in ss: s.bind((\"127.0.0.1\",0))\nprint(\" \".join(str(s.getsockname()[1]) for s in ss))'",
        "finding free ports")
    local ports = {}
    for p in out:gmatch("%d+") do
        ports[#ports + 1] = tonumber(p)
    end
    assert(#ports == n, "free ports: " .. out)
    return ports
end

-- Ports in LISTEN state, from /proc/net/tcp (IPv4).
local function listening()
    local set = {}
    local f = io.open("/proc/net/tcp", "r")
    if f then
        for line in f:lines() do
            local port, state = line:match("^%s*%d+: %x+:(%x+) %x+:%x+ (%x%x)")
            if port and state == "0A" then
                set[tonumber(port, 16)] = true
            end
        end
        f:close()
    end
    return set
end

local function wait_listening(ports, what, pid)
    local deadline = T.now() + 10
    while T.now() < deadline do
        local set = listening()
        local all = true
        for _, p in ipairs(ports) do
            if not set[p] then
                all = false
                break
            end
        end
        if all then
            return
        end
        if pid and not T.sh("kill -0 " .. pid .. " 2>/dev/null") then
            break
        end
        T.sleep(0.05)
    end
    error(what .. " did not start listening", 0)
end

-- Starts cmd in the background (its output to log); returns its pid.
local function spawn(cmd, log)
    local pidfile = path("spawn.pid")
    assert(T.sh(cmd .. " >" .. T.shq(log) .. " 2>&1 </dev/null & echo $! >" .. T.shq(pidfile)))
    local pid = tonumber((T.read_file(pidfile) or ""):match("%d+"))
    assert(pid, "no pid for " .. cmd)
    pids[#pids + 1] = pid
    local f = assert(io.open(path("pids"), "a")) -- for the watchdog
    f:write(pid, "\n")
    f:close()
    return pid
end

-- ---- files nginx serves ----

local function make_files()
    local www = path("www")
    sh_ok("mkdir -p " .. T.shq(www) .. " " .. T.shq(www .. "/gz") .. " " .. T.shq(www .. "/br")
        .. " " .. T.shq(www .. "/pre"), "mkdir")
    -- about 1.3 MB of compressible text
    local lines = {}
    for i = 1, 20000 do
        lines[i] = string.format("line %05d: the quick brown fox jumps over the lazy dog %d\n", i, i * 7919 % 1000)
    end
    local text = table.concat(lines)
    S.big_text = text
    T.write_file(www .. "/big.txt", text)
    T.write_file(www .. "/gz/big.txt", text)
    T.write_file(www .. "/br/big.txt", text)
    -- precompressed copies served with a fixed Content-Encoding
    sh_ok("python3 -c 'import sys,zlib\nd=open(sys.argv[1],\"rb\").read()\nopen(sys.argv[2],\"wb\").write(zlib.compress(d,9))' "
        .. T.shq(www .. "/big.txt") .. " " .. T.shq(www .. "/pre/big.deflate"), "deflate")
    if have_cmd("zstd") then
        sh_ok("zstd -q -f -o " .. T.shq(www .. "/pre/big.zst") .. " " .. T.shq(www .. "/big.txt"), "zstd")
        S.have.zstd = true
    end
    -- the bomb: 100 MiB of zeros in about 100 KB of gzip, sent as is
    -- (gzip_static always) with Content-Encoding: gzip
    sh_ok("head -c 104857600 /dev/zero | gzip -9 > " .. T.shq(www .. "/bomb.txt.gz"), "gzip bomb")
    S.bomb_gz_size = #assert(T.read_file(www .. "/bomb.txt.gz"))
end

-- ---- nginx ----

local BROTLI = "/usr/lib/nginx/modules/ngx_http_brotli_filter_module.so"
local ECHO = "/usr/lib/nginx/modules/ngx_http_echo_module.so"

--- nginx's version as a number (1.22.1 -> 12201), 0 when unknown.
function S.nginx_version(text)
    text = text or T.capture("nginx -v 2>&1")
    local a, b, c = text:match("nginx/(%d+)%.(%d+)%.(%d+)")
    return a and tonumber(a) * 10000 + tonumber(b) * 100 + tonumber(c) or 0
end

--- The listen line and extra directive of an HTTP/2 server: nginx 1.25.1
--- added `http2 on;` and from then on serves only HTTP/1.1 on a cleartext
--- `listen ... http2` (warning the parameter is deprecated).
function S.h2_listen(version, port, ssl, v6)
    local function one(addr)
        local l = "listen " .. addr .. ":" .. port .. (ssl and " ssl" or "")
        return version >= 12501 and l .. ";" or l .. " http2;"
    end
    local l = one("127.0.0.1") .. (v6 and " " .. one("[::1]") or "")
    return version >= 12501 and l .. " http2 on;" or l
end

local function nginx_conf()
    local c = S.cert
    local v = S.nginx_version()
    local p = S.port
    local user = ""
    if T.capture("id -u"):match("^0") then
        -- the master runs as root: keep workers root too so they can read
        -- the private temp dir (mode 700)
        user = "user root " .. (T.capture("id -gn"):gsub("%s+$", "")) .. ";"
    end
    local brotli_load, brotli_on = "", ""
    if exists(BROTLI) then
        S.have.brotli = true
        brotli_load = "load_module " .. BROTLI .. ";"
        brotli_on = "brotli on; brotli_types text/plain; brotli_min_length 0;"
    end
    local echo_load, sleep = "", ""
    if exists(ECHO) then
        S.have.echo = true
        echo_load = "load_module " .. ECHO .. ";"
        -- /sleep: answers after 200 ms (for batches over TLS)
        sleep = "location = /sleep { default_type text/plain; echo_sleep 0.2; echo $connection; }"
    end
    local function tls(cert, key)
        return "ssl_certificate " .. c(cert) .. "; ssl_certificate_key " .. c(key) .. ";"
    end
    local common = [[
        location = /hello { default_type text/plain; add_header X-Custom-Thing yes; return 200 "hello $server_port $server_protocol\n"; }
        location = /client { default_type text/plain; return 200 "client $ssl_client_verify $ssl_client_s_dn\n"; }
        location = /proto { default_type text/plain; return 200 "$ssl_protocol\n"; }
        location = /conn { default_type text/plain; return 200 "$connection\n"; }
        location /gz/ { gzip on; gzip_types text/plain; gzip_min_length 0; gzip_proxied any; }
        ]] .. sleep .. [[
    ]]
    return string.format([[
%s
%s
%s
daemon off;
master_process on;
worker_processes 1;
pid %s;
error_log %s info;
events { worker_connections 512; }
http {
    access_log %s;
    client_body_temp_path %s/body;
    proxy_temp_path %s/proxy;
    fastcgi_temp_path %s/fastcgi;
    uwsgi_temp_path %s/uwsgi;
    scgi_temp_path %s/scgi;
    types { text/plain txt; }
    default_type application/octet-stream;
    keepalive_requests 100000;
    ssl_protocols TLSv1.2 TLSv1.3; # nginx 1.22's default has no TLS 1.3
    root %s;
    server { %s %s %s }
    server { listen 127.0.0.1:%d ssl; %s %s }
    server { listen 127.0.0.1:%d ssl; %s %s }
    server { listen 127.0.0.1:%d ssl; %s %s }
    server { %s %s ssl_client_certificate %s; ssl_verify_client on; %s }
    server { listen 127.0.0.1:%d ssl; %s ssl_protocols TLSv1.2; %s }
    server { %s %s }
    server {
        listen 127.0.0.1:%d;
        %s
        %s
        location /br/ { %s }
        location = /bomb.txt { gzip_static always; }
        location = /pre/big.deflate { types { } default_type text/plain; add_header Content-Encoding deflate; }
        location = /pre/big.zst { types { } default_type text/plain; add_header Content-Encoding zstd; }
    }
}
]],
        brotli_load, echo_load, user,
        path("nginx.pid"), path("nginx-error.log"), path("nginx-access.log"),
        path("ntmp"), path("ntmp"), path("ntmp"), path("ntmp"), path("ntmp"),
        path("www"),
        S.h2_listen(v, p.good, true, S.have.ipv6), tls("server.pem", "server.key"), common,
        p.wrong, tls("wrong.pem", "wrong.key"), common,
        p.self, tls("self.pem", "self.key"), common,
        p.expired, S.have.expired and tls("expired.pem", "expired.key") or tls("self.pem", "self.key"), common,
        S.h2_listen(v, p.clientcert, true), tls("server.pem", "server.key"), c("ca.pem"), common,
        p.tls12, tls("server.pem", "server.key"), common,
        S.h2_listen(v, p.h2c, false), common,
        p.plain, S.have.ipv6 and ("listen [::1]:" .. p.plain .. ";") or "", common, brotli_on)
end

local function start_nginx()
    sh_ok("mkdir -p " .. T.shq(path("ntmp")), "mkdir")
    T.write_file(path("nginx.conf"), nginx_conf())
    local pid = spawn("exec nginx -p " .. T.shq(dir) .. " -c " .. T.shq(path("nginx.conf")) .. " -e "
        .. T.shq(path("nginx-error.log")), path("nginx.out"))
    S.nginx_pid = pid
    local ok, err = pcall(wait_listening, { S.port.good, S.port.wrong, S.port.self, S.port.expired,
        S.port.clientcert, S.port.tls12, S.port.h2c, S.port.plain }, "nginx", pid)
    if not ok then
        error(err .. ": " .. tostring(T.read_file(path("nginx.out"))) .. tostring(T.read_file(path("nginx-error.log"))), 0)
    end
end

-- ---- tinyproxy ----

local function start_tinyproxy(name, port, extra)
    local conf = path(name .. ".conf")
    T.write_file(conf, table.concat({
        "Port " .. port,
        "Listen 127.0.0.1",
        "Timeout 30",
        "MaxClients 64",
        "LogFile \"" .. path(name .. ".log") .. "\"",
        "LogLevel Info",
        "PidFile \"" .. path(name .. ".pid") .. "\"",
        "Allow 127.0.0.1",
        "ConnectPort " .. S.port.good,
        "ConnectPort " .. S.port.plain,
        "ConnectPort " .. S.port.self,
        extra or "",
        "",
    }, "\n"))
    local pid = spawn("exec tinyproxy -d -c " .. T.shq(conf), path(name .. ".out"))
    local ok, err = pcall(wait_listening, { port }, name, pid)
    if not ok then
        error(err .. ": " .. tostring(T.read_file(path(name .. ".out"))), 0)
    end
end

-- ---- microsocks (SOCKS5) ----

local function start_socks(name, port, extra, prefix)
    local pid = spawn((prefix or "exec ") .. "microsocks -i 127.0.0.1 -p " .. port .. (extra or ""),
        path(name .. ".log"))
    wait_listening({ port }, name, pid)
end

-- Debian's /etc/hosts names localhost "::1" too, and a SOCKS proxy that
-- resolves it may try ::1 first: the servers a test reaches by the name
-- localhost through a proxy listen on both loopbacks. "socks_v6first"
-- is a proxy whose /etc/hosts (a private mount) lists ::1 first.
local function can_v6first()
    return S.have.ipv6 and T.sh("unshare -m true >/dev/null 2>&1")
end

local function start_socks_v6first()
    local hosts = path("hosts-v6first")
    T.write_file(hosts, "::1 localhost\n127.0.0.1 localhost\n")
    start_socks("socks_v6first", S.port.socks_v6first, nil,
        "exec unshare -m sh -c " .. T.shq("mount --bind " .. T.shq(hosts) .. " /etc/hosts && exec \"$0\" \"$@\"") .. " ")
    S.have.socks_v6first = true
end

--- microsocks' log: "client[N] 127.0.0.1: connected to HOST:PORT" lines.
function S.socks_log(name)
    return T.read_file(path((name or "socks") .. ".log")) or ""
end

--- tinyproxy's log (name "tinyproxy" or "tinyproxy_auth").
function S.proxy_log(name)
    return T.read_file(path((name or "tinyproxy") .. ".log")) or ""
end

-- ---- start / stop ----

-- Started before the first server: when this process is gone (a zombie
-- counts as gone) it ends every pid listed in <dir>/pids and removes the
-- directory. A normal stop empties the list first.
local function watchdog()
    local stat = "/proc/" .. T.pid .. "/stat"
    local list = T.shq(path("pids"))
    local script = "while [ -e " .. stat .. " ] && [ \"$(sed -e 's/^.*) //' -e 's/ .*//' " .. stat
        .. " 2>/dev/null)\" != Z ]; do sleep 0.5; done; p=$(cat " .. list .. " 2>/dev/null); "
        .. "if [ -n \"$p\" ]; then kill $p; sleep 1; kill -9 $p; fi 2>/dev/null; rm -rf " .. T.shq(dir)
    assert(T.sh("sh -c " .. T.shq(script) .. " >/dev/null 2>&1 </dev/null &"))
end

local function stop()
    for i = #pids, 1, -1 do
        T.sh("kill " .. pids[i] .. " 2>/dev/null")
    end
    -- nginx's workers go with the master; wait briefly so ports are free
    local deadline = T.now() + 3
    for _, pid in ipairs(pids) do
        while T.now() < deadline and T.sh("kill -0 " .. pid .. " 2>/dev/null") do
            T.sleep(0.02)
        end
    end
    pids = {}
    if dir then
        os.remove(path("pids"))
    end
end
S.stop = stop

local function do_start()
    for _, name in ipairs({ "nginx", "openssl", "tinyproxy", "python3" }) do
        if not have_cmd(name) then
            T.skip(name .. " is not installed (sh tools/deps.sh test)")
        end
    end
    dir = T.tmpdir() .. "/transport"
    S.dir = dir
    sh_ok("mkdir -p " .. T.shq(dir), "mkdir")
    watchdog()
    sh_ok("sh " .. T.shq(T.root .. "/tests/transport/certs.sh") .. " " .. T.shq(dir .. "/certs"), "certs.sh")
    S.have.expired = exists(S.cert("expired.pem"))
    S.pin = assert(T.read_file(S.cert("server.pin")))
    S.other_pin = assert(T.read_file(S.cert("other.pin")))
    make_files()
    S.have.ipv6 = T.sh("python3 -c 'import socket; socket.socket(socket.AF_INET6).bind((\"::1\", 0))' 2>/dev/null")
    local ports = free_ports(13)
    local names = { "good", "wrong", "self", "expired", "clientcert", "tls12", "h2c", "plain", "proxy",
        "proxy_auth", "socks", "socks_auth", "socks_v6first" }
    for i, n in ipairs(names) do
        S.port[n] = ports[i]
    end
    -- hook the suite's cleanup: our servers go before the temp dir
    local stop_all = T.stop_all
    T.stop_all = function(...)
        stop()
        return stop_all(...)
    end
    start_nginx()
    start_tinyproxy("tinyproxy", S.port.proxy)
    start_tinyproxy("tinyproxy_auth", S.port.proxy_auth, "BasicAuth proxyuser proxysecret")
    S.have.proxy_auth = true
    if have_cmd("microsocks") then
        start_socks("socks", S.port.socks)
        start_socks("socks_auth", S.port.socks_auth, " -u socksuser -P sockspass")
        S.have.socks = true
        if can_v6first() then
            start_socks_v6first()
        end
    end
end

--- Starts everything once; later calls return at once (or repeat the
--- first failure).
function S.start()
    if started then
        return S
    end
    if start_error then
        if T.is_skip(start_error) then
            error(start_error, 0)
        end
        error("transport servers did not start: " .. tostring(start_error), 0)
    end
    local ok, err = pcall(do_start)
    if not ok then
        start_error = err
        stop()
        error(err, 0)
    end
    started = true
    return S
end

function S.https(name, p, host)
    return "https://" .. (host or "localhost") .. ":" .. assert(S.port[name], name) .. (p or "/hello")
end

function S.http(name, p, host)
    return "http://" .. (host or "127.0.0.1") .. ":" .. assert(S.port[name], name) .. (p or "/hello")
end

function S.proxy_url(name, scheme)
    return (scheme or "http") .. "://127.0.0.1:" .. S.port[name or "proxy"]
end

-- A unique word to find one request in a log.
local seq = 0
function S.marker(prefix)
    seq = seq + 1
    return (prefix or "m") .. T.pid .. "x" .. seq .. "x" .. math.floor(T.now() * 1000) % 1000000
end

--- Resident set size of this process in KiB.
function S.rss_kb()
    local s = T.read_file("/proc/self/status") or ""
    return tonumber(s:match("VmRSS:%s*(%d+)")) or 0
end

--- Server-side sockets of a local TCP port by state ("01" established).
function S.tcp_states(port)
    local counts = {}
    local f = io.open("/proc/net/tcp", "r")
    if f then
        for line in f:lines() do
            local lport, state = line:match("^%s*%d+: %x+:(%x+) %x+:%x+ (%x%x)")
            if lport and tonumber(lport, 16) == port then
                counts[state] = (counts[state] or 0) + 1
            end
        end
        f:close()
    end
    return counts
end

return S
