'use strict';
// The extension's command logic, with a stand-in for the `vscode` module and
// the real agent-bridge binary on temp git repositories.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { execFileSync } = require('child_process');
const standIn = require('../testlib/vscode').__standIn.install();
const { bridgeBinary, makeRepo, removeDir, waitFor, unlessMethods } = require('../testlib/fixtures');
const extension = require('../extension');
const manifest = require('../package.json');

const bin = bridgeBinary();
const { vscode } = standIn;

/** Activates the extension on `repo` with the given settings; returns its internals. */
function activate(repo, config = {}) {
  const state = standIn.reset();
  state.folders = repo ? [repo] : [];
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

function run(command, ...args) {
  return vscode.commands.executeCommand(`agentBridge.${command}`, ...args);
}

test('activate registers exactly the commands package.json contributes', async () => {
  const { api, state } = activate(null);
  try {
    const contributed = manifest.contributes.commands.map((c) => c.command).sort();
    assert.deepEqual([...state.commands.keys()].sort(), contributed);
    assert.deepEqual(contributed, [
      'agentBridge.downloadWorkspace',
      'agentBridge.openDiff',
      'agentBridge.openFile',
      'agentBridge.quickOpen',
      'agentBridge.refresh',
      'agentBridge.restart',
      'agentBridge.showChanges',
      'agentBridge.showLog',
      'agentBridge.submitFeedback',
    ]);
    assert.deepEqual(Object.keys(manifest.contributes.configuration.properties).sort(), [
      'agentBridge.args',
      'agentBridge.path',
      'agentBridge.workspace',
    ]);
    assert.ok(manifest.engines.vscode && manifest.main && Array.isArray(manifest.activationEvents));
    assert.ok(state.providers.has('agent-bridge'), 'the diff content provider is registered');
  } finally {
    await deactivate(api);
  }
});

test('a missing binary gives a clear message that leads to the setting', async () => {
  const repo = makeRepo();
  const { api, state } = activate(repo, { 'agentBridge.path': '/nonexistent/agent-bridge' });
  try {
    state.answers.message.push('Open Settings');
    assert.equal(await run('showChanges'), undefined);
    assert.equal(state.messages.length, 1);
    assert.equal(state.messages[0].level, 'error');
    assert.match(state.messages[0].text, /"\/nonexistent\/agent-bridge" was not found/);
    assert.match(state.messages[0].text, /agentBridge\.path/);
    await waitFor(() => state.executed.length === 1, 2000, 'the settings command');
    assert.deepEqual(state.executed[0], ['workbench.action.openSettings', 'agentBridge.path']);
  } finally {
    await deactivate(api);
    removeDir(repo);
  }
});

test('without a folder or setting, commands ask for a workspace', async () => {
  const { api, state } = activate(null);
  try {
    await run('quickOpen');
    assert.equal(state.messages[0].level, 'error');
    assert.match(state.messages[0].text, /Open a folder, or set agentBridge\.workspace/);
  } finally {
    await deactivate(api);
  }
});

test("the bridge's stderr goes to the output channel; agentBridge.workspace wins over the folder", async () => {
  const repo = makeRepo();
  const other = makeRepo();
  const { api, state } = activate(repo, { 'agentBridge.args': ['--log-level', 'info'], 'agentBridge.workspace': other });
  try {
    const client = await api.service.ready();
    const conversations = await client.request('listConversations');
    assert.deepEqual(conversations.map((c) => c.workspace), [other]);
    await waitFor(() => state.outputs[0].text.includes(`serving ${other}`), 5000, 'the log line');
    assert.equal(state.outputs[0].name, 'Agent Bridge');
  } finally {
    await deactivate(api);
    removeDir(repo);
    removeDir(other);
  }
});

test('restart replaces the process; a crash restarts it with backoff, then gives up', async () => {
  const repo = makeRepo();
  const { api, state } = activate(repo);
  try {
    api.service.backoff = { baseMs: 50, maxMs: 1000, limit: 2, windowMs: 60000 };
    const first = (await api.service.ready()).process.pid;
    await run('restart');
    assert.deepEqual(state.messages.map((m) => m.text), ['Agent Bridge: restarted.']);
    const second = api.service.client.process.pid;
    assert.notEqual(second, first);

    process.kill(second, 'SIGKILL');
    await waitFor(() => api.service.client && api.service.client.process.pid !== second, 5000, 'the first restart');
    const third = api.service.client.process.pid;
    assert.equal(await api.service.request('health'), 'OK');
    assert.match(state.outputs[0].text, /restarting in 50 ms/);

    process.kill(third, 'SIGKILL');
    await waitFor(() => api.service.client && api.service.client.process.pid !== third, 5000, 'the second restart');
    assert.match(state.outputs[0].text, /restarting in 100 ms/);

    process.kill(api.service.client.process.pid, 'SIGKILL');
    await waitFor(() => state.messages.some((m) => /keeps crashing/.test(m.text)), 5000, 'giving up');
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(api.service.client, null, 'no restart after the limit');
    // The person can still restart by hand.
    await run('restart');
    assert.equal(await api.service.request('health'), 'OK');
  } finally {
    await deactivate(api);
    removeDir(repo);
  }
});

test('a settings change stops the bridge; the next command uses the new settings', async () => {
  const repo = makeRepo();
  const other = makeRepo();
  const { api } = activate(repo);
  try {
    const client = await api.service.ready();
    standIn.changeConfiguration({ 'agentBridge.workspace': other });
    await waitFor(() => !client.running, 3000, 'the old bridge to stop');
    const conversations = await api.service.request('listConversations');
    assert.deepEqual(conversations.map((c) => c.workspace), [other]);
  } finally {
    await deactivate(api);
    removeDir(repo);
    removeDir(other);
  }
});

test('deactivate stops the bridge with shutdown and exit', async () => {
  const repo = makeRepo();
  const { api } = activate(repo);
  try {
    const client = await api.service.ready();
    const exited = client.exited;
    await deactivate(api);
    assert.deepEqual(await exited, { code: 0, signal: null });
  } finally {
    removeDir(repo);
  }
});

test('showChanges lists gitChanges with status icons and opens the picked diff', { skip: unlessMethods('gitChanges', 'gitDiff') }, async () => {
  const repo = makeRepo();
  const { api, state } = activate(repo);
  try {
    state.answers.quickPick.push((items) => items.find((item) => item.change.path === 'src/app.js'));
    const shown = await run('showChanges');
    const items = state.quickPicks[0].items;
    assert.deepEqual(
      items.map((item) => [item.label, item.description]),
      [
        ['$(diff-added) notes/new.md', 'Added'],
        ['$(diff-removed) old.txt', 'Deleted'],
        ['$(diff-modified) src/app.js', 'Modified'],
      ],
    );
    assert.match(state.quickPicks[0].options.placeHolder, /^3 changed files/);
    const [command, left, right, title] = state.executed[0];
    assert.equal(command, 'vscode.diff');
    assert.equal(left.scheme, 'agent-bridge');
    assert.equal(right.scheme, 'file');
    assert.equal(right.fsPath, path.join(repo, 'src', 'app.js'));
    assert.equal(title, "src/app.js (agent's base ↔ working tree)");
    assert.equal(await standIn.provide(left), 'one\ntwo\nthree');
    assert.deepEqual(shown.original, left);
  } finally {
    await deactivate(api);
    removeDir(repo);
  }
});

test('showChanges on a clean repository says so', { skip: unlessMethods('gitChanges') }, async () => {
  const repo = makeRepo();
  execFileSync('git', ['add', '-A'], { cwd: repo });
  execFileSync('git', ['-c', 'user.name=T', '-c', 'user.email=t@e', 'commit', '-qm', 'all'], { cwd: repo });
  const { api, state } = activate(repo);
  try {
    await run('showChanges');
    assert.equal(state.quickPicks.length, 0);
    assert.deepEqual(state.messages.map((m) => m.text), ['Agent Bridge: no changes in the workspace.']);
  } finally {
    await deactivate(api);
    removeDir(repo);
  }
});

test('openDiff of a deleted file shows both sides as virtual documents', { skip: unlessMethods('gitDiff') }, async () => {
  const repo = makeRepo();
  const { api, state } = activate(repo);
  try {
    await run('openDiff', 'old.txt');
    const [, left, right, title] = state.executed[0];
    assert.equal(right.scheme, 'agent-bridge');
    assert.equal(await standIn.provide(left), 'to be deleted');
    assert.equal(await standIn.provide(right), '');
    assert.match(title, /deleted/);
  } finally {
    await deactivate(api);
    removeDir(repo);
  }
});

test('openDiff with no argument uses the active editor; a file Uri works too', { skip: unlessMethods('gitDiff') }, async () => {
  const repo = makeRepo();
  const { api, state } = activate(repo);
  try {
    vscode.window.activeTextEditor = { document: { uri: vscode.Uri.file(path.join(repo, 'src', 'app.js')) } };
    await run('openDiff');
    assert.equal(state.executed[0][2].fsPath, path.join(repo, 'src', 'app.js'));
    await run('openDiff', vscode.Uri.file(path.join(repo, 'notes', 'new.md')));
    assert.equal(await standIn.provide(state.executed[1][1]), '', 'an added file has an empty original');
    await run('openDiff', vscode.Uri.file(os.tmpdir()));
    assert.match(state.messages.at(-1).text, /not in the Agent Bridge workspace/);
  } finally {
    await deactivate(api);
    removeDir(repo);
  }
});

test('openDiff errors carry their code into the message', { skip: unlessMethods('gitDiff') }, async () => {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'agent-bridge-norepo-')));
  fs.writeFileSync(path.join(dir, 'a.txt'), 'a\n');
  const { api, state } = activate(dir);
  try {
    await run('openDiff', 'a.txt');
    assert.equal(state.executed.length, 0);
    assert.equal(state.messages[0].level, 'error');
    assert.match(state.messages[0].text, /\[-32016\]$/);
  } finally {
    await deactivate(api);
    removeDir(dir);
  }
});

