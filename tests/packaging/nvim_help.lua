-- Run by tests/packaging/run.sh inside `nvim --headless --clean -u NONE`
-- with the checkout on the runtimepath: regenerates the help tags in
-- LJH_TMP/doc (run.sh compares them with doc/tags) and opens the help
-- page at every tag of doc/tags. Prints "ok - ..." / "not ok - ..." lines.
local ROOT = assert(os.getenv("LJH_ROOT"))
local TMP = assert(os.getenv("LJH_TMP"))

local function say(s)
    io.stdout:write(s, "\n")
end
local function check(name, cond, detail)
    say((cond and "ok - " or "not ok - ") .. name .. ((not cond and detail) and (": " .. detail) or ""))
end

local ok, err = pcall(vim.cmd, "helptags " .. vim.fn.fnameescape(TMP .. "/doc"))
check(":helptags on doc/ljhttp.txt (no duplicate tags)", ok, tostring(err))

-- opens :help TAG; returns true, or false and why
local function open(tag)
    vim.v.errmsg = ""
    local hok, herr = pcall(vim.cmd, "help " .. tag)
    if not hok then
        return false, tostring(herr)
    end
    local file = vim.fn.expand("%:t")
    if file ~= "ljhttp.txt" then
        return false, "opened " .. file
    end
    local line = vim.fn.getline(".")
    if not line:find("*" .. tag .. "*", 1, true) then
        return false, "cursor on " .. line
    end
    return true
end

for _, tag in ipairs({ "ljhttp", "ljhttp.get()", "ljhttp-option-timeout", "ljhttp-response.body",
    "ljhttp-client:request_async()", "ljhttp.info()" }) do
    local o, why = open(tag)
    check(":help " .. tag, o, why)
end

local n, bad = 0, {}
for line in io.lines(ROOT .. "/doc/tags") do
    local tag = line:match("^([^\t]+)\t")
    n = n + 1
    local o, why = open(tag)
    if not o then
        bad[#bad + 1] = tag .. " (" .. tostring(why) .. ")"
    end
end
check(("every tag of doc/tags opens its place in ljhttp.txt (%d tags)"):format(n), n > 100 and #bad == 0,
    table.concat(bad, ", "))
vim.cmd("qa!")
