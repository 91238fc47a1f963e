#if canImport(Glibc)
import Glibc
#endif
import Foundation
import JSONRPC
import Testing

/// The per-conversation REST paths over real files, answered in-process
/// (`withRouter`): statuses and bodies as the contract's error table says.
@Suite struct WorkspaceRouteTests {
  /// a.txt, dir/b.txt, "a b.txt", ünï.txt, a link out of the workspace.
  static func workspace() throws -> String {
    let root = try TemporaryDirectory.make("rest-ws")
    try "hello\r\nworld\n".write(toFile: root + "/a.txt", atomically: true, encoding: .utf8)
    try FileManager.default.createDirectory(atPath: root + "/dir", withIntermediateDirectories: true)
    try "inside\n".write(toFile: root + "/dir/b.txt", atomically: true, encoding: .utf8)
    try "spaced\n".write(toFile: root + "/a b.txt", atomically: true, encoding: .utf8)
    try "héllo ✓\n".write(toFile: root + "/ünï.txt", atomically: true, encoding: .utf8)
    try FileManager.default.createSymbolicLink(atPath: root + "/escape", withDestinationPath: "/etc/passwd")
    return root
  }

  /// The same tree as a git repository with one commit, then a.txt changed.
  static func repository() throws -> String {
    let root = try workspace()
    try git(["init", "-q", "-b", "main"], in: root)
    try git(["add", "-A"], in: root)
    try git(["commit", "-q", "-m", "base"], in: root)
    try "hello\nchanged\n".write(toFile: root + "/a.txt", atomically: true, encoding: .utf8)
    return root
  }

  static func detail(_ reply: HTTPReply) -> JSONValue? { reply.json?["detail"] }

