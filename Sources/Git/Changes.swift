import Support
import CLibGit2

/// One changed path, as OpenHands' git/changes reports it.
public struct GitChange: Sendable, Hashable, CustomStringConvertible {
  public enum Status: String, Sendable, Comparable {
    case added = "A"
    case modified = "M"
    case deleted = "D"
    case unmerged = "U"

    public static func < (lhs: Status, rhs: Status) -> Bool { lhs.rawValue < rhs.rawValue }
  }

  public var status: Status
  /// Relative to the workspace, `/`-separated; an untracked nested
  /// repository ends in `/`.
  public var path: String

  public init(_ status: Status, _ path: String) {
    self.status = status
    self.path = path
  }

  public var description: String { "\(status.rawValue) \(path)" }

  /// Code point order of the path (UTF-8 byte order is the same), then status.
  public static func inContractOrder(_ lhs: GitChange, _ rhs: GitChange) -> Bool {
    var left = lhs.path
    var right = rhs.path
    // memcmp over the UTF-8 bytes: every answer is sorted, and a generic
    // element-by-element comparison dominated a watched answer's cost.
    let order = left.withUTF8 { a in
      right.withUTF8 { b -> Int32 in
        let common = min(a.count, b.count)
        let bytes = common == 0 ? 0 : memcmp(a.baseAddress!, b.baseAddress!, common)
        return bytes != 0 ? bytes : Int32(a.count < b.count ? -1 : (a.count > b.count ? 1 : 0))
      }
    }
    return order == 0 ? lhs.status < rhs.status : order < 0
  }
}

public enum GitChangesError: Error, Sendable {
  /// The `ref` the client gave names nothing in the workspace repository.
  case unknownRef(String)
  case cancelled
  case git(GitError)
}

/// gitChanges: the workspace repository plus each depth-1 repository below
/// it, compared with their bases.
public enum GitChanges {
  /// - Parameters:
  ///   - workspace: the workspace, with the repository pinned when its
  ///     conversation opened.
  ///   - ref: the base for the workspace repository; nested ones keep their own.
  ///   - isCancelled: polled while working (from several threads); true
  ///     stops with `.cancelled`.
  public static func collect(
    workspace: GitWorkspace, ref: String?, isCancelled: @escaping @Sendable () -> Bool = { false }
  ) throws(GitChangesError) -> [GitChange] {
    try collect(workspace: workspace, ref: ref, isCancelled: isCancelled, tuning: .standard)
  }

  /// `tuning` lets tests drive the multi-threaded path on small trees.
  static func collect(
    workspace: GitWorkspace, ref: String?, isCancelled: @escaping @Sendable () -> Bool, tuning: RepositoryScan.Tuning
  ) throws(GitChangesError) -> [GitChange] {
    var memory = WorkspaceScanMemory()
    return try collect(
      workspace: workspace, ref: ref, isCancelled: isCancelled, tuning: tuning, memory: &memory, dirty: nil)
  }

  /// `collect`, comparing again only the `dirty` paths (relative to the
  /// workspace, see `GitChangeTracker`) of each repository whose earlier
  /// scan in `memory` still holds; everything when `dirty` is nil. The same
  /// repositories are found and bounded as by a fresh `collect`: only the
  /// working-tree comparison is narrowed.
  static func collect(
    workspace: GitWorkspace, ref: String?, isCancelled: @escaping @Sendable () -> Bool, tuning: RepositoryScan.Tuning,
    memory: inout WorkspaceScanMemory, dirty: Set<String>?
  ) throws(GitChangesError) -> [GitChange] {
    let nested = nestedRepositories(in: workspace)
    let nestedNames = nested.map { WorkspaceScanMemory.NestedName(name: $0.name, repository: $0.repository) }
    var dirty = dirty
    if memory.nested != nestedNames {
      // A repository came, went or moved: what each one's scan covers changed.
      memory = WorkspaceScanMemory()
      memory.nested = nestedNames
      dirty = nil
    }
    let routed = dirty.map { WorkspaceScanMemory.route($0, nested: nestedNames) }
    var changes: [GitChange] = []

    do {
      let found: [GitChange]
      switch workspace.root() {
      case .repository(let repository):
        found = try RepositoryScan(
          repository: repository, workspace: workspace.path, ref: ref, isCancelled: isCancelled, tuning: tuning
        ).run(memory: &memory.root, dirty: routed.flatMap { $0.root })
      case .none:
        memory.root = nil
        found = []
      case .refused(let reason):
        memory.root = nil
        throw GitError(code: -1, message: reason)
      }
      // The nested repositories report their own files; the root's view of
      // them (an untracked `app/`, a gitlink `app`) would only repeat it.
      // The boundary is a real `/`: `app` must not hide `apple.txt`.
      changes = found.filter { change in
        !nested.contains { nested in
          let name = nested.name
          return change.path == name
            || (change.path.utf8.starts(with: name.utf8)
              && change.path.utf8.dropFirst(name.utf8.count).first == UInt8(ascii: "/"))
        }
      }
    } catch let error as BaseError {
      switch error {
      case .unknownRef(let ref): throw .unknownRef(ref)
      case .git(let error): throw .git(error)
      }
    } catch let error as GitError {
      throw isCancelled() ? .cancelled : .git(error)
    } catch {
      throw .git(GitError(code: -1, message: String(describing: error)))
    }

    for nested in nested {
      if isCancelled() { throw .cancelled }
      guard let repository = nested.repository else { continue }
      do {
        var kept = memory.repositories[nested.name]
        let found = try RepositoryScan(
          repository: repository, workspace: repository.workdir, ref: nil, isCancelled: isCancelled, tuning: tuning
        ).run(memory: &kept, dirty: routed.flatMap { $0.nested[nested.name] ?? [] })
        memory.repositories[nested.name] = kept
        changes.append(contentsOf: found.map { GitChange($0.status, nested.name + "/" + $0.path) })
      } catch {
        // A nested repository that cannot be read is left out rather than
        // failing the whole answer (as OpenHands' 2026 agent-server does).
        memory.repositories[nested.name] = nil
        if isCancelled() { throw .cancelled }
      }
    }
    changes.sort(by: GitChange.inContractOrder)
    return changes
  }

