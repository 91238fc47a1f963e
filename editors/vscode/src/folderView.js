'use strict';
// One workspace folder as a Source Control provider: the agent's changes
// against its base in three groups, the gutter's quick diff, and the
// decorations of the files. Each folder is a conversation of the window's one
// bridge (openConversation is idempotent, so the bridge's default folder is
// no special case); it subscribes to workspace/gitChanged and redraws when
// the bridge says the answer changed, or on window focus if the bridge
// cannot push.

const fs = require('fs');
const path = require('path');
const vscode = require('vscode');
const { contentUri } = require('./contentUri');

const STATUS = {
  A: { name: 'Added', group: 'untracked', icon: 'diff-added' },
  M: { name: 'Modified', group: 'changed', icon: 'diff-modified' },
  D: { name: 'Deleted', group: 'deleted', icon: 'diff-removed' },
  U: { name: 'Conflict', group: 'changed', icon: 'warning' },
};
const OTHER = { name: 'Changed', group: 'changed', icon: 'question' };
// One decorations object per status, shared by its resources.
for (const status of [...Object.values(STATUS), OTHER]) {
  status.decorations = {
    strikeThrough: status === STATUS.D,
    tooltip: status.name,
    iconPath: new vscode.ThemeIcon(status.icon),
  };
}

// JSON-RPC "method not found": a bridge older than the method.
const MethodNotFound = -32601;
// gitDiff's "not a git repository".
const NotARepository = -32016;

class FolderView {
  /**
   * `root`: the folder's path as VS Code has it (file URIs of its files
   * start with it). `decorations`: the shared ChangeDecorations.
   * `changed`: called after every redraw (the status bar listens);
   * `shown`: after a new list (open diff documents may be stale).
   */
  constructor({ service, root, log, decorations, changed, shown = () => {} }) {
    this.service = service;
    this.root = root;
    this.name = path.basename(root);
    this.log = log;
    this.decorations = decorations;
    this.changed = changed;
    this.shown = shown;
    this.client = null;
    this.conversationId = null;
    this.attaching = null;
    this.notification = null;
    this.disposed = false;
    this.live = false;
    this.repository = null; // true, false, or null before the bridge said
    this.realWorkspace = null;
    this.problem = null; // why there is no list: text for the person
    this.resources = new Map(); // relative path -> its resource state

    this.scm = vscode.scm.createSourceControl('agentBridge', 'Agent Bridge', vscode.Uri.file(root));
    this.scm.quickDiffProvider = { provideOriginalResource: (uri) => this.originalResource(uri) };
    this.scm.inputBox.visible = false; // nothing to commit: the agent's changes are only reviewed
    this.notice = this.scm.createResourceGroup('notice', 'Starting agent-bridge…');
    this.groups = {
      changed: this.scm.createResourceGroup('changed', 'Changed'),
      untracked: this.scm.createResourceGroup('untracked', 'Added'),
      deleted: this.scm.createResourceGroup('deleted', 'Deleted'),
    };
    for (const group of Object.values(this.groups)) group.hideWhenEmpty = true;
    this.notice.hideWhenEmpty = false;
  }

  /** The file's path relative to the folder, '/'-separated, or null when outside. */
  relative(fsPath) {
    const relative = path.relative(this.root, fsPath);
    // '..env' is a file of the folder; only '..' itself or '../…' leaves it.
    if (!relative || relative === '..' || relative.startsWith('..' + path.sep) || path.isAbsolute(relative)) return null;
    return relative.split(path.sep).join('/');
  }

  /**
   * Whether `relative` (a path the bridge gave) stays in the folder once
   * every symlink on the way is followed. The agent made the links: one to
   * ~/.aws/credentials must be neither read nor written through by a save.
   * A missing tail is judged by the deepest part that exists; a dangling
   * link is out (a save would create its target).
   */
  async inside(relative) {
    const root = await fs.promises.realpath(this.root).catch(() => this.root);
    let file = this.absolute(relative);
    for (;;) {
      const real = await fs.promises.realpath(file).catch(() => null);
      if (real) return real === root || real.startsWith(root + path.sep);
      const stat = await fs.promises.lstat(file).catch(() => null);
      if (stat && stat.isSymbolicLink()) return false;
      const parent = path.dirname(file);
      if (parent === file) return false;
      file = parent;
    }
  }

