import Support
import Synchronization
import Testing

@Suite struct RetryOnInterruptTests {
  /// The reader's read calls, seen from the thread that signals it.
  final class Calls: Sendable {
    let count = Atomic<Int>(0)
  }

  /// A signal whose handler is installed without SA_RESTART makes a blocked
  /// read fail with EINTR; the helper reads again and gets the byte.
  @Test func aReadInterruptedBySignalIsRetried() {
    var fds: [Int32] = [0, 0]
    #expect(pipe(&fds) == 0)
    defer { close(fds[0]); close(fds[1]) }
    var action = sigaction()
    #if canImport(Darwin)
    action.__sigaction_u.__sa_handler = { _ in }
    #else
    action.__sigaction_handler.sa_handler = { _ in }
    #endif
    action.sa_flags = 0
    var previous = sigaction()
    #expect(sigaction(SIGUSR1, &action, &previous) == 0)
    defer { sigaction(SIGUSR1, &previous, nil) }
    // Test threads (Dispatch's) block most signals; this one must take it.
    var unblock = sigset_t()
    sigemptyset(&unblock)
    sigaddset(&unblock, SIGUSR1)
    var mask = sigset_t()
    #expect(pthread_sigmask(SIG_UNBLOCK, &unblock, &mask) == 0)
    defer { pthread_sigmask(SIG_SETMASK, &mask, nil) }

    let reader = UncheckedBox(pthread_self())
    let writeEnd = fds[1]
    let calls = Calls()
    // A signal that lands before the read blocks interrupts nothing: it is
    // sent again until the reader was interrupted and read again, and only
    // then comes the byte.
    Parallel.detach {
      while calls.count.load(ordering: .relaxed) < 2 {
        pthread_kill(reader.value, SIGUSR1)
        usleep(20_000)
      }
      var byte: UInt8 = 0x78
      _ = write(writeEnd, &byte, 1)
    }
    var byte: UInt8 = 0
    let count = retryOnInterrupt {
      calls.count.add(1, ordering: .relaxed)
      return read(fds[0], &byte, 1)
    }
    #expect(count == 1)
    #expect(byte == 0x78)
    #expect(calls.count.load(ordering: .relaxed) >= 2)
  }

  @Test func otherFailuresAreReturned() {
    let count = retryOnInterrupt { read(-1, nil, 0) }
    #expect(count == -1)
    #expect(errno == EBADF)
  }
}
