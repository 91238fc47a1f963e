'use strict';
// The Source Control view: the stand-in `vscode` keeps what the extension set
// on its source controls, decorations, status bar and log, and the real
// bridge binary serves real temp repositories and pushes workspace/gitChanged.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const os = require('os');
const path = require('path');
const standIn = require('../testlib/vscode').__standIn.install();
const { bridgeBinary, makeRepo, removeDir, waitFor, git } = require('../testlib/fixtures');
const { MessageReader } = require('../src/client');
const extension = require('../extension');
const manifest = require('../package.json');

const bin = bridgeBinary();
const { vscode } = standIn;

function activate(folders, config = {}) {
  const state = standIn.reset();
  state.folders = folders;
  state.config = { 'agentBridge.path': bin, 'agentBridge.args': [], ...config };
  const context = standIn.context();
  const api = extension.activate(context);
  api.context = context;
  return { api, state };
}

async function deactivate(api) {
  await extension.deactivate();
  for (const disposable of api.context.subscriptions) disposable.dispose();
}

function control(state, root) {
  return state.sourceControls.find((one) => one.rootUri.fsPath === root);
}

function group(state, root, id) {
  return control(state, root).groups.find((one) => one.id === id);
}

function paths(state, root, id) {
  return group(state, root, id).resourceStates.map((resource) => path.relative(root, resource.resourceUri.fsPath));
}

function plainDir(prefix) {
  return fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), prefix)));
}

/** Waits until the view of `root` shows `count` changes (or its notice says `notice`). */
function shown(api, root, { count, notice }, timeoutMs = 10000) {
  return waitFor(
    () => {
      const view = api.views.views.find((one) => one.root === root);
      if (!view || view.repository === null) return false;
      if (notice !== undefined) return view.notice.label.includes(notice);
      return view.count === count;
    },
    timeoutMs,
    `${path.basename(root)} to show ${notice !== undefined ? JSON.stringify(notice) : `${count} changes`}`,
  );
}

test('package.json: Restricted Mode, restored diff tabs, machine-scoped program', () => {
  assert.ok(manifest.activationEvents.includes('onFileSystem:agent-bridge'));
  assert.ok(manifest.activationEvents.includes('onStartupFinished'));
  assert.equal(manifest.capabilities.untrustedWorkspaces.supported, 'limited');
  assert.deepEqual(manifest.capabilities.untrustedWorkspaces.restrictedConfigurations, ['agentBridge.workspace']);
  const properties = manifest.contributes.configuration.properties;
  assert.equal(properties['agentBridge.path'].scope, 'machine');
  assert.equal(properties['agentBridge.args'].scope, 'machine');
  assert.ok(manifest.contributes.menus['scm/title'].some((item) => item.command === 'agentBridge.refresh'));
  assert.ok(manifest.categories.includes('SCM Providers'));
});

