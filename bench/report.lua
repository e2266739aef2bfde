-- Turns the raw result lines of bench/run.sh into tables.
--   luajit report.lua RAW FACTS [RESULTS_MD]
-- Prints text tables to stdout; writes markdown to RESULTS_MD if given.
local raw_file, facts_file, md_file = arg[1], arg[2], arg[3]

local ORDER = { "limit", "strings", "limit.copy", "limit.file", "ljhttp", "ljhttp.portable", "ljhttp.get", "ljhttp.output", "ljhttp.stream",
  "ljhttp.chunks", "lua-curl",
  "luasocket", "curl-per-request" }
local LABEL = {
  limit = "LIMIT (C libcurl)", strings = "STRINGS (ffi.string only)",
  ["limit.copy"] = "LIMIT + copy (C libcurl, fresh copy per body)",
  ["limit.file"] = "LIMIT to a file (C libcurl)",
  ljhttp = "ljhttp c:get", ["ljhttp.portable"] = "ljhttp c:get (portable backend)", ["ljhttp.get"] = "ljhttp http.get",
  ["ljhttp.output"] = "ljhttp output= (no string)", ["ljhttp.stream"] = "ljhttp stream read_ref (no string)",
  ["ljhttp.chunks"] = "ljhttp stream chunks (strings)",
  ["lua-curl"] = "lua-curl", luasocket = "LuaSocket",
  ["curl-per-request"] = "curl per request",
}

-- The Lua clients ljhttp is set against ("x best Lua peer").
local PEERS = { "lua-curl", "luasocket", "curl-per-request" }

local function parse(line)
  local t = {}
  for k, v in line:gmatch("(%S+)=(%S+)") do t[k] = tonumber(v) or v end
  return t
end

