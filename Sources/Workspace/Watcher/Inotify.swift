#if os(Linux)
import Support

/// One inotify instance and the watches placed on it.
///
/// A watch is placed on a directory the tree holds open, through
/// `/proc/self/fd/N`: the kernel resolves that to the very inode the
/// descriptor walk reached, so no path string from the workspace is looked
/// up again.
final class Inotify: WatchRegistrar {
  /// One event: the watch, what happened, and the name in the watched
  /// directory (empty for the directory itself).
  struct Event {
    var watch: Int32
    var mask: UInt32
    var name: [UInt8]
  }

  static let modify: UInt32 = 0x2
  static let attrib: UInt32 = 0x4
  static let closeWrite: UInt32 = 0x8
  static let movedFrom: UInt32 = 0x40
  static let movedTo: UInt32 = 0x80
  static let create: UInt32 = 0x100
  static let delete: UInt32 = 0x200
  static let deleteSelf: UInt32 = 0x400
  static let moveSelf: UInt32 = 0x800
  static let unmount: UInt32 = 0x2000
  static let queueOverflow: UInt32 = 0x4000
  static let ignored: UInt32 = 0x8000
  static let onlyDirectory: UInt32 = 0x0100_0000
  static let excludeUnlinked: UInt32 = 0x0400_0000
  static let isDirectory: UInt32 = 0x4000_0000

  static let directoryMask: UInt32 =
    modify | attrib | closeWrite | movedFrom | movedTo | create | delete | deleteSelf | moveSelf | onlyDirectory
    | excludeUnlinked
  /// git replaces HEAD, index and refs by renaming a `.lock` over them.
  static let gitMask: UInt32 = closeWrite | movedFrom | movedTo | create | delete | onlyDirectory

  let descriptor: FileDescriptor
  /// Test hook: refuse watches past this many, as ENOSPC would.
  private let maxWatches: Int?
  private(set) var targets: [Int32: WatchTarget] = [:]
  /// The kernel (or the test hook) refused a watch for want of watches.
  private(set) var limitReached = false
  /// A watch could not be placed for another reason (no /proc).
  private(set) var lastFailure: Int32 = 0

  init?(maxWatches: Int?) {
    let fd = inotify_init1(Int32(O_NONBLOCK | O_CLOEXEC))
    guard fd >= 0 else { return nil }
    descriptor = FileDescriptor(fd)
    self.maxWatches = maxWatches
  }

  var count: Int { targets.count }

  func watch(_ directory: FileDescriptor, as target: WatchTarget) -> Int32? {
    let mask: UInt32
    switch target {
    case .directory: mask = Self.directoryMask
    case .gitDirectory, .gitRefs, .gitInfo: mask = Self.gitMask
    }
    let watch = "/proc/self/fd/\(directory.raw)".withCString { inotify_add_watch(descriptor.raw, $0, mask) }
    guard watch >= 0 else {
      lastFailure = errno
      if lastFailure == ENOSPC { limitReached = true }
      return nil
    }
    if targets[watch] == nil, let maxWatches, targets.count >= maxWatches {
      inotify_rm_watch(descriptor.raw, watch)
      limitReached = true
      return nil
    }
    targets[watch] = target
    return watch
  }

  func unwatch(_ watch: Int32, for target: WatchTarget) {
    guard targets[watch] == target else { return }
    targets[watch] = nil
    inotify_rm_watch(descriptor.raw, watch)
  }

  /// The kernel dropped a watch (its directory is gone).
  func forget(_ watch: Int32) { targets[watch] = nil }

  /// Reads every event queued now, without blocking.
  func drain(_ body: (Event) -> Void) {
    let size = 64 * 1024
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 8)
    defer { buffer.deallocate() }
    while true {
      let count = retryOnInterrupt { read(descriptor.raw, buffer.baseAddress, size) }
      guard count > 0 else { return }
      var offset = 0
      // struct inotify_event: wd, mask, cookie, len, then len bytes of
      // NUL-padded name.
      while offset + 16 <= count {
        let watch = buffer.loadUnaligned(fromByteOffset: offset, as: Int32.self)
        let mask = buffer.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self)
        let length = Int(buffer.loadUnaligned(fromByteOffset: offset + 12, as: UInt32.self))
        let start = offset + 16
        var end = start
        while end < start + length && end < count && buffer[end] != 0 { end += 1 }
        body(Event(watch: watch, mask: mask, name: Array(buffer[start..<end])))
        offset = start + length
      }
    }
  }
}
#endif
