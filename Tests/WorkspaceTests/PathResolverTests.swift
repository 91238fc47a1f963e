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
    #expect(throws: PathError.outsideWorkspace) { try tree.root.resolve(path) }
    let read = FileReading.read(root: tree.root, path: path, maxBytes: 1 << 20)
    #expect(read == .failure(.outsideWorkspace))
  }

  @Test func absolutePathsOutsideOrOnlySharingAPrefixAreRefused() throws {
    let tree = try Self.makeTree()
    #expect(throws: PathError.outsideWorkspace) { try tree.root.resolve(tree.outside + "/secret.txt") }
    #expect(throws: PathError.outsideWorkspace) { try tree.root.resolve(tree.path + "-evil/x") }
    #expect(throws: PathError.outsideWorkspace) { try tree.root.resolve(tree.path + "/../outside/secret.txt") }
  }

  @Test func nulByteIsInvalid() throws {
    let tree = try Self.makeTree()
    #expect(throws: PathError.invalid("NUL byte in path")) { try tree.root.resolve("src/main.c\u{0}.txt") }
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
    #expect(try tree.root.resolve("inside-link").relative == "src/main.c")
    #expect(try tree.root.resolve("abs-inside").relative == "src/main.c")
    #expect(try tree.root.resolve("dirlink/main.c").relative == "src/main.c")
    #expect(try tree.root.resolve(tree.path + "/src/main.c").relative == "src/main.c")
    #expect(try tree.root.resolve("src/../src/./main.c").relative == "src/main.c")
    #expect(try tree.root.resolve("").relative == "")
    #expect(try tree.root.resolve(tree.path).absolute == tree.path)
    #expect(try tree.root.resolve("new/file.txt").absolute == tree.path + "/new/file.txt")
    #expect(try FileReading.read(root: tree.root, path: "inside-link", maxBytes: 100).get().hasPrefix("int main"))
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
