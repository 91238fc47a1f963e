-- :checkhealth agent_bridge
local H = {}

-- vim.health.start/ok/... from 0.10; health.report_* on 0.7 to 0.9.
local function reporter()
  local health = vim.health or require('health')
  return {
    start = health.start or health.report_start,
    ok = health.ok or health.report_ok,
    warn = health.warn or health.report_warn,
    error = health.error or health.report_error,
    info = health.info or health.report_info,
  }
end

function H.check()
  local report = reporter()
  local bridge = require('agent_bridge')
  local cmd = bridge.config().cmd or { 'agent-bridge' }

  report.start('agent-bridge program')
  local program = vim.fn.exepath(cmd[1])
  if program == '' then
    report.error(
      cmd[1] .. ' is not an executable on PATH',
      { "build it (swift build -c release) and put it on PATH, or require('agent_bridge').setup({ cmd = { '/path/to/agent-bridge' } })" }
    )
    return
  end
  local version = vim.fn.system({ program, '--version' }):gsub('%s+$', '')
  if vim.v.shell_error ~= 0 then
    report.warn(program .. ' --version failed: ' .. version)
  else
    report.ok(program .. ' ' .. version)
  end

  report.start('bridge')
  local answer, err = bridge.request_sync('health', {}, 5000)
  if answer ~= 'OK' then
    report.error('the bridge does not answer health: ' .. vim.inspect(err or answer), { ':AgentBridgeLog shows its stderr' })
    return
  end
  report.ok('running (pid ' .. tostring(bridge.pid()) .. ') and answering')
  local info
  bridge.workspace_info(function(i)
    info = i
  end)
  vim.wait(5000, function()
    return info ~= nil
  end, 10)
  if not info then
    report.warn('workspaceInfo did not answer')
  else
    report.ok('workspace: ' .. info.workspace)
    if info.gitRepository == false then
      report.warn('the workspace is not a git repository: there are no changes to show')
    elseif info.gitRepository == nil then
      report.info('this bridge has no workspaceInfo: it cannot say whether the workspace is a git repository')
    end
    if vim.fn.getcwd() ~= info.workspace then
      report.info('the current directory (' .. vim.fn.getcwd() .. ') is not the workspace; paths stay in the workspace')
    end
  end
  local sub, sub_err = bridge.request_sync('subscribe', { events = { 'git' } }, 5000)
  if sub then
    bridge.request('unsubscribe', { subscriptionId = sub.subscriptionId })
    report.ok('subscribe works: :AgentBridgeChanges is live')
  else
    report.warn(
      'subscribe failed: ' .. tostring(sub_err and sub_err.message),
      { ':AgentBridgeChanges refreshes when entered instead of live' }
    )
  end

  report.start('help')
  local doc = vim.api.nvim_get_runtime_file('doc/agent-bridge.txt', false)[1]
  if not doc then
    report.warn('doc/agent-bridge.txt is not on the runtime path')
  elseif vim.fn.filereadable(vim.fn.fnamemodify(doc, ':h') .. '/tags') == 1 then
    report.ok(':help agent-bridge works')
  else
    report.warn('no doc/tags beside ' .. doc, { ':helptags ' .. vim.fn.fnamemodify(doc, ':h') })
  end
end

return H
