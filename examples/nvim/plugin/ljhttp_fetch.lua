-- A small Neovim plugin built on ljhttp: `:LjhttpFetch <url>` opens a
-- scratch buffer and fills it with the response body when it arrives.
-- The editor never waits: the request runs on Neovim's event loop.
--
-- Try it from an ljhttp checkout (after `make`):
--   nvim --cmd "set rtp+=.,./examples/nvim" +"LjhttpFetch http://127.0.0.1:8080/"
-- As a real plugin, put examples/nvim on the runtimepath next to ljhttp.
if vim.g.loaded_ljhttp_fetch then
    return
end
vim.g.loaded_ljhttp_fetch = true

vim.api.nvim_create_user_command("LjhttpFetch", function(args)
    require("ljhttp_fetch").fetch(args.args)
end, { nargs = 1, desc = "Fetch a URL into a new scratch buffer (ljhttp, non-blocking)" })

-- `:LjhttpWs <ws-url>` keeps a WebSocket open in a scratch buffer that
-- grows with each message; `:LjhttpWsSend <text>` sends on it.
vim.api.nvim_create_user_command("LjhttpWs", function(args)
    require("ljhttp_ws").open(args.args)
end, { nargs = 1, desc = "Open a WebSocket into a new scratch buffer (ljhttp, non-blocking)" })
vim.api.nvim_create_user_command("LjhttpWsSend", function(args)
    require("ljhttp_ws").send(args.args)
end, { nargs = 1, desc = "Send text on the WebSocket :LjhttpWs opened" })
