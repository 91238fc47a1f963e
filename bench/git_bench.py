#!/usr/bin/env python3
"""gitChanges / gitDiff benchmark against the git CLI, measured in the same run.

Builds a repository of FILES files (default 20,000) with MODIFIED of them
edited (default 2,000), then times:

  reference: `git status --porcelain=v1 -uall` (a fresh process per run, as
             an editor or OpenHands would run it);
  bridge:    gitChanges and gitDiff answered by one long-lived
             `agent-bridge stdio` process (warm), per request round trip.

Prints medians and the ratio gitChanges / git status. Targets: ratio <= 1.0,
gitDiff <= 2 ms.

Usage: bench/git_bench.py [--binary .build/release/agent-bridge]
                          [--files 20000] [--modified 2000] [--runs 30]
                          [--dir DIR]
Build first: swift build -c release
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

GIT_ENV = dict(
    os.environ,
    GIT_CONFIG_NOSYSTEM="1",
    GIT_CONFIG_GLOBAL="/dev/null",
    GIT_AUTHOR_NAME="Bench",
    GIT_AUTHOR_EMAIL="bench@example.com",
    GIT_COMMITTER_NAME="Bench",
    GIT_COMMITTER_EMAIL="bench@example.com",
)


def git(repo, *args, capture=False):
    return subprocess.run(
        ["git", "-C", repo, *args], env=GIT_ENV, check=True,
        stdout=subprocess.PIPE if capture else subprocess.DEVNULL)


def make_repository(repo, files, modified):
    os.makedirs(repo)
    git(repo, "init", "-q", "-b", "main")
    per_dir = 200
    paths = []
    for index in range(files):
        directory = os.path.join(repo, "src", "d%03d" % (index // per_dir))
        if index % per_dir == 0:
            os.makedirs(directory, exist_ok=True)
        path = os.path.join(directory, "file%05d.txt" % index)
        with open(path, "w") as handle:
            handle.write("line one of %d\nline two\nline three\n" % index)
        paths.append(path)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "initial")
    step = max(1, files // modified)
    for path in paths[::step][:modified]:
        with open(path, "a") as handle:
            handle.write("an edit\n")
    # Settle the index's stat cache the way any first `git status` does.
    git(repo, "status", "--porcelain=v1", "-uall", capture=True)
    return [os.path.relpath(p, repo) for p in paths[::step][:modified]]


def time_git_status(repo, runs):
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        output = subprocess.run(
            ["git", "-C", repo, "status", "--porcelain=v1", "-uall"], env=GIT_ENV, check=True,
            stdout=subprocess.PIPE).stdout
        samples.append(time.perf_counter() - start)
    return samples, output.count(b"\n")


class Bridge:
    """One warm `agent-bridge stdio` process, NDJSON framing."""

    def __init__(self, binary, workspace):
        self.process = subprocess.Popen(
            [binary, "stdio", "--workspace", workspace, "--framing", "ndjson"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self.next_id = 0

    def call(self, method, params):
        self.next_id += 1
        message = {"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params}
        self.process.stdin.write((json.dumps(message) + "\n").encode())
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        reply = json.loads(line)
        if "error" in reply:
            raise RuntimeError("%s failed: %s" % (method, reply["error"]))
        return reply["result"]

    def timed(self, method, params, runs):
        samples = []
        result = None
        for _ in range(runs):
            start = time.perf_counter()
            result = self.call(method, params)
            samples.append(time.perf_counter() - start)
        return samples, result

    def close(self):
        self.process.stdin.close()
        self.process.wait(timeout=30)


def ms(seconds):
    return "%.2f ms" % (seconds * 1000)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", default=".build/release/agent-bridge")
    parser.add_argument("--files", type=int, default=20000)
    parser.add_argument("--modified", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--dir", default=None, help="where to build the repository (default: a temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the repository and print where it is")
    parser.add_argument("--reuse", default=None, help="time an existing repository made with --keep")
    args = parser.parse_args()
    if not os.access(args.binary, os.X_OK):
        sys.exit("no executable at %s: run `swift build -c release` first" % args.binary)

    scratch = tempfile.mkdtemp(prefix="agent-bridge-git-bench-", dir=args.dir)
    try:
        repo = os.path.realpath(os.path.join(scratch, "repo"))
        started = time.perf_counter()
        if args.reuse:
            # A repository from an earlier run (made with --keep): the same
            # layout, so the edited files are recomputed rather than rebuilt.
            repo = os.path.realpath(args.reuse)
            step = max(1, args.files // args.modified)
            edited = ["src/d%03d/file%05d.txt" % (i // 200, i) for i in range(0, args.files, step)][:args.modified]
        else:
            edited = make_repository(repo, args.files, args.modified)
        print("repository: %d files, %d modified (built in %.1f s)" % (
            args.files, len(edited), time.perf_counter() - started))

        bridge = Bridge(os.path.abspath(args.binary), repo)
        try:
            # Warm-up: first requests load libgit2's caches and the page cache.
            for _ in range(3):
                bridge.call("gitChanges", {})
            git_samples, git_lines = time_git_status(repo, 3)  # warm-up too
            # Interleave so machine noise hits both sides alike.
            git_samples, bridge_samples = [], []
            changes = None
            for _ in range(args.runs):
                sample, git_lines = time_git_status(repo, 1)
                git_samples += sample
                sample, changes = bridge.timed("gitChanges", {}, 1)
                bridge_samples += sample
            diff_samples, diff = bridge.timed("gitDiff", {"path": edited[len(edited) // 2]}, max(args.runs, 100))
        finally:
            bridge.close()

        if len(changes) != git_lines:
            sys.exit("mismatch: gitChanges found %d changes, git status %d lines" % (len(changes), git_lines))
        if not diff["modified"].endswith("an edit"):
            sys.exit("gitDiff returned an unexpected modified side")

        git_median = statistics.median(git_samples)
        changes_median = statistics.median(bridge_samples)
        diff_median = statistics.median(diff_samples)
        ratio = changes_median / git_median
        print("git status --porcelain=v1 -uall  median %s  (min %s)" % (ms(git_median), ms(min(git_samples))))
        print("gitChanges (warm stdio)          median %s  (min %s)  -> %d changes" % (
            ms(changes_median), ms(min(bridge_samples)), len(changes)))
        print("gitDiff one file (warm stdio)    median %s  (min %s)" % (ms(diff_median), ms(min(diff_samples))))
        print("ratio gitChanges / git status: %.2fx (target <= 1.0x) %s" % (ratio, "PASS" if ratio <= 1.0 else "FAIL"))
        print("gitDiff: %s (target <= 2 ms) %s" % (ms(diff_median), "PASS" if diff_median <= 0.002 else "FAIL"))
        return 0 if ratio <= 1.0 and diff_median <= 0.002 else 1
    finally:
        if args.keep and not args.reuse:
            print("kept: %s" % repo)
        else:
            shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