test('quickOpen offers every listed file and opens the pick', { skip: unlessMethods('listFiles') }, async () => {
  const repo = makeRepo();
  const { api, state } = activate(repo);
  try {
    state.answers.quickPick.push((items) => items.find((item) => item.path === 'src/app.js'));
    await run('quickOpen');
    const items = state.quickPicks[0].items;
    assert.deepEqual(
      items.map((item) => item.path),
      ['.gitignore', 'README.md', 'notes/new.md', 'src/app.js'],
    );
    assert.deepEqual(items[3], { label: 'app.js', description: 'src', path: 'src/app.js' });
    assert.deepEqual(state.executed, [['vscode.open', vscode.Uri.file(path.join(repo, 'src', 'app.js'))]]);
  } finally {
    await deactivate(api);
    removeDir(repo);
  }
});

test("a name starting with '..' is the workspace's: ..env", { skip: unlessMethods('gitDiff') }, async () => {
  const repo = makeRepo();
  fs.writeFileSync(path.join(repo, '..env'), 'KEY=1\n');
  const { api, state } = activate(repo);
  try {
    assert.equal(extension.relativeTo(repo, path.join(repo, '..env')), '..env');
    assert.equal(extension.relativeTo(repo, path.join(repo, '..')), null);
    assert.equal(extension.relativeTo(repo, path.join(repo, '..', 'x')), null);
    await run('openDiff', vscode.Uri.file(path.join(repo, '..env')));
    assert.deepEqual(state.messages, []);
    const [command, , right] = state.executed[0];
    assert.equal(command, 'vscode.diff');
    assert.equal(right.fsPath, path.join(repo, '..env'));
    await run('openFile', vscode.Uri.file(path.join(repo, '..env')));
    assert.deepEqual(state.messages, []);
    assert.equal(state.executed.at(-1)[1].fsPath, path.join(repo, '..env'));
  } finally {
    await deactivate(api);
    removeDir(repo);
  }
});

