import CLibGit2

/// File systems whose writes made elsewhere (another client, the host of a
/// VM or container) reach no inotify watch here: network and FUSE ones.
/// On them the changes a watcher is told are not all the changes.
public enum RemoteFileSystem {
  /// `statfs` `f_type` magic numbers (linux/magic.h, and the file systems'
  /// own sources for those it leaves out).
  static let types: Set<Int> = [
    0x6969,  // NFS
    0x517B,  // SMB
    0xFF53_4D42,  // CIFS
    0xFE53_4D42,  // SMB2
    0x6573_5546,  // FUSE (sshfs, virtiofs, rclone, ...)
    0x0102_1997,  // 9p (WSL 2, QEMU)
    0x5346_414F,  // AFS
    0x6B41_4653,  // kAFS
    0x00C3_6400,  // Ceph
    0x0BD0_0BD0,  // Lustre
    0x7375_7245,  // Coda
    0x564C,  // NCP
    0x0116_1970,  // GFS2
  ]

  /// Whether `path` lies on one of them (false when it cannot be told).
  public static func holds(_ path: String) -> Bool {
    #if os(Linux)
    let type = agentbridge_file_system_type(path)
    return type != -1 && isRemote(type: Int(type))
    #else
    return false
    #endif
  }

  static func isRemote(type: Int) -> Bool { types.contains(type & 0xFFFF_FFFF) }
}
