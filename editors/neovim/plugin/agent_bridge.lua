-- User commands for agent_bridge (see :help agent-bridge). The bridge
-- starts on the first command; configure it with
-- require('agent_bridge').setup({ cmd = { 'agent-bridge' } }).
if vim.g.loaded_agent_bridge then
  return
end
vim.g.loaded_agent_bridge = true
-- The default workspace: where Neovim started, not wherever :cd leads later.
vim.g.agent_bridge_start_dir = vim.g.agent_bridge_start_dir or vim.fn.getcwd()

local function bridge()
  return require('agent_bridge')
end

-- Every command runs guarded: an error is one line, not a Lua stack trace.
local function command(name, fn, opts)
  vim.api.nvim_create_user_command(name, function(args)
    bridge().guarded(fn, args)
  end, opts)
end

command('AgentBridgeChanges', function()
  bridge().changes()
end, { nargs = 0, desc = "The agent's changes in a buffer that stays current" })

command('AgentBridgeQuickfix', function()
  bridge().quickfix()
end, { nargs = 0, desc = "The agent's changes as a quickfix list, at each first change" })

command('AgentBridgeDiff', function(opts)
  bridge().diff(opts.args)
end, {
  nargs = '?',
  desc = 'Diff a file against the base the agent started from',
  complete = function(lead)
    return bridge().complete_changes(lead)
  end,
})

command('AgentBridgeFiles', function()
  bridge().files()
end, { nargs = 0, desc = "Open a file of the agent's workspace" })

command('AgentBridgeZip', function(opts)
  bridge().zip(opts.args)
end, { nargs = '?', complete = 'file', desc = 'Write the workspace as a zip file (default: outside it)' })

command('AgentBridgeLog', function()
  bridge().open_log()
end, { nargs = 0, desc = "The bridge's stderr" })

command('AgentBridgeRestart', function(opts)
  bridge().restart(opts.args)
end, { nargs = '?', complete = 'dir', desc = 'Stop the bridge and start a new one (on [dir])' })

command('AgentBridgeStop', function()
  if bridge().stop() == nil then
    vim.notify('agent-bridge: not running')
  end
end, { nargs = 0, desc = 'Stop the bridge (the next command starts it again)' })

command('AgentBridgeFeedback', function(opts)
  local polarity, text = opts.args:match('^%s*(%S*)%s*(.-)%s*$')
  if polarity ~= '' and polarity ~= 'positive' and polarity ~= 'negative' then
    vim.notify('agent-bridge: feedback is positive or negative, not ' .. polarity, vim.log.levels.ERROR)
    return
  end
  bridge().feedback(polarity ~= '' and polarity or nil, text ~= '' and text or nil)
end, {
  nargs = '*',
  desc = 'Send feedback on the agent',
  complete = function(lead, line)
    if line:match('^%S+%s+%S+%s') then
      return {}
    end
    return vim.tbl_filter(function(p)
      return p:sub(1, #lead) == lead
    end, { 'positive', 'negative' })
  end,
})

vim.api.nvim_create_autocmd('VimLeavePre', {
  group = vim.api.nvim_create_augroup('agent_bridge', { clear = true }),
  callback = function()
    if package.loaded['agent_bridge'] then
      require('agent_bridge').stop(500)
    end
  end,
})
