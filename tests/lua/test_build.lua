-- ljhttp.build() from plain LuaJIT: a blocking `make` in a directory,
-- here a temporary one with its own Makefile, so make really runs.
local T = require("support")
local http = require("ljhttp")

local function project(makefile)
    local dir = T.tmpdir()
    T.write_file(dir .. "/Makefile", makefile)
    return dir
end

T.test("build() runs make in the given directory and returns true and its output", function()
    local dir = project("all:\n\t@echo made-in $(CURDIR)\n\t@echo x > built.txt\n")
    local ok, out = http.build({ root = dir })
    T.eq(ok, true, out)
    T.contains(out, "made-in " .. dir)
    T.eq(T.read_file(dir .. "/built.txt"), "x\n", "the target's file was written")
end)

T.test("build() returns false and make's output when make fails", function()
    local dir = project("all:\n\t@echo about-to-fail\n\t@exit 3\n")
    local ok, out = http.build({ root = dir })
    T.eq(ok, false)
    T.contains(out, "about-to-fail")
    -- args reach make: another target succeeds
    T.write_file(dir .. "/Makefile", "all:\n\t@exit 3\nother:\n\t@echo the-other-target\n")
    ok, out = http.build({ root = dir, args = { "other" } })
    T.eq(ok, true, out)
    T.contains(out, "the-other-target")
end)

T.test("build() with no root runs make in this checkout (make -n: nothing built)", function()
    -- -w: make names its directory even when MAKEFLAGS has -s (make -s test)
    local ok, out = http.build({ args = { "-w", "-n", "all" } })
    T.eq(ok, true, out)
    T.contains(out, T.root, "make ran in the checkout")
end)

T.test("build() with a make that does not exist fails with a message, no raise", function()
    local ok, out = http.build({ root = T.tmpdir(), make = "/nonexistent/make" })
    T.eq(ok, false)
    T.is_type(out, "string")
end)
