import Synchronization

/// gitChanges (no `ref`) for a watched workspace, at the cost of what
/// changed: told which paths changed since the last answer, it compares
/// only those with the index again and merges them into what it answered
/// before.
///
/// The answer is always what a fresh `GitChanges.collect` would give, as
/// long as every change to the working tree is told through `invalidate`
/// (the watcher's job; `invalidateAll` when it cannot vouch for that:
/// overflow, rescans, polling). What the file events cannot name, it
/// checks itself on every answer: the repositories are found and bounded
/// afresh each time (the same `GitWorkspace` rules, so nothing is opened
/// that a full scan would refuse), and a repository's whole working tree is
/// compared again when its base tree, index, config, `info/exclude` or
/// `info/attributes` moved, or the nested repositories changed. A
/// `.gitignore` or `.gitattributes` stands for its whole directory.
///
/// Where the events cannot be trusted to name every change, it compares
/// everything: on a network or FUSE file system (`RemoteFileSystem`), for a
/// name that is not UTF-8 (it has no exact pathspec), from the moment a
/// `.gitignore` or `.gitattributes` is a symlink or has other hard links
/// (its rules change through the other name), and, whatever the
/// events said, once the last full comparison is `fullEvery` old, so that a
/// write no event reports (through an `mmap`, say) is not missed for long.
public final class GitChangeTracker: Sendable {
  /// Past this many pending paths, one full comparison is cheaper than a
  /// pathspec that long.
  static let maxPendingPaths = 2048

  private let workspace: GitWorkspace
  private let alwaysCompared: [String]
  /// Events there do not report every write: every answer is a full one.
  private let remote: Bool
  private let fullEvery: Duration
  /// When the last full comparison was asked for; nil: none yet.
  private let lastFull = Mutex<ContinuousClock.Instant?>(nil)
  /// A `.gitignore` or `.gitattributes` was told linked: from then on
  /// every answer is a full one.
  private let linkedRules = Mutex(false)
  /// Paths told since the last answer; nil: everything.
  private let pending = Mutex<Set<String>?>(nil)
  /// Held for a whole answer: answers are made one at a time.
  private let memory = Mutex(WorkspaceScanMemory())

  /// - Parameter alwaysCompared: workspace-relative paths compared on every
  ///   answer, for what the watcher does not watch (its dropped top-level
  ///   names).
  /// - Parameter fullEvery: the longest a narrowed answer may rest on the
  ///   last full comparison.
  public init(workspace: GitWorkspace, alwaysCompared: [String] = [], fullEvery: Duration = .seconds(30)) {
    self.workspace = workspace
    self.alwaysCompared = alwaysCompared
    self.fullEvery = fullEvery
    remote = RemoteFileSystem.holds(workspace.path)
  }

  /// Paths relative to the workspace, `/`-separated, that may have changed:
  /// files, or directories ending in `/` (everything below them); "" is
  /// the whole workspace.
  public func invalidate(_ paths: some Sequence<String>) {
    pending.withLock { pending in
      for path in paths {
        guard pending != nil else { return }
        guard let normalized = Self.normalized(path) else {
          pending = nil
          return
        }
        pending?.insert(normalized)
        if pending?.count ?? 0 > Self.maxPendingPaths { pending = nil }
      }
    }
  }

  /// A `.gitignore` or `.gitattributes` is a symlink or has other hard
  /// links (the watcher's record says): its rules change through the other
  /// name with no event for this one, so every answer from now on is a
  /// full one.
  public func noteLinkedRules() { linkedRules.withLock { $0 = true } }

  /// The next answer compares everything again.
  public func invalidateAll() { pending.withLock { $0 = nil } }

  /// What `GitChanges.collect(workspace:ref: nil)` answers now.
  public func collect(isCancelled: @escaping @Sendable () -> Bool = { false }) throws(GitChangesError) -> [GitChange] {
    try collect(isCancelled: isCancelled, tuning: .standard)
  }

  func collect(isCancelled: @escaping @Sendable () -> Bool, tuning: RepositoryScan.Tuning) throws(GitChangesError)
    -> [GitChange]
  {
    try memory.withLock { memory throws(GitChangesError) -> [GitChange] in
      // Taken under the answer's lock: a path told while this answer runs
      // stays for the next one.
      var dirty = pending.withLock { pending -> Set<String>? in
        defer { pending = [] }
        return pending.map { $0.union(alwaysCompared) }
      }
      let now = ContinuousClock.now
      if remote || linkedRules.withLock({ $0 }) { dirty = nil }
      if let last = lastFull.withLock({ $0 }), now - last >= fullEvery { dirty = nil }
      if dirty == nil { lastFull.withLock { $0 = now } }
      do throws(GitChangesError) {
        return try GitChanges.collect(
          workspace: workspace, ref: nil, isCancelled: isCancelled, tuning: tuning, memory: &memory, dirty: dirty)
      } catch {
        // Half an answer's memory is no base for the next one.
        memory = WorkspaceScanMemory()
        invalidateAll()
        throw error
      }
    }
  }

  /// How many answers in a row the workspace repository's comparison was
  /// narrowed to the changed paths (0 after a full one).
  var narrowedScans: Int { memory.withLock { $0.root?.narrowedScans ?? 0 } }

  /// The path to compare again for a change at `path`; nil for everything.
  static func normalized(_ path: String) -> String? {
    if path.isEmpty || path == "/" { return nil }
    // A name that is not UTF-8 reaches here decoded with U+FFFD in it,
    // which names no file: no pathspec would compare it.
    if path.unicodeScalars.contains("\u{FFFD}") { return nil }
    let trimmed = ScanMemory.trimmingSlash(path)
    let bytes = trimmed.utf8
    let slash = bytes.lastIndex(of: UInt8(ascii: "/"))
    let name = String(decoding: slash.map { bytes[bytes.index(after: $0)...] } ?? bytes[...], as: UTF8.self)
    switch name {
    case ".gitignore", ".gitattributes":
      // Their rules apply to everything in their directory.
      guard let slash else { return nil }
      return String(decoding: bytes[...slash], as: UTF8.self)
    case ".gitmodules":
      return nil
    default:
      return path
    }
  }
}
