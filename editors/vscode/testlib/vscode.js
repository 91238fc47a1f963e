'use strict';
// A small stand-in for the `vscode` module: just the API surface extension.js
// uses, with the user's answers scripted by the test and every call recorded.
// The Source Control, file decoration, status bar and log channel parts keep
// what the extension set, so a test reads the view as a person would see it
// (scmText() prints it).
// tests install it with require('../testlib/vscode').install().

const Module = require('module');
const path = require('path');

class Uri {
  constructor(scheme, authority, uriPath, query, fragment) {
    this.scheme = scheme;
    this.authority = authority || '';
    this.path = uriPath || '';
    this.query = query || '';
    this.fragment = fragment || '';
  }
  static file(fsPath) {
    return new Uri('file', '', path.resolve(fsPath));
  }
  static from({ scheme, authority, path: uriPath, query, fragment }) {
    return new Uri(scheme, authority, uriPath, query, fragment);
  }
  static parse(text) {
    const url = new URL(text);
    return new Uri(url.protocol.slice(0, -1), url.host, decodeURIComponent(url.pathname), url.search.slice(1), url.hash.slice(1));
  }
  get fsPath() {
    return this.path;
  }
  with(change) {
    return new Uri(
      change.scheme ?? this.scheme,
      change.authority ?? this.authority,
      change.path ?? this.path,
      change.query ?? this.query,
      change.fragment ?? this.fragment,
    );
  }
  toString() {
    return `${this.scheme}://${this.authority}${this.path}${this.query ? `?${this.query}` : ''}`;
  }
}

class EventEmitter {
  constructor() {
    this.listeners = new Set();
    this.event = (listener) => {
      this.listeners.add(listener);
      return { dispose: () => this.listeners.delete(listener) };
    };
  }
  fire(value) {
    for (const listener of [...this.listeners]) listener(value);
  }
  dispose() {
    this.listeners.clear();
  }
}

class CancellationTokenSource {
  constructor() {
    const emitter = new EventEmitter();
    this.emitter = emitter;
    this.token = { isCancellationRequested: false, onCancellationRequested: emitter.event };
  }
  cancel() {
    if (this.token.isCancellationRequested) return;
    this.token.isCancellationRequested = true;
    this.emitter.fire();
  }
  dispose() {}
}

class ThemeIcon {
  constructor(id) {
    this.id = id;
  }
}

class Position {
  constructor(line, character) {
    this.line = line;
    this.character = character;
  }
}

class Range {
  constructor(startLine, startCharacter, endLine, endCharacter) {
    this.start = new Position(startLine, startCharacter);
    this.end = new Position(endLine, endCharacter);
  }
}

class ThemeColor {
  constructor(id) {
    this.id = id;
  }
}

class FileDecoration {
  constructor(badge, tooltip, color) {
    this.badge = badge;
    this.tooltip = tooltip;
    this.color = color;
  }
}

const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error'];

function outputChannel(name, options) {
  const channel = {
    name,
    text: '',
    shown: 0,
    append(text) {
      channel.text += text;
    },
    appendLine(text) {
      channel.text += `${text}\n`;
    },
    show() {
      channel.shown++;
    },
    dispose() {},
  };
  if (options && options.log) {
    // A LogOutputChannel: each line with its level, as VS Code writes it.
    channel.log = true;
    channel.logLevel = 2; // Info; debug and trace are kept anyway, for tests
    channel.lines = [];
    for (const level of LOG_LEVELS) {
      channel[level] = (message) => {
        channel.lines.push({ level, message });
        channel.text += `[${level}] ${message}\n`;
      };
    }
  }
  return channel;
}

function sourceControl(id, label, rootUri) {
  const control = {
    id,
    label,
    rootUri,
    count: undefined,
    quickDiffProvider: undefined,
    statusBarCommands: undefined,
    inputBox: { value: '', placeholder: '', visible: true },
    groups: [],
    disposed: false,
    createResourceGroup(groupId, groupLabel) {
      const group = { id: groupId, label: groupLabel, hideWhenEmpty: false, resourceStates: [], dispose() {} };
      control.groups.push(group);
      return group;
    },
    dispose() {
      control.disposed = true;
      state.sourceControls.splice(state.sourceControls.indexOf(control), 1);
    },
  };
  state.sourceControls.push(control);
  return control;
}

