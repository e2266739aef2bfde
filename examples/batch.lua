-- request_batch: concurrent, results line up with the requests.
dofile((arg[0]:match("^(.*)/[^/]*$") or ".") .. "/path.lua")
local http = require("ljhttp")
local base = assert(arg[1], "usage: luajit examples/batch.lua http://127.0.0.1:PORT")

local requests = {
    { "GET", base .. "/slow?ms=300" },
    { "GET", base .. "/status/404" },
    "not a table",
    { "GET", "http://127.0.0.1:1/" },
    { "POST", base .. "/echo/body", { body = "hello" } },
}
for i = 1, 5 do
    requests[#requests + 1] = { "GET", base .. "/slow?ms=300" }
end
local now = require("ljhttp.loader").load().ljh_now_ms
local t0 = now()
local clock = os.clock()
local responses, errors = http.request_batch(requests, { concurrency = 10 })
for i = 1, #requests do
    if responses[i] then
        print(i, responses[i].status_code, responses[i].body)
    else
        print(i, "error:", errors[i])
    end
end
print(string.format("6 requests of 300 ms ran at once: %d ms wall, %.3f s CPU",
    tonumber(now() - t0), os.clock() - clock))
