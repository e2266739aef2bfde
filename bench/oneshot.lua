-- The Lua programs of the start-up row (bench/startup.lua): a whole
-- process that loads one client library and makes one GET, as a script
-- that fetches one URL does.
--   luajit bench/oneshot.lua ljhttp|lua-curl|luasocket URL
--   luajit bench/oneshot.lua floor URL
-- "floor" is what any binding loaded by ffi.load pays before its own Lua
-- runs: LuaJIT starts, ffi.load opens build/libljhttp (and so libcurl and
-- its libraries), and one GET is made by libcurl's easy interface through
-- the FFI, with none of ljhttp's Lua. ljhttp's row over this one is the
-- start-up that is ljhttp's own.
-- Exit 0: status 200 with a body; 1: a failure; 3: the library is not
-- installed or built (startup.lua leaves that row out).
local which, url = arg[1], arg[2]
local root = arg[0]:gsub("[^/]*$", "") .. "../"

local function fail(msg)
  io.stderr:write("oneshot ", tostring(which), ": ", tostring(msg), "\n")
  os.exit(1)
end

if which == "ljhttp" then
  package.path = root .. "lua/?.lua;" .. root .. "lua/?/init.lua;" .. package.path
  local r, err = require("ljhttp").get(url)
  if not r or r.status_code ~= 200 or #r.body == 0 then fail(err or (r and r.status_code)) end
elseif which == "lua-curl" or which == "luasocket" then
  package.path = "/usr/share/lua/5.1/?.lua;" .. package.path
  package.cpath = "/usr/lib/x86_64-linux-gnu/lua/5.1/?.so;" .. package.cpath
  local ok, lib = pcall(require, which == "lua-curl" and "curl" or "socket.http")
  if not ok then os.exit(3) end
  if which == "lua-curl" then
    local got, status = 0, nil
    local h = lib.easy_init()
    h:setopt(lib.OPT_NOSIGNAL, 1)
    h:setopt(lib.OPT_URL, url)
    h:setopt(lib.OPT_WRITEFUNCTION, function(data, len) got = got + #data; return len end)
    h:setopt(lib.OPT_HEADERFUNCTION, function(line, len)
      status = status or tonumber(line:match("^HTTP/%S+ (%d%d%d)"))
      return len
    end)
    local rc, err = h:perform()
    if rc ~= 0 or status ~= 200 or got == 0 then fail(err or status) end
  else
    local body, code = lib.request(url)
    if code ~= 200 or not body or #body == 0 then fail(code) end
  end
elseif which == "floor" then
  local ffi = require("ffi")
  local ok, lib = pcall(ffi.load, root .. "build/" .. (ffi.os == "OSX" and "libljhttp.dylib" or "libljhttp.so"))
  if not ok then os.exit(3) end
  -- libcurl's own functions, found through libljhttp's handle (its
  -- dependency); the option and info numbers are curl.h's
  ffi.cdef [[
  typedef struct oneshot_FILE oneshot_FILE;
  oneshot_FILE *fopen(const char *path, const char *mode);
  int curl_global_init(long flags);
  void *curl_easy_init(void);
  int curl_easy_setopt(void *easy, int option, ...);
  int curl_easy_perform(void *easy);
  int curl_easy_getinfo(void *easy, int info, ...);
  void curl_easy_cleanup(void *easy);
  ]]
  local CURLOPT_WRITEDATA, CURLOPT_URL, CURLOPT_NOSIGNAL = 10001, 10002, 99
  local CURLINFO_RESPONSE_CODE, CURLINFO_SIZE_DOWNLOAD_T = 0x200002, 0x600008
  local sink = ffi.C.fopen("/dev/null", "wb")
  if lib.curl_global_init(3) ~= 0 or sink == nil then fail("curl_global_init or /dev/null") end
  local e = lib.curl_easy_init()
  if e == nil then fail("curl_easy_init") end
  lib.curl_easy_setopt(e, CURLOPT_URL, url)
  lib.curl_easy_setopt(e, CURLOPT_NOSIGNAL, ffi.cast("long", 1))
  lib.curl_easy_setopt(e, CURLOPT_WRITEDATA, sink) -- libcurl's default writer: fwrite
  local rc = lib.curl_easy_perform(e)
  local status, got = ffi.new("long[1]"), ffi.new("int64_t[1]")
  lib.curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, status)
  lib.curl_easy_getinfo(e, CURLINFO_SIZE_DOWNLOAD_T, got)
  lib.curl_easy_cleanup(e)
  if rc ~= 0 or status[0] ~= 200 or got[0] == 0 then fail("curl " .. rc .. ", status " .. tonumber(status[0])) end
else
  fail("usage: oneshot.lua ljhttp|lua-curl|luasocket|floor URL")
end
