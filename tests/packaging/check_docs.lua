-- Documentation and annotation consistency, run by tests/packaging/run.sh
-- as `luajit tests/packaging/check_docs.lua ROOT`:
--   * every function, option, response field and error code in README.md
--     has its tag in doc/ljhttp.txt;
--   * every option the code reads (options.lua, encode.lua) is in README or
--     the help page, is tagged, and is a field of ljhttp.Options
--     (lua/ljhttp/types.lua); client options, response and info fields too;
--   * every public function of lua/ljhttp.lua, lua/ljhttp/client.lua and
--     lua/ljhttp/client_async.lua has ---@param for each parameter and a
--     ---@return;
--   * every ljhttp.* type named in an annotation is defined.
-- Prints "ok - ..." / "not ok - ..." lines (run.sh counts them).
local ROOT = assert(arg[1], "usage: check_docs.lua ROOT")

local function read(rel)
    local f = assert(io.open(ROOT .. "/" .. rel, "rb"))
    local s = f:read("*a")
    f:close()
    return s
end

local function report(name, missing)
    if #missing == 0 then
        print("ok - " .. name)
    else
        print("not ok - " .. name .. ": " .. table.concat(missing, ", "))
    end
end

local readme = read("README.md")
local help = read("doc/ljhttp.txt")
local types = read("lua/ljhttp/types.lua")
local encode = read("lua/ljhttp/encode.lua")

-- ---- tags defined in the help page
local tags = {}
for t in help:gmatch("%*([^%s*|]+)%*") do
    tags[t] = true
end

