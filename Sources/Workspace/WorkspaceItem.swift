import Support

/// An object inside the workspace, held by a descriptor that was reached by
/// walking from the root one component at a time with `O_NOFOLLOW`. Whatever
/// happens to the names afterwards, reading goes through this descriptor (or
/// one verified to be the same inode), so there is no gap between the check
/// and the use. It is the only way to read a workspace file.
public struct WorkspaceItem: Sendable {
  /// Where it is, symlinks on the way resolved: the object's own name.
  public let relative: RelativeName
  public let kind: FileKind
  /// `fstat` of the object at the time it was reached.
  public let info: stat
  /// `O_PATH` on Linux: enough to stat and to name, never to read.
  let handle: FileDescriptor
  /// The directory that holds it, nil for the workspace root itself.
  let parent: FileDescriptor?
  /// Its name in `parent`.
  let entryName: String

  init(
    relative: RelativeName, kind: FileKind, info: stat, handle: FileDescriptor, parent: FileDescriptor?,
    entryName: String
  ) {
    self.relative = relative
    self.kind = kind
    self.info = info
    self.handle = handle
    self.parent = parent
    self.entryName = entryName
  }

  public var size: Int { Int(info.st_size) }

  /// Opens the object for reading: `O_NONBLOCK` so that a FIFO swapped in
  /// can never hang the caller, and the inode checked against the one the
  /// walk reached, so that a rename in between is noticed rather than read.
  public func openForReading() -> Result<FileDescriptor, OpenFailure> {
    reopen(flags: O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY)
  }

  /// Opens a directory for listing (fdopendir / getdents).
  public func openDirectory() -> Result<FileDescriptor, OpenFailure> {
    reopen(flags: O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW)
  }

  /// A symlink's target text (what git stores as its blob), read from the
  /// link the walk reached, never followed; nil for anything else.
  public func linkTarget() -> [UInt8]? {
    guard kind == .symlink else { return nil }
    var buffer = [UInt8](repeating: 0, count: Int(PATH_MAX) + 1)
    let count = buffer.withUnsafeMutableBytes { raw in
      let base = raw.baseAddress!.assumingMemoryBound(to: CChar.self)
      #if os(Linux)
      // The O_PATH descriptor of the link itself.
      return readlinkat(handle.raw, "", base, raw.count - 1)
      #else
      return readlinkat(parent?.raw ?? AT_FDCWD, entryName, base, raw.count - 1)
      #endif
    }
    guard count >= 0 else { return nil }
    return Array(buffer[0..<count])
  }

  /// Whether a directory holds a `.git` directory or file, asked of the
  /// directory held, without following a `.git` symlink.
  func holdsGitEntry() -> Bool {
    guard kind == .directory else { return false }
    var status = stat()
    guard fstatat(handle.raw, ".git", &status, AT_SYMLINK_NOFOLLOW) == 0 else { return false }
    let type = FileKind(mode: status.st_mode)
    return type == .directory || type == .regular
  }

  private func reopen(flags: Int32) -> Result<FileDescriptor, OpenFailure> {
    let fd: Int32
    if let parent {
      fd = openat(parent.raw, entryName, flags)
    } else {
      // The root: walk-independent, but it is the root by definition.
      fd = openat(handle.raw, ".", flags & ~O_NOFOLLOW)
    }
    guard fd >= 0 else { return .failure(OpenFailure(errno: errno)) }
    let opened = FileDescriptor(fd)
    guard let now = opened.status(), now.st_dev == info.st_dev, now.st_ino == info.st_ino else {
      return .failure(OpenFailure(errno: ESTALE))
    }
    return .success(opened)
  }
}
