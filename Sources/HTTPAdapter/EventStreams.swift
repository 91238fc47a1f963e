import Support
import Dispatch
import Synchronization

/// The event streams open now, so that a shutdown can end them: a stream
/// never ends by itself, and a graceful shutdown waits for every response.
final class EventStreams: Sendable {
  private let open = Mutex<[ObjectIdentifier: EventStream]>([:])
  private let closing = Atomic(false)

  /// False once shutting down: the stream is finished at once.
  func add(_ stream: EventStream) {
    let accepted = open.withLock { open -> Bool in
      if closing.load(ordering: .acquiring) { return false }
      open[ObjectIdentifier(stream)] = stream
      return true
    }
    if !accepted { stream.finish() }
  }

  func remove(_ stream: EventStream) { open.withLock { _ = $0.removeValue(forKey: ObjectIdentifier(stream)) } }

  func finishAll() {
    let streams = open.withLock { open -> [EventStream] in
      closing.store(true, ordering: .releasing)
      defer { open = [:] }
      return Array(open.values)
    }
    for stream in streams { stream.finish() }
  }

  /// Ends every stream when SIGTERM or SIGINT starts the graceful shutdown
  /// (a dispatch signal source does not take the signal from the others).
  func finishOnSignals(_ signals: [Int32] = [SIGTERM, SIGINT]) -> [any DispatchSourceSignal] {
    signals.map { number in
      let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
      source.setEventHandler { self.finishAll() }
      source.resume()
      return source
    }
  }
}
