import Bridge
import Foundation
import TestSupport
import JSONRPC
import Testing

/// gitChanges and gitDiff through the dispatcher, on real repositories.
@Suite struct GitHandlerTests {
  /// A workspace with a committed repository: mod.txt edited, del.txt gone,
  /// new.txt untracked, big.txt over 1 MiB, latin1.txt not UTF-8.
  final class Workspace {
    let root: String
    let dispatcher: Dispatcher

    init() throws {
      let base = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("git-handlers-\(UUID().uuidString)")
      try FileManager.default.createDirectory(at: base.appendingPathComponent("ws"), withIntermediateDirectories: true)
      let root = base.resolvingSymlinksInPath().path + "/ws"
      self.root = root
      func write(_ relative: String, _ text: String) throws {
        try Data(text.utf8).write(to: URL(fileURLWithPath: root + "/" + relative))
      }
      try Self.git(root, "init", "-q", "-b", "main")
      try write("mod.txt", "one\r\ntwo\r\n")
      try write("del.txt", "gone\n")
      try Data([0x63, 0x61, 0x66, 0xE9]).write(to: URL(fileURLWithPath: root + "/latin1.txt"))
      try Self.git(root, "add", "-A")
      try Self.git(root, "-c", "user.name=T", "-c", "user.email=t@e", "commit", "-qm", "one")
      try write("mod.txt", "one\ntwo\nthree\n")
      try FileManager.default.removeItem(atPath: root + "/del.txt")
      try write("new file.txt", "new\n")
      try write("big.txt", String(repeating: "x", count: (1 << 20) + 1))
      try write("../outside.txt", "secret\n")
      try FileManager.default.createSymbolicLink(atPath: root + "/escape", withDestinationPath: "../outside.txt")
      dispatcher = try Dispatcher(options: BridgeOptions(workspace: root))
    }

    deinit { try? FileManager.default.removeItem(atPath: (root as NSString).deletingLastPathComponent) }

    static func git(_ root: String, _ arguments: String...) throws {
      let result = try Program.run(
        "/usr/bin/git", ["-C", root] + arguments,
        environment: ["GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": "/dev/null", "PATH": "/usr/bin:/bin"])
      guard result.status == 0 else { throw CocoaError(.fileWriteUnknown) }
    }

    func call(_ method: String, _ params: JSONValue) async -> Result<JSONValue, ResponseError> {
      await dispatcher.call(method: method, params: params)
    }
  }

  @Test func changesAreOpenHandsShaped() async throws {
    let workspace = try Workspace()
    let result = try await workspace.call("gitChanges", [:]).get()
    #expect(
      JSONWriter.string(result)
        == #"[{"status":"A","path":"big.txt"},{"status":"D","path":"del.txt"},{"status":"A","path":"escape"},"#
        + #"{"status":"M","path":"mod.txt"},{"status":"A","path":"new file.txt"}]"#)
  }

  @Test func unknownRefIsInvalidParams() async throws {
    let workspace = try Workspace()
    for method in ["gitChanges", "gitDiff"] {
      let result = await workspace.call(method, ["path": "mod.txt", "ref": "nope"])
      guard case .failure(let error) = result else {
        Issue.record("\(method) accepted an unknown ref")
        continue
      }
      #expect(error.code.rawValue == -32602)
      #expect(error.data?["httpStatus"] == 422)
      #expect(error.data?["body"]?["detail"]?.arrayValue?.first?["loc"] == ["query", "ref"])
    }
  }

  @Test func diffKeepsOpenHandsKeyOrder() async throws {
    let workspace = try Workspace()
    let result = try await workspace.call("gitDiff", ["path": "mod.txt"]).get()
    #expect(JSONWriter.string(result) == #"{"modified":"one\ntwo\nthree","original":"one\ntwo"}"#)
    let deleted = try await workspace.call("gitDiff", ["path": "del.txt"]).get()
    #expect(deleted == ["modified": "", "original": "gone"])
    let added = try await workspace.call("gitDiff", ["path": "new file.txt", "ref": "HEAD"]).get()
    #expect(added == ["modified": "new", "original": ""])
  }

  @Test func diffErrors() async throws {
    let workspace = try Workspace()
    func code(_ params: JSONValue) async -> (Int, JSONValue?) {
      switch await workspace.call("gitDiff", params) {
      case .success(let value): return (0, value)
      case .failure(let error): return (error.code.rawValue, error.data)
      }
    }
    #expect(await code([:]).0 == -32602)
    #expect(await code(["path": 7]).0 == -32602)
    let outside = await code(["path": "../outside.txt"])
    #expect(outside.0 == -32014)
    #expect(outside.1 == ["httpStatus": 403, "body": ["error": "Path is outside the workspace: ../outside.txt"]])
    #expect(await code(["path": "escape"]).0 == -32014)
    #expect(await code(["path": "/etc/passwd"]).0 == -32014)
    #expect(await code(["path": "big.txt"]).0 == -32015)
    let latin1 = await code(["path": "latin1.txt"])
    #expect(latin1.0 == -32012)
    #expect(latin1.1?["body"] == ["error": "File could not be decoded as utf-8: latin1.txt"])
    #expect(await code(["path": "missing.txt"]).0 == -32010)
    #expect(await code(["path": "mod.txt", "conversationId": "nope"]).0 == -32001)
  }