  absolute(relative) {
    // The bridge's paths are normalized and '/'-separated: a concatenation
    // is enough, and 20,000 of them cost nothing next to path.join.
    return this.root + path.sep + (path.sep === '/' ? relative : relative.split('/').join(path.sep));
  }

  /** The client, with this folder's conversation open on it. */
  async ready() {
    const client = await this.service.ready();
    if (this.client !== client || !this.attaching) this.attach(client);
    await this.attaching;
    return client;
  }

  /** A request in this folder's conversation. */
  async request(method, params = {}, options) {
    const client = await this.ready();
    return client.request(method, { ...params, conversationId: this.conversationId }, options);
  }

  /** Opens the conversation on a (new) client and subscribes; called on every bridge start. */
  attach(client) {
    this.client = client;
    this.attaching = this.open(client).catch((error) => {
      if (this.client === client) this.attaching = null;
      this.fail(`agent-bridge could not open ${this.root}: ${error.message}`);
      throw error;
    });
    this.attaching.catch(() => {});
    return this.attaching;
  }

  async open(client) {
    const { conversationId } = await client.request('openConversation', { workspace: this.root });
    if (this.disposed) {
      // The folder was removed while the conversation opened.
      await client.request('closeConversation', { conversationId }).catch(() => {});
      return;
    }
    if (this.client !== client) return;
    this.conversationId = conversationId;
    if (this.notification) this.notification.dispose();
    // Matched by conversation, not subscription id: the first notification
    // can be read in the same chunk as subscribe's reply, before the reply's
    // continuation runs. Every gitChanged is the whole list, so a duplicate
    // from an older subscription is harmless.
    this.notification = client.onNotification('workspace/gitChanged', (params) => {
      if (this.client === client && params && params.conversationId === conversationId) this.gitChanged(params.changes);
    });
    await this.askRepository(client);
    try {
      await client.request('subscribe', { events: ['git'], conversationId });
      this.live = true;
    } catch (error) {
      // A bridge that cannot push: the list is refreshed on window focus.
      this.live = false;
      this.log.warn(`${this.name}: no live updates (${error.message}); refreshing on focus`);
      await this.refresh();
    }
  }

  /** Asks whether the folder is a git repository, so that [] can say which it means. */
  async askRepository(client) {
    const conversationId = this.conversationId;
    try {
      const info = await client.request('workspaceInfo', { conversationId });
      this.repository = info.gitRepository === true;
      this.realWorkspace = info.workspace || null;
    } catch (error) {
      if (error.code !== MethodNotFound) throw error;
      // An older bridge: gitDiff of a name that is not there answers "not a
      // git repository" before "not found".
      try {
        await client.request('gitDiff', { path: '.agent-bridge-repository-probe', conversationId });
        this.repository = true;
      } catch (probe) {
        this.repository = probe.code !== NotARepository;
      }
    }
  }

  gitChanged(changes) {
    if (this.repository === false && Array.isArray(changes) && changes.length > 0) {
      // The agent ran `git init`: ask again rather than trust the old answer.
      this.askRepository(this.client).then(() => this.show(changes), (error) => this.log.error(error.message));
      return;
    }
    this.show(changes);
  }

  /** Asks for the list instead of waiting for it. */
  async refresh() {
    const client = this.client;
    if (!client || !client.running) return;
    await this.askRepository(client);
    const changes = await client.request('gitChanges', { conversationId: this.conversationId });
    if (this.client === client) this.show(changes);
  }

  /** Window focus: the fallback for a bridge that cannot push, and a re-check of "not a repository". */
  focused() {
    if (!this.client || !this.client.running || !this.conversationId) return;
    if (this.live && this.repository !== false) return;
    this.refresh().catch((error) => this.log.error(`${this.name}: refresh failed: ${error.message}`));
  }

  /**
   * Redraws the groups, decorations and count from a gitChanges answer.
   * Each gitChanged is the whole list, mostly the same as the last one, so
   * an entry whose status did not change keeps its resource state (no new
   * Uris, no new decoration): 20,000 entries are then mostly map lookups.
   */
  show(changes) {
    const started = Date.now();
    this.problem = null;
    const list = this.repository === false || !Array.isArray(changes) ? [] : changes;
    const previous = this.resources;
    const resources = new Map();
    const states = { changed: [], untracked: [], deleted: [] };
    const redecorate = [];
    for (const change of list) {
      let state = previous.get(change.path);
      if (!state || state.contextValue !== change.status) {
        state = this.resource(change);
        redecorate.push(state.resourceUri);
      }
      resources.set(change.path, state);
      states[(STATUS[change.status] || OTHER).group].push(state);
    }
    for (const [relative, state] of previous) {
      if (!resources.has(relative)) redecorate.push(state.resourceUri);
    }
    this.resources = resources;
    for (const [id, group] of Object.entries(this.groups)) group.resourceStates = states[id];
    this.scm.count = resources.size;
    this.decorations.announce(redecorate);
    this.updateNotice();
    this.changed();
    this.shown();
    this.log.debug(`${this.name}: ${resources.size} changes shown in ${Date.now() - started} ms`);
  }

