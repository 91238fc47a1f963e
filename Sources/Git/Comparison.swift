import Support
import CLibGit2

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
