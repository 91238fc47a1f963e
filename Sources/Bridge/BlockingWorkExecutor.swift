import Foundation

/// Where request work runs: threads that may block.
///
/// Handlers call libgit2, read files and fsync: blocking calls. On Swift's
/// cooperative pool (one thread per core, two here) two slow requests would
/// hold every thread, and a `health` or a cancellation's reply would wait
/// behind them. Work therefore prefers this executor: a pool that starts
/// another thread whenever every thread it has is busy (up to `maxThreads`),
/// so a slow request never delays a fast one. Idle threads stay for reuse.
/// (A concurrent DispatchQueue does not do this on Linux: its width is the
/// core count, and blocked threads are not replaced.)
public final class BlockingWorkExecutor: TaskExecutor, @unchecked Sendable {
  public static let shared = BlockingWorkExecutor()

  /// Past this many threads, jobs wait for one to come free.
  public let maxThreads: Int

  // Guarded by `condition`.
  private let condition = NSCondition()
  private var jobs: [UnownedJob] = []
  private var head = 0
  private var idle = 0
  private var threads = 0

  public init(maxThreads: Int = 64) {
    self.maxThreads = maxThreads
  }

  public func enqueue(_ job: consuming ExecutorJob) {
    let job = UnownedJob(job)
    condition.lock()
    jobs.append(job)
    let waiting = jobs.count - head
    let spawn = waiting > idle && threads < maxThreads
    if spawn { threads += 1 } else { condition.signal() }
    condition.unlock()
    if spawn {
      let thread = Thread { [self] in work() }
      thread.name = "agent-bridge.work"
      thread.start()
    }
  }

  private func work() {
    let executor = asUnownedTaskExecutor()
    while true {
      condition.lock()
      while head == jobs.count {
        idle += 1
        condition.wait()
        idle -= 1
      }
      let job = jobs[head]
      head += 1
      if head == jobs.count {
        jobs.removeAll(keepingCapacity: true)
        head = 0
      }
      condition.unlock()
      job.runSynchronously(on: executor)
    }
  }
}
