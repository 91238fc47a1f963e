'use strict';
// Agent Bridge for VS Code: shows a person what the agent changed in the
// workspace, through an agent-bridge process spawned over stdio.
//
// The transport (src/client.js) knows nothing of VS Code; this file is the
// thin adapter: settings, commands, the diff view's virtual documents, the
// output channel, and restarting the bridge when it crashes.

const fs = require('fs');
const os = require('os');
const path = require('path');
const vscode = require('vscode');
const { BridgeClient, RequestCancelled } = require('./src/client');

const ORIGINAL_SCHEME = 'agent-bridge';

const STATUS = {
  A: { icon: '$(diff-added)', name: 'Added' },
  M: { icon: '$(diff-modified)', name: 'Modified' },
  D: { icon: '$(diff-removed)', name: 'Deleted' },
  U: { icon: '$(warning)', name: 'Conflict' },
};

/**
 * Owns the bridge process: starts it on first use, restarts it after a crash
 * with exponential backoff, and gives up (asking the person) when it keeps
 * crashing.
 */
class BridgeService {
  constructor(output) {
    this.output = output;
    this.client = null;
    this.starting = null;
    this.crashes = []; // timestamps of recent unexpected exits
    this.restartTimer = null;
    this.workspace = null;
    this.backoff = { baseMs: 500, maxMs: 30000, limit: 5, windowMs: 180000 };
    this.disposed = false;
  }

  settings() {
    const config = vscode.workspace.getConfiguration('agentBridge');
    const folders = vscode.workspace.workspaceFolders || [];
    const workspace = config.get('workspace', '') || (folders[0] && folders[0].uri.fsPath);
    return {
      command: config.get('path', '') || 'agent-bridge',
      args: config.get('args', []) || [],
      workspace,
    };
  }

  /** The running client, starting the bridge if needed. */
  async ready() {
    if (this.client && this.client.running) return this.client;
    if (!this.starting) {
      this.starting = this.start().finally(() => {
        this.starting = null;
      });
    }
    return this.starting;
  }

  async start() {
    const { command, args, workspace } = this.settings();
    if (!workspace) {
      throw userError('Open a folder, or set agentBridge.workspace, to use Agent Bridge.');
    }
    const client = new BridgeClient();
    client.on('stderr', (text) => this.output.append(text));
    client.on('protocolError', (error) => this.output.appendLine(`[agent-bridge] ${error.message}`));
    client.on('exit', (info) => this.exited(client, info));
    this.output.appendLine(`[agent-bridge] starting ${command} ${args.join(' ')} in ${workspace}`);
    try {
      await client.start({ command, args, cwd: workspace });
    } catch (error) {
      if (error.code === 'ENOENT') throw missingBinary(command, workspace, error);
      throw error;
    }
    this.client = client;
    this.workspace = workspace;
    try {
      await client.request('initialize', {
        processId: process.pid,
        clientInfo: { name: 'vscode', version: vscode.version || '' },
        rootPath: workspace,
        capabilities: {},
      });
      client.notify('initialized', {});
    } catch (error) {
      this.output.appendLine(`[agent-bridge] initialize failed: ${error.message}`);
      await client.stop(1000);
      throw error;
    }
    return client;
  }

  exited(client, { code, signal, expected }) {
    if (this.client === client) this.client = null;
    this.output.appendLine(`[agent-bridge] exited (${signal || `code ${code}`})`);
    if (expected || this.disposed) return;
    const now = Date.now();
    this.crashes = this.crashes.filter((t) => now - t < this.backoff.windowMs);
    this.crashes.push(now);
    if (this.crashes.length > this.backoff.limit) {
      this.output.appendLine('[agent-bridge] crashed too often; not restarting');
      vscode.window
        .showErrorMessage('agent-bridge keeps crashing. See the "Agent Bridge" output for its log.', 'Restart')
        .then((choice) => {
          if (choice === 'Restart') vscode.commands.executeCommand('agentBridge.restart');
        });
      return;
    }
    const delay = Math.min(this.backoff.maxMs, this.backoff.baseMs * 2 ** (this.crashes.length - 1));
    this.output.appendLine(`[agent-bridge] restarting in ${delay} ms`);
    clearTimeout(this.restartTimer);
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null;
      if (!this.disposed) this.ready().catch((error) => this.output.appendLine(`[agent-bridge] ${error.message}`));
    }, delay);
  }

  async request(method, params, options) {
    const client = await this.ready();
    return client.request(method, params, options);
  }

  async stop() {
    clearTimeout(this.restartTimer);
    this.restartTimer = null;
    const client = this.client;
    this.client = null;
    if (client) await client.stop();
  }

  async restart() {
    this.crashes = [];
    await this.stop();
    return this.ready();
  }

  async dispose() {
    this.disposed = true;
    await this.stop();
  }
}

function userError(message) {
  const error = new Error(message);
  error.userFacing = true;
  return error;
}

