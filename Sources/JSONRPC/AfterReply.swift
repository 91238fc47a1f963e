import Synchronization

/// Work to run once a request's reply has been handed to the writer, so
/// that what it sends (a subscription's first notification) follows the
/// reply that names it. Connections create one per request that runs as
/// work; answers made inline have none.
public final class AfterReply: Sendable {
  private let work = Mutex<[@Sendable () -> Void]>([])

  public init() {}

  public func add(_ body: @escaping @Sendable () -> Void) { work.withLock { $0.append(body) } }

  /// Runs (and forgets) what was added.
  public func run() {
    let taken = work.withLock { work -> [@Sendable () -> Void] in
      defer { work = [] }
      return work
    }
    for body in taken { body() }
  }
}
