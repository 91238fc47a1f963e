'use strict';
// Agent Bridge for VS Code: shows a person what the agent changed in the
// workspace, through an agent-bridge process spawned over stdio.
//
// The transport (src/client.js) knows nothing of VS Code. src/ holds the
// bridge process (bridgeService.js), one Source Control provider per folder
// (folderView.js) and the decorations and status-bar count they feed; this
// file wires them up and holds the commands and the diff documents.

const fs = require('fs');
const os = require('os');
const path = require('path');
const vscode = require('vscode');
const { RequestCancelled } = require('./src/client');
const { BridgeService, userError } = require('./src/bridgeService');
const { FolderViews } = require('./src/folderViews');
const { ChangeDecorations } = require('./src/changeDecorations');
const { ChangeCount } = require('./src/changeCount');
const { STATUS, diffTitle } = require('./src/folderView');
const { SCHEME, contentUri, sideOf } = require('./src/contentUri');

const ICONS = { A: '$(diff-added)', M: '$(diff-modified)', D: '$(diff-removed)', U: '$(warning)' };

/** Workspace-relative path of a file URI or path, or null when outside. */
function relativeTo(workspace, fsPath) {
  const relative = path.relative(workspace, fsPath);
  // '..env' is a file of the workspace; only '..' itself or '../…' leaves it.
  if (!relative || relative === '..' || relative.startsWith('..' + path.sep) || path.isAbsolute(relative)) return null;
  return relative.split(path.sep).join('/');
}

