#!/usr/bin/env python3
"""Soak test: one long stdio session of the release binary under mixed load.

It drives every method the server registers (read from initialize's
capabilities.methods) with realistic params, keeps many requests in flight,
sends batches, cancels requests as they run, and throws malformed frames
between them, in both framings. It fails (exit 1) if:

  - any request is left unanswered, or a reply answers nothing it sent;
  - the replies with id null (one per malformed frame) do not add up;
  - a reply says -32603 (internal error: a bug, not a client mistake);
  - stdout carries anything that is not a protocol frame;
  - memory is not flat: RSS at the end above 1.2x RSS at the middle;
  - the process dies, or does not exit 0 after shutdown + exit.

Standard library only. Usage: soak.py BINARY [--seconds N] [--concurrency N]
"""

import argparse
import collections
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time

MAX_MESSAGE_BYTES = 256 * 1024  # small, so that oversized frames are cheap to send


def rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def git(workspace, *args):
    subprocess.run(["git", "-C", workspace, *args], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)


def make_workspace(root):
    """A small git repository with text, binary and image files, committed,
    then changed, so that gitChanges and gitDiff have something to say."""
    ws = os.path.join(root, "workspace")
    os.makedirs(os.path.join(ws, "src", "deep", "er"))
    os.makedirs(os.path.join(ws, "docs"))
    os.makedirs(os.path.join(ws, "node_modules", "pkg"))
    files = {
        "README.md": "# Soak\n\nA workspace for the soak test.\n",
        "src/main.c": "int main(void) { return 0; }\n",
        "src/util.py": "def f(x):\r\n    return x + 1\r\n",
        "src/deep/er/notes.txt": "\n".join(f"line {i}" for i in range(200)) + "\n",
        "docs/guide.md": "Guide\n" * 50,
        "node_modules/pkg/index.js": "module.exports = 1\n",
        ".gitignore": "*.o\nbuild/\n",
        "src/obj.o": "ignored\n",
    }
    for name, text in files.items():
        with open(os.path.join(ws, name), "w", newline="") as f:
            f.write(text)
    with open(os.path.join(ws, "bin.dat"), "wb") as f:
        f.write(bytes(range(256)) * 8)
    with open(os.path.join(ws, "logo.png"), "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + bytes(64))
    git(ws, "init", "-q", "-b", "main")
    git(ws, "-c", "user.name=soak", "-c", "user.email=soak@example.com", "add", "-A")
    git(ws, "-c", "user.name=soak", "-c", "user.email=soak@example.com", "commit", "-q", "-m", "initial")
    with open(os.path.join(ws, "README.md"), "a") as f:
        f.write("A change.\n")
    os.remove(os.path.join(ws, "docs", "guide.md"))
    with open(os.path.join(ws, "src", "new.txt"), "w") as f:
        f.write("new file\n")
    return ws


class Session:
    def __init__(self, binary, workspace, state_dir, concurrency, stderr_path):
        self.concurrency = concurrency
        self.stderr_file = open(stderr_path, "wb")
        self.proc = subprocess.Popen(
            [binary, "stdio", "--workspace", workspace, "--state-dir", state_dir,
             "--max-message-bytes", str(MAX_MESSAGE_BYTES), "--max-inline-bytes", str(4 << 20),
             "--runtime-id", "soak-runtime", "--vscode-url", "http://localhost:8080",
             "--vscode-token", "t0k", "--web-host", "http://localhost:5173=5173"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.stderr_file, bufsize=0)
        self.lock = threading.Condition()
        self.pending = {}  # id key -> (method, cancelled)
        self.pending_batches = 0
        self.null_expected = 0
        self.null_received = 0
        self.replies = 0
        self.by_method = collections.Counter()
        self.errors = collections.Counter()  # code -> count
        self.error_samples = {}
        self.notifications = collections.Counter()
        self.problems = []
        self.cancel_outcomes = collections.Counter()
        self.next_id = 0
        self.followups = collections.deque()
        self.reader = threading.Thread(target=self.read_loop, daemon=True)
        self.reader.start()

    # -- writing

    def write(self, data):
        self.proc.stdin.write(data)

    @staticmethod
    def frame(body, framing):
        if framing == "lsp":
            return b"Content-Length: %d\r\n\r\n" % len(body) + body
        return body + b"\n"

    def new_id(self):
        self.next_id += 1
        # Both id types, so that echoing keeps the type.
        return self.next_id if self.next_id % 3 else f"s-{self.next_id}"

    def request_body(self, method, params, id):
        message = {"jsonrpc": "2.0", "id": id, "method": method}
        if params is not None:
            message["params"] = params
        return json.dumps(message, separators=(",", ":")).encode()

    def track(self, id, method, followup=None):
        with self.lock:
            self.pending[json.dumps(id)] = [method, False, followup]

    def wait_for_room(self, deadline):
        with self.lock:
            while len(self.pending) >= self.concurrency and time.time() < deadline:
                self.lock.wait(0.5)

    def send(self, method, params=None, framing=None, followup=None):
        id = self.new_id()
        self.track(id, method, followup)
        self.write(self.frame(self.request_body(method, params, id), framing or random.choice(["lsp", "ndjson"])))
        return id

    def notify(self, method, params, framing="lsp"):
        body = json.dumps({"jsonrpc": "2.0", "method": method, "params": params}, separators=(",", ":")).encode()
        self.write(self.frame(body, framing))

    def cancel(self, id):
        with self.lock:
            entry = self.pending.get(json.dumps(id))
            if entry:
                entry[1] = True
        self.notify("$/cancelRequest", {"id": id}, random.choice(["lsp", "ndjson"]))

    def send_batch(self, calls, framing):
        elements = []
        for method, params in calls:
            id = self.new_id()
            self.track(id, method)
            message = {"jsonrpc": "2.0", "id": id, "method": method}
            if params is not None:
                message["params"] = params
            elements.append(message)
        elements.insert(random.randrange(len(elements) + 1),
                        {"jsonrpc": "2.0", "method": "$/noSuchNotification", "params": {}})
        with self.lock:
            self.pending_batches += 1
        self.write(self.frame(json.dumps(elements, separators=(",", ":")).encode(), framing))

    def send_malformed(self):
        """One broken frame; each is answered by exactly one reply with id null."""
        kind = random.randrange(9)
        if kind == 0:
            data = b"Content-Length: 12\r\n\r\n{not json!!}"
        elif kind == 1:
            data = b"{\"jsonrpc\": \"2.0\", \"id\": \n"  # truncated JSON line
        elif kind == 2:
            data = self.frame(b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"x\",\"params\":{\"s\":\"\xff\xfe\"}}", "lsp")
        elif kind == 3:
            data = self.frame(b"[" * 600 + b"]" * 600, "ndjson")  # deeper than 512
        elif kind == 4:
            data = self.frame(b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"health\",\"params\":{\"pad\":\""
                              + b"x" * (MAX_MESSAGE_BYTES + 10) + b"\"}}", random.choice(["lsp", "ndjson"]))
        elif kind == 5:
            data = b"Content-Length: many\r\n\r\n"  # bad header; resync at the next message
        elif kind == 6:
            data = self.frame(b"[]", random.choice(["lsp", "ndjson"]))  # empty batch
        elif kind == 7:
            data = self.frame(b"{\"jsonrpc\":\"2.0\",\"method\":42}", "lsp")  # invalid request, no id
        else:
            data = self.frame(b"\"just a string\"", "lsp")  # not an object
        with self.lock:
            self.null_expected += 1
        self.write(data)

    # -- reading

    def read_loop(self):
        out = self.proc.stdout
        buffer = b""

        def fill():
            nonlocal buffer
            chunk = out.read(65536)
            if not chunk:
                return False
            buffer += chunk
            return True

        while True:
            while buffer[:1] in (b"\n", b"\r", b" ", b"\t"):
                buffer = buffer[1:]
            if not buffer and not fill():
                return
            if not buffer:
                continue
            if buffer[:1] in (b"{", b"["):
                while b"\n" not in buffer:
                    if not fill():
                        self.problem(f"stdout ended inside a JSON line: {buffer[:80]!r}")
                        return
                line, buffer = buffer.split(b"\n", 1)
                self.receive(line)
            elif buffer[:15].lower() == b"content-length:"[:len(buffer[:15])]:
                while b"\r\n\r\n" not in buffer:
                    if not fill():
                        self.problem(f"stdout ended inside a header: {buffer[:80]!r}")
                        return
                header, buffer = buffer.split(b"\r\n\r\n", 1)
                length = None
                for field in header.split(b"\r\n"):
                    name, _, value = field.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value.strip())
                if length is None:
                    self.problem(f"reply header without Content-Length: {header!r}")
                    return
                while len(buffer) < length:
                    if not fill():
                        self.problem("stdout ended inside a body")
                        return
                body, buffer = buffer[:length], buffer[length:]
                self.receive(body)
            else:
                self.problem(f"stray bytes on stdout: {buffer[:80]!r}")
                return

    def problem(self, text):
        with self.lock:
            if len(self.problems) < 50:
                self.problems.append(text)
            self.lock.notify_all()

    def receive(self, body):
        try:
            message = json.loads(body)
        except ValueError:
            self.problem(f"reply is not JSON: {body[:120]!r}")
            return
        with self.lock:
            if isinstance(message, list):
                self.pending_batches -= 1
                for element in message:
                    self.receive_one(element)
            else:
                self.receive_one(message)
            self.lock.notify_all()

    def receive_one(self, message):
        if not isinstance(message, dict) or message.get("jsonrpc") != "2.0":
            self.problems.append(f"not a JSON-RPC message: {str(message)[:120]}")
            return
        if "method" in message and "id" not in message:
            self.notifications[message["method"]] += 1
            return
        id = message.get("id")
        error = message.get("error")
        code = error.get("code") if isinstance(error, dict) else None
        if code is not None:
            self.errors[code] += 1
            self.error_samples.setdefault(code, error.get("message", "")[:160])
        if id is None:
            self.null_received += 1
            if code is None:
                self.problems.append(f"reply with id null and no error: {str(message)[:120]}")
            return
        entry = self.pending.pop(json.dumps(id), None)
        if entry is None:
            self.problems.append(f"reply to an id not in flight: {json.dumps(id)}")
            return
        method, cancelled, followup = entry
        if followup:
            self.followups.append(followup)
        self.replies += 1
        self.by_method[method] += 1
        if cancelled:
            self.cancel_outcomes["cancelled (-32800)" if code == -32800 else "finished first"] += 1
        elif code == -32800:
            self.problems.append(f"{method} answered -32800 without a cancel")
        if ("result" in message) == ("error" in message):
            self.problems.append(f"reply needs exactly one of result and error: {str(message)[:120]}")
        if method == "health" and message.get("result") != "OK":
            self.problems.append(f"health said {str(message)[:120]}")


def params_for(method, n, zip_dir):
    """Params for each method, several shapes each, some of them errors."""
    k = n % 4
    table = {
        "health": [None],
        "getConfig": [{}],
        "vscodeUrl": [{}],
        "webHosts": [{}],
        "listConversations": [{}],
        "rpc.discover": [None],
        "listFiles": [{}, {"path": "src"}, {"recursive": True}, {"path": "src", "recursive": True,
                                                                  "workDoneToken": f"p{n}"}],
        "selectFile": [{"file": "README.md"}, {"file": "src/util.py"}, {"file": "logo.png"},
                       {"file": "missing.txt"}, {"file": "bin.dat"}, {"file": "../outside"}],
        "zipDirectory": [{"destination": os.path.join(zip_dir, f"z{n % 8}.zip")}, {},
                         {"path": "src", "exclude": ["*.py"], "compression": "store"},
                         {"destination": os.path.join(zip_dir, f"w{n % 8}.zip"), "workDoneToken": n}],
        "gitChanges": [{}, {"ref": "HEAD"}, {"ref": "no-such-ref"}],
        "gitDiff": [{"path": "README.md"}, {"path": "src/new.txt"}, {"path": "docs/guide.md"},
                    {"path": "missing"}],
        "submitFeedback": [{"polarity": "positive", "feedback": f"soak {n}", "permissions": "private",
                            "email": "soak@example.com", "version": "1", "trajectory": [{"step": n}]},
                           {"polarity": "sideways"}],
    }
    shapes = table.get(method)
    if shapes is None:
        return {}
    return shapes[(n // 4 + k) % len(shapes)]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("binary")
    parser.add_argument("--seconds", type=float, default=600)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--out", default=None, help="directory for the server's stderr log")
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else int(time.time())
    random.seed(seed)

    root = tempfile.mkdtemp(prefix="agent-bridge-soak-")
    failed = []
    try:
        workspace = make_workspace(root)
        state_dir = os.path.join(root, "state")
        zip_dir = os.path.join(root, "zips")
        os.makedirs(zip_dir)
        out_dir = args.out or root
        os.makedirs(out_dir, exist_ok=True)
        session = Session(args.binary, workspace, state_dir, args.concurrency,
                          os.path.join(out_dir, "soak-stderr.log"))

        init_id = session.send("initialize", {"processId": os.getpid(), "clientInfo": {"name": "soak"},
                                              "rootPath": workspace, "capabilities": {}}, "lsp")
        deadline = time.time() + 30
        with session.lock:
            while json.dumps(init_id) in session.pending and time.time() < deadline:
                session.lock.wait(0.5)
        session.notify("initialized", {})
        methods = discover_methods(session, workspace)
        skip = {"initialize", "shutdown", "exit", "openConversation", "closeConversation"}
        mix = [m for m in methods if m not in skip] + ["rpc.discover"]
        print(f"soak: seed {seed}, {len(methods)} methods registered; driving: {', '.join(sorted(mix))}",
              file=sys.stderr)

        pid = session.proc.pid
        rss = {"start": rss_kib(pid)}
        peak = rss["start"]
        begin = time.time()
        end = begin + args.seconds
        middle_at = begin + args.seconds / 2
        last_report = begin
        sent = 0
        n = 0
        while time.time() < end and session.proc.poll() is None:
            session.wait_for_room(end)
            n += 1
            roll = random.random()
            with session.lock:
                followup = session.followups.popleft() if session.followups else None
            if followup:
                method, params = followup
                session.send(method, params)
            elif roll < 0.78:
                method = mix[n % len(mix)] if n % 2 else random.choice(mix)
                session.send(method, params_for(method, n, zip_dir))
            elif roll < 0.86:
                calls = []
                for _ in range(random.randint(2, 8)):
                    method = random.choice(mix)
                    calls.append((method, params_for(method, n + len(calls), zip_dir)))
                session.send_batch(calls, random.choice(["lsp", "ndjson"]))
            elif roll < 0.93:
                slow = random.choice(["zipDirectory", "listFiles", "gitChanges", "rpc.discover"])
                if slow not in mix:
                    slow = random.choice(mix)
                id = session.send(slow, params_for(slow, n, zip_dir))
                if random.random() < 0.5:
                    time.sleep(random.random() * 0.002)
                session.cancel(id)
            elif roll < 0.97:
                session.send_malformed()
            elif "openConversation" in methods and "closeConversation" in methods:
                conversation = f"soak{n:08x}"
                # Closed once it is open: the two may otherwise run in either order.
                session.send("openConversation", {"workspace": workspace, "conversationId": conversation},
                             followup=("closeConversation", {"conversationId": conversation}))
            else:
                session.send("noSuchMethod", {"n": n})
            sent += 1
            now = time.time()
            if "middle" not in rss and now >= middle_at:
                rss["middle"] = rss_kib(pid)
            if now - last_report >= 1:
                current = rss_kib(pid)
                peak = max(peak, current)
                last_report = now
                if args.seconds >= 120 and int(now - begin) % 60 == 0:
                    print(f"soak: {int(now - begin)}s, {session.replies} replies, RSS {current} KiB",
                          file=sys.stderr)
        # Let what is in flight finish, then take the end reading.
        deadline = time.time() + 60
        with session.lock:
            while (session.pending or session.pending_batches) and time.time() < deadline:
                session.lock.wait(0.5)
        rss.setdefault("middle", rss_kib(pid))
        rss["end"] = rss_kib(pid)
        peak = max(peak, rss["end"])
        elapsed = time.time() - begin

        shutdown_id = session.send("shutdown", None, "lsp")
        deadline = time.time() + 30
        with session.lock:
            while json.dumps(shutdown_id) in session.pending and time.time() < deadline:
                session.lock.wait(0.5)
        session.notify("exit", None)
        try:
            session.proc.stdin.close()
        except OSError:
            pass
        try:
            code = session.proc.wait(30)
        except subprocess.TimeoutExpired:
            session.proc.kill()
            code = "timeout"
        session.reader.join(10)

        with session.lock:
            unanswered = dict(session.pending)
            report = {
                "seconds": round(elapsed, 1),
                "messages_sent": sent,
                "requests_answered": session.replies,
                "requests_per_second": round(session.replies / max(elapsed, 0.001)),
                "by_method": dict(session.by_method.most_common()),
                "errors_by_code": {str(k): v for k, v in sorted(session.errors.items())},
                "error_examples": {str(k): v for k, v in sorted(session.error_samples.items())},
                "malformed_frames": session.null_expected,
                "null_id_replies": session.null_received,
                "cancellations": dict(session.cancel_outcomes),
                "notifications": dict(session.notifications),
                "rss_kib": {**rss, "peak": peak},
                "exit_code": code,
                "unanswered": len(unanswered),
            }
            problems = list(session.problems)
        print(json.dumps(report, indent=2))

        if code != 0:
            failed.append(f"exit code {code} after shutdown + exit (want 0)")
        if unanswered:
            sample = ", ".join(f"{k} {v[0]}" for k, v in list(unanswered.items())[:10])
            failed.append(f"{len(unanswered)} request(s) never answered: {sample}")
        if session.pending_batches:
            failed.append(f"{session.pending_batches} batch(es) never answered")
        if session.null_received != session.null_expected:
            failed.append(f"{session.null_expected} malformed frames but {session.null_received} replies with id null")
        if session.errors.get(-32603):
            failed.append(f"{session.errors[-32603]} internal error(s): {session.error_samples[-32603]}")
        if rss["end"] > 1.2 * rss["middle"]:
            failed.append(f"memory grew: RSS {rss['middle']} KiB at the middle, {rss['end']} KiB at the end (> 1.2x)")
        failed.extend(problems)
    finally:
        shutil.rmtree(root, ignore_errors=True)

    if failed:
        for line in failed:
            print(f"FAIL: {line}", file=sys.stderr)
        sys.exit(1)
    print("soak: OK", file=sys.stderr)


def discover_methods(session, workspace):
    """The registered methods, from rpc.discover (else initialize's capabilities)."""
    result = {}
    id = session.new_id()
    session.track(id, "rpc.discover")
    got = threading.Event()
    original = session.receive_one

    def capture(message):
        if message.get("id") == id and "result" in message:
            result["doc"] = message["result"]
            got.set()
        original(message)

    session.receive_one = capture
    session.write(session.frame(session.request_body("rpc.discover", None, id), "lsp"))
    got.wait(30)
    session.receive_one = original
    methods = [m.get("name") for m in result.get("doc", {}).get("methods", []) if isinstance(m, dict)]
    return [m for m in methods if m] or ["health"]


if __name__ == "__main__":
    main()
