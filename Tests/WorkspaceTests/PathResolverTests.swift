import Foundation
import Testing
import Workspace

/// Every way a client path could leave the workspace, tried against the
/// resolver and against the methods that read through it.
@Suite struct PathResolverTests {
  static let secret = "OUTSIDE-SECRET-7f3a9c"

  /// A workspace with inside links, outside links, chains and loops, next
  /// to an `outside` directory holding the secret.
  static func makeTree() throws -> TempTree {
    let tree = try TempTree()
    try Data(secret.utf8).write(to: URL(fileURLWithPath: tree.outside + "/secret.txt"))
    try tree.write("src/main.c", "int main(void) { return 0; }\n")
    try tree.symlink("linkdir-out", to: "../outside")
    try tree.symlink("linkdir-abs", to: tree.outside)
    try tree.symlink("linkfile-out", to: "../outside/secret.txt")
    try tree.symlink("chain1", to: "chain2")
    try tree.symlink("chain2", to: "src/../chain3")
    try tree.symlink("chain3", to: "../outside/secret.txt")
    try tree.symlink("inside-link", to: "src/main.c")
    try tree.symlink("abs-inside", to: tree.path + "/src/main.c")
    try tree.symlink("dirlink", to: "src")
    try tree.symlink("loop1", to: "loop2")
    try tree.symlink("loop2", to: "loop1")
    try tree.mkdir("deep")
    try tree.symlink("deep/dotdot", to: "../..")
    try tree.symlink("src/up", to: "..")
    return tree
  }

  /// Paths that must be refused as outside the workspace.
  static let escapes: [String] = [
    "../outside/secret.txt",
    "/etc/passwd",
    "src/../../outside/secret.txt",
    "linkdir-out/secret.txt",
    "linkdir-out",
    "linkfile-out",
    "chain1",
    "dirlink/../../outside/secret.txt",
    "linkdir-abs/secret.txt",
    "deep/dotdot/outside/secret.txt",
    "./../outside",
    "src/./../../",
    "src/up/../outside/secret.txt",
    "..",
  ]

  @Test(arguments: escapes)
  func escapeIsRefused(_ path: String) throws {
    let tree = try Self.makeTree()
    #expect(throws: PathError.outsideWorkspace) { try tree.root.lookup(path) }
    let read = FileReading.read(root: tree.root, path: path, maxBytes: 1 << 20)
    #expect(read == .failure(.outsideWorkspace))
  }

  @Test func absolutePathsOutsideOrOnlySharingAPrefixAreRefused() throws {
    let tree = try Self.makeTree()
    #expect(throws: PathError.outsideWorkspace) { try tree.root.lookup(tree.outside + "/secret.txt") }
    #expect(throws: PathError.outsideWorkspace) { try tree.root.lookup(tree.path + "-evil/x") }
    #expect(throws: PathError.outsideWorkspace) { try tree.root.lookup(tree.path + "/../outside/secret.txt") }
  }

  @Test func nulByteIsInvalid() throws {
    let tree = try Self.makeTree()
    #expect(throws: PathError.invalid("NUL byte in path")) { try tree.root.lookup("src/main.c\u{0}.txt") }
  }

  @Test func literalNamesThatLookEncodedAreJustNames() throws {
    let tree = try Self.makeTree()
    for path in ["..%2Foutside%2Fsecret.txt", "..\\outside\\secret.txt", "%2e%2e/outside/secret.txt"] {
      let read = FileReading.read(root: tree.root, path: path, maxBytes: 1 << 20)
      #expect(read == .failure(.notFound), "\(path)")
    }
  }

  @Test func loopsAreMissingNotHangs() throws {
    let tree = try Self.makeTree()
    guard case .missing = try tree.root.lookup("loop1") else {
      Issue.record("a symlink loop should resolve as missing")
      return
    }
  }

  @Test func insideLinksAndAbsoluteInsidePathsResolve() throws {
    let tree = try Self.makeTree()
    let root = tree.root
    #expect(try root.foundName("inside-link") == "src/main.c")
    #expect(try root.foundName("abs-inside") == "src/main.c")
    #expect(try root.foundName("dirlink/main.c") == "src/main.c")
    #expect(try root.foundName(tree.path + "/src/main.c") == "src/main.c")
    #expect(try root.foundName("src/../src/./main.c") == "src/main.c")
    #expect(try root.foundName("") == "")
    #expect(try root.foundName(tree.path) == "")
    #expect(try FileReading.read(root: tree.root, path: "inside-link", maxBytes: 100).get().hasPrefix("int main"))
  }

