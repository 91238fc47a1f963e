#!/usr/bin/env bash
# Unpacks Debian trixie's Neovim (0.10.4) into DIR without installing anything:
# apt-get download with a private sources list and cache, dpkg -x, and a
# DIR/nvim wrapper that runs it through trixie's own ld.so (bookworm's libc is
# too old for it), so the system and nvim's child processes keep their own
# libraries. Then:  NVIM=DIR/nvim bash editors/neovim/test/run.sh
# Headless only: 0.10's TUI re-executes its own binary, which is ld.so here
# (for a screen, run DIR/nvim --headless --listen SOCK and DIR/nvim --remote-ui --server SOCK).
set -eu
dir=$(mkdir -p "${1:-/tmp/nvim-trixie}" && cd "${1:-/tmp/nvim-trixie}" && pwd)
mkdir -p "$dir/apt/lists/partial" "$dir/apt/cache/archives/partial" "$dir/debs" "$dir/root"
echo 'deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian trixie main' >"$dir/apt/sources.list"
apt=(-o "Dir::Etc::sourcelist=$dir/apt/sources.list" -o Dir::Etc::sourceparts=/nonexistent
  -o "Dir::State::Lists=$dir/apt/lists" -o "Dir::Cache=$dir/apt/cache" -o Dir::State::status=/dev/null)
apt-get "${apt[@]}" update >/dev/null
(cd "$dir/debs" && apt-get "${apt[@]}" download neovim neovim-runtime libc6 libgcc-s1 libluajit-5.1-2 \
  libluajit-5.1-common libmsgpack-c2 libtree-sitter0.22 libunibilium4 libuv1t64 libvterm0 lua-lpeg lua-luv >/dev/null 2>&1)
for deb in "$dir"/debs/*.deb; do dpkg -x "$deb" "$dir/root"; done
cat >"$dir/nvim" <<WRAPPER
#!/bin/sh
L=$dir/root/usr/lib/x86_64-linux-gnu
export VIMRUNTIME=$dir/root/usr/share/nvim/runtime
exec "\$L/ld-linux-x86-64.so.2" --library-path "\$L:$dir/root/lib/x86_64-linux-gnu" "$dir/root/usr/bin/nvim" "\$@"
WRAPPER
chmod +x "$dir/nvim"
"$dir/nvim" --version | head -1
