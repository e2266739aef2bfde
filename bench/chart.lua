-- bench/chart.lua RESULTS_MD OUT_SVG: draws the "x LIMIT" column of every
-- workload table in results.md as grouped bars (one group per workload,
-- one bar per client; log scale: curl per request is 100x+) with gnuplot.
-- bench/run.sh calls it after writing results.md. Without gnuplot it says
-- so and exits 0: the chart is optional (Debian: gnuplot-nox).
local md_path, svg_path = arg[1], arg[2]
if not md_path or not svg_path then
    io.stderr:write("usage: luajit bench/chart.lua bench/results.md bench/results.svg\n")
    os.exit(2)
end

local function have(cmd)
    return os.execute("command -v " .. cmd .. " >/dev/null 2>&1") == 0
        or os.execute("command -v " .. cmd .. " >/dev/null 2>&1") == true
end

-- Clients are one series each. LIMIT is the dashed line at 1x; ljhttp's
-- client and its batch share a series (W1-W3 run c:get, W4-W5 the batch).
local SERIES = {
    { match = "^STRINGS", label = "STRINGS (ffi.string only)", color = "#b0b0b0" },
    { match = "^LIMIT %+ copy", label = "LIMIT + copy per body (W2, W3)", color = "#404040" },
    { match = "^LIMIT to a file", label = "LIMIT to a file (W2, W3)", color = "#808080" },
    { match = "^ljhttp c:get$", label = "ljhttp (client; request_batch in W4, W5)", color = "#1b9e77" },
    { match = "^ljhttp http%.request_batch", same_as = 4 },
    { match = "^ljhttp http%.get", label = "ljhttp http.get (W1-W3)", color = "#66c2a5" },
    { match = "^ljhttp c:get{output}", label = "ljhttp output = file (W2, W3)", color = "#a6761d" },
    { match = "^ljhttp s:read_ref", label = "ljhttp stream, read_ref in place (W2, W3)", color = "#e7298a" },
    { match = "^ljhttp s:read%(%)", label = "ljhttp stream, chunks as strings (W2, W3)", color = "#f4a6c8" },
    { match = "^lua%-curl", label = "lua-curl (easy interface: W1-W3)", color = "#7570b3" },
    { match = "^LuaSocket", label = "LuaSocket", color = "#e6ab02" },
    { match = "^curl per request", label = "curl per request", color = "#d95f02" },
}

local function series_of(client)
    for i, s in ipairs(SERIES) do
        if client:match(s.match) then
            return s.same_as or i
        end
    end
    return nil
end

