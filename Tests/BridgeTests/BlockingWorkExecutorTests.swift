import Bridge
import Dispatch
import Foundation
import Testing

@Suite struct BlockingWorkExecutorTests {
  /// More blocking jobs than the machine has cores must not hold up a quick
  /// one: that is the executor's reason to exist.
  @Test func blockedThreadsDoNotDelayQuickWork() async throws {
    let blockers = ProcessInfo.processInfo.activeProcessorCount * 2 + 2
    let clock = ContinuousClock()
    let start = clock.now
    try await withThrowingTaskGroup(of: Void.self) { group in
      for _ in 0..<blockers {
        group.addTask(executorPreference: BlockingWorkExecutor.shared) {
          usleep(1_500_000)  // A thread stuck in a system call.
        }
      }
      // Let the blockers take their threads first.
      try await Task.sleep(for: .milliseconds(100))
      let quick = await Task(executorPreference: BlockingWorkExecutor.shared) {
        clock.now - start
      }.value
      #expect(quick < .milliseconds(1_200), "quick work waited \(quick) behind blocked threads")
      try await group.waitForAll()
    }
  }
}
