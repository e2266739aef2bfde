-- The Lua programs of the start-up row (bench/startup.lua): a whole
-- process that loads one client library and makes one GET, as a script
-- that fetches one URL does.
--   luajit bench/oneshot.lua ljhttp|lua-curl|luasocket URL
-- Exit 0: status 200 with a body; 1: a failure; 3: the library is not
-- installed (startup.lua leaves that row out).
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
else
  fail("usage: oneshot.lua ljhttp|lua-curl|luasocket URL")
end
