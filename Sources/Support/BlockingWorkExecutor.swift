/// Where work that blocks runs: the one way off the cooperative pool for
/// tasks (threads that must outlive a call use `Parallel.detach`).
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

  // The state below is guarded by `lock`; `wake` is signalled when a job
  // arrives for an idle thread. (pthread's, not Synchronization's Mutex:
  // idle threads must wait on a condition.)
  private let lock = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
  private let wake = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
  private var jobs: [UnownedJob] = []
  private var head = 0
  private var idle = 0
  private var threads = 0

  public init(maxThreads: Int = 64) {
    self.maxThreads = maxThreads
    pthread_mutex_init(lock, nil)
    pthread_cond_init(wake, nil)
  }

  // Only reached with no threads: each holds the executor.
  deinit {
    pthread_cond_destroy(wake)
    pthread_mutex_destroy(lock)
    wake.deallocate()
    lock.deallocate()
  }

  public func enqueue(_ job: consuming ExecutorJob) {
    let job = UnownedJob(job)
    pthread_mutex_lock(lock)
    jobs.append(job)
    let waiting = jobs.count - head
    let spawn = waiting > idle && threads < maxThreads
    if spawn { threads += 1 } else { pthread_cond_signal(wake) }
    pthread_mutex_unlock(lock)
    if spawn && !Parallel.detach(name: "agent-bridge.work", { [self] in work() }) {
      // No thread to be had: the ones there are (or the next one) take it.
      pthread_mutex_lock(lock)
      threads -= 1
      pthread_cond_signal(wake)
      pthread_mutex_unlock(lock)
    }
  }

  private func work() {
    let executor = asUnownedTaskExecutor()
    while true {
      pthread_mutex_lock(lock)
      while head == jobs.count {
        idle += 1
        pthread_cond_wait(wake, lock)
        idle -= 1
      }
      let job = jobs[head]
      head += 1
      if head == jobs.count {
        jobs.removeAll(keepingCapacity: true)
        head = 0
      }
      pthread_mutex_unlock(lock)
      job.runSynchronously(on: executor)
    }
  }
}
