import Support
import CLibGit2
import Synchronization

/// Git's own ignore rules (every `.gitignore` on the way, `.git/info/exclude`,
/// `core.excludesFile`) and the index, for the repository that holds a
/// directory, as libgit2 evaluates them. Listing uses it to leave out what
/// `git status` would leave out, while keeping tracked files.
///
/// Built for a listing spread over threads (`handles` of them): each thread
/// asks ignore questions through its own repository handle (libgit2 handles
/// are not shared between threads), while the index, read once, is only read
/// from then on and is shared. The handles come from `RepositoryPool`, so a
/// warm process neither re-opens the repository nor re-parses its index,
/// and go back to it when this value goes.
public final class IgnoreRules: @unchecked Sendable {
  /// The repository's working directory, absolute, without a trailing `/`.
  public let workdir: String
  /// The repository's git directory (where its index is), a real path
  /// without a trailing `/`.
  public let gitdir: String
  private let handles: [PooledRepository]
  /// Held by the thread reading the index; the others wait on it.
  private let indexLock = Mutex(())
  /// Set (with release ordering) once the index was read, so readers on
  /// other threads can skip the lock.
  private let indexReady = Atomic<Bool>(false)
  /// The index (kept alive by `handles[0]`), nil when the repository has
  /// none libgit2 can read: nothing counts as tracked then. Written once,
  /// under `indexLock`, before `indexReady` is set.
  private var sharedIndex: OpaquePointer?

  /// The rules of the repository holding `directory` (an absolute path in
  /// `git`'s workspace): the nearest nested repository above it that the
  /// workspace admits, else the workspace's own pinned repository. A
  /// nested one reaching outside is passed over, as its directory is
  /// ordinary content of the enclosing repository (CONTRACT section 8,
  /// promise 2): its index and exclude files would otherwise tell, name by
  /// name, what an outside repository tracks. `handles` threads' worth of
  /// handles; nil when no admitted repository holds it.
  public convenience init?(holding directory: String, in git: GitWorkspace, handles count: Int = 1) {
    guard let found = git.repository(holding: directory) else { return nil }
    self.init(found, handles: count)
  }

  /// The rules of the nested repository whose working tree is exactly
  /// `directory`, when the workspace admits it; nil otherwise (the
  /// enclosing rules go on).
  public convenience init?(nestedAt directory: String, in git: GitWorkspace, handles count: Int = 1) {
    guard case .repository(let found) = git.nested(at: directory) else { return nil }
    self.init(found, handles: count)
  }

  private init?(_ found: FoundRepository, handles count: Int) {
    guard let handles = try? RepositoryPool.shared.checkout(found, count: max(1, count)),
      let first = handles.first, let workdir = first.repository.workdir
    else { return nil }
    self.workdir = workdir
    self.gitdir = found.gitdir
    self.handles = handles
    // A pooled handle may hold the index already (a warm process).
    if first.hasLoadedIndex { prepareIndex() }
  }

  deinit {
    RepositoryPool.shared.checkin(handles)
  }

  /// The path of `absolute` relative to the working directory, or nil when
  /// it is not inside it.
  public func relative(_ absolute: String) -> String? {
    if absolute == workdir { return "" }
    let prefix = workdir == "/" ? "/" : workdir + "/"
    guard absolute.hasPrefix(prefix) else { return nil }
    return String(absolute.dropFirst(prefix.count))
  }

  // MARK: Ignore rules

  /// Whether the rules ignore a path relative to the working directory
  /// (NUL-terminated UTF-8; a directory ends in `/`, which spares libgit2 a
  /// stat), including by ignoring a directory above it. Asked through the
  /// handle of `slot`, which only one thread may use at a time. Errors count
  /// as not ignored: showing a file too many beats hiding one.
  public func isIgnored(_ path: UnsafePointer<CChar>, slot: Int = 0) -> Bool {
    var ignored: Int32 = 0
    guard git_ignore_path_is_ignored(&ignored, handles[slot].repository.pointer, path) == 0 else {
      git_error_clear()
      return false
    }
    return ignored != 0
  }

