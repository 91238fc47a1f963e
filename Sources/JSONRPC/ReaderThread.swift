import Support

/// A thread of its own for work that blocks in system calls for as long as
/// the process lives (a connection's reader in read(2)). Such work must not
/// sit on one of the cooperative pool's threads: there is one per core, and
/// the tasks requests start (zipDirectory's compression) would lose that core.
enum ReaderThread {
  /// The reader parses each message with the recursive `JSONParser`, down to
  /// `JSONParser.defaultMaxDepth` levels: a debug build needs 1-2 MiB for
  /// that, more than some platforms' default stack, so the size is fixed
  /// here (only touched pages cost memory).
  static let stackSize = 16 << 20

  /// Runs `body` on a new detached thread; if none can be made, here.
  static func start(_ body: @escaping @Sendable () -> Void) {
    if !Parallel.detach(stackSize: stackSize, body) { body() }
  }
}
