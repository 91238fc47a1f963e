'use strict';
// The status-bar item: how many changes the agent made, over every folder;
// clicking it opens the Source Control view.

const vscode = require('vscode');

class ChangeCount {
  constructor() {
    this.item = vscode.window.createStatusBarItem('agentBridge.changes', vscode.StatusBarAlignment.Left, 10);
    this.item.name = 'Agent Bridge Changes';
    this.item.command = 'workbench.view.scm';
  }

  /** `views`: the FolderViews. */
  update(views) {
    if (views.length === 0) {
      this.item.hide();
      return;
    }
    const repositories = views.filter((view) => view.repository !== false);
    const problem = views.some((view) => view.problem);
    const count = repositories.reduce((sum, view) => sum + view.count, 0);
    if (repositories.length === 0) {
      this.item.text = '$(diff) not a git repository';
    } else {
      this.item.text = `${problem ? '$(warning)' : '$(diff)'} ${count}`;
    }
    this.item.tooltip = ['Agent Bridge', ...views.map((view) => view.summary())].join('\n');
    this.item.show();
  }

  dispose() {
    this.item.dispose();
  }
}

module.exports = { ChangeCount };