  /// Depth-1, non-hidden directories (not symlinks) holding `.git` (a
  /// directory or gitfile, not a symlink), sorted, that report their own
  /// files: those whose repository lies wholly inside the workspace
  /// (`repository` set) and those whose `.git` names no valid repository
  /// (nil: left out, as before). A repository reaching outside is not
  /// listed: the workspace repository shows its directory as it would any
  /// other.
  static func nestedRepositories(in workspace: GitWorkspace) -> [(name: String, repository: FoundRepository?)] {
    FileSystem.names(in: workspace.path)
      .filter { !$0.hasPrefix(".") && FileSystem.kind(workspace.path + "/" + $0) == .directory }
      .sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
      .compactMap { name in
        switch workspace.nested(at: workspace.path + "/" + name) {
        case .none, .refused: nil
        case .unreadable: (name, nil)
        case .repository(let repository): (name, repository)
        }
      }
  }
}

/// Where the workspace sits inside its repository's working tree.
enum WorkspaceRepository {
  /// "" when the workspace is the working tree's top, `dir/` below it, nil
  /// when it is not inside the working tree at all (inside `.git`, say).
  static func scope(of repository: Repository, workspace: String) -> String? {
    guard let workdir = repository.workdir else { return nil }
    let top = FileSystem.realPath(workdir) ?? workdir
    if top == workspace { return "" }
    let prefix = top == "/" ? "/" : top + "/"
    guard workspace.utf8.starts(with: prefix.utf8) else { return nil }
    return String(decoding: workspace.utf8.dropFirst(prefix.utf8.count), as: UTF8.self) + "/"
  }
}

/// One repository's changes against its base: `git diff --name-status
/// --no-renames <base>` plus `git ls-files --others --exclude-standard`.
///
/// Two libgit2 comparisons are blended here: base to index (cached while
/// neither changes) and index to working tree, the part that stats every
/// file. A large tree's second half is split by directory over several
/// threads, each with its own repository handle, as git's preload-index
/// splits its stat calls.
struct RepositoryScan {
  /// The repository, opened exactly as found.
  let repository: FoundRepository
  /// The directory whose changes are wanted (paths come back relative to
  /// it): the workspace, or a nested repository's working tree.
  let workspace: String
  let ref: String?
  let isCancelled: @Sendable () -> Bool
  let tuning: Tuning

  struct Tuning: Sendable {
    /// Index entries below which one thread does it all.
    var parallelThreshold: Int
    var entriesPerWorker: Int
    var maxWorkers: Int

    /// `AGENT_BRIDGE_GIT_THREADS` caps the threads (1: never split).
    static let standard = Tuning(
      parallelThreshold: 4000, entriesPerWorker: 2500,
      maxWorkers: max(1, getenv("AGENT_BRIDGE_GIT_THREADS").flatMap { Int(String(cString: $0)) } ?? 4))
  }

  /// Paths relative to `workspace`; [] when the repository is not there.
  func run() throws -> [GitChange] {
    var memory: ScanMemory?
    return try run(memory: &memory, dirty: nil)
  }

