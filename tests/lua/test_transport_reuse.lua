-- Connection reuse that libcurl gets wrong, worked around in
-- csrc/transport.c (ljh__transport_no_reuse): every case reuses one client.
local T = require("support")
package.path = T.root .. "/tests/?.lua;" .. package.path
local S = require("transport.servers")
local http = require("ljhttp")

T.test("reuse: 2-prior-knowledge works for every request of one client, sequential and batched", function()
    S.start()
    local c = http.new()
    local o = { http_version = "2-prior-knowledge", timeout = 10 }
    for i = 1, 5 do
        local r = T.res(200, c:get(S.http("h2c"), o))
        T.eq(r.http_version, "2", "request " .. i)
    end
    local reqs = {}
    for i = 1, 100 do
        reqs[i] = { "GET", S.http("h2c", "/hello?i=" .. i), o }
    end
    local res, errs = c:request_batch(reqs)
    local good = 0
    for i = 1, 100 do
        if res[i] and res[i].status_code == 200 then
            good = good + 1
        end
    end
    T.eq(good, 100, "batch of 100: " .. tostring(errs and errs[1] or errs and errs[2]))
    c:close()
end)

T.test("reuse: a wrong or missing client_key_password never rides on the right key's connection", function()
    S.start()
    local c = http.new()
    local function auth(pass)
        return { ca_file = S.cert("ca.pem"), client_cert = S.cert("client.pem"),
            client_key = S.cert("client-enc.key"), client_key_password = pass }
    end
    local url = S.https("clientcert", "/client")
    T.eq(T.res(200, c:get(url, auth("clientpass"))).body, "client SUCCESS CN=ljhttp client\n")
    T.err("tls", c:get(url, auth("wrong")))
    T.err("tls", c:get(url, auth(nil)))
    -- a different key file with the same certificate: its own connection
    local plain = auth(nil)
    plain.client_key = S.cert("client.key")
    T.eq(T.res(200, c:get(url, plain)).body, "client SUCCESS CN=ljhttp client\n")
    -- and the right key still works, on the same client
    T.eq(T.res(200, c:get(url, auth("clientpass"))).body, "client SUCCESS CN=ljhttp client\n")
    T.err("tls", c:get(url, auth("wrong")))
    c:close()
end)
