#!/usr/bin/env python3
"""Subscriptions benchmark: what a subscribed client waits for and what it costs.

Builds a repository of FILES files (default 2,000; the issue's 20,000 with
--files 20000) of which MODIFIED (default a tenth) are modified after the
commit, starts one `agent-bridge stdio`, subscribes to files and git, then
measures:

  asked:   ASKED (default 30) times, one more tracked file is modified and
           `gitChanges` asked at once; the time to its reply (which must
           name the file), median and p90, against `git status --porcelain
           -uall` on the same tree, and against a gitChanges asked of a
           second bridge that is not watching (a full status each time).
  latency: WRITES (default 200) times, one tracked file is modified and the
           clock runs until the workspace/gitChanged that shows it (and the
           workspace/filesChanged that names it) arrives; median and p99.
  burst:   BURST (default 10,000) files created by one shell loop; the number
           of notifications until the last gitChanged holds them all, and
           whether it equals a gitChanges asked afterwards.
  idle:    the bridge's CPU time (utime + stime from /proc) over IDLE seconds
           (default 10) with the subscription open and nothing changing.

Usage: bench/watch_bench.py [--binary .build/release/agent-bridge] [--files N]
                            [--writes N] [--burst N] [--idle S] [--debounce-ms MS]
"""

import argparse
import json
import os
import select
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


def git(repo, *args):
    subprocess.run(["git", "-C", repo, *args], env=GIT_ENV, check=True, stdout=subprocess.DEVNULL)


