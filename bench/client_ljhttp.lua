-- ljhttp client: the library's public API, as an application would use it.
--   VARIANT "client" (default): local c = http.new({}); c:get(url)
--   VARIANT "get": the module function http.get(url)
--   VARIANT "output": c:get(url, {output = file}): the body goes to a file
--     from C and never becomes a Lua string
--   VARIANT "stream": c:stream("GET", url), each chunk consumed in place
--     with s:read_ref() (a pointer and a length, no Lua string)
--   VARIANT "chunks": c:stream("GET", url), for chunk in s:chunks() (each
--     chunk a Lua string of at most 64 KiB)
-- CONC > 1: one http.request_batch(list, {concurrency = CONC}) call with
-- N items {"GET", url}.
-- Extra argument after the common ones: VARIANT.
local dir = arg[0]:gsub("[^/]*$", "")
if dir == "" then dir = "./" end
local root = dir .. "../"
package.path = root .. "lua/?.lua;" .. root .. "lua/?/init.lua;" .. dir .. "?.lua;" .. package.path
local B = require("bench_common")
local ok_req, http = pcall(require, "ljhttp")
if not ok_req then B.fail("require('ljhttp') failed: " .. tostring(http)) end

local kind, n, conc, base, manifest = B.args()
local variant = arg[6] or "client"
local list = B.load_manifest(manifest, kind, base)

-- LIMIT calls curl_global_init before its clock starts, and lua-curl
-- makes its easy handle (which initialises libcurl) before its clock;
-- ljhttp initialises libcurl when the first client is made (about
-- 16 ms here: OpenSSL's start-up). Make and drop one client before the
-- clock, so every client is timed without that once-per-process cost.
http.new({}):close()

local function check_response(r, err, e, i)
  if not r then B.fail(("request %d %s: %s"):format(i, e.url, tostring(err))) end
  if r.status_code ~= 200 then
    B.fail(("request %d %s: status %s"):format(i, e.url, tostring(r.status_code)))
  end
  if r.body_size ~= nil and r.body_size ~= e.size then
    B.fail(("request %d %s: body_size %s, expected %d"):format(i, e.url, tostring(r.body_size), e.size))
  end
  B.check(e, r.body, i)
  return #r.body
end

local bytes = 0
local c0, t0
if conc > 1 then
  local reqs = {}
  for i = 0, n - 1 do reqs[i + 1] = { "GET", list[i % #list + 1].url } end
  c0, t0 = B.cpu(), B.now()
  local res, errs = http.request_batch(reqs, { concurrency = conc })
  if errs then
    local first
    for k, v in pairs(errs) do first = ("[%s] %s"):format(tostring(k), tostring(v)); break end
    B.fail("request_batch reported errors, first: " .. tostring(first))
  end
  if type(res) ~= "table" then B.fail("request_batch returned " .. tostring(res)) end
  for i = 0, n - 1 do
    bytes = bytes + check_response(res[i + 1], "missing response", list[i % #list + 1], i)
  end
elseif variant == "output" then
  local c = http.new({})
  -- beside LIMIT's file when run.sh says where (same file system)
  local dir = os.getenv("BENCH_OUT_DIR")
  local file = dir and dir .. "/ljhttp-out.bin" or os.tmpname()
  c0, t0 = B.cpu(), B.now()
  for i = 0, n - 1 do
    local e = list[i % #list + 1]
    local r, err = c:get(e.url, { output = file })
    if not r or r.body_size ~= e.size then
      B.fail(("request %d %s: %s"):format(i, e.url, tostring(err or (r and r.body_size))))
    end
    -- the check bytes, read back from the file
    local f = io.open(file, "rb")
    local head = f:read(#e.head)
    f:seek("set", e.mid_off)
    local mid = f:read(#e.mid)
    f:seek("set", e.size - #e.tail)
    local tail = f:read(#e.tail)
    f:close()
    if head ~= e.head or mid ~= e.mid or tail ~= e.tail then
      B.fail(("request %d %s: file bytes differ"):format(i, e.url))
    end
    bytes = bytes + r.body_size
  end
  os.remove(file)
elseif variant == "stream" or variant == "chunks" then
  local ffi = require("ffi")
  local max, min = math.max, math.min
  -- the bytes at body offsets [from, to) that lie in the chunk p of len
  -- bytes starting at body offset got ("" when none)
  local function slice(p, got, len, from, to)
    from, to = max(from, got), min(to, got + len)
    if from >= to then return "" end
    if type(p) == "string" then return p:sub(from - got + 1, to - got) end
    return ffi.string(p + (from - got), to - from)
  end
  local in_place = variant == "stream"
  local c = http.new({})
  -- the consumer sees every chunk once and keeps only what the checks need
  c0, t0 = B.cpu(), B.now()
  for i = 0, n - 1 do
    local e = list[i % #list + 1]
    local s, err = c:stream("GET", e.url)
    if not s then B.fail(("request %d %s: %s"):format(i, e.url, tostring(err))) end
    local got, head, mid, tail = 0, "", "", ""
    local ntail = #e.tail
    while true do
      local p, len
      if in_place then
        p, len = s:read_ref()
      else
        p = s:read()
        len = p and #p
      end
      if not p then break end
      head = head .. slice(p, got, len, #head, #e.head)
      mid = mid .. slice(p, got, len, e.mid_off + #mid, e.mid_off + #e.mid)
      -- the last bytes seen; a chunk long enough holds them alone
      if len >= ntail then
        tail = slice(p, got, len, got + len - ntail, got + len)
      else
        tail = (tail .. slice(p, got, len, got, got + len)):sub(-ntail)
      end
      got = got + len
    end
    if s.error then B.fail(("request %d %s: %s"):format(i, e.url, tostring(s.error))) end
    s:close()
    if got ~= e.size or head ~= e.head or mid ~= e.mid or tail ~= e.tail then
      B.fail(("request %d %s: streamed %d bytes, or bytes differ"):format(i, e.url, got))
    end
    bytes = bytes + got
  end
elseif variant == "get" then
  c0, t0 = B.cpu(), B.now()
  for i = 0, n - 1 do
    local e = list[i % #list + 1]
    local r, err = http.get(e.url)
    bytes = bytes + check_response(r, err, e, i)
  end
else
  local c = http.new({})
  c0, t0 = B.cpu(), B.now()
  for i = 0, n - 1 do
    local e = list[i % #list + 1]
    local r, err = c:get(e.url)
    bytes = bytes + check_response(r, err, e, i)
  end
end
local t1, c1 = B.now(), B.cpu()
local api = conc > 1 and "http.request_batch"
  or ({ get = "http.get", output = "c:get{output}", stream = "s:read_ref()",
    chunks = "s:read()" })[variant] or "c:get"
B.report(n, conc, t1 - t0, c1 - c0, { bytes = bytes, api = api })
