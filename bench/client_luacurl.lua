-- lua-curl client: Debian's lua-curl (module "curl", the luacurl 0.3
-- binding: easy interface only, no getinfo).  One reused easy handle;
-- the body is collected as chunks in a table and concatenated, the status
-- is read from the status line seen by the header callback.
package.path = arg[0]:gsub("[^/]*$", "") .. "?.lua;/usr/share/lua/5.1/?.lua;" .. package.path
package.cpath = "/usr/lib/x86_64-linux-gnu/lua/5.1/?.so;" .. package.cpath
local B = require("bench_common")
local curl = require("curl")

local kind, n, conc, base, manifest = B.args()
if conc ~= 1 then B.fail("lua-curl has no multi interface: sequential only") end
local list = B.load_manifest(manifest, kind, base)

local chunks, nchunks, status = {}, 0, nil
local h = curl.easy_init()
h:setopt(curl.OPT_NOSIGNAL, 1)
-- luacurl calls callbacks as f(data, len) and wants len returned
h:setopt(curl.OPT_WRITEFUNCTION, function(data, len)
  nchunks = nchunks + 1
  chunks[nchunks] = data
  return len
end)
h:setopt(curl.OPT_HEADERFUNCTION, function(line, len)
  local code = line:match("^HTTP/%S+ (%d%d%d)")
  if code then status = tonumber(code) end
  return len
end)

local c0, t0 = B.cpu(), B.now()
local bytes = 0
for i = 0, n - 1 do
  local e = list[i % #list + 1]
  nchunks, status = 0, nil
  h:setopt(curl.OPT_URL, e.url)
  local rc, err = h:perform() -- CURLcode (0 = ok), message
  if rc ~= 0 then B.fail(("request %d %s: curl error %s: %s"):format(i, e.url, tostring(rc), tostring(err))) end
  if status ~= 200 then B.fail(("request %d %s: status %s"):format(i, e.url, tostring(status))) end
  local body = table.concat(chunks, "", 1, nchunks)
  for j = 1, nchunks do chunks[j] = nil end
  B.check(e, body, i)
  bytes = bytes + #body
end
local t1, c1 = B.now(), B.cpu()
B.report(n, conc, t1 - t0, c1 - c0, { bytes = bytes })
