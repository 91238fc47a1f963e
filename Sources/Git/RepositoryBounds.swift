import Support
import Synchronization

/// Where a repository may read from: the workspace, plus (for the workspace
/// repository only) the directories outside it that it used when the
/// conversation opened. A repository that would read objects, refs or its
/// index anywhere else is not opened (CONTRACT section 8, promise 2).
///
/// What is checked, all on real paths: the git directory, the common
/// directory, the object store and every alternate object store (libgit2
/// follows `objects/info/alternates` five levels deep), and the symlinks
/// inside those directories where libgit2 reads (`HEAD`, `index`, `refs`,
/// `packed-refs`, `config`, `info`, `objects` and its fan-out and `pack`
/// directories), and that the files it reads whole are regular. Only
/// directories inside the workspace are looked into: the agent can write
/// there, and nowhere else.
///
/// These are path strings that libgit2 opens again afterwards: a directory
/// swapped for a symlink between this check and libgit2's read is followed
/// (a time-of-check to time-of-use window, accepted because libgit2 has no
/// descriptor-relative API). Symlinks anywhere below `refs` and in the
/// object store's fan-out and `pack` directories are checked too: a ref
/// linked outside shows an outside commit id, and loose objects linked one
/// by one would then read that repository's content.
struct RepositoryBounds: Sendable, Equatable {
  /// The workspace's real path.
  let workspace: String
  /// Real paths outside the workspace that may be read, unchecked.
  let trusted: [String]

  init(workspace: String, trusted: [String] = []) {
    self.workspace = workspace
    self.trusted = trusted.filter { !FileSystem.isWithin($0, workspace) }
  }

  /// Whether `repository` reads only within bounds.
  func admits(_ repository: FoundRepository) -> Bool {
    guard isAllowed(repository.gitdir), isAllowed(repository.commondir),
      linksStayInside(repository.gitdir), linksStayInside(repository.commondir)
    else { return false }
    guard let objects = FileSystem.realPath(repository.commondir + "/objects"), isAllowed(objects) else { return false }
    return objectStoreStaysInside(objects, depth: 0)
  }

  /// `admits`, and a working tree inside the workspace too: for a
  /// repository found below the workspace, whose directory might be
  /// reached through a symlink.
  func admitsNested(_ repository: FoundRepository) -> Bool {
    guard let workdir = FileSystem.realPath(repository.workdir), FileSystem.isWithin(workdir, workspace) else {
      return false
    }
    return admits(repository)
  }

  /// The alternate object stores `objects` uses (real paths, recursively,
  /// as deep as libgit2 goes), the ones that resolve; for pinning.
  static func alternates(of objects: String, depth: Int = 0) -> [String] {
    guard depth <= maxAlternateDepth, case .content(let bytes) = readAlternates(objects) else { return [] }
    return lines(bytes).compactMap { resolve($0, from: objects, depth: depth) }.flatMap {
      [$0] + alternates(of: $0, depth: depth + 1)
    }
  }

  // MARK: Checks

  private func isAllowed(_ path: String) -> Bool {
    FileSystem.isWithin(path, workspace) || trusted.contains { FileSystem.isWithin(path, $0) }
  }

  /// A directory outside the workspace is trusted as it is; one inside is
  /// looked into, since the agent may have planted links there.
  private func isInspected(_ directory: String) -> Bool { FileSystem.isWithin(directory, workspace) }

  private static let readNames = [
    "HEAD", "index", "commondir", "refs", "packed-refs", "objects", "shallow", "config", "config.worktree", "info",
  ]

  /// The files libgit2 opens and reads whole in a git or common directory.
  private static let readFiles = [
    "HEAD", "index", "commondir", "packed-refs", "shallow", "config", "config.worktree", "info/exclude",
  ]

  /// The entries libgit2 reads in a git or common directory that are
  /// symlinks all resolve within bounds, and the files it reads are
  /// regular files: a FIFO there would block libgit2's open for ever,
  /// where no cancellation reaches.
  private func linksStayInside(_ directory: String) -> Bool {
    guard isInspected(directory) else { return true }
    for name in Self.readNames where FileSystem.kind(directory + "/" + name) == .symlink {
      guard let target = FileSystem.realPath(directory + "/" + name), isAllowed(target) else { return false }
    }
    for name in Self.readFiles {
      if let info = FileSystem.followed(directory + "/" + name), !info.isRegular { return false }
    }
    // A ref linked to an outside ref file would show an outside commit id,
    // the first step to reading that repository's objects.
    return symlinksStayInside(below: directory + "/refs", maxDepth: 32)
  }

