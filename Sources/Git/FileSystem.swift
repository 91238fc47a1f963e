import Support

/// The few file system calls the git code needs, on raw paths (no Foundation,
/// no following of symlinks unless asked).
enum FileSystem {
  enum Kind: Equatable {
    case regular(size: Int, executable: Bool)
    case directory
    case symlink
    case other
  }

  /// What is at `path` itself (a symlink is reported as one); nil if nothing.
  static func kind(_ path: String) -> Kind? {
    var info = stat()
    guard lstat(path, &info) == 0 else { return nil }
    switch info.st_mode & S_IFMT {
    case S_IFREG: return .regular(size: Int(info.st_size), executable: info.st_mode & 0o100 != 0)
    case S_IFDIR: return .directory
    case S_IFLNK: return .symlink
    default: return .other
    }
  }

  /// The path with every symlink resolved, or nil when it does not exist.
  static func realPath(_ path: String) -> String? {
    guard let resolved = realpath(path, nil) else { return nil }
    defer { free(resolved) }
    return String(cString: resolved)
  }

  /// Whether `directory` holds a `.git` directory or file (a gitfile, as
  /// submodules and worktrees have).
  static func holdsGitDir(_ directory: String) -> Bool {
    switch kind(directory + "/.git") {
    case .directory?, .regular?: true
    default: false
    }
  }

  /// The names in a directory, without `.` and `..`, unsorted; [] when it
  /// cannot be read.
  static func names(in directory: String) -> [String] { entries(in: directory).map(\.name) }

  /// The entries of a directory, without `.` and `..`, unsorted, each with
  /// its `d_type` (`DT_UNKNOWN` where the file system does not say); []
  /// when it cannot be read.
  static func entries(in directory: String) -> [(name: String, type: Int32)] {
    guard let stream = opendir(directory) else { return [] }
    defer { closedir(stream) }
    var entries: [(name: String, type: Int32)] = []
    while let entry = readdir(stream) {
      let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
        String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
      }
      if name != "." && name != ".." { entries.append((name, Int32(entry.pointee.d_type))) }
    }
    return entries
  }

  /// A symlink's target text, as git stores it in a blob.
  static func linkTarget(_ path: String) -> [UInt8]? {
    var buffer = [UInt8](repeating: 0, count: Int(PATH_MAX) + 1)
    let count = buffer.withUnsafeMutableBytes { raw in
      readlink(path, raw.baseAddress!.assumingMemoryBound(to: CChar.self), raw.count)
    }
    guard count >= 0 else { return nil }
    return Array(buffer[0..<count])
  }
}
