import Bridge
import Foundation
import JSONRPC
import Synchronization
import TestSupport
import Testing

/// gitDiff through the dispatcher on a hostile git workspace: whatever the
/// path string, the working-tree side is what a walk inside the workspace
/// finds, and no byte of the outside secret comes back.
@Suite struct GitDiffConfinementTests {
  static let secret = "OUTSIDE-SECRET-c41d"

  /// A committed repository `ws` holding links out (`etc_link` to an
  /// outside directory, a 41-link chain ending there, a link named with a
  /// character that joins the next `/` into one grapheme), beside
  /// `outside/` holding the secret.
  final class Hostile {
    let base: String
    let root: String
    let outside: String
    let dispatcher: Dispatcher

    init() throws {
      let made = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("git-hostile-\(UUID().uuidString)")
      try FileManager.default.createDirectory(at: made.appendingPathComponent("ws"), withIntermediateDirectories: true)
      try FileManager.default.createDirectory(
        at: made.appendingPathComponent("outside/shadow.d"), withIntermediateDirectories: true)
      let base = made.resolvingSymlinksInPath().path
      let root = base + "/ws"
      let outside = base + "/outside"
      self.base = base
      self.root = root
      self.outside = outside
      for name in ["secret.txt", "shadow", "shadow.d/f"] {
        try Data(GitDiffConfinementTests.secret.utf8).write(to: URL(fileURLWithPath: outside + "/" + name))
      }
      try GitHandlerTests.Workspace.git(root, "init", "-q", "-b", "main")
      try Data("tracked\n".utf8).write(to: URL(fileURLWithPath: root + "/tracked.txt"))
      try FileManager.default.createDirectory(atPath: root + "/src", withIntermediateDirectories: true)
      try Data("main\n".utf8).write(to: URL(fileURLWithPath: root + "/src/main.c"))
      try GitHandlerTests.Workspace.git(root, "add", "-A")
      try GitHandlerTests.Workspace.git(root, "-c", "user.name=T", "-c", "user.email=t@e", "commit", "-qm", "one")
      func link(_ name: String, _ target: String) throws {
        try FileManager.default.createSymbolicLink(atPath: root + "/" + name, withDestinationPath: target)
      }
      try link("etc_link", outside)
      try link("rel_link", "../outside")
      try link("out\u{600}", outside)
      // c0 -> c1 -> ... -> c40 -> outside: past the hop limit at c40.
      for index in 0..<40 { try link("c\(index)", "c\(index + 1)") }
      try link("c40", outside)
      try link("loop", "loop")
      try link("self", ".")
      dispatcher = try Dispatcher(options: BridgeOptions(workspace: root))
    }

    deinit { try? FileManager.default.removeItem(atPath: base) }
  }

  /// Paths that once reached outside, or that try to.
  static let hostile: [String] = [
    "nonexistent/../etc_link/shadow",
    "nonexistent/../etc_link/secret.txt",
    "nonexistent/../rel_link/secret.txt",
    "nonexistent/./../etc_link/shadow.d/f",
    "a/b/../../etc_link/shadow",
    "tracked.txt/../etc_link/shadow",
    "nonexistent/../etc_link",
    "loop/../etc_link/shadow",
    "c0/shadow",
    "c0/secret.txt",
    "out\u{600}/shadow",
    "src/../out\u{600}/secret.txt",
    "self/nonexistent/../etc_link/shadow",
    "etc_link/shadow",
    "rel_link/secret.txt",
    "etc_link/../ws/tracked.txt/../../outside/shadow",
    "nonexistent/../../outside/shadow",
    "/etc/shadow",
  ]

  @Test(arguments: hostile)
  func hostilePathsNeverReadOutside(_ path: String) async throws {
    let workspace = try Hostile()
    let result = await workspace.dispatcher.call(method: "gitDiff", params: ["path": .string(path)])
    switch result {
    case .success(let value):
      let text = JSONWriter.string(value)
      #expect(!text.contains(Self.secret), "\(path) leaked: \(text)")
      Issue.record("\(path) answered \(text); it names nothing inside the workspace")
    case .failure(let error):
      #expect([-32010, -32014].contains(error.code.rawValue), "\(path): \(error.code.rawValue) \(error.message)")
      #expect(!error.message.contains(Self.secret))
      #expect(!error.message.contains(workspace.outside))
    }
  }

