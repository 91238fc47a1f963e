#!/usr/bin/env bash
# Soaks one stdio session of the release binary: every registered method,
# many requests in flight, batches, cancellations and malformed frames, for
# SOAK_SECONDS (default 600; CI uses 60). Prints requests served, errors by
# code and RSS at start, middle and end as JSON; fails if memory is not flat
# (end > 1.2x middle), a request goes unanswered or the server misbehaves.
#
#   bench/soak.sh
#   SOAK_SECONDS=60 bench/soak.sh
#   SOAK_BIN=/path/to/agent-bridge SOAK_CONCURRENCY=64 bench/soak.sh
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
out="$root/bench/out"
mkdir -p "$out"
seconds="${SOAK_SECONDS:-600}"
concurrency="${SOAK_CONCURRENCY:-32}"

bin="${SOAK_BIN:-}"
if [[ -z "$bin" ]]; then
  echo "== building agent-bridge (release)" >&2
  (cd "$root" && swift build -c release --product agent-bridge) > "$out/soak-build.log" 2>&1 \
    || { cat "$out/soak-build.log" >&2; exit 1; }
  bin="$(cd "$root" && swift build -c release --show-bin-path)/agent-bridge"
fi

echo "== soaking $bin for ${seconds}s, $concurrency requests in flight" >&2
python3 "$root/bench/soak.py" "$bin" --seconds "$seconds" --concurrency "$concurrency" --out "$out" \
  ${SOAK_SEED:+--seed "$SOAK_SEED"} | tee "$out/soak-report.json"
