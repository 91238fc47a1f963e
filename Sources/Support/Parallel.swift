import Synchronization

/// Runs blocking work on several threads at once. The working-tree half of a
/// large comparison is mostly lstat calls; like git's preload-index, a few
/// threads keep the kernel busy even on a two-core machine.
public enum Parallel {
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
        let job = Unmanaged.passRetained(Job { shared.value(slot) }).toOpaque()
        #if canImport(Glibc)
        var thread = pthread_t()
        #else
        var thread: pthread_t?
        #endif
        let started = withThreadAttributes { attributes in
          pthread_create(&thread, attributes, { raw in
            Unmanaged<Job>.fromOpaque(raw!).takeRetainedValue().work()
            return nil
          }, job)
        }
        if started == 0 {
          #if canImport(Glibc)
          threads.append(thread)
          #else
          threads.append(thread!)
          #endif
        } else {
          // No thread to be had: do that share here.
          Unmanaged<Job>.fromOpaque(job).takeRetainedValue().work()
        }
      }
      body(0)
      for thread in threads { pthread_join(thread, nil) }
    }
  }

  /// Runs `body` on a detached thread of its own (nothing waits for it;
  /// the process may end first).
  public static func detach(_ body: @escaping @Sendable () -> Void) {
    let job = Unmanaged.passRetained(Job(body)).toOpaque()
    #if canImport(Glibc)
    var thread = pthread_t()
    #else
    var thread: pthread_t?
    #endif
    let started = withThreadAttributes { attributes in
      pthread_create(&thread, attributes, { raw in
        Unmanaged<Job>.fromOpaque(raw!).takeRetainedValue().work()
        return nil
      }, job)
    }
    guard started == 0 else {
      Unmanaged<Job>.fromOpaque(job).release()
      return
    }
    #if canImport(Glibc)
    pthread_detach(thread)
    #else
    pthread_detach(thread!)
    #endif
  }

  /// Each thread's stack: fixed, because default attributes give 512 KiB
  /// on Darwin and `ulimit -s` on glibc, and the work (libgit2, directory
  /// trees as deep as the workspace has) should not depend on either.
  static let stackSize = 8 << 20

  private static func withThreadAttributes(_ body: (UnsafePointer<pthread_attr_t>) -> Int32) -> Int32 {
    var attributes = pthread_attr_t()
    pthread_attr_init(&attributes)
    defer { pthread_attr_destroy(&attributes) }
    pthread_attr_setstacksize(&attributes, stackSize)
    return body(&attributes)
  }

  private final class Job: @unchecked Sendable {
    let work: () -> Void
    init(_ work: @escaping () -> Void) { self.work = work }
  }
}
