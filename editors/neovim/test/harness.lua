-- A tiny test harness for `nvim --headless`: plain assertions, one line per
-- test, a closing "N passed, N failed" line, and exit code 1 on failure.
local T = {}

local uv = vim.uv or vim.loop
local here = debug.getinfo(1, 'S').source:sub(2):match('(.*)/')
T.plugin_dir = vim.fn.fnamemodify(here .. '/..', ':p'):gsub('/$', '')
T.repo_root = vim.fn.fnamemodify(T.plugin_dir .. '/../..', ':p'):gsub('/$', '')
T.bin = os.getenv('AGENT_BRIDGE_BIN')
if not T.bin or T.bin == '' then
  T.bin = T.repo_root .. '/.build/debug/agent-bridge'
end
T.bin = vim.fn.fnamemodify(T.bin, ':p')

vim.opt.runtimepath:prepend(T.plugin_dir)
vim.cmd('runtime plugin/agent_bridge.lua')
vim.o.swapfile = false
vim.cmd('filetype on') -- as in a person's editor; -u NONE leaves it off
vim.o.more = false

-- Everything vim.notify shows, for assertions.
T.notes = {}
vim.notify = function(message, level)
  table.insert(T.notes, { message = message, level = level or vim.log.levels.INFO })
end

-- Echoed progress, for assertions (and kept out of the test output).
T.echoes = {}
vim.api.nvim_echo = function(chunks)
  local text = {}
  for _, chunk in ipairs(chunks) do
    table.insert(text, chunk[1])
  end
  table.insert(T.echoes, table.concat(text))
end

local function out(line)
  io.stdout:write(line .. '\n')
  io.stdout:flush()
end

local tests = {}
function T.test(name, fn, opts)
  table.insert(tests, { name = name, fn = fn, skip = opts and opts.skip })
end

function T.eq(actual, expected, what)
  if not vim.deep_equal(actual, expected) then
    error(string.format('%sexpected %s, got %s', what and (what .. ': ') or '', vim.inspect(expected), vim.inspect(actual)), 2)
  end
end

function T.ok(value, what)
  if not value then
    error(what or 'expected a true value', 2)
  end
  return value
end

function T.match(text, pattern, what)
  if type(text) ~= 'string' or not text:find(pattern) then
    error(string.format('%s%s does not match %s', what and (what .. ': ') or '', vim.inspect(text), pattern), 2)
  end
end

function T.wait(predicate, timeout_ms, what)
  if not vim.wait(timeout_ms or 5000, predicate, 10) then
    error('timed out waiting for ' .. (what or 'a condition'), 2)
  end
end

function T.git(dir, args)
  local cmd = { 'git', '-C', dir, '-c', 'user.name=Test', '-c', 'user.email=test@example.com' }
  vim.list_extend(cmd, args)
  local output = vim.fn.system(cmd)
  if vim.v.shell_error ~= 0 then
    error('git ' .. table.concat(args, ' ') .. ' failed: ' .. output)
  end
  return output
end

local function write_file(path, text)
  vim.fn.mkdir(vim.fn.fnamemodify(path, ':h'), 'p')
  local file = assert(io.open(path, 'wb'))
  file:write(text)
  file:close()
end
T.write_file = write_file

local temp_dirs = {}
function T.temp_dir()
  local dir = vim.fn.resolve(vim.fn.tempname())
  vim.fn.mkdir(dir, 'p')
  table.insert(temp_dirs, dir)
  return dir
end

--- A repository with one commit, then: M src/app.lua, D old.txt,
--- A notes/new.md (untracked), and an ignored build/out.o.
function T.make_repo()
  local dir = T.temp_dir()
  vim.fn.system({ 'git', 'init', '-q', dir })
  write_file(dir .. '/src/app.lua', 'one\ntwo\nthree\n')
  write_file(dir .. '/old.txt', 'to be deleted\n')
  write_file(dir .. '/README.md', '# demo\n')
  write_file(dir .. '/.gitignore', 'build/\n')
  T.git(dir, { 'add', '-A' })
  T.git(dir, { 'commit', '-q', '-m', 'initial' })
  write_file(dir .. '/src/app.lua', 'one\n2\nthree\nfour\n')
  os.remove(dir .. '/old.txt')
  write_file(dir .. '/notes/new.md', 'fresh\n')
  write_file(dir .. '/build/out.o', 'ignored\n')
  return dir
