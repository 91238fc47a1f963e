#!/usr/bin/env bash
# Load on `agent-bridge serve` with wrk: GET /health and GET git/changes on a
# 20,000-file repository. Prints requests/s and p99 for each, and, as the
# reference measured in the same run, how long `git status` takes on the same
# repository (so the git/changes latency reads as a ratio to git's own).
#
#   bench/http.sh                     # 10 s per endpoint, 16 connections
#   DURATION=3s bench/http.sh         # shorter, while iterating
#   FILES=2000 CONNECTIONS=4 bench/http.sh
set -euo pipefail

cd "$(dirname "$0")/.."
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-16}
THREADS=${THREADS:-2}
FILES=${FILES:-20000}
OUT=bench/out
REPO=$OUT/repo-$FILES

for tool in wrk git; do
  command -v "$tool" >/dev/null || { echo "bench/http.sh needs $tool (apt-get install $tool)" >&2; exit 1; }
done

swift build -c release --product agent-bridge >&2
BIN=$(swift build -c release --show-bin-path)/agent-bridge

# The repository: FILES files in 100 directories, committed, then 200
# modified, 100 deleted and 100 untracked so git/changes has work to report.
if [ ! -d "$REPO/.git" ]; then
  echo "creating $REPO ($FILES files)" >&2
  rm -rf "$REPO" && mkdir -p "$REPO"
  (
    cd "$REPO"
    git init -q -b main
    for d in $(seq 0 99); do mkdir -p "dir$d"; done
    for i in $(seq 0 $((FILES - 1))); do echo "file $i" > "dir$((i % 100))/file$i.txt"; done
    git add -A && git -c user.email=b@e -c user.name=bench commit -qm base
    for i in $(seq 0 199); do echo changed >> "dir$((i % 100))/file$i.txt"; done
    for i in $(seq 200 299); do rm "dir$((i % 100))/file$i.txt"; done
    for i in $(seq 0 99); do echo new > "dir$i/untracked$i.txt"; done
  )
fi

LOG=$(mktemp)
"$BIN" serve --workspace "$REPO" --port 0 2>"$LOG" &
PID=$!
trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null; rm -f "$LOG"' EXIT
for _ in $(seq 100); do grep -q 'docs: http' "$LOG" && break; sleep 0.1; done
PORT=$(sed -n 's|.*docs: http://[^ ]*:\([0-9]*\)/docs.*|\1|p' "$LOG")
ID=$(sed -n 's|.*(conversation \([0-9a-f]*\)).*|\1|p' "$LOG")
[ -n "$PORT" ] || { cat "$LOG" >&2; exit 1; }
BASE=http://127.0.0.1:$PORT

# The endpoint must answer 200 before it is worth loading.
status=$(curl -s -o /dev/null -w '%{http_code}' "$BASE/api/conversations/$ID/git/changes" || true)
[ "$status" = 200 ] || echo "warning: git/changes answered $status" >&2

# wrk prints latencies as 812.00us, 12.34ms or 1.02s.
to_ms() { awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n += 0; else if (v ~ /s$/) n *= 1000; printf "%.2f", n }'; }

run() {  # name url [connections]; sets P50_MS
  local report rps p99 p50 connections=${3:-$CONNECTIONS}
  report=$(wrk -t"$(( THREADS < connections ? THREADS : connections ))" -c"$connections" -d"$DURATION" --timeout 30s --latency "$2")
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$report")
  p50=$(awk '$1 == "50%" {print $2}' <<<"$report")
  p99=$(awk '$1 == "99%" {print $2}' <<<"$report")
  errors=$(awk '/Non-2xx|Socket errors/' <<<"$report")
  P50_MS=$(to_ms "$p50")
  printf '%-16s %4s conn %10s req/s   p50 %8s   p99 %8s   %s\n' "$1" "$connections" "$rps" "$p50" "$p99" "${errors:-no errors}"
}

echo "agent-bridge serve, $CONNECTIONS connections, $THREADS wrk threads, $DURATION each, $FILES-file repository"
run health "$BASE/health"
run git/changes "$BASE/api/conversations/$ID/git/changes"
run git/changes "$BASE/api/conversations/$ID/git/changes" 1
changes_ms=$P50_MS

# Reference: git's own status on the same tree, one process per run.
start=$(date +%s%N)
for _ in 1 2 3 4 5; do git -C "$REPO" status --porcelain=v1 -uall >/dev/null; done
git_ms=$(awk -v ns=$(( $(date +%s%N) - start )) 'BEGIN { printf "%.2f", ns / 5 / 1e6 }')
echo "reference: git status --porcelain=v1 -uall takes ${git_ms} ms per run on the same repository"
awk -v a="$changes_ms" -v b="$git_ms" 'BEGIN { printf "git/changes p50, one client / git status: %.2fx\n", a / b }'
