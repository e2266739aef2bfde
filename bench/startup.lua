-- Start-up row of the benchmark: one request, whole process. Each
-- program is spawned (posix_spawn, no shell) and waited for with wait4,
-- ROUNDS times in an order that rotates by one each round; the row gives
-- the median wall time from spawn to exit, its ratio to the C one-shot
-- of the same round (median of per-round ratios), and the child's own
-- CPU time (user + system, from wait4), then ljhttp's wall over the
-- floor's (oneshot.lua says what the floor is).
--   luajit bench/startup.lua URL [RESULTS_MD]
-- Environment: STARTUP_ROUNDS (50), LUAJIT (luajit), CURL (curl).
local dir = arg[0]:gsub("[^/]*$", "")
if dir == "" then dir = "./" end
package.path = dir .. "?.lua;" .. package.path
local ffi = require("ffi")
local B = require("bench_common")

local url, md_file = arg[1], arg[2]
if not url then B.fail("usage: startup.lua URL [RESULTS_MD]") end
local rounds = tonumber(os.getenv("STARTUP_ROUNDS") or "") or 50
local luajit = os.getenv("LUAJIT") or "luajit"
local curl = os.getenv("CURL") or "curl"

ffi.cdef [[
int bench_posix_spawnp(int *pid, const char *file, const void *fa, const void *attr,
                       char *const argv[], char *const envp[]) __asm__("posix_spawnp");
int bench_wait4(int pid, int *status, int options, bench_rusage *ru) __asm__("wait4");
extern char **environ;
]]

local PROGRAMS = {
  { id = "limit", label = "LIMIT: C one-shot on libcurl (bench/oneshot.c)", argv = { dir .. "oneshot", url } },
  { id = "ljhttp", label = "ljhttp: require + http.get", argv = { luajit, dir .. "oneshot.lua", "ljhttp", url } },
  { id = "floor", label = "floor: LuaJIT + ffi.load + one C GET, no ljhttp Lua", argv = { luajit, dir .. "oneshot.lua", "floor", url } },
  { id = "lua-curl", label = "lua-curl: require + easy perform", argv = { luajit, dir .. "oneshot.lua", "lua-curl", url } },
  { id = "luasocket", label = "LuaSocket: require + socket.http.request", argv = { luajit, dir .. "oneshot.lua", "luasocket", url } },
  { id = "curl", label = "curl program (curl -sS -o /dev/null)", argv = { curl, "-sS", "-o", "/dev/null", "--fail", url } },
}

local ru = ffi.new("bench_rusage")
local pid_box, status_box = ffi.new("int[1]"), ffi.new("int[1]")

-- Runs argv once: wall seconds, CPU seconds of the child, exit code.
local function run(argv)
  local cargv = ffi.new("char *[?]", #argv + 1)
  local keep = {}
  for i, a in ipairs(argv) do
    keep[i] = ffi.new("char[?]", #a + 1, a)
    cargv[i - 1] = keep[i]
  end
  local t0 = B.now()
  if ffi.C.bench_posix_spawnp(pid_box, argv[1], nil, nil, cargv, ffi.C.environ) ~= 0 then
    return nil, nil, -1
  end
  ffi.C.bench_wait4(pid_box[0], status_box, 0, ru)
  local wall = B.now() - t0
  local cpu = tonumber(ru.ru_utime.tv_sec) + tonumber(ru.ru_stime.tv_sec)
    + (tonumber(ru.ru_utime.tv_usec) + tonumber(ru.ru_stime.tv_usec)) * 1e-6
  local st = status_box[0]
  local code = (st % 128 == 0) and math.floor(st / 256) % 256 or 128 + st % 128
  return wall, cpu, code
end

-- a program whose library is missing (exit 3) is left out, and said so
local active, missing = {}, {}
for _, p in ipairs(PROGRAMS) do
  local _, _, code = run(p.argv)
  if code == 3 then
    missing[#missing + 1] = p.id
  elseif code ~= 0 then
    B.fail(p.id .. ": exit " .. tostring(code) .. " (" .. table.concat(p.argv, " ") .. ")")
  else
    p.walls, p.cpus, p.ratios = {}, {}, {}
    active[#active + 1] = p
  end
end

-- ljhttp / floor per round: the part of the start-up that is ljhttp's own
local own = {}
for r = 1, rounds do
  local wall_of = {}
  local k = #active
  for j = 0, k - 1 do
    local p = active[(j + r) % k + 1]
    local wall, cpu, code = run(p.argv)
    if code ~= 0 then B.fail(p.id .. ": exit " .. tostring(code) .. " in round " .. r) end
    p.walls[#p.walls + 1], p.cpus[#p.cpus + 1] = wall, cpu
    wall_of[p.id] = wall
  end
  for _, p in ipairs(active) do
    p.ratios[#p.ratios + 1] = wall_of[p.id] / wall_of.limit
  end
  if wall_of.floor then
    own[#own + 1] = wall_of.ljhttp / wall_of.floor
  end
end

local function median(xs)
  local s = {}
  for i, x in ipairs(xs) do s[i] = x end
  table.sort(s)
  local m = math.floor((#s + 1) / 2)
  return #s % 2 == 1 and s[m] or (s[m] + s[m + 1]) / 2
end
local function ms(s) return ("%.2f ms"):format(s * 1e3) end

local head = { "program", "median wall", "min - max", "x LIMIT", "CPU (child)" }
local rows = {}
for _, p in ipairs(active) do
  rows[#rows + 1] = { p.label, ms(median(p.walls)),
    ms(math.min(unpack(p.walls))) .. " - " .. ms(math.max(unpack(p.walls))),
    ("%.2fx"):format(median(p.ratios)), ms(median(p.cpus)) }
end
for _, id in ipairs(missing) do rows[#rows + 1] = { id, "n/a", "", "", "not installed" } end

local title = ("S1: start-up, one request, whole process (%d rounds)"):format(rounds)
local width = {}
for i, h in ipairs(head) do
  width[i] = #h
  for _, r in ipairs(rows) do width[i] = math.max(width[i], #r[i]) end
end
local out = { title }
local function line(v)
  local parts = {}
  for i, s in ipairs(v) do
    local pad = (" "):rep(width[i] - #s)
    parts[i] = i == 1 and s .. pad or pad .. s
  end
  return table.concat(parts, "  ")
end
out[#out + 1] = line(head)
for _, r in ipairs(rows) do out[#out + 1] = line(r) end
local own_line = #own > 0 and ("ljhttp x floor (its own start-up): %.2fx"):format(median(own)) or nil
out[#out + 1] = own_line
io.stdout:write(table.concat(out, "\n"), "\n")

if md_file and md_file ~= "" then
  local md = { "", "## " .. title, "", "| " .. table.concat(head, " | ") .. " |", "|---|---:|---:|---:|---:|" }
  for _, r in ipairs(rows) do md[#md + 1] = "| " .. table.concat(r, " | ") .. " |" end
  md[#md + 1] = ""
  md[#md + 1] = "x LIMIT: median over rounds of (wall from spawn to exit) / (the C one-shot's, same round)."
  if own_line then
    md[#md + 1] = ""
    md[#md + 1] = own_line .. ", the median over rounds of ljhttp's wall / the floor's."
  end
  local f = assert(io.open(md_file, "a"))
  f:write(table.concat(md, "\n"), "\n")
  f:close()
end
