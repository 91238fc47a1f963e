/// Where events said to look, gathered over one debounce window. Bounded by
/// the tree, not by the events: one entry per directory, a capped set of
/// names in each (past the cap the whole directory is read again).
struct ChangeHints {
  static let maxNamesPerDirectory = 4096

  /// Directory (relative to the root) to the names events mentioned in it;
  /// nil names: read the whole directory.
  private(set) var directories: [String: Set<[UInt8]>?] = [:]
  /// A repository's HEAD, index or refs changed.
  var git = false
  /// Repositories whose `.git/refs` gained a directory (it needs a watch).
  var gitRewatch: Set<String> = []
  /// Directories whose watch the kernel dropped (deleted, or moved out of
  /// the workspace): a directory made in their place may get the same inode
  /// number, so their parent must not take it for the one it knew.
  private(set) var replaced: Set<String> = []
  /// Events were lost: only a full rescan can tell what changed.
  private(set) var overflow = false
  var workspaceDeleted = false
  /// What decides the ignore rules moved outside the watched tree (config,
  /// `info/exclude`, the user's excludes file).
  var rules = false
  /// A repository's config, `info/exclude` or `info/attributes` was
  /// written: whether the rules moved is for `IgnoreRulesStamp` to say.
  var settings = false
  /// Events since the last delivery, for the queue-size test hook.
  private(set) var events = 0

  var isEmpty: Bool {
    directories.isEmpty && replaced.isEmpty && !git && gitRewatch.isEmpty && !overflow && !workspaceDeleted && !rules
      && !settings
  }

  mutating func count() { events += 1 }

  mutating func mark(_ directory: String, _ name: [UInt8]) {
    if overflow { return }
    if let existing = directories[directory] {
      guard var names = existing else { return }
      names.insert(name)
      directories[directory] = names.count > Self.maxNamesPerDirectory ? .some(nil) : .some(names)
    } else {
      directories[directory] = .some([name])
    }
  }

  /// `directory` (not the root) lost its watch: its parent looks at it again.
  mutating func markReplaced(_ directory: String) {
    replaced.insert(directory)
    let bytes = Array(directory.utf8)
    if let slash = bytes.lastIndex(of: UInt8(ascii: "/")) {
      mark(String(decoding: bytes[..<slash], as: UTF8.self), Array(bytes[(slash + 1)...]))
    } else {
      mark("", bytes)
    }
  }

  mutating func markOverflow() {
    overflow = true
    directories = [:]
  }

  /// Parents before children, so that a directory removed or replaced is
  /// settled before anything below it is looked at.
  func ordered() -> [(directory: String, names: Set<[UInt8]>?)] {
    directories.map { (directory: $0.key, names: $0.value) }.sorted { a, b in
      let depthA = a.directory.isEmpty ? 0 : a.directory.utf8.count(where: { $0 == 0x2F }) + 1
      let depthB = b.directory.isEmpty ? 0 : b.directory.utf8.count(where: { $0 == 0x2F }) + 1
      if depthA != depthB { return depthA < depthB }
      return [UInt8].bytewiseLess(Array(a.directory.utf8), Array(b.directory.utf8))
    }
  }
}
