/// The cancellation poll, boxed so libgit2's C callbacks can reach it.
final class CancelCheck {
  private let isCancelled: @Sendable () -> Bool
  private var calls = 0

  init(_ isCancelled: @escaping @Sendable () -> Bool) { self.isCancelled = isCancelled }

  /// Asks the closure every 256 calls: libgit2 calls back once per file.
  func poll() -> Bool {
    calls &+= 1
    return calls & 255 == 0 && isCancelled()
  }
}
