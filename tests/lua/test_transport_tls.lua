-- TLS options against Debian's nginx on loopback with certificates made by
-- tests/transport/certs.sh (a local CA, a good server certificate, one for
-- another name, a self-signed one, an expired one, a client certificate).
local T = require("support")
package.path = T.root .. "/tests/?.lua;" .. package.path
local S = require("transport.servers")
local http = require("ljhttp")

local function ca()
    return S.cert("ca.pem")
end

local function client_auth(extra)
    local o = { ca_file = ca(), client_cert = S.cert("client.pem"), client_key = S.cert("client.key") }
    for k, v in pairs(extra or {}) do
        o[k] = v
    end
    return o
end

T.test("tls: good certificate with ca_file gives 200 over HTTP/2", function()
    S.start()
    local c = http.new()
    local r = T.res(200, c:get(S.https("good"), { ca_file = ca() }))
    T.eq(r.http_version, "2")
    T.eq(r.body, "hello " .. S.port.good .. " HTTP/2.0\n")
    -- localhost is 127.0.0.1 or ::1, as the machine's /etc/hosts says
    T.ok(r.remote_ip == "127.0.0.1" or r.remote_ip == "::1", r.remote_ip)
    -- the certificate names 127.0.0.1 too
    T.res(200, c:get(S.https("good", "/hello", "127.0.0.1"), { ca_file = ca() }))
    c:close()
end)

T.test("tls: a certificate for another host name fails with tls", function()
    S.start()
    local msg = T.err("tls", http.new():get(S.https("wrong"), { ca_file = ca() }))
    T.match(msg, "^Get \"https://localhost:%d+/hello\": ")
end)

T.test("tls: a server signed by an unknown CA fails with tls (no ca_file)", function()
    S.start()
    T.err("tls", http.new():get(S.https("good")))
end)

T.test("tls: a self-signed certificate fails with tls, with or without ca_file", function()
    S.start()
    T.err("tls", http.new():get(S.https("self")))
    T.err("tls", http.new():get(S.https("self"), { ca_file = ca() }))
end)

T.test("tls: an expired certificate fails with tls", function()
    S.start()
    if not S.have.expired then
        T.skip("this openssl could not make an expired certificate")
    end
    T.match(T.err("tls", http.new():get(S.https("expired"), { ca_file = ca() })), "expired")
end)

T.test("tls: insecure = true accepts the self-signed server for that request only", function()
    S.start()
    local c = http.new()
    local r = T.res(200, c:get(S.https("self"), { insecure = true }))
    T.eq(r.body, "hello " .. S.port.self .. " HTTP/1.1\n")
    -- the same client, host and port: the unverified connection is not reused
    T.err("tls", c:get(S.https("self")))
    T.err("tls", c:get(S.https("self"), { ca_file = ca() }))
    -- and again after another insecure one, through a batch this time
    T.res(200, c:get(S.https("self"), { insecure = true }))
    local rs, errs = c:request_batch({ { "GET", S.https("self") }, { "GET", S.https("self"), { insecure = true } } })
    T.not_nil(errs, "errors")
    T.match(errs[1], "certificate")
    T.eq(rs[2].status_code, 200)
    -- a verified connection may serve a later insecure request: nothing is weakened
    T.res(200, c:get(S.https("good"), { ca_file = ca() }))
    T.res(200, c:get(S.https("good"), { insecure = true }))
    c:close()
end)

T.test("tls: a client certificate is required: without it nginx answers 400", function()
    S.start()
    local r = T.res(400, http.new():get(S.https("clientcert", "/client"), { ca_file = ca() }))
    T.contains(r.body, "No required SSL certificate was sent")
end)

T.test("tls: client_cert + client_key authenticate", function()
    S.start()
    local c = http.new()
    local r = T.res(200, c:get(S.https("clientcert", "/client"), client_auth()))
    T.eq(r.body, "client SUCCESS CN=ljhttp client\n")
    -- the authenticated connection is not lent to a request without the certificate
    T.res(400, c:get(S.https("clientcert", "/client"), { ca_file = ca() }))
    c:close()
end)

