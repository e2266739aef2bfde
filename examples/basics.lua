-- GET, POST, headers, timeouts and errors as values.
dofile((arg[0]:match("^(.*)/[^/]*$") or ".") .. "/path.lua")
local http = require("ljhttp")
local base = assert(arg[1], "usage: luajit examples/basics.lua http://127.0.0.1:PORT")

local res, err, code = http.get(base .. "/headers")
assert(res, err)
print("GET /headers ->", res.status_code, res.body_size .. " bytes")
print("  headers[\"x-dup\"] (first value, any case):", res.headers["x-dup"])
print("  every pair in wire order:")
for _, h in ipairs(res.header_list) do
    print("    " .. h[1] .. ": " .. h[2])
end
print("  cookies.b:", res.cookies.b)

res = http.post(base .. "/echo", {
    body = "binary \0 safe",
    headers = { ["Content-Type"] = "text/plain", ["X-Demo"] = "1" },
    timeout = "2s",
})
print("POST /echo ->", res.status_code)
io.write((res.body:gsub("^", "  "):gsub("\n(.)", "\n  %1")))

res = http.get(base .. "/redirect/2")
print("GET /redirect/2 ->", res.status_code, "final url " .. res.url, #res.redirects .. " hops")

print("errors are values, never raised:")
for _, case in ipairs({
    { "ftp://example.org/", nil },
    { "http://127.0.0.1:1/", nil },
    { base .. "/slow?ms=2000", { timeout = 0.2 } },
    { base .. "/echo", { headers = { ["X-Bad"] = "a\r\nInjected: yes" } } },
    { base .. "/loop", nil },
}) do
    res, err, code = http.get(case[1], case[2])
    print(string.format("  %-20s %s", code, err))
end
