#!/usr/bin/env python3
"""What an ignored directory costs a subscription: inotify watches and the
time from `subscribe` to its first workspace/gitChanged.

Builds a repository of SOURCE tracked files (default 2,000, in 10
directories) and, ignored by its `.gitignore`, `web/node_modules/` of DIRS
directories (default 2,000) holding FILES files (default 20,000) in all,
starts one `agent-bridge stdio`, subscribes, and reads the number of
inotify watches from /proc/PID/fdinfo. With --compare BINARY it does the
same with a second binary (an older build, say), on the same tree, in the
same run. `git status --porcelain -uall` on the tree is timed alongside.

Usage: bench/watch_ignored_bench.py [--binary B] [--compare B] [--dirs N] [--files N]
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from watch_bench import GIT_ENV, Bridge, git  # noqa: E402


def make_repository(repo, source, dirs, files):
    os.makedirs(repo)
    git(repo, "init", "-q", "-b", "main")
    with open(os.path.join(repo, ".gitignore"), "w") as handle:
        handle.write("node_modules/\n")
    for index in range(source):
        directory = os.path.join(repo, "src", "d%02d" % (index % 10))
        os.makedirs(directory, exist_ok=True)
        with open(os.path.join(directory, "f%05d.txt" % index), "w") as handle:
            handle.write("%d\n" % index)
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "base")
    for index in range(dirs):
        # Two levels, as packages with a lib/ each.
        directory = os.path.join(repo, "web", "node_modules", "p%04d" % (index // 2), "lib%d" % (index % 2))
        os.makedirs(directory, exist_ok=True)
        for number in range(files // dirs):
            with open(os.path.join(directory, "m%d.js" % number), "w") as handle:
                handle.write("x\n")


def watches(pid):
    count = 0
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            if os.readlink("/proc/%d/fd/%s" % (pid, fd)) != "anon_inode:inotify":
                continue
            with open("/proc/%d/fdinfo/%s" % (pid, fd)) as handle:
                count += sum(1 for line in handle if line.startswith("inotify wd:"))
        except OSError:
            continue
    return count


def measure(binary, repo, runs):
    times, counts = [], []
    for _ in range(runs):
        bridge = Bridge(binary, repo, None)
        started = time.monotonic()
        bridge.send("subscribe", {"events": ["files", "git"]})
        reply = bridge.read(timeout=120)
        assert "result" in reply, reply
        first = bridge.read(timeout=120)
        assert first["method"] == "workspace/gitChanged", first
        times.append((time.monotonic() - started) * 1000)
        counts.append(watches(bridge.process.pid))
        bridge.close()
    return statistics.median(times), counts[-1]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", default=None)
    parser.add_argument("--compare", default=None)
    parser.add_argument("--source", type=int, default=2000)
    parser.add_argument("--dirs", type=int, default=2000)
    parser.add_argument("--files", type=int, default=20000)
    parser.add_argument("--runs", type=int, default=5)
    options = parser.parse_args()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    binary = options.binary or os.path.join(root, ".build/release/agent-bridge")
    base = tempfile.mkdtemp(prefix="watch-ignored-")
    try:
        repo = os.path.join(base, "repo")
        make_repository(repo, options.source, options.dirs, options.files)
        runs = []
        for _ in range(5):
            t0 = time.monotonic()
            subprocess.run(["git", "-C", repo, "status", "--porcelain", "-uall"], env=GIT_ENV, check=True,
                           stdout=subprocess.DEVNULL)
            runs.append(time.monotonic() - t0)
        print("%d tracked files; ignored web/node_modules/: %d directories, %d files; git status -uall %.1f ms"
              % (options.source, options.dirs, options.files, statistics.median(runs) * 1000))
        for name in [binary] + ([options.compare] if options.compare else []):
            ms, count = measure(name, repo, options.runs)
            print("%s: %d inotify watches, subscribe + first gitChanged %.1f ms (median of %d)"
                  % (name, count, ms, options.runs))
        return 0
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
