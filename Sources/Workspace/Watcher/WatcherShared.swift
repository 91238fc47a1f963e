import Support
import Dispatch
import Synchronization

/// What the caller's threads and the watcher's thread share.
final class WatcherShared: Sendable {
  let state = Mutex(WatchState(mode: .events))
  private let stopped = Atomic(false)
  /// Callers of `WorkspaceWatcher.sync` waiting for the loop; closed when
  /// the loop has ended and will signal no more.
  private let syncs = Mutex<(closed: Bool, waiting: [DispatchSemaphore])>((false, []))
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

  /// Queues a caller for the loop's next sync and wakes the loop; nil when
  /// the loop has ended.
  func requestSync() -> DispatchSemaphore? {
    let semaphore = DispatchSemaphore(value: 0)
    let queued = syncs.withLock { syncs -> Bool in
      if syncs.closed { return false }
      syncs.waiting.append(semaphore)
      return true
    }
    guard queued else { return nil }
    wake()
    return semaphore
  }

  /// The callers waiting now (the loop settles what was queued before
  /// taking them, then signals them).
  func takeSyncs() -> [DispatchSemaphore] {
    syncs.withLock { syncs in
      defer { syncs.waiting = [] }
      return syncs.waiting
    }
  }

  /// The loop has ended: releases every caller, now and later.
  func closeSyncs() {
    let waiting = syncs.withLock { syncs in
      syncs.closed = true
      defer { syncs.waiting = [] }
      return syncs.waiting
    }
    for semaphore in waiting { semaphore.signal() }
  }

  /// Empties the wake pipe (its bytes only say "look").
  func drainWake() {
    var buffer = [UInt8](repeating: 0, count: 64)
    while buffer.withUnsafeMutableBytes({ read(wakeRead.raw, $0.baseAddress, $0.count) }) > 0 {}
  }

  private func wake() {
    var byte: UInt8 = 1
    _ = write(wakeWrite.raw, &byte, 1)
  }

  func stop() {
    guard !stopped.exchange(true, ordering: .acquiringAndReleasing) else { return }
    state.withLock { $0.mode = .stopped }
    wake()
  }
}
