'use strict';
// The bridge writes `<time> <level> agent-bridge: <message>` on stderr. A
// LogOutputChannel stamps its own time and level, so each line goes in at
// the bridge's level with its message only; anything else is info.

const LINE = /^\S+ (trace|debug|info|notice|warning|error|critical) [^:]*: (.*)$/;

const METHOD = {
  trace: 'trace',
  debug: 'debug',
  info: 'info',
  notice: 'info',
  warning: 'warn',
  error: 'error',
  critical: 'error',
};

function bridgeLogLine(log, line) {
  if (!line.trim()) return;
  const match = LINE.exec(line);
  if (!match) {
    log.info(line);
    return;
  }
  log[METHOD[match[1]]](match[2]);
}

module.exports = { bridgeLogLine };
