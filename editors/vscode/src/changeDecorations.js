'use strict';
// File decorations (the letter and colour in the explorer, tabs and the SCM
// view) for every folder's changes. The folders keep the statuses; on a
// redraw they announce only the files whose status changed, so a redraw of
// 20,000 unchanged entries announces nothing.

const vscode = require('vscode');

const LOOK = {
  A: { badge: 'A', tooltip: 'Added by the agent', color: 'gitDecoration.untrackedResourceForeground' },
  M: { badge: 'M', tooltip: 'Modified by the agent', color: 'gitDecoration.modifiedResourceForeground' },
  D: { badge: 'D', tooltip: 'Deleted by the agent', color: 'gitDecoration.deletedResourceForeground' },
  U: { badge: '!', tooltip: 'Conflict', color: 'gitDecoration.conflictingResourceForeground' },
};

class ChangeDecorations {
  /** `statusAt(fsPath)`: the status letter of a file, from the folder views. */
  constructor(statusAt) {
    this.statusAt = statusAt;
    this.emitter = new vscode.EventEmitter();
    this.onDidChangeFileDecorations = this.emitter.event;
  }

  /** The files whose status changed (Uris). */
  announce(uris) {
    if (uris.length) this.emitter.fire(uris);
  }

  provideFileDecoration(uri) {
    if (uri.scheme !== 'file') return undefined;
    const look = LOOK[this.statusAt(uri.fsPath)];
    if (!look) return undefined;
    const decoration = new vscode.FileDecoration(look.badge, look.tooltip, new vscode.ThemeColor(look.color));
    // Folders take the colour of what changed inside them, as with git.
    decoration.propagate = true;
    return decoration;
  }

  dispose() {
    this.emitter.dispose();
  }
}

module.exports = { ChangeDecorations, LOOK };