  /// `run()`, comparing again only the `dirty` paths (relative to
  /// `workspace`; a directory ending in `/` stands for everything below
  /// it) when `memory` holds an earlier scan whose key still holds; the
  /// whole scope otherwise, or when `dirty` is nil. `memory` is left with
  /// this scan's (nil when it failed or found no repository).
  func run(memory: inout ScanMemory?, dirty: Set<String>?) throws -> [GitChange] {
    let earlier = memory
    memory = nil
    let pool = RepositoryPool.shared
    return try pool.with(repository, count: 1) { mains throws -> [GitChange] in
      guard let main = mains.first else { return [] }
      guard let scope = WorkspaceRepository.scope(of: main.repository, workspace: workspace) else { return [] }
      let base = try Base.tree(of: main.repository, ref: ref)
      let index = try main.index
      let named = main.repository.filesNamedByConfig
      // Rules from files no key can stamp: nothing may rest on this scan.
      let narrowable = named != nil
      let top = FileSystem.realPath(repository.workdir) ?? repository.workdir
      let settings =
        ScanMemory.Key.settingsFiles(gitdir: repository.gitdir, commondir: repository.commondir)
        + ScanMemory.Key.enclosingRuleFiles(top: top, scope: scope) + (named ?? [])
      let key = ScanMemory.Key(
        repository: repository, scope: scope,
        staged: StagedCache.Key(base: base.map { git_tree_id($0.pointer).pointee }, index: git_index_checksum(index.pointer).pointee),
        settings: settings.map { FileStamp($0) })
      let comparison = Comparison(main: main, base: base, scope: scope, isCancelled: isCancelled)

      if narrowable, let dirty, var kept = earlier, kept.key == key {
        let staged = try comparison.staged()
        // Submodules are compared every time: what moves their status
        // happens in their own git directory.
        let specs = Set(dirty.map { scope + $0 } + kept.gitlinks)
        if !specs.isEmpty {
          kept.replace(under: specs, with: try Comparison.workdir(main, pathspec: specs.sorted(), isCancelled: isCancelled))
        }
        let changes = try comparison.blend(staged: staged, unstaged: Array(kept.unstaged.values))
        kept.narrowedScans += 1
        memory = kept
        return changes
      }

      let entries = git_index_entrycount(index.pointer)
      let workers =
        entries >= tuning.parallelThreshold && tuning.maxWorkers > 1
        ? max(2, min(tuning.maxWorkers, entries / max(1, tuning.entriesPerWorker))) : 0
      func remember(_ unstaged: [WorkdirDelta]) {
        var byPath: [String: WorkdirDelta] = [:]
        byPath.reserveCapacity(unstaged.count)
        for delta in unstaged { byPath[delta.path] = delta }
        let found = ScanMemory.gitlinks(in: index, scope: scope)
        guard narrowable, !found.linkedRules else { return }
        memory = ScanMemory(key: key, unstaged: byPath, gitlinks: found.paths)
      }

      if workers == 0 {
        let staged = try comparison.staged()
        let unstaged = try Comparison.workdir(main, pathspec: scope.isEmpty ? [] : [scope], isCancelled: isCancelled)
        let changes = try comparison.blend(staged: staged, unstaged: unstaged)
        remember(unstaged)
        return changes
      }

      let buckets = WorkPlan.buckets(
        index: try main.index, workdir: main.repository.workdir ?? repository.workdir, scope: scope, count: workers)
      return try pool.with(repository, count: buckets.count) { helpers throws -> [GitChange] in
        guard helpers.count == buckets.count else { throw GitError(code: -1, message: "The repository went away") }
        // Slot 0 is this thread: the base-to-index half. The others each
        // take one bucket of the working tree with their own handle.
        var staged: Result<[String: StagedDelta], GitError> = .success([:])
        let slots = ResultSlots<[WorkdirDelta]>(count: buckets.count)
        Parallel.run(buckets.count + 1) { slot in
          if slot == 0 {
            staged = Result { () throws(GitError) in try comparison.staged() }
          } else {
            slots.store(slot - 1) { () throws(GitError) in
              try Comparison.workdir(helpers[slot - 1], pathspec: buckets[slot - 1], isCancelled: isCancelled)
            }
          }
        }
        let unstaged = try slots.collect().joined().sorted { $0.path.utf8.lexicographicallyPrecedes($1.path.utf8) }
        let changes = try comparison.blend(staged: staged.get(), unstaged: unstaged)
        remember(unstaged)
        return changes
      }
    }
  }
}

