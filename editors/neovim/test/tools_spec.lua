-- :checkhealth, :help, :AgentBridgeLog/Restart/Stop, guarded callbacks and
-- the zip's default destination, against the real binary.
local T = dofile(vim.fn.fnamemodify(debug.getinfo(1, 'S').source:sub(2), ':h') .. '/harness.lua')

local function buffer_text(buf)
  return table.concat(vim.api.nvim_buf_get_lines(buf or 0, 0, -1, false), '\n')
end

T.test(':help agent-bridge works from the shipped doc/tags, which are up to date', function()
  vim.cmd('help agent-bridge')
  T.eq(vim.bo.buftype, 'help')
  T.match(vim.fn.expand('%:t'), 'agent%-bridge%.txt')
  vim.cmd('help :AgentBridgeChanges')
  vim.cmd('close')
  local fresh = T.temp_dir()
  vim.fn.writefile(vim.fn.readfile(T.plugin_dir .. '/doc/agent-bridge.txt'), fresh .. '/agent-bridge.txt')
  vim.cmd('helptags ' .. vim.fn.fnameescape(fresh))
  T.eq(
    vim.fn.readfile(T.plugin_dir .. '/doc/tags'),
    vim.fn.readfile(fresh .. '/tags'),
    'doc/tags (regenerate: nvim --headless -u NONE -c "helptags editors/neovim/doc" -c q)'
  )
end)

T.test(':checkhealth agent_bridge reports the program, the bridge and its workspace', function()
  local repo = T.make_repo()
  T.fresh(repo)
  vim.cmd('silent checkhealth agent_bridge')
  local text = buffer_text()
  T.match(text, 'agent%-bridge program')
  T.match(text, 'OK:? ' .. vim.pesc(T.bin) .. ' ')
  T.match(text, 'OK:? running %(pid %d+%) and answering')
  T.match(text, 'OK:? workspace: ' .. vim.pesc(repo))
  T.match(text, 'OK:? subscribe works')
  T.match(text, 'OK:? :help |?agent%-bridge|? works')
  T.ok(not text:find('ERROR'), text)
end)

T.test(':checkhealth agent_bridge names a missing program', function()
  local bridge = require('agent_bridge')
  bridge.stop()
  bridge.setup({ cmd = { '/nonexistent/agent-bridge' } })
  vim.cmd('silent checkhealth agent_bridge')
  local text = buffer_text()
  T.match(text, 'ERROR:? /nonexistent/agent%-bridge is not an executable')
  T.match(text, 'setup%(')
end)

