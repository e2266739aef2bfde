-- STRINGS client: no network.  Per "response" it creates one fresh Lua
-- string of the body's size from a C buffer with ffi.string, the floor
-- cost of handing a body to Lua.  The buffer holds the expected check
-- bytes of the manifest entry plus a per-request counter, so every string
-- differs (no interning shortcut) and still passes the same body check.
package.path = arg[0]:gsub("[^/]*$", "") .. "?.lua;" .. package.path
local ffi = require("ffi")
local B = require("bench_common")

local kind, n, conc, base, manifest = B.args()
local list = B.load_manifest(manifest, kind, base)
local max = 0
for _, e in ipairs(list) do if e.size > max then max = e.size end end
local buf = ffi.new("uint8_t[?]", max)
for j = 0, max - 1, 4096 do buf[j] = j % 251 end -- touch every page

local function put(off, s) ffi.copy(buf + off, s, #s) end

local c0, t0 = B.cpu(), B.now()
local bytes = 0
for i = 0, n - 1 do
  local e = list[i % #list + 1]
  ffi.cast("uint32_t *", buf + #e.head)[0] = i -- after the head check bytes
  put(0, e.head)
  put(e.mid_off, e.mid)
  put(e.size - #e.tail, e.tail)
  local body = ffi.string(buf, e.size)
  B.check(e, body, i)
  bytes = bytes + #body
end
local t1, c1 = B.now(), B.cpu()
B.report(n, conc, t1 - t0, c1 - c0, { bytes = bytes })