  @Test func unknownConversationIs404OnEveryConversationRoute() async throws {
    try await withRouter { server in
      let routes = ["config", "vscode-url", "web-hosts", "list-files", "select-file?file=a.txt", "git/changes",
        "git/diff?path=a.txt", "zip-directory"]
      for route in routes {
        let reply = try await server.get("/api/conversations/nope/\(route)")
        #expect(reply.status == 404, "\(route)")
        #expect(reply.text == #"{"detail":"Conversation nope not found"}"#, "\(route)")
      }
      let feedback = try await server.post("/api/conversations/nope/submit-feedback", json: #"{"polarity":"positive"}"#)
      #expect(feedback.status == 404)
      #expect(feedback.text == #"{"detail":"Conversation nope not found"}"#)
    }
  }

  // MARK: Runtime facts and feedback

  @Test func runtimeFacts() async throws {
    try await withRouter { server in
      let config = try await server.get(server.conversationPath("config"))
      #expect(config.status == 200)
      #expect(config.text == #"{"runtime_id":null,"session_id":"\#(server.conversationId)"}"#)
      #expect(try await server.get(server.conversationPath("vscode-url")).text == #"{"vscode_url":null}"#)
      #expect(try await server.get(server.conversationPath("web-hosts")).text == #"{"hosts":{}}"#)

      try await withRouter(bridge: {
        $0.runtime.runtimeId = "rt-1"
        $0.runtime.webHosts = [(url: "http://localhost:8011", port: 8011)]
      }) { (configured) async throws in
        #expect(
          try await configured.get(configured.conversationPath("config")).text
            == #"{"runtime_id":"rt-1","session_id":"\#(configured.conversationId)"}"#)
        #expect(
          try await configured.get(configured.conversationPath("web-hosts")).text
            == #"{"hosts":{"http://localhost:8011":8011}}"#)
      }
    }
  }

  @Test func submitFeedback() async throws {
    try await withRouter { server in
      let path = server.conversationPath("submit-feedback")
      let ok = try await server.post(path, json: #"{"polarity":"positive","feedback":"très bien","email":"a@b.c"}"#)
      #expect(ok.status == 200)
      #expect(ok.json?["statusCode"] == 200)
      #expect(ok.json?["body"]?["message"] == "Feedback submitted")

      let notJSON = try await server.post(path, json: "polarity=positive")
      #expect(notJSON.status == 400)
      #expect(Self.detail(notJSON)?.stringValue != nil)

      let bad = try await server.post(path, json: #"{"polarity":"sideways"}"#)
      #expect(bad.status == 422)
      #expect(Self.detail(bad)?.arrayValue?.first?["loc"]?.arrayValue?.last == "polarity")

      let empty = try await server.request("POST", path, headers: [("Content-Type", "application/json")])
      #expect(empty.status == 422)
    }
  }

  // MARK: Files

  @Test func listFiles() async throws {
    try await withRouter(workspace: try Self.workspace()) { server in
      let root = try await server.get(server.conversationPath("list-files"))
      #expect(root.status == 200)
      let names = root.json?.arrayValue?.compactMap(\.stringValue) ?? []
      #expect(names.first == "dir/")
      #expect(names.contains("a.txt"))
      #expect(names.contains("ünï.txt"))
      #expect(root.text.contains("ünï.txt"))  // raw UTF-8, not \u escapes
      let sub = try await server.get(server.conversationPath("list-files?path=dir"))
      #expect(sub.text == #"["dir/b.txt"]"#)
      let missing = try await server.get(server.conversationPath("list-files?path=nope"))
      #expect(missing.text == "[]")
    }
  }

  @Test func selectFile() async throws {
    try await withRouter(workspace: try Self.workspace()) { server in
      let text = try await server.get(server.conversationPath("select-file?file=a.txt"))
      #expect(text.status == 200)
      #expect(text.text == #"{"code":"hello\nworld\n"}"#)
      let plus = try await server.get(server.conversationPath("select-file?file=a+b.txt"))
      #expect(plus.json?["code"] == "spaced\n")
      let encoded = try await server.get(server.conversationPath("select-file?file=%C3%BCn%C3%AF.txt"))
      #expect(encoded.text == #"{"code":"héllo ✓\n"}"#)
      let nested = try await server.get(server.conversationPath("select-file?file=dir%2Fb.txt"))
      #expect(nested.json?["code"] == "inside\n")

      let missingParam = try await server.get(server.conversationPath("select-file"))
      #expect(missingParam.status == 422)
      #expect(
        missingParam.text == #"{"detail":[{"type":"missing","loc":["query","file"],"msg":"Field required","input":null}]}"#)

      let notFound = try await server.get(server.conversationPath("select-file?file=nope.txt"))
      #expect(notFound.status == 404)
      #expect(notFound.text == #"{"error":"File not found: nope.txt"}"#)

      let directory = try await server.get(server.conversationPath("select-file?file=dir"))
      #expect(directory.status == 400)
      #expect(directory.text == #"{"error":"Path is a directory: dir"}"#)
    }
  }

  /// Percent-encoded ways out of the workspace: refused before anything is
  /// read, and nothing of the target or of the server's paths in the reply.
  @Test func traversalIsRefusedWithNothingLeaked() async throws {
    let workspace = try Self.repository()
    try await withRouter(workspace: workspace) { server in
      let outside = [
        "..%2F..%2Fetc%2Fpasswd", "..%2F..%2F..%2F..%2F..%2F..%2Fetc%2Fpasswd", "%2E%2E%2F%2E%2E%2Fetc%2Fpasswd",
        "%2Fetc%2Fpasswd", "dir%2F..%2F..%2F..%2Fetc%2Fpasswd", "escape", "..", "..%2F",
      ]
      for target in outside {
        for route in ["select-file?file=", "list-files?path=", "git/diff?path=", "zip-directory?path="] {
          let reply = try await server.get(server.conversationPath(route + target))
          #expect(reply.status == 403, "\(route)\(target): \(reply.status) \(reply.text)")
          #expect(reply.json?["error"]?.stringValue?.hasPrefix("Path is outside the workspace: ") == true)
          #expect(!reply.text.contains("root:"))
          #expect(!reply.text.contains(workspace))
          #expect(reply.header("Content-Type") == "application/json")
        }
      }
      // Encodings that name odd files inside the workspace are not found, never read outside.
      for target in ["..%252F..%252Fetc%252Fpasswd", "..%5C..%5Cetc%5Cpasswd", "....%2F%2F....%2F%2Fetc%2Fpasswd"] {
        let reply = try await server.get(server.conversationPath("select-file?file=" + target))
        #expect([403, 404].contains(reply.status), "\(target): \(reply.status)")
        #expect(!reply.text.contains("root:"))
        #expect(!reply.text.contains(workspace))
      }
    }
  }
}

/// Runs the git CLI (tests only: it builds fixtures; the bridge uses libgit2).
func git(_ arguments: [String], in directory: String) throws {
  let (status, output) = try runProcess(
    which("git") ?? "/usr/bin/git",
    ["-C", directory, "-c", "user.name=Test", "-c", "user.email=test@example.com", "-c", "commit.gpgsign=false"]
      + arguments)
  guard status == 0 else { throw TestFailure("git \(arguments.joined(separator: " ")): \(output)") }
}

/// git/changes and git/diff in-process, and many clients at once over a
/// real socket.
@Suite struct GitRouteTests {
  @Test func changesAndDiff() async throws {
    let repo = try WorkspaceRouteTests.repository()
    try "new\n".write(toFile: repo + "/new.txt", atomically: true, encoding: .utf8)
    try await withRouter(workspace: repo) { server in
      let changes = try await server.get(server.conversationPath("git/changes"))
      #expect(changes.status == 200)
      #expect(changes.text == #"[{"status":"M","path":"a.txt"},{"status":"A","path":"new.txt"}]"#)
      let diff = try await server.get(server.conversationPath("git/diff?path=a.txt"))
      #expect(diff.status == 200)
      #expect(diff.json == ["modified": "hello\nchanged", "original": "hello\nworld"])
      let missing = try await server.get(server.conversationPath("git/diff"))
      #expect(missing.status == 422)
      #expect(
        missing.text == #"{"detail":[{"type":"missing","loc":["query","path"],"msg":"Field required","input":null}]}"#)
    }
  }

  @Test func notARepository() async throws {
    try await withRouter { server in
      #expect(try await server.get(server.conversationPath("git/changes")).text == "[]")
      let diff = try await server.get(server.conversationPath("git/diff?path=a.txt"))
      #expect(diff.status == 404)
      #expect(diff.text == #"{"error":"Not a git repository"}"#)
    }
  }

  /// 16 clients, each sending 20 git/changes one after another: every
  /// reply 200 with the same body.
  @Test func sixteenConcurrentClientsTimesTwenty() async throws {
    let repo = try WorkspaceRouteTests.repository()
    try await withServer(workspace: repo) { server in
      let path = server.conversationPath("git/changes")
      let expected = try await server.get(path).text
      #expect(expected == #"[{"status":"M","path":"a.txt"}]"#)
      let outcomes = try await withThrowingTaskGroup(of: [String].self) { group in
        for _ in 0..<16 {
          group.addTask {
            var failures: [String] = []
            for _ in 0..<20 {
              let reply = try await server.get(path)
              if reply.status != 200 || reply.text != expected { failures.append("\(reply.status) \(reply.text)") }
            }
            return failures
          }
        }
        var all: [String] = []
        for try await failures in group { all += failures }
        return all
      }
      #expect(outcomes.isEmpty, "\(outcomes.prefix(5))")
    }
  }
}

/// zip-directory streams: chunked, as it is written, a real archive.
@Suite(.serialized) struct ZipStreamTests {
  @Test func streamsARealArchive() async throws {
    let workspace = try WorkspaceRouteTests.workspace()
    // Incompressible data, so the archive is big enough to leave in many chunks.
    var generator = SystemRandomNumberGenerator()
    let noise = (0..<(3 << 20)).map { _ in UInt8.random(in: 0...255, using: &generator) }
    try Data(noise).write(to: URL(fileURLWithPath: workspace + "/dir/noise.bin"))
    try await withServer(workspace: workspace) { server in
      let reply = try await server.get(server.conversationPath("zip-directory"))
      #expect(reply.status == 200)
      #expect(reply.header("Content-Type") == "application/zip")
      #expect(reply.header("Content-Disposition") == #"attachment; filename="workspace.zip""#)
      #expect(reply.header("Cache-Control") == "no-store")
      #expect(reply.chunked)
      #expect(reply.chunkSizes.count > 1)
      #expect(reply.body.starts(with: [0x50, 0x4B, 0x03, 0x04]))
      let file = try TemporaryDirectory.make("zip-out") + "/workspace.zip"
      try Data(reply.body).write(to: URL(fileURLWithPath: file))
      let (status, listing) = try runProcess(which("unzip") ?? "/usr/bin/unzip", ["-Z1", file])
      #expect(status == 0, "\(listing)")
      let names = Set(listing.split(separator: "\n").map(String.init))
      #expect(names.isSuperset(of: ["a.txt", "dir/b.txt", "dir/noise.bin", "a b.txt", "ünï.txt"]))
      let (tested, testOutput) = try runProcess(which("unzip") ?? "/usr/bin/unzip", ["-tq", file])
      #expect(tested == 0, "\(testOutput)")

      let sub = try await server.get(server.conversationPath("zip-directory?path=dir&compression=store"))
      #expect(sub.status == 200)
      let notFound = try await server.get(server.conversationPath("zip-directory?path=nope"))
      #expect(notFound.status == 404)
      #expect(notFound.header("Content-Type") == "application/json")
    }
  }

  /// A client that reads a little and hangs up stops the work: the server
  /// process stops reading files soon after.
  @Test func disconnectCancelsTheWork() async throws {
    // 2 GiB in 1 MiB sparse files: cheap on disk, real work to read.
    let workspace = try TemporaryDirectory.make("zip-big")
    for index in 0..<2048 {
      let path = workspace + "/part\(index).bin"
      _ = FileManager.default.createFile(atPath: path, contents: nil)
      try FileHandle(forWritingTo: URL(fileURLWithPath: path)).truncate(atOffset: 1 << 20)
    }
    try await withServer(workspace: workspace) { server in
      let target = server.conversationPath("zip-directory?compression=store")
      let port = server.port
      let baseline = try Self.residentBytes()
      // A client that stops reading holds the archiver back: memory does
      // not grow with what is left to send.
      let (received, paused) = try await RawHTTP.onThread { try Self.stalledDownload(port: port, target: target) }
      #expect(received >= 1 << 20)
      #expect(paused - baseline < 256 << 20, "resident memory grew by \(paused - baseline) bytes")
      try await Task.sleep(for: .milliseconds(500))
      let before = try Self.bytesRead()
      try await Task.sleep(for: .seconds(1))
      let after = try Self.bytesRead()
      // Reading on would be hundreds of MiB a second; allow for stragglers.
      #expect(after - before < 16 << 20, "still reading: \(after - before) bytes in 1 s")
    }
  }

  /// One 2 GiB file, with a client that stops reading after 1 MiB.
  @Test func oneBigFileStreamsInBoundedMemory() async throws {
    let workspace = try TemporaryDirectory.make("zip-one-big")
    _ = FileManager.default.createFile(atPath: workspace + "/big.bin", contents: nil)
    try FileHandle(forWritingTo: URL(fileURLWithPath: workspace + "/big.bin")).truncate(atOffset: 2 << 30)
    try await withServer(workspace: workspace) { server in
      let target = server.conversationPath("zip-directory?compression=store")
      let port = server.port
      let baseline = try Self.residentBytes()
      let (_, paused) = try await RawHTTP.onThread { try Self.stalledDownload(port: port, target: target) }
      #expect(paused - baseline < 256 << 20, "resident memory grew by \(paused - baseline) bytes")
    }
  }

  /// GETs `target`, reads the first MiB of the body, then stops reading
  /// for 1.5 s: the bytes received and this process's resident memory then.
  static func stalledDownload(port: Int, target: String) throws -> (received: Int, resident: Int) {
    let fd = try RawHTTP.connect(port: port)
    defer { close(fd) }
    let head = Array("GET \(target) HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".utf8)
    _ = head.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    var buffer = [UInt8](repeating: 0, count: 65536)
    var total = 0
    while total < 1 << 20 {
      let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
      guard n > 0 else { break }
      total += n
    }
    usleep(1_500_000)
    return (total, try residentBytes())
  }

  static func residentBytes() throws -> Int {
    let status = try String(contentsOfFile: "/proc/self/status", encoding: .utf8)
    for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
      let kib = line.dropFirst("VmRSS:".count).trimmingCharacters(in: .whitespaces).split(separator: " ")[0]
      return (Int(kib) ?? 0) * 1024
    }
    throw TestFailure("no VmRSS in /proc/self/status")
  }

  /// Bytes this process has read through read(2) and friends.
  static func bytesRead() throws -> Int {
    let io = try String(contentsOfFile: "/proc/self/io", encoding: .utf8)
    for line in io.split(separator: "\n") where line.hasPrefix("rchar:") {
      return Int(line.dropFirst("rchar:".count).trimmingCharacters(in: .whitespaces)) ?? 0
    }
    throw TestFailure("no rchar in /proc/self/io")
  }
}
