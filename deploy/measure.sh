#!/usr/bin/env bash
# The figures the sidecar's resource requests are sized from, measured on
# the image in a container confined as deploy/kubernetes/sandbox.yaml
# confines it: idle RSS and PSS of `serve` and of `stdio`, CPU over
# IDLE_SECONDS (default 60) idle seconds of serve, and serve's peak RSS
# (VmHWM) under load on a FILES-file repository (default 20,000; 200
# modified, 100 deleted, 100 untracked, as bench/http.sh makes it):
# CONCURRENCY (16) parallel git/changes, REQUESTS (400) in all, then 4
# parallel zip-directory downloads of the whole workspace, 8 in all.
# Loopback only. Needs the image (deploy/build-image.sh) and podman.
#
#   deploy/measure.sh [IMAGE]        default localhost/agent-bridge:latest
#   IDLE_SECONDS=10 FILES=2000 deploy/measure.sh
#
# Run as deploy/test.sh does on a machine that needs it (CONTAINERS_CONF
# with runc and bounded ulimits); prints a Markdown table on stdout.
set -euo pipefail
image="${1:-localhost/agent-bridge:latest}"
IDLE_SECONDS=${IDLE_SECONDS:-60}
FILES=${FILES:-20000}
CONCURRENCY=${CONCURRENCY:-16}
REQUESTS=${REQUESTS:-400}

work="$(mktemp -d /tmp/agent-bridge-measure.XXXXXX)"
names=()
cleanup() {
  local n
  for n in "${names[@]}"; do podman rm -f -t 0 "$n" >/dev/null 2>&1 || true; done
  rm -rf "$work"
}
trap cleanup EXIT

repo="$work/repo"
echo "measure: making a $FILES-file repository" >&2
mkdir -p "$repo"
(
  cd "$repo"
  git init -q -b main
  for d in $(seq 0 99); do mkdir -p "dir$d"; done
  for i in $(seq 0 $((FILES - 1))); do echo "file $i" > "dir$((i % 100))/file$i.txt"; done
  # No background gc: it would repack while chmod below walks .git.
  git add -A && git -c gc.auto=0 -c user.email=b@e -c user.name=bench commit -qm base
  for i in $(seq 0 199); do echo changed >> "dir$((i % 100))/file$i.txt"; done
  for i in $(seq 200 299); do rm "dir$((i % 100))/file$i.txt"; done
  for i in $(seq 0 99); do echo new > "dir$i/untracked$i.txt"; done
)
chmod -R a+rX "$repo"
state="$work/state"
mkdir -m 0700 "$state"
chown 10001:10001 "$state"

confined=(--read-only --cap-drop ALL --security-opt no-new-privileges --tmpfs /tmp
  -v "$state:/state" -v "$repo:/workspace:ro")
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
pid_of() { podman inspect --format '{{.State.Pid}}' "$1"; }
kib() { awk -v k="$2" '$1 == k":" { print $2 }' "$1"; }
mb() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

key="measure-$RANDOM$RANDOM"
port=$(free_port)
names+=("measure-serve-$$")
podman run -d --name "measure-serve-$$" -e AGENT_BRIDGE_API_KEY="$key" -p "127.0.0.1:$port:3000" \
  "${confined[@]}" "$image" >/dev/null
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.1; done
id=$(podman logs "measure-serve-$$" 2>&1 | sed -n 's/.*(conversation \([0-9a-f]*\)).*/\1/p' | head -n 1)
serve_pid=$(pid_of "measure-serve-$$")

names+=("measure-stdio-$$")
# -i keeps stdin open: the bridge waits for requests as under an editor.
podman run -d -i --name "measure-stdio-$$" --network none "${confined[@]}" "$image" \
  stdio --workspace /workspace >/dev/null
sleep 2
stdio_pid=$(pid_of "measure-stdio-$$")
stdio_rss=$(kib "/proc/$stdio_pid/smaps_rollup" Rss)
stdio_pss=$(kib "/proc/$stdio_pid/smaps_rollup" Pss)
serve_rss=$(kib "/proc/$serve_pid/smaps_rollup" Rss)
serve_pss=$(kib "/proc/$serve_pid/smaps_rollup" Pss)

echo "measure: ${IDLE_SECONDS}s idle" >&2
hz=$(getconf CLK_TCK)
t0=$(ticks "$serve_pid")
s0=$(ticks "$stdio_pid")
sleep "$IDLE_SECONDS"
idle_serve_ms=$(( ($(ticks "$serve_pid") - t0) * 1000 / hz ))
idle_stdio_ms=$(( ($(ticks "$stdio_pid") - s0) * 1000 / hz ))

echo "measure: $REQUESTS git/changes, $CONCURRENCY at a time" >&2
base="http://127.0.0.1:$port/api/conversations/$id"
curl -sf -H "X-Session-API-Key: $key" "$base/git/changes" | jq -e 'length == 400' >/dev/null \
  || echo "measure: warning: git/changes did not list 400 changes" >&2
t0=$(ticks "$serve_pid")
start=$(date +%s%N)
seq "$REQUESTS" | xargs -P "$CONCURRENCY" -I{} \
  curl -sf -o /dev/null -H "X-Session-API-Key: $key" "$base/git/changes"
changes_ms=$(( ($(date +%s%N) - start) / 1000000 ))
changes_cpu_ms=$(( ($(ticks "$serve_pid") - t0) * 1000 / hz ))
changes_hwm=$(kib "/proc/$serve_pid/status" VmHWM)

echo "measure: 8 zip-directory downloads, 4 at a time" >&2
start=$(date +%s%N)
seq 8 | xargs -P 4 -I{} sh -c "curl -sf -H 'X-Session-API-Key: $key' '$base/zip-directory' | wc -c > '$work/zip{}.size'"
zip_ms=$(( ($(date +%s%N) - start) / 1000000 ))
zip_bytes=$(cat "$work/zip1.size")
peak=$(kib "/proc/$serve_pid/status" VmHWM)
after_rss=$(kib "/proc/$serve_pid/smaps_rollup" Rss)

cat <<EOF
| Measure (image $(podman image inspect --format '{{.Size}}' "$image" | awk '{ printf "%.0f MB", $1 / 1e6 }'), $(nproc) cores) | Value |
|---|---|
| \`stdio\` idle RSS / PSS | $(mb "$stdio_rss") / $(mb "$stdio_pss") MiB |
| \`serve\` idle RSS / PSS (after one \`/health\`) | $(mb "$serve_rss") / $(mb "$serve_pss") MiB |
| CPU over ${IDLE_SECONDS} idle s, \`serve\` / \`stdio\` | ${idle_serve_ms} ms / ${idle_stdio_ms} ms |
| $REQUESTS \`git/changes\` on $FILES files (400 changes), $CONCURRENCY at a time | ${changes_ms} ms wall, ${changes_cpu_ms} ms CPU, peak RSS $(mb "$changes_hwm") MiB |
| then 8 \`zip-directory\` ($(awk -v b="$zip_bytes" 'BEGIN { printf "%.1f MB", b / 1e6 }') each), 4 at a time | ${zip_ms} ms wall, peak RSS $(mb "$peak") MiB |
| \`serve\` RSS after the load | $(mb "$after_rss") MiB |
EOF
