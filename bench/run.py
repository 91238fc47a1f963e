#!/usr/bin/env python3
"""Benchmarks for listFiles, selectFile and zipDirectory, each printed as a
ratio against a reference measured in the same run:

  zipDirectory  ~120 MB of source-like text in ~6,000 files
                vs `zip -q -r -6`        targets: time <= 0.6x, size <= 1.05x, peak RSS <= 64 MiB
                (and ZIPFoundation 0.9.20, for the record)
  listFiles     recursive, 20,000-file git repository
                vs `git ls-files -co --exclude-standard`   target: <= 1.5x
                (a request to a running bridge, as an editor's quick-open sends
                it; the first request of a session and a process per request
                through `agent-bridge call` are printed too)
  selectFile    a 10 MB text file                          target: >= 200 MB/s

Usage: python3 bench/run.py [--quick] [--no-build] [--only list|select|zip]
  --quick     a tenth of the sizes, one repetition (while iterating)
  --only      run one benchmark (while working on it)
Trees are generated deterministically under bench/out/ (git-ignored) and
reused between runs.
"""
import json, os, random, shutil, statistics, subprocess, sys, time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
OUT = os.path.join(HERE, "out")
QUICK = "--quick" in sys.argv
SCALE = 10 if QUICK else 1
REPEAT = 1 if QUICK else 3
# AGENT_BRIDGE: measure another build (an earlier commit's, for a before/after).
BRIDGE = os.environ.get("AGENT_BRIDGE") or os.path.join(ROOT, ".build", "release", "agent-bridge")
ZIPFOUNDATION = os.path.join(HERE, ".build", "release", "zipfoundation-zip")


def build():
    # Built as scripts/run builds it: the static Swift runtime starts faster.
    subprocess.run(["swift", "build", "-c", "release", "--static-swift-stdlib", "--product", "agent-bridge"],
                   cwd=ROOT, check=True)
    subprocess.run(["swift", "build", "-c", "release"], cwd=HERE, check=True)


def words(rng, n):
    letters = "abcdefghijklmnopqrstuvwxyz"
    return ["".join(rng.choice(letters) for _ in range(rng.randint(3, 10))) for _ in range(n)]


def source_lines(rng, n):
    """Lines that look like code: keywords, identifiers, calls, comments."""
    vocab = words(rng, 3000)
    keywords = ["let", "var", "func", "return", "if", "else", "for", "in", "guard", "struct", "case", "switch"]
    lines = []
    for _ in range(n):
        indent = "    " * rng.randint(0, 4)
        kind = rng.random()
        a, b, c = rng.choice(vocab), rng.choice(vocab), rng.choice(vocab)
        if kind < 0.15:
            line = f"{indent}// {' '.join(rng.choice(vocab) for _ in range(rng.randint(3, 12)))}"
        elif kind < 0.45:
            line = f"{indent}{rng.choice(keywords)} {a} = {b}({c}, {rng.randint(0, 9999)})"
        elif kind < 0.65:
            line = f"{indent}{a}.{b}({c}: {rng.choice(vocab)}, {rng.choice(vocab)}: \"{rng.choice(vocab)}\")"
        elif kind < 0.8:
            line = f"{indent}{rng.choice(keywords)} {a} {{"
        elif kind < 0.9:
            line = f"{indent}}}"
        else:
            line = ""
        lines.append(line + "\n")
    return lines


def make_zip_tree(path, total_bytes, files):
    marker = os.path.join(path, ".complete")
    if os.path.exists(marker):
        return
    shutil.rmtree(path, ignore_errors=True)
    rng = random.Random(42)
    pool = source_lines(rng, 60000)
    average = total_bytes // files
    written = 0
    for index in range(files):
        directory = os.path.join(path, f"pkg{index % 40}", f"mod{index % 150}")
        os.makedirs(directory, exist_ok=True)
        size = int(average * rng.lognormvariate(0, 0.8) / 1.38)
        chunks, length = [], 0
        start = rng.randrange(len(pool))
        while length < size:
            # Runs of consecutive pool lines with jumps: local structure, little
            # cross-file repetition within deflate's 32 KiB window.
            if rng.random() < 0.1:
                start = rng.randrange(len(pool))
            line = pool[start % len(pool)]
            start += 1
            chunks.append(line)
            length += len(line)
        with open(os.path.join(directory, f"file{index}.swift"), "w") as f:
            f.write("".join(chunks))
        written += length
    open(marker, "w").close()
    return written


