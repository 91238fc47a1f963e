import Crypto
import Support

/// Collects the archive in memory, refusing to grow past `limit`
/// (zipDirectory without a destination: `--max-inline-bytes`).
public struct MemoryZipSink: ZipSink {
  public private(set) var bytes: [UInt8] = []
  public let limit: Int

  public init(limit: Int) { self.limit = limit }

  public mutating func write(_ chunk: [UInt8]) async throws {
    guard bytes.count + chunk.count <= limit else { throw ZipError.tooLarge(limit: limit) }
    bytes.append(contentsOf: chunk)
  }
}

/// Collects the archive as base64 text, encoding each chunk as it comes,
/// refusing to grow past `limit` bytes of archive: what zipDirectory
/// without a destination answers. The archive itself is never held whole,
/// and the text is reserved once (pages are only resident once written),
/// so an inline archive costs its base64 once, not archive plus base64
/// plus the copies of a growing buffer.
public struct Base64ZipSink: ZipSink {
  public let limit: Int
  /// Archive bytes written so far.
  public private(set) var byteCount = 0
  private var text = ""
  /// The 0 to 2 bytes after the last whole group of three.
  private var carry: [UInt8] = []

  public init(limit: Int) {
    self.limit = limit
    text.reserveCapacity((limit + 2) / 3 * 4)
  }

  public mutating func write(_ chunk: [UInt8]) async throws {
    guard byteCount + chunk.count <= limit else { throw ZipError.tooLarge(limit: limit) }
    byteCount += chunk.count
    var input = carry.isEmpty ? chunk : carry + chunk
    let whole = input.count - input.count % 3
    carry = Array(input[whole...])
    input.removeLast(input.count - whole)
    text.append(Base64.encode(input))
  }

  /// The whole archive in base64.
  public mutating func finish() -> String {
    if !carry.isEmpty {
      text.append(Base64.encode(carry))
      carry = []
    }
    return text
  }
}

/// Writes to a file descriptor and (unless told not to) hashes what it writes.
public struct FileZipSink: ZipSink {
  public let descriptor: FileDescriptor
  public let hashing: Bool
  private(set) var hasher = SHA256()

  public init(descriptor: FileDescriptor, hashing: Bool = true) {
    self.descriptor = descriptor
    self.hashing = hashing
  }

  public mutating func write(_ chunk: [UInt8]) async throws {
    if hashing { hasher.update(data: chunk) }
    try chunk.withUnsafeBytes { buffer in
      var done = 0
      while done < buffer.count {
        let count = retryOnInterrupt { Glibc.write(descriptor.raw, buffer.baseAddress! + done, buffer.count - done) }
        if count < 0 {
          throw ZipError.io("write failed: \(String(cString: strerror(errno)))")
        }
        done += count
      }
    }
  }
}

/// What zipDirectory with a destination answers.
public struct ZipFileResult: Sendable, Equatable {
  public var path: String
  public var bytes: UInt64
  public var entries: Int
  public var skipped: Int
  public var sha256: String
}