-- ---- README: the first column of the table that follows a heading
local function section(heading)
    local s = readme:find("\n" .. heading .. "\n", 1, true)
    assert(s, "README.md has no section " .. heading)
    local rest = readme:sub(s + #heading + 2)
    local e = rest:find("\n#", 1, true)
    return e and rest:sub(1, e) or rest
end

local function first_column_names(text)
    local names = {}
    local in_table = false
    for line in (text .. "\n"):gmatch("([^\n]*)\n") do
        if line:match("^|") then
            if in_table then
                local cell = line:match("^|([^|]*)|")
                if cell and not cell:match("^%s*%-%-%-") then
                    for name in cell:gmatch("`([^`]+)`") do
                        names[#names + 1] = name
                    end
                    if not cell:find("`") then
                        names[#names + 1] = cell:match("^%s*(.-)%s*$")
                    end
                end
            end
            in_table = true
        else
            in_table = false
        end
    end
    assert(#names > 0, "no table rows found")
    return names
end

-- ---- 1. README -> help tags
do
    local missing = {}
    for _, cell in ipairs(first_column_names(section("### Module functions"))) do
        local name = cell:match("^http%.([%w_.]+)")
        if name then
            -- "http.post" in a list of functions: a value (http.version)
            -- or a function; one of the two tags must exist
            local tag = "ljhttp." .. name .. "()"
            if not tags[tag] and not (not cell:find("(", 1, true) and tags["ljhttp." .. name]) then
                missing[#missing + 1] = tag
            end
        end
    end
    -- the shorthand row "http.get(url [, options])`, `http.post`, ..." and
    -- the "… head_async" elision: every method and its _async form
    for _, m in ipairs({ "get", "post", "put", "patch", "delete", "head" }) do
        for _, tag in ipairs({ "ljhttp." .. m .. "()", "ljhttp." .. m .. "_async()",
            "ljhttp-client:" .. m .. "()", "ljhttp-client:" .. m .. "_async()" }) do
            if not tags[tag] then
                missing[#missing + 1] = tag
            end
        end
    end
    report("README module functions have help tags", missing)
end

local readme_options = {}
do
    local missing = {}
    for _, name in ipairs(first_column_names(section("### Request options"))) do
        readme_options[name] = true
        if not tags["ljhttp-option-" .. name] then
            missing[#missing + 1] = "ljhttp-option-" .. name
        end
    end
    report("README request options have help tags", missing)
end

local readme_client_options = {}
do
    local missing = {}
    for _, name in ipairs(first_column_names(section("### Clients"))) do
        readme_client_options[name] = true
        if not tags["ljhttp-client-option-" .. name] then
            missing[#missing + 1] = "ljhttp-client-option-" .. name
        end
    end
    report("README client options have help tags", missing)
end

local readme_fields = {}
do
    local missing = {}
    for _, name in ipairs(first_column_names(section("### Response"))) do
        readme_fields[name] = true
        if not tags["ljhttp-response." .. name] then
            missing[#missing + 1] = "ljhttp-response." .. name
        end
    end
    report("README response fields have help tags", missing)
end

do
    local missing = {}
    for _, name in ipairs(first_column_names(section("### Error codes"))) do
        if not tags["ljhttp-error-" .. name] then
            missing[#missing + 1] = "ljhttp-error-" .. name
        end
    end
    report("README error codes have help tags", missing)
end

-- ---- 2. code -> docs and types
local function class_fields(class)
    local s = types:find("%-%-%-@class " .. class .. "[:\n ]")
    assert(s, "types.lua has no class " .. class)
    local fields = {}
    local block = types:sub(s):match("^[^\n]*\n(.-)\n[^-]") or ""
    for name in block:gmatch("%-%-%-@field ([%w_%[%]]+)") do
        fields[name:gsub("%?$", "")] = true
    end
    return fields
end

local code_options = {}
for name in encode:gmatch('pick%(o, d, "([%w_]+)"%)') do
    code_options[name] = true
end
-- the table of option specs every request path is checked against
local specs = read("lua/ljhttp/options.lua"):match("local REQUEST = (%b{})")
assert(specs, "options.lua: REQUEST not found")
for name in specs:gmatch('name = "([%w_]+)"') do
    code_options[name] = true
end

do
    local opts = class_fields("ljhttp%.Options")
    local no_tag, no_type = {}, {}
    for name in pairs(code_options) do
        if not tags["ljhttp-option-" .. name] then
            no_tag[#no_tag + 1] = name
        end
        if not opts[name] then
            no_type[#no_type + 1] = name
        end
    end
    for name in pairs(readme_options) do
        if not opts[name] then
            no_type[#no_type + 1] = name
        end
    end
    table.sort(no_tag)
    table.sort(no_type)
    report("every option the code reads has a help tag", no_tag)
    report("every request option is a field of ljhttp.Options", no_type)
end

do
    local copts = class_fields("ljhttp%.ClientOptions")
    local missing = {}
    for name in pairs(readme_client_options) do
        if not copts[name] then
            missing[#missing + 1] = name
        end
    end
    local client = read("lua/ljhttp/client.lua")
    local only = client:match("local CLIENT_ONLY = (%b{})")
    assert(only, "client.lua: CLIENT_ONLY not found")
    for name in only:gmatch("([%w_]+) = true") do
        if not copts[name] then
            missing[#missing + 1] = name
        end
        if not tags["ljhttp-client-option-" .. name] then
            missing[#missing + 1] = "tag ljhttp-client-option-" .. name
        end
    end
    report("client options are fields of ljhttp.ClientOptions and tagged", missing)
end

do
    local fields = class_fields("ljhttp%.Response")
    local missing = {}
    local decode = read("lua/ljhttp/decode.lua")
    local built = decode:match("local res = setmetatable%((%b{})")
    assert(built, "decode.lua: the response constructor was not found")
    for name in built:gmatch("\n        ([%w_]+) = ") do
        if not fields[name] then
            missing[#missing + 1] = name
        end
        if not tags["ljhttp-response." .. name] then
            missing[#missing + 1] = "tag ljhttp-response." .. name
        end
    end
    for name in pairs(readme_fields) do
        if not fields[name] then
            missing[#missing + 1] = name
        end
    end
    report("response fields are fields of ljhttp.Response and tagged", missing)
end

do
    local fields = class_fields("ljhttp%.Info")
    local missing = {}
    local src = read("lua/ljhttp/api.lua")
    local body = src:match("function M%.info%(%)(.-)\nend\n")
    local ret = body and body:match("return (%b{})\nend$") or body and body:match(".*return (%b{})")
    assert(ret, "lua/ljhttp/api.lua: info()'s table was not found")
    for name in ret:gmatch("\n%s+([%w_]+) = ") do
        if not fields[name] then
            missing[#missing + 1] = name
        end
        if not help:find("`" .. name .. "`", 1, true) then
            missing[#missing + 1] = "help: " .. name
        end
        if not readme:find("`" .. name .. "`", 1, true) then
            missing[#missing + 1] = "README: " .. name
        end
    end
    report("info() fields are in ljhttp.Info, the help page and README", missing)
end

-- ---- 3. annotations on public functions
local function check_annotations(rel)
    local src = read(rel)
    local missing = {}
    local lines = {}
    for line in (src .. "\n"):gmatch("([^\n]*)\n") do
        lines[#lines + 1] = line
    end
    local n = 0
    for i, line in ipairs(lines) do
        local name, params = line:match("^function ([%w_]+[.:][%w_]+)%(([^)]*)%)")
        local short = name and name:match("[.:]([%w_]+)$")
        if name and not short:match("^_") and name:match("^[MC]") then
            n = n + 1
            local params_doc, has_return = {}, false
            local j = i - 1
            while j >= 1 and lines[j]:match("^%-%-") do
                local p = lines[j]:match("^%-%-%-@param ([%w_]+)")
                if p then
                    params_doc[p] = true
                end
                if lines[j]:match("^%-%-%-@return") then
                    has_return = true
                end
                j = j - 1
            end
            for p in params:gmatch("[%w_]+") do
                if not params_doc[p] then
                    missing[#missing + 1] = name .. " @param " .. p
                end
            end
            if not has_return then
                missing[#missing + 1] = name .. " @return"
            end
        end
    end
    report(("%s: ---@param/---@return on all %d public functions"):format(rel, n), missing)
end
check_annotations("lua/ljhttp.lua")
check_annotations("lua/ljhttp/api.lua")
check_annotations("lua/ljhttp/client.lua")
check_annotations("lua/ljhttp/client_async.lua")

do
    local defined = {}
    for _, rel in ipairs({ "lua/ljhttp/types.lua", "lua/ljhttp.lua", "lua/ljhttp/api.lua",
        "lua/ljhttp/client.lua", "lua/ljhttp/client_async.lua" }) do
        local src = read(rel)
        for name in src:gmatch("%-%-%-@class ([%w_.]+)") do
            defined[name] = true
        end
        for name in src:gmatch("%-%-%-@alias ([%w_.]+)") do
            defined[name] = true
        end
    end
    local missing, seen = {}, {}
    for _, rel in ipairs({ "lua/ljhttp/types.lua", "lua/ljhttp.lua", "lua/ljhttp/api.lua",
        "lua/ljhttp/client.lua", "lua/ljhttp/client_async.lua" }) do
        for line in read(rel):gmatch("[^\n]+") do
            if line:match("^%-%-%-@") then
                for name in line:gmatch("%f[%w_](ljhttp%.[%a_][%w_]*)") do
                    local typename = name:match("^ljhttp%.%u") or name == "ljhttp.json"
                    if typename and not defined[name] and not seen[name] then
                        seen[name] = true
                        missing[#missing + 1] = name .. " (" .. rel .. ")"
                    end
                end
            end
        end
    end
    report("every ljhttp.* type in the annotations is defined", missing)
end

do
    local chunk, err = loadfile(ROOT .. "/lua/ljhttp/types.lua")
    report("lua/ljhttp/types.lua is valid Lua", chunk and {} or { tostring(err) })
end