function missingBinary(command, workspace, cause) {
  const error = userError(
    `Cannot start agent-bridge: "${command}" was not found (from ${workspace}). ` +
      'Install it or set "agentBridge.path" to the binary.',
  );
  error.code = cause.code;
  error.missingBinary = true;
  return error;
}

/** Workspace-relative path of a file URI or path, or null when outside. */
function relativeTo(workspace, fsPath) {
  const relative = path.relative(workspace, fsPath);
  if (!relative || relative.startsWith('..') || path.isAbsolute(relative)) return null;
  return relative.split(path.sep).join('/');
}

function formatBytes(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB'];
  let value = bytes;
  let unit = -1;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

/** The virtual documents the diff editor shows: a side of gitDiff. */
class DiffContentProvider {
  constructor(service) {
    this.service = service;
    this.emitter = new vscode.EventEmitter();
    this.onDidChange = this.emitter.event;
  }

  static uri(relativePath, side) {
    return vscode.Uri.from({ scheme: ORIGINAL_SCHEME, path: `/${relativePath}`, query: `side=${side}` });
  }

  async provideTextDocumentContent(uri) {
    const side = new URLSearchParams(uri.query).get('side') === 'modified' ? 'modified' : 'original';
    const diff = await this.service.request('gitDiff', { path: uri.path.replace(/^\//, '') });
    return diff[side];
  }

  refresh(uri) {
    this.emitter.fire(uri);
  }
}

/** The six commands, separate from activate() so each reads plainly. */
class Commands {
  constructor(service, provider) {
    this.service = service;
    this.provider = provider;
    this.zipCount = 0;
  }

  async showChanges() {
    const changes = await this.service.request('gitChanges', {});
    if (changes.length === 0) {
      vscode.window.showInformationMessage('Agent Bridge: no changes in the workspace.');
      return undefined;
    }
    const items = changes.map((change) => {
      const status = STATUS[change.status] || { icon: '$(question)', name: change.status };
      return { label: `${status.icon} ${change.path}`, description: status.name, change };
    });
    const picked = await vscode.window.showQuickPick(items, {
      placeHolder: `${changes.length} changed file${changes.length === 1 ? '' : 's'}: pick one to see its diff`,
      matchOnDescription: true,
    });
    if (!picked) return undefined;
    return this.openDiff(picked.change.path, picked.change.status);
  }

  /** `target`: a workspace-relative path, a file Uri, or nothing (the active file, else a pick). */
  async openDiff(target, knownStatus) {
    await this.service.ready();
    const workspace = this.service.workspace;
    let relative = null;
    if (typeof target === 'string') {
      relative = target;
    } else if (target && target.scheme === 'file') {
      relative = relativeTo(workspace, target.fsPath);
    } else {
      const editor = vscode.window.activeTextEditor;
      if (editor && editor.document.uri.scheme === 'file') relative = relativeTo(workspace, editor.document.uri.fsPath);
      if (!relative) return this.showChanges();
    }
    if (!relative) throw userError('That file is not in the Agent Bridge workspace.');

    // Ask once up front, so that errors (not a repository, too large) show as
    // a message instead of an empty diff editor.
    const diff = await this.service.request('gitDiff', { path: relative });
    const original = DiffContentProvider.uri(relative, 'original');
    this.provider.refresh(original);
    const onDisk = path.join(workspace, ...relative.split('/'));
    const deleted = knownStatus === 'D' || (diff.modified === '' && !(await exists(onDisk)));
    let modified = vscode.Uri.file(onDisk);
    if (deleted) {
      modified = DiffContentProvider.uri(relative, 'modified');
      this.provider.refresh(modified);
    }
    const title = `${relative} (agent's base ↔ ${deleted ? 'deleted' : 'working tree'})`;
    await vscode.commands.executeCommand('vscode.diff', original, modified, title);
    return { original, modified, title };
  }

  async quickOpen() {
    const files = await this.service.request('listFiles', { recursive: true });
    const items = files.map((file) => {
      const slash = file.lastIndexOf('/');
      return {
        label: file.slice(slash + 1),
        description: slash >= 0 ? file.slice(0, slash) : '',
        path: file,
      };
    });
    const picked = await vscode.window.showQuickPick(items, {
      placeHolder: `${files.length} files in the agent's workspace`,
      matchOnDescription: true,
    });
    if (!picked) return undefined;
    const uri = vscode.Uri.file(path.join(this.service.workspace, ...picked.path.split('/')));
    await vscode.commands.executeCommand('vscode.open', uri);
    return uri;
  }

  async downloadWorkspace() {
    await this.service.ready();
    const workspace = this.service.workspace;
    const target = await vscode.window.showSaveDialog({
      defaultUri: vscode.Uri.file(path.join(os.homedir(), `${path.basename(workspace)}.zip`)),
      filters: { 'Zip archive': ['zip'] },
      saveLabel: 'Download',
      title: 'Download the agent workspace as a zip',
    });
    if (!target) return undefined;
    const workDoneToken = `vscode-zip-${process.pid}-${++this.zipCount}`;
    let result;
    try {
      result = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: 'Zipping the workspace', cancellable: true },
        async (progress, token) => {
          const client = await this.service.ready();
          let reported = 0;
          const subscription = client.onNotification('$/progress', (params) => {
            if (!params || params.token !== workDoneToken || !params.value) return;
            const { kind, message, percentage } = params.value;
            if (kind === 'end') return;
            const update = {};
            if (message) update.message = message;
            if (typeof percentage === 'number' && percentage > reported) {
              update.increment = percentage - reported;
              reported = percentage;
            }
            if (update.message || update.increment) progress.report(update);
          });
          try {
            return await client.request('zipDirectory', { destination: target.fsPath, workDoneToken }, { token });
          } finally {
            subscription.dispose();
          }
        },
      );
    } catch (error) {
      if (error.code === RequestCancelled) {
        vscode.window.showInformationMessage('Agent Bridge: download cancelled.');
        return undefined;
      }
      throw error;
    }
    const skipped = result.skipped ? `, ${result.skipped} skipped` : '';
    vscode.window
      .showInformationMessage(
        `Agent Bridge: saved ${result.entries} files (${formatBytes(result.bytes)}${skipped}) to ${result.path}`,
        'Reveal',
      )
      .then((choice) => {
        if (choice === 'Reveal') vscode.commands.executeCommand('revealFileInOS', vscode.Uri.file(result.path));
      });
    return result;
  }

  async submitFeedback() {
    const polarity = await vscode.window.showQuickPick(
      [
        { label: '$(thumbsup) Positive', description: 'The agent did well', polarity: 'positive' },
        { label: '$(thumbsdown) Negative', description: 'The agent did badly', polarity: 'negative' },
      ],
      { placeHolder: "How did the agent's work go?" },
    );
    if (!polarity) return undefined;
    const feedback = await vscode.window.showInputBox({
      prompt: 'Anything to add? (optional; Escape cancels)',
      placeHolder: 'What went well or wrong',
    });
    if (feedback === undefined) return undefined;
    const params = { polarity: polarity.polarity, permissions: 'private' };
    if (feedback) params.feedback = feedback;
    const result = await this.service.request('submitFeedback', params);
    const id = result && result.body && result.body.feedback_id;
    vscode.window.showInformationMessage(`Agent Bridge: feedback submitted${id ? ` (id ${id})` : ''}. Thank you.`);
    return result;
  }

  async restart() {
    await this.service.restart();
    vscode.window.showInformationMessage('Agent Bridge: restarted.');
  }
}

async function exists(file) {
  try {
    await fs.promises.lstat(file);
    return true;
  } catch {
    return false;
  }
}

/** Runs a command, turning failures into one clear message. */
function guarded(service, output, name, body) {
  return async (...args) => {
    try {
      return await body(...args);
    } catch (error) {
      output.appendLine(`[agent-bridge] ${name} failed: ${error.message}${error.code ? ` (${error.code})` : ''}`);
      if (error.missingBinary) {
        vscode.window.showErrorMessage(error.message, 'Open Settings').then((choice) => {
          if (choice === 'Open Settings') vscode.commands.executeCommand('workbench.action.openSettings', 'agentBridge.path');
        });
      } else {
        const code = typeof error.code === 'number' ? ` [${error.code}]` : '';
        vscode.window.showErrorMessage(`Agent Bridge: ${error.message}${code}`);
      }
      return undefined;
    }
  };
}

let active = null;

function activate(context) {
  const output = vscode.window.createOutputChannel('Agent Bridge');
  const service = new BridgeService(output);
  const provider = new DiffContentProvider(service);
  const commands = new Commands(service, provider);
  const register = (name, body) =>
    context.subscriptions.push(vscode.commands.registerCommand(`agentBridge.${name}`, guarded(service, output, name, body)));

  register('showChanges', () => commands.showChanges());
  register('openDiff', (target) => commands.openDiff(target));
  register('quickOpen', () => commands.quickOpen());
  register('downloadWorkspace', () => commands.downloadWorkspace());
  register('submitFeedback', () => commands.submitFeedback());
  register('restart', () => commands.restart());

  context.subscriptions.push(
    output,
    vscode.workspace.registerTextDocumentContentProvider(ORIGINAL_SCHEME, provider),
    vscode.workspace.onDidChangeConfiguration((event) => {
      // New settings take effect on the next command.
      if (event.affectsConfiguration('agentBridge')) service.stop();
    }),
    { dispose: () => service.dispose() },
  );
  active = { service, commands, provider, output };
  return active;
}

async function deactivate() {
  if (active) {
    const { service } = active;
    active = null;
    await service.dispose();
  }
}

module.exports = { activate, deactivate, BridgeService, Commands, DiffContentProvider, relativeTo, formatBytes };