  get count() {
    return this.resources.size;
  }

  /** The status letter of a file of this folder, or undefined when unchanged. */
  statusAt(fsPath) {
    const relative = this.relative(fsPath);
    const state = relative && this.resources.get(relative);
    return state ? state.contextValue : undefined;
  }

  resource(change) {
    const status = STATUS[change.status] || OTHER;
    const fsPath = this.absolute(change.path);
    const resourceUri = vscode.Uri.file(fsPath);
    const state = { resourceUri, contextValue: change.status, decorations: status.decorations };
    if (change.path.endsWith('/')) {
      // An untracked nested repository: a directory, nothing to diff.
      state.command = { command: 'revealInExplorer', title: 'Reveal', arguments: [resourceUri] };
      return state;
    }
    const deleted = change.status === 'D';
    const modified = deleted ? contentUri(fsPath, 'modified') : resourceUri;
    state.command = {
      command: 'vscode.diff',
      title: 'Open Diff',
      arguments: [contentUri(fsPath, 'original'), modified, diffTitle(change.path, deleted)],
    };
    return state;
  }

  /**
   * QuickDiffProvider: the agent's base of a file it changed. Only for the
   * listed files: gitDiff of an ignored file has an empty base, which the
   * gutter would show as all new. VS Code asks again whenever the resources
   * change, so a file the agent starts changing gets its marks then.
   */
  originalResource(uri) {
    if (uri.scheme !== 'file') return undefined;
    const relative = this.relative(uri.fsPath);
    const state = relative && this.resources.get(relative);
    if (!state || state.contextValue === 'D' || relative.endsWith('/')) return undefined;
    return contentUri(uri.fsPath, 'original');
  }

  updateNotice() {
    if (this.problem) {
      this.notice.label = this.problem;
    } else if (this.repository === false) {
      this.notice.label = 'Not a git repository: the agent’s changes cannot be listed';
    } else if (this.resources.size === 0) {
      this.notice.label = 'No changes against the agent’s base';
    } else {
      this.notice.label = '';
    }
    this.notice.hideWhenEmpty = this.notice.label === '';
  }

  /** The bridge is gone or never came: keep the last list, say why it is stale. */
  fail(problem) {
    this.problem = problem;
    this.updateNotice();
    this.changed();
  }

  stopped({ expected, gaveUp }) {
    if (this.notification) this.notification.dispose();
    this.notification = null;
    this.attaching = null;
    this.live = false;
    if (expected) return;
    this.fail(gaveUp ? 'agent-bridge crashed too often: run “Agent Bridge: Restart”' : 'agent-bridge exited; restarting…');
  }

  /** One line for the status bar's tooltip. */
  summary() {
    if (this.problem) return `${this.name}: ${this.problem}`;
    if (this.repository === false) return `${this.name}: not a git repository`;
    if (this.repository === null) return `${this.name}: starting`;
    const count = this.resources.size;
    return `${this.name}: ${count} change${count === 1 ? '' : 's'}`;
  }

  async close() {
    const client = this.client;
    this.dispose();
    if (client && client.running && this.conversationId) {
      // The bridge's first folder is its default conversation, which stays.
      await client.request('closeConversation', { conversationId: this.conversationId }).catch(() => {});
    }
  }

  dispose() {
    this.disposed = true;
    if (this.notification) this.notification.dispose();
    this.notification = null;
    this.client = null;
    const gone = [...this.resources.values()].map((state) => state.resourceUri);
    this.resources = new Map();
    this.decorations.announce(gone);
    this.scm.dispose();
  }
}

function diffTitle(relative, deleted) {
  return `${relative} (agent's base ↔ ${deleted ? 'deleted' : 'working tree'})`;
}

module.exports = { FolderView, STATUS, diffTitle };
