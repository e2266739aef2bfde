-- Non-blocking requests in plain LuaJIT: start several, then drive them.
-- (In Neovim and OpenResty the host loop drives them by itself.)
dofile((arg[0]:match("^(.*)/[^/]*$") or ".") .. "/path.lua")
local http = require("ljhttp")
local base = assert(arg[1], "usage: luajit examples/async.lua http://127.0.0.1:PORT")

for i = 1, 3 do
    http.get_async(base .. "/slow?ms=" .. (400 - i * 100), nil, function(res, err)
        print("callback " .. i .. ":", res and res.body or err)
    end)
end
local stalled = http.get_async(base .. "/stall", nil, function(res, err, code)
    print("stalled request:", err, code)
end)
local chunks = {}
http.get_async(base .. "/drip?chunks=4&interval_ms=50&size=3", {
    on_chunk = function(chunk)
        chunks[#chunks + 1] = chunk
    end,
}, function(res)
    print("streamed " .. #chunks .. " chunks: " .. table.concat(chunks, " "))
end)
local h = http.get_async(base .. "/bytes?n=100000")
print("wait() returns what the callback gets:", h:wait(5).body_size, "bytes")
stalled:cancel()
http.run(5)
