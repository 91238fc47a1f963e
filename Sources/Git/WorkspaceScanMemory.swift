/// The scans of one workspace's repositories kept between two gitChanges
/// (`ScanMemory` each), and the nested repositories they were made with.
struct WorkspaceScanMemory: Sendable {
  /// A depth-1 nested repository as `GitChanges.nestedRepositories` found it.
  struct NestedName: Equatable, Sendable {
    var name: String
    var repository: FoundRepository?
  }

  /// Dirty paths, split by the repository that reports them; nil: that
  /// repository's whole working tree.
  struct Routed {
    var root: Set<String>? = []
    var nested: [String: Set<String>?] = [:]
  }

  var root: ScanMemory?
  /// By nested repository name.
  var repositories: [String: ScanMemory] = [:]
  /// Nil until a first scan.
  var nested: [NestedName]?
  /// The last answer, and the repositories' changes it was made of.
  var lastAnswer: (parts: [[GitChange]], changes: [GitChange])?

  /// Sends each workspace-relative path to the repository that reports it:
  /// under a nested repository's directory (relative to it), else the
  /// workspace repository's. A nested repository's directory itself, or a
  /// path that names its whole working tree, means all of it.
  static func route(_ dirty: Set<String>, nested: [NestedName]) -> Routed {
    let reporting = Set(nested.compactMap { $0.repository == nil ? nil : $0.name })
    var routed = Routed()
    for path in dirty {
      let bytes = path.utf8
      guard let slash = bytes.firstIndex(of: UInt8(ascii: "/")) else {
        routed.root?.insert(path)
        if reporting.contains(path) { routed.nested[path] = .some(nil) }
        continue
      }
      let first = String(decoding: bytes[..<slash], as: UTF8.self)
      guard reporting.contains(first) else {
        routed.root?.insert(path)
        continue
      }
      let rest = String(decoding: bytes[bytes.index(after: slash)...], as: UTF8.self)
      if rest.isEmpty {
        routed.nested[first] = .some(nil)
      } else if let entry = routed.nested[first], entry == nil {
        continue
      } else {
        var set = routed.nested[first].flatMap { $0 } ?? []
        set.insert(rest)
        routed.nested[first] = .some(set)
      }
    }
    return routed
  }
}
