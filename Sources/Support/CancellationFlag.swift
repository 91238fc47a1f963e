import Synchronization

/// Set once, read from any thread.
public final class CancellationFlag: Sendable {
  private let value = Atomic<Bool>(false)
  public init() {}
  public func set() { value.store(true, ordering: .relaxed) }
  public var isSet: Bool { value.load(ordering: .relaxed) }
}
