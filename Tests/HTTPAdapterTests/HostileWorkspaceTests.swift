#if canImport(Glibc)
import Glibc
#endif
import Foundation
import JSONRPC
import Synchronization
import Testing
import TestSupport

/// CONTRACT section 8, tried as an attacker would: one workspace holding
/// every trick an agent could plant, and every method asked through every
/// door (a stdio session, `agent-bridge call`, REST and `/api/jsonrpc`) with
/// hostile paths. No reply may carry a byte from outside the workspace.
@Suite(.serialized) struct HostileWorkspaceTests {
  /// Distinctive bytes that exist only outside the workspace: file contents,
  /// file names, a git blob and a tree entry of an outside repository, and
  /// /etc/passwd's first line. Requests never spell them, so an error that
  /// echoes the client's path cannot trip the check.
  static let outsideMarkers = [
    "OUTSIDE-SECRET-7f3a", "zz-outside-name-q7", "OUTSIDE-BLOB-4e8c", "zz-outside-repo-file-5d1b", "root:x:0:0",
  ]

  /// A workspace and, beside it, the outside it must never show.
  struct Fixture {
    let base: String
    var workspace: String { base + "/ws" }
    var outside: String { base + "/outside" }
    var stateDir: String { base + "/ws/state" }
    var plantedLog: String { base + "/outside/planted.jsonl" }

    static func make() throws -> Fixture {
      let fixture = Fixture(base: try TemporaryDirectory.make("hostile"))
      let fm = FileManager.default
      let ws = fixture.workspace
      let out = fixture.outside

      // The outside: plain secrets, a tree to point core.worktree at, and a
      // repository whose objects a nested repository may try to borrow.
      try fm.createDirectory(atPath: out + "/tree", withIntermediateDirectories: true)
      try write(out + "/secret.txt", "OUTSIDE-SECRET-7f3a\n")
      try write(out + "/zz-outside-name-q7.txt", "OUTSIDE-SECRET-7f3a name\n")
      try write(out + "/tree/secret.txt", "OUTSIDE-SECRET-7f3a in tree\n")
      try write(out + "/tree/zz-outside-name-q7.txt", "x\n")
      try write(fixture.plantedLog, "")
      let repo = out + "/repo"
      try fm.createDirectory(atPath: repo, withIntermediateDirectories: true)
      try git(repo, "init", "-q", "-b", "main")
      try write(repo + "/secret.txt", "OUTSIDE-BLOB-4e8c\n")
      try write(repo + "/zz-outside-repo-file-5d1b.txt", "OUTSIDE-BLOB-4e8c\n")
      try git(repo, "add", "-A")
      try git(repo, "commit", "-q", "-m", "outside")

      // The workspace: a repository with an inside file, a modified one,
      // and every trick.
      try fm.createDirectory(atPath: ws, withIntermediateDirectories: true)
      try git(ws, "init", "-q", "-b", "main")
      try write(ws + "/inside.txt", "INSIDE-CONTENT\n")
      try write(ws + "/changed.txt", "before\n")
      // The pattern that makes a naive matcher backtrack for ever, for the
      // ignore rules of every listing and status.
      try write(ws + "/.gitignore", "state/\n*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b\n**a**a**a**a**a**a**a**a**a**a**b/\n")
      try git(ws, "add", "-A")
      try git(ws, "commit", "-q", "-m", "inside")
      try write(ws + "/changed.txt", "after\n")

      try fm.createSymbolicLink(atPath: ws + "/etc_link", withDestinationPath: "/etc")
      try fm.createSymbolicLink(atPath: ws + "/secret_link", withDestinationPath: "../outside/secret.txt")
      try fm.createSymbolicLink(atPath: ws + "/abs_secret", withDestinationPath: out + "/secret.txt")
      try fm.createSymbolicLink(atPath: ws + "/dir_link", withDestinationPath: "../outside")
      try fm.createSymbolicLink(atPath: ws + "/self_loop", withDestinationPath: "self_loop")
      try fm.createSymbolicLink(atPath: ws + "/loop_a", withDestinationPath: "loop_b")
      try fm.createSymbolicLink(atPath: ws + "/loop_b", withDestinationPath: "loop_a")
      // A chain of 45 links inside, the last one out: past any hop limit.
      for index in 0..<45 {
        try fm.createSymbolicLink(atPath: ws + "/chain\(index)", withDestinationPath: "chain\(index + 1)")
      }
      try fm.createSymbolicLink(atPath: ws + "/chain45", withDestinationPath: "../outside")

      // A gitfile pointing at the outside repository.
      try fm.createDirectory(atPath: ws + "/gitfile_dir", withIntermediateDirectories: true)
      try write(ws + "/gitfile_dir/.git", "gitdir: \(repo)/.git\n")
      try write(ws + "/gitfile_dir/secret.txt", "inside gitfile_dir\n")
      // A nested repository whose core.worktree is outside.
      try fm.createDirectory(atPath: ws + "/worktree_repo", withIntermediateDirectories: true)
      try git(ws + "/worktree_repo", "init", "-q", "-b", "main")
      try git(ws + "/worktree_repo", "config", "core.worktree", out + "/tree")
      // A nested repository that borrows the outside repository's objects.
      try git(ws, "clone", "-q", "--shared", "--no-checkout", repo, "alt_repo")
      // A nested git directory whose common directory is outside.
      try fm.createDirectory(atPath: ws + "/common_repo/.git", withIntermediateDirectories: true)
      try write(ws + "/common_repo/.git/HEAD", "ref: refs/heads/main\n")
      try write(ws + "/common_repo/.git/commondir", "\(repo)/.git\n")
      // A name built to make a naive matcher backtrack for ever.
      try write(ws + "/" + String(repeating: "a", count: 69), "long name\n")
      // A planted feedback log: a symlink out of the state directory.
      try fm.createDirectory(atPath: fixture.stateDir, withIntermediateDirectories: true)
      chmod(fixture.stateDir, 0o700)
      try fm.createSymbolicLink(atPath: fixture.stateDir + "/feedback.jsonl", withDestinationPath: fixture.plantedLog)
      // The swap target, a directory until a race test turns it into a link.
      try fm.createDirectory(atPath: ws + "/swap", withIntermediateDirectories: true)
      try write(ws + "/swap/secret.txt", "INSIDE-SWAP\n")
      return fixture
    }

