#!/usr/bin/env bash
# Runs the Neovim plugin's suites headless against the real agent-bridge.
#   bash editors/neovim/test/run.sh
# AGENT_BRIDGE_BIN names the binary (default: .build/debug/agent-bridge at the
# repository root); NVIM names Neovim (default: nvim). Prints one line per
# test and closes with "N passed, N failed"; exits 1 on any failure.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
export AGENT_BRIDGE_BIN=${AGENT_BRIDGE_BIN:-$root/.build/debug/agent-bridge}
nvim=${NVIM:-nvim}

if ! command -v "$nvim" >/dev/null 2>&1; then
  echo "not ok - $nvim not found (apt-get install neovim)"
  echo "0 passed, 1 failed"
  exit 1
fi
"$nvim" --version | head -1

passed=0
failed=0
for spec in "$here"/*_spec.lua; do
  echo "# $(basename "$spec")"
  output=$(cd "$root" && timeout 300 "$nvim" --headless -u NONE -i NONE -n -c "luafile $spec" </dev/null 2>&1)
  status=$?
  printf '%s\n' "$output" | grep -v -E '^[0-9]+ passed, [0-9]+ failed$'
  summary=$(printf '%s\n' "$output" | grep -E '^[0-9]+ passed, [0-9]+ failed$' | tail -1)
  if [ -z "$summary" ]; then
    echo "not ok - $(basename "$spec") ended without a summary (exit $status)"
    failed=$((failed + 1))
    continue
  fi
  set -- $summary
  passed=$((passed + $1))
  failed=$((failed + $3))
  if [ "$status" -ne 0 ] && [ "$3" -eq 0 ]; then
    echo "not ok - $(basename "$spec") exited $status"
    failed=$((failed + 1))
  fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