  /// A missing component is the end of the walk: what follows is a name
  /// (for git's tree), never looked at; `..` below it names nothing, so it
  /// cannot cancel the missing component and walk on (`missing/../link`
  /// once went through `link` as text).
  @Test func missingComponentsAreNamesOnly() throws {
    let tree = try Self.makeTree()
    let root = tree.root
    #expect(try root.missingName("new/file.txt") == "new/file.txt")
    #expect(try root.missingName("src/new/../") == nil)
    #expect(try root.missingName("nonexistent/../linkdir-out/secret.txt") == nil)
    #expect(try root.missingName("nonexistent/../linkfile-out") == nil)
    #expect(try root.missingName("nonexistent/linkdir-out/secret.txt") == "nonexistent/linkdir-out/secret.txt")
    #expect(try root.missingName("dirlink/new.c") == "src/new.c")
    #expect(try root.missingName("src/main.c/x") == "src/main.c/x")
    #expect(try root.missingName("loop1/x") == nil)
    for path in ["nonexistent/../linkdir-out/secret.txt", "nonexistent/../linkfile-out", "loop1/../src/main.c"] {
      #expect(FileReading.read(root: root, path: path, maxBytes: 100) == .failure(.notFound), "\(path)")
    }
    // Counted all the same: climbing above the root is refused.
    for path in ["nonexistent/../../outside/secret.txt", "src/new/../../../outside"] {
      #expect(throws: PathError.outsideWorkspace, "\(path)") { try root.lookup(path) }
    }
  }

  /// The path is split on the `/` byte: a `Character` split keeps
  /// `link\u{600}/secret.txt` whole (U+0600 joins the next character into
  /// one grapheme cluster), and the kernel then follows `link\u{600}` out.
  @Test func slashesInsideGraphemeClustersStillSeparate() throws {
    let tree = try Self.makeTree()
    try tree.symlink("out\u{600}", to: tree.outside)
    try tree.symlink("in\u{600}", to: "src")
    for path in ["out\u{600}/secret.txt", "src/../out\u{600}/secret.txt"] {
      #expect(throws: PathError.outsideWorkspace, "\(path)") { try tree.root.lookup(path) }
      #expect(FileReading.read(root: tree.root, path: path, maxBytes: 100) == .failure(.outsideWorkspace))
    }
    #expect(try tree.root.foundName("in\u{600}/main.c") == "src/main.c")
  }

  /// A directory swapped for a symlink to outside, over and over, while the
  /// file below it is read: the walk holds what it checked, so the secret
  /// never comes back (a realpath-then-open resolver loses this race).
  @Test func swappingADirectoryForALinkNeverLeaks() async throws {
    let tree = try Self.makeTree()
    try Data(Self.secret.utf8).write(to: URL(fileURLWithPath: tree.outside + "/f"))
    try tree.write("real/f", "inside")
    try tree.symlink("link", to: "../outside")
    let base = tree.path
    let stop = Flag()
    let finished = DispatchSemaphore(value: 0)
    let swapper = Thread {
      defer { finished.signal() }
      var toggle = false
      while !stop.isSet {
        // rename(2) is atomic: `race` is always a directory or a link out.
        _ = rename(base + (toggle ? "/real" : "/link"), base + "/race")
        _ = rename(base + "/race", base + (toggle ? "/real" : "/link"))
        toggle.toggle()
      }
    }
    swapper.start()
    defer {
      stop.set()
      finished.wait()
    }
    for _ in 0..<3000 {
      switch FileReading.read(root: tree.root, path: "race/f", maxBytes: 100) {
      case .success(let text):
        #expect(!text.contains(Self.secret))
      case .failure(let error):
        #expect(error == .outsideWorkspace || error == .notFound || error == .unreadable("Stale file handle"))
      }
    }
  }
}

final class Flag: @unchecked Sendable {
  private let lock = NSLock()
  private var value = false
  var isSet: Bool { lock.withLock { value } }
  func set() { lock.withLock { value = true } }
}

extension WorkspaceRoot {
  /// The name of what a path leads to, or nil when nothing is there.
  func foundName(_ path: String) throws -> String? {
    guard case .found(let item) = try lookup(path) else { return nil }
    return item.relative.text
  }

  /// The name a missing path is given, nil when it names no place; fails
  /// the test when something is there.
  func missingName(_ path: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> String? {
    switch try lookup(path) {
    case .missing(let name): return name?.text
    case .found(let item):
      Issue.record("\(path) was found at \(item.relative)", sourceLocation: sourceLocation)
      return nil
    case .failed(let failure):
      Issue.record("\(path) failed: \(failure.message)", sourceLocation: sourceLocation)
      return nil
    }
  }
}