    func remove() { try? FileManager.default.removeItem(atPath: base) }

    /// What an agent can do to the workspace repository once a long-lived
    /// session has found it: point its `core.worktree` outside, then replace
    /// `.git` with a gitfile naming the outside repository. Each step is
    /// followed by the requests of `afterRewrite`.
    var rewrites: [(name: String, apply: @Sendable () throws -> Void)] {
      let ws = workspace
      let out = outside
      return [
        ("core.worktree outside", { try Fixture.git(ws, "config", "core.worktree", out + "/tree") }),
        (
          ".git replaced by a gitfile",
          {
            try FileManager.default.moveItem(atPath: ws + "/.git", toPath: ws + "/.git-moved")
            try Fixture.write(ws + "/.git", "gitdir: \(out)/repo/.git\n")
          }
        ),
      ]
    }

    static func write(_ path: String, _ text: String) throws {
      try Data(text.utf8).write(to: URL(fileURLWithPath: path))
    }

    static func git(_ directory: String, _ arguments: String...) throws {
      let run = try Program.run(
        "/usr/bin/git",
        ["-C", directory, "-c", "user.name=t", "-c", "user.email=t@t", "-c", "protocol.file.allow=always"] + arguments)
      guard run.status == 0 else { throw TestFailure("git \(arguments): \(run.allOutput)") }
    }
  }

  /// Client paths an attacker would try, none spelling a marker.
  static func hostilePaths(_ fixture: Fixture) -> [String] {
    [
      "etc_link/passwd", "nonexistent/../etc_link/passwd", "a/b/../../etc_link/passwd", "etc_link",
      "secret_link", "abs_secret", "dir_link", "dir_link/secret.txt", "nonexistent/../dir_link/secret.txt",
      "missing/../../outside/secret.txt", "../outside/secret.txt", "/etc/passwd", fixture.outside + "/secret.txt",
      fixture.workspace + "/../outside/secret.txt", "self_loop", "self_loop/x", "loop_a/secret.txt",
      "chain0", "chain0/secret.txt", "chain40/secret.txt", "gitfile_dir/secret.txt", "gitfile_dir",
      "worktree_repo/secret.txt", "worktree_repo", "alt_repo/secret.txt", "alt_repo", "common_repo/secret.txt",
      "common_repo", "./etc_link/../dir_link/secret.txt", "swap/../dir_link/secret.txt", "", ".", "./",
    ]
  }

