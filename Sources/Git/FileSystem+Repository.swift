import Support

/// The file system calls that locate and bound a repository before libgit2
/// opens it. These read what the (hostile) workspace wrote: small files only,
/// never a FIFO or device, never more than a few KiB.
extension FileSystem {
  /// What `stat` (following symlinks, as libgit2's search does) finds.
  struct Followed {
    var device: UInt64
    var isDirectory: Bool
    var isRegular: Bool
  }

  static func followed(_ path: String) -> Followed? {
    var info = stat()
    guard stat(path, &info) == 0 else { return nil }
    let type = info.st_mode & S_IFMT
    return Followed(device: UInt64(info.st_dev), isDirectory: type == S_IFDIR, isRegular: type == S_IFREG)
  }

  /// Whether `path` lies in `root` (both real paths), or is it.
  static func isWithin(_ path: String, _ root: String) -> Bool {
    if path == root || root == "/" { return true }
    return path.utf8.count > root.utf8.count && path.utf8.starts(with: root.utf8)
      && path.utf8.dropFirst(root.utf8.count).first == UInt8(ascii: "/")
  }

  /// A small metadata file (`.git` gitfile, `commondir`, `alternates`):
  /// opened non-blocking so a FIFO cannot hang the request, refused unless
  /// regular and at most `limit` bytes. `followLinks` as git does for that
  /// file.
  static func readMetadata(_ path: String, limit: Int = 64 * 1024, followLinks: Bool) -> Metadata {
    let descriptor = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | (followLinks ? 0 : O_NOFOLLOW))
    guard descriptor >= 0 else { return errno == ENOENT || errno == ENOTDIR ? .missing : .refused }
    defer { close(descriptor) }
    var info = stat()
    guard fstat(descriptor, &info) == 0, info.st_mode & S_IFMT == S_IFREG, Int(info.st_size) <= limit else {
      return .refused
    }
    guard case .success(let bytes) = FileDescriptor.readAll(descriptor, expected: Int(info.st_size), limit: limit) else {
      return .refused
    }
    return .content(bytes)
  }

  enum Metadata {
    case missing
    /// A symlink where none is followed, not a regular file, too big, unreadable.
    case refused
    case content([UInt8])
  }

  /// The entries of `directory` that are symlinks (by `d_type`, or `lstat`
  /// where the file system does not say).
  static func symlinks(in directory: String) -> [String] {
    entries(in: directory).compactMap { name, type in
      switch type {
      case Int32(DT_LNK): name
      case Int32(DT_UNKNOWN): kind(directory + "/" + name) == .symlink ? name : nil
      default: nil
      }
    }
  }

  /// The symlinks at any depth below `directory` (paths relative to it),
  /// symlinked directories not entered, at most `maxDepth` levels and
  /// `maxEntries` entries looked at (a larger tree is reported as one
  /// entry that cannot be vouched for, "").
  static func symlinks(below directory: String, maxDepth: Int, maxEntries: Int = 1 << 20) -> [String] {
    var links: [String] = []
    var seen = 0
    func walk(_ relative: String, depth: Int) {
      guard let stream = opendir(relative.isEmpty ? directory : directory + "/" + relative) else { return }
      defer { closedir(stream) }
      while let entry = readdir(stream) {
        seen += 1
        if seen > maxEntries {
          links.append("")
          return
        }
        let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
          String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
        }
        if name == "." || name == ".." { continue }
        let path = relative.isEmpty ? name : relative + "/" + name
        var type = Int32(entry.pointee.d_type)
        if type == Int32(DT_UNKNOWN) {
          switch kind(directory + "/" + path) {
          case .symlink?: type = Int32(DT_LNK)
          case .directory?: type = Int32(DT_DIR)
          default: break
          }
        }
        if type == Int32(DT_LNK) {
          links.append(path)
        } else if type == Int32(DT_DIR) && depth < maxDepth {
          walk(path, depth: depth + 1)
        }
      }
    }
    walk("", depth: 1)
    return links
  }

  /// The parent directory of an absolute path ("/" for "/").
  static func parent(_ path: String) -> String {
    guard let slash = path.utf8.lastIndex(of: UInt8(ascii: "/")), slash != path.utf8.startIndex else { return "/" }
    return String(path[..<slash])
  }
}
