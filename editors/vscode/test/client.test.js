'use strict';
// BridgeClient against the real agent-bridge binary, over real pipes.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { BridgeClient, MessageReader, ClientErrorCodes, RequestCancelled } = require('../src/client');
const { bridgeBinary, makeRepo, removeDir, waitFor, unlessMethods, sigstop } = require('../testlib/fixtures');

const bin = bridgeBinary();

async function started(workspace, extraArgs = []) {
  const client = new BridgeClient();
  await client.start({ command: bin, args: ['--workspace', workspace, ...extraArgs], cwd: workspace });
  return client;
}

test('MessageReader: LSP framing split anywhere, headers any case, NDJSON too', () => {
  const seen = [];
  const errors = [];
  const reader = new MessageReader((m) => seen.push(m), (e) => errors.push(e));
  const body = JSON.stringify({ jsonrpc: '2.0', id: 1, result: 'é€😀' });
  const framed = Buffer.concat([
    Buffer.from(`content-length: ${Buffer.byteLength(body)}\r\nContent-Type: application/vscode-jsonrpc; charset=utf-8\r\n\r\n`),
    Buffer.from(body),
    Buffer.from('{"jsonrpc":"2.0","method":"$/progress","params":{"token":1}}\n'),
    Buffer.from(`Content-Length: 2\r\n\r\n[]`),
  ]);
  for (let i = 0; i < framed.length; i++) reader.push(framed.subarray(i, i + 1));
  assert.deepEqual(errors, []);
  assert.deepEqual(seen, [
    { jsonrpc: '2.0', id: 1, result: 'é€😀' },
    { jsonrpc: '2.0', method: '$/progress', params: { token: 1 } },
  ]);
  reader.push(Buffer.from('X-Nonsense: 1\r\n\r\nContent-Length: 4\r\n\r\nnull'));
  assert.equal(errors.length, 2, 'a header block without Content-Length and a non-object are reported');
  assert.equal(seen.length, 2, 'null is not a message');
});

test('initialize, health and a request while others are in flight', async () => {
  const repo = makeRepo();
  const client = await started(repo);
  try {
    const init = await client.request('initialize', {
      processId: process.pid,
      clientInfo: { name: 'test' },
      rootPath: repo,
    });
    assert.equal(init.serverInfo.name, 'agent-bridge');
    assert.ok(init.capabilities.methods.includes('health'));
    assert.deepEqual(init.capabilities.framing, ['lsp', 'ndjson']);
    client.notify('initialized', {});
    const replies = await Promise.all(Array.from({ length: 50 }, () => client.request('health')));
    assert.deepEqual(new Set(replies), new Set(['OK']));
    assert.equal(client.pending.size, 0);
  } finally {
    await client.stop();
    removeDir(repo);
  }
});

test('errors reject with the JSON-RPC code and data', async () => {
  const repo = makeRepo();
  const client = await started(repo);
  try {
    await assert.rejects(client.request('noSuchMethod', {}), (error) => {
      assert.equal(error.code, -32601);
      assert.match(error.message, /noSuchMethod/);
      return true;
    });
    await assert.rejects(client.request('closeConversation', { conversationId: 'nope' }), (error) => {
      assert.equal(error.code, -32001);
      assert.equal(error.data.httpStatus, 404);
      assert.deepEqual(error.data.body, { detail: 'Conversation nope not found' });
      return true;
    });
    await assert.rejects(client.request('openConversation', { workspace: 42 }), (error) => error.code === -32602);
    // The session survives its errors.
    assert.equal(await client.request('health'), 'OK');
  } finally {
    await client.stop();
    removeDir(repo);
  }
});

test('Content-Length counts bytes: non-ASCII paths round-trip', async () => {
  const repo = makeRepo();
  const other = path.join(repo, 'dossier-é-€-😀');
  fs.mkdirSync(other);
  const client = await started(repo);
  try {
    const { conversationId } = await client.request('openConversation', { workspace: other });
    const all = await client.request('listConversations');
    assert.ok(all.some((c) => c.conversationId === conversationId && c.workspace === other));
  } finally {
    await client.stop();
    removeDir(repo);
  }
});

test("the bridge's stderr reaches the 'stderr' event", async () => {
  const repo = makeRepo();
  const client = new BridgeClient();
  let stderr = '';
  client.on('stderr', (text) => (stderr += text));
  await client.start({ command: bin, args: ['--workspace', repo, '--log-level', 'info'], cwd: repo });
  try {
    await waitFor(() => stderr.includes(repo), 5000, 'the startup log line');
  } finally {
    await client.stop();
    removeDir(repo);
  }
});

