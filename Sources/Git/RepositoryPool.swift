import Support
import CLibGit2
import Synchronization

/// Open repositories kept between requests, so that a warm process does not
/// re-open the repository and re-parse a large index on every gitChanges.
///
/// Handles are keyed by the git directory they were opened at and the working
/// tree forced on them (`FoundRepository`): a workspace's pinned repository
/// and a nested one found at the same place share handles, and a handle is
/// never reused for a different working tree.
///
/// A handle is checked out by one request and used by one thread at a time,
/// then checked back in: never shared. A handle is dropped when its
/// repository may have changed under it in a way libgit2 does not notice
/// itself: the `.git` directory replaced, or the config rewritten (libgit2
/// caches core.* settings such as autocrlf per handle). The index, refs,
/// packs and ignore files libgit2 re-checks on its own.
final class RepositoryPool: Sendable {
  static let shared = RepositoryPool()

  /// Idle handles per repository: its git directory and forced working tree.
  private let idle = Mutex<[Key: [PooledRepository]]>([:])
  /// Cached base-to-index comparisons, keyed by repository path.
  private let stagedCache = Mutex<[String: StagedCache]>([:])
  private static let maxIdlePerKey = 24
  private static let maxKeys = 16

  struct Key: Hashable {
    var gitdir: String
    var workdir: String
    init(_ found: FoundRepository) {
      gitdir = found.gitdir
      workdir = found.workdir
    }
  }

  /// Up to `count` handles on exactly the repository `found` names, or []
  /// when it is not there as found.
  func checkout(_ found: FoundRepository, count: Int) throws(GitError) -> [PooledRepository] {
    let key = Key(found)
    var handles: [PooledRepository] = idle.withLock { table in
      var list = table[key] ?? []
      let taken = Array(list.suffix(count))
      list.removeLast(taken.count)
      table[key] = list
      return taken
    }
    handles.removeAll { !$0.isCurrent(found) }
    while handles.count < count {
      guard let repository = try Repository.open(found) else { return [] }
      handles.append(try PooledRepository(repository, found: found))
    }
    for handle in handles { try handle.refreshIndex() }
    return handles
  }

  func checkin(_ handles: [PooledRepository]) {
    guard let first = handles.first else { return }
    let key = Key(first.found)
    idle.withLock { table in
      if table[key] == nil && table.count >= Self.maxKeys { table.removeAll() }
      var list = table[key] ?? []
      list.append(contentsOf: handles)
      if list.count > Self.maxIdlePerKey { list.removeFirst(list.count - Self.maxIdlePerKey) }
      table[key] = list
    }
  }

  /// Runs `body` with handles checked out, checking them back in after.
  func with<T>(_ found: FoundRepository, count: Int, _ body: ([PooledRepository]) throws -> T) throws -> T {
    let handles = try checkout(found, count: count)
    defer { checkin(handles) }
    return try body(handles)
  }

  func cachedStaged(for gitdir: String, key: StagedCache.Key) -> [String: StagedDelta]? {
    stagedCache.withLock { cache in
      guard let entry = cache[gitdir], entry.key == key else { return nil }
      return entry.deltas
    }
  }

  func storeStaged(_ deltas: [String: StagedDelta], for gitdir: String, key: StagedCache.Key) {
    stagedCache.withLock { cache in
      if cache[gitdir] == nil && cache.count >= Self.maxKeys { cache.removeAll() }
      cache[gitdir] = StagedCache(key: key, deltas: deltas)
    }
  }
}

/// A repository handle with its index, and what it was opened against.
///
/// `@unchecked Sendable` because it moves between threads through the pool,
/// but is only ever used by the one request (and thread) that checked it out.
final class PooledRepository: @unchecked Sendable {
  let repository: Repository
  private var loadedIndex: Index?
  /// The repository's own directory (`.git`), with a trailing slash.
  let gitdir: String
  /// What it was opened as.
  let found: FoundRepository
  private let identity: Identity

  init(_ repository: Repository, found: FoundRepository) throws(GitError) {
    self.repository = repository
    self.found = found
    self.gitdir = String(cString: git_repository_path(repository.pointer))
    let commondir = String(cString: git_repository_commondir(repository.pointer))
    identity = Identity(gitdir: gitdir, commondir: commondir)
  }

  func isCurrent(_ found: FoundRepository) -> Bool {
    found == self.found && identity == Identity(gitdir: identity.gitdir, commondir: identity.commondir)
  }

  /// The index, read on first use: a listing's extra handles only ask
  /// about ignore rules and never need it.
  var index: Index {
    get throws(GitError) {
      if let loadedIndex { return loadedIndex }
      let index = try repository.index()
      loadedIndex = index
      return index
    }
  }

  /// Whether `index` is already in memory (reading it costs milliseconds
  /// on a large repository).
  var hasLoadedIndex: Bool { loadedIndex != nil }

  /// Re-reads the index when the file changed on disk (a stat when not);
  /// nothing when it was never read.
  func refreshIndex() throws(GitError) {
    guard let loadedIndex else { return }
    try check(git_index_read(loadedIndex.pointer, 0), "Cannot read the index")
  }

  /// The stat facts that say whether a handle still describes the repository.
  struct Identity: Equatable {
    var gitdir: String
    var commondir: String
    /// Device and inode only: the directory's mtime moves with every index
    /// lock a `git status` takes, even when it writes nothing.
    var gitdirNode: [UInt64]?
    var configStamp: FileStamp?
    var worktreeConfigStamp: FileStamp?

    init(gitdir: String, commondir: String) {
      self.gitdir = gitdir
      self.commondir = commondir
      gitdirNode = FileStamp(gitdir, followingLinks: false).map { [$0.device, $0.inode] }
      configStamp = FileStamp(commondir + "config", followingLinks: false)
      worktreeConfigStamp = FileStamp(gitdir + "config.worktree", followingLinks: false)
    }
  }

}

/// The base-to-index half of a comparison, reusable while neither the base
/// tree nor the index changes (the common case between two refreshes).
struct StagedCache: Sendable {
  struct Key: Equatable, Sendable {
    var base: git_oid?
    var index: git_oid

    static func == (lhs: Key, rhs: Key) -> Bool {
      lhs.index.isEqual(to: rhs.index)
        && (lhs.base == nil) == (rhs.base == nil)
        && (lhs.base.map { $0.isEqual(to: rhs.base!) } ?? true)
    }
  }
  var key: Key
  var deltas: [String: StagedDelta]
}

/// One base-to-index difference, copied out of libgit2's diff.
struct StagedDelta: Sendable {
  var status: git_delta_t
  var oldId: git_oid
  var oldMode: UInt16
  var oldPath: String
}