extension ZipArchiver {
  /// Writes the archive atomically to `destination` (an absolute path): into
  /// a temporary file beside it, fsynced, then renamed over it, and the
  /// directory fsynced. On any failure or cancellation the temporary file is
  /// removed and the destination is untouched. The archive never contains
  /// itself (nor the file it replaces) even when written inside the tree.
  ///
  /// Only a regular file or nothing is replaced: a destination that is a
  /// device, FIFO, socket, directory or symlink is refused, before the
  /// work and again at the rename, which cannot be raced (see
  /// `TemporaryFile.moveIntoPlace`).
  ///
  /// On Linux the temporary file has no name until the archive is complete
  /// (`O_TMPFILE`), so even a process killed mid-write leaves nothing
  /// behind; elsewhere, or on a file system without it, a hidden
  /// `.NAME.PID.RANDOM.partial` is used and removed on every failure.
  public static func write(
    root: WorkspaceRoot, path: String?, options: ZipOptions, destination: String,
    progress: @escaping @Sendable (ZipProgress) -> Void = { _ in }
  ) async throws -> ZipFileResult {
    guard destination.hasPrefix("/"), !destination.hasSuffix("/") else {
      throw ZipError.destination("destination must be an absolute file path")
    }
    let slash = destination.lastIndex(of: "/")!
    let directoryPath = slash == destination.startIndex ? "/" : String(destination[..<slash])
    let name = String(destination[destination.index(after: slash)...])
    let directoryFD = open(directoryPath, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    guard directoryFD >= 0 else {
      throw ZipError.destination("cannot open the destination's directory: \(String(cString: strerror(errno)))")
    }
    let directory = FileDescriptor(directoryFD)
    // Refused before any work; checked again, race-free, at the rename.
    if case .other = DestinationEntry(in: directory, name: name) { throw ZipError.destinationNotRegularFile }
    var temporary = TemporaryFile(in: directory, for: name)
    let file = try temporary.open()
    defer { temporary.remove() }

    var options = options
    if let info = file.status() { options.excludedFiles.append((UInt64(info.st_dev), UInt64(info.st_ino))) }
    var existing = stat()
    if fstatat(directory.raw, name, &existing, 0) == 0 {
      options.excludedFiles.append((UInt64(existing.st_dev), UInt64(existing.st_ino)))
    }
    var sink = FileZipSink(descriptor: file)
    let summary = try await write(root: root, path: path, options: options, to: &sink, progress: progress)
    try Task.checkCancellation()
    guard fsync(file.raw) == 0 else { throw ZipError.io("fsync failed: \(String(cString: strerror(errno)))") }
    try temporary.moveIntoPlace()
    _ = fsync(directory.raw)
    return ZipFileResult(
      path: destination, bytes: summary.bytes, entries: summary.entries, skipped: summary.skipped,
      sha256: Hex.lowercase(sink.hasher.finalize()))
  }
}

/// The file an archive is written to before it takes the destination's name.
struct TemporaryFile {
  let directory: FileDescriptor
  let name: String
  /// The hidden name it has (or gets just before the rename).
  let hiddenName: String
  private var descriptor: FileDescriptor?
  private var named = false

  init(in directory: FileDescriptor, for name: String) {
    self.directory = directory
    self.name = name
    hiddenName = ".\(name).\(getpid()).\(String(UInt64.random(in: 0...UInt64.max), radix: 36)).partial"
  }

