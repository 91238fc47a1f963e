-- The diff tab: one tab page, reused by every :AgentBridgeDiff, with the
-- base version on the left (a read-only scratch buffer) and the file on the
-- right, as diffview.nvim lays it out. Diffing another file replaces both
-- sides, so nothing piles up; `q` in the original closes the tab.
local D = {}

local TAB_VAR = 'agent_bridge_diff'

local function bridge()
  return require('agent_bridge')
end

--- The diff tab, or nil.
function D.tab()
  for _, tab in ipairs(vim.api.nvim_list_tabpages()) do
    local ok, value = pcall(vim.api.nvim_tabpage_get_var, tab, TAB_VAR)
    if ok and value then
      return tab
    end
  end
  return nil
end

local function scratch(name, path, lines, filetype)
  for _, old in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_get_name(old) == name and old ~= vim.api.nvim_get_current_buf() then
      vim.api.nvim_buf_delete(old, { force = true })
    end
  end
  local buf = vim.api.nvim_get_current_buf()
  vim.bo[buf].buftype = 'nofile'
  vim.bo[buf].bufhidden = 'wipe'
  vim.bo[buf].swapfile = false
  vim.api.nvim_buf_set_name(buf, name)
  vim.api.nvim_buf_set_var(buf, 'agent_bridge_path', path)
  vim.api.nvim_buf_set_lines(buf, 0, -1, false, lines)
  vim.bo[buf].modifiable = false
  vim.bo[buf].readonly = true
  if filetype and filetype ~= '' then
    vim.bo[buf].filetype = filetype
  end
  vim.keymap.set('n', 'q', function()
    D.close()
  end, { buffer = buf, desc = 'Close the Agent Bridge diff tab' })
  return buf
end

--- Closes the diff tab (if it is not the last one).
function D.close()
  local tab = D.tab()
  if tab and #vim.api.nvim_list_tabpages() > 1 then
    vim.api.nvim_set_current_tabpage(tab)
    vim.cmd('tabclose')
  end
end

--- Shows `diff` ({original, modified}, from gitDiff) of `path` (relative
--- to the workspace) in the diff tab, the cursor on the first change.
--- Returns the original's buffer.
function D.show(path, diff)
  local tab = D.tab()
  if tab then
    vim.api.nvim_set_current_tabpage(tab)
  else
    vim.cmd('tabnew')
    vim.api.nvim_tabpage_set_var(0, TAB_VAR, true)
  end
  vim.cmd('diffoff!')
  -- `only!` hides a modified buffer instead of refusing, so a person's
  -- unsaved edit in the last diffed file survives the next diff.
  vim.cmd('silent! only!')
  local target = bridge().absolute(path)
  local file_window = vim.api.nvim_get_current_win()
  if not bridge().inside(path) then
    -- A link out of the workspace: the bridge's text of it, read-only,
    -- rather than the file it leads to (which a :w would write).
    vim.cmd('hide enew')
    scratch('agent-bridge://modified/' .. path, path, vim.split(diff.modified, '\n', { plain = true }), nil)
  elseif vim.fn.filereadable(target) == 1 then
    if vim.api.nvim_buf_get_name(0) ~= target then
      -- By number, never an Ex command built from the name (a newline in
      -- it would start a command of the agent's).
      local buf = vim.fn.bufadd(target)
      vim.bo[buf].buflisted = true
      vim.api.nvim_win_set_buf(0, buf)
    end
  else
    -- Deleted: an empty, read-only side rather than a new file that a
    -- stray :w would bring back.
    vim.cmd('hide enew')
    scratch('agent-bridge://deleted/' .. path, path, {}, nil)
  end
  local filetype = vim.bo.filetype
  if filetype == '' and vim.fn.has('nvim-0.8') == 1 then
    local ok, guessed = pcall(vim.filetype.match, { filename = target })
    filetype = ok and type(guessed) == 'string' and guessed or ''
  end
  vim.cmd('diffthis')
  vim.cmd('leftabove vertical new')
  local original = scratch('agent-bridge://original/' .. path, path, vim.split(diff.original, '\n', { plain = true }), filetype)
  vim.cmd('diffthis')
  vim.api.nvim_set_current_win(file_window)
  local line = bridge().first_changed_line(diff.original, diff.modified)
  line = math.min(line, vim.api.nvim_buf_line_count(0))
  vim.api.nvim_win_set_cursor(file_window, { line, 0 })
  vim.cmd('normal! zz')
  return original
end

return D
