#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
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
    if lhs.path == rhs.path { return lhs.status < rhs.status }
    return lhs.path.utf8.lexicographicallyPrecedes(rhs.path.utf8)
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
  ///   - workspace: the workspace's real path.
  ///   - ref: the base for the workspace repository; nested ones keep their own.
  ///   - isCancelled: polled while working; true stops with `.cancelled`.
  public static func collect(
    workspace: String, ref: String?, isCancelled: @escaping () -> Bool = { false }
  ) throws(GitChangesError) -> [GitChange] {
    let nested = nestedRepositories(in: workspace)
    var changes: [GitChange] = []

    do {
      if let root = try WorkspaceRepository.open(workspace) {
        let base: Tree?
        do {
          base = try Base.tree(of: root.repository, ref: ref)
        } catch {
          switch error {
          case .unknownRef(let ref): throw GitChangesError.unknownRef(ref)
          case .git(let error): throw GitChangesError.git(error)
          }
        }
        let found = try ChangeScanner(repository: root.repository, base: base, scope: root.scope)
          .changes(isCancelled: isCancelled)
        // The nested repositories report their own files; the root's view of
        // them (an untracked `app/`, a gitlink `app`) would only repeat it.
        // The boundary is a real `/`: `app` must not hide `apple.txt`.
        changes = found.filter { change in
          !nested.contains { name in
            change.path == name || (change.path.hasPrefix(name) && change.path.utf8.dropFirst(name.utf8.count).first == UInt8(ascii: "/"))
          }
        }
      }
    } catch let error as GitChangesError {
      throw error
    } catch let error as GitError {
      throw error.isUserCancel && isCancelled() ? .cancelled : .git(error)
    } catch {
      throw .git(GitError(code: -1, message: String(describing: error)))
    }

    for name in nested {
      if isCancelled() { throw .cancelled }
      // A nested repository that cannot be read is left out rather than
      // failing the whole answer (as OpenHands' 2026 agent-server does).
      guard let repository = try? Repository.open(workspace + "/" + name, search: false) else { continue }
      do {
        let base = try Base.tree(of: repository, ref: nil)  // nil: the empty tree
        let found = try ChangeScanner(repository: repository, base: base, scope: "").changes(isCancelled: isCancelled)
        changes.append(contentsOf: found.map { GitChange($0.status, name + "/" + $0.path) })
      } catch {
        if isCancelled() { throw .cancelled }
      }
    }
    changes.sort(by: GitChange.inContractOrder)
    return changes
  }

  /// Depth-1, non-hidden directories (not symlinks) holding `.git`, sorted.
  static func nestedRepositories(in workspace: String) -> [String] {
    FileSystem.names(in: workspace)
      .filter { !$0.hasPrefix(".") && FileSystem.kind(workspace + "/" + $0) == .directory }
      .filter { FileSystem.holdsGitDir(workspace + "/" + $0) }
      .sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
  }
}

/// The repository `git` would use in the workspace, and where the workspace
/// sits inside its working tree ("" when it is the top).
struct WorkspaceRepository {
  var repository: Repository
  /// Repository-relative directory of the workspace, "" or ending in `/`.
  var scope: String

  static func open(_ workspace: String) throws(GitError) -> WorkspaceRepository? {
    guard let repository = try Repository.open(workspace, search: true), let workdir = repository.workdir
    else { return nil }
    let top = FileSystem.realPath(workdir) ?? workdir
    if top == workspace { return WorkspaceRepository(repository: repository, scope: "") }
    let prefix = top == "/" ? "/" : top + "/"
    guard workspace.hasPrefix(prefix) else {
      // The workspace is not inside this working tree (it is inside the
      // repository's .git, say): nothing to compare.
      return nil
    }
    return WorkspaceRepository(repository: repository, scope: String(workspace.dropFirst(prefix.count)) + "/")
  }
}

/// Compares one repository's working tree and index with a base tree, the way
/// `git diff --name-status --no-renames <base>` plus
/// `git ls-files --others --exclude-standard` do, in one pass of libgit2.
struct ChangeScanner {
  let repository: Repository
  /// Nil is the empty tree.
  let base: Tree?
  /// Repository-relative directory to report ("" for all), ending in `/`.
  let scope: String

