/// The changes of one delivery, each path once: what a client needs is the
/// net effect of the window, not every step of it.
struct ChangeSet {
  private var kinds: [String: WatchChange.Kind] = [:]
  /// Directories whose own `.git` came, went or changed.
  private(set) var repositories: Set<String> = []

  /// A `.gitignore` came, went or changed: what git ignores may differ.
  private(set) var touchesIgnoreRules = false
  /// The `.gitignore`s and `.gitattributes` among the paths.
  private(set) var ruleFiles: Set<String> = []

  var isEmpty: Bool { kinds.isEmpty && repositories.isEmpty }

  mutating func addRepository(_ directory: String) { repositories.insert(directory) }

  mutating func add(_ path: String, _ kind: WatchChange.Kind) {
    if path == ".gitignore" || path.hasSuffix("/.gitignore") {
      touchesIgnoreRules = true
      ruleFiles.insert(path)
    } else if path == ".gitattributes" || path.hasSuffix("/.gitattributes") {
      ruleFiles.insert(path)
    }
    guard let earlier = kinds[path] else {
      kinds[path] = kind
      return
    }
    switch (earlier, kind) {
    // Gone and back (a file replaced, a directory swapped): it differs.
    case (.deleted, .created): kinds[path] = .changed
    // Still new to the client, whatever happened to it since.
    case (.created, .changed): break
    default: kinds[path] = kind
    }
  }

  /// In code-point path order (UTF-8 byte order).
  func sorted() -> [WatchChange] {
    kinds.map { WatchChange(path: $0.key, kind: $0.value) }
      .sorted { [UInt8].bytewiseLess(Array($0.path.utf8), Array($1.path.utf8)) }
  }
}
