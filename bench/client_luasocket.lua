-- LuaSocket client: socket.http from Debian's lua-socket, body into an
-- ltn12 table sink.  socket.http has no keep-alive and no concurrency:
-- every request opens a new connection, and concurrent workloads run
-- sequentially (reported with mode=sequential).
package.path = arg[0]:gsub("[^/]*$", "") .. "?.lua;/usr/share/lua/5.1/?.lua;" .. package.path
package.cpath = "/usr/lib/x86_64-linux-gnu/lua/5.1/?.so;" .. package.cpath
local B = require("bench_common")
local http = require("socket.http")
local ltn12 = require("ltn12")

local kind, n, conc, base, manifest = B.args()
local list = B.load_manifest(manifest, kind, base)

local c0, t0 = B.cpu(), B.now()
local bytes = 0
for i = 0, n - 1 do
  local e = list[i % #list + 1]
  local t = {}
  local ok, code = http.request { url = e.url, sink = ltn12.sink.table(t) }
  if not ok then B.fail(("request %d %s: %s"):format(i, e.url, tostring(code))) end
  if code ~= 200 then B.fail(("request %d %s: status %s"):format(i, e.url, tostring(code))) end
  local body = table.concat(t)
  B.check(e, body, i)
  bytes = bytes + #body
end
local t1, c1 = B.now(), B.cpu()
B.report(n, conc, t1 - t0, c1 - c0,
  { bytes = bytes, mode = conc > 1 and "sequential" or nil })