def make_repository(repo, files, modified):
    os.makedirs(repo)
    git(repo, "init", "-q", "-b", "main")
    paths = []
    for index in range(files):
        directory = os.path.join(repo, "src", "d%03d" % (index // 200))
        if index % 200 == 0:
            os.makedirs(directory, exist_ok=True)
        path = os.path.join(directory, "file%05d.txt" % index)
        with open(path, "w") as handle:
            handle.write("line one of %d\nline two\n" % index)
        paths.append(path)
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "base")
    # Modified from the end, so the files the benchmark writes start clean.
    for path in paths[len(paths) - modified:]:
        with open(path, "a") as handle:
            handle.write("modified before the bridge started\n")
    return paths


class Bridge:
    def __init__(self, binary, repo, debounce):
        args = [binary, "--workspace", repo, "--framing", "ndjson"]
        if debounce is not None:
            args += ["--debounce-ms", str(debounce)]
        self.process = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.buffer = b""
        self.next_id = 1

    def send(self, method, params=None):
        message = {"jsonrpc": "2.0", "id": self.next_id, "method": method}
        if params is not None:
            message["params"] = params
        self.next_id += 1
        self.process.stdin.write((json.dumps(message) + "\n").encode())
        self.process.stdin.flush()
        return self.next_id - 1

    def read(self, timeout=30.0):
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no message from the bridge")
            ready, _, _ = select.select([self.process.stdout], [], [], left)
            if ready:
                chunk = os.read(self.process.stdout.fileno(), 1 << 20)
                if not chunk:
                    raise EOFError("the bridge closed its output")
                self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return json.loads(line)

    def quiet(self, seconds):
        """True when nothing arrives within `seconds`."""
        if b"\n" in self.buffer:
            return False
        ready, _, _ = select.select([self.process.stdout], [], [], seconds)
        return not ready

    def cpu_seconds(self):
        with open("/proc/%d/stat" % self.process.pid) as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def close(self):
        self.process.stdin.close()
        self.process.wait(timeout=30)


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", default=None)
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--modified", type=int, default=None)
    parser.add_argument("--asked", type=int, default=30)
    parser.add_argument("--writes", type=int, default=200)
    parser.add_argument("--burst", type=int, default=10000)
    parser.add_argument("--idle", type=float, default=10.0)
    parser.add_argument("--debounce-ms", type=int, default=None)
    options = parser.parse_args()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    binary = options.binary
    if binary is None:
        release = os.path.join(root, ".build/release/agent-bridge")
        binary = release if os.path.exists(release) else os.path.join(root, ".build/debug/agent-bridge")
    base = tempfile.mkdtemp(prefix="watch-bench-")
    try:
        repo = os.path.join(base, "repo")
        modified = options.files // 10 if options.modified is None else options.modified
        assert options.files >= modified + options.asked + options.writes, "too few files for the writes"
        paths = make_repository(repo, options.files, modified)
        relative = [os.path.relpath(p, repo) for p in paths]

        subprocess.run(["git", "-C", repo, "status", "--porcelain", "-uall"], env=GIT_ENV, check=True,
                       stdout=subprocess.DEVNULL)
        runs = []
        for _ in range(5):
            t0 = time.monotonic()
            subprocess.run(["git", "-C", repo, "status", "--porcelain", "-uall"], env=GIT_ENV, check=True,
                           stdout=subprocess.DEVNULL)
            runs.append(time.monotonic() - t0)
        status_ms = statistics.median(runs) * 1000

        bridge = Bridge(binary, repo, options.debounce_ms)
        subscribed = time.monotonic()
        bridge.send("subscribe", {"events": ["files", "git"]})
        reply = bridge.read()
        assert "result" in reply, reply
        first = bridge.read()
        assert first["method"] == "workspace/gitChanged", first
        subscribe_ms = (time.monotonic() - subscribed) * 1000

        # Asked while watched, one modified file since the last answer.
        asked_ms = []
        for index in range(options.asked):
            position = options.writes + index
            with open(paths[position], "a") as handle:
                handle.write("asked %d\n" % index)
            t0 = time.monotonic()
            asked = bridge.send("gitChanges")
            while True:
                answer = bridge.read()
                if answer.get("id") == asked:
                    break
            asked_ms.append((time.monotonic() - t0) * 1000)
            assert any(c["path"] == relative[position] and c["status"] == "M" for c in answer["result"]), answer
        # Let the pushes those writes caused go by.
        while not bridge.quiet(0.5):
            bridge.read()

        # The same question of a bridge that is not watching.
        unwatched = Bridge(binary, repo, options.debounce_ms)
        unwatched_runs = []
        for _ in range(6):
            t0 = time.monotonic()
            asked = unwatched.send("gitChanges")
            answer = unwatched.read(timeout=60)
            assert answer.get("id") == asked, answer
            unwatched_runs.append((time.monotonic() - t0) * 1000)
        unwatched.close()
        unwatched_ms = statistics.median(unwatched_runs[1:])

        git_latency, files_latency = [], []
        for index in range(options.writes):
            path = paths[index % len(paths)]
            name = relative[index % len(paths)]
            expected = index < len(paths)
            written = time.monotonic()
            with open(path, "a") as handle:
                handle.write("edit %d\n" % index)
            got_files = got_git = None
            while got_git is None or got_files is None:
                message = bridge.read()
                now = time.monotonic()
                params = message.get("params", {})
                if message.get("method") == "workspace/filesChanged":
                    if any(c["path"] == name for c in params["changes"]):
                        got_files = got_files or now
                elif message.get("method") == "workspace/gitChanged":
                    if not expected or any(c["path"] == name and c["status"] == "M" for c in params["changes"]):
                        got_git = now
            files_latency.append((got_files - written) * 1000)
            git_latency.append((got_git - written) * 1000)

        # Let everything settle, then measure idle CPU.
        while not bridge.quiet(0.5):
            bridge.read()
        cpu_before = bridge.cpu_seconds()
        time.sleep(options.idle)
        cpu_idle = bridge.cpu_seconds() - cpu_before
        assert bridge.quiet(0.1), "notifications while idle"

        burst_dir = os.path.join(repo, "burst")
        t0 = time.monotonic()
        subprocess.run(["sh", "-c", "mkdir -p burst && for i in $(seq 1 %d); do echo $i > burst/f$i; done"
                        % options.burst], cwd=repo, check=True)
        created_s = time.monotonic() - t0
        notifications = files_notifications = git_notifications = 0
        last_git = None
        while True:
            message = bridge.read(timeout=120)
            notifications += 1
            if message.get("method") == "workspace/filesChanged":
                files_notifications += 1
            else:
                git_notifications += 1
                last_git = message["params"]["changes"]
                if sum(1 for c in last_git if c["path"].startswith("burst/")) == options.burst:
                    break
        settled_s = time.monotonic() - t0
        while not bridge.quiet(0.5):
            bridge.read()
            notifications += 1
        asked = bridge.send("gitChanges")
        answer = bridge.read()
        assert answer.get("id") == asked, answer
        right = answer["result"] == last_git
        bridge.close()
        shutil.rmtree(burst_dir, ignore_errors=True)

        print("binary: %s, %d files (%d modified), debounce %s ms"
              % (binary, options.files, modified, options.debounce_ms or 50))
        print("git status --porcelain -uall: %.1f ms (median of 5); subscribe + first gitChanged: %.1f ms"
              % (status_ms, subscribe_ms))
        print("gitChanges asked while watched, one file modified since: median %.1f ms, p90 %.1f ms over %d"
              " (%.3fx git status); not watched: %.1f ms (%.2fx)"
              % (statistics.median(asked_ms), percentile(asked_ms, 0.9), options.asked,
                 statistics.median(asked_ms) / status_ms, unwatched_ms, unwatched_ms / status_ms))
        print("write -> filesChanged over %d writes: median %.1f ms, p99 %.1f ms"
              % (options.writes, statistics.median(files_latency), percentile(files_latency, 0.99)))
        print("write -> gitChanged   over %d writes: median %.1f ms, p99 %.1f ms (%.2fx git status)"
              % (options.writes, statistics.median(git_latency), percentile(git_latency, 0.99),
                 statistics.median(git_latency) / status_ms))
        print("idle CPU over %.0f s: %.3f s" % (options.idle, cpu_idle))
        print("burst of %d creations (%.1f s to write): %d notifications (%d filesChanged, %d gitChanged), "
              "settled %.1f s after the start, last gitChanged %s gitChanges"
              % (options.burst, created_s, notifications, files_notifications, git_notifications, settled_s,
                 "==" if right else "!="))
        return 0 if right else 1
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
