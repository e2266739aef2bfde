-- response.links: the Link header (RFC 8288) parsed, URLs made absolute.
local T = require("support")
local http = require("ljhttp")

local function esc(s)
    return (s:gsub("[^%w]", function(c)
        return ("%%%02X"):format(c:byte())
    end))
end

-- /answer sends each h=Name:Value as a header, in order
local function answer(path, ...)
    local q = {}
    for i = 1, select("#", ...) do
        q[#q + 1] = "h=" .. esc("Link:" .. select(i, ...))
    end
    return T.url(path .. "?" .. table.concat(q, "&"))
end

T.test("links: rels, params, relative URLs and several Link headers", function()
    local url = answer("/answer",
        '</items?page=2>; rel="next"; title="Page 2", <https://api.example/items?page=9>; rel=last',
        '<../first?x=1,2>; rel="first START"; type="application/json"; title="a \\"q\\"; b, c"',
        '<//cdn.example/p>;rel=preload;as=script',
        '</other>; rel="next"')
    local r = T.res(200, http.get(url))
    local l = r.links
    local base = T.url("")
    T.eq(l.next.url, base .. "items?page=2") -- the first link of a rel wins
    T.eq(l.next.title, "Page 2")
    T.eq(l.next.rel, "next")
    T.eq(l.last.url, "https://api.example/items?page=9")
    T.eq(l.first.url, base .. "first?x=1,2")
    T.eq(l.start.url, l.first.url) -- several rels in one
    T.eq(l.first.type, "application/json")
    T.eq(l.first.title, 'a "q"; b, c')
    T.eq(l.preload.url, "http://cdn.example/p")
    T.eq(l.preload.as, "script")
end)

T.test("links: resolved against the final URL after redirects", function()
    local target = "/answer?h=" .. esc("Link:<page/2>; rel=next")
    local r = T.res(200, http.get(T.url("/redirect-to?url=" .. esc(target))))
    T.eq(r.links.next.url, T.url("/page/2"))
end)

T.test("links: an empty table without a Link header", function()
    local r = T.res(200, http.get(T.url("/echo")))
    T.same(r.links, {})
end)
