'use strict';
// Plays a bridge that predates some methods: runs the real binary with its
// input filtered, each named method renamed on the way in to a name of the
// same length (so Content-Length still holds), which the binary answers
// -32601 like any method it does not know.
//
//   node olderBridge.js <binary> <method,method> [bridge args...]

const { spawn } = require('child_process');

const [binary, methods, ...args] = process.argv.slice(2);
const renames = methods.split(',').map((method) => [`"${method}"`, `"${method.slice(0, -1)}${method.endsWith('X') ? 'Y' : 'X'}"`]);

const child = spawn(binary, args, { stdio: ['pipe', 'inherit', 'inherit'] });
process.stdin.on('data', (chunk) => {
  let text = chunk.toString('latin1');
  for (const [from, to] of renames) text = text.split(from).join(to);
  child.stdin.write(Buffer.from(text, 'latin1'));
});
process.stdin.on('end', () => child.stdin.end());
child.stdin.on('error', () => {});
process.on('SIGTERM', () => child.kill('SIGTERM'));
child.on('exit', (code, signal) => process.exit(signal ? 1 : code));
