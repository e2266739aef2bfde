-- Neovim APIs deprecated in 0.10-0.12 (`:checkhealth vim.deprecated`
-- lists their callers) may appear only as the fallback of the new one:
-- `vim.uv or vim.loop`, `h.ok or h.report_ok`. Scans the Lua that runs
-- in Neovim: lua/, examples/, tests/nvim, tests/packaging, bench.
-- Usage: luajit nvim_deprecated.lua ROOT; prints ok / not ok lines.
local root = assert(arg[1], "usage: nvim_deprecated.lua ROOT")

-- pattern, what to use instead; allowed(line) tells a guarded fallback
local RULES = {
    { "vim%.loop", "vim.uv (0.10), with vim.loop as fallback", function(l)
        return l:find("vim%.uv.-vim%.loop") -- vim.uv first, vim.loop the fallback
    end },
    { "report_%a+", "vim.health.start/ok/info/warn/error (0.9)", function(l)
        return l:find("h%.%a+ or h%.report_%a+") or l:find("legacy%.report_start") or l:find("rec%(\"legacy\"%)")
    end },
    { "nvim_[bw][ui][fn]_[gs]et_option", "vim.bo / vim.wo / nvim_set_option_value (0.10)" },
    { "nvim_[gs]et_option%(", "nvim_get/set_option_value (0.10)" },
    { "vim%.tbl_islist", "vim.islist (0.10)" },
    { "vim%.tbl_flatten", "vim.iter(t):flatten() (0.10)" },
    { "vim%.tbl_add_reverse_lookup", "a loop (0.10)" },
    { "nvim_err_write", "nvim_echo with err = true (0.11)" },
    { "vim%.highlight%.", "vim.hl (0.11)" },
    { "nvim_exec%(", "nvim_exec2 (0.10)" },
    { "get_active_clients", "vim.lsp.get_clients (0.10)" },
    { "vim%.validate%s*%(?%s*{", "vim.validate(name, value, type) (0.11)" },
    { "vim%.str_utfindex", "vim.str_utfindex with an encoding (0.11)" },
    { "nvim_call_atomic", "separate calls (0.10)" },
}

local files = {}
local p = io.popen("cd '" .. root .. "' && find lua examples tests/nvim tests/packaging bench -name '*.lua' | sort")
for f in p:lines() do
    if f ~= "tests/packaging/nvim_deprecated.lua" then
        files[#files + 1] = f
    end
end
p:close()

local bad = {}
for _, f in ipairs(files) do
    local n = 0
    for line in io.lines(root .. "/" .. f) do
        n = n + 1
        line = line:gsub("^%s*%-%-.*$", "") -- comments may name old APIs
        for _, r in ipairs(RULES) do
            if line:find(r[1]) and not (r[3] and r[3](line)) then
                bad[#bad + 1] = string.format("%s:%d: %s (use %s)", f, n, line:match("^%s*(.-)%s*$"), r[2])
            end
        end
    end
end
local ok = #bad == 0 and #files > 10
print((ok and "ok - " or "not ok - ") .. "no Neovim API deprecated in 0.10-0.12 without its successor first ("
    .. #files .. " Lua files)" .. (ok and "" or (":\n  " .. table.concat(bad, "\n  "))))
