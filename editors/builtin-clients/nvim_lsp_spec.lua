-- The bridge driven by Neovim's own LSP client (vim.lsp.start_client, as an
-- nvim-lspconfig user would configure it), with no code of our plugin: only
-- what ships with Neovim. Run by editors/builtin-clients/run.sh:
--   nvim --headless -u NONE -i NONE -n -c 'luafile nvim_lsp_spec.lua'
-- AGENT_BRIDGE_BIN names the binary. One "ok"/"not ok" line per test, then
-- "N passed, N failed"; exits 1 on a failure.
local uv = vim.uv or vim.loop
local bin = vim.fn.fnamemodify(assert(os.getenv('AGENT_BRIDGE_BIN'), 'AGENT_BRIDGE_BIN is not set'), ':p')

local function out(line)
  io.stdout:write(line .. '\n')
  io.stdout:flush()
end

local function eq(actual, expected, what)
  if not vim.deep_equal(actual, expected) then
    error(string.format('%s: expected %s, got %s', what, vim.inspect(expected), vim.inspect(actual)), 2)
  end
end

local function wait(ms, predicate, what)
  if not vim.wait(ms, predicate, 10) then
    error('timed out waiting for ' .. what, 2)
  end
end

local function temp_dir()
  local dir = vim.fn.resolve(vim.fn.tempname())
  vim.fn.mkdir(dir, 'p')
  return dir
end

local function write(path, text)
  vim.fn.mkdir(vim.fn.fnamemodify(path, ':h'), 'p')
  local file = assert(io.open(path, 'wb'))
  file:write(text)
  file:close()
end

local function git(dir, ...)
  local cmd = { 'git', '-C', dir, '-c', 'user.name=Test', '-c', 'user.email=test@example.com', ... }
  local output = vim.fn.system(cmd)
  assert(vim.v.shell_error == 0, table.concat(cmd, ' ') .. ': ' .. output)
end

-- One commit (a.txt, src/main.lua), then a.txt modified and new.txt added.
local function make_repo()
  local dir = temp_dir()
  git(dir, 'init', '-q')
  write(dir .. '/a.txt', 'one\n')
  write(dir .. '/src/main.lua', 'print(1)\n')
  git(dir, 'add', '-A')
  git(dir, 'commit', '-q', '-m', 'initial')
  write(dir .. '/a.txt', 'one\ntwo\n')
  write(dir .. '/new.txt', 'fresh\n')
  write(vim.fn.fnamemodify(dir, ':h') .. '/outside.txt', 'not served\n')
  return dir
end

-- What an lspconfig user writes: the program as `cmd`, the project as
-- `root_dir`. The bridge is started elsewhere (cmd_cwd), so the workspace
-- it serves can only come from initialize's rootUri/workspaceFolders.
local function start(root)
  local exits = {}
  local init_result
  local id = vim.lsp.start_client({
    name = 'agent-bridge',
    cmd = { bin },
    cmd_cwd = temp_dir(),
    root_dir = root,
    on_init = function(_, result)
      init_result = result
    end,
    on_exit = function(code, signal)
      table.insert(exits, { code = code, signal = signal })
    end,
  })
  assert(id, 'vim.lsp.start_client returned nil')
  local client = vim.lsp.get_client_by_id(id)
  wait(20000, function()
    return client.initialized and init_result ~= nil
  end, 'initialize')
  return client, init_result, exits
end

-- client.request with a callback, waited for: {err=..., result=...}.
local function call(client, method, params, timeout)
  local reply
  local ok = client.request(method, params, function(err, result)
    reply = { err = err, result = result }
  end)
  assert(ok, 'client.request refused ' .. method)
  wait(timeout or 20000, function()
    return reply ~= nil
  end, method)
  return reply
end

local function stop(client, exits)
  client.stop()
  wait(10000, function()
    return #exits > 0
  end, 'the bridge to exit')
end

local tests = {}
local function test(name, fn)
  table.insert(tests, { name = name, fn = fn })
end

test('initialize: serverInfo, the methods, cancellation, and the workspace from root_dir', function()
  local repo = make_repo()
  local client, result, exits = start(repo)
  eq(result.serverInfo.name, 'agent-bridge', 'serverInfo.name')
  eq(type(result.serverInfo.version), 'string', 'serverInfo.version')
  eq(client.server_capabilities.cancellation, true, 'capabilities.cancellation')
  for _, method in ipairs({ 'health', 'listFiles', 'gitChanges', 'selectFile', 'zipDirectory' }) do
    eq(vim.tbl_contains(client.server_capabilities.methods, method), true, 'capabilities.methods has ' .. method)
  end
  -- The workspace is root_dir, not the directory the bridge runs in.
  eq(call(client, 'getConfig', {}).result.session_id ~= nil, true, 'getConfig answers')
  eq(call(client, 'listFiles', {}).result, { 'src/', 'a.txt', 'new.txt' }, 'listFiles at the root')
  stop(client, exits)
end)

