#!/usr/bin/env bash
# The bridge driven by the editors' own JSON-RPC clients, with none of our
# plugin code loaded: Neovim's built-in LSP client (vim.lsp) and Emacs's
# jsonrpc.el, headless, against the real binary on temporary git repositories.
#   bash editors/builtin-clients/run.sh
# AGENT_BRIDGE_BIN names the binary (default: .build/debug/agent-bridge at the
# repository root); NVIM and EMACS name the editors. One line per test, then
# "N passed, N failed"; exits 1 on any failure.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
export AGENT_BRIDGE_BIN=${AGENT_BRIDGE_BIN:-$root/.build/debug/agent-bridge}
nvim=${NVIM:-nvim}
emacs=${EMACS:-emacs}
passed=0
failed=0

if command -v "$nvim" >/dev/null 2>&1; then
  "$nvim" --version | head -1
  # A spec that fails to load must end nvim too, not leave it waiting.
  output=$(cd "$root" && timeout 600 "$nvim" --headless -u NONE -i NONE -n \
    -c "lua local ok, err = pcall(dofile, '$here/nvim_lsp_spec.lua') if not ok then io.stdout:write('not ok - ' .. tostring(err) .. '\\n') vim.cmd('cquit 1') end" \
    </dev/null 2>&1)
  status=$?
  printf '%s\n' "$output" | grep -v -E '^[0-9]+ passed, [0-9]+ failed$'
  summary=$(printf '%s\n' "$output" | grep -E '^[0-9]+ passed, [0-9]+ failed$' | tail -1)
  if [ -z "$summary" ]; then
    echo "not ok - nvim_lsp_spec.lua ended without a summary (exit $status)"
    failed=$((failed + 1))
  else
    set -- $summary
    passed=$((passed + $1))
    failed=$((failed + $3))
    if [ "$status" -ne 0 ] && [ "$3" -eq 0 ]; then
      echo "not ok - nvim_lsp_spec.lua exited $status"
      failed=$((failed + 1))
    fi
  fi
else
  echo "not ok - $nvim not found (apt-get install neovim)"
  failed=$((failed + 1))
fi

if command -v "$emacs" >/dev/null 2>&1; then
  "$emacs" --version | head -1
  # -Q and no -L: only what ships with Emacs is loadable besides this file.
  output=$(cd "$root" && timeout 600 "$emacs" --batch -Q -l ert -l "$here/jsonrpc-el-tests.el" \
    -f ert-run-tests-batch-and-exit </dev/null 2>&1)
  status=$?
  printf '%s\n' "$output"
  ran=$(printf '%s\n' "$output" | sed -n -E 's/^Ran ([0-9]+) tests?, ([0-9]+) results? as expected, ([0-9]+) unexpected.*/\2 \3/p' | tail -1)
  if [ -z "$ran" ]; then
    echo "not ok - ERT ended without a summary (exit $status)"
    failed=$((failed + 1))
  else
    set -- $ran
    passed=$((passed + $1))
    failed=$((failed + $2))
    if [ "$status" -ne 0 ] && [ "$2" -eq 0 ]; then failed=$((failed + 1)); fi
  fi
else
  echo "not ok - $emacs not found (apt-get install emacs-nox)"
  failed=$((failed + 1))
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
