import Synchronization

/// What the results going into one reply message have taken so far of a
/// bulk allowance (the bytes of inline archives, say). The requests of one
/// batch share one, since their results are held until the whole batch is
/// answered: a batch of a hundred inline archives is then bounded as one
/// archive is, not a hundred times over. Every other request has its own.
public final class ReplyShare: Sendable {
  private let taken = Mutex(0)

  public init() {}

  /// Bytes taken by the results already in this reply.
  public var bytes: Int { taken.withLock { $0 } }

  public func take(_ count: Int) { taken.withLock { $0 += count } }
}