test('a symlink out of the workspace is not opened: Open File, Open Diff, Quick Open', { skip: unlessMethods('gitDiff') }, async () => {
  const repo = makeRepo();
  const outside = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'agent-bridge-outside-')));
  fs.writeFileSync(path.join(outside, 'credentials'), 'secret\n');
  fs.symlinkSync(path.join(outside, 'credentials'), path.join(repo, 'link'));
  fs.symlinkSync(path.join(outside, 'made-by-a-save'), path.join(repo, 'dangling'));
  fs.symlinkSync(outside, path.join(repo, 'dir'));
  fs.symlinkSync(path.join(repo, 'README.md'), path.join(repo, 'inner'));
  const { api, state } = activate(repo);
  const fileOpened = (name) =>
    state.executed.some((call) => call.slice(1).some((arg) => arg && arg.scheme === 'file' && arg.fsPath === path.join(repo, name)));
  try {
    for (const name of ['link', 'dangling', 'dir/credentials']) {
      await run('openFile', vscode.Uri.file(path.join(repo, name)));
      await run('openDiff', name);
      state.answers.quickPick.push(() => ({ label: name, description: '', path: name }));
      await run('quickOpen');
      assert.equal(fileOpened(name), false, `${name} opened as a file: ${JSON.stringify(state.executed)}`);
      for (const call of state.executed) {
        for (const arg of call.slice(1)) {
          if (arg && arg.scheme === 'agent-bridge') assert.doesNotMatch(String(await standIn.provide(arg).catch(() => '')), /secret/);
        }
      }
      assert.ok(state.messages.length > 0 && state.messages.every((m) => /leads out of the workspace|-32014|outside/i.test(m.text)), JSON.stringify(state.messages));
    }
    assert.equal(fs.existsSync(path.join(outside, 'made-by-a-save')), false);
    state.messages.length = 0;
    state.executed.length = 0;
    await run('openFile', vscode.Uri.file(path.join(repo, 'inner')));
    assert.deepEqual(state.messages, []);
    assert.equal(fileOpened('inner'), true, 'a link inside opens as a file');
  } finally {
    await deactivate(api);
    removeDir(repo);
    removeDir(outside);
  }
});