local function cells(line)
    local out = {}
    for cell in line:gsub("^%s*|", ""):gsub("|%s*$", ""):gmatch("([^|]*)") do
        out[#out + 1] = cell:match("^%s*(.-)%s*$")
    end
    return out
end

-- workloads: { id, title, values = { [series] = number } }
local workloads = {}
do
    local f = io.open(md_path, "rb")
    if not f then
        io.stderr:write("chart: cannot read " .. md_path .. "\n")
        os.exit(1)
    end
    local cur, col
    for line in f:lines() do
        local id, title = line:match("^## (W%d+): (.*)$")
        if id then
            cur = { id = id, title = title, values = {} }
            workloads[#workloads + 1] = cur
            col = nil
        elseif line:match("^## ") then
            cur = nil
        elseif cur and line:match("^|") then
            local c = cells(line)
            if c[1] == "client" then
                for i, name in ipairs(c) do
                    if name == "x LIMIT" then
                        col = i
                    end
                end
            elseif col and c[col] then
                local v = tonumber((c[col]:match("^([%d.]+)x$")))
                local s = series_of(c[1])
                if v and s then
                    cur.values[s] = v
                end
            end
        end
    end
    f:close()
end
if #workloads == 0 then
    io.stderr:write("chart: no workload tables (## Wn: ...) in " .. md_path .. "\n")
    os.exit(1)
end

if not have("gnuplot") then
    io.stderr:write("chart: gnuplot not found, skipping " .. svg_path
        .. " (Debian: apt-get install gnuplot-nox)\n")
    os.exit(0)
end

-- Series that appear at all, in SERIES order.
local used, n_used = {}, 0
for i, s in ipairs(SERIES) do
    if not s.same_as then
        for _, w in ipairs(workloads) do
            if w.values[i] then
                n_used = n_used + 1
                used[#used + 1] = i
                break
            end
        end
    end
end

local function wrap(text, width)
    local lines, line = {}, ""
    for word in text:gmatch("%S+") do
        if line ~= "" and #line + 1 + #word > width then
            lines[#lines + 1] = line
            line = word
        else
            line = line == "" and word or (line .. " " .. word)
        end
    end
    lines[#lines + 1] = line
    return table.concat(lines, "\\n")
end

local gp = {}
local function add(fmt, ...)
    gp[#gp + 1] = select("#", ...) > 0 and fmt:format(...) or fmt
end

local group_width = 0.84
local bar = group_width / n_used
local vmin, vmax = 1, 1
add("$bars << EOD")
for k, i in ipairs(used) do
    for wi, w in ipairs(workloads) do
        local v = w.values[i]
        if v then
            local x = (wi - 1) + (k - (n_used + 1) / 2) * bar
            add("%d %.4f %.4f \"%s\"", k, x, v, v >= 10 and ("%.0fx"):format(v) or ("%.2fx"):format(v))
            vmin, vmax = math.min(vmin, v), math.max(vmax, v)
        end
    end
end
add("EOD")

add("set terminal svg size 1200,620 dynamic noenhanced font 'sans,12' background '#ffffff'")
add("set output '%s'", svg_path:gsub("'", "''"))
add("set title \"Wall time per request relative to LIMIT (C libcurl = 1x): lower is faster\"")
add("set ylabel 'x LIMIT (log scale)'")
add("set logscale y")
add("set yrange [%g:%g]", 10 ^ math.floor(math.log10(vmin * 0.8)), 10 ^ math.ceil(math.log10(vmax * 2)))
add("set xrange [-0.5:%g]", #workloads - 0.5)
add("set format y '%gx'")
add("set grid ytics mytics lc rgb '#dddddd'")
add("set border 3")
add("set tics nomirror")
add("set key outside right top vertical Left reverse noopaque nobox")
add("set style fill solid 0.9 noborder")
add("set boxwidth %g absolute", bar * 0.92)
add("set arrow from graph 0, first 1 to graph 1, first 1 nohead dt 2 lc rgb '#444444'")
local tics = {}
for wi, w in ipairs(workloads) do
    tics[#tics + 1] = ("\"%s\" %d"):format(wrap(w.id .. ": " .. w.title, 24), wi - 1)
end
add("set xtics (%s) font ',10'", table.concat(tics, ", "))
add("set bmargin 5")
local plots = {}
for k, i in ipairs(used) do
    local s = SERIES[i]
    plots[#plots + 1] = ("$bars using ($1 == %d ? $2 : NaN):3 with boxes lc rgb '%s' title \"%s\""):format(
        k, s.color, s.label)
end
plots[#plots + 1] = "NaN with lines dt 2 lc rgb '#444444' title 'LIMIT (C libcurl) = 1x'"
plots[#plots + 1] = "$bars using 2:3:4 with labels rotate by 90 left offset 0, 0.4 font ',9' notitle"
add("plot " .. table.concat(plots, ", \\\n     "))

local tmp = os.tmpname()
local f = assert(io.open(tmp, "wb"))
f:write(table.concat(gp, "\n"), "\n")
f:close()
local ok = os.execute("gnuplot " .. ("'%s'"):format(tmp:gsub("'", "'\\''")))
os.remove(tmp)
if not (ok == 0 or ok == true) then
    io.stderr:write("chart: gnuplot failed\n")
    os.exit(1)
end
io.stderr:write("chart: wrote " .. svg_path .. "\n")