test('the view: groups, decorations, status bar; a resource opens the diff against the base', async () => {
  const repo = makeRepo();
  const { api, state } = activate([repo]);
  try {
    await shown(api, repo, { count: 3 });
    const name = path.basename(repo);
    assert.equal(
      standIn.scmText(),
      [
        `SOURCE CONTROL: Agent Bridge (${name}) [3]`,
        '  Changed (1)',
        '    M  src/app.js',
        '  Added (1)',
        '    A  notes/new.md',
        '  Deleted (1)',
        '    D  old.txt (struck through)',
        'STATUS BAR: $(diff) 3',
      ].join('\n'),
    );
    const scm = control(state, repo);
    assert.equal(scm.id, 'agentBridge');
    assert.equal(scm.inputBox.visible, false, 'nothing to commit');
    const [bar] = state.statusBarItems;
    assert.equal(bar.command, 'workbench.view.scm');
    assert.match(bar.tooltip, new RegExp(`${name}: 3 changes`));

    // Decorations: the letter, a git colour, propagated to folders.
    const decoration = standIn.decoration(vscode.Uri.file(path.join(repo, 'src', 'app.js')));
    assert.equal(decoration.badge, 'M');
    assert.equal(decoration.color.id, 'gitDecoration.modifiedResourceForeground');
    assert.equal(decoration.propagate, true);
    assert.equal(standIn.decoration(vscode.Uri.file(path.join(repo, 'README.md'))), undefined);

    // A modified file: vscode.diff of the agent's base against the file.
    const [modified] = group(state, repo, 'changed').resourceStates;
    assert.equal(modified.command.command, 'vscode.diff');
    const [left, right, title] = modified.command.arguments;
    assert.equal(left.scheme, 'agent-bridge');
    assert.equal(right.fsPath, path.join(repo, 'src', 'app.js'));
    assert.equal(title, "src/app.js (agent's base ↔ working tree)");
    assert.equal(await standIn.provide(left), 'one\ntwo\nthree');
    await vscode.commands.executeCommand(modified.command.command, ...modified.command.arguments);
    assert.equal(state.executed.at(-1)[0], 'vscode.diff');

    // A deleted file: both sides are documents of the bridge.
    const [deleted] = group(state, repo, 'deleted').resourceStates;
    const [base, gone] = deleted.command.arguments;
    assert.equal(gone.scheme, 'agent-bridge');
    assert.equal(await standIn.provide(base), 'to be deleted');
    assert.equal(await standIn.provide(gone), '');

    // The inline "Open Diff" of a resource.
    await vscode.commands.executeCommand('agentBridge.openDiff', group(state, repo, 'untracked').resourceStates[0]);
    assert.equal(await standIn.provide(state.executed.at(-1)[1]), '', 'an added file has an empty base');
  } finally {
    await deactivate(api);
    removeDir(repo);
  }
});

test('QuickDiffProvider: the gutter compares a changed file with the agent’s base', async () => {
  const repo = makeRepo();
  const { api, state } = activate([repo]);
  try {
    await shown(api, repo, { count: 3 });
    const provider = control(state, repo).quickDiffProvider;
    const file = vscode.Uri.file(path.join(repo, 'src', 'app.js'));
    const original = await provider.provideOriginalResource(file, new vscode.CancellationTokenSource().token);
    assert.equal(original.scheme, 'agent-bridge');
    assert.equal(original.path, file.fsPath, 'the original keeps the file’s name, so its language');
    assert.equal(await standIn.provide(original), 'one\ntwo\nthree');
    const added = provider.provideOriginalResource(vscode.Uri.file(path.join(repo, 'notes', 'new.md')));
    assert.equal(await standIn.provide(added), '', 'a new file: every line is the agent’s');
    assert.equal(provider.provideOriginalResource(vscode.Uri.file(path.join(repo, 'README.md'))), undefined, 'unchanged');
    assert.equal(provider.provideOriginalResource(vscode.Uri.file(path.join(repo, 'build', 'out.o'))), undefined, 'ignored: not all new');

    // Once the agent changes a file, VS Code asks again and gets its base.
    fs.writeFileSync(path.join(repo, 'README.md'), '# demo\nmore\n');
    await shown(api, repo, { count: 4 });
    const readme = provider.provideOriginalResource(vscode.Uri.file(path.join(repo, 'README.md')));
    assert.equal(await standIn.provide(readme), '# demo');
    assert.equal(provider.provideOriginalResource(vscode.Uri.file(path.join(os.tmpdir(), 'elsewhere.txt'))), undefined);
    assert.equal(provider.provideOriginalResource(original), undefined, 'not for its own documents');
  } finally {
    await deactivate(api);
    removeDir(repo);
  }
});

