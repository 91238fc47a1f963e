/// A value handed to other threads whose safety the caller guarantees (see
/// `Parallel.run`).
public struct UncheckedBox<Value>: @unchecked Sendable {
  public let value: Value
  public init(_ value: Value) { self.value = value }
}
