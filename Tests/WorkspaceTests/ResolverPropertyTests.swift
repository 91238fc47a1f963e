import Foundation
import Git
import Testing

@testable import Workspace

/// Random path strings against a hostile tree: whatever the string, the
/// walk ends on the object a plain reference walk finds (same device and
/// inode, same name, same verdict), that object is under the workspace
/// (the kernel's own name for the descriptor says so), and nothing read
/// through it carries the outside secret.
///
/// The reference walks by path with `lstat`/`readlink`, which is safe only
/// because nothing changes the tree while it runs; it shares no code with
/// `WorkspaceRoot`. Set AGENT_BRIDGE_RESOLVER_SEED to replay one seed.
@Suite struct ResolverPropertyTests {
  static let secret = "OUTSIDE-SECRET-5be0"
  static let longName = String(repeating: "n", count: 300)

  static func makeTree() throws -> TempTree {
    let tree = try TempTree()
    for name in ["secret.txt", "f.txt", "a/f.txt", "top.txt"] {
      let full = tree.outside + "/" + name
      try FileManager.default.createDirectory(
        atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
      try Data(secret.utf8).write(to: URL(fileURLWithPath: full))
    }
    try tree.write("top.txt", "inside top\n")
    try tree.write("a/f.txt", "inside f\n")
    try tree.write("a/b/deep.txt", "inside deep\n")
    try tree.symlink("etc_link", to: tree.outside)
    try tree.symlink("out_rel", to: "../outside")
    try tree.symlink("x\u{600}", to: tree.outside)
    try tree.symlink("loop", to: "loop")
    try tree.symlink("self", to: ".")
    try tree.symlink("up", to: "..")
    try tree.symlink("a/up", to: "..")
    try tree.symlink("in_link", to: "a")
    try tree.symlink("file_link", to: "top.txt")
    try tree.symlink("broken", to: "nothing")
    try tree.symlink("broken_up", to: "nothing/../../outside")
    try tree.symlink("a/b/abs_in", to: tree.path + "/a")
    try tree.symlink("a/b/abs_out", to: "/etc")
    // 42 hops from chain0 to a: past the limit of 40.
    for index in 0..<41 { try tree.symlink("chain\(index)", to: "chain\(index + 1)") }
    try tree.symlink("chain41", to: "a")
    try tree.fifo("pipe")
    return tree
  }

  /// Inside names more often than the rest, so that walks get somewhere.
  static let components = ["a", "b", "a", "b", "self", "in_link", "top.txt", "f.txt", "deep.txt", "up", ".."] + [
    "a", "b", "..", ".", "", "etc_link", "out_rel", "x\u{600}", "loop", "self", "up", "in_link", "file_link",
    "broken", "broken_up", "abs_in", "abs_out", "chain0", "chain39", "top.txt", "f.txt", "deep.txt", "secret.txt",
    "missing", "workspace", "outside", "pipe", longName, "\u{301}", "a\u{301}", "é", "..\u{301}", "\u{600}",
  ]

  @Test func randomPathsStayInside() throws {
    let tree = try Self.makeTree()
    let reference = ReferenceWalk(root: tree.path)
    let prefixes = ["", "", "", "/", tree.path + "/", tree.path, tree.outside + "/", tree.path + "-evil/"]
    let seed =
      ProcessInfo.processInfo.environment["AGENT_BRIDGE_RESOLVER_SEED"].flatMap { UInt64($0) }
      ?? UInt64.random(in: 1...UInt64.max)
    var random = SeededRandom(seed: seed)
    var seen: [String: Int] = [:]
    for _ in 0..<6000 {
      let count = Int.random(in: 1...6, using: &random)
      let parts = (0..<count).map { _ in Self.components.randomElement(using: &random)! }
      let path = prefixes.randomElement(using: &random)! + parts.joined(separator: "/")
      for followFinal in [true, false] {
        let expected = reference.walk(path, followFinal: followFinal)
        let actual = Self.outcome(tree.root, path, followFinal: followFinal)
        #expect(actual == expected, "seed \(seed): \(path.debugDescription) follow \(followFinal)")
        seen[actual.kind, default: 0] += 1
      }
      if case .success(let text) = FileReading.read(root: tree.root, path: path, maxBytes: 1 << 20) {
        #expect(!text.contains(Self.secret), "seed \(seed): selectFile \(path.debugDescription)")
      }
      if let subject = try? GitDiffSubject(root: tree.root, path: path), case .bytes(let bytes) = subject.workingTree {
        #expect(!String(decoding: bytes, as: UTF8.self).contains(Self.secret), "seed \(seed): \(path.debugDescription)")
      }
    }
    // The generator reaches every kind of answer, real objects included.
    for kind in ["found", "refused", "named", "nowhere"] {
      #expect(seen[kind, default: 0] > 100, "seed \(seed): \(seen)")
    }
  }

  /// A few strings the generator may miss, each once.
  @Test(arguments: [
    "missing/../etc_link/secret.txt", "a/missing/../../etc_link", "x\u{600}/secret.txt", "chain0/f.txt",
    "broken_up", "broken_up/x", "a/up/a/up/up/secret.txt", "self/self/../outside", "a/b/abs_in/up/etc_link",
    "in_link/../a/b/abs_out/passwd", "\(longName)/../etc_link", "a/f.txt/../../etc_link",
  ])
  func awkwardPathsAgreeWithTheReference(_ path: String) throws {
    let tree = try Self.makeTree()
    let reference = ReferenceWalk(root: tree.path)
    for followFinal in [true, false] {
      #expect(Self.outcome(tree.root, path, followFinal: followFinal) == reference.walk(path, followFinal: followFinal))
    }
  }

  /// The walk's verdict, with the object's identity checked against the
  /// kernel's name for the descriptor the walk holds.
  static func outcome(_ root: WorkspaceRoot, _ path: String, followFinal: Bool) -> Outcome {
    let lookup: Lookup
    do {
      lookup = try root.lookup(path, followFinalSymlink: followFinal)
    } catch {
      return .refused
    }
    switch lookup {
    case .missing(let name): return .missing(name?.text)
    case .failed(let failure): return .failed(failure.errno)
    case .found(let item):
      let held = descriptorPath(item.handle.raw)
      let inside = held == root.path || held.hasPrefix(root.path + "/")
      #expect(inside, "\(path.debugDescription) holds \(held)")
      return .found(item.relative.text, device: UInt64(item.info.st_dev), inode: UInt64(item.info.st_ino))
    }
  }

  static func descriptorPath(_ fd: Int32) -> String {
    var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
    let count = readlink("/proc/self/fd/\(fd)", &buffer, buffer.count - 1)
    guard count > 0 else { return "?" }
    return String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
  }
}

enum Outcome: Equatable, CustomStringConvertible {
  case refused
  case missing(String?)
  case failed(Int32)
  case found(String, device: UInt64, inode: UInt64)

