import Foundation
import JSONRPC
import TestSupport
import Testing

/// subscribe / unsubscribe through the built binary over real pipes: the
/// notifications a client sees when files change under it.
@Suite struct SubscriptionProcessTests {
  /// A git repository with one committed file, and a bridge serving it.
  static func start(_ extra: [String] = []) throws -> (root: String, bridge: BridgeProcess) {
    let base = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("subscribe-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: base, withIntermediateDirectories: true)
    let root = base.resolvingSymlinksInPath().path
    try git(root, "init", "-q", "-b", "main")
    try Data("one\n".utf8).write(to: URL(fileURLWithPath: root + "/a.txt"))
    try git(root, "add", "a.txt")
    try git(root, "commit", "-qm", "one")
    let bridge = try BridgeProcess(["--workspace", root] + extra, directory: root)
    return (root, bridge)
  }

  static func git(_ root: String, _ arguments: String...) throws {
    try Program.run(
      "/usr/bin/git", ["-C", root, "-c", "user.name=T", "-c", "user.email=t@e"] + arguments,
      environment: ["GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": "/dev/null", "PATH": "/usr/bin:/bin"])
  }

  static func request(_ id: Int, _ method: String, _ params: String = "{}") -> String {
    #"{"jsonrpc":"2.0","id":\#(id),"method":"\#(method)","params":\#(params)}"#
  }

  /// Reads messages until `done` says the last one was the awaited one;
  /// returns everything read.
  static func read(
    _ bridge: BridgeProcess, timeout: Duration = .seconds(5), until done: (JSONValue) -> Bool
  ) async throws -> [JSONValue] {
    var seen: [JSONValue] = []
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
      let message = try await bridge.client.expectMessage(timeout: deadline - ContinuousClock.now)
      seen.append(message)
      if done(message) { return seen }
    }
    throw WireError("timed out; read \(seen)")
  }

  static func files(_ message: JSONValue) -> [String: String] {
    guard message["method"]?.stringValue == "workspace/filesChanged" else { return [:] }
    var changes: [String: String] = [:]
    for change in message["params"]?["changes"]?.arrayValue ?? [] {
      if let path = change["path"]?.stringValue, let type = change["type"]?.stringValue { changes[path] = type }
    }
    return changes
  }

  static func isGit(_ message: JSONValue) -> Bool { message["method"]?.stringValue == "workspace/gitChanged" }

