#!/usr/bin/env bash
# Builds the container image without a registry and checks it on a real git
# workspace: /health, a keyed git/changes equal to the host binary's answer,
# 401 without the key, the refusal to bind 0.0.0.0 without a key, the
# HEALTHCHECK, stdio gitChanges through `podman run -i --network none` and
# `podman exec -i`, and a clean exit 0 on SIGTERM within 5 s. Removes every
# container and image it made. Exits 0 with "SKIPPED" where podman cannot run
# containers (not root, no apt, no cgroups...), non-zero on a failure.
#
#   deploy/test.sh
#   DEPLOY_BASE=localhost/agent-bridge-base:bookworm deploy/test.sh
#       reuse a base made by deploy/make-base.sh (kept) instead of making one
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
started=$(date +%s)
skip() {
  echo "deploy/test.sh: SKIPPED: $*" >&2
  exit 0
}
fail() {
  echo "deploy/test.sh: FAILED: $*" >&2
  exit 1
}
pass() { echo "deploy/test.sh: ok: $*" >&2; }

# What it needs, installed with apt as scripts/setup does.
need=()
command -v podman >/dev/null 2>&1 || need+=(podman)
command -v runc >/dev/null 2>&1 || need+=(runc)
command -v debootstrap >/dev/null 2>&1 || [[ -n ${DEPLOY_BASE:-} ]] || need+=(debootstrap)
command -v curl >/dev/null 2>&1 || need+=(curl)
command -v jq >/dev/null 2>&1 || need+=(jq)
command -v git >/dev/null 2>&1 || need+=(git)
if ((${#need[@]})); then
  [[ $(id -u) -eq 0 ]] || skip "needs root to install ${need[*]} (and to run debootstrap)"
  command -v apt-get >/dev/null 2>&1 || skip "no apt-get to install ${need[*]}"
  echo "deploy/test.sh: installing ${need[*]}" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" </dev/null >&2 \
    || skip "could not install ${need[*]}"
fi
[[ $(id -u) -eq 0 || -n ${DEPLOY_BASE:-} ]] || skip "debootstrap needs root (or set DEPLOY_BASE)"

work="$(mktemp -d /tmp/agent-bridge-deploy-test.XXXXXX)"
tag="test-$$"
made_images=()
made_containers=()
host_pid=""
cleanup() {
  local id
  [[ -n $host_pid ]] && kill "$host_pid" 2>/dev/null && wait "$host_pid" 2>/dev/null
  for id in "${made_containers[@]}"; do podman rm -f -t 0 "$id" >/dev/null 2>&1 || true; done
  for id in "${made_images[@]}"; do podman rmi -f "$id" >/dev/null 2>&1 || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# Podman's defaults that do not fit every machine, in a file of our own
# rather than the system's: runc (crun fails on hybrid cgroup v1/v2 hosts),
# and container ulimits no higher than this shell may set (the defaults can
# exceed a root's hard limit, and then every container fails to start).
nofile=$(ulimit -Hn)
[[ $nofile == unlimited ]] && nofile=1048576
nproc=$(ulimit -Hu)
[[ $nproc == unlimited || $nproc -gt 32768 ]] && nproc=32768
cat > "$work/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=$nproc:$nproc"]

[engine]
runtime = "runc"
EOF
export CONTAINERS_CONF="$work/containers.conf"
podman info >/dev/null 2>"$work/podman-info.err" || skip "podman cannot run here: $(head -c 300 "$work/podman-info.err")"

# The base: the registry-free path of deploy/Containerfile.
if [[ -n ${DEPLOY_BASE:-} ]]; then
  base="$DEPLOY_BASE"
else
  base="localhost/agent-bridge-base:$tag"
  made_images+=("$base")
  step=$(date +%s)
  deploy/make-base.sh "$base"
  echo "deploy/test.sh: base made in $(($(date +%s) - step))s" >&2
fi
podman run --rm --network none "$base" true 2>"$work/run.err" \
  || skip "podman cannot start a container here: $(head -c 300 "$work/run.err")"

image="localhost/agent-bridge:$tag"
made_images+=("$image")
step=$(date +%s)
BASE="$base" deploy/build-image.sh "$image" >/dev/null
echo "deploy/test.sh: image built in $(($(date +%s) - step))s ($(podman image inspect --format '{{.Size}}' "$image" | awk '{ printf "%.0f MB", $1 / 1e6 }'))" >&2
host_bin="$(swift build -c release --static-swift-stdlib --show-bin-path)/agent-bridge"

[[ $(podman image inspect --format '{{.Config.User}}' "$image") == 10001:10001 ]] || fail "the image does not run as 10001"
podman image inspect --format '{{json .Config.Healthcheck}}' "$image" | grep -q '"alive"' \
  || fail "the image has no HEALTHCHECK (built without --format docker?)"

# A workspace with every kind of change: modified, added (staged),
# deleted, untracked, renamed-looking. World-readable, since the container
# runs as another user than the one who made it.
ws="$work/workspace"
mkdir -p "$ws/src"
git() { command git -C "$ws" -c user.name=Test -c user.email=test@example.com "$@"; }
git init -q -b main
printf 'one\n' > "$ws/README.md"
printf 'let a = 1\n' > "$ws/src/a.swift"
printf 'gone\n' > "$ws/old.txt"
git add -A
git commit -qm initial
printf 'one\ntwo\n' > "$ws/README.md"
rm "$ws/old.txt"
printf 'let b = 2\n' > "$ws/src/b.swift"
git add src/b.swift
printf 'new\n' > "$ws/untracked.txt"
chmod -R a+rX "$ws"

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_health() {
  for _ in $(seq 1 100); do
    [[ $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$1/health" 2>/dev/null) == 200 ]] && return 0
    sleep 0.1
  done
  return 1
}

# 1. Without a key the image's default command (0.0.0.0) must refuse to start.
if out=$(podman run --rm --network none -v "$ws:/workspace:ro" "$image" 2>&1); then
  fail "serve on 0.0.0.0 without a key started: $out"
fi
grep -q "without an API key" <<<"$out" || fail "unexpected refusal: $out"
pass "no key: refuses to bind 0.0.0.0"

# 2. Served with a key, on a loopback port of the host.
key="k-$RANDOM$RANDOM$RANDOM"
port=$(free_port)
name="agent-bridge-$tag"
made_containers+=("$name")
# Confined as deploy/kubernetes/sandbox.yaml confines it: read-only root,
# no capabilities, no privilege gain, the workspace read-only, a writable
# state directory and /tmp. The workspace is also mounted at its host path,
# which is what an editor's initialize names (see the exec check below).
state="$work/state"
mkdir -m 0700 "$state"
chown 10001:10001 "$state"
podman run -d --name "$name" -e AGENT_BRIDGE_API_KEY="$key" -p "127.0.0.1:$port:3000" \
  --read-only --cap-drop ALL --security-opt no-new-privileges --tmpfs /tmp \
  -v "$state:/state" -v "$ws:/workspace:ro" -v "$ws:$ws:ro" "$image" >/dev/null 2>"$work/run.err" \
  || fail "podman run: $(cat "$work/run.err")"
# (Without systemd, podman says on stderr that it cannot schedule the
# HEALTHCHECK timer; `podman healthcheck run` below runs it by hand.)
wait_health "$port" || fail "no /health within 10 s: $(podman logs "$name" 2>&1 | tail -5)"
[[ $(curl -s "http://127.0.0.1:$port/health") == '"OK"' ]] || fail "/health body"
pass "/health"
id=$(podman logs "$name" 2>&1 | sed -n 's/.*(conversation \([0-9a-f]*\)).*/\1/p' | head -n 1)
[[ -n $id ]] || fail "no conversation id in the log: $(podman logs "$name" 2>&1)"

code=$(curl -s -o "$work/401.json" -w '%{http_code}' "http://127.0.0.1:$port/api/conversations/$id/git/changes")
[[ $code == 401 ]] || fail "git/changes without the key answered $code"
[[ $(jq -c . "$work/401.json") == '{"detail":"Unauthorized"}' ]] || fail "401 body: $(cat "$work/401.json")"
code=$(curl -s -o /dev/null -w '%{http_code}' -H "X-Session-API-Key: wrong" "http://127.0.0.1:$port/api/conversations/$id/git/changes")
[[ $code == 401 ]] || fail "git/changes with a wrong key answered $code"
pass "401 without the key and with a wrong one"

curl -sf -H "X-Session-API-Key: $key" "http://127.0.0.1:$port/api/conversations/$id/git/changes" > "$work/container.json" \
  || fail "keyed git/changes failed"
# The same call on the host binary, serving the same directory under the
# same conversation id.
hport=$(free_port)
"$host_bin" serve --port "$hport" --workspace "$ws" --conversation-id "$id" 2>"$work/host.err" &
host_pid=$!
wait_health "$hport" || fail "host bridge: $(cat "$work/host.err")"
curl -sf "http://127.0.0.1:$hport/api/conversations/$id/git/changes" > "$work/host.json"
kill "$host_pid"
wait "$host_pid" || true
host_pid=""
# Not only equal, also the changes made above (so an empty answer on both
# sides cannot pass).
for path in README.md old.txt src/b.swift untracked.txt; do
  jq -e --arg p "$path" 'map(.path) | index($p) != null' "$work/container.json" >/dev/null \
    || fail "container git/changes lacks $path: $(cat "$work/container.json")"
done
cmp -s "$work/container.json" "$work/host.json" \
  || fail "git/changes differs: container $(cat "$work/container.json") host $(cat "$work/host.json")"
pass "keyed git/changes equals the host binary's ($(jq length "$work/container.json") changes)"

podman healthcheck run "$name" >/dev/null || fail "HEALTHCHECK (alive) failed on a serving container"
pass "HEALTHCHECK"

# The state volume is where feedback lands, read-only root or not.
curl -sf -H "X-Session-API-Key: $key" -H 'Content-Type: application/json' -d '{"polarity":"positive"}' \
  "http://127.0.0.1:$port/api/conversations/$id/submit-feedback" > "$work/feedback.json" \
  || fail "submit-feedback failed"
feedback_id=$(jq -r .body.feedback_id "$work/feedback.json")
grep -q "$feedback_id" "$state/agent-bridge/feedback.jsonl" || fail "feedback not in the state volume"
pass "feedback stored in the /state volume"

# 3. stdio, as an editor reaches it: through podman run -i with no network,
# and through podman exec -i into the serving container.
request='{"jsonrpc":"2.0","id":1,"method":"gitChanges"}'
printf '%s\n' "$request" | "$host_bin" stdio --workspace "$ws" > "$work/host-stdio.json"
jq -e '.result | length == 4' "$work/host-stdio.json" >/dev/null || fail "host stdio: $(cat "$work/host-stdio.json")"
printf '%s\n' "$request" \
  | podman run -i --rm --network none -v "$ws:/workspace:ro" "$image" stdio --workspace /workspace \
    > "$work/run-stdio.json" 2>"$work/run.err" || fail "podman run -i: $(cat "$work/run.err")"
cmp -s "$work/run-stdio.json" "$work/host-stdio.json" \
  || fail "podman run -i stdio: $(cat "$work/run-stdio.json") host: $(cat "$work/host-stdio.json")"
pass "stdio gitChanges through podman run -i --network none"
# An editor plugin's session: `podman exec -i NAME agent-bridge` as its
# command, initialize naming the editor's folder (mounted at the same path).
printf '%s\n' "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":{\"rootPath\":\"$ws\"}}" "$request" \
  | podman exec -i "$name" agent-bridge > "$work/exec-stdio.json"
jq -s -e 'map(select(.id == 0))[0].result.conversationId | strings' "$work/exec-stdio.json" >/dev/null \
  || fail "podman exec -i initialize: $(cat "$work/exec-stdio.json")"
cmp -s <(jq -c 'select(.id == 1)' "$work/exec-stdio.json") <(jq -c . "$work/host-stdio.json") \
  || fail "podman exec -i gitChanges: $(cat "$work/exec-stdio.json")"
pass "an editor's session (initialize, gitChanges) through podman exec -i"

# 4. SIGTERM: the bridge is PID 1 in the container, which gets no default
# signal handling; it must exit 0 by itself well before podman's SIGKILL.
step=$(date +%s%N)
podman stop -t 5 "$name" >/dev/null 2>"$work/stop.err" || fail "podman stop: $(cat "$work/stop.err")"
elapsed_ms=$((($(date +%s%N) - step) / 1000000))
status=$(podman inspect --format '{{.State.ExitCode}}' "$name")
[[ $status == 0 ]] || fail "exit status $status after SIGTERM (137 is SIGKILL: SIGTERM was ignored)"
((elapsed_ms < 5000)) || fail "stop took ${elapsed_ms} ms"
pass "SIGTERM: exit 0 in ${elapsed_ms} ms"

echo "deploy/test.sh: OK in $(($(date +%s) - started))s" >&2