/// One index-to-working-tree difference, copied out of libgit2's diff.
struct WorkdirDelta: Sendable {
  var path: String
  var status: git_delta_t
  var newId: git_oid
  var newMode: UInt16
  var newFlags: UInt32
}

/// The comparison of one repository (through its main handle) with a base.
struct Comparison {
  let main: PooledRepository
  /// Nil is the empty tree.
  let base: Tree?
  /// Repository-relative directory to report ("" for all), ending in `/`.
  let scope: String
  let isCancelled: @Sendable () -> Bool

  var repository: Repository { main.repository }

  /// Base to index, from the cache when neither changed.
  func staged() throws(GitError) -> [String: StagedDelta] {
    let checksum = git_index_checksum(try main.index.pointer).pointee
    let key = StagedCache.Key(base: base.map { git_tree_id($0.pointer).pointee }, index: checksum)
    let cacheName = main.gitdir + "\u{0}" + scope
    if let cached = RepositoryPool.shared.cachedStaged(for: cacheName, key: key) { return cached }
    let index = try main.index
    let diff = try Self.diff(repository, pathspec: scope.isEmpty ? [] : [scope], isCancelled: isCancelled) {
      raw, options in git_diff_tree_to_index(&raw, repository.pointer, base?.pointer, index.pointer, &options)
    }
    var deltas: [String: StagedDelta] = [:]
    deltas.reserveCapacity(diff.count)
    for position in 0..<diff.count {
      let delta = diff.delta(position)
      deltas[Self.path(of: delta)] = StagedDelta(
        status: delta.status, oldId: delta.old_file.id, oldMode: delta.old_file.mode,
        oldPath: String(cString: delta.old_file.path))
    }
    RepositoryPool.shared.storeStaged(deltas, for: cacheName, key: key)
    return deltas
  }

  /// Index to working tree (with untracked files) for the paths in `pathspec`.
  static func workdir(
    _ handle: PooledRepository, pathspec: [String], isCancelled: @escaping @Sendable () -> Bool
  ) throws(GitError) -> [WorkdirDelta] {
    let flags =
      GIT_DIFF_INCLUDE_UNTRACKED.rawValue | GIT_DIFF_RECURSE_UNTRACKED_DIRS.rawValue
      | GIT_DIFF_INCLUDE_UNREADABLE.rawValue
    let index = try handle.index
    let diff = try Self.diff(handle.repository, flags: flags, pathspec: pathspec, isCancelled: isCancelled) {
      raw, options in git_diff_index_to_workdir(&raw, handle.repository.pointer, index.pointer, &options)
    }
    var deltas: [WorkdirDelta] = []
    deltas.reserveCapacity(diff.count)
    for position in 0..<diff.count {
      let delta = diff.delta(position)
      deltas.append(
        WorkdirDelta(
          path: path(of: delta), status: delta.status, newId: delta.new_file.id, newMode: delta.new_file.mode,
          newFlags: delta.new_file.flags))
    }
    return deltas
  }

  /// The two halves blended the way git blends them for `git diff <base>`.
  /// Done here rather than with git_diff_merge, which loses a path removed
  /// from the index but still on disk: git reports it deleted and untracked.
  func blend(staged: [String: StagedDelta], unstaged: [WorkdirDelta]) throws(GitError) -> [GitChange] {
    let conflicted = try main.index.conflictedPaths()
    var staged = staged
    var changes: [GitChange] = []
    func report(_ status: GitChange.Status, _ path: String) {
      changes.append(GitChange(status, String(decoding: path.utf8.dropFirst(scope.utf8.count), as: UTF8.self)))
    }

    for (position, delta) in unstaged.enumerated() {
      if position & 1023 == 1023, isCancelled() { throw GitError(code: GIT_EUSER.rawValue, message: "cancelled") }
      let path = delta.path
      let before = staged.removeValue(forKey: path)
      if conflicted.contains(path) { continue }
      switch delta.status {
      case GIT_DELTA_UNTRACKED:
        if before?.status == GIT_DELTA_DELETED { report(.deleted, path) }
        report(.added, path)
      case GIT_DELTA_MODIFIED, GIT_DELTA_TYPECHANGE:
        switch before?.status {
        case nil: report(.modified, path)
        case GIT_DELTA_ADDED?: report(.added, path)
        default:
          // Staged and then changed again: only a working tree that differs
          // from the base counts (a change undone on disk shows nothing).
          if let before, !sameContent(base: before, workdir: delta) { report(.modified, path) }
        }
      case GIT_DELTA_DELETED:
        // Added to the index and gone from disk: git shows nothing.
        if before?.status != GIT_DELTA_ADDED { report(.deleted, path) }
      default:
        // Ignored and unreadable entries are not changes; a staged change
        // still is.
        if let before { reportStaged(before, path, report) }
      }
    }
    for (path, delta) in staged where !conflicted.contains(path) {
      reportStaged(delta, path, report)
    }
    for path in conflicted where path.utf8.starts(with: scope.utf8) {
      report(.unmerged, path)
    }
    return changes
  }