  /// `isIgnored` for a path as a String; `isDirectory` adds the `/`.
  public func isIgnored(_ path: String, isDirectory: Bool) -> Bool {
    let query = isDirectory && !path.hasSuffix("/") ? path + "/" : path
    return query.withCString { isIgnored($0) }
  }

  // MARK: The index

  /// Reads the index if no thread has yet; any thread may call it, and the
  /// others wait for the one reading. Listing calls it early on one thread
  /// while others walk directories, which need no index.
  public func prepareIndex() {
    if indexReady.load(ordering: .acquiring) { return }
    indexLock.withLock { _ in
      if indexReady.load(ordering: .acquiring) { return }
      let read = try? handles[0].index
      if read == nil { git_error_clear() }
      sharedIndex = read?.pointer
      indexReady.store(true, ordering: .releasing)
    }
  }

  /// Whether the index is in memory: tracked-file questions will not wait.
  public var isIndexReady: Bool { indexReady.load(ordering: .acquiring) }

  /// The index for reading, once prepared. libgit2 only reads a sorted index
  /// for these lookups, so threads may share it.
  private var readableIndex: OpaquePointer? {
    prepareIndex()
    return sharedIndex
  }

  /// Whether the index could be read (a missing one reads as empty). When
  /// not, nothing counts as tracked, which says nothing of what is.
  public var hasReadableIndex: Bool { readableIndex != nil }

  /// Whether the index has the file (stage 0, or any stage of a conflict).
  public func isTracked(_ path: UnsafePointer<CChar>) -> Bool {
    guard let index = readableIndex else { return false }
    if git_index_get_bypath(index, path, 0) != nil { return true }
    var position = 0
    if git_index_find(&position, index, path) == 0 { return true }
    git_error_clear()
    return false
  }

  /// Where `isTracked(_:cursor:)` is in the index: questions asked in
  /// ascending path order each start from the last answer, so a whole
  /// listing costs about one comparison per file instead of a hash lookup.
  public struct Cursor {
    var position = -1
    public init() {}
  }

  /// `isTracked` for paths asked in ascending byte order with one `cursor`
  /// (the order a listing produces). Falls back to lookups for an index
  /// that ignores case, which is not sorted by bytes.
  public func isTracked(_ path: UnsafePointer<CChar>, cursor: inout Cursor) -> Bool {
    guard let index = readableIndex else { return false }
    guard git_index_caps(index) & Int32(GIT_INDEX_CAPABILITY_IGNORE_CASE.rawValue) == 0 else { return isTracked(path) }
    let count = git_index_entrycount(index)
    func isBefore(_ position: Int) -> Bool {
      guard let entry = git_index_get_byindex(index, position) else { return false }
      return strcmp(entry.pointee.path, path) < 0
    }
    // The first entry not before `path`: galloping forward from the
    // cursor, then a binary search in the last step.
    var low = max(cursor.position, 0)
    var high = low
    if low < count && isBefore(low) {
      var step = 1
      high = low + 1
      while high < count && isBefore(high) {
        low = high
        step *= 2
        high = low + step
      }
      high = min(high, count)
      // isBefore(low), and high == count or !isBefore(high).
      while high - low > 1 {
        let middle = low + (high - low) / 2
        if isBefore(middle) { low = middle } else { high = middle }
      }
    }
    cursor.position = high
    guard high < count, let entry = git_index_get_byindex(index, high) else { return false }
    return strcmp(entry.pointee.path, path) == 0
  }

  /// `isTracked` for a String path.
  public func isTracked(_ path: String) -> Bool { path.withCString { isTracked($0) } }

  /// Whether any tracked file lies below a directory (NUL-terminated, ending
  /// in `/`).
  public func hasTrackedFiles(under directory: UnsafePointer<CChar>) -> Bool {
    guard let index = readableIndex else { return false }
    var position = 0
    if git_index_find_prefix(&position, index, directory) == 0 { return true }
    git_error_clear()
    return false
  }

  /// `hasTrackedFiles` for a String path (with or without the `/`).
  public func hasTrackedFiles(under directory: String) -> Bool {
    let prefix = directory.hasSuffix("/") ? directory : directory + "/"
    return prefix.withCString { hasTrackedFiles(under: $0) }
  }
}
