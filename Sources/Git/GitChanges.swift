import Support
import CLibGit2

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
    // The root's changes, then each nested repository's that is read, in order.
    var parts: [[GitChange]] = []

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
      parts.append(found)
    } catch let error as BaseRevisionError {
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
        parts.append(found)
      } catch {
        // A nested repository that cannot be read is left out rather than
        // failing the whole answer (as OpenHands' 2026 agent-server does).
        memory.repositories[nested.name] = nil
        parts.append([])
        if isCancelled() { throw .cancelled }
      }
    }
    // The same repositories gave the same changes (a scan's own last
    // answer again, so the comparison is one of identity): so is the whole.
    if let last = memory.lastAnswer, last.parts == parts { return last.changes }
    // The nested repositories report their own files; the root's view of
    // them (an untracked `app/`, a gitlink `app`) would only repeat it.
    // The boundary is a real `/`: `app` must not hide `apple.txt`.
    var changes = parts[0].filter { change in
      !nested.contains { nested in
        let name = nested.name
        return change.path == name
          || (change.path.utf8.starts(with: name.utf8)
            && change.path.utf8.dropFirst(name.utf8.count).first == UInt8(ascii: "/"))
      }
    }
    var part = 1
    for nested in nested where nested.repository != nil {
      changes.append(contentsOf: parts[part].map { GitChange($0.status, nested.name + "/" + $0.path) })
      part += 1
    }
    changes.sort(by: GitChange.inContractOrder)
    memory.lastAnswer = (parts, changes)
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