/** Fresh state for one test. */
function createState() {
  return {
    config: {},
    folders: [],
    commands: new Map(),
    executed: [], // [id, ...args] for commands the extension runs but does not own
    messages: [], // {level, text, items}
    quickPicks: [], // {items, options}
    inputBoxes: [],
    saveDialogs: [],
    progress: [], // {options, reports, source}
    providers: new Map(),
    outputs: [],
    configListeners: new Set(),
    folderListeners: new Set(),
    windowStateListeners: new Set(),
    sourceControls: [],
    decorationProviders: [],
    decorationChanges: [], // the Uri arrays providers announced
    statusBarItems: [],
    textDocuments: [],
    // Scripted answers, consumed in order. A function gets what was shown.
    answers: { quickPick: [], inputBox: [], saveDialog: [], message: [] },
    // Called with the CancellationTokenSource of each withProgress.
    onProgress: null,
  };
}

let state = createState();

function answer(kind, shown) {
  const next = state.answers[kind].shift();
  return typeof next === 'function' ? next(shown) : next;
}

function message(level) {
  return async (text, ...items) => {
    const options = items.length && typeof items[0] === 'object' && !Array.isArray(items[0]) ? items.shift() : undefined;
    state.messages.push({ level, text, items, options });
    return answer('message', { level, text, items });
  };
}

const vscode = {
  Uri,
  EventEmitter,
  CancellationTokenSource,
  ThemeIcon,
  ThemeColor,
  FileDecoration,
  Position,
  Range,
  StatusBarAlignment: { Left: 1, Right: 2 },
  ProgressLocation: { SourceControl: 1, Window: 10, Notification: 15 },
  ViewColumn: { Active: -1, Beside: -2, One: 1 },
  Disposable: class {
    constructor(fn) {
      this.dispose = fn;
    }
  },
  commands: {
    registerCommand(id, fn) {
      if (state.commands.has(id)) throw new Error(`command ${id} already registered`);
      state.commands.set(id, fn);
      return { dispose: () => state.commands.delete(id) };
    },
    async executeCommand(id, ...args) {
      if (state.commands.has(id)) return state.commands.get(id)(...args);
      state.executed.push([id, ...args]);
      return undefined;
    },
  },
  window: {
    activeTextEditor: undefined,
    createOutputChannel(name, options) {
      const channel = outputChannel(name, options);
      state.outputs.push(channel);
      return channel;
    },
    createStatusBarItem(id, alignment, priority) {
      const item = { id, alignment, priority, text: '', tooltip: '', command: undefined, visible: false };
      item.show = () => {
        item.visible = true;
      };
      item.hide = () => {
        item.visible = false;
      };
      item.dispose = () => {
        item.visible = false;
        state.statusBarItems.splice(state.statusBarItems.indexOf(item), 1);
      };
      state.statusBarItems.push(item);
      return item;
    },
    registerFileDecorationProvider(provider) {
      state.decorationProviders.push(provider);
      const listening = provider.onDidChangeFileDecorations
        ? provider.onDidChangeFileDecorations((uris) => state.decorationChanges.push(uris))
        : { dispose() {} };
      return {
        dispose: () => {
          listening.dispose();
          state.decorationProviders.splice(state.decorationProviders.indexOf(provider), 1);
        },
      };
    },
    onDidChangeWindowState(listener) {
      state.windowStateListeners.add(listener);
      return { dispose: () => state.windowStateListeners.delete(listener) };
    },
    async showQuickPick(items, options) {
      const resolved = await items;
      state.quickPicks.push({ items: resolved, options });
      return answer('quickPick', resolved);
    },
    async showInputBox(options) {
      state.inputBoxes.push(options);
      return answer('inputBox', options);
    },
    async showSaveDialog(options) {
      state.saveDialogs.push(options);
      return answer('saveDialog', options);
    },
    showInformationMessage: message('info'),
    showWarningMessage: message('warning'),
    showErrorMessage: message('error'),
    async withProgress(options, task) {
      const source = new CancellationTokenSource();
      const record = { options, reports: [], source };
      state.progress.push(record);
      if (state.onProgress) state.onProgress(source, record);
      return task({ report: (value) => record.reports.push(value) }, source.token);
    },
  },
  scm: {
    createSourceControl: sourceControl,
  },
  workspace: {
    get textDocuments() {
      return state.textDocuments;
    },
    onDidChangeWorkspaceFolders(listener) {
      state.folderListeners.add(listener);
      return { dispose: () => state.folderListeners.delete(listener) };
    },
    get workspaceFolders() {
      return state.folders.length
        ? state.folders.map((dir, index) => ({ uri: Uri.file(dir), name: path.basename(dir), index }))
        : undefined;
    },
    getConfiguration(section) {
      return {
        get(key, fallback) {
          const full = section ? `${section}.${key}` : key;
          return full in state.config ? state.config[full] : fallback;
        },
      };
    },
    registerTextDocumentContentProvider(scheme, provider) {
      state.providers.set(scheme, provider);
      return { dispose: () => state.providers.delete(scheme) };
    },
    onDidChangeConfiguration(listener) {
      state.configListeners.add(listener);
      return { dispose: () => state.configListeners.delete(listener) };
    },
  },
};