test('live: a workspace/gitChanged notification updates the groups, with no request', async () => {
  const repo = makeRepo();
  const { api, state } = activate([repo]);
  try {
    await shown(api, repo, { count: 3 });
    const client = api.service.client;
    const asked = [];
    const request = client.request.bind(client);
    client.request = (method, ...rest) => {
      asked.push(method);
      return request(method, ...rest);
    };
    const notified = [];
    client.onNotification('workspace/gitChanged', (params) => notified.push(params));
    state.decorationChanges.length = 0;

    fs.writeFileSync(path.join(repo, 'src', 'agent.js'), 'new\n');
    fs.writeFileSync(path.join(repo, 'old.txt'), 'to be deleted\n'); // restored
    await shown(api, repo, { count: 3 });
    await waitFor(() => paths(state, repo, 'untracked').length === 2, 5000, 'the new file');
    assert.deepEqual(paths(state, repo, 'untracked'), ['notes/new.md', 'src/agent.js']);
    assert.deepEqual(paths(state, repo, 'deleted'), []);
    assert.deepEqual(asked, [], 'the view asked nothing: the bridge pushed it');
    assert.ok(notified.length >= 1);
    assert.equal(notified.at(-1).conversationId, api.views.views[0].conversationId);
    const announced = state.decorationChanges.flat().map((uri) => path.relative(repo, uri.fsPath)).sort();
    assert.deepEqual([...new Set(announced)], ['old.txt', 'src/agent.js'], 'only what changed is redecorated');
    assert.equal(standIn.decoration(vscode.Uri.file(path.join(repo, 'old.txt'))), undefined);
    assert.equal(standIn.decoration(vscode.Uri.file(path.join(repo, 'src', 'agent.js'))).badge, 'A');
    assert.equal(state.statusBarItems[0].text, '$(diff) 3');

    // With no origin the base is HEAD: once the agent commits everything,
    // nothing differs, and the view says that rather than showing nothing.
    git(repo, 'add', '-A');
    git(repo, 'commit', '-q', '-m', 'agent');
    await shown(api, repo, { notice: 'No changes' });
    assert.equal(state.statusBarItems[0].text, '$(diff) 0');
    assert.match(standIn.scmText(), /No changes against the agent’s base/);
  } finally {
    await deactivate(api);
    removeDir(repo);
  }
});

test('20,000 changes: each notification is read and drawn in under a second of CPU', async () => {
  const repo = makeRepo();
  for (let d = 0; d < 100; d++) {
    const dir = path.join(repo, 'gen', `d${String(d).padStart(3, '0')}`);
    fs.mkdirSync(dir, { recursive: true });
    for (let f = 0; f < 200; f++) fs.writeFileSync(path.join(dir, `f${f}.txt`), `${d} ${f}\n`);
  }
  // Every large message's parse and handling (the view's redraw runs inside
  // it), timed where the bytes come in: the wall time, and the CPU time the
  // process spent, which is what it costs on a machine not shared with
  // others (this one may run other builds).
  const timings = [];
  const deliver = MessageReader.prototype.deliver;
  MessageReader.prototype.deliver = function (bytes) {
    const started = process.hrtime.bigint();
    const cpu = process.cpuUsage();
    deliver.call(this, bytes);
    const used = process.cpuUsage(cpu);
    if (bytes.length > 100000) {
      timings.push({ ms: Number(process.hrtime.bigint() - started) / 1e6, cpuMs: (used.user + used.system) / 1000, bytes: bytes.length });
    }
  };
  const activated = Date.now();
  const { api, state } = activate([repo]);
  try {
    await shown(api, repo, { count: 20003 }, 60000);
    const firstMs = Date.now() - activated;
    assert.equal(group(state, repo, 'untracked').resourceStates.length, 20001);
    assert.equal(state.statusBarItems[0].text, '$(diff) 20003');
    state.decorationChanges.length = 0;

    fs.writeFileSync(path.join(repo, 'gen', 'one-more.txt'), 'x\n');
    await shown(api, repo, { count: 20004 }, 30000);
    assert.deepEqual(
      state.decorationChanges.flat().map((uri) => path.relative(repo, uri.fsPath)),
      ['gen/one-more.txt'],
      'one new entry, one decoration announced',
    );
    assert.ok(timings.length >= 2, `${timings.length} large messages`);
    const slowest = Math.max(...timings.map((t) => t.cpuMs));
    console.log(
      `# 20,000 entries: first view ${firstMs} ms after activation (bridge included); ` +
        `each gitChanged (${(timings[0].bytes / 1024).toFixed(0)} KiB) read and drawn in ` +
        `${timings.map((t) => `${t.ms.toFixed(0)} ms (${t.cpuMs.toFixed(0)} ms CPU)`).join(', ')}`,
    );
    assert.ok(slowest < 1000, `slowest notification took ${slowest} ms of CPU`);
  } finally {
    MessageReader.prototype.deliver = deliver;
    await deactivate(api);
    removeDir(repo);
  }
});

