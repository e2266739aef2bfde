-- ljhttp.info(): versions, and what the libcurl underneath supports.
local T = require("support")
local http = require("ljhttp")
local ffi = require("ffi")

T.test("info() reports libcurl's TLS backend and features", function()
    local info = T.ok(http.info())
    T.eq(info.version, http.version)
    T.eq(info.library_version, http.version)
    T.is_type(info.features, "table")
    T.is_type(info.curl_features, "string")
    -- the words and the set agree
    local n = 0
    for w in info.curl_features:gmatch("%S+") do
        if not w:match("^tls=") then
            T.eq(info.features[w], true, w)
            n = n + 1
        end
    end
    local m = 0
    for _ in pairs(info.features) do
        m = m + 1
    end
    T.eq(m, n, "one set entry per word")
    -- this project builds against a libcurl with TLS (README: requirements)
    T.is_type(info.tls_backend, "string")
    T.eq(info.features.ssl, true)
    T.match(info.curl_features, "^tls=")
end)

T.test("info() features match what the library says libcurl can do", function()
    local info = T.ok(http.info())
    local lib = require("ljhttp.loader").load()
    T.eq(ffi.string(lib.ljh_curl_features()), info.curl_features)
    -- the decompress option's encodings are the ones libcurl reports:
    -- each word is exactly true or absent, as `curl --version` (the same
    -- Debian libcurl) lists it
    local cli = T.capture("timeout 10 env -u LD_PRELOAD curl --version 2>/dev/null") or ""
    local listed = cli:match("\nFeatures:([^\n]*)")
    if not listed or not cli:find("libcurl/" .. info.curl_version .. " ", 1, true) then
        T.skip("no curl program on the same libcurl to compare with")
    end
    listed = " " .. listed:lower() .. " "
    for _, w in ipairs({ "http2", "libz", "brotli", "zstd", "unixsockets" }) do
        local want = listed:find(" " .. w .. " ", 1, true) and true or nil
        T.eq(info.features[w], want, w)
        T.eq((" " .. info.curl_features .. " "):find(" " .. w .. " ", 1, true) and true or nil, want, w .. " in curl_features")
    end
end)
