#!/usr/bin/env bash
# Runs the Emacs package's ERT suite in `emacs --batch` against the real
# agent-bridge.
#   bash editors/emacs/test/run.sh
# AGENT_BRIDGE_BIN names the binary (default: .build/debug/agent-bridge at the
# repository root); EMACS names Emacs (default: emacs). Closes with
# "N passed, N failed"; exits 1 on any failure.
set -u
here=$(cd "$(dirname "$0")" && pwd)
package=$(dirname "$here")
root=$(cd "$package/../.." && pwd)
export AGENT_BRIDGE_BIN=${AGENT_BRIDGE_BIN:-$root/.build/debug/agent-bridge}
emacs=${EMACS:-emacs}

if ! command -v "$emacs" >/dev/null 2>&1; then
  echo "not ok - $emacs not found (apt-get install emacs-nox)"
  echo "0 passed, 1 failed"
  exit 1
fi
"$emacs" --version | head -1

output=$(cd "$root" && timeout 600 "$emacs" --batch -Q -L "$package" \
  --eval '(setq byte-compile-error-on-warn t)' \
  -f batch-byte-compile "$package/agent-bridge.el" 2>&1)
compiled=$?
rm -f "$package/agent-bridge.elc"
if [ $compiled -ne 0 ]; then
  printf '%s\n' "$output"
  echo "not ok - agent-bridge.el byte-compiles without warnings"
  echo "0 passed, 1 failed"
  exit 1
fi
echo "ok - agent-bridge.el byte-compiles without warnings"

output=$(cd "$root" && timeout 600 "$emacs" --batch -Q -L "$package" -L "$here" \
  -l ert -l agent-bridge -l agent-bridge-tests \
  -f ert-run-tests-batch-and-exit </dev/null 2>&1)
status=$?
printf '%s\n' "$output"
# ERT's closing lines: "Ran N tests, M results as expected, K unexpected[, S skipped]"
ran=$(printf '%s\n' "$output" | sed -n -E 's/^Ran ([0-9]+) tests?, ([0-9]+) results? as expected, ([0-9]+) unexpected(, ([0-9]+) skipped)?.*/\1 \2 \3 \5/p' | tail -1)
if [ -z "$ran" ]; then
  echo "not ok - ERT ended without a summary (exit $status)"
  echo "1 passed, 1 failed"
  exit 1
fi
set -- $ran
skipped=${4:-0}
passed=$(( $2 + 1 ))  # + the byte-compile check; ERT counts skips apart
failed=$3
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
[ "$skipped" -gt 0 ] && echo "$skipped skipped"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