test('a folder that is not a git repository says so, not "no changes"', async () => {
  const repo = makeRepo();
  const dir = plainDir('agent-bridge-norepo-');
  fs.writeFileSync(path.join(dir, 'a.txt'), 'a\n');
  const clean = makeRepo();
  git(clean, 'add', '-A');
  git(clean, 'commit', '-q', '-m', 'all');
  const { api, state } = activate([repo, dir, clean]);
  try {
    await shown(api, repo, { count: 3 });
    await shown(api, dir, { notice: 'Not a git repository' });
    await shown(api, clean, { notice: 'No changes' });
    const text = standIn.scmText();
    assert.equal(
      text,
      [
        `SOURCE CONTROL: Agent Bridge (${path.basename(repo)}) [3]`,
        '  Changed (1)',
        '    M  src/app.js',
        '  Added (1)',
        '    A  notes/new.md',
        '  Deleted (1)',
        '    D  old.txt (struck through)',
        `SOURCE CONTROL: Agent Bridge (${path.basename(dir)}) [0]`,
        '  Not a git repository: the agent’s changes cannot be listed',
        `SOURCE CONTROL: Agent Bridge (${path.basename(clean)}) [0]`,
        '  No changes against the agent’s base',
        'STATUS BAR: $(diff) 3',
      ].join('\n'),
    );
    // What editors/README.md shows.
    console.log(text);
    assert.match(state.statusBarItems[0].tooltip, new RegExp(`${path.basename(dir)}: not a git repository`));
    assert.equal(control(state, dir).quickDiffProvider.provideOriginalResource(vscode.Uri.file(path.join(dir, 'a.txt'))), undefined);

    vscode.window.activeTextEditor = { document: { uri: vscode.Uri.file(path.join(dir, 'a.txt')) } };
    await vscode.commands.executeCommand('agentBridge.showChanges');
    assert.deepEqual(state.messages.map((m) => m.text), [`Agent Bridge: ${dir} is not a git repository.`]);
  } finally {
    await deactivate(api);
    for (const one of [repo, dir, clean]) removeDir(one);
  }
});

test('alone, a folder that is not a repository puts that in the status bar', async () => {
  const dir = plainDir('agent-bridge-norepo-');
  const { api, state } = activate([dir]);
  try {
    await shown(api, dir, { notice: 'Not a git repository' });
    assert.equal(state.statusBarItems[0].text, '$(diff) not a git repository');
  } finally {
    await deactivate(api);
    removeDir(dir);
  }
});

test('every workspace folder: one bridge, one conversation and one source control each', async () => {
  const first = makeRepo();
  const second = makeRepo();
  const third = makeRepo();
  const fourth = makeRepo();
  const { api, state } = activate([first, second]);
  try {
    await shown(api, first, { count: 3 });
    await shown(api, second, { count: 3 });
    const client = api.service.client;
    const conversations = await client.request('listConversations');
    assert.deepEqual(conversations.map((c) => c.workspace).sort(), [first, second].sort());
    assert.notEqual(api.views.views[0].conversationId, api.views.views[1].conversationId);
    assert.equal(state.statusBarItems[0].text, '$(diff) 6');

    // A change in the second folder shows there only.
    fs.writeFileSync(path.join(second, 'second-only.txt'), 'x\n');
    await shown(api, second, { count: 4 });
    assert.deepEqual(paths(state, second, 'untracked'), ['notes/new.md', 'second-only.txt']);
    assert.deepEqual(paths(state, first, 'untracked'), ['notes/new.md']);
    assert.equal(state.statusBarItems[0].text, '$(diff) 7');

    // The diff of a file in the second folder asks the second conversation.
    await vscode.commands.executeCommand('agentBridge.openDiff', vscode.Uri.file(path.join(second, 'src', 'app.js')));
    const [, left, right] = state.executed.at(-1);
    assert.equal(right.fsPath, path.join(second, 'src', 'app.js'));
    fs.writeFileSync(path.join(first, 'src', 'app.js'), 'first only\n');
    git(first, 'add', '-A');
    git(first, 'commit', '-q', '-m', 'the first base differs');
    assert.equal(await standIn.provide(left), 'one\ntwo\nthree');

    // Folders come and go; the same bridge serves them.
    standIn.changeFolders([second, third]);
    await shown(api, third, { count: 3 });
    assert.equal(control(state, first), undefined, 'the removed folder has no source control');
    assert.equal(api.service.client, client, 'no restart');
    await waitFor(async () => {
      const open = (await client.request('listConversations')).map((c) => c.workspace);
      return open.includes(third) && open.includes(second);
    }, 5000, 'the conversation of the new folder');
    assert.equal(state.sourceControls.length, 2);
    assert.equal(standIn.decoration(vscode.Uri.file(path.join(first, 'src', 'app.js'))), undefined, 'its decorations went too');

    // A folder removed while its conversation opens leaves none behind.
    standIn.changeFolders([second, third, fourth]);
    standIn.changeFolders([second, third]);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const open = (await client.request('listConversations')).map((c) => c.workspace);
    assert.ok(!open.includes(fourth), `${fourth} is still open`);
    assert.ok(open.includes(first), 'the bridge’s default conversation stays (it cannot be closed)');
  } finally {
    await deactivate(api);
    for (const dir of [first, second, third, fourth]) removeDir(dir);
  }
});

