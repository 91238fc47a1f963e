import Support

/// One name in a directory, typed as the directory itself reports it
/// (no stat unless the file system leaves the type unknown).
struct DirectoryEntry {
  enum Kind { case file, directory, symlink, other }
  /// The raw bytes of the name: zip entries keep them exactly.
  var name: [UInt8]
  var kind: Kind

  var text: String { String(decoding: name, as: UTF8.self) }
}

enum DirectoryReader {
  /// The entries of an open directory (without `.` and `..`), in directory
  /// order; nil when it cannot be read.
  static func entries(of directory: FileDescriptor) -> [DirectoryEntry]? {
    var result: [DirectoryEntry] = []
    let read = forEachEntry(of: directory) { name, kind in
      result.append(DirectoryEntry(name: Array(name), kind: kind))
    }
    return read ? result : nil
  }

  /// Calls `body` with each name (without `.` and `..`, valid only during
  /// the call) and its type, from the start of the directory; false when it
  /// cannot be read.
  static func forEachEntry(
    of directory: FileDescriptor, _ body: (UnsafeRawBufferPointer, DirectoryEntry.Kind) -> Void
  ) -> Bool {
    // closedir closes the descriptor it reads: give it a copy.
    let copy = dup(directory.raw)
    guard copy >= 0 else { return false }
    guard let stream = fdopendir(copy) else {
      close(copy)
      return false
    }
    defer { closedir(stream) }
    rewinddir(stream)
    while let entry = readdir(stream) {
      withUnsafeBytes(of: &entry.pointee.d_name) { raw in
        let length = strnlen(raw.baseAddress!.assumingMemoryBound(to: CChar.self), raw.count)
        let name = UnsafeRawBufferPointer(rebasing: raw[..<length])
        if name.elementsEqual([0x2E]) || name.elementsEqual([0x2E, 0x2E]) { return }
        let kind: DirectoryEntry.Kind
        switch Int32(entry.pointee.d_type) {
        case Int32(DT_REG): kind = .file
        case Int32(DT_DIR): kind = .directory
        case Int32(DT_LNK): kind = .symlink
        case Int32(DT_UNKNOWN): kind = statKind(in: directory, name: Array(name)) ?? .other
        default: kind = .other
        }
        body(name, kind)
      }
    }
    return true
  }

  /// A directory's names in one buffer, in path order: walked depth-first,
  /// directories so read yield code-point path order (the recursive listing
  /// and the archive both read every directory this way).
  struct SortedNames {
    /// Every name back to back; a directory's is followed by `/`.
    var names: [UInt8]
    /// By name bytes, a directory's `/` included (`a-b/` before `a/`).
    var entries: [Entry]

    struct Entry {
      var start: Int32
      /// Bytes in `names`, the `/` of a directory included.
      var count: Int32
      var kind: DirectoryEntry.Kind
    }

    /// The entry's name, without a directory's `/`.
    func name(_ entry: Entry) -> ArraySlice<UInt8> {
      let end = Int(entry.start + entry.count) - (entry.kind == .directory ? 1 : 0)
      return names[Int(entry.start)..<end]
    }
  }

  /// The entries of an open directory (without `.` and `..`) in path order,
  /// without an allocation per name; nil when it cannot be read.
  static func sortedNames(of directory: FileDescriptor) -> SortedNames? {
    var names: [UInt8] = []
    var entries: [SortedNames.Entry] = []
    let read = forEachEntry(of: directory) { name, kind in
      let start = names.count
      names.append(contentsOf: name)
      if kind == .directory { names.append(0x2F) }
      entries.append(SortedNames.Entry(start: Int32(start), count: Int32(names.count - start), kind: kind))
    }
    guard read else { return nil }
    // Offsets sorted with memcmp: no reference counting in the comparisons.
    names.withUnsafeBufferPointer { bytes in
      guard let base = bytes.baseAddress else { return }
      entries.sort { a, b in
        let order = memcmp(base + Int(a.start), base + Int(b.start), Int(min(a.count, b.count)))
        return order != 0 ? order < 0 : a.count < b.count
      }
    }
    return SortedNames(names: names, entries: entries)
  }

  /// The type of a name, not following a symlink.
  static func statKind(in directory: FileDescriptor, name: [UInt8]) -> DirectoryEntry.Kind? {
    var info = stat()
    let status = withCString(name) { fstatat(directory.raw, $0, &info, AT_SYMLINK_NOFOLLOW) }
    guard status == 0 else { return nil }
    switch FileKind(mode: info.st_mode) {
    case .regular: return .file
    case .directory: return .directory
    case .symlink: return .symlink
    default: return .other
    }
  }

  /// Opens a child directory for reading, refusing to follow a symlink put
  /// in its place after the listing.
  static func openChild(of directory: FileDescriptor, _ name: [UInt8]) -> FileDescriptor? {
    let fd = withCString(name) { openat(directory.raw, $0, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) }
    return fd >= 0 ? FileDescriptor(fd) : nil
  }

  /// Opens a child file for reading without following a symlink and without
  /// blocking on a FIFO put in its place.
  static func openFile(in directory: FileDescriptor, _ name: [UInt8]) -> (FileDescriptor?, Int32) {
    let fd = withCString(name) {
      openat(directory.raw, $0, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY)
    }
    return fd >= 0 ? (FileDescriptor(fd), 0) : (nil, errno)
  }

  static func withCString<R>(_ bytes: [UInt8], _ body: (UnsafePointer<CChar>) -> R) -> R {
    var terminated = bytes
    terminated.append(0)
    return terminated.withUnsafeBufferPointer { buffer in
      buffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: buffer.count) { body($0) }
    }
  }
}

extension [UInt8] {
  /// Code-point order of UTF-8 text is byte order.
  static func bytewiseLess(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool {
    let count = Swift.min(lhs.count, rhs.count)
    if count == 0 { return lhs.count < rhs.count }
    let order = lhs.withUnsafeBufferPointer { l in
      rhs.withUnsafeBufferPointer { r in memcmp(l.baseAddress!, r.baseAddress!, count) }
    }
    return order != 0 ? order < 0 : lhs.count < rhs.count
  }
}
