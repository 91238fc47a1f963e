/// A repository located on disk, before anything opens it: its git directory,
/// its common directory and the directory whose `.git` named it, which is its
/// working tree whatever `core.worktree` or a worktree's `gitdir` file say.
/// All real paths, without a trailing slash.
///
/// Found here rather than by libgit2's own search so that a repository can
/// be checked against the workspace (`RepositoryBounds`) before it is opened,
/// and opened afterwards at exactly this git directory.
struct FoundRepository: Sendable, Hashable {
  var gitdir: String
  var commondir: String
  var workdir: String

  /// The repository at `directory` (through its `.git` directory or gitfile)
  /// or, with `search`, the first one on the way up, in libgit2's order: at
  /// each level `.git` first, then the directory itself; a gitfile ends the
  /// search either way; never across a file-system boundary.
  ///
  /// Nil when there is none, or when the first one found is a git
  /// directory itself (a bare repository, or a workspace inside `.git`):
  /// neither has a working tree to compare.
  static func find(from directory: String, search: Bool) -> FoundRepository? {
    var path = directory
    var device: UInt64?
    func sameDevice(_ info: FileSystem.Followed) -> Bool {
      if device == nil { device = info.device }
      return info.device == device
    }
    while true {
      let dotGit = (path == "/" ? "" : path) + "/.git"
      if let info = FileSystem.followed(dotGit) {
        guard sameDevice(info) else { return nil }
        if info.isDirectory, let found = valid(gitdir: dotGit, workdir: path) { return found }
        if info.isRegular {
          guard let target = gitfileTarget(dotGit, in: path) else { return nil }
          return valid(gitdir: target, workdir: path)
        }
      }
      if let info = FileSystem.followed(path) {
        guard sameDevice(info) else { return nil }
        if info.isDirectory, valid(gitdir: path, workdir: path) != nil { return nil }
      }
      if !search || path == "/" { return nil }
      path = FileSystem.parent(path)
    }
  }

  /// The repository whose git directory is `gitdir` (a real path), as it is
  /// now (its `commondir` file may have changed), its working tree at
  /// `workdir`. Nil when that path is no longer a git directory of its own:
  /// gone, or replaced by a gitfile or a symlink to somewhere else.
  static func at(gitdir: String, workdir: String) -> FoundRepository? {
    guard FileSystem.kind(gitdir) == .directory, FileSystem.realPath(gitdir) == gitdir else { return nil }
    return valid(gitdir: gitdir, workdir: workdir)
  }

  /// libgit2's test for a git directory: `HEAD` a file, `objects` and `refs`
  /// directories in the common directory (named by a `commondir` file when
  /// there is one, relative to the git directory).
  private static func valid(gitdir: String, workdir: String) -> FoundRepository? {
    guard let gitdir = FileSystem.realPath(gitdir) else { return nil }
    var commondir = gitdir
    switch FileSystem.readMetadata(gitdir + "/commondir", limit: 4096, followLinks: true) {
    case .missing: break
    case .refused: return nil
    case .content(let bytes):
      let link = trimmed(bytes)
      guard !link.isEmpty, let real = FileSystem.realPath(link.hasPrefix("/") ? link : gitdir + "/" + link) else {
        return nil
      }
      commondir = real
    }
    guard FileSystem.followed(gitdir + "/HEAD")?.isRegular == true,
      FileSystem.followed(commondir + "/objects")?.isDirectory == true,
      FileSystem.followed(commondir + "/refs")?.isDirectory == true
    else { return nil }
    return FoundRepository(gitdir: gitdir, commondir: commondir, workdir: workdir)
  }

  /// Where a gitfile (`gitdir: <path>`) points, relative paths taken from
  /// the directory holding it; nil when it is malformed.
  private static func gitfileTarget(_ file: String, in directory: String) -> String? {
    guard case .content(let bytes) = FileSystem.readMetadata(file, limit: 4096, followLinks: true) else { return nil }
    let text = trimmed(bytes)
    let prefix = "gitdir:"
    guard text.utf8.count > prefix.utf8.count, text.hasPrefix(prefix) else { return nil }
    let target = String(text.dropFirst(prefix.count).drop { $0 == " " || $0 == "\t" })
    guard !target.isEmpty else { return nil }
    return target.hasPrefix("/") ? target : (directory == "/" ? "" : directory) + "/" + target
  }

  /// The file's text without trailing white space, as libgit2 reads it.
  private static func trimmed(_ bytes: [UInt8]) -> String {
    var end = bytes.endIndex
    while end > bytes.startIndex, [9, 10, 11, 12, 13, 32].contains(bytes[end - 1]) { end -= 1 }
    return String(decoding: bytes[..<end], as: UTF8.self)
  }
}
