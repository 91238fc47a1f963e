-- The changes buffer (agent-bridge://changes): every file the agent changed,
-- kept current by the bridge's workspace/gitChanged notifications. It is a
-- plain buffer rather than the quickfix list because Neovim makes a buffer
-- for each quickfix file (20,000 entries take 15 s on 0.7); here 20,000
-- lines are one nvim_buf_set_lines. An update replaces only the lines that
-- differ, in place, and puts each window's cursor back on the file it was on.
local C = {}

local HEADER = 2 -- lines above the first entry
local WORDS = { A = 'added', M = 'modified', D = 'deleted', U = 'conflict' }

local state = {
  buf = nil,
  changes = {}, -- as gitChanges answers: { {status, path}, ... }
  subscription = nil, -- { id, generation } while subscribed
  live = nil, -- true subscribed, false refreshing on focus, nil unknown
  info = nil, -- workspace_info's answer
  error = nil, -- the last failure, shown in the header
}

local function bridge()
  return require('agent_bridge')
end

local function valid()
  return state.buf and vim.api.nvim_buf_is_valid(state.buf)
end

--- The path of the entry on `row` (1-based buffer line), or nil.
function C.path_at(row)
  local change = state.changes[row - HEADER]
  return change and change.path or nil
end

function C.path_at_cursor()
  return C.path_at(vim.api.nvim_win_get_cursor(0)[1])
end

function C.status_at(row)
  local change = state.changes[row - HEADER]
  return change and change.status or nil
end

--- The buffer, or nil when it is not open.
function C.buffer()
  return valid() and state.buf or nil
end

local function header()
  local root = state.info and state.info.workspace or bridge().workspace()
  local what
  if state.error then
    what = state.error
  elseif state.info and state.info.gitRepository == false then
    what = 'not a git repository'
  elseif #state.changes == 0 then
    what = 'no changes'
  else
    what = #state.changes == 1 and '1 change' or (#state.changes .. ' changes')
  end
  local mode = state.live == true and 'live' or state.live == false and 'refreshed on focus' or 'connecting'
  return {
    string.format('Agent Bridge: %s · %s · %s', root, what, mode),
    '<CR> open at change  d diff  R refresh  q close',
  }
end

local function render()
  if not valid() then
    return
  end
  local buf = state.buf
  local entries = {}
  for i, change in ipairs(state.changes) do
    -- The path as displayed; the real one stays in state.changes.
    entries[i] = string.format('%-8s  %s', WORDS[change.status] or change.status, bridge().display(change.path))
  end
  local total = HEADER + #entries
  -- Where each window showing the buffer was: its file and view.
  local windows = {}
  for _, win in ipairs(vim.api.nvim_list_wins()) do
    if vim.api.nvim_win_get_buf(win) == buf then
      local view = vim.api.nvim_win_call(win, vim.fn.winsaveview)
      local shown = (state.rendered or {})[view.lnum - HEADER]
      table.insert(windows, { win = win, view = view, path = shown and shown.path })
    end
  end
  local rows = {}
  for i, change in ipairs(state.changes) do
    rows[change.path] = HEADER + i
  end
  state.rendered = state.changes
  -- Only the lines between the unchanged first and last ones are replaced:
  -- marks (a visual selection's '< and '>) stay on the entries they were on.
  local old = state.entry_lines or {}
  local same_start, same_end = 0, 0
  while same_start < #old and same_start < #entries and old[same_start + 1] == entries[same_start + 1] do
    same_start = same_start + 1
  end
  while
    same_end < #old - same_start
    and same_end < #entries - same_start
    and old[#old - same_end] == entries[#entries - same_end]
  do
    same_end = same_end + 1
  end
  local middle = {}
  for i = same_start + 1, #entries - same_end do
    middle[#middle + 1] = entries[i]
  end
  vim.bo[buf].modifiable = true
  if vim.api.nvim_buf_line_count(buf) < HEADER or not state.entry_lines then
    vim.api.nvim_buf_set_lines(buf, 0, -1, false, header())
  else
    vim.api.nvim_buf_set_lines(buf, 0, HEADER, false, header())
  end
  vim.api.nvim_buf_set_lines(buf, HEADER + same_start, HEADER + #old - same_end, false, middle)
  state.entry_lines = entries
  vim.bo[buf].modifiable = false
  vim.bo[buf].modified = false
  for _, w in ipairs(windows) do
    local view = w.view
    local row = w.path and rows[w.path]
    if row then
      -- The file moved: scroll with it, so it stays where the eye is.
      view.topline = math.max(1, view.topline + row - view.lnum)
    else
      row = math.min(view.lnum, total)
      if row <= HEADER and total > HEADER then
        row = HEADER + 1 -- on the first entry rather than the header
      end
    end
    view.lnum = row
    vim.api.nvim_win_call(w.win, function()
      vim.fn.winrestview(view)
    end)
  end
end

--- Replaces the entries with `changes` (gitChanges' answer) and redraws.
function C.update(changes)
  state.changes = changes or {}
  state.error = nil
  render()
end

local function on_git_changed(params)
  local sub = state.subscription
  if sub and params and params.subscriptionId == sub.id and bridge().generation() == sub.generation then
    C.update(params.changes)
  end
end

--- Asks gitChanges once (the R key, and the fallback without subscribe).
function C.refresh()
  bridge().request('gitChanges', {}, function(err, changes)
    if err then
      state.error = 'gitChanges failed: ' .. tostring(err.message) .. ' (' .. tostring(err.code) .. ')'
      render()
    else
      C.update(changes)
    end
  end)
end

--- Subscribes on the running bridge (starting it) unless subscribed there.
function C.connect()
  local current = bridge().generation()
  local sub = state.subscription
  if current and ((sub and sub.generation == current) or state.connecting == current) then
    return
  end
  state.subscription = nil
  bridge().workspace_info(function(info)
    state.info = info
    render()
  end)
  local generation
  bridge().request('subscribe', { events = { 'git' } }, function(err, result)
    if state.connecting == generation then
      state.connecting = nil
    end
    if generation ~= bridge().generation() then
      return -- that bridge is gone; entering the buffer connects again
    end
    if err or type(result) ~= 'table' then
      -- An older bridge (-32601) or a connection without notifications:
      -- ask now and again whenever the buffer is entered.
      state.live = false
      C.refresh()
      return
    end
    state.subscription = { id = result.subscriptionId, generation = generation }
    state.live = true
    state.error = nil
    render()
  end)
  generation = bridge().generation()
  state.connecting = generation
end

--- After a restart: subscribe again if the buffer is open.
function C.reconnect()
  local sub = state.subscription
  if sub and sub.generation == bridge().generation() then
    bridge().request('unsubscribe', { subscriptionId = sub.id })
  end
  state.subscription = nil
  state.connecting = nil
  state.info = nil
  if valid() then
    state.live = nil
    C.connect()
  end
end

local function open_entry(row)
  local path, status = C.path_at(row), C.status_at(row)
  if not path then
    return
  end
  if status == 'D' then
    bridge().diff(path)
    return
  end
  local function go(line)
    local changes_win = vim.api.nvim_get_current_win()
    vim.cmd('wincmd p')
    if vim.api.nvim_get_current_win() == changes_win then
      vim.cmd('aboveleft split')
    end
    bridge().open(path, function(buf)
      if buf then
        pcall(vim.api.nvim_win_set_cursor, 0, { math.min(line, vim.api.nvim_buf_line_count(0)), 0 })
      end
    end)
  end
  if status == 'A' or path:sub(-1) == '/' then
    go(1) -- a new file, or an untracked nested repository (a directory)
    return
  end
  bridge().request('gitDiff', { path = path }, function(err, diff)
    go(err and 1 or bridge().first_changed_line(diff.original, diff.modified))
  end)
end

local function make_buffer()
  local buf = vim.api.nvim_create_buf(false, true)
  vim.api.nvim_buf_set_name(buf, 'agent-bridge://changes')
  vim.bo[buf].buftype = 'nofile'
  vim.bo[buf].bufhidden = 'hide'
  vim.bo[buf].swapfile = false
  vim.bo[buf].undolevels = -1 -- each update replaces every line
  vim.bo[buf].modifiable = false
  vim.bo[buf].filetype = 'agentbridgechanges'
  vim.api.nvim_buf_set_var(buf, 'agent_bridge_changes', true)
  local function map(lhs, fn, desc)
    vim.keymap.set('n', lhs, function()
      bridge().guarded(fn)
    end, { buffer = buf, desc = desc, nowait = true })
  end
  map('<CR>', function()
    open_entry(vim.api.nvim_win_get_cursor(0)[1])
  end, 'Open the file at its first change')
  map('d', function()
    local path = C.path_at_cursor()
    if path then
      bridge().diff(path)
    end
  end, 'Diff the file against its base')
  map('R', function()
    C.reconnect()
    C.refresh()
  end, 'Refresh')
  map('q', function()
    if #vim.api.nvim_list_wins() > 1 then
      vim.cmd('close')
    else
      vim.cmd('bprevious')
    end
  end, 'Close')
  local group = vim.api.nvim_create_augroup('agent_bridge_changes', { clear = true })
  vim.api.nvim_create_autocmd('BufEnter', {
    group = group,
    buffer = buf,
    callback = function()
      bridge().guarded(function()
        C.connect()
        if state.live == false then
          C.refresh()
        end
      end)
    end,
  })
  -- Without subscribe, coming back to Neovim is the cue to ask again.
  vim.api.nvim_create_autocmd('FocusGained', {
    group = group,
    callback = function()
      if valid() and state.live == false and vim.fn.bufwinid(buf) > 0 then
        bridge().guarded(C.refresh)
      end
    end,
  })
  vim.api.nvim_create_autocmd('BufWipeout', {
    group = group,
    buffer = buf,
    callback = function()
      local sub = state.subscription
      state.buf, state.subscription, state.live = nil, nil, nil
      if sub and bridge().generation() == sub.generation then
        bridge().request('unsubscribe', { subscriptionId = sub.id })
      end
    end,
  })
  return buf
end

--- :AgentBridgeChanges: shows the buffer (a window at the bottom, or the
--- one already showing it) and subscribes. Returns the buffer.
function C.open()
  if not valid() then
    state.buf = make_buffer()
    state.live, state.error, state.info, state.entry_lines, state.rendered = nil, nil, nil, nil, nil
    state.changes = {}
    vim.api.nvim_buf_call(state.buf, function()
      vim.cmd([[
        syntax match AgentBridgeAdded /^added\s.*/
        syntax match AgentBridgeModified /^modified\s.*/
        syntax match AgentBridgeDeleted /^deleted\s.*/
        syntax match AgentBridgeConflict /^conflict\s.*/
        highlight default link AgentBridgeAdded DiffAdd
        highlight default link AgentBridgeModified DiffChange
        highlight default link AgentBridgeDeleted DiffDelete
        highlight default link AgentBridgeConflict WarningMsg
      ]])
    end)
  end
  local win = vim.fn.bufwinid(state.buf)
  if win > 0 then
    vim.api.nvim_set_current_win(win)
  else
    vim.cmd('botright 15split')
    vim.api.nvim_win_set_buf(0, state.buf)
    vim.wo.wrap = false
    vim.wo.cursorline = true
  end
  render()
  C.connect()
  return state.buf
end

bridge().on_notification('workspace/gitChanged', on_git_changed)
bridge().on_exit(function(generation)
  local sub = state.subscription
  if sub and sub.generation == generation then
    state.subscription = nil
    if state.live then
      state.live = nil
      state.error = 'the bridge stopped; enter this buffer or press R to reconnect'
      render()
    end
  end
end)

return C
