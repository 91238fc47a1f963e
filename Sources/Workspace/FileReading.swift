import Support

/// Why a file could not be shown as text. The bridge maps each case to the
/// contract's error, naming the path as the client gave it.
public enum ReadError: Error, Sendable, Equatable {
  case outsideWorkspace  // -32014
  case notFound  // -32010
  case isDirectory  // -32013 "Path is a directory"
  case notRegularFile  // -32013 "... is not a regular file"
  case binary  // -32011
  case notUTF8  // -32012
  case tooLarge(size: Int, limit: Int)  // -32015
  case unreadable(String)  // -32603
}

/// selectFile: a file's text, or a `data:` URL for known media.
public enum FileReading {
  /// Media shown as `data:` URLs (by extension, any case), with their MIME types.
  static let mediaTypes: [String: String] = [
    "png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "bmp": "image/bmp", "gif": "image/gif",
    "pdf": "application/pdf", "mp4": "video/mp4", "webm": "video/webm", "ogg": "video/ogg",
  ]

  /// The `code` selectFile answers for a client path, as a `String`.
  public static func read(root: WorkspaceRoot, path clientPath: String, maxBytes: Int) -> Result<String, ReadError> {
    content(root: root, path: clientPath, maxBytes: maxBytes).flatMap { content in
      switch content {
      case .text(let bytes): text(from: bytes)
      case .dataURL(let url): .success(url)
      }
    }
  }

  /// What selectFile shows for a client path: text not yet checked for
  /// UTF-8, or a `data:` URL.
  public static func content(root: WorkspaceRoot, path clientPath: String, maxBytes: Int)
    -> Result<FileContent, ReadError>
  {
    let lookup: Lookup
    do {
      lookup = try root.lookup(clientPath)
    } catch {
      return .failure(.outsideWorkspace)
    }
    let item: WorkspaceItem
    switch lookup {
    case .found(let found): item = found
    case .missing: return .failure(.notFound)
    case .failed(let failure): return .failure(.unreadable(failure.message))
    }
    switch item.kind {
    case .regular: break
    case .directory: return .failure(.isDirectory)
    default: return .failure(.notRegularFile)
    }
    if item.size > maxBytes { return .failure(.tooLarge(size: item.size, limit: maxBytes)) }
    let descriptor: FileDescriptor
    switch item.openForReading() {
    case .success(let opened): descriptor = opened
    case .failure(let failure): return .failure(.unreadable(failure.message))
    }
    let bytes: [UInt8]
    switch readAll(descriptor, expected: item.size, limit: maxBytes) {
    case .success(let read): bytes = read
    case .failure(let error): return .failure(error)
    }
    // The name the client asked for decides; a link's target name is the fallback.
    if let mime = mediaType(forName: clientPath) ?? mediaType(forName: item.relative.text) {
      return .success(.dataURL("data:\(mime);base64," + Base64.encode(bytes)))
    }
    return isBinary(bytes) ? .failure(.binary) : .success(.text(bytes))
  }

  static func mediaType(forName name: String) -> String? {
    guard let dot = name.lastIndex(of: "."), !name[dot...].contains("/") else { return nil }
    return mediaTypes[name[name.index(after: dot)...].lowercased()]
  }

  /// Binary check, UTF-8 check, then CRLF and CR to LF (a BOM is kept).
  static func text(from bytes: [UInt8]) -> Result<String, ReadError> {
    if isBinary(bytes) { return .failure(.binary) }
    guard let text = String(validating: Newlines.foldedToLF(bytes), as: UTF8.self) else {
      return .failure(.notUTF8)
    }
    return .success(text)
  }

  /// A NUL byte anywhere, or more than 30% of the first 1024 bytes being
  /// control bytes other than `\b \t \n \f \r \x1b` (binaryornot's idea,
  /// without its guessing of encodings).
  static func isBinary(_ bytes: [UInt8]) -> Bool {
    if bytes.isEmpty { return false }
    if contains(bytes, 0) { return true }
    let head = bytes.prefix(1024)
    var controls = 0
    for byte in head where byte < 0x20 || byte == 0x7F {
      switch byte {
      case 0x08, 0x09, 0x0A, 0x0C, 0x0D, 0x1B: continue
      default: controls += 1
      }
    }
    return controls * 10 > head.count * 3
  }

  static func contains(_ bytes: [UInt8], _ value: UInt8) -> Bool {
    bytes.withUnsafeBytes { buffer in
      guard let base = buffer.baseAddress else { return false }
      return memchr(base, Int32(value), buffer.count) != nil
    }
  }

  /// Reads a whole file through its descriptor, refusing to go past `limit`
  /// even if it grows while being read.
  static func readAll(_ descriptor: FileDescriptor, expected: Int, limit: Int) -> Result<[UInt8], ReadError> {
    descriptor.readAll(expected: expected, limit: limit).mapError { failure in
      switch failure {
      case .tooLarge(let size): .tooLarge(size: size, limit: limit)
      case .failed(errno: EAGAIN): .notRegularFile
      case .failed(let code): .unreadable(String(cString: strerror(code)))
      }
    }
  }
}
