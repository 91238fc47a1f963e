import Git
import Support

/// What gitDiff compares for a client path, taken from the workspace through
/// the descriptor walk: the name to look up at the base, and the working
/// tree's side already read (a file's bytes, a link's target text), so the
/// git code never opens a working-tree path.
public struct GitDiffSubject: Sendable {
  /// The workspace's real path, where its repositories are opened.
  public let workspace: String
  /// Where the path leads, for the base lookup; nil when it names no place
  /// (a loop, `..` below a missing component): then it is not found.
  public let name: RelativeName?
  public let workingTree: WorkingTreeSide

  /// Walks to `path` without following a final symlink (git diffs a link
  /// as its target text) and reads what is there, up to `maxBytes`. A link
  /// whose target leaves the workspace is `outsideWorkspace` all the same.
  public init(root: WorkspaceRoot, path: String, maxBytes: Int = GitDiff.maxBytes) throws(PathError) {
    workspace = root.path
    switch try root.lookup(path, followFinalSymlink: false) {
    case .missing(let name):
      self.name = name
      workingTree = .absent
    case .failed(let failure):
      // Something on the way is unreadable: the base may still name it.
      name = nil
      workingTree = .unreadable(failure.message)
    case .found(let item):
      if item.kind == .symlink {
        // A link that leads out is refused, as by every method; walking its
        // target only decides that, nothing is read through it.
        _ = try root.lookup(path)
      }
      name = item.relative
      workingTree = Self.read(item, maxBytes: maxBytes)
    }
  }

  /// gitDiff of the subject against its repository's base, `repository`
  /// being this workspace as its conversation pinned it.
  public func diff(
    in repository: GitWorkspace, ref: String?, maxBytes: Int = GitDiff.maxBytes
  ) throws(GitDiffError) -> GitFileDiff {
    precondition(repository.path == workspace, "a subject is diffed in its own workspace")
    guard let name else {
      if case .unreadable(let reason) = workingTree {
        throw .git(GitError(code: -1, message: "Cannot read the file: \(reason)"))
      }
      throw .notFound
    }
    return try GitDiff.diff(
      workspace: repository, path: name.text, workingTree: workingTree, ref: ref, maxBytes: maxBytes)
  }

  static func read(_ item: WorkspaceItem, maxBytes: Int) -> WorkingTreeSide {
    switch item.kind {
    case .regular:
      if item.size > maxBytes { return .tooLarge(item.size) }
      let descriptor: FileDescriptor
      switch item.openForReading() {
      case .success(let opened): descriptor = opened
      case .failure(let failure): return .unreadable(failure.message)
      }
      switch FileReading.readAll(descriptor, expected: item.size, limit: maxBytes) {
      case .success(let bytes): return .bytes(bytes)
      case .failure(.tooLarge(let size, _)): return .tooLarge(size)
      case .failure(.notRegularFile): return .special
      case .failure(.unreadable(let reason)): return .unreadable(reason)
      case .failure(let other): return .unreadable("\(other)")
      }
    case .symlink:
      guard let target = item.linkTarget() else { return .unreadable("cannot read the link") }
      return .bytes(target)
    case .directory:
      // The workspace root is never a nested repository, whatever it holds.
      return .directory(holdsGitEntry: !item.relative.isRoot && item.holdsGitEntry())
    default:
      return .special
    }
  }
}