  mutating func open() throws -> FileDescriptor {
    #if os(Linux)
    // O_TMPFILE is __O_TMPFILE | O_DIRECTORY; the C macro does not import.
    // The file is named later through /proc/self/fd: without /proc, the
    // named temporary file it is.
    let unnamed =
      access("/proc/self/fd", X_OK) == 0
      ? openat(directory.raw, ".", O_WRONLY | O_CLOEXEC | 0o20000000 | O_DIRECTORY, 0o644) : -1
    if unnamed >= 0 {
      descriptor = FileDescriptor(unnamed)
      return descriptor!
    }
    #endif
    let fd = openat(directory.raw, hiddenName, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
    guard fd >= 0 else {
      throw ZipError.destination("cannot create a file beside the destination: \(String(cString: strerror(errno)))")
    }
    named = true
    descriptor = FileDescriptor(fd)
    return descriptor!
  }

  /// Gives the written file the destination's name, replacing what was
  /// there only if that is a regular file. An unnamed file is linked under
  /// the hidden name first (link cannot replace a file; rename can).
  ///
  /// Checking the destination and then renaming over it would leave a gap
  /// in which a device or symlink could be swapped in. On Linux there is
  /// none: nothing there is claimed with `RENAME_NOREPLACE`; a regular file
  /// is swapped with `RENAME_EXCHANGE`, then what came out is looked at
  /// and, if it is not a regular file after all, swapped back.
  mutating func moveIntoPlace() throws {
    guard let descriptor else { return }
    if !named {
      guard linkat(AT_FDCWD, "/proc/self/fd/\(descriptor.raw)", directory.raw, hiddenName, AT_SYMLINK_FOLLOW) == 0 else {
        throw ZipError.destination("cannot give the archive a name: \(String(cString: strerror(errno)))")
      }
      named = true
    }
    // A few rounds at most: each retry means the entry changed under us.
    for _ in 0..<8 {
      switch DestinationEntry(in: directory, name: name) {
      case .other:
        throw ZipError.destinationNotRegularFile
      case .missing:
        switch Self.rename(directory, hiddenName, name, flags: Self.noReplace) {
        case 0:
          named = false
          return
        case EEXIST: continue
        case let error where Self.unsupported(error): return try plainRename()
        case let error: throw Self.renameFailed(error)
        }
      case .regularFile:
        switch Self.rename(directory, hiddenName, name, flags: Self.exchange) {
        case 0:
          // The hidden name now holds what was at the destination.
          if case .regularFile = DestinationEntry(in: directory, name: hiddenName) {
            unlinkat(directory.raw, hiddenName, 0)
            named = false
            return
          }
          _ = Self.rename(directory, hiddenName, name, flags: Self.exchange)
          throw ZipError.destinationNotRegularFile
        case ENOENT: continue
        case let error where Self.unsupported(error): return try plainRename()
        case let error: throw Self.renameFailed(error)
        }
      }
    }
    throw ZipError.destination("the destination kept changing while the archive was moved into place")
  }

  /// Where `renameat2` or its flags are missing (not Linux, an old kernel,
  /// a file system without them): the checked rename, with its gap.
  private mutating func plainRename() throws {
    guard renameat(directory.raw, hiddenName, directory.raw, name) == 0 else { throw Self.renameFailed(errno) }
    named = false
  }

  static let noReplace: UInt32 = 1  // RENAME_NOREPLACE
  static let exchange: UInt32 = 2  // RENAME_EXCHANGE

  static func unsupported(_ error: Int32) -> Bool { error == EINVAL || error == ENOSYS || error == EOPNOTSUPP }

  static func renameFailed(_ error: Int32) -> ZipError {
    ZipError.destination("cannot rename into place: \(String(cString: strerror(error)))")
  }

  /// `renameat2(2)` within one directory: 0, or the errno. Looked up at run
  /// time because Glibc's module map does not declare it (it is behind
  /// _GNU_SOURCE); ENOSYS where the C library has none.
  static func rename(_ directory: FileDescriptor, _ from: String, _ to: String, flags: UInt32) -> Int32 {
    #if os(Linux)
    typealias RenameAt2 = @convention(c) (Int32, UnsafePointer<CChar>, Int32, UnsafePointer<CChar>, UInt32) -> Int32
    guard let symbol = dlsym(nil, "renameat2") else { return ENOSYS }
    let renameat2 = unsafeBitCast(symbol, to: RenameAt2.self)
    return renameat2(directory.raw, from, directory.raw, to, flags) == 0 ? 0 : errno
    #else
    return ENOSYS
    #endif
  }

  /// Removes the hidden name if it is still there (after a failure).
  mutating func remove() {
    if named { unlinkat(directory.raw, hiddenName, 0) }
    named = false
  }
}

/// What a destination's name holds, looked at without following a symlink.
enum DestinationEntry {
  case missing
  case regularFile
  /// A device, FIFO, socket, directory or symlink (or unreadable).
  case other

  init(in directory: FileDescriptor, name: String) {
    var info = stat()
    if fstatat(directory.raw, name, &info, AT_SYMLINK_NOFOLLOW) != 0 {
      self = errno == ENOENT ? .missing : .other
    } else {
      self = info.st_mode & S_IFMT == S_IFREG ? .regularFile : .other
    }
  }
}
