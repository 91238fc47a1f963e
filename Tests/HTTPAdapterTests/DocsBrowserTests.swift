import Foundation
import HTTPAdapter
import JSONRPC
import Testing

/// The docs page in a real browser: headless Chromium loads /docs, the page
/// reads /openapi.json, a call is filled in and sent by clicking Send, and
/// its status and body appear in the DOM. A screenshot and the final DOM
/// are left in the test output directory for a person to look at.
@Suite struct DocsBrowserTests {
  @Test func docsPageRunsACallInHeadlessChromium() async throws {
    guard let chromium = which("chromium") ?? which("chromium-browser") else {
      print("SKIPPED docsPageRunsACallInHeadlessChromium: chromium is not installed (apt-get install chromium)")
      return
    }
    let python = try #require(which("python3"), "python3 drives Chromium over its DevTools pipe")
    let workspace = try TemporaryDirectory.make("docs-ws")
    try "Hello from the workspace ✓\n".write(toFile: workspace + "/hello.txt", atomically: true, encoding: .utf8)
    try await withServer(workspace: workspace) { server in
      let output = try TestOutput.directory("HTTPAdapterTests")
      let script = try TemporaryDirectory.make("cdp") + "/drive_docs.py"
      try Self.driver.write(toFile: script, atomically: true, encoding: .utf8)

      let plan: JSONValue = [
        "url": .string("http://127.0.0.1:\(server.port)/docs"),
        "operation": "selectFile",
        "fill": ["file": "hello.txt"],
        "screenshot": .string(output + "/docs-page.png"),
        "dom": .string(output + "/docs-page.html"),
      ]
      let (status, text) = try await RawHTTP.onThread {
        try runProcess(python, [script, chromium, JSONWriter.string(plan)])
      }
      #expect(status == 0, "driver: \(text)")
      let lastLine = text.split(separator: "\n").last.map(String.init) ?? ""
      let result = try #require(try? JSONParser.parse(lastLine), "driver said: \(text)")
      // The call's outcome as the page shows it.
      #expect(result["status"]?.stringValue?.hasPrefix("200") == true, "\(result)")
      // The page pretty-prints the JSON body it received.
      #expect(result["body"].flatMap { try? JSONParser.parse($0.stringValue ?? "") } == ["code": "Hello from the workspace ✓\n"])
      // The page found the default conversation on its own.
      #expect(result["conversation"] == .string(server.conversationId))
      // Every operation of the OpenAPI document got a form (but the event
      // stream, which the Changes panel reads).
      #expect(result["operations"]?.intValue == Int64(RESTMapping.endpoints.count + 5))
      let png = try Data(contentsOf: URL(fileURLWithPath: output + "/docs-page.png"))
      #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47]))
      #expect(png.count > 10_000)
    }
  }

  /// The Changes panel, fed by the events stream: a file written in the
  /// workspace shows in it within a second.
  @Test func changesPanelShowsAWriteWithinASecond() async throws {
    guard let chromium = which("chromium") ?? which("chromium-browser") else {
      print("SKIPPED changesPanelShowsAWriteWithinASecond: chromium is not installed (apt-get install chromium)")
      return
    }
    let python = try #require(which("python3"), "python3 drives Chromium over its DevTools pipe")
    let workspace = try WorkspaceRouteTests.repository()
    try await withServer(workspace: workspace) { server in
      let output = try TestOutput.directory("HTTPAdapterTests")
      let script = try TemporaryDirectory.make("cdp") + "/drive_docs.py"
      try Self.driver.write(toFile: script, atomically: true, encoding: .utf8)
      let plan: JSONValue = [
        "url": .string("http://127.0.0.1:\(server.port)/docs"),
        "changes": ["write": .string(workspace + "/from-the-driver.txt"), "name": "from-the-driver.txt"],
        "screenshot": .string(output + "/docs-changes.png"),
      ]
      let (status, text) = try await RawHTTP.onThread {
        try runProcess(python, [script, chromium, JSONWriter.string(plan)])
      }
      #expect(status == 0, "driver: \(text)")
      let result = try #require(try? JSONParser.parse(text.split(separator: "\n").last.map(String.init) ?? ""), "\(text)")
      #expect(result["git"]?.stringValue?.contains("A from-the-driver.txt") == true, "\(result)")
      #expect(result["git"]?.stringValue?.contains("M a.txt") == true, "\(result)")
      #expect(result["files"]?.stringValue?.contains("created from-the-driver.txt") == true, "\(result)")
      let seconds = try #require(result["seconds"]?.doubleValue)
      #expect(seconds < 1.0, "shown after \(seconds) s")
    }
  }

