-- curl-per-request client: spawns the curl program for every request with
-- io.popen and reads the body from the pipe, as Neovim plugins do today.
-- CONC > 1: spawns CONC curl processes at once, then reads and closes
-- them in order (groups of CONC, not a sliding window).
-- CPU and peak RSS include the waited-for curl children (child_rss_kb is
-- the largest single curl process).
package.path = arg[0]:gsub("[^/]*$", "") .. "?.lua;" .. package.path
local B = require("bench_common")

local kind, n, conc, base, manifest = B.args()
local list = B.load_manifest(manifest, kind, base)
local CURL = os.getenv("CURL") or "curl"

local function spawn(e)
  -- --fail: an HTTP error gives no body, which the check rejects
  local f, err = io.popen(CURL .. " -sS --fail '" .. e.url .. "'", "r")
  if not f then B.fail("popen: " .. tostring(err)) end
  return f
end

local c0, t0 = B.cpu(true), B.now()
local bytes = 0
local i = 0
while i < n do
  local group = {}
  for j = 0, math.min(conc, n - i) - 1 do
    local e = list[(i + j) % #list + 1]
    group[#group + 1] = { e = e, f = spawn(e), i = i + j }
  end
  for _, g in ipairs(group) do
    local body = g.f:read("*a")
    g.f:close()
    B.check(g.e, body, g.i)
    bytes = bytes + #body
  end
  i = i + #group
end
local t1, c1 = B.now(), B.cpu(true)
B.report(n, conc, t1 - t0, c1 - c0, {
  bytes = bytes, child_rss_kb = B.children_maxrss_kb(),
  mode = conc > 1 and ("groups-of-" .. conc) or nil,
})