  var kind: String {
    switch self {
    case .refused: "refused"
    case .missing(let name): name == nil ? "nowhere" : "named"
    case .failed: "failed"
    case .found: "found"
    }
  }

  var description: String {
    switch self {
    case .refused: "refused"
    case .missing(let name): "missing(\(name.map { $0.debugDescription } ?? "nowhere"))"
    case .failed(let code): "failed(\(code))"
    case .found(let name, let device, let inode): "found(\(name.debugDescription) \(device):\(inode))"
    }
  }
}

/// The contract's walk, by path: components split on the `/` byte, `.` and
/// empty ones ignored, `..` popping a directory already reached (never
/// above the root), symlinks read and their targets walked in their place
/// (an absolute target only when it lies below the root), at most 40 of
/// them. A missing component ends it: what follows is a name, `..` in it
/// leaves no name (and climbing above the root is refused).
struct ReferenceWalk {
  let root: String

  func walk(_ path: String, followFinal: Bool) -> Outcome {
    if path.utf8.contains(0) { return .refused }
    var text = Array(path.utf8)
    if text.first == 0x2F {
      guard let rest = below(text) else { return .refused }
      text = rest
    }
    var pending = Self.components(text)
    var names: [String] = []
    var hops = 0
    while let component = pending.popLast() {
      if component == ".." {
        if names.isEmpty { return .refused }
        names.removeLast()
        continue
      }
      let here = ([root] + names + [component]).joined(separator: "/")
      var info = stat()
      if lstat(here, &info) != 0 {
        guard [ENOENT, ENOTDIR, ENAMETOOLONG].contains(errno) else { return .failed(errno) }
        return missing(names + [component], pending)
      }
      let isLast = pending.isEmpty
      if info.st_mode & S_IFMT == S_IFLNK && (!isLast || followFinal) {
        hops += 1
        guard hops <= 40, var target = Self.linkTarget(here) else { return .missing(nil) }
        if target.first == 0x2F {
          guard let rest = below(target) else { return .refused }
          names = []
          target = rest
        }
        pending += Self.components(target)
        continue
      }
      if isLast {
        return .found((names + [component]).joined(separator: "/"), device: UInt64(info.st_dev), inode: UInt64(info.st_ino))
      }
      if info.st_mode & S_IFMT != S_IFDIR { return missing(names + [component], pending) }
      names.append(component)
    }
    var info = stat()
    guard stat(([root] + names).joined(separator: "/"), &info) == 0 else { return .failed(errno) }
    return .found(names.joined(separator: "/"), device: UInt64(info.st_dev), inode: UInt64(info.st_ino))
  }

  private func missing(_ names: [String], _ rest: [String]) -> Outcome {
    var result: [String]? = names
    var depth = names.count
    for component in rest.reversed() {
      if component == ".." {
        depth -= 1
        if depth < 0 { return .refused }
        result = nil
      } else {
        depth += 1
        result?.append(component)
      }
    }
    return .missing(result?.joined(separator: "/"))
  }

  /// The bytes after the root and its `/`, or nil when not below the root.
  private func below(_ absolute: [UInt8]) -> [UInt8]? {
    let prefix = Array(root.utf8)
    guard absolute.starts(with: prefix) else { return nil }
    let rest = absolute.dropFirst(prefix.count)
    if rest.isEmpty { return [] }
    return rest.first == 0x2F ? Array(rest.dropFirst()) : nil
  }

  /// Meaningful components, last first; compared as bytes.
  static func components(_ bytes: [UInt8]) -> [String] {
    bytes.split(separator: 0x2F).filter { $0 != [0x2E] }.reversed().map { String(decoding: $0, as: UTF8.self) }
  }

  static func linkTarget(_ path: String) -> [UInt8]? {
    var buffer = [UInt8](repeating: 0, count: Int(PATH_MAX) + 1)
    let count = buffer.withUnsafeMutableBytes { readlink(path, $0.baseAddress!.assumingMemoryBound(to: CChar.self), $0.count) }
    guard count > 0 else { return nil }
    return Array(buffer[0..<count])
  }
}

/// SplitMix64: a reproducible stream from one seed.
struct SeededRandom: RandomNumberGenerator {
  var state: UInt64
  init(seed: UInt64) { state = seed }

  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
}
