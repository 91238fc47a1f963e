#!/usr/bin/env python3
"""Benchmarks for zipDirectory, listFiles and selectFile through every door a
client uses, each as a ratio to a reference measured in the same run:

  stdio   one long `agent-bridge` session, as an editor keeps it: the request
          is written, the raw reply read (not parsed)
  HTTP    `agent-bridge serve`, as a browser asks it: curl, body to /dev/null
  call    `agent-bridge call`, a process per request, output to /dev/null

  zipDirectory  ~120 MB of source-like text in ~6,000 files
                vs `zip -q -r -6`         targets: <= 0.5x through every door, size <= 1.05x,
                                                   peak RSS <= 64 MiB (call)
                (stdio and call write a destination file; HTTP streams the archive)
  listFiles     recursive, 20,000-file git repository
                vs `git ls-files -co --exclude-standard`   target: <= 1.5x (stdio)
  selectFile    a 10 MB text file, and a 10.8 MB one with a tab, a quote and a
                backslash on every line (escape-heavy)
                vs `cat` of the file through a pipe        target: >= 400 MB/s (stdio, HTTP)
  start-up      fork/exec to the first byte of the reply: `initialize` written to
                a fresh stdio process's stdin, and `call health`; the median of
                51 starts (bench/startup/first-byte.c), best of the rounds
                vs `cat` handed the same request           target: <= 15 ms (stdio, call)
                (AGENT_BRIDGE_DYNAMIC names a build linked to the shared Swift
                runtime, for a second row)

The contenders alternate within each round, so a change in machine load hits
all of them; each figure is the best of the rounds. One table at the end.

Usage: python3 bench/run.py [--quick] [--no-build] [--only zip|list|select|startup]
  --quick     a tenth of the sizes, one round (while iterating)
  --only      run one benchmark (while working on it)
Trees are generated deterministically under bench/out/ (git-ignored) and
reused between runs.
"""
import json, os, random, re, shutil, statistics, subprocess, sys, time, urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
OUT = os.path.join(HERE, "out")
QUICK = "--quick" in sys.argv
SCALE = 10 if QUICK else 1
REPEAT = 1 if QUICK else 3
ROWS = []  # the table: (benchmark, reference, best seconds by door, note, passed)
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
    """Wall time and stdout of one child process."""
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = process.communicate(stdin)
    elapsed = time.perf_counter() - start
    if process.returncode != 0:
        raise SystemExit(f"{command[0]} failed: {err.decode()[:500]}")
    return elapsed, out


def measure(command, cwd=None):
    """Wall seconds, peak RSS (KiB) and CPU seconds (user + system) of one
    run with its output to /dev/null, via wait4."""
    start = time.perf_counter()
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
    elapsed = time.perf_counter() - start
    if status != 0:
        raise SystemExit(f"{command} exited {status}")
    return elapsed, usage.ru_maxrss, usage.ru_utime + usage.ru_stime


class Stdio:
    """One long stdio session. Replies are read raw: a reply is one line
    (the bridge never writes a raw newline inside one), so it is complete
    when a read ends with a newline."""

    def __init__(self, workspace):
        self.process = subprocess.Popen([BRIDGE, "--workspace", workspace], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, bufsize=0)
        self.ident = 0
        self.request("health", {})

    def request(self, method, params):
        """Seconds from writing the request to the last byte of its reply."""
        self.ident += 1
        line = (json.dumps({"jsonrpc": "2.0", "id": self.ident, "method": method, "params": params}) + "\n").encode()
        fd = self.process.stdout.fileno()
        start = time.perf_counter()
        self.process.stdin.write(line)
        first = os.read(fd, 1 << 20)
        chunk = first
        while not chunk.endswith(b"\n"):
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                raise SystemExit(f"{method}: the session ended")
        elapsed = time.perf_counter() - start
        if not first.startswith(b'{"jsonrpc":"2.0","id":%d,"result":' % self.ident):
            raise SystemExit(f"{method} failed: {first[:300]}")
        return elapsed

    def close(self):
        self.process.stdin.close()
        self.process.wait()