function outsideMessage(relative) {
  return `Agent Bridge: ${relative} leads out of the workspace; shown read-only as the bridge reads it, not opened.`;
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

/**
 * Where a zip goes unless the person says otherwise: never inside the
 * workspace, where it would show up as one more change of the agent's.
 */
function defaultZipPath(workspaces) {
  const name = `${path.basename(workspaces[0]) || 'workspace'}.zip`;
  const inside = (dir) => workspaces.some((workspace) => relativeTo(workspace, dir) !== null || path.resolve(workspace) === path.resolve(dir));
  for (const dir of [os.homedir(), os.tmpdir(), path.dirname(workspaces[0])]) {
    if (!inside(dir)) return path.join(dir, name);
  }
  return path.join(path.dirname(path.dirname(workspaces[0])), name);
}

/** The virtual documents of the diff editor and the gutter: a side of gitDiff. */
class DiffContentProvider {
  constructor(views) {
    this.views = views;
    this.emitter = new vscode.EventEmitter();
    this.onDidChange = this.emitter.event;
  }

  async provideTextDocumentContent(uri) {
    const view = this.views.forPath(uri.path);
    const relative = view && view.relative(uri.path);
    if (!relative) throw userError(`${uri.path} is not in a folder Agent Bridge serves.`);
    const diff = await view.request('gitDiff', { path: relative });
    return diff[sideOf(uri)];
  }

  refresh(uri) {
    this.emitter.fire(uri);
  }

  /** After a change of the list: the open agent-bridge documents may be stale. */
  refreshOpen() {
    for (const document of vscode.workspace.textDocuments || []) {
      if (document.uri.scheme === SCHEME) this.refresh(document.uri);
    }
  }
}

/** The commands, separate from activate() so each reads plainly. */
class Commands {
  constructor(service, views, provider, log) {
    this.service = service;
    this.views = views;
    this.provider = provider;
    this.log = log;
    this.zipCount = 0;
  }

  async folder(placeHolder) {
    if (this.views.views.length === 0) await this.service.ready(); // says what is missing
    return this.views.pick(placeHolder);
  }

  async showChanges() {
    const view = await this.folder('Whose changes?');
    if (!view) return undefined;
    const changes = await view.request('gitChanges', {});
    if (view.repository === false) {
      vscode.window.showInformationMessage(`Agent Bridge: ${view.root} is not a git repository.`);
      return undefined;
    }
    if (changes.length === 0) {
      vscode.window.showInformationMessage('Agent Bridge: no changes in the workspace.');
      return undefined;
    }
    const items = changes.map((change) => {
      const status = STATUS[change.status] || { name: change.status };
      return { label: `${ICONS[change.status] || '$(question)'} ${change.path}`, description: status.name, change };
    });
    const picked = await vscode.window.showQuickPick(items, {
      placeHolder: `${changes.length} changed file${changes.length === 1 ? '' : 's'}: pick one to see its diff`,
      matchOnDescription: true,
    });
    if (!picked) return undefined;
    return this.diff(view, picked.change.path, picked.change.status);
  }

  /**
   * `target`: a path relative to the (first) folder, a file Uri, a Source
   * Control resource, or nothing (the active file, else a pick).
   */
  async openDiff(target) {
    if (target && target.resourceUri) target = target.resourceUri;
    if (typeof target === 'string') {
      const view = await this.folder('Which folder is the path in?');
      return view && this.diff(view, target);
    }
    let uri = target && target.scheme === 'file' ? target : null;
    if (!target) {
      const editor = vscode.window.activeTextEditor;
      if (editor && editor.document.uri.scheme === 'file') uri = editor.document.uri;
      if (!uri || !this.views.forPath(uri.fsPath)) return this.showChanges();
    }
    const view = uri && this.views.forPath(uri.fsPath);
    const relative = view && view.relative(uri.fsPath);
    if (!relative) throw userError('That file is not in the Agent Bridge workspace.');
    return this.diff(view, relative);
  }

  async diff(view, relative, knownStatus) {
    // Ask once up front, so that errors (not a repository, too large) show as
    // a message instead of an empty diff editor.
    const diff = await view.request('gitDiff', { path: relative });
    const onDisk = view.absolute(relative);
    const original = contentUri(onDisk, 'original');
    this.provider.refresh(original);
    const deleted = knownStatus === 'D' || (diff.modified === '' && !(await exists(onDisk)));
    let modified = vscode.Uri.file(onDisk);
    if (!deleted && !(await view.inside(relative))) {
      // A link out of the folder: the bridge's text, read-only, not the
      // file it leads to.
      modified = contentUri(onDisk, 'modified');
      this.provider.refresh(modified);
      vscode.window.showWarningMessage(outsideMessage(relative));
    } else if (deleted) {
      modified = contentUri(onDisk, 'modified');
      this.provider.refresh(modified);
    }
    const title = diffTitle(relative, deleted);
    await vscode.commands.executeCommand('vscode.diff', original, modified, title);
    return { original, modified, title };
  }

  /** Opens a changed file at its first changed line (a file Uri or a Source Control resource). */
  async openFile(target) {
    const uri = target && target.resourceUri ? target.resourceUri : target;
    const view = uri && uri.scheme === 'file' && this.views.forPath(uri.fsPath);
    const relative = view && view.relative(uri.fsPath);
    if (!relative) throw userError('That file is not in the Agent Bridge workspace.');
    if (!(await view.inside(relative))) return { uri: await this.openOutside(view, relative), line: 0 };
    const diff = await view.request('gitDiff', { path: relative });
    const line = firstChangedLine(diff.original, diff.modified);
    const selection = new vscode.Range(line, 0, line, 0);
    await vscode.commands.executeCommand('vscode.open', uri, { selection });
    return { uri, line };
  }

  /**
   * Shows `relative`, whose links lead out of the folder, as gitDiff's
   * working-tree text in a read-only document: never the file it leads to,
   * which a save would write. Returns that document's Uri.
   */
  async openOutside(view, relative) {
    try {
      await view.request('gitDiff', { path: relative });
    } catch (error) {
      throw userError(`${relative} leads out of the workspace: not opened (${error.message}).`);
    }
    const uri = contentUri(view.absolute(relative), 'modified');
    this.provider.refresh(uri);
    vscode.window.showWarningMessage(outsideMessage(relative));
    await vscode.commands.executeCommand('vscode.open', uri);
    return uri;
  }

  async quickOpen() {
    const view = await this.folder('Find a file in which folder?');
    if (!view) return undefined;
    const files = await view.request('listFiles', { recursive: true });
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
    if (!(await view.inside(picked.path))) return this.openOutside(view, picked.path);
    const uri = vscode.Uri.file(view.absolute(picked.path));
    await vscode.commands.executeCommand('vscode.open', uri);
    return uri;
  }

  async downloadWorkspace() {
    const view = await this.folder('Download which folder?');
    if (!view) return undefined;
    await view.ready();
    const workspaces = this.views.views.flatMap((one) => [one.root, one.realWorkspace].filter(Boolean));
    const target = await vscode.window.showSaveDialog({
      defaultUri: vscode.Uri.file(defaultZipPath([view.root, ...workspaces])),
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
          const client = await view.ready();
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
            return await view.request('zipDirectory', { destination: target.fsPath, workDoneToken }, { token });
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

  async refresh() {
    await Promise.all(this.views.views.map((view) => view.ready().then(() => view.refresh())));
  }

  showLog() {
    this.log.show(true);
  }

  async restart() {
    await this.service.restart();
    vscode.window.showInformationMessage('Agent Bridge: restarted.');
  }
}

/** The 0-based line of the first difference between two texts (the end of the shorter when one extends the other). */
function firstChangedLine(original, modified) {
  const before = original.split('\n');
  const after = modified.split('\n');
  let line = 0;
  while (line < before.length && line < after.length && before[line] === after[line]) line++;
  return Math.min(line, Math.max(after.length - 1, 0));
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
function guarded(log, name, body) {
  return async (...args) => {
    try {
      return await body(...args);
    } catch (error) {
      log.error(`${name} failed: ${error.message}${error.code ? ` (${error.code})` : ''}`);
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
  const log = vscode.window.createOutputChannel('Agent Bridge', { log: true });
  const service = new BridgeService(log);
  let views = null;
  const decorations = new ChangeDecorations((fsPath) => {
    const view = views.forPath(fsPath);
    return view ? view.statusAt(fsPath) : undefined;
  });
  const count = new ChangeCount();
  views = new FolderViews({ service, log, decorations, count });
  const provider = new DiffContentProvider(views);
  const commands = new Commands(service, views, provider, log);
  views.onShown = () => provider.refreshOpen();
  const register = (name, body) =>
    context.subscriptions.push(vscode.commands.registerCommand(`agentBridge.${name}`, guarded(log, name, body)));

  register('showChanges', () => commands.showChanges());
  register('openDiff', (target) => commands.openDiff(target));
  register('openFile', (target) => commands.openFile(target));
  register('quickOpen', () => commands.quickOpen());
  register('downloadWorkspace', () => commands.downloadWorkspace());
  register('submitFeedback', () => commands.submitFeedback());
  register('refresh', () => commands.refresh());
  register('showLog', () => commands.showLog());
  register('restart', () => commands.restart());

  context.subscriptions.push(
    log,
    vscode.workspace.registerTextDocumentContentProvider(SCHEME, provider),
    vscode.window.registerFileDecorationProvider(decorations),
    decorations,
    count,
    service.onDidStart(() => provider.refreshOpen()),
    vscode.workspace.onDidChangeConfiguration((event) => {
      if (!event.affectsConfiguration('agentBridge')) return;
      // A new program, arguments or workspace: start again from nothing.
      views.clear();
      service.stop().then(() => views.reconcile());
    }),
    vscode.workspace.onDidChangeWorkspaceFolders(() => views.reconcile()),
    vscode.window.onDidChangeWindowState((state) => {
      if (state.focused) views.focused();
    }),
    { dispose: () => views.dispose() },
    { dispose: () => service.dispose() },
  );
  const started = views.reconcile();
  active = { service, views, commands, provider, decorations, count, log, started };
  return active;
}

async function deactivate() {
  if (active) {
    const { service, views } = active;
    active = null;
    views.dispose();
    await service.dispose();
  }
}

module.exports = { activate, deactivate, BridgeService, Commands, DiffContentProvider, relativeTo, formatBytes, defaultZipPath, firstChangedLine };