  /// A POST from the page (it sends the server's own Origin and
  /// `application/json`) still works; the same POST from a foreign page,
  /// and an image pointing at a working path, are refused.
  @Test func docsPagePostsAndForeignPagesAreRefused() async throws {
    guard let chromium = which("chromium") ?? which("chromium-browser") else {
      print("SKIPPED docsPagePostsAndForeignPagesAreRefused: chromium is not installed (apt-get install chromium)")
      return
    }
    let python = try #require(which("python3"), "python3 drives Chromium over its DevTools pipe")
    try await withServer { server in
      let output = try TestOutput.directory("HTTPAdapterTests")
      let script = try TemporaryDirectory.make("cdp") + "/drive_docs.py"
      try Self.driver.write(toFile: script, atomically: true, encoding: .utf8)
      let records = server.dispatcher.options.stateDirectory! + "/feedback.jsonl"
      func lines() -> Int {
        ((try? String(contentsOfFile: records, encoding: .utf8)) ?? "").split(separator: "\n").count
      }

      let docs: JSONValue = [
        "url": .string("http://127.0.0.1:\(server.port)/docs"),
        "operation": "submitFeedback", "fill": [:], "body": #"{"polarity": "positive", "feedback": "from the docs"}"#,
        "screenshot": .string(output + "/docs-page-post.png"), "dom": .string(output + "/docs-page-post.html"),
      ]
      let (status, text) = try await RawHTTP.onThread { try runProcess(python, [script, chromium, JSONWriter.string(docs)]) }
      #expect(status == 0, "driver: \(text)")
      let result = try #require(try? JSONParser.parse(text.split(separator: "\n").last.map(String.init) ?? ""), "\(text)")
      #expect(result["status"]?.stringValue?.hasPrefix("200") == true, "\(result)")
      #expect(lines() == 1)

      // Another origin on loopback (a second server's docs page, as
      // localhost): what a hostile local page or rebinding site would be.
      try await withServer { other in
        let base = "http://127.0.0.1:\(server.port)"
        let foreign: JSONValue = [
          "url": .string("http://localhost:\(other.port)/docs"),
          "foreign": [
            "post": .string(base + server.conversationPath("submit-feedback")),
            "body": #"{"polarity": "negative", "feedback": "forged"}"#,
            "image": .string(base + server.conversationPath("zip-directory")),
          ],
        ]
        let (foreignStatus, foreignText) = try await RawHTTP.onThread {
          try runProcess(python, [script, chromium, JSONWriter.string(foreign)])
        }
        #expect(foreignStatus == 0, "driver: \(foreignText)")
        let seen = try #require(
          try? JSONParser.parse(foreignText.split(separator: "\n").last.map(String.init) ?? ""), "\(foreignText)")
        #expect(seen["origin"] == .string("http://localhost:\(other.port)"))
        #expect(seen["image"] == "error")
        #expect(lines() == 1, "the foreign page's POST was stored")
      }
    }
  }

  /// Drives Chromium over `--remote-debugging-pipe` (fds 3 and 4, JSON
  /// messages ending in NUL) with the standard library only.
  static let driver = #"""
    import json, os, subprocess, sys, tempfile, time, base64

    chromium, plan = sys.argv[1], json.loads(sys.argv[2])
    to_child_r, to_child_w = os.pipe()
    from_child_r, from_child_w = os.pipe()

    def wire():
        # The pipes may themselves be fds 3 and 4: copy them out of the way
        # first, then into place (dup2 also clears close-on-exec).
        read_end, write_end = os.dup(to_child_r), os.dup(from_child_w)
        os.dup2(read_end, 3)
        os.dup2(write_end, 4)

    profile = tempfile.mkdtemp(prefix="docs-chromium-")
    browser = subprocess.Popen(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         "--no-first-run", "--remote-debugging-pipe", "--user-data-dir=" + profile, "about:blank"],
        preexec_fn=wire, close_fds=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(to_child_r); os.close(from_child_w)
    inbox = b""
    next_id = 0

    def send(method, params=None, session=None):
        global next_id, inbox
        next_id += 1
        message = {"id": next_id, "method": method, "params": params or {}}
        if session: message["sessionId"] = session
        os.write(to_child_w, json.dumps(message).encode() + b"\0")
        while True:
            while b"\0" not in inbox:
                chunk = os.read(from_child_r, 1 << 20)
                if not chunk: sys.exit("chromium closed the pipe")
                inbox += chunk
            raw, inbox = inbox.split(b"\0", 1)
            reply = json.loads(raw)
            if reply.get("id") == next_id:
                if "error" in reply: sys.exit(f"{method}: {reply['error']}")
                return reply["result"]

    def evaluate(session, expression):
        result = send("Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True}, session)
        if "exceptionDetails" in result: sys.exit(f"script error: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(session, expression, what, seconds=20):
        deadline = time.time() + seconds
        while time.time() < deadline:
            if evaluate(session, expression): return
            time.sleep(0.1)
        sys.exit(f"timed out waiting for {what}")

    try:
        target = send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        send("Emulation.setDeviceMetricsOverride", {"width": 1100, "height": 1300, "deviceScaleFactor": 1, "mobile": False}, session)
        send("Page.enable", {}, session)
        send("Page.navigate", {"url": plan["url"]}, session)
        wait_for(session, "document.body && document.body.dataset.ready === 'true'", "the page to read /openapi.json")
        wait_for(session, "document.querySelector('#conversation').value !== ''", "the conversation id")
        if "foreign" in plan:
            # The page loaded is of another origin; from it, try what a
            # hostile site would: a form-like POST and an image.
            outcome = evaluate(session, f"""(async () => {{
                const post = await fetch({json.dumps(plan["foreign"]["post"])}, {{ method: "POST", mode: "no-cors",
                    headers: {{ "Content-Type": "text/plain" }}, body: {json.dumps(plan["foreign"]["body"])} }})
                    .catch(error => ({{ type: "failed: " + error }}));
                const image = await new Promise(done => {{
                    const img = new Image(); img.onload = () => done("loaded"); img.onerror = () => done("error");
                    img.src = {json.dumps(plan["foreign"]["image"])};
                }});
                return {{ post: post.type, image, origin: location.origin }};
            }})()""")
            try: send("Browser.close")
            except SystemExit: pass
            print(json.dumps(outcome))
            sys.exit(0)
        if "changes" in plan:
            # The Changes panel: live once the page found the conversation;
            # a file written now must show within a second.
            wait_for(session, "document.querySelector('#watch-status').textContent === 'live'", "the panel to go live")
            wait_for(session, "document.querySelector('#git-changes').textContent !== ''", "the first gitChanged")
            with open(plan["changes"]["write"], "w") as f: f.write("written by the driver\n")
            started = time.time()
            name = json.dumps(plan["changes"]["name"])
            wait_for(session, f"document.querySelector('#git-changes').textContent.includes({name})"
                     f" && document.querySelector('#file-changes').textContent.includes({name})", "the change", 5)
            outcome = evaluate(session, """(() => ({
                git: document.querySelector('#git-changes').textContent,
                files: document.querySelector('#file-changes').textContent,
            }))()""")
            outcome["seconds"] = time.time() - started
            shot = send("Page.captureScreenshot", {"format": "png"}, session)
            with open(plan["screenshot"], "wb") as f: f.write(base64.b64decode(shot["data"]))
            try: send("Browser.close")
            except SystemExit: pass
            print(json.dumps(outcome))
            sys.exit(0)
        op = plan["operation"]
        evaluate(session, f"""(() => {{
            const details = document.querySelector('#op-{op}');
            details.open = true;
            const fill = {json.dumps(plan['fill'])};
            for (const [name, value] of Object.entries(fill)) {{
                const input = details.querySelector(`input[data-name="${{name}}"]`);
                input.value = value;
            }}
            const body = {json.dumps(plan.get('body'))};
            if (body !== null) details.querySelector('textarea.json-body').value = body;
            details.scrollIntoView();
            details.querySelector('button.send').click();
        }})()""")
        wait_for(session, f"/^\\d{{3}} /.test(document.querySelector('#op-{op} .status').textContent)", "the call's status")
        outcome = evaluate(session, f"""(() => ({{
            status: document.querySelector('#op-{op} .status').textContent,
            body: document.querySelector('#op-{op} .body').textContent,
            conversation: document.querySelector('#conversation').value,
            operations: document.querySelectorAll('details[id^=op-]').length,
        }}))()""")
        shot = send("Page.captureScreenshot", {"format": "png"}, session)
        with open(plan["screenshot"], "wb") as f: f.write(base64.b64decode(shot["data"]))
        with open(plan["dom"], "w") as f: f.write(evaluate(session, "document.documentElement.outerHTML"))
        try: send("Browser.close")
        except SystemExit: pass
        print(json.dumps(outcome))
    finally:
        browser.kill() if browser.poll() is None else None
        browser.wait()
    """#
}