def make_repo(path, files):
    marker = os.path.join(path, ".git", "bench-complete")
    if os.path.exists(marker):
        return
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)
    rng = random.Random(7)
    vocab = words(rng, 500)
    tracked = files - files // 20
    for index in range(files):
        directory = os.path.join(path, f"d{index % 50}", f"e{index % 400}")
        os.makedirs(directory, exist_ok=True)
        name = f"f{index}.txt" if index < tracked else f"u{index}.txt"
        with open(os.path.join(directory, name), "w") as f:
            f.write(" ".join(rng.choice(vocab) for _ in range(20)) + "\n")
    with open(os.path.join(path, ".gitignore"), "w") as f:
        f.write("build/\n*.log\n")
    os.makedirs(os.path.join(path, "build"), exist_ok=True)
    for index in range(500):
        open(os.path.join(path, "build", f"o{index}.o"), "w").close()
        open(os.path.join(path, f"d{index % 50}", f"x{index}.log"), "w").close()
    git = ["git", "-c", "init.defaultBranch=main"]
    subprocess.run(git + ["init", "-q"], cwd=path, check=True)
    # Track the f* files; the u* files stay untracked (and listed).
    subprocess.run("git ls-files -o --exclude-standard | grep '/f[0-9]*\\.txt$' | git update-index --add --stdin",
                   shell=True, cwd=path, check=True)
    open(marker, "w").close()


def make_text(path, size):
    if os.path.exists(path) and os.path.getsize(path) >= size:
        return
    rng = random.Random(3)
    pool = source_lines(rng, 20000)
    with open(path, "w") as f:
        length = 0
        while length < size:
            line = rng.choice(pool)
            f.write(line)
            length += len(line)


def timed(command, cwd=None, stdin=None):
    """Wall time and peak RSS (KiB) of one child process."""
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = process.communicate(stdin)
    elapsed = time.perf_counter() - start
    # communicate() reaped it; read its rusage via wait4 on a fresh run is not
    # possible, so peak RSS comes from measure_rss below.
    if process.returncode != 0:
        raise SystemExit(f"{command[0]} failed: {err.decode()[:500]}")
    return elapsed, out


def measure_rss(command, cwd=None):
    """Peak RSS (KiB) of one run, via wait4."""
    return measure(command, cwd)[0]


def measure(command, cwd=None):
    """Peak RSS (KiB) and CPU seconds (user + system) of one run, via wait4."""
    pid = os.fork()
    if pid == 0:
        try:
            if cwd:
                os.chdir(cwd)
            devnull = os.open(os.devnull, os.O_RDWR)
            os.dup2(devnull, 0)
            os.dup2(devnull, 1)
            os.execv(command[0], command)
        finally:
            os._exit(127)
    _, status, usage = os.wait4(pid, 0)
    if status != 0:
        raise SystemExit(f"{command} exited {status}")
    return usage.ru_maxrss, usage.ru_utime + usage.ru_stime


def best(command, cwd=None, repeat=REPEAT, before=None):
    times = []
    for _ in range(repeat):
        if before:
            before()
        elapsed, _ = timed(command, cwd)
        times.append(elapsed)
    return min(times)


def bench_zip():
    tree = os.path.join(OUT, "zip-tree" + ("-quick" if QUICK else ""))
    files = 6000 // SCALE
    make_zip_tree(tree, 120_000_000 // SCALE, files)
    total = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(tree) for f in fs)
    count = sum(len(fs) for _, _, fs in os.walk(tree))
    ref = os.path.join(OUT, "ref.zip")
    ours = os.path.join(OUT, "ours.zip")
    zf = os.path.join(OUT, "zf.zip")
    rm = lambda p: (lambda: os.path.exists(p) and os.remove(p))
    # Warm the page cache so that every contender reads from memory.
    timed(["tar", "cf", "/dev/null", "."], cwd=tree)
    t_zip = best(["zip", "-q", "-r", "-6", ref, "."], cwd=tree, before=rm(ref))
    params = json.dumps({"destination": ours})
    t_ours = best([BRIDGE, "call", "--workspace", tree, "zipDirectory", params], before=rm(ours))
    rss, cpu_ours = measure([BRIDGE, "call", "--workspace", tree, "zipDirectory", params])
    rm(ref)()  # zip -r into an existing archive would only update it
    _, cpu_zip = measure(["/usr/bin/zip", "-q", "-r", "-6", ref, "."], cwd=tree)
    t_zf = best([ZIPFOUNDATION, tree, zf], before=rm(zf)) if os.path.exists(ZIPFOUNDATION) else None
    s_zip, s_ours = os.path.getsize(ref), os.path.getsize(ours)
    subprocess.run(["unzip", "-tq", ours], check=True, stdout=subprocess.DEVNULL)
    print(f"zipDirectory: {count} files, {total / 1e6:.1f} MB of text")
    print(f"  zip -q -r -6      {t_zip:7.3f} s   {s_zip / 1e6:7.2f} MB")
    print(f"  agent-bridge      {t_ours:7.3f} s   {s_ours / 1e6:7.2f} MB   peak RSS {rss / 1024:.1f} MiB")
    if t_zf is not None:
        s_zf = os.path.getsize(zf)
        print(f"  ZIPFoundation     {t_zf:7.3f} s   {s_zf / 1e6:7.2f} MB   ({t_zf / t_ours:.2f}x agent-bridge's time)")
    ok = t_ours / t_zip <= 0.6 and s_ours / s_zip <= 1.05 and rss <= 64 * 1024
    print(f"  CPU seconds: zip {cpu_zip:.2f}, agent-bridge {cpu_ours:.2f} (both cores; load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores while measuring)")
    print(f"  ratio time {t_ours / t_zip:.2f}x (<= 0.6), size {s_ours / s_zip:.3f}x (<= 1.05), "
          f"RSS {rss / 1024:.1f} MiB (<= 64)  {'PASS' if ok else 'FAIL'}")
    for p in (ref, ours, zf):
        rm(p)()
    return ok


