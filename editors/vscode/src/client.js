'use strict';
// A dependency-free JSON-RPC 2.0 client for agent-bridge over stdio with
// LSP (Content-Length) framing. It does not use the `vscode` module, so it
// runs (and is tested) under plain Node.

const { spawn } = require('child_process');
const { EventEmitter } = require('events');

/** Error codes the client itself produces (the server never sends these). */
const ClientErrorCodes = Object.freeze({
  /** The process exited or was stopped while the request was pending. */
  ConnectionClosed: -32097,
  /** The request was sent before start() or after stop(). */
  NotRunning: -32096,
});

/** JSON-RPC's "request cancelled" code, as the bridge answers it. */
const RequestCancelled = -32800;

function rpcError(code, message, data) {
  const error = new Error(message);
  error.code = code;
  if (data !== undefined) error.data = data;
  return error;
}

/**
 * Splits a byte stream into JSON-RPC messages. Accepts LSP framing
 * (headers, case-insensitive, then Content-Length bytes) and, to be lenient,
 * newline-delimited JSON. Chunks are kept in a list and joined once a
 * message is complete, so a large reply costs one copy, not one per chunk.
 */
class MessageReader {
  constructor(onMessage, onError) {
    this.onMessage = onMessage;
    this.onError = onError;
    this.chunks = [];
    this.length = 0;
    this.contentLength = -1; // -1: reading headers
  }

  push(chunk) {
    this.chunks.push(chunk);
    this.length += chunk.length;
    for (;;) {
      if (this.contentLength < 0) {
        if (!this.readHeaders()) return;
      }
      if (this.length < this.contentLength) return;
      const body = this.take(this.contentLength);
      this.contentLength = -1;
      this.deliver(body);
    }
  }

  /** Parses one header block; false when more bytes are needed. */
  readHeaders() {
    const buffer = this.peekAll();
    let start = 0;
    while (start < buffer.length && (buffer[start] === 0x0d || buffer[start] === 0x0a)) start++;
    if (start > 0) {
      this.take(start);
      return this.readHeaders();
    }
    if (buffer.length === 0) return false;
    if (buffer[0] === 0x7b /* { */ || buffer[0] === 0x5b /* [ */) {
      const newline = buffer.indexOf(0x0a);
      if (newline < 0) return false;
      const line = this.take(newline + 1);
      this.deliver(line);
      return this.readHeaders();
    }
    const end = buffer.indexOf('\r\n\r\n');
    if (end < 0) return false;
    const headers = buffer.subarray(0, end).toString('ascii').split('\r\n');
    this.take(end + 4);
    let length = -1;
    for (const header of headers) {
      const colon = header.indexOf(':');
      if (colon < 0) continue;
      if (header.slice(0, colon).trim().toLowerCase() === 'content-length') {
        length = Number.parseInt(header.slice(colon + 1).trim(), 10);
      }
    }
    if (!Number.isInteger(length) || length < 0) {
      this.onError(new Error(`bad message header: ${JSON.stringify(headers.join('\\r\\n'))}`));
      return this.readHeaders();
    }
    this.contentLength = length;
    return true;
  }

  peekAll() {
    if (this.chunks.length > 1) this.chunks = [Buffer.concat(this.chunks, this.length)];
    return this.chunks.length ? this.chunks[0] : Buffer.alloc(0);
  }

  take(count) {
    const all = this.peekAll();
    const head = all.subarray(0, count);
    const rest = all.subarray(count);
    this.chunks = rest.length ? [rest] : [];
    this.length = rest.length;
    return head;
  }

  deliver(bytes) {
    let message;
    try {
      message = JSON.parse(bytes.toString('utf8'));
    } catch (error) {
      this.onError(new Error(`unparsable message from the bridge: ${error.message}`));
      return;
    }
    for (const one of Array.isArray(message) ? message : [message]) {
      if (one !== null && typeof one === 'object') this.onMessage(one);
      else this.onError(new Error(`not a JSON-RPC message: ${JSON.stringify(one)}`));
    }
  }
}

/**
 * One agent-bridge child process.
 *
 * Events: 'stderr' (text), 'exit' ({code, signal, expected}), 'protocolError'
 * (Error) for trouble that has no request to fail. (Not 'error': an
 * EventEmitter throws an 'error' nobody listens to.)
 */
class BridgeClient extends EventEmitter {
  constructor() {
    super();
    this.process = null;
    this.nextId = 1;
    this.pending = new Map();
    this.handlers = new Map();
    this.stopping = false;
    this.exited = null; // Promise of the exit, once started
  }

  get running() {
    return this.process !== null;
  }

  /**
   * Spawns the bridge. Resolves once the process runs; rejects with the
   * spawn error (code 'ENOENT' when the program is missing).
   */
  start({ command, args = [], cwd, env } = {}) {
    if (this.process) return Promise.reject(new Error('the bridge is already running'));
    if (!command) return Promise.reject(new Error('start() needs a command'));
    this.stopping = false;
    return new Promise((resolve, reject) => {
      let child;
      try {
        child = spawn(command, args, { cwd, env: env || process.env, stdio: ['pipe', 'pipe', 'pipe'] });
      } catch (error) {
        reject(error);
        return;
      }
      let spawned = false;
      const reader = new MessageReader(
        (message) => this.handleMessage(message),
        (error) => this.emit('protocolError', error),
      );
      child.stdout.on('data', (chunk) => reader.push(chunk));
      child.stderr.setEncoding('utf8');
      child.stderr.on('data', (text) => this.emit('stderr', text));
      // A write after the child died is EPIPE; the exit handler reports it.
      child.stdin.on('error', () => {});
      this.exited = new Promise((resolveExit) => {
        child.on('close', (code, signal) => {
          if (this.process === child) this.process = null;
          const expected = this.stopping;
          this.failPending(
            rpcError(ClientErrorCodes.ConnectionClosed, `agent-bridge exited (${signal || `code ${code}`})`),
          );
          if (spawned) this.emit('exit', { code, signal, expected });
          resolveExit({ code, signal });
        });
      });
      child.on('error', (error) => {
        if (!spawned) {
          if (this.process === child) this.process = null;
          reject(error);
        } else {
          this.emit('protocolError', error);
        }
      });
      child.on('spawn', () => {
        spawned = true;
        resolve(child.pid);
      });
      this.process = child;
    });
  }