  /// Every method that takes a workspace path, and the path-free ones.
  static func requests(_ fixture: Fixture) -> [(method: String, params: JSONObject)] {
    var requests: [(String, JSONObject)] = []
    for path in hostilePaths(fixture) {
      requests.append(("selectFile", ["file": .string(path)]))
      requests.append(("listFiles", ["path": .string(path)]))
      requests.append(("listFiles", ["path": .string(path), "recursive": true]))
      requests.append(("gitDiff", ["path": .string(path)]))
      requests.append(("zipDirectory", ["path": .string(path), "compression": "store"]))
    }
    requests += afterRewrite
    requests.append(("listFiles", ["recursive": true]))
    requests.append(("zipDirectory", ["compression": "store"]))
    requests.append(("zipDirectory", ["compression": "store", "exclude": ["*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b"]]))
    return requests
  }

  /// Asked again after each rewrite of the workspace repository.
  static let afterRewrite: [(method: String, params: JSONObject)] = [
    ("gitChanges", [:]), ("gitDiff", ["path": "secret.txt"]), ("gitDiff", ["path": "changed.txt"]),
    ("selectFile", ["file": "inside.txt"]), ("listFiles", ["path": "", "recursive": true]),
  ]

  /// The outside markers found in a reply, looking inside inline zips too.
  static func leaks(in reply: [UInt8]) -> [String] {
    var haystacks = [reply]
    if let json = try? JSONParser.parse(reply), let data = json["result"]?["data"] ?? json["data"],
      case .string(let base64) = data, let bytes = Data(base64Encoded: base64)
    {
      haystacks.append([UInt8](bytes))
    }
    return outsideMarkers.filter { marker in
      haystacks.contains { $0.firstRange(of: Array(marker.utf8)) != nil }
    }
  }

  static var binary: String { BridgeProcess.binaryPath }

  static func line(id: Int, _ method: String, _ params: JSONObject) -> String {
    JSONWriter.string(["jsonrpc": "2.0", "id": .int(Int64(id)), "method": .string(method), "params": .object(params)])
  }

  /// One stdio session answers every request, then the same git requests
  /// after each rewrite of the workspace repository; each reply is checked.
  @Test func stdioSessionNeverLeaks() async throws {
    let fixture = try Fixture.make()
    defer { fixture.remove() }
    let bridge = try BridgeProcess(
      ["--workspace", fixture.workspace, "--state-dir", fixture.stateDir], timeout: .seconds(60))
    var sawInside = false
    var nextId = 1
    func ask(_ requests: [(method: String, params: JSONObject)], _ stage: String) async throws {
      var ids: [JSONValue] = []
      var asked: [String: String] = [:]
      for request in requests {
        let id = JSONValue.int(Int64(nextId))
        nextId += 1
        ids.append(id)
        asked[id.description] = "\(request.method) \(JSONWriter.string(.object(request.params)))"
        bridge.client.send(Self.line(id: nextId - 1, request.method, request.params), framing: .ndjson)
      }
      let replies = try await bridge.client.replies(for: ids)
      for (id, reply) in replies.byId {
        let bytes = JSONWriter.encode(reply)
        #expect(Self.leaks(in: bytes).isEmpty, "\(stage): \(asked[id] ?? id) leaked")
        if String(decoding: bytes, as: UTF8.self).contains("INSIDE-CONTENT") { sawInside = true }
      }
    }
    let started = ContinuousClock.now
    try await ask(Self.requests(fixture), "at start")
    #expect(ContinuousClock.now - started < .seconds(60), "the hostile requests took \(ContinuousClock.now - started)")
    for rewrite in fixture.rewrites {
      try rewrite.apply()
      try await ask(Self.afterRewrite, "after \(rewrite.name)")
    }
    // The door does serve inside content: the checks above could fail.
    #expect(sawInside)
  }

