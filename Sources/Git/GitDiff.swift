import Support
import CLibGit2

public enum GitDiffError: Error, Sendable, Equatable {
  /// The path is in no repository, and the workspace is in none either.
  case notRepository
  /// The `ref` the client gave names nothing in the workspace repository.
  case unknownRef(String)
  /// Neither the base nor the working tree has the path.
  case notFound
  /// The working tree has a directory there and the base nothing.
  case isDirectory
  /// A FIFO, socket or device.
  case notRegularFile
  /// One side is bigger than the limit; the size found.
  case tooLarge(Int)
  case notUTF8
  case git(GitError)

  public static func == (lhs: GitDiffError, rhs: GitDiffError) -> Bool {
    switch (lhs, rhs) {
    case (.notRepository, .notRepository), (.notFound, .notFound), (.isDirectory, .isDirectory),
      (.notRegularFile, .notRegularFile), (.notUTF8, .notUTF8):
      true
    case (.unknownRef(let a), .unknownRef(let b)): a == b
    case (.tooLarge(let a), .tooLarge(let b)): a == b
    case (.git(let a), .git(let b)): a.code == b.code && a.message == b.message
    default: false
    }
  }
}

/// gitDiff: one file's base and working-tree versions.
public enum GitDiff {
  /// Files larger than this are refused on either side (OpenHands' limit).
  public static let maxBytes = 1 << 20

  /// - Parameters:
  ///   - workspace: the workspace, with the repository pinned when its
  ///     conversation opened (its repositories are opened from it; no
  ///     working-tree file is).
  ///   - path: the name to look up at the base, relative to the workspace
  ///     (no `.` or `..`, `/`-separated). A name only: never opened.
  ///   - workingTree: what the working tree holds there, read by the caller.
  ///   - ref: the base for the workspace repository; a nested repository
  ///     keeps its own, as in gitChanges.
  public static func diff(
    workspace: GitWorkspace, path: String, workingTree: WorkingTreeSide, ref: String?, maxBytes: Int = maxBytes
  ) throws(GitDiffError) -> GitFileDiff {
    let located = try locate(path, in: workspace, ref: ref)
    // The workspace root is a directory, whatever its repository holds.
    let slash = UInt8(ascii: "/")
    if !path.utf8.split(separator: slash).contains(where: { !$0.elementsEqual([UInt8(ascii: ".")]) }) {
      throw .isDirectory
    }

    var original: [UInt8]?
    if let base = located.base, let entry = base.entry(at: located.pathInRepository) {
      switch entry.type {
      case GIT_OBJECT_BLOB:
        let blob: Blob
        do { blob = try located.repository.blob(entry.oid) } catch { throw .git(error) }
        if blob.size > maxBytes { throw .tooLarge(blob.size) }
        original = blob.bytes
      case GIT_OBJECT_COMMIT:
        // A submodule: git diffs it as this one line.
        original = Array("Subproject commit \(entry.oid.hex)".utf8)
      default:
        break  // a directory at the base: no file there
      }
    }

    var modified: [UInt8]?
    var directoryThere = false
    switch workingTree {
    case .absent:
      break
    case .bytes(let bytes):
      if bytes.count > maxBytes { throw .tooLarge(bytes.count) }
      modified = bytes
    case .tooLarge(let size):
      throw .tooLarge(size)
    case .unreadable(let reason):
      throw .git(GitError(code: -1, message: "Cannot read the file: \(reason)"))
    case .directory(let holdsGitEntry):
      if holdsGitEntry, let head = nestedHead(workspace.path + "/" + path, in: workspace) {
        modified = Array("Subproject commit \(head)".utf8)
      } else {
        directoryThere = true
      }
    case .special:
      throw .notRegularFile
    }

    if original == nil && modified == nil { throw directoryThere ? .isDirectory : .notFound }
    return GitFileDiff(original: try text(original ?? []), modified: try text(modified ?? []))
  }

  /// The repository that holds `path` (the nearest enclosing one below the
  /// workspace that lies wholly inside it, else the workspace's own), its
  /// base and the path inside it. A nested repository reaching outside is
  /// skipped: its files are the enclosing repository's.
  private static func locate(
    _ path: String, in workspace: GitWorkspace, ref: String?
  ) throws(GitDiffError) -> (repository: Repository, base: Tree?, pathInRepository: String) {
    // Split on the `/` byte: a `Character` split would keep `a\u{600}/b`
    // whole and miss the repository at `a\u{600}`.
    let components = path.utf8.split(separator: UInt8(ascii: "/")).map { Substring($0) }
    var depth = components.count - 1
    while depth >= 1 {
      let directory = workspace.path + "/" + components[0..<depth].joined(separator: "/")
      if case .repository(let found) = workspace.nested(at: directory),
        let repository = try? Repository.open(found)
      {
        let inside = components[depth...].joined(separator: "/")
        return (repository, try base(of: repository, ref: nil), inside)
      }
      depth -= 1
    }
    let repository: Repository?
    switch workspace.root() {
    case .repository(let found):
      do { repository = try Repository.open(found) } catch { throw .git(error) }
    case .none: repository = nil
    case .refused(let reason): throw .git(GitError(code: -1, message: reason))
    }
    guard let repository, let scope = WorkspaceRepository.scope(of: repository, workspace: workspace.path) else {
      throw .notRepository
    }
    return (repository, try base(of: repository, ref: ref), scope + components.joined(separator: "/"))
  }

  private static func base(of repository: Repository, ref: String?) throws(GitDiffError) -> Tree? {
    do {
      return try BaseRevision.tree(of: repository, ref: ref)
    } catch {
      switch error {
      case .unknownRef(let ref): throw .unknownRef(ref)
      case .git(let error): throw .git(error)
      }
    }
  }

  /// The HEAD commit of the repository at `directory`, for git's
  /// "Subproject commit" line; nil when there is none lying wholly inside.
  private static func nestedHead(_ directory: String, in workspace: GitWorkspace) -> String? {
    guard case .repository(let found) = workspace.nested(at: directory),
      let repository = try? Repository.open(found)
    else { return nil }
    return repository.resolveIfPresent("HEAD")?.hex
  }

  /// Strict UTF-8, CRLF and lone CR turned into LF, one trailing LF dropped:
  /// the same on both sides, so an unchanged CRLF file shows no change.
  static func text(_ bytes: [UInt8]) throws(GitDiffError) -> String {
    var normalized = Newlines.foldedToLF(bytes)
    if normalized.last == UInt8(ascii: "\n") { normalized.removeLast() }
    guard let string = String(validating: normalized, as: UTF8.self) else { throw .notUTF8 }
    return string
  }
}
