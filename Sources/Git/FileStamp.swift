import Support

/// What changes when a file is written, replaced or removed: its inode, size
/// and modification and status-change times. Nil stands for "not there".
struct FileStamp: Equatable, Sendable {
  var device: UInt64
  var inode: UInt64
  var size: Int64
  var modified: Int64
  var changed: Int64

  /// `followingLinks`: the file a symlink names, as libgit2 reads rule
  /// files; false stamps the link itself.
  init?(_ path: String, followingLinks: Bool = true) {
    var info = stat()
    guard (followingLinks ? stat(path, &info) : lstat(path, &info)) == 0 else { return nil }
    device = UInt64(info.st_dev)
    inode = UInt64(info.st_ino)
    size = Int64(info.st_size)
    modified = info.modifiedNanoseconds
    changed = info.statusChangedNanoseconds
  }
}
