'use strict';
// Shared by the tests: where the real binary is, and temp git repositories.
// (Not under test/, so `node --test editors/vscode/test/` does not run it.)

const fs = require('fs');
const os = require('os');
const path = require('path');
const { execFileSync } = require('child_process');

const repoRoot = path.resolve(__dirname, '..', '..', '..');

/** AGENT_BRIDGE_BIN, else the package's debug build. */
function bridgeBinary() {
  const bin = process.env.AGENT_BRIDGE_BIN || path.join(repoRoot, '.build', 'debug', 'agent-bridge');
  if (!fs.existsSync(bin)) {
    throw new Error(`agent-bridge binary not found at ${bin}: run \`swift build\` or set AGENT_BRIDGE_BIN`);
  }
  return path.resolve(bin);
}

function git(cwd, ...args) {
  return execFileSync('git', args, {
    cwd,
    encoding: 'utf8',
    env: {
      ...process.env,
      GIT_CONFIG_GLOBAL: '/dev/null',
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_AUTHOR_NAME: 'Test',
      GIT_AUTHOR_EMAIL: 'test@example.com',
      GIT_COMMITTER_NAME: 'Test',
      GIT_COMMITTER_EMAIL: 'test@example.com',
    },
  });
}

/**
 * A temp repository with one commit, then working-tree changes:
 * M src/app.js, D old.txt, A (untracked) notes/new.md, and an ignored file.
 */
function makeRepo() {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'agent-bridge-vscode-')));
  git(dir, 'init', '-q', '-b', 'main');
  fs.mkdirSync(path.join(dir, 'src'));
  fs.writeFileSync(path.join(dir, 'src', 'app.js'), 'one\ntwo\nthree\n');
  fs.writeFileSync(path.join(dir, 'old.txt'), 'to be deleted\n');
  fs.writeFileSync(path.join(dir, 'README.md'), '# demo\n');
  fs.writeFileSync(path.join(dir, '.gitignore'), 'build/\n');
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '-m', 'initial');
  fs.writeFileSync(path.join(dir, 'src', 'app.js'), 'one\n2\nthree\nfour\n');
  fs.unlinkSync(path.join(dir, 'old.txt'));
  fs.mkdirSync(path.join(dir, 'notes'));
  fs.writeFileSync(path.join(dir, 'notes', 'new.md'), 'fresh\n');
  fs.mkdirSync(path.join(dir, 'build'));
  fs.writeFileSync(path.join(dir, 'build', 'out.o'), 'ignored\n');
  return dir;
}

function removeDir(dir) {
  fs.rmSync(dir, { recursive: true, force: true });
}

/** Polls `predicate` until true or the timeout passes. */
async function waitFor(predicate, timeoutMs = 5000, what = 'condition') {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await predicate()) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/**
 * Sends SIGSTOP and waits until the kernel reports the process stopped:
 * delivery is asynchronous, and a process not yet stopped still answers.
 */
async function sigstop(pid) {
  process.kill(pid, 'SIGSTOP');
  await waitFor(() => {
    try {
      return /^\d+ \(.*\) T/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
    } catch {
      return false;
    }
  }, 5000, 'the process to stop');
}

module.exports = { sigstop, repoRoot, bridgeBinary, makeRepo, removeDir, git, waitFor };

let methodsCache = null;
/** The methods the binary serves, from its OpenRPC document. */
function bridgeMethods() {
  if (!methodsCache) {
    const doc = JSON.parse(require('child_process').execFileSync(bridgeBinary(), ['openrpc'], { encoding: 'utf8' }));
    methodsCache = new Set(doc.methods.map((m) => m.name));
  }
  return methodsCache;
}

/** A node:test `skip` value: false when the binary has every method. */
function unlessMethods(...names) {
  const missing = names.filter((name) => !bridgeMethods().has(name));
  return missing.length ? `the bridge does not serve ${missing.join(', ')} yet` : false;
}

module.exports.bridgeMethods = bridgeMethods;
module.exports.unlessMethods = unlessMethods;
