-- protect: one helper turns a raise into nil, message, code everywhere.
local T = require("support")
local http = require("ljhttp")
local protect = require("ljhttp.protect")

T.test("protect.call passes results through and turns a raise into the triple", function()
    T.same({ protect.call(protect.OPTIONS, function(a, b)
        return a + b, nil, "x"
    end, 1, 2) }, { 3, nil, "x" })
    local function triple(what)
        local r = T.call(protect.call, what, error, "boom", 0)
        return { r[1], r[2], r[3] }
    end
    T.same(triple(protect.OPTIONS), { nil, "invalid options: boom", "invalid_argument" })
    T.same(triple(protect.BATCH), { nil, "invalid batch: boom", "invalid_argument" })
    T.same(triple(protect.RESPONSE), { nil, "making the response: boom", "internal" })
end)

T.test("protect: LuaJIT's out-of-memory error is out_of_memory in every context", function()
    for _, what in ipairs({ protect.OPTIONS, protect.BATCH, protect.RESPONSE, protect.CHUNK }) do
        local r = T.call(protect.call, what, error, "not enough memory", 0)
        T.is_nil(r[1])
        T.eq(r[3], "out_of_memory")
        T.eq(r[2], "out of memory (" .. what.oom .. ")")
    end
end)

T.test("protect.ok marks success even when the first result is nil", function()
    T.same({ protect.ok(protect.OPTIONS, function()
        return nil, 2
    end) }, { true, nil, 2 })
    T.same({ protect.ok(protect.OPTIONS, error, "bad", 0) }, { nil, "invalid options: bad", "invalid_argument" })
end)

T.test("every entry point reports options whose metamethods raise the same way", function()
    local opts = setmetatable({}, { __index = function()
        error("no such option here", 0)
    end })
    local c = T.ok(http.new({}))
    local function same_failure(label, r, msg, code)
        T.is_nil(r, label)
        T.eq(code, "invalid_argument", label)
        T.eq(msg, "invalid options: no such option here", label)
    end
    same_failure("new", http.new(opts))
    same_failure("request", c:request("GET", T.url("/echo"), opts))
    same_failure("stream", c:stream("GET", T.url("/echo"), opts))
    local h = c:request_async("GET", T.url("/echo"), opts, function() end)
    same_failure("request_async", h:wait(10))
    local raising_item = setmetatable({}, { __index = function()
        error("no batch", 0)
    end })
    local r, bmsg, bcode = c:request_batch(setmetatable({ raising_item }, {}))
    T.is_nil(r)
    T.eq(bcode, "invalid_argument")
    T.eq(bmsg, "invalid batch: no batch")
    c:close()
end)

-- http.new with a library whose ljh_client_new_to raises when looked up:
-- raise(real) gives what indexing it raises. The rest is the real library.
local function new_with(raise, opts)
    local loader = require("ljhttp.loader")
    local real_lib = loader.lib
    local real = assert(real_lib())
    loader.lib = function()
        return setmetatable({}, { __index = function(_, name)
            if name == "ljh_client_new_to" then
                raise(real)
            end
            return real[name]
        end })
    end
    local r = T.call(http.new, opts)
    loader.lib = real_lib
    require("ljhttp.decode").init(real) -- http.new handed it the stub
    return r
end

