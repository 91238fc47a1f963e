-- The user commands against the real binary on temp git repositories.
local T = dofile(vim.fn.fnamemodify(debug.getinfo(1, 'S').source:sub(2), ':h') .. '/harness.lua')

local function buffer_lines(buf)
  return vim.api.nvim_buf_get_lines(buf, 0, -1, false)
end

local function wait_notes(count)
  T.wait(function()
    return #T.notes >= (count or 1)
  end, 10000, 'a message')
end

T.test('the five commands exist', function()
  local commands = vim.api.nvim_get_commands({})
  for _, name in ipairs({ 'AgentBridgeChanges', 'AgentBridgeDiff', 'AgentBridgeFiles', 'AgentBridgeZip', 'AgentBridgeFeedback' }) do
    T.ok(commands[name], name .. ' is defined')
  end
end)

T.test(':AgentBridgeChanges fills the quickfix list: the path, the status', function()
  local repo = T.make_repo()
  T.fresh(repo)
  vim.cmd('AgentBridgeChanges')
  T.wait(function()
    return #vim.fn.getqflist() > 0
  end, 5000, 'the quickfix list')
  local entries = {}
  for _, item in ipairs(vim.fn.getqflist()) do
    table.insert(entries, { vim.fn.fnamemodify(vim.fn.bufname(item.bufnr), ':.'), item.text })
  end
  T.eq(entries, { { 'notes/new.md', 'A' }, { 'old.txt', 'D' }, { 'src/app.lua', 'M' } })
  T.eq(vim.fn.getqflist({ title = 1 }).title, 'Agent Bridge changes')
  T.eq(vim.bo.buftype, 'quickfix', 'the list is open')
  -- Opening an entry opens the file in the workspace.
  vim.cmd('cc 3')
  T.eq(vim.api.nvim_buf_get_name(0), repo .. '/src/app.lua')
end, { skip = T.unless_methods('gitChanges') })

T.test(':AgentBridgeChanges on a clean repository says so and leaves an empty list', function()
  local repo = T.make_repo()
  T.git(repo, { 'add', '-A' })
  T.git(repo, { 'commit', '-q', '-m', 'all' })
  T.fresh(repo)
  vim.cmd('AgentBridgeChanges')
  wait_notes()
  T.match(T.notes[1].message, 'no changes')
  T.eq(vim.fn.getqflist(), {})
end, { skip = T.unless_methods('gitChanges') })

