-- agent_bridge: shows a person what an AI agent changed in the workspace,
-- through an `agent-bridge` process spawned over stdio (JSON-RPC 2.0 with
-- Content-Length framing).
--
-- The transport is written on libuv directly rather than vim.lsp.rpc, whose
-- start() changed signature in 0.10 and whose stderr goes to the LSP log:
-- this way one code path serves Debian's 0.7.2 and 0.10+ alike. The only
-- version differences are feature-checked (vim.uv vs vim.loop).

local M = {}

local uv = vim.uv or vim.loop
local islist = vim.islist or vim.tbl_islist

-- Client-side error codes (the bridge never sends these).
M.errors = {
  CONNECTION_CLOSED = -32097, -- the process exited while the request waited
  NOT_RUNNING = -32096, -- the process could not be started
  TIMEOUT = -32098, -- request_sync gave up (the request is cancelled)
  REQUEST_CANCELLED = -32800, -- the bridge's answer to $/cancelRequest
}

local defaults = {
  cmd = nil, -- default { 'agent-bridge' }
  workspace = nil, -- default: the directory Neovim started in
  timeout_ms = 10000, -- request_sync's default
  zip_directory = nil, -- default: ~/Downloads if it exists, else stdpath('cache')/agent-bridge
}
local config = vim.deepcopy(defaults)

local client = nil -- the running process, see start()
local handlers = {} -- notification method -> { handler, ... }
local next_token = 0

local function notify(message, level)
  vim.notify('agent-bridge: ' .. message, level or vim.log.levels.INFO)
end

local function encode(value)
  if value == nil or (type(value) == 'table' and next(value) == nil) then
    return vim.empty_dict()
  end
  return value
end

local function nil_if_null(value)
  if value == vim.NIL then
    return nil
  end
  return value
end

--- Runs fn(...) and reports an error as one line instead of a stack
--- trace; <C-c> in a prompt (Keyboard interrupt) is no error at all.
function M.guarded(fn, ...)
  local ok, err = pcall(fn, ...)
  if not ok then
    local text = tostring(err)
    if not text:find('Keyboard interrupt', 1, true) then
      notify((text:gsub('^[^:]*:%d+: ', '')), vim.log.levels.ERROR)
    end
  end
  return ok
end

-- Framing ----------------------------------------------------------------

-- Data arrives in chunks; they are kept in a list and joined when a whole
-- message is there, so a large reply is copied once, not once per chunk.
local function take_messages(c, data, deliver)
  table.insert(c.chunks, data)
  c.size = c.size + #data
  while true do
    if not c.want then
      local buffer = table.concat(c.chunks)
      local header_end = buffer:find('\r\n\r\n', 1, true)
      local first = buffer:sub(1, 1)
      if first == '{' or first == '[' then
        -- Newline-delimited JSON, accepted for robustness.
        local newline = buffer:find('\n', 1, true)
        if not newline then
          c.chunks, c.size = { buffer }, #buffer
          return
        end
        deliver(buffer:sub(1, newline - 1))
        buffer = buffer:sub(newline + 1)
        c.chunks, c.size = { buffer }, #buffer
      elseif first == '\r' or first == '\n' then
        buffer = buffer:gsub('^[\r\n]+', '')
        c.chunks, c.size = { buffer }, #buffer
        if buffer == '' then
          return
        end
      elseif not header_end then
        c.chunks, c.size = { buffer }, #buffer
        return
      else
        local length
        for line in buffer:sub(1, header_end - 1):gmatch('[^\r\n]+') do
          local name, value = line:match('^%s*([^:]+):%s*(.-)%s*$')
          if name and name:lower() == 'content-length' then
            length = tonumber(value)
          end
        end
        buffer = buffer:sub(header_end + 4)
        c.chunks, c.size = { buffer }, #buffer
        if length then
          c.want = length
        else
          c.log('bad message header from the bridge')
        end
      end
    else
      if c.size < c.want then
        return
      end
      local buffer = table.concat(c.chunks)
      local body = buffer:sub(1, c.want)
      buffer = buffer:sub(c.want + 1)
      c.chunks, c.size, c.want = { buffer }, #buffer, nil
      deliver(body)
    end
  end
