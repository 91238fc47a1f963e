import Synchronization

/// Lets one task at a time through, in arrival order: the process-wide
/// bound on work whose memory is its result, such as an inline archive
/// (up to `--max-inline-bytes`, then a third more as base64). Without it,
/// fifty concurrent requests build fifty archives at once.
///
/// A task waiting for its turn is not woken by cancellation; it finds out
/// once it gets the turn, which comes when the work ahead of it ends (and
/// that work honours cancellation itself).
public final class TurnGate: Sendable {
  private struct State {
    var busy = false
    var waiting: [CheckedContinuation<Void, Never>] = []
  }

  private let state = Mutex(State())

  public init() {}

  public func withTurn<T: Sendable>(_ body: () async throws -> T) async throws -> T {
    await enter()
    defer { leave() }
    try Task.checkCancellation()
    return try await body()
  }

  /// Waits for a turn that lasts as long as the returned `Turn` lives: for
  /// work whose end is not a scope, such as a response written after its
  /// handler returned.
  public func take() async -> Turn {
    await enter()
    return Turn { self.leave() }
  }

  /// A turn of a gate, given back when the last reference to it goes, so
  /// that it is given back however the work holding it ends.
  public final class Turn: Sendable {
    private let giveBack: @Sendable () -> Void
    init(_ giveBack: @escaping @Sendable () -> Void) { self.giveBack = giveBack }
    deinit { giveBack() }
  }

  private func enter() async {
    await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
      let now = state.withLock { state -> Bool in
        if state.busy {
          state.waiting.append(continuation)
          return false
        }
        state.busy = true
        return true
      }
      if now { continuation.resume() }
    }
  }

  private func leave() {
    let next = state.withLock { state -> CheckedContinuation<Void, Never>? in
      if state.waiting.isEmpty {
        state.busy = false
        return nil
      }
      return state.waiting.removeFirst()
    }
    next?.resume()
  }
}