  /// selectFile walks the same way: a `/` inside a grapheme cluster
  /// (`out\u{600}/shadow`) once stayed inside one component, which the
  /// kernel split and followed out.
  @Test(arguments: hostile)
  func selectFileNeverReadsOutside(_ path: String) async throws {
    let workspace = try Hostile()
    let result = await workspace.dispatcher.call(method: "selectFile", params: ["file": .string(path)])
    switch result {
    case .success(let value):
      Issue.record("\(path) answered \(JSONWriter.string(value))")
    case .failure(let error):
      #expect([-32010, -32014].contains(error.code.rawValue), "\(path): \(error.code.rawValue) \(error.message)")
      #expect(!error.message.contains(Self.secret))
    }
  }

  /// The same strings against inside files still find them.
  @Test func insidePathsStillDiff() async throws {
    let workspace = try Hostile()
    try Data("changed\n".utf8).write(to: URL(fileURLWithPath: workspace.root + "/tracked.txt"))
    for path in ["tracked.txt", "src/../tracked.txt", "self/tracked.txt", "./src/../self/tracked.txt"] {
      let value = try await workspace.dispatcher.call(method: "gitDiff", params: ["path": .string(path)]).get()
      #expect(value == ["modified": "changed", "original": "tracked"], "\(path)")
    }
    // Deleted: the base is found by name, the working tree is absent.
    try FileManager.default.removeItem(atPath: workspace.root + "/src/main.c")
    let deleted = try await workspace.dispatcher.call(method: "gitDiff", params: ["path": "self/src/main.c"]).get()
    #expect(deleted == ["modified": "", "original": "main"])
  }

  /// A directory swapped for a link out, over and over, while gitDiff and
  /// selectFile read below it: the walk reads through what it checked, so
  /// the outside bytes never come back (gitDiff once re-opened the path
  /// and leaked them dozens of times in a few thousand requests).
  @Test func aDirectorySwappedForALinkOutNeverLeaks() async throws {
    let workspace = try Hostile()
    let root = workspace.root
    try FileManager.default.createDirectory(atPath: root + "/real", withIntermediateDirectories: true)
    try Data("inside\n".utf8).write(to: URL(fileURLWithPath: root + "/real/f"))
    try Data(Self.secret.utf8).write(to: URL(fileURLWithPath: workspace.outside + "/f"))
    try FileManager.default.createSymbolicLink(atPath: root + "/link", withDestinationPath: "../outside")
    let stop = StopFlag()
    let swapper = Thread {
      var toggle = false
      while !stop.isSet {
        // rename(2) is atomic: `race` is a directory, a link out, or nothing.
        _ = rename(root + (toggle ? "/real" : "/link"), root + "/race")
        _ = rename(root + "/race", root + (toggle ? "/real" : "/link"))
        toggle.toggle()
      }
      stop.finished()
    }
    swapper.start()
    defer { stop.setAndWait() }
    let asks: [(String, JSONValue)] = [
      ("gitDiff", ["path": "race/f"]), ("selectFile", ["file": "race/f"]),
      ("gitDiff", ["path": "nonexistent/../race/f"]), ("gitDiff", ["path": "self/race/f"]),
    ]
    var leaks = 0
    var inside = 0
    for _ in 0..<1000 {
      for (method, params) in asks {
        let text: String
        switch await workspace.dispatcher.call(method: method, params: params) {
        case .success(let value): text = JSONWriter.string(value)
        case .failure(let error): text = error.message
        }
        if text.contains(Self.secret) { leaks += 1 }
        if text.contains("inside") { inside += 1 }
      }
    }
    #expect(leaks == 0, "the outside file came back \(leaks) times in 4000 requests")
    // The race was real: the inside file was read some of the time.
    #expect(inside > 0)
  }
}

/// Set once by the test, seen by the swapping thread, which says when it
/// has stopped.
final class StopFlag: Sendable {
  private let value = Atomic<Bool>(false)
  private let done = DispatchSemaphore(value: 0)
  var isSet: Bool { value.load(ordering: .relaxed) }
  func finished() { done.signal() }
  func setAndWait() {
    value.store(true, ordering: .relaxed)
    done.wait()
  }
}
