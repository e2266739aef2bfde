-- Expect: 100-continue for body_file and multipart uploads from 1 MiB, so
-- a server that refuses (401, 413) says so before the body is sent.
local T = require("support")
local http = require("ljhttp")

local function file_of(n)
    local path = T.tmpfile("upload-" .. n)
    T.write_file(path, ("x"):rep(n))
    return path
end

local MIB = 1024 * 1024

T.test("body_file and multipart from 1 MiB send Expect: 100-continue", function()
    local big = file_of(2 * MIB)
    local e = T.echo(T.res(200, http.post(T.url("/echo"), { body_file = big })).body)
    T.eq(T.echo_header(e, "Expect"), "100-continue")
    T.eq(e.body_length, 2 * MIB)
    e = T.echo(T.res(200, http.post(T.url("/echo"), {
        multipart = { { name = "f", file = big }, { name = "d", data = "x" } },
    })).body)
    T.eq(T.echo_header(e, "Expect"), "100-continue")
    T.ge(e.body_length, 2 * MIB)
    -- async takes the same path
    local r = T.res(200, http.post_async(T.url("/echo"), { body_file = big }):wait(20))
    T.eq(T.echo_header(T.echo(r.body), "Expect"), "100-continue")
end)

T.test("small uploads, plain bodies and expect_continue = false send no Expect", function()
    local small = file_of(MIB - 1)
    local e = T.echo(T.res(200, http.post(T.url("/echo"), { body_file = small })).body)
    T.is_nil(T.echo_header(e, "Expect"))
    e = T.echo(T.res(200, http.post(T.url("/echo"), { body = ("y"):rep(2 * MIB) })).body)
    T.is_nil(T.echo_header(e, "Expect"))
    local big = file_of(2 * MIB)
    e = T.echo(T.res(200, http.post(T.url("/echo"), { body_file = big, expect_continue = false })).body)
    T.is_nil(T.echo_header(e, "Expect"))
    T.eq(e.body_length, 2 * MIB)
end)

T.test("an early refusal (413) comes back as the response; the body is not sent", function()
    local big = file_of(8 * MIB)
    local r = T.res(413, http.put(T.url("/refuse-upload"), { body_file = big }))
    T.eq(r.body, "body-length -1") -- the server never read the body
    r = T.res(413, http.post(T.url("/refuse-upload"), { multipart = { { name = "f", file = big } } }))
    T.eq(r.body, "body-length -1")
    -- without Expect the whole body goes first
    r = T.res(413, http.put(T.url("/refuse-upload"), { body_file = big, expect_continue = false }))
    T.eq(r.body, "body-length " .. 8 * MIB)
end)