T.test(':AgentBridgeLog shows the bridge stderr', function()
  local repo = T.make_repo()
  T.fresh(repo, { '--log-level', 'info' })
  T.eq(require('agent_bridge').request_sync('health'), 'OK')
  T.wait(function()
    return #require('agent_bridge').log() > 0
  end, 5000, 'a log line')
  vim.cmd('AgentBridgeLog')
  T.eq(vim.api.nvim_buf_get_name(0), 'agent-bridge://log')
  T.match(buffer_text(), 'serving ' .. vim.pesc(repo))
  vim.cmd('AgentBridgeLog')
  T.eq(#vim.api.nvim_list_wins(), 2, 'one log window')
end)

T.test(':AgentBridgeStop stops; :AgentBridgeRestart starts anew and the changes buffer is live again', function()
  local repo = T.make_repo()
  local bridge = T.fresh(repo)
  vim.cmd('AgentBridgeChanges')
  local buf = vim.api.nvim_get_current_buf()
  T.wait(function()
    return vim.api.nvim_buf_line_count(buf) == 5 and vim.api.nvim_buf_get_lines(buf, 0, 1, false)[1]:find('live') ~= nil
  end, 10000, 'the changes')
  local pid = bridge.pid()
  vim.cmd('AgentBridgeStop')
  T.eq(bridge.pid(), nil)
  T.eq(T.uv.kill(pid, 0), nil, 'the process is gone')
  T.wait(function()
    return vim.api.nvim_buf_get_lines(buf, 0, 1, false)[1]:find('the bridge stopped', 1, true) ~= nil
  end, 5000, 'the header to say so')
  vim.cmd('AgentBridgeRestart')
  T.ok(bridge.pid() and bridge.pid() ~= pid, 'a new bridge')
  T.match(T.notes[#T.notes].message, 'restarted')
  T.wait(function()
    return vim.api.nvim_buf_get_lines(buf, 0, 1, false)[1]:find('· live$') ~= nil
  end, 10000, 'live again')
  T.write_file(repo .. '/after restart.txt', 'x\n')
  T.wait(function()
    return vim.api.nvim_buf_line_count(buf) == 6
  end, 10000, 'a notification from the new bridge')
  -- With a directory: the bridge moves there, and so does the view.
  local other = T.make_repo()
  vim.cmd('AgentBridgeRestart ' .. vim.fn.fnameescape(other))
  T.eq(bridge.root(), other)
  T.wait(function()
    return vim.api.nvim_buf_get_lines(buf, 0, 1, false)[1]:find(vim.pesc(other) .. ' · 3 changes · live') ~= nil
  end, 10000, 'the view on the other workspace')
end, { skip = T.unless_methods('subscribe') })

T.test('a killed bridge: the changes buffer says so, and entering it reconnects', function()
  local repo = T.make_repo()
  local bridge = T.fresh(repo)
  vim.cmd('AgentBridgeChanges')
  local buf = vim.api.nvim_get_current_buf()
  local function header()
    return vim.api.nvim_buf_get_lines(buf, 0, 1, false)[1]
  end
  T.wait(function()
    return header():find('3 changes · live$') ~= nil
  end, 10000, 'live')
  local pid = bridge.pid()
  T.uv.kill(pid, 'sigkill')
  T.wait(function()
    return header():find('the bridge stopped', 1, true) ~= nil
  end, 5000, 'the header to say so')
  T.match(T.notes[1].message, 'exited unexpectedly')
  T.eq(vim.api.nvim_buf_line_count(buf), 5, 'the last entries stay')
  vim.cmd('wincmd p')
  vim.cmd('wincmd p')
  T.eq(vim.api.nvim_get_current_buf(), buf)
  T.wait(function()
    return header():find('3 changes · live$') ~= nil
  end, 10000, 'live again')
  T.ok(bridge.pid() ~= pid)
  T.write_file(repo .. '/after.txt', 'x\n')
  T.wait(function()
    return vim.api.nvim_buf_line_count(buf) == 6
  end, 10000, 'a notification from the new bridge')
end, { skip = T.unless_methods('subscribe') })

T.test('<C-c> in a prompt is quiet; an error in a callback is one line, not a stack trace', function()
  local repo = T.make_repo()
  T.fresh(repo)
  local select = vim.ui.select
  local called = false
  vim.ui.select = function()
    called = true
    error('Keyboard interrupt')
  end
  vim.v.errmsg = ''
  local ok, err = pcall(function()
    vim.cmd('AgentBridgeFiles')
    T.wait(function()
      return called
    end)
    vim.wait(100)
  end)
  vim.ui.select = function()
    error('the picker broke')
  end
  local ok2, err2 = pcall(function()
    vim.cmd('AgentBridgeFiles')
    T.wait(function()
      return #T.notes > 0
    end)
  end)
  vim.ui.select = select
  assert(ok, err)
  assert(ok2, err2)
  T.eq(vim.v.errmsg, '', 'no error reached the editor')
  T.eq(#T.notes, 1, vim.inspect(T.notes))
  T.eq(T.notes[1].message, 'agent-bridge: the picker broke')
  T.eq(T.notes[1].level, vim.log.levels.ERROR)
end, { skip = T.unless_methods('listFiles') })

T.test(':AgentBridgeZip with no name writes outside the workspace', function()
  local repo = T.make_repo()
  local out = T.temp_dir()
  T.fresh(repo, nil, { zip_directory = out })
  vim.cmd('AgentBridgeZip')
  T.wait(function()
    return #T.notes > 0
  end, 10000, 'the zip')
  local written = vim.fn.glob(out .. '/' .. vim.fn.fnamemodify(repo, ':t') .. '-*.zip', false, true)
  T.eq(#written, 1, vim.inspect(T.notes))
  T.match(T.notes[1].message, vim.pesc(written[1]))
  T.eq(vim.fn.glob(repo .. '/*.zip'), '')
  -- Unconfigured, the default is not in the workspace either.
  T.fresh(repo)
  T.ok(vim.fn.stridx(require('agent_bridge').zip_directory() .. '/', repo .. '/') ~= 0)
  -- A name inside the workspace is written, with a warning.
  vim.cmd('AgentBridgeZip ' .. repo .. '/in.zip')
  T.wait(function()
    return #T.notes >= 2
  end, 10000, 'the zip')
  T.match(T.notes[1].message, 'inside the workspace')
  T.eq(T.notes[1].level, vim.log.levels.WARN)
end, { skip = T.unless_methods('zipDirectory') })

T.run()