  /**
   * Sends a request. `options.token` (a VS Code CancellationToken) or
   * `options.signal` (an AbortSignal) cancels it with $/cancelRequest; the
   * bridge then answers -32800 and the promise rejects with that code.
   */
  request(method, params, options = {}) {
    if (!this.process || (this.stopping && method !== 'shutdown')) {
      return Promise.reject(rpcError(ClientErrorCodes.NotRunning, 'agent-bridge is not running'));
    }
    const token = options.token;
    const signal = options.signal;
    if ((token && token.isCancellationRequested) || (signal && signal.aborted)) {
      // Cancelled before it was sent: do not send it at all.
      return Promise.reject(rpcError(RequestCancelled, `${method} was cancelled`));
    }
    const id = this.nextId++;
    const message = { jsonrpc: '2.0', id, method };
    if (params !== undefined) message.params = params;
    return new Promise((resolve, reject) => {
      const cleanups = [];
      this.pending.set(id, {
        resolve,
        reject,
        cleanup: () => cleanups.forEach((fn) => fn()),
      });
      // The request goes out before any $/cancelRequest for it can.
      this.write(message);
      const cancel = () => {
        if (this.pending.has(id)) this.notify('$/cancelRequest', { id });
      };
      if (token) {
        const disposable = token.onCancellationRequested(cancel);
        cleanups.push(() => disposable.dispose());
      }
      if (signal) {
        signal.addEventListener('abort', cancel);
        cleanups.push(() => signal.removeEventListener('abort', cancel));
      }
    });
  }

  notify(method, params) {
    if (!this.process) return;
    const message = { jsonrpc: '2.0', method };
    if (params !== undefined) message.params = params;
    this.write(message);
  }

  /**
   * Calls `handler(params)` for each notification named `method` ('*' for
   * all, called with (method, params)). Returns a disposable.
   */
  onNotification(method, handler) {
    if (!this.handlers.has(method)) this.handlers.set(method, new Set());
    this.handlers.get(method).add(handler);
    return { dispose: () => this.handlers.get(method).delete(handler) };
  }

  /**
   * Ends the session politely: shutdown, then exit; kills the process if it
   * has not gone after `timeoutMs`. Resolves with {code, signal}.
   */
  async stop(timeoutMs = 2000) {
    const child = this.process;
    if (!child) return this.exited ? this.exited : { code: null, signal: null };
    this.stopping = true;
    const exited = this.exited;
    const deadline = new Promise((resolve) => {
      const timer = setTimeout(() => resolve('timeout'), timeoutMs);
      exited.then(() => clearTimeout(timer));
    });
    const shutdown = this.request('shutdown').catch(() => undefined);
    if ((await Promise.race([shutdown, deadline])) !== 'timeout') {
      this.notify('exit');
      child.stdin.end();
      if ((await Promise.race([exited, deadline])) !== 'timeout') return exited;
    }
    child.kill('SIGTERM');
    const grace = setTimeout(() => child.kill('SIGKILL'), 1000);
    const result = await exited;
    clearTimeout(grace);
    return result;
  }

  // Internals

  write(message) {
    const body = Buffer.from(JSON.stringify(message), 'utf8');
    this.process.stdin.write(`Content-Length: ${body.length}\r\n\r\n`);
    this.process.stdin.write(body);
  }

  handleMessage(message) {
    if (message === null || typeof message !== 'object') return;
    if ('method' in message) {
      if ('id' in message) {
        // The bridge sends no requests today; answer so a peer never hangs.
        this.write({
          jsonrpc: '2.0',
          id: message.id,
          error: { code: -32601, message: `Unhandled method ${message.method}` },
        });
        return;
      }
      this.dispatchNotification(message.method, message.params);
      return;
    }
    const entry = this.pending.get(message.id);
    if (!entry) {
      if (message.error) this.emit('protocolError', rpcError(message.error.code, message.error.message, message.error.data));
      return;
    }
    this.pending.delete(message.id);
    entry.cleanup();
    if (message.error) {
      entry.reject(rpcError(message.error.code, message.error.message, message.error.data));
    } else {
      entry.resolve(message.result);
    }
  }

  dispatchNotification(method, params) {
    for (const handler of this.handlers.get(method) || []) {
      try {
        handler(params);
      } catch (error) {
        this.emit('protocolError', error);
      }
    }
    for (const handler of this.handlers.get('*') || []) {
      try {
        handler(method, params);
      } catch (error) {
        this.emit('protocolError', error);
      }
    }
  }

  failPending(error) {
    const entries = [...this.pending.values()];
    this.pending.clear();
    for (const entry of entries) {
      entry.cleanup();
      entry.reject(error);
    }
  }
}

module.exports = { BridgeClient, MessageReader, ClientErrorCodes, RequestCancelled };
