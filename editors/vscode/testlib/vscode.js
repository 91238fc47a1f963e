'use strict';
// A small stand-in for the `vscode` module: just the API surface extension.js
// uses, with the user's answers scripted by the test and every call recorded.
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
    createOutputChannel(name) {
      const channel = {
        name,
        text: '',
        append(text) {
          channel.text += text;
        },
        appendLine(text) {
          channel.text += `${text}\n`;
        },
        show() {},
        dispose() {},
      };
      state.outputs.push(channel);
      return channel;
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
  workspace: {
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
  context() {
    return { subscriptions: [], extensionPath: path.resolve(__dirname, '..') };
  },
};

// When loaded as `vscode` itself, the module is the API.
vscode.__standIn = api;
module.exports = vscode;