test('after a crash the views reopen their conversations and stay live', async () => {
  const repo = makeRepo();
  const { api, state } = activate([repo]);
  try {
    api.service.backoff = { baseMs: 50, maxMs: 1000, limit: 3, windowMs: 60000 };
    await shown(api, repo, { count: 3 });
    const pid = api.service.client.process.pid;
    process.kill(pid, 'SIGKILL');
    await waitFor(() => api.views.views[0].problem, 5000, 'the view to say the bridge exited');
    assert.match(standIn.scmText(), /agent-bridge exited; restarting…/);
    assert.equal(paths(state, repo, 'changed').length, 1, 'the last list stays meanwhile');
    await waitFor(() => api.service.client && api.service.client.process.pid !== pid, 5000, 'the restart');
    await waitFor(() => !api.views.views[0].problem, 5000, 'the view to come back');
    fs.writeFileSync(path.join(repo, 'after-restart.txt'), 'x\n');
    await shown(api, repo, { count: 4 });
    assert.doesNotMatch(standIn.scmText(), /restarting/);
  } finally {
    await deactivate(api);
    removeDir(repo);
  }
});

test('a missing binary: the view and status bar say so, no popup until a command runs', async () => {
  const repo = makeRepo();
  const { api, state } = activate([repo], { 'agentBridge.path': '/nonexistent/agent-bridge' });
  try {
    await api.started;
    assert.match(standIn.scmText(), /agent-bridge is not running: Cannot start agent-bridge: "\/nonexistent\/agent-bridge" was not found/);
    assert.match(state.statusBarItems[0].text, /\$\(warning\)/);
    assert.deepEqual(state.messages, []);
    assert.match(state.outputs[0].text, /\[error\] Cannot start agent-bridge/);
  } finally {
    await deactivate(api);
    removeDir(repo);
  }
});

test('the log channel: bridge lines at their own level; Show Log opens it', async () => {
  const repo = makeRepo();
  const { api, state } = activate([repo], { 'agentBridge.args': ['--log-level', 'debug'] });
  try {
    await shown(api, repo, { count: 3 });
    const [log] = state.outputs;
    assert.equal(log.log, true, 'a LogOutputChannel');
    await waitFor(() => log.lines.some((line) => /serving /.test(line.message)), 5000, 'the serving line');
    const serving = log.lines.find((line) => /serving /.test(line.message));
    assert.equal(serving.level, 'info');
    assert.doesNotMatch(serving.message, /^\d{4}-/, 'the channel stamps the time, not the message');
    await vscode.commands.executeCommand('agentBridge.showLog');
    assert.equal(log.shown, 1);
  } finally {
    await deactivate(api);
    removeDir(repo);
  }
});

test('refresh on focus: a folder that becomes a repository is seen when the window is focused', async () => {
  const dir = plainDir('agent-bridge-later-');
  fs.writeFileSync(path.join(dir, 'a.txt'), 'a\n');
  const { api } = activate([dir]);
  try {
    await shown(api, dir, { notice: 'Not a git repository' });
    git(dir, 'init', '-q', '-b', 'main');
    standIn.focusWindow();
    await shown(api, dir, { count: 1 });
    assert.match(standIn.scmText(), /A {2}a\.txt/);
  } finally {
    await deactivate(api);
    removeDir(dir);
  }
});

