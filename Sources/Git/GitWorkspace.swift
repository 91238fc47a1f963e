/// A workspace as the git methods see it: its real path and its own
/// repository, pinned when the conversation opened.
///
/// Every gitChanges and gitDiff opens exactly the pinned git directory with
/// the pinned working tree, so replacing `.git`, rewriting a gitfile or
/// setting `core.worktree` later changes nothing (CONTRACT section 8,
/// promise 2). What that repository read outside the workspace when pinned
/// (the `.git` of a larger working tree, a linked worktree's main
/// repository, alternates) stays readable; nothing else outside becomes so.
///
/// A workspace in no repository when the conversation opened is probed
/// again on every request, as OpenHands runs git afresh each time; but a
/// repository found later is used only if it lies wholly inside the
/// workspace (the agent may have made it). One that appears above the
/// workspace needs the conversation opened again.
public struct GitWorkspace: Sendable, Equatable {
  /// The workspace's real path.
  public let path: String
  /// The repository found at opening; nil when there was none.
  let pinned: FoundRepository?
  let bounds: RepositoryBounds

  /// Pins the repository holding `path` (a real directory) as it is now.
  public init(opening path: String) {
    self.path = path
    let found = FoundRepository.find(from: path, search: true).flatMap { found in
      FileSystem.isWithin(path, found.workdir) ? found : nil
    }
    pinned = found
    if let found {
      let objects = FileSystem.realPath(found.commondir + "/objects")
      bounds = RepositoryBounds(
        workspace: path,
        trusted: [found.gitdir, found.commondir] + (objects.map { [$0] + RepositoryBounds.alternates(of: $0) } ?? []))
    } else {
      bounds = RepositoryBounds(workspace: path)
    }
  }

  /// Whether a repository was found when the conversation opened.
  public var hasPinnedRepository: Bool { pinned != nil }

  /// Whether gitChanges consults any repository now: the workspace's own
  /// or a readable depth-1 nested one. Only then does its `[]` mean "no
  /// changes" rather than "not under git".
  public func consultsRepository() -> Bool {
    if case .repository = root() { return true }
    return GitChanges.nestedRepositories(in: self).contains { $0.repository != nil }
  }

  enum Root {
    case repository(FoundRepository)
    /// No repository: none was pinned and none lies inside now, or the
    /// pinned one is gone.
    case none
    /// The pinned repository now reads from outside (its `commondir`,
    /// objects or alternates were pointed away): refused, with the reason.
    case refused(String)
  }

  /// The workspace repository for this request.
  func root() -> Root {
    guard let pinned else {
      guard let found = FoundRepository.find(from: path, search: true), bounds.admits(found),
        FileSystem.isWithin(path, found.workdir)
      else { return .none }
      return .repository(found)
    }
    guard let current = FoundRepository.at(gitdir: pinned.gitdir, workdir: pinned.workdir) else { return .none }
    guard bounds.admits(current) else {
      return .refused("The workspace repository (\(pinned.gitdir)) now reads from outside the workspace")
    }
    return .repository(current)
  }

  /// The repository at `directory` below the workspace (its `.git` a
  /// directory or gitfile, never a symlink), if it lies wholly inside the
  /// workspace. A refused one's directory is ordinary content of the
  /// enclosing repository. The pinned repository's outside directories do
  /// not count as inside here: a nested gitfile naming a larger working
  /// tree's `.git` would list that tree's files outside the workspace.
  func nested(at directory: String) -> Nested {
    guard FileSystem.holdsGitDir(directory) else { return .none }
    guard let found = FoundRepository.find(from: directory, search: false) else { return .unreadable }
    return RepositoryBounds(workspace: path).admitsNested(found) ? .repository(found) : .refused
  }

  /// The repository whose rules apply to `directory` (absolute, in the
  /// workspace): the nearest admitted nested repository at or above it,
  /// below the workspace root, else the workspace repository.
  func repository(holding directory: String) -> FoundRepository? {
    var current = directory
    while current != path && FileSystem.isWithin(current, path) {
      if case .repository(let found) = nested(at: current) { return found }
      current = FileSystem.parent(current)
    }
    if case .repository(let found) = root() { return found }
    return nil
  }

  enum Nested {
    /// No `.git` there (or only a symlinked one).
    case none
    /// A `.git` that names no valid repository.
    case unreadable
    /// A repository reaching outside the workspace.
    case refused
    case repository(FoundRepository)
  }
}