  /// `agent-bridge call`, one process per request.
  @Test func callNeverLeaks() throws {
    let fixture = try Fixture.make()
    defer { fixture.remove() }
    var sawInside = false
    for request in Self.requests(fixture) {
      let run = try Program.run(
        Self.binary,
        ["call", request.method, JSONWriter.string(.object(request.params)), "--workspace", fixture.workspace])
      let leaked = Self.leaks(in: [UInt8](run.stdout)) + Self.leaks(in: [UInt8](run.stderr))
      #expect(leaked.isEmpty, "call \(request.method) \(JSONWriter.string(.object(request.params))) leaked \(leaked)")
      if run.output.contains("INSIDE-CONTENT") { sawInside = true }
    }
    #expect(sawInside)
  }

  /// `serve`: every request as REST and as `/api/jsonrpc`.
  @Test func httpNeverLeaks() async throws {
    let fixture = try Fixture.make()
    defer { fixture.remove() }
    let serve = try ServeProcess(
      binary: Self.binary,
      arguments: [
        "serve", "--workspace", fixture.workspace, "--port", "0", "--conversation-id", "hostile",
        "--state-dir", fixture.stateDir,
      ])
    defer { serve.kill() }
    let port = try await serve.port()
    var sawInside = false
    for (index, request) in Self.requests(fixture).enumerated() {
      let described = "\(request.method) \(JSONWriter.string(.object(request.params)))"
      let body = Array(Self.line(id: index, request.method, request.params).utf8)
      let rpc = try await RawHTTP.request(
        port: port, method: "POST", target: "/api/jsonrpc", headers: [("Content-Type", "application/json")],
        host: "127.0.0.1", body: body)
      #expect(Self.leaks(in: rpc.body).isEmpty, "POST /api/jsonrpc \(described) leaked")
      if rpc.text.contains("INSIDE-CONTENT") { sawInside = true }

      guard let target = Self.restTarget(request.method, request.params) else { continue }
      let rest = try await RawHTTP.request(
        port: port, method: "GET", target: target, headers: [], host: "127.0.0.1", body: nil)
      #expect(Self.leaks(in: rest.body).isEmpty, "GET \(target) leaked")
      if rest.text.contains("INSIDE-CONTENT") { sawInside = true }
    }
    for rewrite in fixture.rewrites {
      try rewrite.apply()
      for (index, request) in Self.afterRewrite.enumerated() {
        let described = "after \(rewrite.name): \(request.method) \(JSONWriter.string(.object(request.params)))"
        let rpc = try await RawHTTP.request(
          port: port, method: "POST", target: "/api/jsonrpc", headers: [("Content-Type", "application/json")],
          host: "127.0.0.1", body: Array(Self.line(id: index, request.method, request.params).utf8))
        #expect(Self.leaks(in: rpc.body).isEmpty, "POST /api/jsonrpc \(described) leaked")
        guard let target = Self.restTarget(request.method, request.params) else { continue }
        let rest = try await RawHTTP.request(
          port: port, method: "GET", target: target, headers: [], host: "127.0.0.1", body: nil)
        #expect(Self.leaks(in: rest.body).isEmpty, "GET \(described) leaked")
      }
    }
    #expect(sawInside)
  }

  /// The REST form of a request, its query percent-encoded byte by byte.
  static func restTarget(_ method: String, _ params: JSONObject) -> String? {
    let path: String
    switch method {
    case "selectFile": path = "select-file"
    case "listFiles": path = "list-files"
    case "gitDiff": path = "git/diff"
    case "gitChanges": path = "git/changes"
    case "zipDirectory": path = "zip-directory"
    default: return nil
    }
    var query: [String] = []
    for (key, value) in params {
      switch value {
      case .string(let text): query.append("\(key)=\(percentEncoded(text))")
      case .bool(let flag): query.append("\(key)=\(flag)")
      case .array(let items):
        for case .string(let text) in items { query.append("\(key)=\(percentEncoded(text))") }
      default: break
      }
    }
    let rest = query.isEmpty ? "" : "?" + query.joined(separator: "&")
    return "/api/conversations/hostile/\(path)\(rest)"
  }

