#!/usr/bin/env bash
# The short forms of the hardening checks, for CI: a minute of fuzzing the
# transport (libFuzzer + AddressSanitizer, saved crashes replayed first) and
# a minute of soaking a stdio session. Exits non-zero if either fails.
#
#   bench/ci-hardening.sh
#   FUZZ_SECONDS=30 SOAK_SECONDS=30 bench/ci-hardening.sh
#
# The soak uses SOAK_BIN if set; else the release binary when a release
# build exists (brought up to date incrementally); else the debug binary,
# which CI has usually just built for the tests, so that this script stays
# within a few minutes on two cores.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
export FUZZ_SECONDS="${FUZZ_SECONDS:-60}"
export SOAK_SECONDS="${SOAK_SECONDS:-60}"
mkdir -p bench/out
start=$(date +%s)

status=0
echo "== fuzz: ${FUZZ_SECONDS}s" >&2
bench/fuzz.sh || status=1

if [[ -z "${SOAK_BIN:-}" ]]; then
  if [[ -x .build/release/agent-bridge ]]; then
    config=release
  else
    config=debug
  fi
  echo "== building agent-bridge ($config)" >&2
  swift build -c "$config" --product agent-bridge > bench/out/soak-build.log 2>&1 \
    || { cat bench/out/soak-build.log >&2; exit 1; }
  export SOAK_BIN="$root/.build/$config/agent-bridge"
fi
echo "== soak: ${SOAK_SECONDS}s" >&2
bench/soak.sh || status=1

echo "ci-hardening: $( ((status == 0)) && echo OK || echo FAILED ) in $(( $(date +%s) - start ))s" >&2
exit $status
