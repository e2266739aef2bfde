-- ljhttp's one editor command: :LjhttpBuild runs `make` in the plugin's
-- directory without blocking the editor (lua/ljhttp/build.lua), for
-- plugin managers with no build step (Neovim 0.12's vim.pack).
if vim.g.loaded_ljhttp then
    return
end
vim.g.loaded_ljhttp = true

vim.api.nvim_create_user_command("LjhttpBuild", function()
    require("ljhttp.build").run()
end, { desc = "ljhttp: build the library (make) in the background" })