  static func percentEncoded(_ text: String) -> String {
    text.utf8.map { byte in
      let c = Character(Unicode.Scalar(byte))
      return c.isLetter && byte < 0x80 || c.isNumber && byte < 0x80 || "-_.~".contains(c)
        ? String(c) : String(format: "%%%02X", byte)
    }.joined()
  }

  /// A planted `feedback.jsonl` symlink is never written through, by any door.
  @Test func plantedFeedbackLogIsNotAppendedThrough() async throws {
    let fixture = try Fixture.make()
    defer { fixture.remove() }
    let feedback: JSONObject = ["polarity": "positive", "feedback": "hostile"]
    _ = try Program.run(
      Self.binary, ["--workspace", fixture.workspace, "--state-dir", fixture.stateDir],
      input: Data((Self.line(id: 1, "submitFeedback", feedback) + "\n").utf8))
    _ = try Program.run(
      Self.binary,
      ["call", "submitFeedback", JSONWriter.string(.object(feedback)), "--workspace", fixture.workspace,
       "--state-dir", fixture.stateDir])
    let serve = try ServeProcess(
      binary: Self.binary,
      arguments: ["serve", "--workspace", fixture.workspace, "--port", "0", "--state-dir", fixture.stateDir])
    defer { serve.kill() }
    let port = try await serve.port()
    _ = try await RawHTTP.request(
      port: port, method: "POST", target: "/api/jsonrpc", headers: [("Content-Type", "application/json")],
      host: "127.0.0.1", body: Array(Self.line(id: 2, "submitFeedback", feedback).utf8))
    let planted = try String(contentsOfFile: fixture.plantedLog, encoding: .utf8)
    #expect(planted.isEmpty, "the planted symlink was appended through: \(planted)")
  }

  /// A directory swapped for a link out, over and over, while a session asks
  /// for a file below it: the outside file is never read.
  @Test func swapRaceNeverLeaks() throws {
    let fixture = try Fixture.make()
    defer { fixture.remove() }
    let ws = fixture.workspace
    try FileManager.default.createSymbolicLink(atPath: ws + "/swap_out", withDestinationPath: fixture.outside)
    try FileManager.default.moveItem(atPath: ws + "/swap", toPath: ws + "/swap_in")
    let stop = Atomic<Bool>(false)
    let swaps = Atomic<Int>(0)
    let finished = Atomic<Bool>(false)
    let swapper = Thread {
      defer { finished.store(true, ordering: .releasing) }
      // The name `swap` is a directory inside, then a link out, then again.
      while !stop.load(ordering: .relaxed) {
        rename(ws + "/swap_in", ws + "/swap")
        rename(ws + "/swap", ws + "/swap_in")
        rename(ws + "/swap_out", ws + "/swap")
        rename(ws + "/swap", ws + "/swap_out")
        swaps.add(1, ordering: .relaxed)
      }
    }
    swapper.start()
    defer {
      stop.store(true, ordering: .relaxed)
      while !finished.load(ordering: .acquiring) { usleep(1000) }
    }
    var input = ""
    let methods: [(String, JSONObject)] = [
      ("selectFile", ["file": "swap/secret.txt"]), ("gitDiff", ["path": "swap/secret.txt"]),
      ("listFiles", ["path": "swap"]), ("zipDirectory", ["path": "swap", "compression": "store"]),
    ]
    for index in 0..<2000 {
      let (method, params) = methods[index % methods.count]
      input += Self.line(id: index, method, params) + "\n"
    }
    let run = try Program.run(Self.binary, ["--workspace", ws], input: Data(input.utf8))
    var replies = 0
    var leaked = 0
    for line in run.stdout.split(separator: 0x0A) {
      replies += 1
      if !Self.leaks(in: [UInt8](line)).isEmpty { leaked += 1 }
    }
    #expect(replies == 2000)
    #expect(leaked == 0, "\(leaked) of \(replies) replies carried outside bytes (\(swaps.load(ordering: .relaxed)) swaps)")
    #expect(swaps.load(ordering: .relaxed) > 10)
  }
}