local workloads, wl_by_id = {}, {}
local function wl(id)
  local w = wl_by_id[id]
  if not w then
    w = { id = id, runs = {}, na = {}, clients = {} }
    wl_by_id[id] = w
    workloads[#workloads + 1] = w
  end
  return w
end

for line in io.lines(raw_file) do
  local t = parse(line)
  if t.workload then
    local w = wl(t.workload)
    if line:find(" meta ", 1, true) then
      w.n, w.conc, w.desc = t.n, t.conc, tostring(t.desc):gsub("_", " ")
    elseif t.na then
      w.na[t.client] = tostring(t.na):gsub("_", " ")
      w.clients[t.client] = true
    elseif t.round and t.round >= 1 then -- round <= 0 is warm-up
      w.runs[#w.runs + 1] = t
      w.clients[t.client] = true
    end
  end
end

local function median(xs)
  if #xs == 0 then return nil end
  local s = {}
  for i, x in ipairs(xs) do s[i] = x end
  table.sort(s)
  local m = math.floor((#s + 1) / 2)
  if #s % 2 == 1 then return s[m] end
  return (s[m] + s[m + 1]) / 2
end

local function ftime(s)
  if not s then return "-" end
  if s < 1e-3 then return ("%.1f µs"):format(s * 1e6) end
  if s < 1 then return ("%.2f ms"):format(s * 1e3) end
  return ("%.3f s"):format(s)
end
local function fnum(x)
  if x >= 100 then return ("%.0f"):format(x) end
  if x >= 10 then return ("%.1f"):format(x) end
  return ("%.2f"):format(x)
end
local function fmib(kb) return ("%.1f MiB"):format(kb / 1024) end
local function fratio(x) return x and ("%.2fx"):format(x) or "-" end

local function rows_for(w)
  local by = {}
  for _, r in ipairs(w.runs) do
    by[r.client] = by[r.client] or {}
    by[r.client][r.round] = r
  end
  local names = {}
  for _, c in ipairs(ORDER) do if w.clients[c] then names[#names + 1] = c end end
  for c in pairs(w.clients) do
    local known = false
    for _, o in ipairs(ORDER) do known = known or o == c end
    if not known then names[#names + 1] = c end
  end
  local two = w.id == "W2" or w.id == "W3"
  local rows = {}
  for _, c in ipairs(names) do
    local row = { client = LABEL[c] or c }
    local first = by[c] and select(2, next(by[c]))
    if first and first.api then
      row.client = "ljhttp " .. first.api .. (c == "ljhttp.portable" and " (portable backend)" or "")
    end
    if w.na[c] then
      row.na = w.na[c]
    else
      local walls, cpus, ratios, ratios2, ratios3, rss, crss, n, mode = {}, {}, {}, {}, {}, 0, 0, nil, nil
      -- output= writes files: also against the C program that writes them
      local file_ratios, peer_ratios = {}, {}
      for round, r in pairs(by[c] or {}) do
        n, mode = r.n, r.mode
        walls[#walls + 1] = r.wall_s
        cpus[#cpus + 1] = r.cpu_s
        if r.rss_kb > rss then rss = r.rss_kb end
        if (r.child_rss_kb or 0) > crss then crss = r.child_rss_kb end
        local l = by.limit and by.limit[round]
        if l then
          local per, lper = r.wall_s / r.n, l.wall_s / l.n
          ratios[#ratios + 1] = per / lper
          local s = by.strings and by.strings[round]
          if two and s then ratios2[#ratios2 + 1] = per / (lper + s.wall_s / s.n) end
        end
        local lc = two and by["limit.copy"] and by["limit.copy"][round]
        if lc then ratios3[#ratios3 + 1] = (r.wall_s / r.n) / (lc.wall_s / lc.n) end
        -- ljhttp rows: against the fastest Lua peer of the same round
        if c:match("^ljhttp") then
          local best
          for _, peer in ipairs(PEERS) do
            local q = by[peer] and by[peer][round]
            if q and (not best or q.wall_s / q.n < best) then best = q.wall_s / q.n end
          end
          if best then peer_ratios[#peer_ratios + 1] = (r.wall_s / r.n) / best end
        end
        local lf = c == "ljhttp.output" and by["limit.file"] and by["limit.file"][round]
        if lf then file_ratios[#file_ratios + 1] = (r.wall_s / r.n) / (lf.wall_s / lf.n) end
      end
      if n then
        local mw = median(walls)
        local lo, hi = math.min(unpack(walls)), math.max(unpack(walls))
        row.n = n
        row.wall = ftime(mw)
        row.range = ftime(lo) .. " - " .. ftime(hi)
        row.per = ftime(mw / n)
        row.ratio = fratio(median(ratios))
        row.ratio2 = fratio(median(ratios2))
        row.ratio3 = fratio(median(ratios3))
        row.peer = #peer_ratios > 0 and fratio(median(peer_ratios)) or ""
        row.rps = fnum(n / mw)
        row.cpu = ftime(median(cpus) / n)
        row.rss = fmib(rss) .. (crss > 0 and (" (+curl " .. fmib(crss) .. ")") or "")
        local notes = {}
        if #file_ratios > 0 then notes[#notes + 1] = fratio(median(file_ratios)) .. " LIMIT to a file" end
        if n ~= w.n then notes[#notes + 1] = ("n=%d of %d"):format(n, w.n) end
        if mode == "sequential" then notes[#notes + 1] = "run sequentially"
        elseif mode and tostring(mode):match("^groups%-of%-") then
          notes[#notes + 1] = "spawns in groups of " .. tostring(mode):match("%d+")
        end
        row.note = table.concat(notes, "; ")
      else
        row.na = "no results"
      end
    end
    rows[#rows + 1] = row
  end
  return rows, two
end

local function columns(two)
  local cols = {
    { "client", "client" }, { "n", "n" }, { "median wall", "wall" }, { "min - max", "range" },
    { "wall/req", "per" }, { "x LIMIT", "ratio" },
  }
  if two then
    cols[#cols + 1] = { "x (LIMIT+STRINGS)", "ratio2" }
    cols[#cols + 1] = { "x LIMIT+copy", "ratio3" }
  end
  cols[#cols + 1] = { "x best Lua peer", "peer" }
  for _, c in ipairs { { "req/s", "rps" }, { "CPU/req", "cpu" }, { "peak RSS", "rss" }, { "note", "note" } } do
    cols[#cols + 1] = c
  end
  return cols
end

local function cell(row, key)
  if row.na and key ~= "client" then
    return key == "n" and "n/a" or (key == "note" and row.na or "")
  end
  return tostring(row[key] or "")
end

local function ulen(s) return #s:gsub("[\128-\191]", "") end

local facts = {}
for line in io.lines(facts_file) do facts[#facts + 1] = line end

local out, md = {}, {}
md[#md + 1] = "# ljhttp benchmark results"
md[#md + 1] = ""
md[#md + 1] = "Generated by `make -C bench bench` (bench/run.sh); see bench/README.md for what the clients and columns are."
md[#md + 1] = ""
for _, f in ipairs(facts) do md[#md + 1] = "- " .. f end
md[#md + 1] = ""

for _, w in ipairs(workloads) do
  local rows, two = rows_for(w)
  local cols = columns(two)
  local title = ("%s: %d x %s"):format(w.id, w.n or 0, w.desc or "")
  -- text
  local width = {}
  for i, c in ipairs(cols) do
    width[i] = ulen(c[1])
    for _, r in ipairs(rows) do width[i] = math.max(width[i], ulen(cell(r, c[2]))) end
  end
  local function line(vals)
    local parts = {}
    for i, v in ipairs(vals) do
      local pad = (" "):rep(width[i] - ulen(v))
      parts[i] = i == 1 and v .. pad or pad .. v
      if cols[i][2] == "note" then parts[i] = v end
    end
    return table.concat(parts, "  ")
  end
  out[#out + 1] = title
  local hdr = {}
  for i, c in ipairs(cols) do hdr[i] = c[1] end
  out[#out + 1] = line(hdr)
  for _, r in ipairs(rows) do
    local v = {}
    for i, c in ipairs(cols) do v[i] = cell(r, c[2]) end
    out[#out + 1] = line(v)
  end
  out[#out + 1] = ""
  -- markdown
  md[#md + 1] = "## " .. title
  md[#md + 1] = ""
  md[#md + 1] = "| " .. table.concat(hdr, " | ") .. " |"
  local sep = {}
  for i, c in ipairs(cols) do sep[i] = (i == 1 or c[2] == "note") and "---" or "---:" end
  md[#md + 1] = "| " .. table.concat(sep, " | ") .. " |"
  for _, r in ipairs(rows) do
    local v = {}
    for i, c in ipairs(cols) do v[i] = cell(r, c[2]) end
    md[#md + 1] = "| " .. table.concat(v, " | ") .. " |"
  end
  md[#md + 1] = ""
end

out[#out + 1] = "x LIMIT = median over counted rounds of (client wall/req) / (LIMIT wall/req) in the same round;"
  .. " x best Lua peer = the same against the fastest of lua-curl, LuaSocket and curl per request in that round."
io.stdout:write(table.concat(out, "\n"), "\n")

md[#md + 1] = "Ratios are medians over the counted rounds of per-round ratios of wall time per request "
  .. "(client / LIMIT, client / (LIMIT + STRINGS), client / LIMIT+copy, ljhttp / the fastest Lua peer "
  .. "of lua-curl, LuaSocket and curl per request), measured in the same round. "
  .. "CPU/req is the median CPU time (user + system, plus waited-for children for curl per request) per request. "
  .. "Peak RSS is the largest ru_maxrss over the rounds."
if md_file and md_file ~= "" then
  local f = assert(io.open(md_file, "w"))
  f:write(table.concat(md, "\n"), "\n")
  f:close()
end
