'use strict';
// The FolderViews of the window, kept in step with the workspace folders (or
// the agentBridge.workspace setting) and with the bridge's restarts.

const vscode = require('vscode');
const { BridgeService } = require('./bridgeService');
const { FolderView } = require('./folderView');

class FolderViews {
  constructor({ service, log, decorations, count }) {
    this.service = service;
    this.log = log;
    this.decorations = decorations;
    this.count = count;
    this.views = [];
    this.onShown = () => {}; // after a folder's list was redrawn
    this.subscriptions = [
      service.onDidStart((client) => {
        for (const view of this.views) view.attach(client);
      }),
      service.onDidStop((how) => {
        for (const view of this.views) view.stopped(how);
      }),
    ];
  }

  /** Creates views for new roots and closes those of roots gone; starts the bridge if any. */
  reconcile() {
    const roots = [...new Set(BridgeService.roots())];
    const kept = [];
    for (const view of this.views) {
      if (roots.includes(view.root)) kept.push(view);
      else view.close().catch(() => {});
    }
    const views = roots.map(
      (root) =>
        kept.find((view) => view.root === root) ||
        new FolderView({
          service: this.service,
          root,
          log: this.log,
          decorations: this.decorations,
          changed: () => this.count.update(this.views),
          shown: () => this.onShown(),
        }),
    );
    this.views = views;
    this.count.update(this.views);
    if (views.length === 0) return Promise.resolve();
    return Promise.allSettled(views.map((view) => view.ready())).then((results) => {
      let logged = false;
      results.forEach((result, index) => {
        if (result.status !== 'rejected') return;
        // No popup at startup: the notice and the status bar say it, and a
        // command run by hand shows the message with its button.
        if (!views[index].problem) views[index].fail(`agent-bridge is not running: ${result.reason.message}`);
        if (!logged) this.log.error(result.reason.message);
        logged = true;
      });
    });
  }

  /** Drops every view (the settings changed: the bridge restarts from scratch). */
  clear() {
    for (const view of this.views) view.dispose();
    this.views = [];
    this.count.update(this.views);
  }

  /** The innermost folder holding `fsPath`. */
  forPath(fsPath) {
    let best = null;
    for (const view of this.views) {
      if ((view.relative(fsPath) || view.root === fsPath) && (!best || view.root.length > best.root.length)) best = view;
    }
    return best;
  }

  /**
   * The folder a command is about: the only one, the active editor's, or
   * the person's pick. Undefined when the pick is dismissed.
   */
  async pick(placeHolder) {
    if (this.views.length === 0) return undefined;
    if (this.views.length === 1) return this.views[0];
    const editor = vscode.window.activeTextEditor;
    if (editor && editor.document.uri.scheme === 'file') {
      const view = this.forPath(editor.document.uri.fsPath);
      if (view) return view;
    }
    const picked = await vscode.window.showQuickPick(
      this.views.map((view) => ({ label: view.name, description: view.root, view })),
      { placeHolder },
    );
    return picked && picked.view;
  }

  focused() {
    for (const view of this.views) view.focused();
  }

  dispose() {
    for (const subscription of this.subscriptions) subscription.dispose();
    this.clear();
  }
}

module.exports = { FolderViews };