test('requests with params nil, {} (sent as []) and named params', function()
  local repo = make_repo()
  local client, _, exits = start(repo)
  -- Neovim encodes an empty Lua table as an array: the bridge takes it as no params.
  eq(vim.json.encode({}), '[]', 'what Neovim sends for {}')
  for _, params in ipairs({ vim.NIL, {} }) do
    local reply = call(client, 'health', params ~= vim.NIL and params or nil)
    eq(reply.err, nil, 'health error')
    eq(reply.result, 'OK', 'health')
  end
  eq(call(client, 'listFiles', { path = 'src' }).result, { 'src/main.lua' }, 'listFiles src')
  eq(
    call(client, 'gitChanges', {}).result,
    { { status = 'M', path = 'a.txt' }, { status = 'A', path = 'new.txt' } },
    'gitChanges'
  )
  local diff = call(client, 'gitDiff', { path = 'a.txt' }).result
  eq(diff, { original = 'one', modified = 'one\ntwo' }, 'gitDiff')
  stop(client, exits)
end)

test('an error reaches the handler with its code: selectFile outside the workspace is -32014', function()
  local repo = make_repo()
  local client, _, exits = start(repo)
  local reply = call(client, 'selectFile', { file = '../outside.txt' })
  eq(reply.result, nil, 'no result')
  eq(reply.err.code, -32014, 'error code')
  assert(reply.err.message:find('outside the workspace', 1, true), reply.err.message)
  eq(reply.err.data.httpStatus, 403, 'error data')
  -- A non-empty array is still refused (by position params are not taken).
  eq(call(client, 'listFiles', { 'src' }).err.code, -32602, 'listFiles ["src"]')
  eq(call(client, 'health', nil).result, 'OK', 'the session goes on')
  stop(client, exits)
end)

test('client.cancel_request stops a long zipDirectory: $/cancelRequest, the -32800 ack, no file', function()
  local repo = make_repo()
  local blob = string.rep('agent bridge ', 80000)
  for i = 1, 150 do
    write(repo .. '/big/f' .. i .. '.txt', blob .. i)
  end
  local client, _, exits = start(repo)
  local out_dir = temp_dir()
  -- Uncancelled, the zip is written: how long it takes bounds the wait below.
  local started = uv.now()
  local whole = call(client, 'zipDirectory', { destination = out_dir .. '/whole.zip' }, 120000)
  local took = uv.now() - started
  eq(whole.err, nil, 'the uncancelled zip')
  eq(vim.fn.filereadable(out_dir .. '/whole.zip'), 1, 'the uncancelled zip is written')

  local called = false
  local destination = out_dir .. '/cancelled.zip'
  local ok, id = client.request('zipDirectory', { destination = destination }, function()
    called = true
  end)
  assert(ok)
  eq(client.requests[id].type, 'pending', 'the request is pending')
  client.cancel_request(id)
  eq(client.requests[id].type, 'cancel', 'marked cancelled')
  -- Neovim drops the entry when the reply comes, and keeps a -32800 reply
  -- (RequestCancelled) from the handler: the reply came, and it was the ack.
  wait(math.max(5000, took * 2), function()
    return client.requests[id] == nil
  end, 'the reply to the cancelled request')
  eq(called, false, 'the handler saw no result (the reply was -32800)')
  vim.wait(math.max(500, took * 1.5), function()
    return false
  end, 50)
  eq(vim.fn.filereadable(destination), 0, 'a cancelled zip writes no file, however long one waits')
  eq(call(client, 'health', nil).result, 'OK', 'the session goes on')
  stop(client, exits)
end)

test('client.stop(): shutdown then exit, and the bridge exits 0', function()
  local repo = make_repo()
  local client, _, exits = start(repo)
  local pid = client.rpc.pid
  stop(client, exits)
  eq(exits[1], { code = 0, signal = 0 }, 'exit code and signal')
  eq(client.is_stopped(), true, 'client stopped')
  if pid then
    eq(uv.kill(pid, 0), nil, 'the process is gone')
  end
end)

local passed, failed = 0, 0
for _, t in ipairs(tests) do
  local ok, err = pcall(t.fn)
  if ok then
    passed = passed + 1
    out('ok - ' .. t.name)
  else
    failed = failed + 1
    out('not ok - ' .. t.name .. ': ' .. tostring(err))
  end
end
out(string.format('%d passed, %d failed', passed, failed))
vim.cmd(failed == 0 and 'qall!' or 'cquit 1')
