#!/usr/bin/env bash
# Builds the container image: the release agent-bridge with the Swift runtime
# linked in statically, stripped, on deploy/Containerfile. Build it on Debian
# bookworm (the binary links bookworm's libgit2.so.1.5 and libz.so.1, which
# the image supplies).
#
#   deploy/build-image.sh                     localhost/agent-bridge:latest on debian:bookworm-slim
#   BASE=localhost/agent-bridge-base:bookworm deploy/build-image.sh
#                                             on deploy/make-base.sh's base: no registry needed
#   deploy/build-image.sh NAME                another image name
#   ENGINE=docker deploy/build-image.sh       docker instead of podman
#
# Prints the image name on stdout; everything else goes to stderr.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
name="${1:-localhost/agent-bridge:latest}"
engine="${ENGINE:-podman}"
cd "$root"

swift build -c release --static-swift-stdlib --product agent-bridge >&2
bin="$(swift build -c release --static-swift-stdlib --show-bin-path)/agent-bridge"

context="$(mktemp -d /tmp/agent-bridge-image.XXXXXX)"
trap 'rm -rf "$context"' EXIT
cp deploy/Containerfile deploy/alive "$context/"
# Symbols are most of a Swift binary's size and nothing reads them in an image.
strip -o "$context/agent-bridge" "$bin"

args=(build -f "$context/Containerfile" -t "$name")
[[ $engine == podman ]] && args+=(--format docker)
[[ -n ${BASE:-} ]] && args+=(--build-arg "BASE=$BASE")
"$engine" "${args[@]}" "$context" >&2
echo "$name"
