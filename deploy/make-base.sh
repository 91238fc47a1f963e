#!/usr/bin/env bash
# Makes the image's base without any container registry: a minimal Debian
# bookworm (debootstrap --variant=minbase) from the apt mirror this machine
# already uses, with the libraries the bridge links (libgit2, zlib) and
# ca-certificates, imported as a local image. Needs root (debootstrap) and
# podman.
#
#   deploy/make-base.sh                          makes localhost/agent-bridge-base:bookworm
#   deploy/make-base.sh NAME                     the same under another name
#   MIRROR=http://deb.debian.org/debian deploy/make-base.sh
#
# MIRROR defaults to the first bookworm source in /etc/apt/sources.list*.
# Then build the image on it: deploy/build-image.sh (BASE=NAME).
set -euo pipefail

name="${1:-localhost/agent-bridge-base:bookworm}"
suite=bookworm

# The first apt source that serves the suite: deb822 (.sources) or one-line.
find_mirror() {
  local file
  for file in /etc/apt/sources.list.d/*.sources; do
    [[ -f $file ]] || continue
    awk -v suite="$suite" '
      /^[[:space:]]*$/ { if (uri != "" && ok) print uri; uri = ""; ok = 0; next }
      tolower($1) == "uris:" { uri = $2 }
      tolower($1) == "suites:" { for (i = 2; i <= NF; i++) if ($i == suite) ok = 1 }
      END { if (uri != "" && ok) print uri }' "$file"
  done
  cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null \
    | awk -v suite="$suite" '$1 == "deb" { u = ($2 ~ /^\[/) ? $3 : $2; s = ($2 ~ /^\[/) ? $4 : $3; if (s == suite) print u }' \
    || true
}
mirror="${MIRROR:-$(find_mirror | head -n 1)}"
mirror="${mirror:-http://deb.debian.org/debian}"

root="$(mktemp -d /tmp/agent-bridge-base.XXXXXX)"
trap 'rm -rf "$root"' EXIT
echo "make-base: debootstrap $suite from $mirror" >&2
debootstrap --variant=minbase --include=libgit2-1.5,zlib1g,ca-certificates \
  "$suite" "$root" "$mirror" > "$root.log" 2>&1 \
  || { tail -n 30 "$root.log" >&2; rm -f "$root.log"; exit 1; }
rm -f "$root.log"

# What an image never needs: package caches and lists, logs, docs, man pages
# (a package installed later fetches fresh lists anyway).
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/cache/apt/*.bin \
  "$root"/var/lib/apt/lists/* "$root"/var/log/* \
  "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/*
# The same name resolution the bridge's host has is podman's business;
# keep the chroot's copies out of the image.
: > "$root/etc/resolv.conf"
: > "$root/etc/hostname"

# Sorted, numeric-owner tar with fixed times: the same packages give the
# same layer.
tar --sort=name --numeric-owner --mtime=@0 --xattrs -C "$root" -cf - . \
  | podman import --change 'CMD ["/bin/bash"]' - "$name" >/dev/null
echo "make-base: $name ($(podman image inspect --format '{{.Size}}' "$name" | awk '{ printf "%.0f MB", $1 / 1e6 }'))" >&2
