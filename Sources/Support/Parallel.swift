/// Threads of our own, for work that blocks: off Swift's cooperative pool
/// (one thread per core), which blocking calls would starve. `run` fans work
/// out and waits; `detach` starts a thread nothing waits for. The working-tree
/// half of a large comparison is mostly lstat calls; like git's preload-index,
/// a few threads keep the kernel busy even on a two-core machine.
public enum Parallel {
  /// Each thread's stack unless asked otherwise: fixed, because default
  /// attributes give 512 KiB on Darwin and `ulimit -s` on glibc, and the work
  /// (libgit2, directory trees as deep as the workspace has) should not
  /// depend on either.
  public static let defaultStackSize = 8 << 20

  /// Calls `body(0)` on this thread and `body(1..<count)` on threads of
  /// their own, returning when all are done. `body` must be safe to run
  /// concurrently for distinct slots (each slot touches only its own state).
  public static func run(_ count: Int, _ body: (Int) -> Void) {
    guard count > 1 else {
      if count == 1 { body(0) }
      return
    }
    withoutActuallyEscaping(body) { body in
      let shared = UncheckedBox(body)
      var threads: [pthread_t] = []
      for slot in 1..<count {
        if let thread = spawn(stackSize: defaultStackSize, name: nil, { shared.value(slot) }) {
          threads.append(thread)
        } else {
          // No thread to be had: do that share here.
          body(slot)
        }
      }
      body(0)
      for thread in threads { pthread_join(thread, nil) }
    }
  }

  /// Runs `body` on a detached thread of its own (nothing waits for it; the
  /// process may end first). False, and `body` not run, when no thread could
  /// be made. `name` shows in debuggers and `top -H` (Linux keeps 15 bytes).
  @discardableResult
  public static func detach(
    stackSize: Int = defaultStackSize, name: String? = nil, _ body: @escaping @Sendable () -> Void
  ) -> Bool {
    guard let thread = spawn(stackSize: stackSize, name: name, body) else { return false }
    pthread_detach(thread)
    return true
  }

  private static func spawn(stackSize: Int, name: String?, _ work: @escaping () -> Void) -> pthread_t? {
    let job = Unmanaged.passRetained(Job(name: name, work)).toOpaque()
    var attributes = pthread_attr_t()
    pthread_attr_init(&attributes)
    defer { pthread_attr_destroy(&attributes) }
    pthread_attr_setstacksize(&attributes, stackSize)
    #if canImport(Darwin)
    var thread: pthread_t?
    #else
    var thread = pthread_t()
    #endif
    let started = pthread_create(&thread, &attributes, { raw in
      Unmanaged<Job>.fromOpaque(raw!).takeRetainedValue().start()
      return nil
    }, job)
    guard started == 0 else {
      Unmanaged<Job>.fromOpaque(job).release()
      return nil
    }
    #if canImport(Darwin)
    return thread!
    #else
    return thread
    #endif
  }

  private final class Job: @unchecked Sendable {
    let name: String?
    let work: () -> Void
    init(name: String?, _ work: @escaping () -> Void) {
      self.name = name
      self.work = work
    }

    func start() {
      if let name {
        #if canImport(Darwin)
        pthread_setname_np(name)
        #else
        // Glibc's module does not export pthread_setname_np (it is
        // _GNU_SOURCE); the kernel takes the name here as well.
        let comm = open("/proc/thread-self/comm", O_WRONLY | O_CLOEXEC)
        if comm >= 0 {
          let bytes = Array(name.utf8.prefix(15))
          _ = retryOnInterrupt { write(comm, bytes, bytes.count) }
          close(comm)
        }
        #endif
      }
      work()
    }
  }
}