end

-- The process ------------------------------------------------------------

local function write(c, message)
  local body = vim.json.encode(message)
  c.stdin:write('Content-Length: ' .. #body .. '\r\n\r\n' .. body)
end

local function dispatch(c, body)
  local ok, message = pcall(vim.json.decode, body, { luanil = { object = true } })
  if not ok or type(message) ~= 'table' then
    c.log('unparsable message from the bridge: ' .. tostring(message))
    return
  end
  local list = islist(message) and message or { message }
  for _, one in ipairs(list) do
    if one.method and one.id ~= nil then
      -- The bridge sends no requests today; answer so it never waits.
      write(c, { jsonrpc = '2.0', id = one.id, error = { code = -32601, message = 'Unhandled method ' .. one.method } })
    elseif one.method then
      for _, handler in ipairs(handlers[one.method] or {}) do
        local handled, err = pcall(handler, nil_if_null(one.params), one.method)
        if not handled then
          c.log('notification handler failed: ' .. tostring(err))
        end
      end
    else
      local callback = c.pending[one.id]
      if callback then
        c.pending[one.id] = nil
        if one.error then
          M.guarded(callback, { code = one.error.code, message = one.error.message, data = nil_if_null(one.error.data) }, nil)
        else
          M.guarded(callback, nil, nil_if_null(one.result))
        end
      end
    end
  end
end

local function fail_pending(c, err)
  local pending = c.pending
  c.pending = {}
  for _, callback in pairs(pending) do
    M.guarded(callback, err, nil)
  end
end

local function close_pipes(c)
  for _, pipe in ipairs({ c.stdin, c.stdout, c.stderr }) do
    if not pipe:is_closing() then
      pipe:close()
    end
  end
end

-- An absolute, symlink-free path without a trailing slash.
local function real(dir)
  local full = vim.fn.resolve(vim.fn.fnamemodify(dir, ':p'))
  return (full:gsub('(.)/$', '%1'))
end

-- The directory Neovim started in (plugin/agent_bridge.lua notes it), else
-- the one this module was loaded in: a :cd before the first command must
-- not move the bridge either.
local loaded_in = vim.fn.getcwd()

--- The workspace a bridge started now would serve: setup's `workspace`,
--- else the directory Neovim started in. Once a bridge runs, M.root() is
--- the anchor, whatever :cd, 'autochdir' or a rooter plugin do.
function M.workspace()
  if client and not client.exited then
    return M.root()
  end
  return real(config.workspace or vim.g.agent_bridge_start_dir or loaded_in)
end

--- The running bridge's workspace as an absolute real path (what
--- workspaceInfo answered, else what initialize was given), or nil.
function M.root()
  if not client or client.exited then
    return nil
  end
  return client.info and client.info.workspace or client.workspace
end

--- Increases with each bridge started: a subscription belongs to one.
function M.generation()
  return client and not client.exited and client.generation or nil
end

local exit_listeners = {}
--- Calls `fn(generation)` when a bridge ends (stopped or crashed).
function M.on_exit(fn)
  table.insert(exit_listeners, fn)
end

local generation = 0

