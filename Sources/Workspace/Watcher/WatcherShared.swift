#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// What the caller's threads and the watcher's thread share.
final class WatcherShared: Sendable {
  let state = Mutex(WatchState(mode: .events))
  private let stopped = Atomic(false)
  let wakeRead: FileDescriptor
  let wakeWrite: FileDescriptor

  init?() {
    var ends: [Int32] = [0, 0]
    guard pipe(&ends) == 0 else { return nil }
    wakeRead = FileDescriptor(ends[0])
    wakeWrite = FileDescriptor(ends[1])
    for fd in ends {
      _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
      _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
    }
  }

  var isStopped: Bool { stopped.load(ordering: .acquiring) }

  func stop() {
    guard !stopped.exchange(true, ordering: .acquiringAndReleasing) else { return }
    state.withLock { $0.mode = .stopped }
    var byte: UInt8 = 1
    _ = write(wakeWrite.raw, &byte, 1)
  }
}