test('downloadWorkspace writes the zip where the person chose, with progress', { skip: unlessMethods('zipDirectory') }, async () => {
  const repo = makeRepo();
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'agent-bridge-zip-'));
  const { api, state } = activate(repo);
  try {
    const destination = path.join(out, 'work.zip');
    state.answers.saveDialog.push(vscode.Uri.file(destination));
    const result = await run('downloadWorkspace');
    assert.equal(state.saveDialogs[0].defaultUri.fsPath, path.join(os.homedir(), `${path.basename(repo)}.zip`));
    assert.equal(state.progress[0].options.cancellable, true);
    assert.equal(result.path, destination);
    const listing = execFileSync('unzip', ['-Z1', destination], { encoding: 'utf8' }).trim().split('\n').sort();
    for (const name of ['README.md', 'notes/new.md', 'src/app.js']) assert.ok(listing.includes(name), name);
    assert.ok(!listing.includes('old.txt'), 'the deleted file is not in the zip');
    assert.equal(result.entries, listing.length);
    assert.match(state.messages[0].text, new RegExp(`saved ${listing.length} files .* to ${destination}`));
  } finally {
    await deactivate(api);
    removeDir(repo);
    removeDir(out);
  }
});

test('downloadWorkspace does nothing when the dialog is dismissed', { skip: unlessMethods('zipDirectory') }, async () => {
  const repo = makeRepo();
  const { api, state } = activate(repo);
  try {
    state.answers.saveDialog.push(undefined);
    assert.equal(await run('downloadWorkspace'), undefined);
    assert.equal(state.progress.length, 0);
    assert.equal(state.messages.length, 0);
  } finally {
    await deactivate(api);
    removeDir(repo);
  }
});

test('downloadWorkspace cancelled from the progress notification', { skip: unlessMethods('zipDirectory') }, async () => {
  const repo = makeRepo();
  // Enough content that the zip is still being written when the cancel lands.
  const big = path.join(repo, 'big');
  fs.mkdirSync(big);
  for (let i = 0; i < 200; i++) fs.writeFileSync(path.join(big, `f${i}.bin`), Buffer.alloc(1024 * 1024, i % 251));
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'agent-bridge-zip-'));
  const { api, state } = activate(repo);
  try {
    const destination = path.join(out, 'work.zip');
    state.answers.saveDialog.push(vscode.Uri.file(destination));
    // The person presses Cancel once the zip is under way.
    state.onProgress = (source) => setTimeout(() => source.cancel(), 150);
    assert.equal(await run('downloadWorkspace'), undefined);
    assert.deepEqual(state.messages.map((m) => m.text), ['Agent Bridge: download cancelled.']);
    assert.equal(fs.existsSync(destination), false, 'a cancelled zip leaves no file');
    assert.equal(await api.service.request('health'), 'OK');
  } finally {
    await deactivate(api);
    removeDir(repo);
    removeDir(out);
  }
});

test('submitFeedback sends the polarity and text and thanks the person', { skip: unlessMethods('submitFeedback') }, async () => {
  const repo = makeRepo();
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'agent-bridge-state-'));
  const { api, state } = activate(repo, { 'agentBridge.args': ['--state-dir', stateDir] });
  try {
    state.answers.quickPick.push((items) => items.find((item) => item.polarity === 'negative'));
    state.answers.inputBox.push('it deleted old.txt');
    const result = await run('submitFeedback');
    assert.equal(result.statusCode, 200);
    assert.equal(result.body.message, 'Feedback submitted');
    assert.match(state.messages[0].text, /feedback submitted/);
    const stored = fs
      .readdirSync(stateDir, { recursive: true })
      .map((name) => path.join(stateDir, name))
      .filter((file) => fs.statSync(file).isFile())
      .map((file) => fs.readFileSync(file, 'utf8'))
      .join('');
    assert.match(stored, /"polarity":"negative"/);
    assert.match(stored, /it deleted old\.txt/);
  } finally {
    await deactivate(api);
    removeDir(repo);
    removeDir(stateDir);
  }
});

test('submitFeedback: Escape at either prompt sends nothing', { skip: unlessMethods('submitFeedback') }, async () => {
  const repo = makeRepo();
  const { api, state } = activate(repo);
  try {
    state.answers.quickPick.push(undefined);
    assert.equal(await run('submitFeedback'), undefined);
    state.answers.quickPick.push((items) => items[0]);
    state.answers.inputBox.push(undefined);
    assert.equal(await run('submitFeedback'), undefined);
    assert.equal(state.messages.length, 0);
  } finally {
    await deactivate(api);
    removeDir(repo);
  }
});
