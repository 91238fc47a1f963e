'use strict';
// The `agent-bridge:` documents the diff editor and the gutter show: one side
// of gitDiff for a file. The path is the file's own absolute path, so the
// document gets the file's language, and a diff tab restored after a reload
// finds its folder again without any state of ours.

const vscode = require('vscode');

const SCHEME = 'agent-bridge';

/** `side`: 'original' (the agent's base) or 'modified' (used for deleted files). */
function contentUri(fsPath, side) {
  return vscode.Uri.from({ scheme: SCHEME, path: fsPath.split('\\').join('/'), query: `side=${side}` });
}

function sideOf(uri) {
  return new URLSearchParams(uri.query).get('side') === 'modified' ? 'modified' : 'original';
}

module.exports = { SCHEME, contentUri, sideOf };
