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
skipped=0
for spec in "$here"/*_spec.lua; do
  echo "# $(basename "$spec")"
  # An error while loading a spec must end nvim too, not leave it waiting.
  output=$(cd "$root" && timeout 300 "$nvim" --headless -u NONE -i NONE -n \
    -c "lua local ok, err = pcall(dofile, '$spec') if not ok then io.stdout:write('not ok - ' .. tostring(err) .. '\\n') vim.cmd('cquit 1') end" \
    </dev/null 2>&1)
  status=$?
  printf '%s\n' "$output" | grep -v -E '^[0-9]+ passed, [0-9]+ failed$'
  summary=$(printf '%s\n' "$output" | grep -E '^[0-9]+ passed, [0-9]+ failed$' | tail -1)
  if [ -z "$summary" ]; then
    echo "not ok - $(basename "$spec") ended without a summary (exit $status)"
    failed=$((failed + 1))
    continue
  fi
  count=$(printf '%s\n' "$output" | sed -n -E 's/^([0-9]+) skipped$/\1/p' | tail -1)
  skipped=$((skipped + ${count:-0}))
  set -- $summary
  passed=$((passed + $1))
  failed=$((failed + $3))
  if [ "$status" -ne 0 ] && [ "$3" -eq 0 ]; then
    echo "not ok - $(basename "$spec") exited $status"
    failed=$((failed + 1))
  fi
done
[ "$skipped" -gt 0 ] && echo "$skipped skipped"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
