-- links: the Link header (RFC 8288) -> response.links.
--
--   links[rel] = { url = absolute URL, rel = rel, <param> = value, ... }
--
-- Every Link header and every comma-separated link in it counts; a rel
-- of several words ("next last") gives each word the link; rel words and
-- parameter names are lower-cased; quoted values are unquoted; the first
-- link of a rel wins, as does a parameter's first occurrence. The URL is
-- resolved against the response's final URL (RFC 3986, section 5.2).
local next = next
local find, sub, lower, gsub, match = string.find, string.sub, string.lower, string.gsub,
    string.match

local M = {}

-- RFC 3986 5.2.4: "." and ".." segments out of a path.
local function remove_dots(path)
    local out, n = {}, 0
    local absolute = sub(path, 1, 1) == "/"
    local segs = {}
    for seg in (path .. "/"):gmatch("([^/]*)/") do
        segs[#segs + 1] = seg
    end
    if absolute then
        table.remove(segs, 1)
    end
    local last = segs[#segs]
    local trailing = last == "." or last == ".."
    for i = 1, #segs do
        local seg = segs[i]
        if seg == ".." then
            if n > 0 then
                out[n] = nil
                n = n - 1
            end
        elseif seg ~= "." then
            n = n + 1
            out[n] = seg
        end
    end
    local s = table.concat(out, "/")
    if trailing and n > 0 then
        s = s .. "/"
    end
    return (absolute and "/" or "") .. s
end

-- ref resolved against base (an absolute http(s) URL).
local function resolve(base, ref)
    if find(ref, "^[%a][%w+.-]*:") then
        local scheme, rest = match(ref, "^([^:]*):(.*)$")
        local auth, path, tail = match(rest, "^(//[^/?#]*)([^?#]*)(.*)$")
        if auth then
            return scheme .. ":" .. auth .. remove_dots(path) .. tail
        end
        return ref
    end
    local scheme, auth, bpath, bquery = match(base, "^([^:]*:)(//[^/?#]*)([^?#]*)(%??[^#]*)")
    if not scheme then
        return ref
    end
    if sub(ref, 1, 2) == "//" then
        local a, p, t = match(ref, "^(//[^/?#]*)([^?#]*)(.*)$")
        return scheme .. a .. remove_dots(p) .. t
    end
    if ref == "" then
        return scheme .. auth .. bpath .. bquery
    end
    local c = sub(ref, 1, 1)
    if c == "#" then
        return scheme .. auth .. bpath .. bquery .. ref
    elseif c == "?" then
        return scheme .. auth .. bpath .. ref
    end
    local path, tail = match(ref, "^([^?#]*)(.*)$")
    if c ~= "/" then
        if bpath == "" then
            path = "/" .. path
        else
            path = gsub(bpath, "[^/]*$", "") .. path
        end
    end
    return scheme .. auth .. remove_dots(path) .. tail
end
M.resolve = resolve

-- One header value: calls add(target, params) for each link in it.
local function each_link(value, add)
    local pos, n = 1, #value
    while pos <= n do
        local lt = find(value, "<", pos, true)
        if not lt then
            return
        end
        local gt = find(value, ">", lt + 1, true)
        if not gt then
            return
        end
        local target = sub(value, lt + 1, gt - 1)
        local params = {}
        pos = gt + 1
        -- parameters up to the comma that ends this link
        while true do
            local s, e = find(value, "^[ \t]*;[ \t]*", pos)
            if not s then
                break
            end
            pos = e + 1
            local name
            s, e, name = find(value, "^([!#$%%&'*+.^_`|~%w-]+)[ \t]*", pos)
            if not s then
                break
            end
            pos = e + 1
            local v = ""
            if sub(value, pos, pos) == "=" then
                pos = find(value, "[^ \t]", pos + 1) or n + 1
                if sub(value, pos, pos) == '"' then
                    local buf, i = {}, pos + 1
                    while i <= n do
                        local ch = sub(value, i, i)
                        if ch == "\\" then
                            buf[#buf + 1] = sub(value, i + 1, i + 1)
                            i = i + 2
                        elseif ch == '"' then
                            i = i + 1
                            break
                        else
                            buf[#buf + 1] = ch
                            i = i + 1
                        end
                    end
                    v, pos = table.concat(buf), i
                else
                    local ts, te = find(value, "^[^;,%s]*", pos)
                    v, pos = sub(value, ts, te), te + 1
                end
            end
            name = lower(name)
            if params[name] == nil then
                params[name] = v
            end
        end
        add(target, params)
        local comma = find(value, ",", pos, true)
        if not comma then
            return
        end
        pos = comma + 1
    end
end

-- header_list ({name, value} pairs, canonical names) and the final URL
-- -> the links table (empty when there is no Link header).
function M.parse(list, base)
    local links = {}
    local function add(target, params)
        local rel = params.rel
        if not rel then
            return
        end
        local url = resolve(base, target)
        for word in rel:gmatch("%S+") do
            word = lower(word)
            if links[word] == nil then
                local l = { url = "", rel = "" } -- constants: see decode.lua's response
                l.url, l.rel = url, word
                for k, v in next, params do
                    if k ~= "rel" and k ~= "url" then
                        l[k] = v
                    end
                end
                links[word] = l
            end
        end
    end
    for i = 1, #list do
        local h = list[i]
        if h[1] == "Link" then
            each_link(h[2], add)
        end
    end
    return links
end

return M