test('stop() sends shutdown then exit: the bridge exits 0', async () => {
  const repo = makeRepo();
  const client = await started(repo);
  const exits = [];
  client.on('exit', (info) => exits.push(info));
  try {
    assert.equal(await client.request('health'), 'OK');
    const result = await client.stop();
    assert.deepEqual(result, { code: 0, signal: null });
    assert.deepEqual(exits, [{ code: 0, signal: null, expected: true }]);
    assert.equal(client.running, false);
    await assert.rejects(client.request('health'), (error) => error.code === ClientErrorCodes.NotRunning);
    // A stopped client starts again.
    await client.start({ command: bin, args: ['--workspace', repo] });
    assert.equal(await client.request('health'), 'OK');
    assert.equal((await client.stop()).code, 0);
  } finally {
    removeDir(repo);
  }
});

test('stop() kills a bridge that does not answer', async () => {
  const repo = makeRepo();
  const client = await started(repo);
  try {
    await sigstop(client.process.pid);
    const begun = Date.now();
    const result = await client.stop(300);
    assert.equal(result.signal, 'SIGKILL');
    assert.ok(Date.now() - begun < 5000);
  } finally {
    removeDir(repo);
  }
});

test('a crash fails pending requests with ConnectionClosed and reports an unexpected exit', async () => {
  const repo = makeRepo();
  const client = await started(repo);
  const exits = [];
  client.on('exit', (info) => exits.push(info));
  try {
    await sigstop(client.process.pid);
    const pending = client.request('health');
    process.kill(client.process.pid, 'SIGKILL');
    await assert.rejects(pending, (error) => error.code === ClientErrorCodes.ConnectionClosed);
    await waitFor(() => exits.length === 1, 2000, 'the exit event');
    assert.deepEqual(exits[0], { code: null, signal: 'SIGKILL', expected: false });
  } finally {
    removeDir(repo);
  }
});

test('exit without shutdown ends the bridge with code 1', async () => {
  const repo = makeRepo();
  const client = await started(repo);
  try {
    const exited = client.exited;
    client.notify('exit');
    assert.deepEqual(await exited, { code: 1, signal: null });
  } finally {
    removeDir(repo);
  }
});

test('after shutdown the bridge refuses requests with -32600', async () => {
  const repo = makeRepo();
  const client = await started(repo);
  try {
    assert.equal(await client.request('shutdown'), null);
    await assert.rejects(client.request('health'), (error) => error.code === -32600);
  } finally {
    await client.stop();
    removeDir(repo);
  }
});

test('a missing binary rejects start() with ENOENT', async () => {
  const client = new BridgeClient();
  await assert.rejects(client.start({ command: '/nonexistent/agent-bridge' }), (error) => error.code === 'ENOENT');
  assert.equal(client.running, false);
});


test('$/progress notifications reach onNotification, begin to end', { skip: unlessMethods('zipDirectory') }, async () => {
  const repo = makeRepo();
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'agent-bridge-zip-'));
  const client = await started(repo);
  try {
    const seen = [];
    const all = [];
    const subscription = client.onNotification('$/progress', (params) => seen.push(params));
    client.onNotification('*', (method) => all.push(method));
    const result = await client.request('zipDirectory', { destination: path.join(out, 'p.zip'), workDoneToken: 'tok-1' });
    assert.ok(result.entries > 0);
    await waitFor(() => seen.length > 0 && seen.at(-1).value.kind === 'end', 3000, 'the end of progress');
    subscription.dispose();
    assert.ok(seen.every((params) => params.token === 'tok-1'));
    assert.equal(seen[0].value.kind, 'begin');
    assert.ok(all.includes('$/progress'));
  } finally {
    await client.stop();
    removeDir(repo);
    removeDir(out);
  }
});

test('an AbortSignal cancels a long request: -32800, and no zip is left', { skip: unlessMethods('zipDirectory') }, async () => {
  const repo = makeRepo();
  fs.mkdirSync(path.join(repo, 'big'));
  for (let i = 0; i < 200; i++) fs.writeFileSync(path.join(repo, 'big', `f${i}`), Buffer.alloc(1024 * 1024, i % 251));
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'agent-bridge-zip-'));
  const client = await started(repo);
  try {
    const controller = new AbortController();
    const destination = path.join(out, 'c.zip');
    const pending = client.request('zipDirectory', { destination }, { signal: controller.signal });
    setTimeout(() => controller.abort(), 100);
    await assert.rejects(pending, (error) => error.code === RequestCancelled);
    assert.equal(fs.existsSync(destination), false);
    // Already aborted: not even sent.
    await assert.rejects(client.request('health', {}, { signal: controller.signal }), (error) => error.code === RequestCancelled);
    assert.equal(await client.request('health'), 'OK');
  } finally {
    await client.stop();
    removeDir(repo);
    removeDir(out);
  }
});
