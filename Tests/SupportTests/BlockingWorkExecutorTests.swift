import Support
import Foundation
import Synchronization
import Testing

@Suite struct BlockingWorkExecutorTests {
  /// More blocking jobs than the machine has cores must not hold up a quick
  /// one: that is the executor's reason to exist. (A concurrent
  /// DispatchQueue fails this on Linux: its width is the core count.)
  @Test func blockedThreadsDoNotDelayQuickWork() async throws {
    let executor = BlockingWorkExecutor(maxThreads: 32)
    let blockers = ProcessInfo.processInfo.activeProcessorCount * 2 + 2
    let started = Counter()
    try await withThrowingTaskGroup(of: Void.self) { group in
      for _ in 0..<blockers {
        group.addTask(executorPreference: executor) {
          started.increment()
          usleep(2_000_000)  // A thread stuck in a system call.
        }
      }
      // Wait until every blocker holds a thread.
      while started.value < blockers { try await Task.sleep(for: .milliseconds(10)) }
      let submitted = ContinuousClock.now
      let ranAt = await Task(executorPreference: executor) { ContinuousClock.now }.value
      let waited = ranAt - submitted
      #expect(waited < .milliseconds(1_000), "quick work waited \(waited) behind blocked threads")
      try await group.waitForAll()
    }
  }
}

private final class Counter: Sendable {
  private let count = Mutex(0)
  func increment() { count.withLock { $0 += 1 } }
  var value: Int { count.withLock { $0 } }
}