  /// Every symlink below `directory` (not entered through one) resolves
  /// within bounds.
  private func symlinksStayInside(below directory: String, maxDepth: Int) -> Bool {
    for link in FileSystem.symlinks(below: directory, maxDepth: maxDepth) {
      // "" stands for a tree too large to vouch for.
      if link.isEmpty { return false }
      // A broken link reads nothing.
      guard let target = FileSystem.realPath(directory + "/" + link) else { continue }
      if !isAllowed(target) { return false }
    }
    return true
  }

  /// An object store (a real path): its symlinked entries (fan-out
  /// directories, `pack`, `info`) and its alternates, recursively.
  private func objectStoreStaysInside(_ objects: String, depth: Int) -> Bool {
    guard isInspected(objects) else { return true }
    for name in FileSystem.symlinks(in: objects) {
      guard let target = FileSystem.realPath(objects + "/" + name), isAllowed(target) else { return false }
    }
    // Loose objects and packs linked one by one to another store's: the
    // agent can name an outside object once it knows its id.
    guard objectLinksStayInside(objects) else { return false }
    // libgit2 does not read alternates past this depth.
    guard depth <= Self.maxAlternateDepth else { return true }
    switch Self.readAlternates(objects) {
    case .missing: return true
    case .refused: return false
    case .content(let bytes):
      for line in Self.lines(bytes) {
        // One that does not resolve now might by the time libgit2 looks.
        guard let alternate = Self.resolve(line, from: objects, depth: depth), isAllowed(alternate),
          objectStoreStaysInside(alternate, depth: depth + 1)
        else { return false }
      }
      return true
    }
  }

  private static let maxAlternateDepth = 5

  /// The symlinks in an object store's fan-out and `pack` directories all
  /// resolve within bounds. A store may hold tens of thousands of loose
  /// objects and this runs on every request, so a directory found clean is
  /// remembered with its inode and change times, which a link planted in it
  /// since (or any other entry added, removed or renamed) changes.
  private func objectLinksStayInside(_ objects: String) -> Bool {
    for name in FileSystem.names(in: objects) {
      let directory = objects + "/" + name
      guard let stamp = DirectoryStamp(directory) else { continue }
      if Self.cleanDirectories.withLock({ $0[directory] == stamp }) { continue }
      for link in FileSystem.symlinks(in: directory) {
        guard let target = FileSystem.realPath(directory + "/" + link) else { continue }
        if !isAllowed(target) { return false }
      }
      Self.cleanDirectories.withLock { clean in
        if clean.count >= Self.maxRemembered { clean.removeAll() }
        clean[directory] = stamp
      }
    }
    return true
  }

  /// Object store directories found without a link out, and their stamps.
  private static let cleanDirectories = Mutex<[String: DirectoryStamp]>([:])
  private static let maxRemembered = 1 << 14

  /// What changes when a directory's entries do: its inode and its
  /// modification and status-change times, to the nanosecond.
  private struct DirectoryStamp: Equatable {
    var inode: UInt64
    var modified: timespec
    var changed: timespec

    /// nil unless `path` is a directory itself (not a link to one).
    init?(_ path: String) {
      var info = stat()
      guard lstat(path, &info) == 0, info.st_mode & S_IFMT == S_IFDIR else { return nil }
      inode = UInt64(info.st_ino)
      modified = info.st_mtim
      changed = info.st_ctim
    }

    static func == (lhs: DirectoryStamp, rhs: DirectoryStamp) -> Bool {
      lhs.inode == rhs.inode && lhs.modified.tv_sec == rhs.modified.tv_sec
        && lhs.modified.tv_nsec == rhs.modified.tv_nsec && lhs.changed.tv_sec == rhs.changed.tv_sec
        && lhs.changed.tv_nsec == rhs.changed.tv_nsec
    }
  }

  /// `info/alternates`, never through a symlink (the `info` directory's
  /// own link, if any, was checked with the store's entries).
  private static func readAlternates(_ objects: String) -> FileSystem.Metadata {
    FileSystem.readMetadata(objects + "/info/alternates", followLinks: false)
  }

  /// libgit2's reading: lines split at CR or LF, empty ones and `#`
  /// comments skipped.
  private static func lines(_ bytes: [UInt8]) -> [String] {
    bytes.split { $0 == 10 || $0 == 13 }.map { String(decoding: $0, as: UTF8.self) }
      .filter { !$0.isEmpty && !$0.hasPrefix("#") }
  }

  /// An alternate's real path. libgit2 takes a line starting with `.` in
  /// the first store relative to that store, and any other relative line
  /// relative to the process's current directory.
  private static func resolve(_ line: String, from objects: String, depth: Int) -> String? {
    FileSystem.realPath(line.hasPrefix(".") && depth == 0 ? objects + "/" + line : line)
  }
}
