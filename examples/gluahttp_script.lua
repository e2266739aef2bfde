-- A script written for gluahttp, unchanged: only the preload line is new.
dofile((arg[0]:match("^(.*)/[^/]*$") or ".") .. "/path.lua")
package.preload.http = function() return require("ljhttp") end
local base = assert(arg[1])

local http = require("http")

response, error_message = http.request("GET", base .. "/echo", {
    query = "page=1",
    timeout = "30s",
    headers = { Accept = "*/*" },
})
print(response.status_code, response.body_size, response.headers["Content-Type"])

response, error_message = http.post(base .. "/echo", {
    form = "name=gopher&lang=lua",
    cookies = { session = "s1" },
    auth = { user = "user", pass = "pass" },
})
print(response.body:match("header Content%-Type: [^\n]*"))

responses, errors = http.request_batch({
    { "GET", base .. "/status/200" },
    { "GET", "nope://x" },
})
print(responses[1].status_code, errors[2])

response, error_message = http.get(base .. "/echo", { timeout = "soon" })
print(response, error_message)