local running -- below: the client, started if needed
local function start()
  local cmd = config.cmd or { 'agent-bridge' }
  local workspace = M.workspace()
  generation = generation + 1
  local c = {
    generation = generation,
    chunks = {},
    size = 0,
    pending = {},
    next_id = 1,
    stderr_lines = {},
    stopping = false,
    exited = false,
    workspace = workspace,
  }
  c.log = function(line)
    table.insert(c.stderr_lines, line)
    if #c.stderr_lines > 500 then
      table.remove(c.stderr_lines, 1)
    end
  end
  c.stdin, c.stdout, c.stderr = uv.new_pipe(false), uv.new_pipe(false), uv.new_pipe(false)
  local args = {}
  for i = 2, #cmd do
    args[#args + 1] = cmd[i]
  end
  local handle, pid_or_err = uv.spawn(cmd[1], {
    args = args,
    stdio = { c.stdin, c.stdout, c.stderr },
    cwd = workspace,
  }, function(code, signal)
    -- libuv's callback: a fast context, so the rest runs scheduled.
    vim.schedule(function()
      c.exited = true
      c.exit_code, c.exit_signal = code, signal
      close_pipes(c)
      if c.handle and not c.handle:is_closing() then
        c.handle:close()
      end
      if client == c then
        client = nil
      end
      fail_pending(c, { code = M.errors.CONNECTION_CLOSED, message = 'agent-bridge exited (code ' .. code .. ')' })
      for _, listener in ipairs(exit_listeners) do
        M.guarded(listener, c.generation)
      end
      if not c.stopping then
        local last = c.stderr_lines[#c.stderr_lines]
        notify(
          string.format('exited unexpectedly (code %d, signal %d)%s', code, signal, last and (': ' .. last) or ''),
          vim.log.levels.WARN
        )
      end
    end)
  end)
  if not handle then
    close_pipes(c)
    return nil,
      {
        code = M.errors.NOT_RUNNING,
        message = string.format(
          "cannot start %s (%s); set the command with require('agent_bridge').setup({ cmd = { '/path/to/agent-bridge' } })",
          cmd[1],
          tostring(pid_or_err)
        ),
      }
  end
  c.handle, c.pid = handle, pid_or_err
  c.stdout:read_start(function(err, data)
    if data then
      vim.schedule(function()
        take_messages(c, data, function(body)
          dispatch(c, body)
        end)
      end)
    end
  end)
  local partial = ''
  c.stderr:read_start(function(err, data)
    if data then
      vim.schedule(function()
        partial = partial .. data
        for line in partial:gmatch('([^\n]*)\n') do
          c.log(line)
        end
        partial = partial:match('[^\n]*$')
      end)
    end
  end)
  client = c
  -- Requests are answered in arrival order around initialize, so nothing
  -- needs to wait for its reply.
  c.pending[0] = function(_, result)
    c.conversation_id = type(result) == 'table' and result.conversationId or nil
  end
  write(c, {
    jsonrpc = '2.0',
    id = 0,
    method = 'initialize',
    params = {
      processId = vim.fn.getpid(),
      clientInfo = { name = 'neovim' },
      rootPath = workspace,
      capabilities = vim.empty_dict(),
    },
  })
  write(c, { jsonrpc = '2.0', method = 'initialized', params = vim.empty_dict() })
  c.pending[-1] = function(err, result)
    if not err and type(result) == 'table' and type(result.workspace) == 'string' then
      c.info = { workspace = result.workspace, gitRepository = result.gitRepository, conversationId = result.conversationId }
    else
      -- A bridge without workspaceInfo (-32601): what it was given.
      c.info = { workspace = workspace, gitRepository = nil }
    end
    local waiting = c.info_waiting or {}
    c.info_waiting = nil
    for _, fn in ipairs(waiting) do
      M.guarded(fn, c.info)
    end
  end
  write(c, { jsonrpc = '2.0', id = -1, method = 'workspaceInfo', params = vim.empty_dict() })
  return c
end

--- Calls `fn(info)` with {workspace, gitRepository} of the running bridge
--- (starting it if needed); gitRepository is nil when the bridge cannot
--- tell (no workspaceInfo), or when it could not be started.
function M.workspace_info(fn)
  local c = running()
  if not c then
    vim.schedule(function()
      M.guarded(fn, { workspace = M.workspace(), gitRepository = nil })
    end)
  elseif c.info then
    vim.schedule(function()
      M.guarded(fn, c.info)
    end)
  else
    c.info_waiting = c.info_waiting or {}
    table.insert(c.info_waiting, fn)
  end
end

running = function()
  if client and not client.exited and not client.stopping then
    return client
  end
  local c, err = start()
  return c, err
end

-- Public API -------------------------------------------------------------

--- Configures the plugin. `opts.cmd`: the program and its arguments (a list);
--- `opts.workspace`: the agent's workspace (default: the directory Neovim started in);
--- `opts.timeout_ms`: request_sync's default timeout; `opts.zip_directory`:
--- where :AgentBridgeZip writes without a name. Each call replaces the
--- settings; a running bridge is stopped so that the next request uses them.
function M.setup(opts)
  opts = opts or {}
  -- Checked by hand: vim.validate's table form is deprecated from 0.11.
  if opts.cmd ~= nil and (type(opts.cmd) ~= 'table' or type(opts.cmd[1]) ~= 'string') then
    error("agent_bridge.setup: cmd must be a list like { 'agent-bridge', '--log-level', 'info' }", 2)
  end
  config = vim.tbl_extend('force', defaults, opts)
  if client then
    M.stop()
  end
end

--- The settings setup() made (a copy).
function M.config()
  return vim.deepcopy(config)
end

--- Sends a request; `callback(err, result)` runs on the main loop. `err` is
--- nil or a table {code, message, data}. Returns the request id (for
--- M.cancel), or nil when the bridge could not be started.
function M.request(method, params, callback)
  callback = callback or function() end
  local c, err = running()
  if not c then
    vim.schedule(function()
      callback(err, nil)
    end)
    return nil
  end
  local id = c.next_id
  c.next_id = id + 1
  c.pending[id] = callback
  write(c, { jsonrpc = '2.0', id = id, method = method, params = encode(params) })
  return id
end

--- Asks the bridge to stop request `id`; its callback then gets -32800.
function M.cancel(id)
  if client and id and client.pending[id] then
    M.notify('$/cancelRequest', { id = id })
  end
end

--- Sends a notification.
function M.notify(method, params)
  local c = running()
  if c then
    write(c, { jsonrpc = '2.0', method = method, params = encode(params) })
  end
end

--- Waits for the result. Returns the result, or nil and an error table
--- {code, message, data}. A null result is nil with no error.
function M.request_sync(method, params, timeout_ms)
  local done, result, failure = false, nil, nil
  local id = M.request(method, params, function(err, res)
    done, result, failure = true, res, err
  end)
  local finished = vim.wait(timeout_ms or config.timeout_ms, function()
    return done
  end, 5)
  if not finished then
    M.cancel(id)
    if client and id then
      client.pending[id] = nil
    end
    return nil, { code = M.errors.TIMEOUT, message = method .. ' timed out' }
  end
  if failure then
    return nil, failure
  end
  return result, nil
end

--- Calls `handler(params, method)` for each notification named `method`.
--- Returns a function that unsubscribes.
function M.on_notification(method, handler)
  handlers[method] = handlers[method] or {}
  table.insert(handlers[method], handler)
  return function()
    for i, h in ipairs(handlers[method] or {}) do
      if h == handler then
        table.remove(handlers[method], i)
        return
      end
    end
  end
end

--- Ends the bridge: shutdown, exit, and a kill if it has not gone within
--- `timeout_ms` (default 2000). Returns the exit code and signal (nil if no
--- bridge ran).
function M.stop(timeout_ms)
  local c = client
  if not c then
    return nil
  end
  timeout_ms = timeout_ms or 2000
  local done = false
  local id = c.next_id
  c.next_id = id + 1
  c.pending[id] = function()
    done = true
  end
  c.stopping = true
  client = nil
  if not c.exited then
    write(c, { jsonrpc = '2.0', id = id, method = 'shutdown', params = vim.empty_dict() })
  end
  vim.wait(timeout_ms, function()
    return done or c.exited
  end, 5)
  if not c.exited and done then
    write(c, { jsonrpc = '2.0', method = 'exit', params = vim.empty_dict() })
    c.stdin:shutdown()
    vim.wait(timeout_ms, function()
      return c.exited
    end, 5)
  end
  if not c.exited then
    c.handle:kill('sigterm')
    if not vim.wait(1000, function()
      return c.exited
    end, 5) then
      c.handle:kill('sigkill')
      vim.wait(1000, function()
        return c.exited
      end, 5)
    end
  end
  return c.exit_code, c.exit_signal
end

--- The bridge process's pid, or nil.
function M.pid()
  return client and not client.exited and client.pid or nil
end

--- The bridge's recent stderr lines (for :messages-style inspection).
function M.log()
  return client and vim.deepcopy(client.stderr_lines) or {}
end

-- Commands ---------------------------------------------------------------

function M.report_error(what, err)
  notify(string.format('%s failed: %s (%s)', what, err.message or '?', tostring(err.code)), vim.log.levels.ERROR)
end
local report_error = M.report_error

--- `relative` (a path the bridge gave) as an absolute path in the bridge's
--- workspace: never joined to the current directory.
function M.absolute(relative)
  return M.workspace() .. '/' .. relative
end
local absolute = M.absolute

--- Whether `relative` (a path the bridge gave) stays in the workspace once
--- every symlink on the way is followed. The agent names the files: a link
--- `notes -> ~/.aws/credentials` must not be read, nor written by a :w.
--- A missing tail is judged by the deepest part that exists, and a dangling
--- link is out (writing it would create its target).
function M.inside(relative)
  local root = M.workspace()
  root = uv.fs_realpath(root) or root
  local path = absolute(relative)
  local resolved = uv.fs_realpath(path)
  while not resolved do
    local stat = uv.fs_lstat(path)
    if stat and stat.type == 'link' then
      return false
    end
    local parent = vim.fn.fnamemodify(path, ':h')
    if parent == path then
      return false
    end
    path = parent
    resolved = uv.fs_realpath(path)
  end
  return resolved == root or resolved:sub(1, #root + 1) == root .. '/'
end

--- `path` as it may be shown on one line: a newline (or any control
--- character) in an agent's file name is made visible, not obeyed.
function M.display(path)
  return (path:find('[%c]') and vim.fn.strtrans(path)) or path
end

--- A read-only scratch buffer named `agent-bridge://<kind>/<path>` holding
--- `text`, shown in the current window.
function M.scratch(kind, path, text)
  local name = 'agent-bridge://' .. kind .. '/' .. path
  for _, old in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_get_name(old) == name then
      pcall(vim.api.nvim_buf_delete, old, { force = true })
    end
  end
  local buf = vim.api.nvim_create_buf(false, true)
  vim.bo[buf].bufhidden = 'wipe'
  vim.api.nvim_buf_set_name(buf, name)
  vim.api.nvim_buf_set_var(buf, 'agent_bridge_path', path)
  vim.api.nvim_buf_set_lines(buf, 0, -1, false, vim.split(text, '\n', { plain = true }))
  vim.bo[buf].modifiable = false
  vim.bo[buf].readonly = true
  vim.api.nvim_win_set_buf(0, buf)
  return buf
end

--- Opens `relative` (a path the bridge gave) in the current window and
--- calls `on_open(buf)`. The buffer is found by name and shown by number,
--- never through an Ex command built from the name: fnameescape leaves a
--- newline, and vim.cmd runs what follows it as a command of its own. A
--- path whose links lead out of the workspace is not opened: its text as
--- gitDiff gives it is shown read-only instead (or a refusal).
function M.open(relative, on_open)
  on_open = on_open or function() end
  if not M.inside(relative) then
    M.request('gitDiff', { path = relative }, function(err, diff)
      if err or type(diff) ~= 'table' then
        notify(M.display(relative) .. ' leads out of the workspace: not opened', vim.log.levels.WARN)
        return on_open(nil)
      end
      notify(M.display(relative) .. ' leads out of the workspace: shown read-only as the bridge reads it', vim.log.levels.WARN)
      on_open(M.scratch('outside', relative, diff.modified or ''))
    end)
    return
  end
  local buf = vim.fn.bufadd(absolute(relative))
  vim.bo[buf].buflisted = true
  vim.api.nvim_win_set_buf(0, buf)
  on_open(buf)
end

--- The path of buffer `buf` (default: the current one) relative to the
--- workspace, or nil. The agent_bridge:// buffers name theirs.
function M.relative(buf)
  buf = buf or 0
  local ok, own = pcall(vim.api.nvim_buf_get_var, buf, 'agent_bridge_path')
  if ok and type(own) == 'string' then
    return own
  end
  local name = vim.api.nvim_buf_get_name(buf)
  if name == '' or name:find('^%a[%w+.-]*://') then
    return nil
  end
  local root = M.workspace() .. '/'
  for _, full in ipairs({ vim.fn.fnamemodify(name, ':p'), real(name) }) do
    if full:sub(1, #root) == root then
      return full:sub(#root + 1)
    end
  end
  return nil
end

--- The first line at which `modified` differs from `original` (both LF
--- text as gitDiff gives them), 1 when they are equal.
function M.first_changed_line(original, modified)
  if original == modified then
    return 1
  end
  local a = vim.split(original, '\n', { plain = true })
  local b = vim.split(modified, '\n', { plain = true })
  for i = 1, math.max(#a, #b) do
    if a[i] ~= b[i] then
      return math.max(1, math.min(i, #b))
    end
  end
  return 1
end

--- :AgentBridgeChanges: the live changes buffer (see agent_bridge.changes).
function M.changes()
  return require('agent_bridge.changes').open()
end

--- Entries at most in :AgentBridgeQuickfix: Neovim builds a buffer per
--- quickfix file, which takes seconds in the thousands.
M.quickfix_limit = 1000

--- :AgentBridgeQuickfix: the changes as a quickfix list, each entry at the
--- first changed line; in the list, `d` diffs the entry under the cursor.
function M.quickfix(on_done)
  on_done = on_done or function() end
  M.workspace_info(function(info)
    M.request('gitChanges', {}, function(err, changes)
      if err then
        report_error('gitChanges', err)
        return on_done(err)
      end
      if info.gitRepository == false then
        vim.fn.setqflist({}, ' ', { title = 'Agent Bridge changes', items = {} })
        notify(info.workspace .. ' is not a git repository')
        return on_done(nil, changes)
      end
      if #changes == 0 then
        vim.fn.setqflist({}, ' ', { title = 'Agent Bridge changes', items = {} })
        notify('no changes in the workspace')
        return on_done(nil, changes)
      end
      local shown = {}
      for i = 1, math.min(#changes, M.quickfix_limit) do
        shown[i] = changes[i]
      end
      local lines, waiting = {}, 0
      local function finish()
        local items = {}
        for i, change in ipairs(shown) do
          if M.inside(change.path) then
            items[i] = { filename = absolute(change.path), lnum = lines[i] or 1, text = change.status }
          else
            -- No file name: :cc would open (and :w write) where the link leads.
            items[i] = { text = change.status .. ' ' .. M.display(change.path) .. ' (leads out of the workspace: not opened)', valid = 0 }
          end
        end
        vim.fn.setqflist({}, ' ', { title = 'Agent Bridge changes', items = items, context = { agent_bridge = true } })
        if #changes > #shown then
          notify(string.format('%d changes; the quickfix list has the first %d, :AgentBridgeChanges has all', #changes, #shown), vim.log.levels.WARN)
        end
        vim.cmd('copen')
        vim.keymap.set('n', 'd', function()
          M.guarded(M.diff_quickfix_entry)
        end, { buffer = 0, desc = 'Diff the Agent Bridge entry', nowait = true })
        on_done(nil, changes)
      end
      for i, change in ipairs(shown) do
        if change.status == 'M' or change.status == 'U' then
          waiting = waiting + 1
          M.request('gitDiff', { path = change.path }, function(diff_err, diff)
            if not diff_err and diff then
              lines[i] = M.first_changed_line(diff.original, diff.modified)
            end
            waiting = waiting - 1
            if waiting == 0 then
              finish()
            end
          end)
        end
      end
      if waiting == 0 then
        finish()
      end
    end)
  end)
end

--- `d` in the quickfix window: diffs the entry under the cursor.
function M.diff_quickfix_entry()
  local list = vim.fn.getqflist({ context = 1, items = 1 })
  local item = list.items[vim.fn.line('.')]
  if type(list.context) ~= 'table' or not list.context.agent_bridge or not item then
    notify('not an Agent Bridge quickfix list', vim.log.levels.WARN)
    return
  end
  local path = M.relative(item.bufnr)
  if path then
    M.diff(path)
  end
end

--- :AgentBridgeDiff [path]: the diff tab (see agent_bridge.diff). `path`
--- is relative to the workspace; default: the current buffer's file, or
--- the entry under the cursor in the changes buffer.
function M.diff(path, on_done)
  path = (path and path ~= '') and path or M.relative(0)
  if not path and vim.b.agent_bridge_changes then
    path = require('agent_bridge.changes').path_at_cursor()
  end
  if not path then
    notify('give a path relative to the workspace, or run this from a file in it', vim.log.levels.ERROR)
    return
  end
  M.request('gitDiff', { path = path }, function(err, diff)
    if err then
      report_error('gitDiff', err)
    else
      M.show_diff(path, diff)
    end
    if on_done then
      on_done(err, diff)
    end
  end)
end

--- Shows a gitDiff result for `path` in the diff tab; returns the original's
--- scratch buffer.
function M.show_diff(path, diff)
  return require('agent_bridge.diff').show(path, diff)
end

local log_buffer
--- :AgentBridgeLog: the bridge's stderr in a scratch buffer.
function M.open_log()
  local name = 'agent-bridge://log'
  local buf = vim.fn.bufnr('^' .. vim.pesc(name):gsub('%%', '\\') .. '$')
  if buf <= 0 then
    buf = vim.api.nvim_create_buf(false, true)
    vim.api.nvim_buf_set_name(buf, name)
    vim.bo[buf].bufhidden = 'hide'
  end
  local lines = M.log()
  if #lines == 0 then
    lines = { client and '(the bridge has written nothing on stderr; start it with --log-level info for more)' or '(no bridge running)' }
  end
  vim.bo[buf].modifiable = true
  vim.api.nvim_buf_set_lines(buf, 0, -1, false, lines)
  vim.bo[buf].modifiable = false
  if vim.fn.bufwinnr(buf) < 0 then
    vim.cmd('botright split')
    vim.api.nvim_win_set_buf(0, buf)
  end
  vim.cmd('normal! G')
  return buf
end

--- :AgentBridgeRestart [dir]: stops the bridge and starts a new one, on
--- `dir` if given (it then stays the workspace), else on the same
--- workspace; the changes buffer subscribes again.
function M.restart(dir)
  local workspace = (dir and dir ~= '') and real(vim.fn.expand(dir)) or M.workspace()
  if vim.fn.isdirectory(workspace) ~= 1 then
    notify(workspace .. ' is not a directory', vim.log.levels.ERROR)
    return
  end
  M.stop()
  config.workspace = workspace
  local c, err = running()
  if not c then
    report_error('restart', err)
    return
  end
  require('agent_bridge.changes').reconnect()
  notify('restarted (pid ' .. c.pid .. ') on ' .. c.workspace)
end

--- :AgentBridgeFiles: pick a file of the workspace (listFiles recursive)
--- with vim.ui.select and open it.
function M.files(on_done)
  M.request('listFiles', { recursive = true }, function(err, files)
    if err then
      report_error('listFiles', err)
      if on_done then
        on_done(err)
      end
      return
    end
    vim.ui.select(files, { prompt = 'Agent workspace file: ', format_item = M.display }, function(choice)
      if choice then
        M.open(choice, function()
          if on_done then
            on_done(nil, choice)
          end
        end)
      elseif on_done then
        on_done(nil, choice)
      end
    end)
  end)
end

local function human_bytes(bytes)
  local units = { 'B', 'KiB', 'MiB', 'GiB' }
  local value, unit = bytes, 1
  while value >= 1024 and unit < #units do
    value, unit = value / 1024, unit + 1
  end
  return unit == 1 and string.format('%d B', value) or string.format('%.1f %s', value, units[unit])
end

--- Where :AgentBridgeZip writes without a name: never in the workspace,
--- where the zip would show up as one more change of the agent's.
function M.zip_directory()
  if config.zip_directory then
    return (vim.fn.fnamemodify(vim.fn.expand(config.zip_directory), ':p'):gsub('(.)/$', '%1'))
  end
  local downloads = vim.fn.expand('~/Downloads')
  if vim.fn.isdirectory(downloads) == 1 then
    return downloads
  end
  return vim.fn.stdpath('cache') .. '/agent-bridge'
end

--- :AgentBridgeZip [destination]: writes the workspace as a zip, echoing
--- progress. Default: <zip_directory>/<workspace name>-<date>-<time>.zip.
function M.zip(destination, on_done)
  local target
  if not destination or destination == '' then
    local dir = M.zip_directory()
    vim.fn.mkdir(dir, 'p')
    target = string.format('%s/%s-%s.zip', dir, vim.fn.fnamemodify(M.workspace(), ':t'), os.date('%Y%m%d-%H%M%S'))
  else
    target = vim.fn.fnamemodify(vim.fn.expand(destination), ':p')
    local root = M.workspace() .. '/'
    if (real(vim.fn.fnamemodify(target, ':h')) .. '/'):sub(1, #root) == root then
      notify(target .. ' is inside the workspace: it will show up among the changes', vim.log.levels.WARN)
    end
  end
  next_token = next_token + 1
  local token = 'nvim-zip-' .. vim.fn.getpid() .. '-' .. next_token
  local unsubscribe = M.on_notification('$/progress', function(params)
    if params and params.token == token and params.value and params.value.kind ~= 'end' then
      local value = params.value
      local parts = { 'agent-bridge: zipping' }
      if type(value.percentage) == 'number' then
        table.insert(parts, value.percentage .. '%')
      end
      if type(value.message) == 'string' then
        table.insert(parts, value.message)
      end
      vim.api.nvim_echo({ { table.concat(parts, ' ') } }, false, {})
    end
  end)
  M.request('zipDirectory', { destination = target, workDoneToken = token }, function(err, result)
    unsubscribe()
    if err then
      report_error('zipDirectory', err)
    else
      notify(
        string.format(
          'wrote %d files (%s%s) to %s',
          result.entries,
          human_bytes(result.bytes),
          (result.skipped or 0) > 0 and (', ' .. result.skipped .. ' skipped') or '',
          result.path
        )
      )
    end
    if on_done then
      on_done(err, result)
    end
  end)
end

--- :AgentBridgeFeedback [positive|negative] [text]: sends feedback on the
--- agent, asking for what is not given.
function M.feedback(polarity, text, on_done)
  local function send(chosen_polarity, chosen_text)
    local params = { polarity = chosen_polarity, permissions = 'private' }
    if chosen_text and chosen_text ~= '' then
      params.feedback = chosen_text
    end
    M.request('submitFeedback', params, function(err, result)
      if err then
        report_error('submitFeedback', err)
      else
        local id = type(result) == 'table' and type(result.body) == 'table' and result.body.feedback_id
        notify('feedback submitted' .. (id and (' (id ' .. id .. ')') or '') .. '. Thank you.')
      end
      if on_done then
        on_done(err, result)
      end
    end)
  end
  local function ask_text(chosen_polarity)
    if text then
      send(chosen_polarity, text)
      return
    end
    vim.ui.input({ prompt = 'Feedback (optional): ' }, function(input)
      if input == nil then
        if on_done then
          on_done(nil, nil)
        end
        return
      end
      send(chosen_polarity, input)
    end)
  end
  if polarity and polarity ~= '' then
    ask_text(polarity)
  else
    vim.ui.select({ 'positive', 'negative' }, { prompt = "How did the agent's work go?" }, function(choice)
      if not choice then
        if on_done then
          on_done(nil, nil)
        end
        return
      end
      ask_text(choice)
    end)
  end
end

--- Completion for :AgentBridgeDiff: the changed paths.
function M.complete_changes(lead)
  local changes = M.request_sync('gitChanges', {}, 2000) or {}
  local paths = {}
  for _, change in ipairs(changes) do
    if change.path:sub(1, #lead) == lead then
      table.insert(paths, change.path)
    end
  end
  return paths
end

return M
