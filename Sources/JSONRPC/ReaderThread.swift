import Support

/// A thread of its own for work that blocks in system calls for as long as
/// the process lives (a connection's reader in read(2)). Such work must not
/// sit on one of the cooperative pool's threads: there is one per core, and
/// the tasks requests start (zipDirectory's compression) would lose that core.
enum ReaderThread {
  /// The reader parses each message with the recursive `JSONParser`, down to
  /// `JSONParser.defaultMaxDepth` levels: a debug build needs 1-2 MiB for
  /// that. Default attributes give 512 KiB on Darwin and `ulimit -s` on
  /// glibc, so the size is fixed here (only touched pages cost memory).
  static let stackSize = 16 << 20

  /// Runs `body` on a new detached thread; if none can be made, here.
  static func start(_ body: @escaping @Sendable () -> Void) {
    let job = Unmanaged.passRetained(Job(body)).toOpaque()
    #if canImport(Glibc)
    var thread = pthread_t()
    #else
    var thread: pthread_t?
    #endif
    var attributes = pthread_attr_t()
    pthread_attr_init(&attributes)
    defer { pthread_attr_destroy(&attributes) }
    pthread_attr_setstacksize(&attributes, stackSize)
    guard
      pthread_create(
        &thread, &attributes,
        { raw in
          Unmanaged<Job>.fromOpaque(raw!).takeRetainedValue().body()
          return nil
        }, job) == 0
    else {
      Unmanaged<Job>.fromOpaque(job).takeRetainedValue().body()
      return
    }
    #if canImport(Glibc)
    pthread_detach(thread)
    #else
    pthread_detach(thread!)
    #endif
  }

  private final class Job: Sendable {
    let body: @Sendable () -> Void
    init(_ body: @escaping @Sendable () -> Void) { self.body = body }
  }
}
