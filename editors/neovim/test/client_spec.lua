-- The agent_bridge client against the real binary: framing, errors with
-- codes, notifications, stop/shutdown/exit, crashes.
local T = dofile(vim.fn.fnamemodify(debug.getinfo(1, 'S').source:sub(2), ':h') .. '/harness.lua')
local uv = T.uv

T.test('request_sync returns results; concurrent async requests match their ids', function()
  local bridge = T.fresh(T.make_repo())
  T.eq({ bridge.request_sync('health', {}) }, { 'OK' })
  local answers = {}
  for i = 1, 40 do
    bridge.request('health', nil, function(err, result)
      answers[i] = err or result
    end)
  end
  T.wait(function()
    return vim.tbl_count(answers) == 40
  end)
  for i = 1, 40 do
    T.eq(answers[i], 'OK')
  end
end)

T.test('the workspace reaches the bridge through initialize', function()
  local repo = T.make_repo()
  local bridge = T.fresh(repo)
  local conversations = bridge.request_sync('listConversations', {})
  T.eq(#conversations, 1)
  T.eq(conversations[1].workspace, repo)
end)

T.test('errors come back as nil and a table with the JSON-RPC code and data', function()
  local bridge = T.fresh(T.make_repo())
  local result, err = bridge.request_sync('noSuchMethod', {})
  T.eq(result, nil)
  T.eq(err.code, -32601)
  T.match(err.message, 'noSuchMethod')
  result, err = bridge.request_sync('closeConversation', { conversationId = 'nope' })
  T.eq(err.code, -32001)
  T.eq(err.data, { httpStatus = 404, body = { detail = 'Conversation nope not found' } })
  local _, async_err
  bridge.request('openConversation', { workspace = 42 }, function(e)
    async_err = e
  end)
  T.wait(function()
    return async_err ~= nil
  end)
  T.eq(async_err.code, -32602)
  T.eq(bridge.request_sync('health'), 'OK', 'the session survives its errors')
end)

T.test('Content-Length counts bytes: non-ASCII paths round-trip', function()
  local repo = T.make_repo()
  local other = repo .. '/dossier-é-€-😀'
  vim.fn.mkdir(other, 'p')
  local bridge = T.fresh(repo)
  local opened = T.ok(bridge.request_sync('openConversation', { workspace = other }))
  local found = false
  for _, c in ipairs(bridge.request_sync('listConversations')) do
    found = found or (c.conversationId == opened.conversationId and c.workspace == other)
  end
  T.ok(found, 'the non-ASCII workspace is listed')
end)

T.test("the bridge's stderr is kept for :lua print(vim.inspect(require('agent_bridge').log()))", function()
  local repo = T.make_repo()
  local bridge = T.fresh(repo, { '--log-level', 'info' })
  T.eq(bridge.request_sync('health'), 'OK')
  T.wait(function()
    return table.concat(bridge.log(), '\n'):find('serving ' .. repo, 1, true) ~= nil
  end, 5000, 'the startup log line')
end)

T.test('stop sends shutdown and exit: exit code 0; the next request starts a new bridge', function()
  local bridge = T.fresh(T.make_repo())
  T.eq(bridge.request_sync('health'), 'OK')
  local pid = bridge.pid()
  T.eq({ bridge.stop() }, { 0, 0 })
  T.eq(bridge.pid(), nil)
  T.eq(uv.kill(pid, 0), nil, 'the old process is gone')
  T.eq(bridge.request_sync('health'), 'OK')
  T.ok(bridge.pid() ~= pid)
  T.eq(#T.notes, 0, 'a requested stop is not reported as a crash')
end)

T.test('stop kills a bridge that does not answer', function()
  local bridge = T.fresh(T.make_repo())
  T.eq(bridge.request_sync('health'), 'OK')
  local pid = bridge.pid()
  T.sigstop(pid)
  local started = uv.now()
  local code, signal = bridge.stop(300)
  T.ok(uv.now() - started < 5000, 'stop returned in time')
  T.ok(code ~= nil and signal ~= 0, 'ended by a signal: ' .. vim.inspect({ code, signal }))
  T.eq(uv.kill(pid, 0), nil, 'the process is gone')
end)

T.test('request_sync times out, cancels, and the session goes on', function()
  local bridge = T.fresh(T.make_repo())
  T.eq(bridge.request_sync('health'), 'OK')
  local pid = bridge.pid()
  T.sigstop(pid)
  local result, err = bridge.request_sync('health', {}, 200)
  T.eq(result, nil)
  T.eq(err.code, bridge.errors.TIMEOUT)
  uv.kill(pid, 'sigcont')
  T.eq(bridge.request_sync('health'), 'OK')
end)

T.test('a crash fails pending requests with CONNECTION_CLOSED and warns', function()
  local bridge = T.fresh(T.make_repo())
  T.eq(bridge.request_sync('health'), 'OK')
  local pid = bridge.pid()
  T.sigstop(pid)
  local err
  bridge.request('health', {}, function(e)
    err = e
  end)
  uv.kill(pid, 'sigkill')
  T.wait(function()
    return err ~= nil
  end)
  T.eq(err.code, bridge.errors.CONNECTION_CLOSED)
  T.wait(function()
    return #T.notes > 0
  end)
  T.match(T.notes[1].message, 'exited unexpectedly')
  T.eq(T.notes[1].level, vim.log.levels.WARN)
  T.eq(bridge.request_sync('health'), 'OK', 'the next request starts a new bridge')
end)

T.test('a missing binary is a clear error, not a crash', function()
  local bridge = require('agent_bridge')
  bridge.stop()
  bridge.setup({ cmd = { '/nonexistent/agent-bridge' } })
  local result, err = bridge.request_sync('health')
  T.eq(result, nil)
  T.eq(err.code, bridge.errors.NOT_RUNNING)
  T.match(err.message, '/nonexistent/agent%-bridge')
  T.match(err.message, 'setup%(')
end)

T.test('setup refuses a cmd that is not a list of strings', function()
  local bridge = require('agent_bridge')
  local ok, err = pcall(bridge.setup, { cmd = 'agent-bridge' })
  T.eq(ok, false)
  T.match(err, 'cmd must be a list')
end)

T.test('$/progress notifications reach on_notification', function()
  local repo = T.make_repo()
  local bridge = T.fresh(repo)
  local seen = {}
  local unsubscribe = bridge.on_notification('$/progress', function(params)
    table.insert(seen, params)
  end)
  local files = T.ok(bridge.request_sync('zipDirectory', { destination = T.temp_dir() .. '/p.zip', workDoneToken = 'tok-1' }))
  unsubscribe()
  T.ok(files.entries > 0)
  T.wait(function()
    return #seen > 0 and seen[#seen].value.kind == 'end'
  end, 3000, 'the end of progress')
  T.eq(seen[1].token, 'tok-1')
  T.eq(seen[1].value.kind, 'begin')
end, { skip = T.unless_methods('zipDirectory') })

T.test('cancel() stops a long request with -32800', function()
  local repo = T.make_repo()
  local blob = string.rep('x', 1024 * 1024)
  for i = 1, 200 do
    T.write_file(repo .. '/big/f' .. i .. '.txt', blob .. i)
  end
  local bridge = T.fresh(repo)
  T.eq(bridge.request_sync('health'), 'OK')
  local err
  local destination = T.temp_dir() .. '/c.zip'
  local id = bridge.request('zipDirectory', { destination = destination }, function(e)
    err = e or { code = 0 }
  end)
  bridge.cancel(id)
  T.wait(function()
    return err ~= nil
  end, 10000)
  T.eq(err.code, -32800)
  T.eq(vim.fn.filereadable(destination), 0, 'a cancelled zip leaves no file')
end, { skip = T.unless_methods('zipDirectory') })

T.run()