  private func reportStaged(_ delta: StagedDelta, _ path: String, _ report: (GitChange.Status, String) -> Void) {
    switch delta.status {
    case GIT_DELTA_ADDED, GIT_DELTA_COPIED: report(.added, path)
    case GIT_DELTA_DELETED: report(.deleted, path)
    case GIT_DELTA_MODIFIED, GIT_DELTA_TYPECHANGE: report(.modified, path)
    case GIT_DELTA_RENAMED:
      // Never produced without rename detection; kept as git's split.
      report(.deleted, delta.oldPath)
      report(.added, path)
    case GIT_DELTA_CONFLICTED: report(.unmerged, path)
    default: break
    }
  }

  /// Whether the working-tree file is the base's blob again (same id, same mode).
  private func sameContent(base: StagedDelta, workdir: WorkdirDelta) -> Bool {
    guard base.oldMode == workdir.newMode else { return false }
    var workdirId = workdir.newId
    if workdir.newFlags & GIT_DIFF_FLAG_VALID_ID.rawValue != 0, git_oid_is_zero(&workdirId) == 0 {
      return workdirId.isEqual(to: base.oldId)
    }
    let current: git_oid?
    if UInt32(workdir.newMode) == GIT_FILEMODE_LINK.rawValue {
      current = repository.workdir.flatMap { FileSystem.linkTarget($0 + "/" + workdir.path) }.flatMap(Self.blobId)
    } else {
      current = repository.hashWorkdirFile(workdir.path)
    }
    return current?.isEqual(to: base.oldId) ?? false
  }

  private static func blobId(_ bytes: [UInt8]) -> git_oid? {
    var oid = git_oid()
    let result = bytes.withUnsafeBytes { git_odb_hash(&oid, $0.baseAddress, $0.count, GIT_OBJECT_BLOB) }
    return result == 0 ? oid : nil
  }

  static func path(of delta: git_diff_delta) -> String {
    String(cString: delta.new_file.path ?? delta.old_file.path)
  }

  /// Runs one libgit2 diff with the options every half shares. A non-empty
  /// `pathspec` is literal directories and files, which also narrows what
  /// libgit2 walks.
  static func diff(
    _ repository: Repository, flags: UInt32 = 0, pathspec: [String], isCancelled: @escaping @Sendable () -> Bool,
    _ body: (inout OpaquePointer?, inout git_diff_options) -> Int32
  ) throws(GitError) -> Diff {
    let cancel = CancelCheck(isCancelled)
    var options = git_diff_options()
    git_diff_options_init(&options, UInt32(GIT_DIFF_OPTIONS_VERSION))
    options.flags = flags | GIT_DIFF_INCLUDE_TYPECHANGE.rawValue | GIT_DIFF_SKIP_BINARY_CHECK.rawValue
    options.payload = Unmanaged.passUnretained(cancel).toOpaque()
    options.progress_cb = { _, _, _, payload in
      guard let payload else { return 0 }
      return Unmanaged<CancelCheck>.fromOpaque(payload).takeUnretainedValue().poll() ? GIT_EUSER.rawValue : 0
    }
    var raw: OpaquePointer?
    var result: Int32 = 0
    if pathspec.isEmpty {
      result = body(&raw, &options)
    } else {
      options.flags |= GIT_DIFF_DISABLE_PATHSPEC_MATCH.rawValue
      var strings: [UnsafeMutablePointer<CChar>?] = pathspec.map { strdup($0) }
      defer { strings.forEach { free($0) } }
      result = strings.withUnsafeMutableBufferPointer { buffer in
        options.pathspec = git_strarray(strings: buffer.baseAddress, count: buffer.count)
        return body(&raw, &options)
      }
    }
    withExtendedLifetime(cancel) {}
    try check(result, "Cannot compare the working tree")
    return Diff(raw!)
  }
}

/// The cancellation poll, boxed so libgit2's C callbacks can reach it.
final class CancelCheck {
  private let isCancelled: @Sendable () -> Bool
  private var calls = 0

  init(_ isCancelled: @escaping @Sendable () -> Bool) { self.isCancelled = isCancelled }

  /// Asks the closure every 256 calls: libgit2 calls back once per file.
  func poll() -> Bool {
    calls &+= 1
    return calls & 255 == 0 && isCancelled()
  }
}