class Serve:
    """`agent-bridge serve` on a free port; requests through curl, whose own
    timer (connect to last byte) is the figure."""

    def __init__(self, workspace):
        self.log = os.path.join(OUT, "serve.log")
        self.process = subprocess.Popen([BRIDGE, "serve", "--workspace", workspace, "--port", "0"],
                                        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                        stderr=open(self.log, "w"))
        deadline = time.time() + 20
        text = ""
        while time.time() < deadline:
            text = open(self.log).read()
            if "docs: http" in text:
                break
            time.sleep(0.05)
        port = re.search(r"docs: http://[^ ]*:(\d+)/docs", text)
        conversation = re.search(r"\(conversation ([0-9a-f]+)\)", text)
        if not port or not conversation:
            raise SystemExit(f"serve did not start: {text[:500]}")
        self.base = f"http://127.0.0.1:{port.group(1)}/api/conversations/{conversation.group(1)}/"

    def get(self, route, query):
        url = self.base + route + ("?" + urllib.parse.urlencode(query) if query else "")
        out = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code} %{time_total}", url],
                             check=True, capture_output=True, text=True).stdout.split()
        if out[0] != "200":
            raise SystemExit(f"GET {route} answered {out[0]}")
        return float(out[1])

    def close(self):
        self.process.terminate()
        self.process.wait()


def call(workspace, method, params):
    return measure([BRIDGE, "call", "--workspace", workspace, method, json.dumps(params)])[0]


def doors(workspace, reference, stdio, http, call_door, rounds=REPEAT, warm=1):
    """Best seconds of the reference and of each door over `rounds` rounds,
    the contenders alternating within each round (after `warm` unmeasured
    rounds). The stdio session and the server stay up across rounds."""
    session, server = Stdio(workspace), Serve(workspace)
    contenders = [("reference", reference), ("stdio", lambda: stdio(session)), ("HTTP", lambda: http(server)),
                  ("call", call_door)]
    times = {name: [] for name, _ in contenders}
    try:
        for index in range(warm + rounds):
            for name, run in contenders:
                elapsed = run()
                if index >= warm:
                    times[name].append(elapsed)
    finally:
        session.close()
        server.close()
    return {name: min(values) for name, values in times.items()}


def bench_zip():
    tree = os.path.join(OUT, "zip-tree" + ("-quick" if QUICK else ""))
    files = 6000 // SCALE
    make_zip_tree(tree, 120_000_000 // SCALE, files)
    total = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(tree) for f in fs)
    count = sum(len(fs) for _, _, fs in os.walk(tree))
    ref = os.path.join(OUT, "ref.zip")
    ours = os.path.join(OUT, "ours.zip")
    rm = lambda p: os.path.exists(p) and os.remove(p)
    # Warm the page cache so that every contender reads from memory.
    timed(["tar", "cf", "/dev/null", "."], cwd=tree)

    def reference():
        rm(ref)  # zip -r into an existing archive would only update it
        return measure(["/usr/bin/zip", "-q", "-r", "-6", ref, "."], cwd=tree)[0]

    def stdio(session):
        rm(ours)
        return session.request("zipDirectory", {"destination": ours})

    def through_call():
        rm(ours)
        return call(tree, "zipDirectory", {"destination": ours})

    best = doors(tree, reference, stdio, lambda server: server.get("zip-directory", {}), through_call)
    rm(ours)
    _, rss, cpu_ours = measure([BRIDGE, "call", "--workspace", tree, "zipDirectory", json.dumps({"destination": ours})])
    rm(ref)
    _, _, cpu_zip = measure(["/usr/bin/zip", "-q", "-r", "-6", ref, "."], cwd=tree)
    t_zf = None
    if os.path.exists(ZIPFOUNDATION):
        zf = os.path.join(OUT, "zf.zip")
        rm(zf)
        t_zf = measure([ZIPFOUNDATION, tree, zf])[0]
        rm(zf)
    s_zip, s_ours = os.path.getsize(ref), os.path.getsize(ours)
    subprocess.run(["unzip", "-tq", ours], check=True, stdout=subprocess.DEVNULL)
    worst = max(best[d] for d in ("stdio", "HTTP", "call")) / best["reference"]
    ok = worst <= 0.5 and s_ours / s_zip <= 1.05 and rss <= 64 * 1024
    note = (f"size {s_ours / s_zip:.3f}x ({s_ours / 1e6:.1f} MB), peak RSS {rss / 1024:.1f} MiB, "
            f"CPU {cpu_ours:.2f} s vs zip's {cpu_zip:.2f} s"
            + (f"; ZIPFoundation {t_zf:.2f} s" if t_zf else ""))
    ROWS.append((f"zipDirectory, {total / 1e6:.1f} MB in {count:,} files", "`zip -q -r -6`", best, note, ok))
    rm(ref)
    rm(ours)
    return ok


