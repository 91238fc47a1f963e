import Foundation
import TestSupport
import JSONRPC
import Testing

/// gitChanges and gitDiff through the built binary: a stdio session over real
/// pipes, and `agent-bridge call`.
@Suite struct GitEndToEndTests {
  /// The agent-bridge executable next to the test bundle in .build.
  static var executable: String {
    var directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    while directory.path != "/" {
      let candidate = directory.appendingPathComponent("agent-bridge").path
      if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
      directory.deleteLastPathComponent()
    }
    return ".build/debug/agent-bridge"
  }

  static func run(_ arguments: [String], input: Data = Data()) throws -> ProgramRun {
    try Program.run(executable, arguments, input: input)
  }

  /// A repository with one edit, one untracked file with awkward bytes.
  static func makeWorkspace() throws -> String {
    let base = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("git-e2e-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: base, withIntermediateDirectories: true)
    let root = base.resolvingSymlinksInPath().path
    func git(_ arguments: String...) throws {
      try Program.run(
        "/usr/bin/git", ["-C", root, "-c", "user.name=T", "-c", "user.email=t@e"] + arguments,
        environment: ["GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": "/dev/null", "PATH": "/usr/bin:/bin"])
    }
    try git("init", "-q", "-b", "main")
    try Data("one\n".utf8).write(to: URL(fileURLWithPath: root + "/a.txt"))
    try git("add", "a.txt")
    try git("commit", "-qm", "one")
    try Data("two\n".utf8).write(to: URL(fileURLWithPath: root + "/a.txt"))
    try Data("x\n".utf8).write(to: URL(fileURLWithPath: root + "/caf\u{E9} \"q\"\t.txt"))
    return root
  }

  @Test func stdioSession() throws {
    let root = try Self.makeWorkspace()
    defer { try? FileManager.default.removeItem(atPath: root) }
    let requests = [
      #"{"jsonrpc":"2.0","id":1,"method":"gitChanges"}"#,
      #"{"jsonrpc":"2.0","id":2,"method":"gitDiff","params":{"path":"a.txt"}}"#,
      #"{"jsonrpc":"2.0","id":3,"method":"gitDiff","params":{}}"#,
      #"{"jsonrpc":"2.0","id":4,"method":"gitChanges","params":{"ref":"no-such-ref"}}"#,
    ]
    let run = try Self.run(["stdio", "--workspace", root], input: Data((requests.joined(separator: "\n") + "\n").utf8))
    #expect(run.status == 0)
    var replies: [Int64: JSONValue] = [:]
    for line in run.stdout.split(separator: UInt8(ascii: "\n")) {
      let reply = try JSONParser.parse(Array(line))
      if let id = reply["id"]?.intValue { replies[id] = reply }
    }
    #expect(replies[1]?["result"] == [["status": "M", "path": "a.txt"], ["status": "A", "path": "caf\u{E9} \"q\"\t.txt"]])
    #expect(replies[2]?["result"] == ["modified": "two", "original": "one"])
    #expect(replies[3]?["error"]?["code"] == -32602)
    #expect(replies[4]?["error"]?["code"] == -32602)
  }

  @Test func oneShotCall() throws {
    let root = try Self.makeWorkspace()
    defer { try? FileManager.default.removeItem(atPath: root) }
    let ok = try Self.run(["call", "--workspace", root, "gitDiff", #"{"path":"a.txt"}"#])
    #expect(ok.status == 0)
    #expect(String(decoding: ok.stdout, as: UTF8.self) == #"{"modified":"two","original":"one"}"# + "\n")
    let changes = try Self.run(["call", "--workspace", root, "gitChanges"])
    #expect(try JSONParser.parse(Array(changes.stdout)).arrayValue?.count == 2)

    let none = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("git-e2e-none-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: none, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: none) }
    try Data("x".utf8).write(to: none.appendingPathComponent("f"))
    let failed = try Self.run(["call", "--workspace", none.path, "gitDiff", #"{"path":"f"}"#])
    #expect(failed.status == 1)
    #expect(failed.stdout.isEmpty)
    #expect(try JSONParser.parse(Array(failed.stderr.prefix { $0 != UInt8(ascii: "\n") }))["code"] == -32016)
  }

  /// The leak of issue 12 through the real binary: on a git workspace with
  /// `etc_link -> /etc`, `nonexistent/../etc_link/shadow` once printed
  /// /etc/shadow (the missing component was cancelled as text and the rest
  /// re-opened by path). Now a missing component is the end: not found.
  @Test func aMissingComponentNeverLeadsThroughALinkOut() throws {
    let root = try Self.makeWorkspace()
    defer { try? FileManager.default.removeItem(atPath: root) }
    try FileManager.default.createSymbolicLink(atPath: root + "/etc_link", withDestinationPath: "/etc")
    let shadow = FileManager.default.contents(atPath: "/etc/shadow") ?? FileManager.default.contents(atPath: "/etc/passwd")
    let secret = String(decoding: shadow ?? Data(), as: UTF8.self).split(separator: "\n").first.map(String.init) ?? "root:"
    for path in ["nonexistent/../etc_link/shadow", "nonexistent/../etc_link/passwd", "x/y/../../etc_link/hostname"] {
      let run = try Self.run(["call", "--workspace", root, "gitDiff", #"{"path":"\#(path)"}"#])
      let output = String(decoding: run.stdout + run.stderr, as: UTF8.self)
      #expect(run.status == 1, "\(path): \(output)")
      #expect(!output.contains(secret), "\(path) leaked /etc")
      #expect(try JSONParser.parse(Array(run.stderr.prefix { $0 != UInt8(ascii: "\n") }))["code"] == -32010, "\(output)")
    }
  }
}