test('the zip goes outside the workspace by default, even when the workspace is the home directory', () => {
  const home = os.homedir();
  assert.equal(extension.defaultZipPath(['/srv/work']), path.join(home, 'work.zip'));
  assert.equal(extension.defaultZipPath([home]), path.join(os.tmpdir(), `${path.basename(home)}.zip`));
  assert.equal(extension.defaultZipPath([os.tmpdir(), home]), path.join(path.dirname(os.tmpdir()), `${path.basename(os.tmpdir())}.zip`));
});

test('Open File (inline on a change) opens it at the first changed line', async () => {
  const repo = makeRepo();
  fs.writeFileSync(path.join(repo, 'README.md'), '# demo\n');
  const { api, state } = activate([repo]);
  try {
    await shown(api, repo, { count: 3 });
    const [modified] = group(state, repo, 'changed').resourceStates;
    const opened = await vscode.commands.executeCommand('agentBridge.openFile', modified);
    assert.equal(opened.line, 1, "'two' became '2'");
    const [command, uri, options] = state.executed.at(-1);
    assert.equal(command, 'vscode.open');
    assert.equal(uri.fsPath, path.join(repo, 'src', 'app.js'));
    assert.deepEqual([options.selection.start.line, options.selection.start.character], [1, 0]);
    const [added] = group(state, repo, 'untracked').resourceStates;
    assert.equal((await vscode.commands.executeCommand('agentBridge.openFile', added)).line, 0, 'a new file: its first line');
    assert.ok(manifest.contributes.menus['scm/resourceState/context'].some((item) => item.command === 'agentBridge.openFile'));
  } finally {
    await deactivate(api);
    removeDir(repo);
  }
});

test('firstChangedLine: a change, an append, a truncation, nothing', () => {
  assert.equal(extension.firstChangedLine('a\nb\nc', 'a\nB\nc'), 1);
  assert.equal(extension.firstChangedLine('a\nb', 'a\nb\nc'), 2);
  assert.equal(extension.firstChangedLine('a\nb\nc', 'a'), 0);
  assert.equal(extension.firstChangedLine('', 'x'), 0);
  assert.equal(extension.firstChangedLine('same', 'same'), 0);
});

/** Settings that run the real binary as one without `methods`. */
function olderBridge(...methods) {
  return {
    'agentBridge.path': process.execPath,
    'agentBridge.args': [path.join(__dirname, '..', 'testlib', 'olderBridge.js'), bin, methods.join(',')],
  };
}

test('a bridge without workspaceInfo: a probe still tells a repository from a plain folder', async () => {
  const repo = makeRepo();
  const dir = plainDir('agent-bridge-norepo-');
  const { api, state } = activate([repo, dir], olderBridge('workspaceInfo'));
  try {
    await shown(api, repo, { count: 3 });
    await shown(api, dir, { notice: 'Not a git repository' });
    assert.equal((await api.service.client.request('workspaceInfo', {}).catch((error) => error)).code, -32601, 'the bridge plays an older one');
    assert.equal(state.statusBarItems[0].text, '$(diff) 3');
    assert.deepEqual(state.messages, [], 'nothing to tell the person');
  } finally {
    await deactivate(api);
    removeDir(repo);
    removeDir(dir);
  }
});

test('a bridge that cannot push: the view refreshes when the window gets focus', async () => {
  const repo = makeRepo();
  const { api, state } = activate([repo], olderBridge('subscribe'));
  try {
    await shown(api, repo, { count: 3 });
    assert.equal(api.views.views[0].live, false);
    assert.match(state.outputs[0].text, /\[warn\] .*no live updates .*refreshing on focus/);
    fs.writeFileSync(path.join(repo, 'while-away.txt'), 'x\n');
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal(api.views.views[0].count, 3, 'nothing is pushed');
    standIn.focusWindow();
    await shown(api, repo, { count: 4 });
    assert.deepEqual(paths(state, repo, 'untracked'), ['notes/new.md', 'while-away.txt']);
  } finally {
    await deactivate(api);
    removeDir(repo);
  }
});