def bench_list():
    repo = os.path.join(OUT, "repo" + ("-quick" if QUICK else ""))
    make_repo(repo, 20000 // SCALE)
    git = ["/usr/bin/git", "ls-files", "-co", "--exclude-standard"]
    n_git = len(timed(git, cwd=repo)[1].splitlines())
    n_ours = len(json.loads(timed([BRIDGE, "call", "--workspace", repo, "listFiles", '{"recursive":true}'])[1]))
    params = {"recursive": True}
    best = doors(repo, lambda: measure(git, cwd=repo)[0], lambda session: session.request("listFiles", params),
                 lambda server: server.get("list-files", {"recursive": "true"}),
                 lambda: call(repo, "listFiles", params), rounds=REPEAT * 5)
    ok = best["stdio"] / best["reference"] <= 1.5 and n_ours == n_git
    ROWS.append((f"listFiles recursive, {n_ours:,}-file repository", "`git ls-files -co --exclude-standard`", best,
                 f"{n_ours} files listed, git lists {n_git}", ok))
    return ok


def make_escape_heavy(path, size):
    """Text with a tab, a quote and a backslash on every line."""
    if os.path.exists(path) and os.path.getsize(path) >= size:
        return
    rng = random.Random(5)
    vocab = words(rng, 2000)
    chunks, length = [], 0
    while length < size:
        line = ("\t" * rng.randint(1, 3) + " ".join(rng.choice(vocab) for _ in range(rng.randint(3, 10)))
                + f' = "{rng.choice(vocab)}\\n" // {rng.choice(vocab)}\n')
        chunks.append(line)
        length += len(line)
    with open(path, "w") as f:
        f.write("".join(chunks))


def bench_select():
    workspace = os.path.join(OUT, "text")
    os.makedirs(workspace, exist_ok=True)
    make_text(os.path.join(workspace, "big.txt"), 10_000_000 // SCALE)
    make_escape_heavy(os.path.join(workspace, "escapes.txt"), 10_800_000 // SCALE)
    ok = True
    for name, label in (("big.txt", "text"), ("escapes.txt", "escape-heavy text")):
        path = os.path.join(workspace, name)
        size = os.path.getsize(path)

        def reference():
            start = time.perf_counter()
            with subprocess.Popen(["cat", path], stdout=subprocess.PIPE) as process:
                while process.stdout.read1(1 << 20):
                    pass
            return time.perf_counter() - start

        params = {"file": name}
        best = doors(workspace, reference, lambda session: session.request("selectFile", params),
                     lambda server: server.get("select-file", params), lambda: call(workspace, "selectFile", params),
                     rounds=REPEAT * 3)
        rates = {door: size / best[door] / 1e6 for door in ("stdio", "HTTP", "call")}
        passed = rates["stdio"] >= 400 and rates["HTTP"] >= 400
        ok = ok and passed
        ROWS.append((f"selectFile, {size / 1e6:.1f} MB of {label}", "`cat` through a pipe", best,
                     "MB/s: " + ", ".join(f"{door} {rate:.0f}" for door, rate in rates.items()), passed))
    return ok


def bench_startup():
    harness = os.path.join(OUT, "first-byte")
    subprocess.run(["cc", "-O2", "-o", harness, os.path.join(HERE, "startup", "first-byte.c")], check=True)
    workspace = os.path.join(OUT, "startup-workspace")
    os.makedirs(workspace, exist_ok=True)
    starts = 11 if QUICK else 51
    request = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {}}) + "\n"

    def first_byte(command, stdin):
        """Median seconds to the first reply byte, and median CPU seconds."""
        # In the workspace: editors spawn a bare `agent-bridge` there.
        out = subprocess.run([harness, str(starts), stdin] + command, check=True, capture_output=True,
                             text=True, cwd=workspace).stdout.split()
        return float(out[0]) / 1000, float(out[3]) / 1000

    builds = [("static Swift runtime", BRIDGE)]
    if os.environ.get("AGENT_BRIDGE_DYNAMIC"):
        builds.append(("shared Swift runtime", os.environ["AGENT_BRIDGE_DYNAMIC"]))
    ok = True
    for label, bridge in builds:
        # stdio as editors spawn it (no arguments), and as a script naming
        # the workspace, which goes through the argument parser.
        contenders = [("reference", ["cat"], request), ("stdio", [bridge], request),
                      ("stdio --workspace", [bridge, "--workspace", workspace], request),
                      ("call", [bridge, "call", "--workspace", workspace, "health"], "")]
        times = {name: [] for name, _, _ in contenders}
        for _ in range(REPEAT):
            for name, command, stdin in contenders:
                times[name].append(first_byte(command, stdin))
        best = {name: min(t for t, _ in values) for name, values in times.items()}
        best["HTTP"] = None
        cpu = {name: min(c for _, c in values) for name, values in times.items()}
        passed = best["stdio"] <= 0.015 and best["call"] <= 0.015
        ok = ok and passed
        named = best.pop("stdio --workspace")
        ROWS.append((f"start-up to the first reply byte, {label}", "`cat`", best,
                     f"median of {starts} starts; stdio --workspace {named * 1000:.1f} ms; CPU to exit: "
                     f"stdio {cpu['stdio'] * 1000:.1f} ms, stdio --workspace {cpu['stdio --workspace'] * 1000:.1f} ms, "
                     f"call {cpu['call'] * 1000:.1f} ms", passed))
    return ok


def seconds(value):
    return f"{value:.2f} s" if value >= 1 else f"{value * 1000:.1f} ms"


def print_table():
    print()
    print(f"{subprocess.run([BRIDGE, '--version'], capture_output=True, text=True).stdout.strip()}, "
          f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; best of {REPEAT} rounds"
          + (" (--quick)" if QUICK else ""))
    print()
    print("| benchmark | reference | stdio session | HTTP (`serve`) | `call` | |")
    print("|---|---|---|---|---|---|")
    for name, reference, best, note, ok in ROWS:
        ref = best["reference"]
        cells = [f"{seconds(best[d])}, {best[d] / ref:.2f}x" if best[d] is not None else "-"
                 for d in ("stdio", "HTTP", "call")]
        print(f"| {name} | {reference} {seconds(ref)} | " + " | ".join(cells) + f" | {'PASS' if ok else 'FAIL'}: {note} |")


def main():
    os.makedirs(OUT, exist_ok=True)
    if "--no-build" not in sys.argv:
        build()
    benches = {"zip": bench_zip, "list": bench_list, "select": bench_select, "startup": bench_startup}
    only = sys.argv[sys.argv.index("--only") + 1] if "--only" in sys.argv else None
    if only is not None and only not in benches:
        raise SystemExit(f"--only takes one of {', '.join(benches)}")
    results = [run() for name, run in benches.items() if only in (None, name)]
    print_table()
    sys.exit(0 if all(results) else 1)


if __name__ == "__main__":
    main()