  @Test func notARepository() async throws {
    let base = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("git-none-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: base, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: base) }
    try Data("x\n".utf8).write(to: base.appendingPathComponent("file.txt"))
    let dispatcher = try Dispatcher(options: BridgeOptions(workspace: base.path))
    #expect(try await dispatcher.call(method: "gitChanges", params: nil).get() == [])
    guard case .failure(let error) = await dispatcher.call(method: "gitDiff", params: ["path": "file.txt"]) else {
      Issue.record("gitDiff outside a repository succeeded")
      return
    }
    #expect(error.code.rawValue == -32016)
    #expect(error.data == ["httpStatus": 404, "body": ["error": "Not a git repository"]])
  }

  // MARK: CONTRACT section 8, promise 2: the repository pinned at opening

  /// A committed repository beside the workspace, holding a file whose name
  /// and content appear nowhere else.
  static func makeOutsideRepository(beside workspace: Workspace) throws -> String {
    let outside = (workspace.root as NSString).deletingLastPathComponent + "/other"
    try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
    try Workspace.git(outside, "init", "-q", "-b", "main")
    try Data("OUTSIDE-SECRET-CONTENT\n".utf8).write(to: URL(fileURLWithPath: outside + "/outside-secret-name.txt"))
    try Workspace.git(outside, "add", "-A")
    try Workspace.git(outside, "-c", "user.name=T", "-c", "user.email=t@e", "commit", "-qm", "outside")
    return outside
  }

  /// The workspace's `.git` swapped for a gitfile naming the outside
  /// repository, and a file of that name planted in the workspace.
  static func redirect(_ root: String, to outside: String) throws {
    let moved = (root as NSString).deletingLastPathComponent + "/moved-\(UUID().uuidString)"
    try FileManager.default.moveItem(atPath: root + "/.git", toPath: moved)
    try Data("gitdir: \(outside)/.git\n".utf8).write(to: URL(fileURLWithPath: root + "/.git"))
    try Data("planted\n".utf8).write(to: URL(fileURLWithPath: root + "/outside-secret-name.txt"))
  }

  static func expectNothingOutside(_ results: Result<JSONValue, ResponseError>...) {
    for result in results {
      let text: String
      switch result {
      case .success(let value): text = JSONWriter.string(value)
      case .failure(let error): text = "\(error.message) \(error.data.map(JSONWriter.string) ?? "")"
      }
      #expect(!text.contains("outside-secret-name") && !text.contains("OUTSIDE-SECRET"), "\(text)")
    }
  }

  @Test func aGitDirectoryReplacedAfterStartIsNotFollowed() async throws {
    let workspace = try Workspace()
    let outside = try Self.makeOutsideRepository(beside: workspace)
    try Self.redirect(workspace.root, to: outside)
    Self.expectNothingOutside(
      await workspace.call("gitChanges", [:]),
      await workspace.call("gitDiff", ["path": "outside-secret-name.txt"]))
  }

  @Test func aCoreWorktreeRewrittenAfterOpeningIsNotObeyed() async throws {
    let workspace = try Workspace()
    let outside = try Self.makeOutsideRepository(beside: workspace)
    let second = (workspace.root as NSString).deletingLastPathComponent + "/second"
    try FileManager.default.createDirectory(atPath: second, withIntermediateDirectories: true)
    try Workspace.git(second, "init", "-q", "-b", "main")
    try Data("mine\n".utf8).write(to: URL(fileURLWithPath: second + "/mine.txt"))
    let opened = try await workspace.call("openConversation", ["workspace": .string(second)]).get()
    let id = try #require(opened["conversationId"])
    try Workspace.git(second, "config", "core.worktree", outside)
    let changes = await workspace.call("gitChanges", ["conversationId": id])
    Self.expectNothingOutside(changes)
    #expect(try changes.get() == [["status": "A", "path": "mine.txt"]])
    // The same conversation after its .git is swapped as well.
    try Self.redirect(second, to: outside)
    Self.expectNothingOutside(
      await workspace.call("gitChanges", ["conversationId": id]),
      await workspace.call("gitDiff", ["path": "outside-secret-name.txt", "conversationId": id]))
  }
}