end

--- Sends SIGSTOP and waits until the kernel reports the process stopped:
--- delivery is asynchronous, and a process not yet stopped still answers.
function T.sigstop(pid)
  T.eq(uv.kill(pid, 'sigstop'), 0)
  T.wait(function()
    local file = io.open('/proc/' .. pid .. '/stat')
    local stat = file and file:read('*a') or ''
    if file then
      file:close()
    end
    return stat:match('^%d+ %b() (%a)') == 'T'
  end, 5000, 'the process to stop')
end

local methods
--- A skip reason unless the binary serves every named method.
function T.unless_methods(...)
  if not methods then
    methods = {}
    local doc = vim.json.decode(vim.fn.system({ T.bin, 'openrpc' }))
    for _, method in ipairs(doc.methods) do
      methods[method.name] = true
    end
  end
  local missing = {}
  for _, name in ipairs({ ... }) do
    if not methods[name] then
      table.insert(missing, name)
    end
  end
  return #missing > 0 and ('the bridge does not serve ' .. table.concat(missing, ', ') .. ' yet') or nil
end

--- Fresh editor state and a bridge on `workspace` (made the cwd).
--- `opts.started_in`: leave setup's workspace unset, as if Neovim had
--- started in `workspace`.
function T.fresh(workspace, extra_args, opts)
  local bridge = require('agent_bridge')
  bridge.stop(1000)
  vim.cmd('silent! tabonly!')
  pcall(vim.api.nvim_tabpage_del_var, 0, 'agent_bridge_diff')
  vim.cmd('silent! only!')
  vim.cmd('silent! %bwipe!')
  vim.cmd('diffoff!')
  vim.fn.setqflist({}, 'r')
  T.notes = {}
  T.echoes = {}
  if workspace then
    vim.cmd('cd ' .. vim.fn.fnameescape(workspace))
  end
  local cmd = { T.bin }
  vim.list_extend(cmd, extra_args or {})
  local started_in = opts and opts.started_in
  if started_in then
    vim.g.agent_bridge_start_dir = workspace
  end
  bridge.setup({ cmd = cmd, workspace = not started_in and workspace or nil, timeout_ms = 10000, zip_directory = opts and opts.zip_directory })
  return bridge
end

function T.run()
  if vim.fn.executable(T.bin) ~= 1 then
    out('not ok - agent-bridge binary not found at ' .. T.bin .. ': run `swift build` or set AGENT_BRIDGE_BIN')
    out('0 passed, 1 failed')
    vim.cmd('cquit 1')
  end
  local passed, failed, skipped = 0, 0, 0
  for _, t in ipairs(tests) do
    local skip = t.skip
    if skip then
      skipped = skipped + 1
      out('ok - ' .. t.name .. ' # SKIP ' .. skip)
    else
      local ok, err = xpcall(t.fn, debug.traceback)
      pcall(function()
        require('agent_bridge').stop(1000)
      end)
      if ok then
        passed = passed + 1
        out('ok - ' .. t.name)
      else
        failed = failed + 1
        out('not ok - ' .. t.name)
        for line in tostring(err):gmatch('[^\n]+') do
          out('#   ' .. line)
        end
      end
    end
  end
  for _, dir in ipairs(temp_dirs) do
    vim.fn.delete(dir, 'rf')
  end
  if skipped > 0 then
    out(skipped .. ' skipped')
  end
  out(passed .. ' passed, ' .. failed .. ' failed')
  if failed > 0 then
    vim.cmd('cquit 1')
  end
  vim.cmd('qall!')
end

T.uv = uv
return T
