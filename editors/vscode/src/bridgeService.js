'use strict';
// Owns the one agent-bridge process of the window: starts it, restarts it
// after a crash with exponential backoff, and gives up (asking the person)
// when it keeps crashing. Every workspace folder is a conversation of this
// one process (see folderView.js), so there is one log, one set of settings
// and one restart policy, however many folders are open.

const vscode = require('vscode');
const { BridgeClient } = require('./client');
const { bridgeLogLine } = require('./bridgeLog');

class BridgeService {
  /** `log`: a LogOutputChannel. */
  constructor(log) {
    this.log = log;
    this.client = null;
    this.starting = null;
    this.crashes = []; // timestamps of recent unexpected exits
    this.restartTimer = null;
    this.workspace = null;
    this.backoff = { baseMs: 500, maxMs: 30000, limit: 5, windowMs: 180000 };
    this.disposed = false;
    this.gaveUp = false;
    // Fired with the client once it has answered initialize, and with null
    // when it exits: the folder views (re)open their conversations on it.
    this.startedEmitter = new vscode.EventEmitter();
    this.onDidStart = this.startedEmitter.event;
    this.stoppedEmitter = new vscode.EventEmitter();
    this.onDidStop = this.stoppedEmitter.event;
  }

  /** The directories to serve: the setting, else every workspace folder. */
  static roots() {
    const config = vscode.workspace.getConfiguration('agentBridge');
    const setting = config.get('workspace', '');
    if (setting) return [setting];
    return (vscode.workspace.workspaceFolders || []).map((folder) => folder.uri.fsPath);
  }

  settings() {
    const config = vscode.workspace.getConfiguration('agentBridge');
    return {
      command: config.get('path', '') || 'agent-bridge',
      args: config.get('args', []) || [],
      workspace: BridgeService.roots()[0],
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
    let pending = '';
    client.on('stderr', (text) => {
      // The bridge's lines carry their own level; the channel adds the time.
      const lines = (pending + text).split('\n');
      pending = lines.pop();
      for (const line of lines) bridgeLogLine(this.log, line);
    });
    client.on('protocolError', (error) => this.log.error(error.message));
    client.on('exit', (info) => this.exited(client, info));
    this.log.info(`starting ${command} ${args.join(' ')} in ${workspace}`);
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
      this.log.error(`initialize failed: ${error.message}`);
      await client.stop(1000);
      throw error;
    }
    this.gaveUp = false;
    this.startedEmitter.fire(client);
    return client;
  }

  exited(client, { code, signal, expected }) {
    if (this.client === client) this.client = null;
    this.log.info(`exited (${signal || `code ${code}`})`);
    if (expected || this.disposed) {
      this.stoppedEmitter.fire({ expected: true, gaveUp: false });
      return;
    }
    const now = Date.now();
    this.crashes = this.crashes.filter((t) => now - t < this.backoff.windowMs);
    this.crashes.push(now);
    this.gaveUp = this.crashes.length > this.backoff.limit;
    this.stoppedEmitter.fire({ expected: false, gaveUp: this.gaveUp });
    if (this.gaveUp) {
      this.log.error('crashed too often; not restarting');
      vscode.window
        .showErrorMessage('agent-bridge keeps crashing. See the "Agent Bridge" output for its log.', 'Restart', 'Show Log')
        .then((choice) => {
          if (choice === 'Restart') vscode.commands.executeCommand('agentBridge.restart');
          if (choice === 'Show Log') vscode.commands.executeCommand('agentBridge.showLog');
        });
      return;
    }
    const delay = Math.min(this.backoff.maxMs, this.backoff.baseMs * 2 ** (this.crashes.length - 1));
    this.log.warn(`restarting in ${delay} ms`);
    clearTimeout(this.restartTimer);
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null;
      if (!this.disposed) this.ready().catch((error) => this.log.error(error.message));
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
    this.startedEmitter.dispose();
    this.stoppedEmitter.dispose();
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

module.exports = { BridgeService, userError };
