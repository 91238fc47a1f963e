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

T.test('the commands exist', function()
  local commands = vim.api.nvim_get_commands({})
  for _, name in ipairs({
    'AgentBridgeChanges',
    'AgentBridgeQuickfix',
    'AgentBridgeDiff',
    'AgentBridgeFiles',
    'AgentBridgeZip',
    'AgentBridgeFeedback',
    'AgentBridgeLog',
    'AgentBridgeRestart',
    'AgentBridgeStop',
  }) do
    T.ok(commands[name], name .. ' is defined')
  end
end)

-- The changes buffer's entries: { word, path } after the header.
local function changes_entries(buf)
  local entries = {}
  for i, line in ipairs(buffer_lines(buf)) do
    if i > 2 then
      local word, path = line:match('^(%S+)%s+(.*)$')
      table.insert(entries, { word, path })
    end
  end
  return entries
end

local function wait_entries(buf, count, what)
  T.wait(function()
    return vim.api.nvim_buf_line_count(buf) == count + 2 and buffer_lines(buf)[1]:find('live', 1, true) ~= nil
  end, 10000, what or (count .. ' entries'))
end

T.test(':AgentBridgeChanges: a buffer of the changes, live', function()
  local repo = T.make_repo()
  T.fresh(repo)
  vim.cmd('AgentBridgeChanges')
  local buf = vim.api.nvim_get_current_buf()
  T.eq(vim.api.nvim_buf_get_name(buf), 'agent-bridge://changes')
  wait_entries(buf, 3)
  T.eq(changes_entries(buf), { { 'added', 'notes/new.md' }, { 'deleted', 'old.txt' }, { 'modified', 'src/app.lua' } })
  T.match(buffer_lines(buf)[1], vim.pesc(repo) .. ' · 3 changes · live')
  T.eq(vim.bo[buf].modifiable, false)
  -- The agent writes: the view follows, and the cursor stays on its file
  -- though an entry appears above it.
  vim.api.nvim_win_set_cursor(0, { 5, 0 })
  -- A selection of old.txt and src/app.lua, as V and j leave it.
  vim.api.nvim_buf_set_mark(buf, '<', 4, 0, {})
  vim.api.nvim_buf_set_mark(buf, '>', 5, 0, {})
  T.write_file(repo .. '/a first.txt', 'new\n')
  T.wait(function()
    return vim.api.nvim_buf_line_count(buf) == 6
  end, 10000, 'the notification')
  T.eq(changes_entries(buf)[1], { 'added', 'a first.txt' })
  T.eq(vim.api.nvim_win_get_cursor(0)[1], 6, 'the cursor follows src/app.lua')
  T.eq(buffer_lines(buf)[6], 'modified  src/app.lua')
  T.eq({ vim.api.nvim_buf_get_mark(buf, '<')[1], vim.api.nvim_buf_get_mark(buf, '>')[1] }, { 5, 6 }, 'the selection follows its entries')
  os.remove(repo .. '/a first.txt')
  T.git(repo, { 'add', '-A' })
  T.git(repo, { 'commit', '-q', '-m', 'everything' })
  T.wait(function()
    return vim.api.nvim_buf_line_count(buf) == 2
  end, 10000, 'the commit to empty the view')
  T.match(buffer_lines(buf)[1], 'no changes · live')
  -- Again: the same buffer and window, not a second one.
  local windows = #vim.api.nvim_list_wins()
  vim.cmd('AgentBridgeChanges')
  T.eq(#vim.api.nvim_list_wins(), windows)
  T.eq(vim.api.nvim_get_current_buf(), buf)
end, { skip = T.unless_methods('gitChanges', 'subscribe') })

T.test('the changes buffer renders 20,000 entries in under a second, keeping the cursor', function()
  local repo = T.make_repo()
  T.fresh(repo)
  local changes = require('agent_bridge.changes')
  vim.cmd('AgentBridgeChanges')
  local buf = vim.api.nvim_get_current_buf()
  wait_entries(buf, 3)
  local many = {}
  for i = 1, 20000 do
    many[i] = { status = (i % 3 == 0) and 'D' or 'M', path = string.format('dir%03d/file %05d.txt', i % 100, i) }
  end
  table.sort(many, function(a, b)
    return a.path < b.path
  end)
  local started = T.uv.hrtime()
  changes.update(many)
  vim.cmd('redraw')
  local first_ms = (T.uv.hrtime() - started) / 1e6
  T.eq(vim.api.nvim_buf_line_count(buf), 20002)
  vim.api.nvim_win_set_cursor(0, { 10002, 0 })
  local path = changes.path_at_cursor()
  local more = { { status = 'A', path = '0 new' } }
  vim.list_extend(more, many)
  started = T.uv.hrtime()
  changes.update(more)
  vim.cmd('redraw')
  local second_ms = (T.uv.hrtime() - started) / 1e6
  T.eq(changes.path_at_cursor(), path, 'the cursor stays on its file')
  io.stdout:write(string.format('#   20,000 entries: %.0f ms, then an update: %.0f ms\n', first_ms, second_ms))
  T.ok(first_ms < 1000 and second_ms < 1000, string.format('%.0f ms and %.0f ms', first_ms, second_ms))
end, { skip = T.unless_methods('gitChanges', 'subscribe') })

T.test('20,000 untracked files through a real workspace/gitChanged: the view updates in under a second', function()
  local repo = T.make_repo()
  vim.fn.system({ 'sh', '-c', 'mkdir -p "$1/many" && cd "$1/many" && i=0; while [ $i -lt 20000 ]; do : > "file $i.txt"; i=$((i+1)); done', 'sh', repo })
  T.fresh(repo)
  local changes = require('agent_bridge.changes')
  local update = changes.update
  local timings = {}
  changes.update = function(list)
    local started = T.uv.hrtime()
    update(list)
    vim.cmd('redraw')
    table.insert(timings, { #list, (T.uv.hrtime() - started) / 1e6 })
  end
  local ok, err = pcall(function()
    vim.cmd('AgentBridgeChanges')
    local buf = vim.api.nvim_get_current_buf()
    wait_entries(buf, 20003, 'the 20,003 entries')
    vim.api.nvim_win_set_cursor(0, { 12000, 0 })
    local path = changes.path_at_cursor()
    os.remove(repo .. '/many/file 0.txt')
    T.wait(function()
      return vim.api.nvim_buf_line_count(buf) == 20004
    end, 20000, 'the update')
    T.eq(changes.path_at_cursor(), path, 'the cursor stays on its file')
  end)
  changes.update = update
  assert(ok, err)
  for _, timing in ipairs(timings) do
    io.stdout:write(string.format('#   a gitChanged of %d entries: the view in %.0f ms\n', timing[1], timing[2]))
    T.ok(timing[2] < 1000, timing[2] .. ' ms')
  end
end, { skip = T.unless_methods('gitChanges', 'subscribe') })

T.test('paths stay in the workspace after :cd, before and after the bridge starts', function()
  local repo = T.make_repo()
  local elsewhere = T.temp_dir()
  T.write_file(elsewhere .. '/src/app.lua', 'a decoy\n')
  T.git(elsewhere, { 'init', '-q' })
  -- Neovim started in the workspace, no workspace in setup(); :cd first.
  T.fresh(repo, nil, { started_in = true })
  vim.cmd('cd ' .. vim.fn.fnameescape(elsewhere))
  T.eq(require('agent_bridge').request_sync('health'), 'OK')
  T.eq(require('agent_bridge').root(), repo)
  vim.cmd('cd ' .. vim.fn.fnameescape(elsewhere .. '/src'))
  -- The quickfix list names the workspace's files.
  local done
  require('agent_bridge').quickfix(function()
    done = true
  end)
  T.wait(function()
    return done
  end)
  local names = {}
  for _, item in ipairs(vim.fn.getqflist()) do
    table.insert(names, vim.api.nvim_buf_get_name(item.bufnr))
  end
  T.eq(names, { repo .. '/notes/new.md', repo .. '/old.txt', repo .. '/src/app.lua' })
  -- The diff shows the workspace's file, not the decoy.
  vim.cmd('AgentBridgeDiff src/app.lua')
  T.wait(function()
    return vim.api.nvim_buf_get_name(0) == repo .. '/src/app.lua'
  end, 5000, 'the diff')
  T.eq(buffer_lines(0), { 'one', '2', 'three', 'four' })
  -- From that buffer, with no argument: still the workspace's path.
  vim.cmd('cd /')
  T.eq(require('agent_bridge').relative(0), 'src/app.lua')
  -- And the changes buffer's <CR> opens the workspace's file at its change.
  vim.cmd('AgentBridgeChanges')
  local buf = vim.api.nvim_get_current_buf()
  wait_entries(buf, 3)
  T.match(buffer_lines(buf)[1], vim.pesc(repo))
  vim.api.nvim_win_set_cursor(0, { 5, 0 })
  vim.api.nvim_feedkeys(vim.api.nvim_replace_termcodes('<CR>', true, false, true), 'x', false)
  T.wait(function()
    return vim.api.nvim_get_current_buf() ~= buf
  end, 5000, 'the file to open')
  T.eq(vim.api.nvim_buf_get_name(0), repo .. '/src/app.lua')
  T.eq(vim.api.nvim_win_get_cursor(0)[1], 2, 'at the first changed line')
end, { skip = T.unless_methods('gitChanges', 'gitDiff') })

T.test(':AgentBridgeQuickfix: entries at their first changed line; d diffs the entry', function()
  local repo = T.make_repo()
  T.fresh(repo)
  vim.cmd('AgentBridgeQuickfix')
  T.wait(function()
    return #vim.fn.getqflist() > 0
  end, 5000, 'the quickfix list')
  local entries = {}
  for _, item in ipairs(vim.fn.getqflist()) do
    table.insert(entries, { vim.api.nvim_buf_get_name(item.bufnr), item.lnum, item.text })
  end
  T.eq(entries, {
    { repo .. '/notes/new.md', 1, 'A' },
    { repo .. '/old.txt', 1, 'D' },
    { repo .. '/src/app.lua', 2, 'M' },
  })
  T.eq(vim.fn.getqflist({ title = 1 }).title, 'Agent Bridge changes')
  T.eq(vim.bo.buftype, 'quickfix', 'the list is open')
  vim.api.nvim_win_set_cursor(0, { 3, 0 })
  vim.api.nvim_feedkeys('d', 'x', false)
  T.wait(function()
    return require('agent_bridge.diff').tab() ~= nil and vim.api.nvim_buf_get_name(0) == repo .. '/src/app.lua'
  end, 5000, 'the diff tab')
  T.eq(vim.api.nvim_win_get_cursor(0)[1], 2)
end, { skip = T.unless_methods('gitChanges', 'gitDiff') })

T.test(':AgentBridgeQuickfix names no file for a symlink out of the workspace', function()
  local repo = T.make_repo()
  local outside = T.temp_dir()
  T.write_file(outside .. '/credentials', 'secret\n')
  T.ok(T.uv.fs_symlink(outside .. '/credentials', repo .. '/link'))
  T.fresh(repo)
  vim.cmd('AgentBridgeQuickfix')
  T.wait(function()
    return #vim.fn.getqflist() > 0
  end, 5000, 'the quickfix list')
  local link
  for _, item in ipairs(vim.fn.getqflist()) do
    local name = item.bufnr > 0 and vim.api.nvim_buf_get_name(item.bufnr) or ''
    T.ok(name ~= repo .. '/link' and not name:find(outside, 1, true), 'a quickfix file for the link: ' .. name)
    if item.text:find('link', 1, true) then
      link = item
    end
  end
  T.ok(link, 'the link is listed')
  T.eq(link.bufnr, 0)
  T.match(link.text, 'leads out of the workspace')
end, { skip = T.unless_methods('gitChanges', 'gitDiff') })

T.test(':AgentBridgeQuickfix stops at quickfix_limit and points to the changes buffer', function()
  local repo = T.make_repo()
  T.fresh(repo)
  local bridge = require('agent_bridge')
  local limit = bridge.quickfix_limit
  bridge.quickfix_limit = 2
  local done
  bridge.quickfix(function()
    done = true
  end)
  local ok, err = pcall(T.wait, function()
    return done
  end)
  bridge.quickfix_limit = limit
  assert(ok, err)
  T.eq(#vim.fn.getqflist(), 2)
  T.match(T.notes[1].message, '3 changes; the quickfix list has the first 2, :AgentBridgeChanges has all')
end, { skip = T.unless_methods('gitChanges') })

T.test(':AgentBridgeQuickfix on a clean repository says so and leaves an empty list', function()
  local repo = T.make_repo()
  T.git(repo, { 'add', '-A' })
  T.git(repo, { 'commit', '-q', '-m', 'all' })
  T.fresh(repo)
  vim.cmd('AgentBridgeQuickfix')
  wait_notes()
  T.match(T.notes[1].message, 'no changes')
  T.eq(vim.fn.getqflist(), {})
end, { skip = T.unless_methods('gitChanges') })

T.test('a folder that is not a git repository is said to be one, not "no changes"', function()
  local dir = T.temp_dir()
  T.write_file(dir .. '/a.txt', 'a\n')
  T.fresh(dir)
  vim.cmd('AgentBridgeQuickfix')
  wait_notes()
  T.match(T.notes[1].message, 'is not a git repository')
  vim.cmd('AgentBridgeChanges')
  local buf = vim.api.nvim_get_current_buf()
  T.wait(function()
    return buffer_lines(buf)[1]:find('not a git repository', 1, true) ~= nil
  end, 5000, 'the header')
end, { skip = T.unless_methods('gitChanges', 'workspaceInfo') })

T.test(':AgentBridgeDiff: one diff tab, reused; the original read-only; the cursor on the change', function()
  local repo = T.make_repo()
  T.write_file(repo .. '/README.md', '# demo\nmore\n')
  T.fresh(repo)
  local first_tab = vim.api.nvim_get_current_tabpage()
  vim.cmd('AgentBridgeDiff src/app.lua')
  T.wait(function()
    return vim.fn.bufnr('agent-bridge://original/src/app.lua') > 0
  end, 5000, 'the diff tab')
  local diff_tab = vim.api.nvim_get_current_tabpage()
  T.ok(diff_tab ~= first_tab, 'a tab of its own')
  local file_win = vim.api.nvim_get_current_win()
  T.eq(vim.api.nvim_buf_get_name(0), repo .. '/src/app.lua')
  T.eq(vim.wo[file_win].diff, true)
  T.eq(vim.api.nvim_win_get_cursor(file_win)[1], 2, 'at the first change')
  local wins = vim.api.nvim_tabpage_list_wins(diff_tab)
  T.eq(#wins, 2)
  local scratch_win = wins[1] == file_win and wins[2] or wins[1]
  local scratch = vim.api.nvim_win_get_buf(scratch_win)
  T.ok(vim.api.nvim_win_get_position(scratch_win)[2] < vim.api.nvim_win_get_position(file_win)[2], 'base on the left')
  T.eq(vim.wo[scratch_win].diff, true)
  T.eq(vim.api.nvim_buf_get_name(scratch), 'agent-bridge://original/src/app.lua')
  T.eq(buffer_lines(scratch), { 'one', 'two', 'three' })
  T.eq(vim.bo[scratch].buftype, 'nofile')
  T.eq(vim.bo[scratch].modifiable, false)
  T.eq(vim.bo[scratch].readonly, true)
  T.eq(vim.bo[scratch].filetype, 'lua')
  -- Another file, from the first tab: the same tab, two windows, the old
  -- original gone.
  vim.api.nvim_set_current_tabpage(first_tab)
  vim.cmd('AgentBridgeDiff README.md')
  T.wait(function()
    return vim.fn.bufnr('agent-bridge://original/README.md') > 0
  end, 5000, 'the second diff')
  T.eq(#vim.api.nvim_list_tabpages(), 2)
  T.eq(vim.api.nvim_get_current_tabpage(), diff_tab)
  T.eq(#vim.api.nvim_tabpage_list_wins(diff_tab), 2)
  T.eq(vim.fn.bufexists('agent-bridge://original/src/app.lua'), 0, 'the old original is wiped')
  T.eq(vim.api.nvim_win_get_cursor(0)[1], 2)
  -- With no argument, from the file: redone in place.
  vim.cmd('AgentBridgeDiff')
  vim.wait(300)
  T.eq(#T.notes, 0, vim.inspect(T.notes))
  T.eq(#vim.api.nvim_tabpage_list_wins(diff_tab), 2)
  -- q in the original closes the tab.
  for _, win in ipairs(vim.api.nvim_tabpage_list_wins(diff_tab)) do
    if vim.api.nvim_buf_get_name(vim.api.nvim_win_get_buf(win)):find('^agent%-bridge://original/') then
      vim.api.nvim_set_current_win(win)
    end
  end
  vim.api.nvim_feedkeys('q', 'x', false)
  T.eq(#vim.api.nvim_list_tabpages(), 1)
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
  T.eq(vim.api.nvim_buf_get_name(0), 'agent-bridge://deleted/old.txt', 'not a new file a :w would recreate')
  T.eq(vim.bo.modifiable, false)
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
  T.eq(#vim.api.nvim_list_tabpages(), 1)
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

-- A file name of the agent's that, built into an Ex command line, would
-- run a command of its own: fnameescape leaves the newline, and vim.cmd
-- runs what follows it.
local EVIL = 'README.md\nlua(vim.g).agent_bridge_pwned=1'

local function press_enter_on(buf, row)
  vim.api.nvim_win_set_cursor(0, { row, 0 })
  vim.api.nvim_feedkeys(vim.api.nvim_replace_termcodes('<CR>', true, false, true), 'x', false)
  T.wait(function()
    return vim.api.nvim_get_current_buf() ~= buf
  end, 5000, 'the file to open')
end

T.test('a file name with a newline runs nothing: :AgentBridgeFiles, the changes buffer, :AgentBridgeDiff', function()
  local repo = T.make_repo()
  T.write_file(repo .. '/' .. EVIL, 'evil\n')
  vim.g.agent_bridge_pwned = nil
  T.fresh(repo)
  local select = vim.ui.select
  local shown
  vim.ui.select = function(items, opts, on_choice)
    for _, item in ipairs(items) do
      if item == EVIL then
        shown = opts.format_item(item)
        on_choice(item)
      end
    end
  end
  local opened
  local ok, err = pcall(function()
    require('agent_bridge').files(function(_, choice)
      opened = choice
    end)
    T.wait(function()
      return opened ~= nil
    end, 5000, 'the choice to open')
  end)
  vim.ui.select = select
  assert(ok, err)
  T.eq(vim.g.agent_bridge_pwned, nil, 'nothing ran')
  T.eq(shown, 'README.md^@lua(vim.g).agent_bridge_pwned=1', 'offered on one line')
  T.eq(vim.api.nvim_buf_get_name(0), repo .. '/' .. EVIL)
  T.eq(buffer_lines(0), { 'evil' })
  -- The changes buffer shows it on one line and opens the real file.
  vim.cmd('silent! %bwipe!')
  vim.cmd('AgentBridgeChanges')
  local buf = vim.api.nvim_get_current_buf()
  wait_entries(buf, 4)
  T.eq(buffer_lines(buf)[3], 'added     README.md^@lua(vim.g).agent_bridge_pwned=1')
  press_enter_on(buf, 3)
  T.eq(vim.g.agent_bridge_pwned, nil, 'nothing ran from <CR>')
  T.eq(vim.api.nvim_buf_get_name(0), repo .. '/' .. EVIL)
  -- The diff tab too.
  require('agent_bridge').diff(EVIL)
  T.wait(function()
    return vim.fn.bufnr('agent-bridge://original/' .. EVIL) > 0
  end, 5000, 'the diff')
  T.eq(vim.g.agent_bridge_pwned, nil, 'nothing ran from the diff')
  T.eq(vim.api.nvim_buf_get_name(0), repo .. '/' .. EVIL)
  T.eq(buffer_lines(0), { 'evil' })
end, { skip = T.unless_methods('listFiles', 'gitChanges', 'gitDiff') })

T.test('a symlink out of the workspace is not opened, nor written through', function()
  local repo = T.make_repo()
  local outside = T.temp_dir()
  T.write_file(outside .. '/credentials', 'secret\n')
  T.ok(T.uv.fs_symlink(outside .. '/credentials', repo .. '/link'))
  T.ok(T.uv.fs_symlink(outside .. '/made-by-a-write', repo .. '/dangling'))
  T.ok(T.uv.fs_symlink(outside, repo .. '/dir'))
  T.ok(T.uv.fs_symlink(repo .. '/README.md', repo .. '/inner'))
  local bridge = T.fresh(repo)
  T.eq(bridge.inside('link'), false)
  T.eq(bridge.inside('dangling'), false)
  T.eq(bridge.inside('dir/credentials'), false)
  T.eq(bridge.inside('../' .. vim.fn.fnamemodify(outside, ':t') .. '/credentials'), false)
  T.eq(bridge.inside('inner'), true, 'a link inside is fine')
  T.eq(bridge.inside('notes/not-yet.md'), true, 'a file yet to be written')
  local function no_outside_buffer()
    for _, b in ipairs(vim.api.nvim_list_bufs()) do
      local name = vim.api.nvim_buf_get_name(b)
      T.ok(not name:find(outside, 1, true), 'a buffer of the outside file: ' .. name)
      T.ok(name ~= repo .. '/link' and name ~= repo .. '/dangling', 'a buffer of the link: ' .. name)
      for _, line in ipairs(buffer_lines(b)) do
        T.ok(line ~= 'secret', 'the secret in buffer ' .. name)
      end
    end
  end
  -- From the changes buffer.
  vim.cmd('AgentBridgeChanges')
  local buf = vim.api.nvim_get_current_buf()
  T.wait(function()
    return buffer_lines(buf)[1]:find('live', 1, true) ~= nil and vim.tbl_contains(buffer_lines(buf), 'added     link')
  end, 10000, 'the link entry')
  local row
  for i, line in ipairs(buffer_lines(buf)) do
    if line == 'added     link' then
      row = i
    end
  end
  press_enter_on(buf, row)
  T.wait(function()
    return #T.notes > 0
  end, 5000, 'the warning')
  T.match(T.notes[#T.notes].message, 'link leads out of the workspace')
  T.ok(vim.api.nvim_buf_get_name(0) ~= repo .. '/link', 'the link is not opened')
  no_outside_buffer()
  -- Opened directly, and the dangling one.
  for _, path in ipairs({ 'link', 'dangling', 'dir/credentials' }) do
    local done
    bridge.open(path, function()
      done = true
    end)
    T.wait(function()
      return done
    end, 5000, path)
    vim.cmd('silent! write!')
    no_outside_buffer()
  end
  T.eq(T.uv.fs_stat(outside .. '/made-by-a-write'), nil, 'no write through the dangling link')
  T.eq(table.concat(vim.fn.readfile(outside .. '/credentials'), '\n'), 'secret')
  -- The diff tab: the bridge's text on the right, not the file.
  bridge.diff('link')
  T.wait(function()
    return vim.fn.bufnr('agent-bridge://original/link') > 0 or #T.notes > 1
  end, 5000, 'the diff')
  no_outside_buffer()
  -- A link inside opens as a file.
  local done
  bridge.open('inner', function()
    done = true
  end)
  T.wait(function()
    return done
  end)
  T.eq(vim.api.nvim_buf_get_name(0), repo .. '/inner')
  T.eq(buffer_lines(0), { '# demo' })
end, { skip = T.unless_methods('gitChanges', 'gitDiff') })

T.run()