T.test("http.new: a raise that is not the options' nor memory is internal and says what failed", function()
    -- a library built from an earlier ABI 7 commit, without ljh_client_new_to:
    -- the FFI's own error for a declared symbol the library lacks
    pcall(require("ffi").cdef, "int ljh_test_symbol_no_library_has(void);")
    local r = new_with(function(real)
        return real.ljh_test_symbol_no_library_has
    end, {})
    T.is_nil(r[1])
    T.eq(r[3], "internal", r[2])
    T.eq(r[2]:sub(1, #"creating the client: "), "creating the client: ")
    T.ok(r[2]:find("ljh_test_symbol_no_library_has", 1, true), r[2])
    r = new_with(function()
        error("a bug", 0)
    end, {})
    T.same({ r[1], r[2], r[3] }, { nil, "creating the client: a bug", "internal" })
end)

T.test("http.new: options whose metatables raise are invalid_argument, out of memory is out_of_memory", function()
    local opts = setmetatable({}, { __index = function()
        error("no such option here", 0)
    end })
    T.same({ http.new(opts) }, { nil, "invalid options: no such option here", "invalid_argument" })
    -- (also when the raise is after the library is loaded: max_connections)
    local late = setmetatable({}, { __index = function(_, k)
        if k == "max_connections" then
            error("late", 0)
        end
    end })
    T.same({ http.new(late) }, { nil, "invalid options: late", "invalid_argument" })
    local oom_opts = setmetatable({}, { __index = function()
        error("not enough memory", 0)
    end })
    T.same({ http.new(oom_opts) }, { nil, "out of memory (creating the client)", "out_of_memory" })
    local r = new_with(function()
        error("not enough memory", 0)
    end, {})
    T.same({ r[1], r[2], r[3] }, { nil, "out of memory (creating the client)", "out_of_memory" })
    local c = T.ok(http.new({})) -- the real library again
    c:close()
end)

T.test("the failure texts are written once, in protect.lua", function()
    local p = io.popen("grep -rln 'invalid options: \\|not enough memory' " .. T.shq(T.root .. "/lua"))
    local files = p:read("*a")
    p:close()
    T.eq(files, T.root .. "/lua/ljhttp/protect.lua\n")
end)

-- http.new loads its host's module (hosts/luajit.lua here) on first use:
-- out of memory there was reported as an unknown host, and the loading
-- mark it left made every later http.new fail the same way.
T.test("a host module that ran out of memory loading: out_of_memory, then the next http.new works", function()
    local name = "ljhttp.hosts.luajit"
    local saved = package.loaded[name]
    package.loaded[name] = nil
    package.preload[name] = function()
        error("not enough memory", 0)
    end
    local ok, c, msg, code = pcall(http.new, {})
    package.preload[name] = nil
    local c2, msg2 = nil, nil
    if ok and c == nil then
        c2, msg2 = http.new({})
    end
    package.loaded[name] = package.loaded[name] or saved
    T.ok(ok, "http.new raised: " .. tostring(c))
    T.is_nil(c, "the first http.new")
    T.eq(code, "out_of_memory", tostring(msg))
    T.ok(c2, "the next http.new: " .. tostring(msg2))
    local r = T.ok(c2:get(T.url("/echo")))
    T.eq(r.status_code, 200)
    c2:close()
end)

-- A module loaded on first use whose loading raised (out of memory) left
-- LuaJIT's loading mark behind, and every later use raised "loop or
-- previous error loading module", also for the modules it was loading.
T.test("a module that failed to load on first use (out of memory) loads on the next use", function()
    local names = { "ljhttp.sse_stream", "ljhttp.sse" }
    local saved = {}
    for _, name in ipairs(names) do
        saved[name] = package.loaded[name]
        package.loaded[name] = nil
    end
    -- sse_stream loads sse, which runs out of memory
    package.preload["ljhttp.sse"] = function()
        error("not enough memory", 0)
    end
    local c = T.ok(http.new({}))
    local url = T.url("/sse?case=count&n=2&interval_ms=0")
    local ok, r, msg, code = pcall(c.sse, c, url)
    package.preload["ljhttp.sse"] = nil
    local events, emsg = nil, nil
    if ok and r == nil then
        T.eq(code, "out_of_memory", "the first use: " .. tostring(msg))
        events, emsg = c:sse(url)
    end
    for _, name in ipairs(names) do -- the modules the rest of the suite uses
        package.loaded[name] = saved[name]
    end
    T.ok(ok, "the first use raised: " .. tostring(r))
    T.is_nil(r, "the first use")
    T.ok(events, "the next use: " .. tostring(emsg))
    local ev = T.ok(events:next())
    T.eq(ev.data, "event 1")
    events:close()
    c:close()
end)