T.test("tls: an encrypted client_key needs client_key_password", function()
    S.start()
    local o = client_auth({ client_key = S.cert("client-enc.key"), client_key_password = "clientpass" })
    local r = T.res(200, http.new():get(S.https("clientcert", "/client"), o))
    T.eq(r.body, "client SUCCESS CN=ljhttp client\n")
    o.client_key_password = "wrong"
    local msg = T.err("tls", http.new():get(S.https("clientcert", "/client"), o))
    T.not_contains(msg, "wrong")
    o.client_key_password = nil
    T.err("tls", http.new():get(S.https("clientcert", "/client"), o))
end)

T.test("tls: ca_path with a hashed directory verifies", function()
    S.start()
    local r = T.res(200, http.new():get(S.https("good"), { ca_path = S.cert("capath") }))
    T.eq(r.http_version, "2")
    local empty = S.path("empty-capath")
    T.sh("mkdir -p " .. T.shq(empty))
    T.err("tls", http.new():get(S.https("good"), { ca_path = empty }))
end)

-- ca_path alone must not leave libcurl's built-in CA file set: where that
-- file is missing (no ca-certificates package) it made every request fail.
-- A child runs in a private mount namespace with the system's certificate
-- directory hidden behind an empty one.
T.test("tls: ca_path alone does not need libcurl's default CA file", function()
    S.start()
    local default = T.capture("curl-config --ca 2>/dev/null"):gsub("%s+$", "")
    if default == "" then
        default = "/etc/ssl/certs/ca-certificates.crt"
    end
    local certs = default:match("^(.*)/[^/]*$")
    if not T.sh("unshare -m true >/dev/null 2>&1") then
        T.skip("unshare -m is not allowed here (needs root): cannot hide " .. certs)
    end
    local empty = S.path("no-system-certs")
    T.sh("mkdir -p " .. T.shq(empty))
    local script = T.tmpfile("ca_path_child.lua")
    T.write_file(script, "package.path = " .. string.format("%q", package.path) .. [[

local http = require("ljhttp")
local f = io.open(arg[3], "rb")
print("default CA file present: " .. tostring(f ~= nil))
if f then f:close() end
local r, msg, code = http.new():get(arg[1], { ca_path = arg[2] })
print(r and ("status " .. r.status_code) or ("error " .. tostring(code) .. " " .. tostring(msg)))
]])
    local lj = os.getenv("LJHTTP_LUAJIT") or "luajit"
    local out = T.capture("unshare -m sh -c " .. T.shq("mount --bind " .. T.shq(empty) .. " " .. T.shq(certs)
        .. " && exec " .. lj .. " " .. T.shq(script) .. " " .. T.shq(S.https("good")) .. " "
        .. T.shq(S.cert("capath")) .. " " .. T.shq(default)) .. " 2>&1")
    T.contains(out, "default CA file present: false")
    T.contains(out, "status 200")
end)

T.test("tls: a missing ca_file or client_cert fails with tls", function()
    S.start()
    T.err("tls", http.new():get(S.https("good"), { ca_file = S.path("no-such-ca.pem") }))
    T.err("tls", http.new():get(S.https("clientcert", "/client"),
        client_auth({ client_cert = S.path("no-such-cert.pem") })))
end)

