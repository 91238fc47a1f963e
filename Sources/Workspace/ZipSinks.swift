#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

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

/// Writes to a file descriptor and (unless told not to) hashes what it writes.
public struct FileZipSink: ZipSink {
  public let descriptor: FileDescriptor
  public let hashing: Bool
  public private(set) var hasher = SHA256()

  public init(descriptor: FileDescriptor, hashing: Bool = true) {
    self.descriptor = descriptor
    self.hashing = hashing
  }

  public mutating func write(_ chunk: [UInt8]) async throws {
    if hashing { hasher.update(chunk) }
    try chunk.withUnsafeBytes { buffer in
      var done = 0
      while done < buffer.count {
        let count = Glibc.write(descriptor.raw, buffer.baseAddress! + done, buffer.count - done)
        if count < 0 {
          if errno == EINTR { continue }
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
    let temporary = ".\(name).\(getpid()).\(String(UInt64.random(in: 0...UInt64.max), radix: 36)).partial"
    let fd = openat(directory.raw, temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
    guard fd >= 0 else {
      throw ZipError.destination("cannot create a file beside the destination: \(String(cString: strerror(errno)))")
    }
    let file = FileDescriptor(fd)
    var removeTemporary = true
    defer { if removeTemporary { unlinkat(directory.raw, temporary, 0) } }

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
    guard renameat(directory.raw, temporary, directory.raw, name) == 0 else {
      throw ZipError.destination("cannot rename into place: \(String(cString: strerror(errno)))")
    }
    removeTemporary = false
    _ = fsync(directory.raw)
    var hasher = sink.hasher
    return ZipFileResult(
      path: destination, bytes: summary.bytes, entries: summary.entries, skipped: summary.skipped,
      sha256: SHA256.hex(hasher.finalize()))
  }
}