  func changes(isCancelled: @escaping () -> Bool) throws(GitError) -> [GitChange] {
    let index = try repository.index()
    let conflicted = try index.conflictedPaths()
    let cancel = CancelCheck(isCancelled)

    // Base to index, then index to working tree: the two halves git itself
    // blends for `git diff <base>`. Blending here (not with git_diff_merge)
    // keeps what libgit2's merge loses: a path removed from the index but
    // still on disk is both deleted and untracked, as git reports it.
    let staged = try diff(cancel) { raw, options in
      git_diff_tree_to_index(&raw, repository.pointer, base?.pointer, index.pointer, &options)
    }
    let unstaged = try diff(cancel, flags: GIT_DIFF_INCLUDE_UNTRACKED.rawValue
        | GIT_DIFF_RECURSE_UNTRACKED_DIRS.rawValue | GIT_DIFF_INCLUDE_UNREADABLE.rawValue) { raw, options in
      git_diff_index_to_workdir(&raw, repository.pointer, index.pointer, &options)
    }

    var stagedByPath: [String: git_diff_delta] = [:]
    stagedByPath.reserveCapacity(staged.count)
    for position in 0..<staged.count {
      let delta = staged.delta(position)
      stagedByPath[Self.path(of: delta)] = delta
    }

    var changes: [GitChange] = []
    func report(_ status: GitChange.Status, _ path: String) {
      changes.append(GitChange(status, String(decoding: path.utf8.dropFirst(scope.utf8.count), as: UTF8.self)))
    }

    for position in 0..<unstaged.count {
      if position & 1023 == 0, isCancelled() { throw GitError(code: GIT_EUSER.rawValue, message: "cancelled") }
      let delta = unstaged.delta(position)
      let path = Self.path(of: delta)
      let before = stagedByPath.removeValue(forKey: path)
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
          if let before, !sameContent(base: before.old_file, workdir: delta.new_file, path: path) {
            report(.modified, path)
          }
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
    for (path, delta) in stagedByPath where !conflicted.contains(path) {
      reportStaged(delta, path, report)
    }
    for path in conflicted where path.utf8.starts(with: scope.utf8) {
      report(.unmerged, path)
    }
    return changes
  }

  private func reportStaged(
    _ delta: git_diff_delta, _ path: String, _ report: (GitChange.Status, String) -> Void
  ) {
    switch delta.status {
    case GIT_DELTA_ADDED, GIT_DELTA_COPIED: report(.added, path)
    case GIT_DELTA_DELETED: report(.deleted, path)
    case GIT_DELTA_MODIFIED, GIT_DELTA_TYPECHANGE: report(.modified, path)
    case GIT_DELTA_RENAMED:
      // Never produced without rename detection; kept as git's split.
      report(.deleted, String(cString: delta.old_file.path))
      report(.added, path)
    case GIT_DELTA_CONFLICTED: report(.unmerged, path)
    default: break
    }
  }

  /// Whether the working-tree file is the base's blob again (same id, same mode).
  private func sameContent(base: git_diff_file, workdir: git_diff_file, path: String) -> Bool {
    guard base.mode == workdir.mode else { return false }
    var workdirId = workdir.id
    if workdir.flags & GIT_DIFF_FLAG_VALID_ID.rawValue != 0, git_oid_is_zero(&workdirId) == 0 {
      return workdirId.isEqual(to: base.id)
    }
    let current: git_oid?
    if UInt32(workdir.mode) == GIT_FILEMODE_LINK.rawValue {
      current = FileSystem.linkTarget(repository.workdir! + "/" + path).flatMap(Self.blobId)
    } else {
      current = repository.hashWorkdirFile(path)
    }
    return current?.isEqual(to: base.id) ?? false
  }

  private static func blobId(_ bytes: [UInt8]) -> git_oid? {
    var oid = git_oid()
    let result = bytes.withUnsafeBytes { git_odb_hash(&oid, $0.baseAddress, $0.count, GIT_OBJECT_BLOB) }
    return result == 0 ? oid : nil
  }

  static func path(of delta: git_diff_delta) -> String {
    String(cString: delta.new_file.path ?? delta.old_file.path)
  }

  /// Runs one libgit2 diff with the options every half shares.
  private func diff(
    _ cancel: CancelCheck, flags: UInt32 = 0,
    _ body: (inout OpaquePointer?, inout git_diff_options) -> Int32
  ) throws(GitError) -> Diff {
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
    if scope.isEmpty {
      result = body(&raw, &options)
    } else {
      // Only the workspace's part of a larger working tree: a literal
      // directory pathspec also narrows what libgit2 walks.
      options.flags |= GIT_DIFF_DISABLE_PATHSPEC_MATCH.rawValue
      let spec = strdup(scope)
      defer { free(spec) }
      var strings: [UnsafeMutablePointer<CChar>?] = [spec]
      result = strings.withUnsafeMutableBufferPointer { buffer in
        options.pathspec = git_strarray(strings: buffer.baseAddress, count: 1)
        return body(&raw, &options)
      }
    }
    try check(result, "Cannot compare the working tree")
    return Diff(raw!)
  }
}

/// The cancellation poll, boxed so libgit2's C callbacks can reach it.
final class CancelCheck {
  private let isCancelled: () -> Bool
  private var calls = 0

  init(_ isCancelled: @escaping () -> Bool) { self.isCancelled = isCancelled }

  /// Asks the closure every 256 calls: libgit2 calls back once per file.
  func poll() -> Bool {
    calls &+= 1
    return calls & 255 == 0 && isCancelled()
  }
}
