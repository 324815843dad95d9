-- Drives `eqx-rewrite server` from a real Neovim, headless: open the file named in EQX_FILE, wait for
-- the server's diagnostics, apply the "fix all" source action, save, and write what happened to
-- EQX_OUT. `vim.lsp.start_client` (not `vim.lsp.start`) so that Neovim 0.7 can run it too.
local out = {}
local client_id = vim.lsp.start_client({
  name = "eqx-rewrite",
  cmd = vim.fn.json_decode(os.getenv("EQX_SERVER_CMD")),
  root_dir = vim.fn.getcwd(),
})
vim.cmd("edit " .. os.getenv("EQX_FILE"))
local buf = vim.api.nvim_get_current_buf()
vim.lsp.buf_attach_client(buf, client_id)
vim.wait(30000, function() return #vim.diagnostic.get(buf) > 0 end, 50)
for _, d in ipairs(vim.diagnostic.get(buf)) do
  table.insert(out, string.format("diagnostic %d:%d %s", d.lnum + 1, d.col + 1, d.message))
end
local params = {
  textDocument = { uri = vim.uri_from_bufnr(buf) },
  range = { start = { line = 0, character = 0 }, ["end"] = { line = 0, character = 0 } },
  context = { diagnostics = {}, only = { "source.fixAll" } },
}
local client = vim.lsp.get_client_by_id(client_id)
for _, response in pairs(vim.lsp.buf_request_sync(buf, "textDocument/codeAction", params, 30000) or {}) do
  for _, action in ipairs(response.result or {}) do
    table.insert(out, "action " .. action.kind .. ": " .. action.title)
    vim.lsp.util.apply_workspace_edit(action.edit, client.offset_encoding)
  end
end
vim.cmd("write")
vim.wait(30000, function() return #vim.diagnostic.get(buf) == 0 end, 50)
table.insert(out, "diagnostics after the fix: " .. #vim.diagnostic.get(buf))
vim.fn.writefile(out, os.getenv("EQX_OUT"))
vim.cmd("qall!")
