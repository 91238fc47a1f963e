import JSONRPC
import Synchronization

/// Hands a method's byte stream to an HTTP response body, one chunk at a
/// time: the producer's `write` returns only once the body writer has taken
/// the chunk, so at most one chunk waits here and a slow client slows the
/// producer down. Cancelling (the client went away) makes the pending and
/// every later `write` throw `CancellationError`.
final class StreamHandoff: ByteStreamOutput, Sendable {
  private struct State {
    var chunk: [UInt8]?
    /// The producer waiting for its chunk to be taken.
    var producer: CheckedContinuation<Void, any Error>?
    /// The consumer waiting for a chunk or the end.
    var consumer: CheckedContinuation<Event, Never>?
    var finished = false
    var cancelled = false
  }

  enum Event {
    case chunk([UInt8])
    case end
  }

  private let state = Mutex(State())

  // MARK: Producer

  func write(_ bytes: [UInt8]) async throws {
    if bytes.isEmpty { return }
    try await withTaskCancellationHandler {
      try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
        let consumer = state.withLock { state -> CheckedContinuation<Event, Never>?? in
          if state.cancelled { return .none }
          if let consumer = state.consumer {
            // The consumer is waiting: hand the chunk straight over.
            state.consumer = nil
            return .some(consumer)
          }
          state.chunk = bytes
          state.producer = continuation
          return .some(nil)
        }
        switch consumer {
        case .none: continuation.resume(throwing: CancellationError())
        case .some(let waiting?):
          waiting.resume(returning: .chunk(bytes))
          continuation.resume()
        case .some(nil): break
        }
      }
    } onCancel: {
      cancel()
    }
  }

  /// The producer is done (successfully or not): the consumer's next read
  /// ends.
  func finish() {
    let consumer = state.withLock { state -> CheckedContinuation<Event, Never>? in
      state.finished = true
      defer { state.consumer = nil }
      return state.consumer
    }
    consumer?.resume(returning: .end)
  }

  // MARK: Consumer

  /// The next chunk, or `.end` once the producer finished or was cancelled.
  func next() async -> Event {
    await withCheckedContinuation { (continuation: CheckedContinuation<Event, Never>) in
      let ready = state.withLock { state -> (Event, CheckedContinuation<Void, any Error>?)? in
        if let chunk = state.chunk {
          state.chunk = nil
          defer { state.producer = nil }
          return (.chunk(chunk), state.producer)
        }
        if state.finished || state.cancelled { return (.end, nil) }
        state.consumer = continuation
        return nil
      }
      if let (event, producer) = ready {
        producer?.resume()
        continuation.resume(returning: event)
      }
    }
  }

  /// The reader went away: the producer's writes throw from now on.
  func cancel() {
    let (producer, consumer) = state.withLock { state in
      state.cancelled = true
      state.chunk = nil
      defer {
        state.producer = nil
        state.consumer = nil
      }
      return (state.producer, state.consumer)
    }
    producer?.resume(throwing: CancellationError())
    consumer?.resume(returning: .end)
  }
}