T.test(':AgentBridgeDiff path: the base in a scratch buffer diffed against the file', function()
  local repo = T.make_repo()
  T.fresh(repo)
  vim.cmd('AgentBridgeDiff src/app.lua')
  T.wait(function()
    return #vim.api.nvim_list_wins() == 2
  end, 5000, 'the diff split')
  local file_win = vim.api.nvim_get_current_win()
  T.eq(vim.api.nvim_buf_get_name(0), repo .. '/src/app.lua')
  T.eq(vim.wo[file_win].diff, true)
  local scratch
  for _, win in ipairs(vim.api.nvim_list_wins()) do
    if win ~= file_win then
      scratch = vim.api.nvim_win_get_buf(win)
      T.eq(vim.wo[win].diff, true)
      T.ok(vim.api.nvim_win_get_position(win)[2] < vim.api.nvim_win_get_position(file_win)[2], 'base on the left')
    end
  end
  T.eq(vim.api.nvim_buf_get_name(scratch), 'agent-bridge://original/src/app.lua')
  T.eq(buffer_lines(scratch), { 'one', 'two', 'three' })
  T.eq(vim.bo[scratch].buftype, 'nofile')
  T.eq(vim.bo[scratch].modifiable, false)
  T.eq(vim.bo[scratch].filetype, 'lua')
  -- Again, from the file itself and with no argument: one scratch buffer, not two.
  vim.cmd('AgentBridgeDiff')
  T.wait(function()
    return #T.notes == 0 and #vim.api.nvim_list_wins() == 2 and vim.fn.bufnr('agent-bridge://original/src/app.lua') ~= scratch
  end, 5000, 'the diff to be redone')
  T.eq(#vim.api.nvim_list_wins(), 2)
end, { skip = T.unless_methods('gitDiff') })

T.test(':AgentBridgeDiff of deleted and added files', function()
  local repo = T.make_repo()
  T.fresh(repo)
  vim.cmd('AgentBridgeDiff old.txt')
  T.wait(function()
    return vim.fn.bufnr('agent-bridge://original/old.txt') > 0
  end)
  T.eq(buffer_lines(vim.fn.bufnr('agent-bridge://original/old.txt')), { 'to be deleted' })
  T.eq(buffer_lines(0), { '' }, 'the deleted file is empty')
  vim.cmd('AgentBridgeDiff notes/new.md')
  T.wait(function()
    return vim.fn.bufnr('agent-bridge://original/notes/new.md') > 0
  end)
  T.eq(buffer_lines(vim.fn.bufnr('agent-bridge://original/notes/new.md')), { '' })
  T.eq(buffer_lines(0), { 'fresh' })
end, { skip = T.unless_methods('gitDiff') })

T.test(':AgentBridgeDiff errors name the code', function()
  local dir = T.temp_dir()
  T.write_file(dir .. '/a.txt', 'a\n')
  T.fresh(dir)
  vim.cmd('AgentBridgeDiff a.txt')
  wait_notes()
  T.match(T.notes[1].message, 'gitDiff failed')
  T.match(T.notes[1].message, '%-32016')
  T.eq(T.notes[1].level, vim.log.levels.ERROR)
  T.eq(#vim.api.nvim_list_wins(), 1)
end, { skip = T.unless_methods('gitDiff') })

T.test(':AgentBridgeFiles offers listFiles recursive and opens the choice', function()
  local repo = T.make_repo()
  T.fresh(repo)
  local offered
  local select = vim.ui.select
  vim.ui.select = function(items, opts, on_choice)
    offered = items
    on_choice('src/app.lua')
  end
  local ok, err = pcall(function()
    vim.cmd('AgentBridgeFiles')
    T.wait(function()
      return offered ~= nil
    end)
  end)
  vim.ui.select = select
  assert(ok, err)
  T.eq(offered, { '.gitignore', 'README.md', 'notes/new.md', 'src/app.lua' })
  T.wait(function()
    return vim.api.nvim_buf_get_name(0) == repo .. '/src/app.lua'
  end)
  T.eq(buffer_lines(0), { 'one', '2', 'three', 'four' })
end, { skip = T.unless_methods('listFiles') })

T.test(':AgentBridgeZip writes the zip and reports it', function()
  local repo = T.make_repo()
  local out = T.temp_dir()
  T.fresh(repo)
  vim.cmd('AgentBridgeZip ' .. out .. '/work.zip')
  wait_notes()
  T.match(T.notes[1].message, 'wrote %d+ files')
  T.match(T.notes[1].message, vim.pesc(out .. '/work.zip'), 'the path is named')
  T.match(T.echoes[1], '^agent%-bridge: zipping 0%%', 'progress is echoed')
  local names = vim.fn.systemlist({ 'unzip', '-Z1', out .. '/work.zip' })
  T.ok(vim.tbl_contains(names, 'src/app.lua') and vim.tbl_contains(names, 'notes/new.md'), vim.inspect(names))
  T.ok(not vim.tbl_contains(names, 'old.txt'))
end, { skip = T.unless_methods('zipDirectory') })

T.test(':AgentBridgeZip with a relative name writes it relative to the current directory', function()
  local repo = T.make_repo()
  local out = T.temp_dir()
  T.fresh(repo)
  vim.cmd('cd ' .. out)
  vim.cmd('AgentBridgeZip rel.zip')
  wait_notes()
  T.eq(vim.fn.filereadable(out .. '/rel.zip'), 1)
end, { skip = T.unless_methods('zipDirectory') })

local function stored_feedback(state_dir)
  local text = {}
  for _, file in ipairs(vim.fn.globpath(state_dir, '**', false, true)) do
    if vim.fn.filereadable(file) == 1 then
      table.insert(text, table.concat(vim.fn.readfile(file), '\n'))
    end
  end
  return table.concat(text, '\n')
end

T.test(':AgentBridgeFeedback positive text: sent without prompts', function()
  local repo = T.make_repo()
  local state_dir = T.temp_dir()
  T.fresh(repo, { '--state-dir', state_dir })
  vim.cmd('AgentBridgeFeedback positive tidy work, thanks')
  wait_notes()
  T.match(T.notes[1].message, 'feedback submitted')
  local stored = stored_feedback(state_dir)
  T.match(stored, '"polarity":"positive"')
  T.match(stored, 'tidy work, thanks')
end, { skip = T.unless_methods('submitFeedback') })

T.test(':AgentBridgeFeedback with no arguments asks; a cancelled prompt sends nothing', function()
  local repo = T.make_repo()
  local state_dir = T.temp_dir()
  T.fresh(repo, { '--state-dir', state_dir })
  local select, input = vim.ui.select, vim.ui.input
  local answers = { 'negative', 'it broke the build' }
  vim.ui.select = function(items, opts, on_choice)
    T.eq(items, { 'positive', 'negative' })
    on_choice(table.remove(answers, 1))
  end
  vim.ui.input = function(opts, on_confirm)
    on_confirm(table.remove(answers, 1))
  end
  local ok, err = pcall(function()
    vim.cmd('AgentBridgeFeedback')
    wait_notes()
    T.match(T.notes[1].message, 'feedback submitted')
    local stored = stored_feedback(state_dir)
    T.match(stored, '"polarity":"negative"')
    T.match(stored, 'it broke the build')
    answers = { 'positive', nil }
    vim.cmd('AgentBridgeFeedback')
    vim.wait(300)
    T.eq(#T.notes, 1, 'nothing sent after Escape')
    vim.cmd('AgentBridgeFeedback sideways')
    T.match(T.notes[2].message, 'positive or negative')
  end)
  vim.ui.select, vim.ui.input = select, input
  assert(ok, err)
end, { skip = T.unless_methods('submitFeedback') })

T.run()