  @Test func subscribeThenAWriteIsPushedAndUnsubscribeStopsIt() async throws {
    let (root, bridge) = try Self.start()
    defer { try? FileManager.default.removeItem(atPath: root) }
    bridge.client.send(Self.request(1, "subscribe", #"{"events":["files","git"]}"#), framing: .ndjson)
    // The reply first, then the first gitChanged: nothing changed yet.
    let reply = try await bridge.client.expectMessage()
    let id = try #require(reply["result"]?["subscriptionId"]?.stringValue)
    let first = try await bridge.client.expectMessage()
    #expect(Self.isGit(first))
    #expect(first["params"]?["subscriptionId"]?.stringValue == id)
    #expect(first["params"]?["conversationId"]?.stringValue?.count == 32)
    #expect(first["params"]?["changes"] == .array([]))

    let written = ContinuousClock.now
    try Data("new\n".utf8).write(to: URL(fileURLWithPath: root + "/b.txt"))
    var sawFiles = false
    let seen = try await Self.read(bridge, timeout: .seconds(1)) { message in
      if Self.files(message)["b.txt"] == "created" { sawFiles = true }
      return sawFiles && Self.isGit(message)
        && message["params"]?["changes"] == [["status": "A", "path": "b.txt"]]
    }
    #expect(ContinuousClock.now - written < .seconds(1))
    #expect(seen.allSatisfy { $0["params"]?["subscriptionId"]?.stringValue == id })

    try Data("two\n".utf8).write(to: URL(fileURLWithPath: root + "/a.txt"))
    _ = try await Self.read(bridge, timeout: .seconds(1)) { message in
      Self.isGit(message)
        && message["params"]?["changes"] == [["status": "M", "path": "a.txt"], ["status": "A", "path": "b.txt"]]
    }

    bridge.client.send(Self.request(2, "unsubscribe", #"{"subscriptionId":"\#(id)"}"#), framing: .ndjson)
    // Notifications already on their way may precede the reply, none follows it.
    _ = try await Self.read(bridge) { $0["id"] == 2 && $0["result"] == .null }
    try Data("late\n".utf8).write(to: URL(fileURLWithPath: root + "/c.txt"))
    #expect(try await bridge.client.isQuiet(for: .milliseconds(500)))

    bridge.client.send(Self.request(3, "unsubscribe", #"{"subscriptionId":"\#(id)"}"#), framing: .ndjson)
    let again = try await bridge.client.expectMessage()
    #expect(again["error"]?["code"] == -32602)
  }

  /// An agent's `npm install`: a thousand files at once are a few
  /// notifications, and the last gitChanged is what gitChanges answers.
  @Test func aBurstIsCoalescedAndTheLastGitChangedIsRight() async throws {
    let (root, bridge) = try Self.start()
    defer { try? FileManager.default.removeItem(atPath: root) }
    bridge.client.send(Self.request(1, "subscribe", #"{"events":["files","git"]}"#), framing: .lsp)
    _ = try await Self.read(bridge) { Self.isGit($0) }
    try Program.run(
      "/bin/sh", ["-c", "mkdir -p pkg/lib && for i in $(seq 1 1000); do echo $i > pkg/lib/f$i.js; done"], in: root)
    var created = Set<String>()
    var notifications = 0
    var lastGit: JSONValue?
    _ = try await Self.read(bridge, timeout: .seconds(20)) { message in
      notifications += 1
      for (path, type) in Self.files(message) where type == "created" { created.insert(path) }
      if Self.isGit(message) { lastGit = message["params"]?["changes"] }
      return lastGit?.arrayValue?.count == 1000 && created.count == 1002
    }
    // Nothing more is on its way once it has settled.
    #expect(try await bridge.client.isQuiet(for: .milliseconds(300)))
    #expect(notifications <= 40, "\(notifications) notifications for 1,000 files")
    bridge.client.send(Self.request(2, "gitChanges"), framing: .lsp)
    let answer = try await bridge.client.expectMessage()
    #expect(answer["result"] == lastGit)
  }

  /// Watched, gitChanges answers from what the watcher saw change, and a
  /// change made just before the request is in the answer even though the
  /// debounce has not let its notification out yet.
  @Test func gitChangesWhileWatchedSeesAWriteMadeJustBefore() async throws {
    let (root, bridge) = try Self.start(["--debounce-ms", "3000"])
    defer { try? FileManager.default.removeItem(atPath: root) }
    bridge.client.send(Self.request(1, "subscribe", #"{"events":["git"]}"#), framing: .ndjson)
    _ = try await Self.read(bridge) { Self.isGit($0) }
    for round in 1...3 {
      try Data("round \(round)\n".utf8).write(to: URL(fileURLWithPath: root + "/a.txt"))
      try Data("new \(round)\n".utf8).write(to: URL(fileURLWithPath: root + "/n\(round).txt"))
      bridge.client.send(Self.request(1 + round, "gitChanges"), framing: .ndjson)
      let answer = try await Self.read(bridge) { $0["id"] == .int(Int64(1 + round)) }.last
      let expected: [JSONValue] =
        [["status": "M", "path": "a.txt"]] + (1...round).map { ["status": "A", "path": .string("n\($0).txt")] }
      #expect(answer?["result"] == .array(expected), "round \(round)")
    }
  }

  /// `.git/info/exclude` is no working-tree file: a change to it alone is
  /// pushed, with no other file touched.
  @Test func anExcludeChangeAloneIsPushed() async throws {
    let (root, bridge) = try Self.start()
    defer { try? FileManager.default.removeItem(atPath: root) }
    let excludePath = root + "/.git/info/exclude"
    try FileManager.default.createDirectory(atPath: root + "/.git/info", withIntermediateDirectories: true)
    if !FileManager.default.fileExists(atPath: excludePath) {
      _ = FileManager.default.createFile(atPath: excludePath, contents: nil)
    }
    try Data("new\n".utf8).write(to: URL(fileURLWithPath: root + "/u.txt"))
    bridge.client.send(Self.request(1, "subscribe", #"{"events":["git"]}"#), framing: .ndjson)
    _ = try await Self.read(bridge) { Self.isGit($0) && $0["params"]?["changes"] == [["status": "A", "path": "u.txt"]] }
    let exclude = try #require(FileHandle(forUpdatingAtPath: excludePath))
    try exclude.seekToEnd()
    try exclude.write(contentsOf: Data("\nu.txt\n".utf8))
    try exclude.close()
    _ = try await Self.read(bridge, timeout: .seconds(3)) { Self.isGit($0) && $0["params"]?["changes"] == [] }
  }

  /// `git config core.excludesFile` writes only `.git/config`: pushed too.
  @Test func aConfigChangeAloneIsPushed() async throws {
    let (root, bridge) = try Self.start()
    defer { try? FileManager.default.removeItem(atPath: root) }
    let excludes = root + "-excludes"
    try Data("u.txt\n".utf8).write(to: URL(fileURLWithPath: excludes))
    defer { try? FileManager.default.removeItem(atPath: excludes) }
    try Data("new\n".utf8).write(to: URL(fileURLWithPath: root + "/u.txt"))
    bridge.client.send(Self.request(1, "subscribe", #"{"events":["git"]}"#), framing: .ndjson)
    _ = try await Self.read(bridge) { Self.isGit($0) && $0["params"]?["changes"] == [["status": "A", "path": "u.txt"]] }
    try Self.git(root, "config", "core.excludesFile", excludes)
    _ = try await Self.read(bridge, timeout: .seconds(3)) { Self.isGit($0) && $0["params"]?["changes"] == [] }
  }

  /// initialize moving the default conversation (same id) to another
  /// workspace: gitChanges answers the new one, not what the old one's
  /// watcher saw.
  @Test func initializeElsewhereLeavesNoWatchedAnswerOfTheOldWorkspace() async throws {
    let (root, bridge) = try Self.start(["--conversation-id", "X"])
    defer { try? FileManager.default.removeItem(atPath: root) }
    let other = root + "-other"
    try FileManager.default.createDirectory(atPath: other, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: other) }
    try Self.git(other, "init", "-q", "-b", "main")
    try Data("b\n".utf8).write(to: URL(fileURLWithPath: other + "/b.txt"))
    try Data("new\n".utf8).write(to: URL(fileURLWithPath: root + "/mine.txt"))
    bridge.client.send(Self.request(1, "subscribe", #"{"events":["git"]}"#), framing: .ndjson)
    _ = try await Self.read(bridge) { Self.isGit($0) }
    bridge.client.send(Self.request(2, "initialize", #"{"rootPath":"\#(other)"}"#), framing: .ndjson)
    let initialized = try await Self.read(bridge) { $0["id"] == 2 }.last
    #expect(initialized?["result"]?["conversationId"] == "X")
    bridge.client.send(Self.request(3, "gitChanges"), framing: .ndjson)
    let answer = try await Self.read(bridge) { $0["id"] == 3 }.last
    #expect(answer?["result"] == [["status": "A", "path": "b.txt"]])
  }

  @Test func paramsAreCheckedAndInitializeListsTheNotifications() async throws {
    let (root, bridge) = try Self.start()
    defer { try? FileManager.default.removeItem(atPath: root) }
    for (id, params) in [(1, "{}"), (2, #"{"events":[]}"#), (3, #"{"events":["files","tree"]}"#)] {
      bridge.client.send(Self.request(id, "subscribe", params), framing: .ndjson)
      let reply = try await bridge.client.expectMessage()
      #expect(reply["id"] == .int(Int64(id)))
      #expect(reply["error"]?["code"] == -32602)
    }
    bridge.client.send(Self.request(4, "subscribe", #"{"events":["git"],"conversationId":"nope"}"#), framing: .ndjson)
    #expect(try await bridge.client.expectMessage()["error"]?["code"] == -32001)
    bridge.client.send(Self.request(5, "initialize"), framing: .ndjson)
    let initialized = try await bridge.client.expectMessage()
    let listed = initialized["result"]?["capabilities"]?["notifications"]?.arrayValue?.compactMap(\.stringValue)
    #expect(listed?.contains("workspace/filesChanged") == true)
    #expect(listed?.contains("workspace/gitChanged") == true)
    let methods = initialized["result"]?["capabilities"]?["methods"]?.arrayValue?.compactMap(\.stringValue) ?? []
    #expect(methods.contains("subscribe") && methods.contains("unsubscribe"))
  }

  /// A one-shot call has no channel to push on.
  @Test func callRefusesToSubscribe() throws {
    let (root, bridge) = try Self.start()
    defer { try? FileManager.default.removeItem(atPath: root) }
    bridge.client.closeInput()
    let run = try Program.run(
      BridgeProcess.binaryPath, ["call", "subscribe", #"{"events":["files"]}"#, "--workspace", root])
    #expect(run.status == 1)
    #expect(run.errors.contains("-32600"))
  }
}
