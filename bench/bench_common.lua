-- Shared helpers for the LuaJIT benchmark clients: argument parsing,
-- manifest loading, body checks, self-measurement and the RESULT line.
--
-- Every client is invoked as
--   luajit bench/client_<name>.lua KIND N CONC BASE_URL MANIFEST [extra...]
-- and prints one line
--   RESULT n=N conc=C wall_s=.. cpu_s=.. rss_kb=.. [key=value...]
local ffi = require("ffi")

-- __asm__ aliases keep these declarations from clashing with any other
-- cdef (ljhttp's, for instance) that declares the same libc functions.
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
typedef struct { long tv_sec; long tv_usec; } bench_timeval;
typedef struct {
    bench_timeval ru_utime, ru_stime;
    long ru_maxrss, ru_ixrss, ru_idrss, ru_isrss, ru_minflt, ru_majflt,
         ru_nswap, ru_inblock, ru_oublock, ru_msgsnd, ru_msgrcv,
         ru_nsignals, ru_nvcsw, ru_nivcsw;
} bench_rusage;
int bench_clock_gettime(int clk, bench_timespec *ts) __asm__("clock_gettime");
int bench_getrusage(int who, bench_rusage *ru) __asm__("getrusage");
]]

local CLOCK_MONOTONIC = 1
local RUSAGE_SELF, RUSAGE_CHILDREN = 0, -1

local M = {}

local ts = ffi.new("bench_timespec")
function M.now()
  ffi.C.bench_clock_gettime(CLOCK_MONOTONIC, ts)
  return tonumber(ts.tv_sec) + tonumber(ts.tv_nsec) * 1e-9
end

local ru = ffi.new("bench_rusage")
local function usage(who)
  ffi.C.bench_getrusage(who, ru)
  local cpu = tonumber(ru.ru_utime.tv_sec) + tonumber(ru.ru_stime.tv_sec)
      + (tonumber(ru.ru_utime.tv_usec) + tonumber(ru.ru_stime.tv_usec)) * 1e-6
  return cpu, tonumber(ru.ru_maxrss)
end

-- CPU seconds of this process, plus its waited-for children if asked.
function M.cpu(with_children)
  local c = usage(RUSAGE_SELF)
  if with_children then c = c + usage(RUSAGE_CHILDREN) end
  return c
end

function M.maxrss_kb() local _, r = usage(RUSAGE_SELF); return r end
function M.children_maxrss_kb() local _, r = usage(RUSAGE_CHILDREN); return r end

function M.fail(msg)
  io.stderr:write((arg and arg[0] or "client"), ": ", msg, "\n")
  io.stderr:flush()
  os.exit(1)
end

local function unhex(h)
  if h == "-" then return "" end
  return (h:gsub("..", function(x) return string.char(tonumber(x, 16)) end))
end

-- Manifest line: KIND IDX PATH SIZE HEAD_HEX MID_OFF MID_HEX TAIL_HEX
function M.load_manifest(file, kind, base)
  local list = {}
  local f = io.open(file, "r")
  if not f then M.fail("cannot open manifest " .. file) end
  for line in f:lines() do
    local k, idx, path, size, head, moff, mid, tail = line:match(
      "^(%S+) (%d+) (%S+) (%d+) (%S+) (%d+) (%S+) (%S+)$")
    if k == kind then
      list[#list + 1] = {
        url = base .. path, size = tonumber(size), head = unhex(head),
        mid_off = tonumber(moff), mid = unhex(mid), tail = unhex(tail),
      }
    end
  end
  f:close()
  if #list == 0 then M.fail("no manifest entries of kind " .. kind) end
  return list
end

-- Checks a Lua string body against its manifest entry; aborts on mismatch.
function M.check(e, body, i)
  if type(body) ~= "string" then
    M.fail(("request %d %s: body is %s, not a string"):format(i, e.url, type(body)))
  end
  local n = #body
  if n ~= e.size then
    M.fail(("request %d %s: got %d bytes, expected %d"):format(i, e.url, n, e.size))
  end
  local hl, ml, tl = #e.head, #e.mid, #e.tail
  if body:sub(1, hl) ~= e.head
      or body:sub(e.mid_off + 1, e.mid_off + ml) ~= e.mid
      or body:sub(n - tl + 1, n) ~= e.tail then
    M.fail(("request %d %s: body bytes differ from the file"):format(i, e.url))
  end
end

function M.args()
  local kind, n, conc, base, manifest = arg[1], tonumber(arg[2]), tonumber(arg[3]), arg[4], arg[5]
  if not (kind and n and conc and base and manifest) then
    M.fail("usage: KIND N CONC BASE_URL MANIFEST")
  end
  return kind, n, conc, base, manifest
end

-- Prints the RESULT line; extra is a table of key = value (no spaces).
function M.report(n, conc, wall, cpu, extra)
  local parts = {
    ("RESULT n=%d conc=%d wall_s=%.6f cpu_s=%.6f rss_kb=%d"):format(
      n, conc, wall, cpu, M.maxrss_kb()),
  }
  for k, v in pairs(extra or {}) do parts[#parts + 1] = k .. "=" .. tostring(v) end
  io.stdout:write(table.concat(parts, " "), "\n")
  io.stdout:flush()
end

return M