def stdio_session(workspace, requests):
    lines = "".join(json.dumps({"jsonrpc": "2.0", "id": i + 1, "method": m, "params": p}) + "\n"
                    for i, (m, p) in enumerate(requests))
    elapsed, out = timed([BRIDGE, "--workspace", workspace], stdin=lines.encode())
    return elapsed, out


def per_request(workspace, method, params, count):
    """Seconds per request inside one stdio session (start-up subtracted)."""
    warm = [("health", {})]
    base = min(stdio_session(workspace, warm)[0] for _ in range(3))
    full = min(stdio_session(workspace, warm + [(method, params)] * count)[0] for _ in range(REPEAT))
    return (full - base) / count


def session_latency(workspace, method, params, count):
    """Round trip of each request sent one at a time to one running bridge
    (what an editor's quick-open waits for): the first one, which opens the
    repository and reads its index, and the median of the `count` after it."""
    process = subprocess.Popen([BRIDGE, "--workspace", workspace], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    def round_trip(ident, method, params):
        line = json.dumps({"jsonrpc": "2.0", "id": ident, "method": method, "params": params}) + "\n"
        start = time.perf_counter()
        process.stdin.write(line.encode())
        process.stdin.flush()
        reply = process.stdout.readline()
        elapsed = time.perf_counter() - start
        # Checked, not parsed: parsing 400 KB in Python would be timed too.
        if not reply.startswith(b'{"jsonrpc":"2.0","id":%d,"result":' % ident):
            raise SystemExit(f"{method} failed: {reply[:300]}")
        return elapsed
    round_trip(0, "health", {})
    times = [round_trip(i + 1, method, params) for i in range(count + 1)]
    process.stdin.close()
    process.wait()
    return times[0], statistics.median(times[1:])


def bench_list():
    repo = os.path.join(OUT, "repo" + ("-quick" if QUICK else ""))
    make_repo(repo, 20000 // SCALE)
    runs = 15
    git = ["git", "ls-files", "-co", "--exclude-standard"]
    ours = [BRIDGE, "call", "--workspace", repo, "listFiles", '{"recursive":true}']
    _, git_out = timed(git, cwd=repo)
    _, our_out = timed(ours)
    # Alternate the contenders so that a change in machine load hits both.
    t_git, t_ours, firsts, warms = [], [], [], []
    for _ in range(runs):
        t_git.append(timed(git, cwd=repo)[0])
        t_ours.append(timed(ours)[0])
    for _ in range(REPEAT):
        first, warm = session_latency(repo, "listFiles", {"recursive": True}, 10)
        firsts.append(first)
        warms.append(warm)
        t_git.append(timed(git, cwd=repo)[0])
    t_git = statistics.median(t_git)
    t_ours = statistics.median(t_ours)
    first, warm = statistics.median(firsts), statistics.median(warms)
    n_git = len(git_out.splitlines())
    n_ours = len(json.loads(our_out))
    print(f"listFiles recursive: {n_ours} files listed (git lists {n_git})")
    print(f"  git ls-files -co --exclude-standard       {t_git * 1000:6.1f} ms per process")
    print(f"  agent-bridge, request to a running bridge {warm * 1000:6.1f} ms  ({warm / t_git:.2f}x)")
    print(f"    its first request (opens the repository) {first * 1000:5.1f} ms  ({first / t_git:.2f}x)")
    print(f"  agent-bridge call (a process per request) {t_ours * 1000:6.1f} ms  ({t_ours / t_git:.2f}x)")
    ok = warm / t_git <= 1.5
    print(f"  ratio {warm / t_git:.2f}x per request (<= 1.5)  {'PASS' if ok else 'FAIL'}")
    return ok


def bench_select():
    workspace = os.path.join(OUT, "text")
    os.makedirs(workspace, exist_ok=True)
    size = 10_000_000
    make_text(os.path.join(workspace, "big.txt"), size)
    real = os.path.getsize(os.path.join(workspace, "big.txt"))
    seconds = per_request(workspace, "selectFile", {"file": "big.txt"}, 10)
    rate = real / seconds / 1e6
    ok = rate >= 200
    print(f"selectFile: {real / 1e6:.1f} MB text file, {seconds * 1000:.1f} ms per request (reply written), "
          f"{rate:.0f} MB/s (>= 200)  {'PASS' if ok else 'FAIL'}")
    return ok


def main():
    os.makedirs(OUT, exist_ok=True)
    if "--no-build" not in sys.argv:
        build()
    benches = {"select": bench_select, "list": bench_list, "zip": bench_zip}
    only = sys.argv[sys.argv.index("--only") + 1] if "--only" in sys.argv else None
    if only is not None and only not in benches:
        raise SystemExit(f"--only takes one of {', '.join(benches)}")
    results = [run() for name, run in benches.items() if only in (None, name)]
    sys.exit(0 if all(results) else 1)


if __name__ == "__main__":
    main()