/** Makes require('vscode') return the stand-in. Idempotent. */
function install() {
  if (!install.done) {
    const resolve = Module._resolveFilename;
    Module._resolveFilename = function (request, ...rest) {
      if (request === 'vscode') return __filename;
      return resolve.call(this, request, ...rest);
    };
    install.done = true;
  }
  return api;
}

const api = {
  vscode,
  install,
  get state() {
    return state;
  },
  reset() {
    state = createState();
    vscode.window.activeTextEditor = undefined;
    return state;
  },
  /** What the registered provider answers for `uri`. */
  async provide(uri) {
    const provider = state.providers.get(uri.scheme);
    if (!provider) throw new Error(`no content provider for ${uri.scheme}`);
    return provider.provideTextDocumentContent(uri, new CancellationTokenSource().token);
  },
  /** Fires onDidChangeConfiguration for the given sections. */
  changeConfiguration(values) {
    Object.assign(state.config, values);
    const keys = Object.keys(values);
    const event = { affectsConfiguration: (section) => keys.some((k) => k === section || k.startsWith(`${section}.`)) };
    for (const listener of state.configListeners) listener(event);
  },
  /** Replaces the workspace folders and fires onDidChangeWorkspaceFolders. */
  changeFolders(folders) {
    const before = vscode.workspace.workspaceFolders || [];
    state.folders = folders;
    const after = vscode.workspace.workspaceFolders || [];
    const event = {
      added: after.filter((f) => !before.some((b) => b.uri.fsPath === f.uri.fsPath)),
      removed: before.filter((b) => !after.some((f) => f.uri.fsPath === b.uri.fsPath)),
    };
    for (const listener of state.folderListeners) listener(event);
  },
  /** The window gains focus. */
  focusWindow() {
    for (const listener of state.windowStateListeners) listener({ focused: true });
  },
  /** What the registered decoration providers say of `uri`. */
  decoration(uri) {
    for (const provider of state.decorationProviders) {
      const decoration = provider.provideFileDecoration(uri, new CancellationTokenSource().token);
      if (decoration) return decoration;
    }
    return undefined;
  },
  /**
   * The Source Control view as text: each provider, its groups as VS Code
   * shows them (an empty group only without hideWhenEmpty), each resource
   * with its decoration badge; then the status bar.
   */
  scmText() {
    const lines = [];
    for (const control of state.sourceControls) {
      const root = control.rootUri ? path.basename(control.rootUri.fsPath) : '';
      lines.push(`SOURCE CONTROL: ${control.label} (${root})${control.count !== undefined ? ` [${control.count}]` : ''}`);
      for (const group of control.groups) {
        if (group.resourceStates.length === 0 && group.hideWhenEmpty) continue;
        lines.push(`  ${group.label}${group.resourceStates.length ? ` (${group.resourceStates.length})` : ''}`);
        for (const resource of group.resourceStates) {
          const decoration = api.decoration(resource.resourceUri);
          const badge = decoration ? decoration.badge : ' ';
          const relative = control.rootUri ? path.relative(control.rootUri.fsPath, resource.resourceUri.fsPath) : resource.resourceUri.fsPath;
          const strike = resource.decorations && resource.decorations.strikeThrough ? ' (struck through)' : '';
          lines.push(`    ${badge}  ${relative}${strike}`);
        }
      }
    }
    for (const item of state.statusBarItems.filter((one) => one.visible)) {
      lines.push(`STATUS BAR: ${item.text}`);
    }
    return lines.join('\n');
  },
  context() {
    return { subscriptions: [], extensionPath: path.resolve(__dirname, '..') };
  },
};

// When loaded as `vscode` itself, the module is the API.
vscode.__standIn = api;
module.exports = vscode;