T.test("tls: tls_min_version", function()
    S.start()
    local c = http.new()
    -- the tls12 server speaks TLS 1.2 only
    local r = T.res(200, c:get(S.https("tls12", "/proto"), { ca_file = ca(), tls_min_version = "1.2" }))
    T.eq(r.body, "TLSv1.2\n")
    T.match(T.err("tls", c:get(S.https("tls12", "/proto"), { ca_file = ca(), tls_min_version = "1.3" })),
        "protocol version")
    r = T.res(200, c:get(S.https("good", "/proto"), { ca_file = ca(), tls_min_version = "1.3" }))
    T.eq(r.body, "TLSv1.3\n")
    T.err("invalid_argument", c:get(S.https("good"), { tls_min_version = "1.1" }))
    T.err("invalid_argument", c:get(S.https("good"), { tls_min_version = 1.2 }))
    c:close()
end)

T.test("tls: pinned_public_key", function()
    S.start()
    local c = http.new()
    T.res(200, c:get(S.https("good"), { ca_file = ca(), pinned_public_key = S.pin }))
    T.match(T.err("tls", c:get(S.https("good"), { ca_file = ca(), pinned_public_key = S.other_pin })),
        "pinned public key")
    -- a file with the public key works too
    T.res(200, c:get(S.https("good"), { ca_file = ca(), pinned_public_key = S.cert("server.pub.pem") }))
    -- two pins, one matching
    T.res(200, c:get(S.https("good"), { ca_file = ca(), pinned_public_key = S.other_pin .. ";" .. S.pin }))
    -- a pin checked even when the connection would otherwise be reused
    T.res(200, c:get(S.https("good"), { ca_file = ca() }))
    T.err("tls", c:get(S.https("good"), { ca_file = ca(), pinned_public_key = S.other_pin }))
    -- with insecure the pin is still enforced
    T.err("tls", c:get(S.https("self"), { insecure = true, pinned_public_key = S.pin }))
    c:close()
end)

T.test("tls: control characters in TLS paths are refused", function()
    S.start()
    T.err("invalid_argument", http.get(S.https("good"), { ca_file = ca() .. "\n" }))
    T.err("invalid_argument", http.get(S.https("good"), { pinned_public_key = "sha256//\0" }))
    T.err("invalid_argument", http.get(S.https("good"), { ca_file = 1 }))
end)

-- The pin alone decides: the test CA becomes the default trust store of a
-- child (a private mount namespace binds it over the system bundle), so a
-- request without ca_file verifies, and only pinned_public_key can reject
-- it, also on a pooled handle configured by a request without a pin.
T.test("tls: pinned_public_key alone accepts and rejects, also after an unpinned request", function()
    S.start()
    local bundle = "/etc/ssl/certs/ca-certificates.crt"
    if not T.sh("unshare -m true 2>/dev/null") or not io.open(bundle) then
        T.skip("no private mount namespace (unshare -m) or no system CA bundle")
    end
    local R = require("reliability")
    local prefix = "unshare -m sh -c " .. T.shq("mount --bind " .. T.shq(ca()) .. " " .. bundle
        .. " && exec timeout -s KILL 30 \"$@\"") .. " sh"
    local out, ok = R.child([[
local http = require("ljhttp")
local url, pin, other = ]] .. string.format("%q, %q, %q", S.https("good"), S.pin, S.other_pin) .. [[

local function show(what, r, msg, code)
    print(what .. " " .. tostring(r and r.status_code) .. " " .. tostring(code) .. " " .. tostring(msg))
end
local c = http.new()
show("plain", c:get(url))
show("wrong", c:get(url, { pinned_public_key = other }))
show("right", c:get(url, { pinned_public_key = pin }))
show("plain2", c:get(url))
show("wrong2", c:get(url, { pinned_public_key = other }))
show("fresh", http.new():get(url, { pinned_public_key = other }))
]], prefix)
    T.ok(ok, "the child failed: " .. out)
    T.match(out, "plain 200 ", out)
    T.match(out, "wrong nil tls [^\n]*pinned public key", out)
    T.match(out, "right 200 ", out)
    T.match(out, "plain2 200 ", out)
    T.match(out, "wrong2 nil tls [^\n]*pinned public key", out)
    T.match(out, "fresh nil tls [^\n]*pinned public key", out)
end)
