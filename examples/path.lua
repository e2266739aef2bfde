-- Lets the examples run from a checkout without installing anything.
local dir = (arg and arg[0] or ""):match("^(.*)/examples/[^/]*$") or "."
package.path = dir .. "/lua/?.lua;" .. dir .. "/lua/?/init.lua;" .. package.path
